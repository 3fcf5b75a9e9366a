"""Heat-map grid, kernels, bandwidth rules, counts, errors and the GeoTIFF writer."""

import math

import numpy as np
import pytest

from gis_desk.analysis.kde import (
    NODATA,
    kde,
    kde_grid,
    kernel_value,
    qgis_block_radius,
    radius_for_bandwidth,
    scale_constant,
    suggest_bandwidth,
)
from gis_desk.errors import CanceledError, DataError, ParameterError, WriterError
from gis_desk.processing.feedback import Feedback

BNG_POINT = (383_000.0, 396_000.0)


# --- grid ------------------------------------------------------------------------------------


def test_grid_follows_qgis_rules():
    points = [(1000.0, 2000.0), (1100.0, 2050.0)]
    grid = kde_grid(points, 10.0, 3.0)
    # extent 1000..1100 x 2000..2050 grown by 10: width 120, height 70
    assert (grid.xmin, grid.ymin, grid.xmax, grid.ymax) == (990.0, 1990.0, 1110.0, 2060.0)
    assert grid.cols == 41  # ceil(120 / 3) + 1
    assert grid.rows == 25  # ceil(70 / 3) + 1 = 24 + 1
    assert tuple(grid.transform)[:6] == (3.0, 0.0, 990.0, 0.0, -3.0, 2060.0)
    assert grid.raster_bounds == (990.0, 2060.0 - 75.0, 990.0 + 123.0, 2060.0)


def test_grid_exact_multiple_still_gets_the_extra_row_and_column():
    grid = kde_grid([BNG_POINT], 50.0, 10.0)  # one point: 100 x 100 m
    assert (grid.rows, grid.cols) == (11, 11)
    grid = kde_grid(None, 50.0, 10.0, extent=(0, 0, 1000, 500))
    assert (grid.rows, grid.cols) == (61, 111)


def test_qgis_block_radius_rounds_on_map_units():
    assert qgis_block_radius(500.0, 10.0) == 50
    assert qgis_block_radius(505.0, 10.0) == 51  # remainder 5 map units > 0.5
    assert qgis_block_radius(500.3, 10.0) == 50  # remainder 0.3 map units: not rounded up
    assert qgis_block_radius(0.4, 1.0) == 0
    assert qgis_block_radius(3.0, 10.0) == 1


# --- kernels ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel, expected", [
    ("quartic", 0.5625), ("triweight", 0.421875), ("epanechnikov", 0.75), ("uniform", 1.0),
    ("triangular", 0.5), ("gaussian", math.exp(-0.125)),
])
def test_raw_kernel_values_at_half_radius(kernel, expected):
    assert kernel_value(50.0, 100.0, kernel) == pytest.approx(expected)
    assert kernel_value(0.0, 100.0, kernel) == pytest.approx(1.0)
    beyond = 100.01 if kernel != "gaussian" else 400.01
    assert kernel_value(beyond, 100.0, kernel) == 0.0


def test_triangular_decay():
    assert kernel_value(50.0, 100.0, "triangular", decay=0.5) == pytest.approx(0.75)
    assert kernel_value(100.0, 100.0, "triangular", decay=0.5) == pytest.approx(0.5)


def test_scaled_constants_are_qgis_ones():
    r = 500.0
    assert scale_constant("quartic", r) == pytest.approx(21.75 / (math.pi * r * r))
    assert scale_constant("quartic", r) == pytest.approx(2.7693e-05, rel=1e-4)  # field-facts figure
    assert scale_constant("triweight", r) == pytest.approx(4 / (math.pi * r * r))
    assert scale_constant("epanechnikov", r) == pytest.approx(2 / (math.pi * r * r))
    assert scale_constant("uniform", r) == pytest.approx(1 / (math.pi * r * r))
    assert scale_constant("triangular", r) == pytest.approx(3 / (math.pi * r * r))
    assert scale_constant("triangular", r, decay=0.5) == pytest.approx(3 / (2 * math.pi * r * r))
    assert scale_constant("triangular", r, decay=-0.5) == 1.0  # QGIS leaves "coolmaps" raw
    assert kernel_value(0.0, r, "quartic", "scaled") == pytest.approx(21.75 / (math.pi * r * r))


def _integral(kernel, radius, decay=0.0):
    """Numerical integral of the Scaled kernel over the plane (polar, fine rings)."""
    reach = radius * (4 if kernel == "gaussian" else 1)
    edges = np.linspace(0.0, reach, 200_001)
    mid = (edges[1:] + edges[:-1]) / 2
    values = kernel_value(mid, radius, kernel, "scaled", decay)
    return float(np.sum(values * 2 * math.pi * mid * np.diff(edges)))


@pytest.mark.parametrize("kernel", ["triangular", "uniform", "triweight", "epanechnikov", "gaussian"])
def test_scaled_kernels_integrate_to_one(kernel):
    assert _integral(kernel, 300.0) == pytest.approx(1.0, rel=1e-5)


def test_scaled_triangular_with_decay_integrates_to_one():
    assert _integral("triangular", 300.0, decay=0.5) == pytest.approx(1.0, rel=1e-5)


def test_qgis_quartic_integrates_to_seven_and_a_quarter():
    assert _integral("quartic", 300.0) == pytest.approx(7.25, rel=1e-5)


# --- bandwidth -------------------------------------------------------------------------------


def test_silverman_on_a_known_sample():
    # x and y each {-1, -1, 1, 1} * 100: sd (n - 1) = 115.47, IQR / 1.349 = 148.26 -> 115.47
    pts = np.array([[-100.0, -100.0], [-100.0, 100.0], [100.0, -100.0], [100.0, 100.0]])
    assert suggest_bandwidth(pts, "silverman") == pytest.approx(115.470054 * 4 ** (-1 / 6), rel=1e-6)
    assert suggest_bandwidth(pts, "scott") == pytest.approx(91.6486, rel=1e-5)


def test_silverman_uses_the_robust_spread_for_outliers():
    rng = np.random.default_rng(3)
    pts = rng.normal(0, 100, (10_000, 2))
    h = suggest_bandwidth(pts)
    assert h == pytest.approx(100 * 10_000 ** (-1 / 6), rel=0.03)
    pts[:100] += 1e6  # 1% far away: the standard deviation explodes, the IQR does not
    assert suggest_bandwidth(pts) == pytest.approx(h, rel=0.05)
    assert suggest_bandwidth(pts, "scott") > 10 * h


def test_radius_for_bandwidth_matches_spread():
    assert radius_for_bandwidth(100.0, "quartic") == pytest.approx(100 * math.sqrt(8))
    assert radius_for_bandwidth(100.0, "uniform") == pytest.approx(200.0)
    assert radius_for_bandwidth(100.0, "gaussian") == 100.0
    # check one numerically: the quartic's per-axis standard deviation is the bandwidth
    r = radius_for_bandwidth(100.0, "quartic")
    xs = np.linspace(-r, r, 801)
    gx, gy = np.meshgrid(xs, xs)
    w = kernel_value(np.hypot(gx, gy), r, "quartic")
    assert math.sqrt((w * gx ** 2).sum() / w.sum()) == pytest.approx(100.0, rel=1e-3)


def test_automatic_radius_is_reported():
    rng = np.random.default_rng(4)
    pts = np.array(BNG_POINT) + rng.normal(0, 500, (2000, 2))
    result = kde(pts, None, 50.0)
    h = suggest_bandwidth(pts)
    assert result.params["radius_auto"] is True
    assert result.params["bandwidth_m"] == pytest.approx(h)
    assert result.params["radius_m"] == pytest.approx(h * math.sqrt(8))


def test_bandwidth_needs_spread():
    with pytest.raises(DataError):
        suggest_bandwidth([BNG_POINT])
    with pytest.raises(DataError):
        suggest_bandwidth([BNG_POINT, BNG_POINT])
    with pytest.raises(ParameterError):
        suggest_bandwidth([BNG_POINT, (0, 0)], method="guess")


# --- counts and weights ----------------------------------------------------------------------


def test_counts_on_a_known_case():
    """Points at cell centres with r = 1.5 pixels reach their cell and its eight neighbours
    (diagonals 14.1 m < 15 m; two cells away 20 m).  B is given twice: it counts twice."""
    a, b = (1000.0, 2000.0), (1010.0, 2000.0)
    pts = np.array([a, b, b])
    # grid: x 985..1025 -> 4 + 1 columns (centres 990..1030), y 1985..2015 -> 3 + 1 rows
    expected = np.array([
        [1, 3, 3, 2, 0],
        [1, 3, 3, 2, 0],
        [1, 3, 3, 2, 0],
        [0, 0, 0, 0, 0],
    ])
    for qgis in (True, False):  # points at cell centres are not moved by QGIS's mirror
        result = kde(pts, 15.0, 10.0, return_counts=True, qgis_compatible=qgis)
        np.testing.assert_array_equal(result.counts, expected)
        np.testing.assert_array_equal(result.array == NODATA, expected == 0)
        assert result.array[1, 2] == pytest.approx(2 + kernel_value(10.0, 15.0))  # B twice, A 10 m off
    assert result.params["n_used"] == 3
    assert kde(pts, 15.0, 10.0).counts is None


def test_weights_scale_values_and_zero_weight_still_reaches():
    pts = np.array([BNG_POINT, (BNG_POINT[0] + 500, BNG_POINT[1])])
    ones = kde(pts, 100.0, 10.0)
    weighted = kde(pts, 100.0, 10.0, weights=[2.5, 0.0], return_counts=True)
    left = ones.array[:, :40]
    np.testing.assert_allclose(weighted.array[:, :40], np.where(left == NODATA, NODATA, 2.5 * left), rtol=1e-6)
    right = weighted.array[:, 55:]
    assert np.all((right == 0.0) | (right == NODATA))  # reached (0), as QGIS writes it
    assert (weighted.counts[:, 55:] > 0).sum() == (right == 0.0).sum() > 0


def test_null_weights_count_as_zero_and_bad_points_are_skipped():
    pts = np.array([BNG_POINT, (np.nan, 1.0), (BNG_POINT[0] + 30, BNG_POINT[1])])
    result = kde(pts, 50.0, 10.0, weights=[1.0, 1.0, np.nan])
    assert result.params["n_without_coordinates"] == 1
    assert result.params["total_weight"] == 1.0
    alone = kde(pts[[0, 2]], 50.0, 10.0, weights=[1.0, 0.0])
    np.testing.assert_array_equal(result.array, alone.array)


def test_extent_fixes_the_grid_and_skips_points_outside():
    pts = np.array([[100.0, 100.0], [150.0, 150.0], [5000.0, 5000.0]])
    result = kde(pts, 20.0, 5.0, extent=(0, 0, 200, 200))
    assert (result.params["rows"], result.params["cols"]) == (49, 49)
    assert result.params["n_outside_extent"] == 1


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error, words", [
    ({"radius_m": 0.0}, ParameterError, "radius_m"),
    ({"radius_m": -5.0}, ParameterError, "radius_m"),
    ({"radius_m": float("nan")}, ParameterError, "radius_m"),
    ({"pixel_size_m": 0.0}, ParameterError, "pixel_size_m"),
    ({"kernel": "cosine"}, ParameterError, "kernel"),
    ({"output_values": "normalised"}, ParameterError, "output values"),
    ({"kernel": "gaussian", "qgis_compatible": True}, ParameterError, "Gaussian"),
    ({"weights": [1.0, 2.0]}, DataError, "weights"),
    ({"weights": [np.inf]}, DataError, "infinite"),
    ({"pixel_size_m": 0.001}, ParameterError, "too many"),
])
def test_bad_parameters(kwargs, error, words):
    args = {"radius_m": 50.0, "pixel_size_m": 10.0, **kwargs}
    with pytest.raises(error, match=words):
        kde([BNG_POINT], **args)


@pytest.mark.parametrize("points", [[], np.empty((0, 2)), [(np.nan, np.nan)]])
def test_no_points(points):
    with pytest.raises(DataError, match="no points"):
        kde(points, 50.0, 10.0)


# --- feedback and output ---------------------------------------------------------------------


def test_progress_and_cancel():
    pts = np.array(BNG_POINT) + np.random.default_rng(5).uniform(0, 2000, (500, 2))
    seen = []
    kde(pts, 100.0, 10.0, feedback=Feedback(on_progress=seen.append), threads=2)
    assert seen[-1] == pytest.approx(99.0) and seen == sorted(seen) and len(seen) > 10
    holder = []

    def cancel_halfway(percent):
        if percent > 30:
            holder[0].cancel()

    feedback = Feedback(on_progress=cancel_halfway)
    holder.append(feedback)
    with pytest.raises(CanceledError):
        kde(pts, 100.0, 10.0, feedback=feedback)


def test_threads_do_not_change_the_result():
    pts = np.array(BNG_POINT) + np.random.default_rng(6).normal(0, 300, (3000, 2))
    one = kde(pts, 80.0, 7.0, threads=1, return_counts=True)
    two = kde(pts, 80.0, 7.0, threads=3, return_counts=True)
    np.testing.assert_array_equal(one.array, two.array)
    np.testing.assert_array_equal(one.counts, two.counts)


def test_geotiff_round_trip(tmp_path):
    import rasterio

    pts = np.array(BNG_POINT) + np.random.default_rng(7).uniform(0, 500, (50, 2))
    result = kde(pts, 60.0, 10.0, crs="EPSG:27700", output_values="scaled")
    path = result.to_geotiff(tmp_path / "heat.tif")
    with rasterio.open(path) as ds:
        assert ds.count == 1 and ds.dtypes[0] == "float32" and ds.nodata == NODATA
        assert ds.crs.to_epsg() == 27700
        assert ds.transform == result.transform
        np.testing.assert_array_equal(ds.read(1), result.array)
        assert ds.tags()["KDE_KERNEL"] == "quartic"
        assert ds.tags()["KDE_OUTPUT_VALUES"] == "scaled"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heat.tif"]


def test_geotiff_error_names_the_file(tmp_path):
    result = kde([BNG_POINT], 50.0, 10.0)
    target = tmp_path / "missing" / "heat.tif"
    with pytest.raises(WriterError) as info:
        result.to_geotiff(target)
    assert str(target) in str(info.value)


def test_without_numba_the_same_loop_runs_in_python(monkeypatch):
    import gis_desk.analysis.kde as kde_module

    pts = np.array(BNG_POINT) + np.random.default_rng(8).uniform(0, 300, (40, 2))
    compiled = kde(pts, 35.0, 10.0, return_counts=True)
    monkeypatch.setattr(kde_module, "_compiled", lambda: None)
    feedback = Feedback()
    plain = kde(pts, 35.0, 10.0, return_counts=True, feedback=feedback)
    np.testing.assert_array_equal(plain.array, compiled.array)
    np.testing.assert_array_equal(plain.counts, compiled.counts)
    assert any("numba" in text for level, text in feedback.messages if level == "warning")


def test_extent_without_points_gives_an_empty_raster():
    result = kde([(5000.0, 5000.0)], 20.0, 5.0, extent=(0, 0, 200, 200), return_counts=True)
    assert result.params["n_used"] == 0
    assert np.all(result.array == NODATA) and np.all(result.counts == 0)
