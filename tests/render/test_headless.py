"""Headless rendering of projects and files; the real Trafford IMD map."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from PIL import Image
from shapely.geometry import box

from gis_desk.core.classify import graduated_style
from gis_desk.core.datasets import DataSource, VectorDataset
from gis_desk.core.layer import VectorLayer
from gis_desk.core.project import Project
from gis_desk.core.style import SingleSymbolStyle, Symbol
from gis_desk.errors import DataError, WriterError
from gis_desk.render.headless import render_project, render_project_file, write_png
from gis_desk.render.viewport import Viewport

from render_fakes import vector_layer

TRAFFORD = "uk_boundaries/UK-GeoJSON/lsoa11_E08000009_Trafford.geojson"
IMD = "uk_deprivation/humaniverse_IMD/imd2019_england_lsoa11.csv"


def test_render_project_fits_visible_layers_and_honours_extent():
    project = Project()
    project.layers.append(vector_layer([box(0, 0, 100, 50)], style=SingleSymbolStyle(
        Symbol(fill="#ff0000ff", stroke_width=0))))
    image = render_project(project, 200, 100, decorations=False)
    assert image.shape == (100, 200, 4)
    assert tuple(image[50, 100]) == (255, 0, 0, 255)
    assert tuple(image[1, 1]) == (255, 255, 255, 255)  # the margin around the data
    zoomed = render_project(project, 200, 100, extent=(200, 200, 300, 250), decorations=False)
    assert (zoomed == 255).all()
    project.layers[0].visible = False
    with pytest.raises(DataError):
        render_project(project, 200, 100)


def test_render_data_file_and_project_file_to_png(tmp_path, session):
    frame = gpd.GeoDataFrame({"v": [1]}, geometry=[box(530000, 180000, 531000, 180500)], crs="EPSG:27700")
    data = tmp_path / "zone.geojson"
    frame.to_file(data)
    out = render_project_file(data, tmp_path / "zone.png", width=320, height=200, session=session)
    with Image.open(out) as png:
        assert png.size == (320, 200) and png.mode == "RGBA"
        pixels = np.asarray(png)
    assert tuple(pixels[100, 160][:3]) != (255, 255, 255)  # the zone is drawn in the middle
    project_path = session.save(tmp_path / "zone.gdesk")
    out2 = render_project_file(project_path, tmp_path / "again.png", width=320, height=200)
    assert np.array_equal(np.asarray(Image.open(out2)), pixels)
    with pytest.raises(WriterError, match="does not exist"):
        render_project_file(data, tmp_path / "no" / "such" / "dir.png", width=10, height=10)


def test_png_is_unpremultiplied(tmp_path):
    image = np.zeros((2, 2, 4), np.uint8)
    image[0, 0] = (64, 0, 0, 128)  # premultiplied half-transparent red (128, 0, 0) straight
    with Image.open(write_png(image, tmp_path / "a.png")) as png:
        assert tuple(np.asarray(png)[0, 0]) == (128, 0, 0, 128)


@pytest.fixture
def trafford_imd(real_data):
    frame = gpd.read_file(real_data / TRAFFORD)
    imd = pd.read_csv(real_data / IMD, usecols=["lsoa11_code", "IMD_decile"])
    joined = frame.merge(imd, left_on="LSOA11CD", right_on="lsoa11_code", how="left")
    return VectorLayer(VectorDataset(DataSource(str(real_data / TRAFFORD)), joined), name="IMD 2019 decile")


def test_trafford_imd_deciles_render_with_the_right_colours(trafford_imd):
    frame = trafford_imd.dataset.frame
    assert len(frame) == 138 and frame["IMD_decile"].notna().all()
    style = graduated_style(frame, "IMD_decile", n=10, ramp="YlGnBu", invert=True)
    assert [c.label for c in style.classes] == [str(i) for i in range(1, 11)]
    trafford_imd.style = style
    to_bng = pyproj.Transformer.from_crs(4326, 27700, always_xy=True)
    project = Project()
    project.layers.append(trafford_imd)
    image = render_project(project, 1000, 800, decorations=False)
    write_png(image, "/tmp/trafford_imd.png")
    viewport = Viewport.fit(project.full_extent(), 1000, 800, "EPSG:27700", margin=0.03)
    # each LSOA's interior point (in BNG) shows its decile's colour
    anchors = shapely.point_on_surface(frame.geometry.to_crs(27700).values)
    px, py = viewport.world_to_pixel(shapely.get_x(anchors), shapely.get_y(anchors))
    fills = {int(c.lower): c.symbol.fill for c in style.classes}
    matches = 0
    for x, y, decile in zip(px, py, frame["IMD_decile"]):
        want = np.array([int(fills[int(decile)][i:i + 2], 16) for i in (1, 3, 5)])
        matches += np.abs(image[int(y), int(x), :3].astype(int) - want).max() <= 2
    assert matches >= 0.95 * len(frame)  # a few tiny LSOAs are mostly outline at this size
    decile_1 = ("#" + "".join(f"{v:02x}" for v in image[int(py[0]), int(px[0]), :3]))
    assert decile_1 == fills[int(frame["IMD_decile"].iloc[0])][:7]
    assert to_bng is not None


def test_trafford_with_decorations(trafford_imd):
    trafford_imd.style = graduated_style(trafford_imd.dataset.frame, "IMD_decile", n=10, ramp="YlGnBu", invert=True)
    project = Project()
    project.layers.append(trafford_imd)
    image = render_project(project, 1200, 800, decorations={
        "legend": True, "title": "Index of Multiple Deprivation 2019 (1 = most deprived)",
        "attribution": "Contains OS data © Crown copyright and database right; IMD 2019 MHCLG"})
    write_png(image, "/tmp/trafford_imd_decorated.png")
    plain = render_project(project, 1200, 800, decorations=False)
    changed = np.any(image != plain, axis=2)
    assert changed[700:, :300].any()  # scale bar
    assert changed[:100, 1100:].any()  # north arrow
    assert changed[400:780, 1050:].any()  # legend
