"""DEM of difference: a known pit volume is recovered; noise below the LoD gives no volume."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gis_desk.analysis.dod import dem_of_difference, grid_for, rasterise, write_dod_geotiff
from gis_desk.errors import DataError, ParameterError

X0, Y0 = 380_000.0, 390_000.0  # BNG-sized coordinates
DEPTH = 0.3
# Cosine-bell pit depth*(1+cos(pi r/R))/2 has volume pi*depth*R^2*(1/2 - 2/pi^2): R for 0.3 m3.
R = math.sqrt(0.3 / (math.pi * DEPTH * (0.5 - 2.0 / math.pi**2)))
PIT = (X0 + 5.1, Y0 + 4.9)


def surface(x, y):
    return 12.0 + 0.02 * (x - X0) + 0.01 * (y - Y0)


def pit_depth(x, y):
    r = np.hypot(x - PIT[0], y - PIT[1])
    return np.where(r < R, DEPTH * (1 + np.cos(np.pi * np.minimum(r, R) / R)) / 2, 0.0)


def epoch(seed, *, pit=False, noise=0.0, n=40_000):
    rng = np.random.default_rng(seed)
    x = X0 + rng.uniform(0, 10, n)
    y = Y0 + rng.uniform(0, 10, n)
    z = surface(x, y) - (pit_depth(x, y) if pit else 0.0) + rng.normal(0, noise, n)
    return np.c_[x, y, z]


def expected_volume(lod: float) -> float:
    """Analytic pit volume counting only depth > lod (fine numerical integration)."""
    r = np.linspace(0, R, 200_001)
    d = DEPTH * (1 + np.cos(np.pi * r / R)) / 2
    return float(np.trapezoid(np.where(d > lod, d, 0.0) * 2 * np.pi * r, r))


def test_pit_volume_recovered_without_noise():
    assert expected_volume(0.0) == pytest.approx(0.3, rel=1e-6)
    # Same plan positions in both epochs: only the cell discretisation differs from the truth.
    res = dem_of_difference(epoch(1), epoch(1, pit=True), cell_size=0.25, lod=0.0)
    assert res.loss_m3 == pytest.approx(0.3, rel=0.01)
    assert res.gain_m3 == 0.0
    # Independent sampling: on the slope the cell means differ by ~0.3 mm, which lod=0 counts
    # as both loss and gain; the net volume stays right.
    res = dem_of_difference(epoch(1), epoch(2, pit=True), cell_size=0.25, lod=0.0)
    assert res.net_m3 == pytest.approx(-0.3, rel=0.02)
    assert res.net_m3 == pytest.approx(res.gain_m3 - res.loss_m3)
    assert 0 < res.gain_m3 < 0.03


def test_pit_volume_recovered_with_noise_and_lod():
    lod = 0.02
    res = dem_of_difference(epoch(1, noise=0.003), epoch(2, pit=True, noise=0.003), cell_size=0.25, lod=lod)
    assert res.loss_m3 == pytest.approx(expected_volume(lod), rel=0.05)
    assert res.gain_m3 < 0.002
    # Significant cells are in the pit, nowhere else.
    xs, ys = res.cell_centres()
    far = np.hypot(xs - PIT[0], ys - PIT[1]) > R + 0.5
    assert not (res.significant & far).any()


def test_noise_below_lod_gives_no_volume():
    res = dem_of_difference(epoch(1, noise=0.005), epoch(2, noise=0.005), cell_size=0.25, lod=0.02)
    assert res.n_significant == 0
    assert res.loss_m3 == res.gain_m3 == 0.0
    # Without a LoD the same noise sums to a small, non-zero figure: why the LoD matters.
    raw = dem_of_difference(epoch(1, noise=0.005), epoch(2, noise=0.005), cell_size=0.25, lod=0.0)
    assert raw.loss_m3 > 0 and raw.gain_m3 > 0 and abs(raw.net_m3) < 0.05


def test_grid_is_snapped_and_shared():
    res = dem_of_difference(epoch(1), epoch(2), cell_size=0.5)
    xmin, ymin, xmax, ymax = res.bounds
    assert xmin % 0.5 == 0 and ymax % 0.5 == 0
    assert res.transform.a == 0.5 and res.transform.e == -0.5
    assert res.shape == (round((ymax - ymin) / 0.5), round((xmax - xmin) / 0.5))
    assert grid_for((0, 0, 1, 1), 0.5)[4:] == (3, 3)  # points exactly on the max edge get a cell


@pytest.mark.parametrize("stat, expected", [("mean", 2.5), ("min", 1.0), ("max", 4.0), ("median", 2.5)])
def test_cell_statistics(stat, expected):
    xyz = np.array([[0.1, 0.1, 4.0], [0.2, 0.3, 1.0], [0.4, 0.2, 3.0], [0.3, 0.4, 2.0], [1.5, 0.5, 7.0]])
    grid, counts = rasterise(xyz, (0.0, 0.0, 2.0, 1.0), 0.5, statistic=stat)
    assert grid.shape == (2, 4)
    assert grid[1, 0] == expected  # lower-left cell (row 0 is the top)
    assert grid[1, 3] == 7.0 and counts[1, 3] == 1
    assert np.isnan(grid[0, 0])
    odd, _ = rasterise(xyz[:3], (0.0, 0.0, 2.0, 1.0), 0.5, statistic="median")
    assert odd[1, 0] == 3.0


def test_max_statistic_picks_deck_top_over_soffit():
    rng = np.random.default_rng(4)
    x, y = rng.uniform(0, 4, (2, 4000))
    deck = np.c_[x, y, np.full_like(x, 10.0)]
    soffit = np.c_[x[:2000], y[:2000], np.full(2000, 9.0)]
    sagged = deck - [0, 0, 0.05]
    mean = dem_of_difference(np.vstack([deck, soffit]), np.vstack([sagged, soffit]), cell_size=0.5)
    top = dem_of_difference(np.vstack([deck, soffit]), np.vstack([sagged, soffit]), cell_size=0.5, statistic="max")
    assert np.nanmedian(top.difference) == pytest.approx(-0.05, abs=1e-6)
    assert np.nanmedian(mean.difference) > -0.045  # mixed with the soffit: understated


def test_min_points_and_errors():
    a = epoch(1, n=2000)
    res = dem_of_difference(a, epoch(2, n=2000), cell_size=0.25, min_points=3)
    assert np.isnan(res.difference).mean() > 0.3
    with pytest.raises(ParameterError):
        dem_of_difference(a, a, cell_size=0)
    with pytest.raises(ParameterError):
        dem_of_difference(a, a, statistic="mode")
    with pytest.raises(DataError, match="do not overlap"):
        dem_of_difference(a, a + [100.0, 0, 0])
    with pytest.raises(DataError):
        dem_of_difference(np.empty((0, 3)), a)


def test_write_dod_geotiff(tmp_path):
    import rasterio

    res = dem_of_difference(epoch(1), epoch(2, pit=True), cell_size=0.25, lod=0.02)
    out = write_dod_geotiff(tmp_path / "sub" / "dod.tif", res, "EPSG:27700")
    with rasterio.open(out) as src:
        assert src.count == 2 and src.dtypes == ("float32", "float32")
        assert src.crs.to_epsg() == 27700
        assert src.transform == res.transform
        assert src.descriptions == ("difference", "significant_difference")
        tags = src.tags()
        assert float(tags["LOD_M"]) == 0.02
        assert float(tags["LOSS_M3"]) == pytest.approx(res.loss_m3, rel=1e-5)
        band1, band2 = src.read(1), src.read(2)
    assert np.array_equal(np.isnan(band1), np.isnan(res.difference))
    assert np.nansum(band2) * 0.0625 == pytest.approx(res.net_m3, rel=1e-4)
    assert not list(tmp_path.joinpath("sub").glob(".*tmp*"))
