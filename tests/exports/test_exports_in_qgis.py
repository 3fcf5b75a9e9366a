"""QGIS itself draws our QML: a snapshot from QGIS (under xvfb) shows the style's colours.

Skipped where QGIS or xvfb-run is not installed.  QGIS loads '<name>.qml' beside a file as
its default style: for the COG that is exactly the exported sidecar; for vectors it is the
same QML text that ``export_geopackage`` stores in ``layer_styles``.
"""

import os
import shutil
import subprocess

import numpy as np
import pytest
from affine import Affine
from PIL import Image

from gis_desk.analysis.disclosure import ThresholdPolicy
from gis_desk.core.ramps import ramp_colors
from gis_desk.core.style import Category, CategorisedStyle, RasterStyle, Symbol
from gis_desk.io.exports import export_cog
from gis_desk.io.qgis_style import vector_style_qml, write_qml

QGIS = shutil.which("qgis.bin") or shutil.which("qgis")
XVFB = shutil.which("xvfb-run")
pytestmark = pytest.mark.skipif(not (QGIS and XVFB), reason="QGIS and xvfb-run are needed")


def qgis_snapshot(tmp_path, data_path, width=240, height=80) -> np.ndarray:
    profile = tmp_path / "qgis-profile" / "profiles" / "default" / "QGIS"
    profile.mkdir(parents=True)
    (profile / "QGIS3.ini").write_text("[qgis]\nshowTips=false\ncheckVersion=false\n")
    out = tmp_path / "snapshot.png"
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    subprocess.run([XVFB, "-a", QGIS, "--profiles-path", str(tmp_path / "qgis-profile"), "--nologo",
                    "--noversioncheck", "--noplugins", "--snapshot", str(out), "--width", str(width),
                    "--height", str(height), str(data_path)],
                   env=env, capture_output=True, timeout=120)
    if not out.exists():
        pytest.skip("QGIS did not produce a snapshot on this machine")
    return np.asarray(Image.open(out).convert("RGB"), dtype=int)


def has_colour(image: np.ndarray, hex_colour: str, tolerance: int = 6) -> bool:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return bool((np.abs(image - rgb).max(axis=2) <= tolerance).any())


def test_qgis_draws_the_categorised_vector_style(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    frame = gpd.GeoDataFrame({"k": ["a", "b", "c"]},
                             geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(200, 0, 300, 100)], crs=27700)
    data = tmp_path / "boxes.geojson"
    frame.to_file(data)
    colours = ["#d7301f", "#31a354", "#3182bd"]
    style = CategorisedStyle(field="k", categories=[Category(v, Symbol(fill=c + "ff", stroke_width=0))
                                                    for v, c in zip("abc", colours)])
    write_qml(tmp_path / "boxes.qml", vector_style_qml(style, "Polygon"))
    image = qgis_snapshot(tmp_path, data)
    assert all(has_colour(image, c) for c in colours)


def test_qgis_draws_the_cog_ramp_and_leaves_masked_cells_empty(tmp_path):
    values = np.repeat(np.repeat(np.array([[0.0, 0.5, 1.0, 0.75]]), 30, axis=0), 30, axis=1)
    counts = np.full(values.shape, 20)
    counts[:, 90:] = 3  # the 0.75 block is reached by too few records
    path = tmp_path / "ramp.tif"
    style = RasterStyle(mode="singleband", ramp="viridis", vmin=[0.0], vmax=[1.0])
    export_cog(values, Affine(1, 0, 0, 0, -1, 30), 27700, path, None, style, ThresholdPolicy(), counts=counts)
    image = qgis_snapshot(tmp_path, path)
    low, mid, high = ramp_colors("viridis", 3)
    assert has_colour(image, low) and has_colour(image, mid, 10) and has_colour(image, high)
    masked_colour = ramp_colors("viridis", 5)[3]  # what 0.75 would look like
    assert not has_colour(image, masked_colour, 10)
