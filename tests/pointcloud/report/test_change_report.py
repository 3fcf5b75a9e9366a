"""The structural change report PDF of the bridge sample: content (read back with pdftotext),
every page renders (pdftoppm), given pictures are used, and bad input gives typed errors."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

import gis_desk
from gis_desk.errors import DataError, WriterError
from gis_desk.report.change_report import build_change_report, change_cloud, change_range

pytestmark = [pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdftoppm")),
                                 reason="poppler-utils (pdftotext, pdftoppm) not installed"),
              pytest.mark.slow]  # a real comparison of the bridge sample and five PDFs: about 20 s


def _text(pdf) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def _pages(pdf) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def _render(pdf, folder) -> list:
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(folder / "page")], check=True)
    return sorted(folder.glob("page*.png"))


@pytest.fixture(scope="module")
def report(bridge_result, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    return build_change_report(bridge_result, folder / "bridge change.pdf")


def test_report_names_elements_parameters_and_version(bridge_result, report):
    assert report.is_file() and report.read_bytes()[:5] == b"%PDF-"
    assert [p.name for p in report.parent.iterdir()] == ["bridge change.pdf"]  # no temp files left
    text = _text(report)
    flat = " ".join(text.split())
    for name in bridge_result.zones["name"]:
        assert name in text, name
    assert f"GIS Desk {gis_desk.__version__}" in text
    assert "Mersey bridge" in text and "Epoch 1 (2024-03)" in text and "Epoch 2 (2025-03)" in text
    assert "EPSG:27700" in text
    p = bridge_result.m3c2.params
    assert f"{p.normal_radius:.3f} m" in text and f"{p.cylinder_radius:.3f} m" in text
    assert f"{p.max_depth:.3f} m" in text
    assert f"projection scale (diameter) {2 * p.cylinder_radius:.3f} m" in flat  # CloudCompare's diameters
    assert "LoD95 = 1.96" in flat
    reg = bridge_result.registration
    assert f"{reg.rms * 1000:.1f} mm" in text and f"{reg.overlap * 100:.1f} %" in text
    assert f"{reg.matrix[0, 3]:.8f}" in text  # the 4x4 matrix
    assert f"{bridge_result.registration_error * 1000:.2f} mm" in text
    # the summary names exactly the flagged elements: the sample's pier spalling and deck sag
    flagged = bridge_result.summary()["flagged_zones"]
    assert set(flagged) == {"pier 1", "deck span 2"}
    assert f"Elements flagged (beyond 10 mm or the volume/lean limits): {', '.join(flagged)}." in flat
    assert text.count("EXCEEDS") == len(flagged)
    # zone table rows carry the element's figures
    pier = bridge_result.zones.set_index("name").loc["pier 1"]
    row = next(line for line in text.splitlines() if line.strip().startswith("pier 1"))
    assert f"{pier['mean_change_m'] * 1000:.1f}" in row and f"{pier['share_significant'] * 100:.1f} %" in row
    for label in ("S1: across deck span 2 (mid-span)", "S2: along the deck centreline", "S3: across pier 1"):
        assert label in text
    assert "page 1 of" in text


def test_every_page_renders_with_content(report, tmp_path):
    pages = _render(report, tmp_path)
    assert len(pages) == _pages(report) >= 3
    for png in pages:
        pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
        assert pixels.shape[0] > pixels.shape[1] > 300  # A4 portrait at 50 dpi
        assert (pixels < 200).mean() > 0.01, png.name  # text and pictures, not a blank page
    # the change map and the 3D view are in colour: red (loss) pixels on the first two pages
    for png in pages[:2]:
        rgb = np.asarray(Image.open(png).convert("RGB")).astype(int)
        red = (rgb[..., 0] > 150) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90)
        assert red.sum() > 20, png.name


def test_given_pictures_title_and_epoch_names_are_used(bridge_result, tmp_path):
    green = tmp_path / "map.png"
    Image.new("RGB", (800, 600), (0, 200, 0)).save(green)
    magenta = tmp_path / "snap.png"
    Image.new("RGB", (900, 400), (200, 0, 200)).save(magenta)
    pdf = build_change_report(bridge_result, tmp_path / "out" / "r.pdf", site_map_png=green, snapshot_png=magenta,
                              title="Bridge 42 annual inspection", epoch_names=("March 2024", "March 2025"),
                              notes=["Deck surfacing renewed in 2024."])
    text = _text(pdf)
    assert "Bridge 42 annual inspection" in text and "March 2024" in text and "March 2025" in text
    assert "Deck surfacing renewed in 2024." in text
    pages = _render(pdf, tmp_path)
    rgb1 = np.asarray(Image.open(pages[0]).convert("RGB")).astype(int)
    rgb2 = np.asarray(Image.open(pages[1]).convert("RGB")).astype(int)
    assert ((abs(rgb1[..., 0] - 0) < 30) & (abs(rgb1[..., 1] - 200) < 30) & (rgb1[..., 2] < 30)).sum() > 5000
    assert ((abs(rgb2[..., 0] - 200) < 30) & (rgb2[..., 1] < 30) & (abs(rgb2[..., 2] - 200) < 30)).sum() > 5000


def test_report_without_zones_sections_or_registration(bridge_result, tmp_path):
    bare = replace(bridge_result, zones=None, sections=[], registration=None, dod=None)
    pdf = build_change_report(bare, tmp_path / "bare.pdf")
    text = _text(pdf)
    assert "No registration" in text and "Change per structural element" not in text
    assert "Sections" not in text and "DEM of difference" not in text
    assert len(_render(pdf, tmp_path)) == _pages(pdf)


def test_bad_input(bridge_result, tmp_path):
    with pytest.raises(WriterError, match="PDF") as info:
        build_change_report(bridge_result, tmp_path / "report.docx")
    assert info.value.path
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(WriterError) as info:
        build_change_report(bridge_result, blocker / "r.pdf")
    assert str(blocker) in str(info.value)
    with pytest.raises(DataError):
        build_change_report(None, tmp_path / "r.pdf")
    with pytest.raises(DataError, match="does not exist"):
        build_change_report(bridge_result, tmp_path / "r.pdf", site_map_png=tmp_path / "missing.png")
    assert not (tmp_path / "r.pdf").exists()


def test_change_colouring_helpers(bridge_result):
    r = change_range(bridge_result)
    assert r >= 3 * bridge_result.settings.threshold and round(r * 1000) % 5 == 0
    cloud = change_cloud(bridge_result)
    d = cloud.attributes["m3c2_distance"]
    assert len(cloud) == len(bridge_result.epoch1_preview) and np.isfinite(d).mean() > 0.8
    # every value is one of the core points' distances
    assert np.isin(d[np.isfinite(d)], bridge_result.m3c2.distance).all()


def test_progress_and_cancel(bridge_result, tmp_path):
    from gis_desk.errors import CanceledError
    from gis_desk.processing.feedback import Feedback

    seen = []
    feedback = Feedback(on_progress=seen.append)
    build_change_report(bridge_result, tmp_path / "ok.pdf", feedback=feedback)
    assert seen == sorted(seen) and seen[-1] == 100.0 and len(seen) >= 4
    assert any("3D snapshot" in text for _, text in feedback.messages)
    stopped = Feedback(on_progress=lambda pct: stopped.cancel() if pct >= 25 else None)
    with pytest.raises(CanceledError):
        build_change_report(bridge_result, tmp_path / "stopped.pdf", feedback=stopped)
    assert [p.name for p in tmp_path.iterdir()] == ["ok.pdf"]
