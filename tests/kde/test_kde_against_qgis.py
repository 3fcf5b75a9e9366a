"""Cross-check against QGIS itself when it is installed (Debian: apt-get install qgis); skipped
otherwise.  Runs qgis_process.bin (the Debian wrapper script fails) offscreen."""

import os
import shutil
import subprocess

import numpy as np
import pytest

from gis_desk.analysis.kde import kde

QGIS_PROCESS = shutil.which("qgis_process.bin") or (
    "/usr/bin/qgis_process.bin" if os.path.exists("/usr/bin/qgis_process.bin") else None)

pytestmark = [pytest.mark.skipif(QGIS_PROCESS is None, reason="QGIS (qgis_process.bin) is not installed"),
              pytest.mark.slow]

KERNELS = ["quartic", "triangular", "uniform", "triweight", "epanechnikov"]


def _qgis_heatmap(tmp_path, points, weights, radius, pixel, kernel, scaled, decay=0.0):
    import geopandas as gpd
    import rasterio
    from shapely import points as make_points

    layer = tmp_path / f"points_{kernel}.gpkg"
    gpd.GeoDataFrame({"w": weights}, geometry=make_points(points), crs="EPSG:27700").to_file(layer)
    out = tmp_path / f"qgis_{kernel}.tif"
    args = [QGIS_PROCESS, "run", "qgis:heatmapkerneldensityestimation", "--",
            f"INPUT={layer}", f"RADIUS={radius}", f"PIXEL_SIZE={pixel}", f"KERNEL={KERNELS.index(kernel)}",
            f"OUTPUT_VALUE={1 if scaled else 0}", f"DECAY={decay}", "WEIGHT_FIELD=w", f"OUTPUT={out}"]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    with rasterio.open(out) as ds:
        return ds.read(1), ds.transform, ds.nodata


@pytest.mark.parametrize("kernel, scaled, radius, pixel, decay", [
    ("quartic", False, 50.0, 10.0, 0.0),
    ("epanechnikov", True, 33.0, 7.3, 0.0),
    ("triangular", True, 50.3, 10.0, 0.5),
])
def test_same_raster_as_qgis(tmp_path, kernel, scaled, radius, pixel, decay):
    rng = np.random.default_rng(42)
    points = np.array([383_000.0, 396_000.0]) + np.vstack([
        rng.uniform(0, 400, (300, 2)),
        rng.integers(0, 80, (100, 2)) * 5.0,  # on cell edges and centres
    ])
    weights = rng.uniform(0, 4, len(points))
    expected, transform, nodata = _qgis_heatmap(tmp_path, points, weights, radius, pixel, kernel, scaled, decay)
    ours = kde(points, radius, pixel, weights=weights, kernel=kernel, decay=decay,
               output_values="scaled" if scaled else "raw")
    assert nodata == ours.nodata
    assert ours.transform.almost_equals(transform, precision=1e-9)
    assert ours.array.shape == expected.shape
    np.testing.assert_array_equal(ours.array == nodata, expected == nodata)
    valid = expected != nodata
    peak = np.abs(expected[valid]).max()
    assert np.abs(ours.array[valid] - expected[valid]).max() <= 1e-4 * peak
