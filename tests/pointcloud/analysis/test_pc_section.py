"""Sections: strip selection, distance/offset geometry, plotting and CSV export."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from shapely.geometry import LineString

from gis_desk.analysis.section import Profile, export_sections_csv, plot_sections, section_profile
from gis_desk.errors import ParameterError

X0, Y0 = 380_000.0, 390_000.0


@pytest.fixture
def grid_points():
    xs, ys = np.meshgrid(np.arange(-2.0, 12.01, 0.1), np.arange(-2.0, 2.01, 0.1))
    x, y = X0 + xs.ravel(), Y0 + ys.ravel()
    return np.c_[x, y, 10.0 + 0.1 * (x - X0)]


def test_straight_section_selects_strip_and_measures(grid_points):
    line = LineString([(X0, Y0), (X0 + 10, Y0)])
    prof = section_profile(grid_points, line, width=1.0, label="E1")
    x, y = grid_points[:, 0] - X0, grid_points[:, 1] - Y0
    expected = (np.abs(y) <= 0.5 + 1e-9) & (x >= -1e-9) & (x <= 10 + 1e-9)
    assert set(prof.index) == set(np.flatnonzero(expected))  # nothing beyond the ends
    assert np.all(np.diff(prof.distance) >= 0)
    assert np.allclose(prof.distance, x[prof.index], atol=1e-6)
    assert np.allclose(prof.offset, y[prof.index], atol=1e-6)  # left of an eastward line is north: +
    assert np.allclose(prof.z, grid_points[prof.index, 2])
    assert prof.width == 1.0 and prof.length == pytest.approx(10.0) and len(prof) == len(prof.index)
    # Drawn the other way round: distances from the other end, offsets flip sign.
    rev = section_profile(grid_points, LineString([(X0 + 10, Y0), (X0, Y0)]), width=1.0)
    assert set(rev.index) == set(prof.index)
    assert np.allclose(rev.distance, 10 - x[rev.index], atol=1e-6)
    assert np.allclose(rev.offset, -y[rev.index], atol=1e-6)


def test_polyline_section_distance_follows_the_line():
    line = LineString([(0, 0), (4, 0), (4, 3)])  # 7 m with a right-angle bend
    pts = np.array([[2, 0.2, 1], [4.2, 1.5, 2], [3.9, 2.9, 3], [4, 3.5, 4], [-0.3, 0, 5], [2, 1.0, 6]])
    prof = section_profile(pts, line, width=0.6)
    assert list(prof.index) == [0, 1, 2]  # beyond the end, before the start, and too far are dropped
    assert np.allclose(prof.distance, [2.0, 5.5, 6.9], atol=1e-9)
    assert np.allclose(prof.offset, [0.2, -0.2, 0.1], atol=1e-9)  # walking north along x=4: east is right (-)


def test_sections_show_deck_sag():
    rng = np.random.default_rng(5)
    x, y = rng.uniform(0, 20, 50_000), rng.uniform(0, 6, 50_000)
    deck1 = np.c_[x, y, np.full_like(x, 8.0)]
    deck2 = np.c_[x, y, 8.0 - 0.05 * np.sin(np.pi * x / 20)]  # 5 cm mid-span sag
    line = LineString([(0, 3), (20, 3)])
    p1, p2 = section_profile(deck1, line, 0.2, "2024"), section_profile(deck2, line, 0.2, "2025")
    mid = np.abs(p2.distance - 10) < 0.5
    assert np.median(p2.z[mid]) - np.median(p1.z) == pytest.approx(-0.05, abs=0.002)
    assert abs(np.median(p2.z[p2.distance < 0.5]) - 8.0) < 0.003


def test_section_errors(grid_points):
    with pytest.raises(ParameterError):
        section_profile(grid_points, LineString([(0, 0), (0, 0)]), width=1)
    with pytest.raises(ParameterError):
        section_profile(grid_points, LineString([(0, 0), (1, 0)]), width=0)
    empty = section_profile(grid_points, LineString([(0, 0), (1, 0)]), width=1)
    assert len(empty) == 0


def _profiles(grid_points):
    line = LineString([(X0, Y0), (X0 + 10, Y0)])
    a = section_profile(grid_points, line, 0.5, "Epoch 1")
    b = section_profile(grid_points + [0, 0, -0.02], line, 0.5, "Epoch 2")
    return [a, b]


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_plot_sections_to_files(tmp_path, grid_points, suffix, magic):
    out = plot_sections(_profiles(grid_points), tmp_path / f"sec{suffix}", "Deck section A-A", equal_aspect=True)
    assert out.read_bytes()[:5].startswith(magic)
    if suffix == ".svg":
        text = out.read_text()
        assert "Distance along section (m)" in text and "Epoch 2" in text


def test_plot_sections_png_is_drawn(tmp_path, grid_points):
    from PIL import Image

    out = plot_sections(_profiles(grid_points), tmp_path / "s.png", dpi=100)
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (400, 1000, 3)
    # tab10 blue and orange points are both present.
    blue = np.all(np.abs(img.astype(int) - [31, 119, 180]) < 30, axis=2).sum()
    orange = np.all(np.abs(img.astype(int) - [255, 127, 14]) < 30, axis=2).sum()
    assert blue > 50 and orange > 50


def test_plot_sections_onto_axes(grid_points):
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    assert plot_sections(_profiles(grid_points), ax, title="T") is ax
    assert len(ax.lines) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()][1].startswith("Epoch 2: ")
    assert ax.get_xlabel() == "Distance along section (m)" and ax.get_ylabel() == "Height (m)"
    with pytest.raises(ParameterError):
        plot_sections([], "out.jpg")


def test_export_sections_csv(tmp_path, grid_points):
    profs = _profiles(grid_points)
    out = export_sections_csv(profs, tmp_path / "sections.csv")
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(profs[0]) + len(profs[1])
    assert rows[0].keys() == {"label", "index", "distance_m", "offset_m", "x", "y", "z"}
    first = rows[0]
    assert first["label"] == "Epoch 1" and int(first["index"]) == profs[0].index[0]
    assert float(first["x"]) == pytest.approx(profs[0].x[0], abs=1e-4)
    assert float(rows[-1]["z"]) == pytest.approx(profs[1].z[-1], abs=1e-4)
    assert isinstance(profs[0], Profile)
