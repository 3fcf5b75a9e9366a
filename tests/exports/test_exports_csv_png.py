"""CSV export (suppressed cells marked, README sidecar) and PNG map export (legend, attribution)."""

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gis_desk.analysis.disclosure import NhsDigitalPolicy, NoDisclosureControl, ThresholdPolicy
from gis_desk.core.classify import graduated_style
from gis_desk.core.datasets import DataSource, VectorDataset
from gis_desk.core.layer import VectorLayer
from gis_desk.errors import DataError, ParameterError, WriterError
from gis_desk.io.exports import SUPPRESSED_MARKER, export_csv, export_png_map
from gis_desk.render.viewport import Viewport


def test_csv_has_no_small_counts_under_nhs(tmp_path, lsoas):
    path = tmp_path / "care.csv"
    log = []
    result = export_csv(lsoas, path, NhsDigitalPolicy(), ["care"], log)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    body, total = table.iloc[:-1], table.iloc[-1]
    assert len(body) == 138 and "geometry" not in table.columns
    assert total["LSOA11CD"] == "Total"
    cells = body["care"]
    assert (cells == SUPPRESSED_MARKER).sum() == result.report.primary["care"].sum() + result.report.secondary["care"].sum()
    numbers = cells[cells != SUPPRESSED_MARKER].astype(int)
    assert not numbers.between(1, 7).any() and (numbers % 5 == 0).all()
    assert int(total["care"]) == int(np.floor(lsoas["care"].sum() / 5 + 0.5) * 5)
    assert set(body.loc[cells == SUPPRESSED_MARKER, "suppression"]) == {"care"}
    assert "primary" not in path.read_text() and "secondary" not in path.read_text()
    readme = (tmp_path / "care_README.txt").read_text()
    assert SUPPRESSED_MARKER in readme and "NHS Digital" in readme and "1 to 7" in readme
    assert "last row holds the totals" in readme
    assert result.sidecars == [tmp_path / "care_README.txt"]
    assert log[0].policy == "NHS Digital" and log[0].details["format"] == "CSV"


def test_csv_two_way_table_with_row_and_grand_totals(tmp_path):
    table = pd.DataFrame({"ward": ["A", "B", "C"], "adults": [20, 3, 30], "children": [25, 40, 35],
                          "older": [50, 60, 45]})
    result = export_csv(table, tmp_path / "t.csv", ThresholdPolicy(k=10), ["adults", "children", "older"],
                        totals="both", marker="*")
    back = pd.read_csv(tmp_path / "t.csv", dtype=str, keep_default_na=False)
    assert list(back.columns) == ["ward", "adults", "children", "older", "total", "suppression"]
    assert back.iloc[-1].tolist()[:5] == ["Total", "53", "100", "155", "308"]
    stars = (back.iloc[:-1][["adults", "children", "older"]] == "*").to_numpy()
    assert stars[1, 0] and stars.sum() >= 4  # row B's 3, plus complements
    assert (stars.sum(axis=0) != 1).all() and (stars.sum(axis=1) != 1).all()
    assert result.report.grand_total == 308


def test_csv_uses_gdal_readable_layout(tmp_path, lsoas, gdal):
    export_csv(lsoas, tmp_path / "care.csv", ThresholdPolicy(), ["care"])
    run = gdal("ogrinfo", "-al", "-so", str(tmp_path / "care.csv"))
    if run is None:
        pytest.skip("ogrinfo is not installed")
    assert run.returncode == 0 and "Warning" not in run.stderr, run.stderr
    assert "Feature Count: 139" in run.stdout  # 138 areas + the totals row


def test_csv_errors(tmp_path, lsoas):
    with pytest.raises(ParameterError, match="marker"):
        export_csv(lsoas, tmp_path / "x.csv", NhsDigitalPolicy(), ["care"], marker="0")
    with pytest.raises(DataError, match="individual records"):
        export_csv(lsoas, tmp_path / "x.csv", NhsDigitalPolicy(), [])
    with pytest.raises(ParameterError):
        export_csv(lsoas, tmp_path / "x.csv", "nhs", ["care"])
    with pytest.raises(WriterError, match=".csv"):
        export_csv(lsoas, tmp_path / "x.txt", NhsDigitalPolicy(), ["care"])
    assert not (tmp_path / "x.csv").exists()
    export_csv(lsoas[["LSOA11CD", "IMD_decile"]], tmp_path / "imd.csv", NoDisclosureControl("public IMD"), [])
    assert (tmp_path / "imd.csv").read_text().count("\n") == 139


# -- PNG map ----------------------------------------------------------------------------------


@pytest.fixture
def care_layer(lsoas):
    frame = lsoas[["LSOA11CD", "care", "geometry"]].copy()
    layer = VectorLayer(VectorDataset(DataSource("care.gpkg"), frame), name="Care packages")
    layer.style = graduated_style(frame, "care", n=4)
    return layer


def test_png_map_has_size_legend_and_attribution(tmp_path, care_layer):
    viewport = Viewport.fit(care_layer.bounds, 900, 640, "EPSG:27700", margin=0.05)
    log = []
    path = tmp_path / "map.png"
    export_png_map([care_layer], viewport, path, policy=NhsDigitalPolicy(), attribution="Contains OS data",
                   title="Care packages", export_log=log)
    plain = tmp_path / "plain.png"
    export_png_map([care_layer], viewport, plain, policy=NoDisclosureControl("comparison"), legend=False)
    image = Image.open(path)
    assert image.size == (900, 640)
    assert image.text["Disclosure policy"] == "NHS Digital"
    assert "Contains OS data" in image.text["Source"]
    with_legend = np.asarray(image.convert("RGB"), dtype=int)
    without = np.asarray(Image.open(plain).convert("RGB"), dtype=int)
    changed = np.abs(with_legend - without).sum(axis=2) > 30
    legend_region = changed[320:600, 600:]  # the legend box sits bottom-right, above the attribution
    assert legend_region.mean() > 0.02
    attribution_band = changed[625:, 450:]
    assert attribution_band.any()
    assert log[0].details["format"] == "PNG" and log[0].policy == "NHS Digital"


def test_png_map_needs_a_policy_and_a_png_name(tmp_path, care_layer):
    viewport = Viewport.fit(care_layer.bounds, 300, 200, "EPSG:27700")
    with pytest.raises(ParameterError):
        export_png_map([care_layer], viewport, tmp_path / "m.png", policy=None)
    with pytest.raises(WriterError):
        export_png_map([care_layer], viewport, tmp_path / "m.jpg", policy=NhsDigitalPolicy())


def test_exported_files_are_not_private(tmp_path, lsoas):
    import os
    import stat

    export_csv(lsoas, tmp_path / "care.csv", NhsDigitalPolicy(), ["care"])
    umask = os.umask(0)
    os.umask(umask)
    for name in ("care.csv", "care_README.txt"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o666 & ~umask
