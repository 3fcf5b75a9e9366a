"""Hillshade of elevation models: lit faces toward the light, metres per cell respected,
nodata not drawn as cliffs; the style round-trips and identify says "height"."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gis_desk.core.style import RasterStyle, is_elevation_model, style_from_dict, style_to_dict
from gis_desk.render.raster import cell_size_metres, hillshade, render_raster_layer
from gis_desk.render.viewport import Viewport

E0, N0 = 380_000.0, 396_000.0


def write_dem(path, z, cell=1.0, crs="EPSG:27700", nodata=None, origin=(E0, N0)):
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(path, "w", driver="GTiff", width=z.shape[1], height=z.shape[0], count=1, dtype="float32",
                       crs=crs, transform=from_origin(origin[0], origin[1], cell, cell), nodata=nodata) as ds:
        ds.write(z.astype("float32"), 1)
    return path


def cone(n=101, height=40.0, radius=50.0):
    yy, xx = np.mgrid[0:n, 0:n]
    r = np.hypot(xx - n // 2, yy - n // 2)
    return np.clip(height * (1 - r / radius), 0, None)


def test_plane_matches_lambert_formula():
    # a plane rising to the east at 1:1 (45 deg): its normal leans west
    z = np.tile(np.arange(20, dtype=float), (10, 1))
    shade = hillshade(z, 1.0, 1.0, azimuth=270.0, altitude=45.0)  # light from the west: faces it squarely
    assert shade[5, 10] == pytest.approx(1.0, abs=1e-6)
    shade = hillshade(z, 1.0, 1.0, azimuth=90.0, altitude=45.0)  # light from the east: grazing, dark
    assert shade[5, 10] == pytest.approx(0.0, abs=1e-6)
    flat = hillshade(np.zeros((5, 5)), 1.0, 1.0, altitude=30.0)
    assert np.allclose(flat, math.sin(math.radians(30)))
    # the same heights on 2 m cells are half as steep: cos of the angle between normal and light
    shade2 = hillshade(z, 2.0, 2.0, azimuth=270.0, altitude=45.0)
    n = np.array([-0.5, 0, 1]) / math.sqrt(1.25)
    light = np.array([-math.cos(math.radians(45)), 0, math.sin(math.radians(45))])
    assert shade2[5, 10] == pytest.approx(float(n @ light), abs=1e-6)


def test_cone_lit_on_the_north_west_side():
    z = cone()
    shade = hillshade(z, 1.0, 1.0, azimuth=315.0, altitude=45.0)
    c = 50
    nw, se = shade[c - 20, c - 20], shade[c + 20, c + 20]  # rows run south: row - 20 is north
    ne, sw = shade[c - 20, c + 20], shade[c + 20, c - 20]
    assert nw > 0.9 and se < 0.5 and nw > ne > se and nw > sw > se
    assert ne == pytest.approx(sw, abs=1e-6)  # symmetric about the light's direction
    # z factor exaggerates: the dark side gets darker
    assert hillshade(z, 1.0, 1.0, z_factor=3.0)[c + 20, c + 20] < se


def test_nodata_does_not_draw_a_cliff():
    z = np.tile(np.arange(30, dtype=float), (12, 1)) * 0.1
    invalid = np.zeros(z.shape, bool)
    invalid[:, 20:] = True
    shade = hillshade(np.where(invalid, -9999.0, z), 1.0, 1.0, invalid=invalid)
    ref = hillshade(z, 1.0, 1.0)
    assert np.allclose(shade[:, 2:18], ref[:, 2:18])


def test_cell_size_in_metres():
    assert cell_size_metres("EPSG:27700", (0, 0, 100, 50), 50, 25) == (2.0, 2.0)
    dx, dy = cell_size_metres("EPSG:4326", (-2.3, 53.0, -2.2, 53.1), 100, 100)
    assert dy == pytest.approx(110.574, rel=1e-3) and dx == pytest.approx(111.32 * math.cos(math.radians(53.05)), rel=1e-3)
    fx, _ = cell_size_metres("EPSG:2227", (0, 0, 100, 100), 100, 100)  # US survey feet
    assert fx == pytest.approx(0.3048006, rel=1e-5)


def _layer(session, path, style):
    [layer] = session.open(path)
    layer.style = style
    return layer


def test_rendered_cone_lit_side_and_blend(session, tmp_path):
    path = write_dem(tmp_path / "cone_dsm.tif", cone() + 20.0)
    only = _layer(session, path, RasterStyle(mode="singleband", bands=(1,), hillshade="only"))
    vp = Viewport((E0, N0 - 101, E0 + 101, N0), 101, 101, "EPSG:27700")
    img = render_raster_layer(only, vp)
    grey = img[..., 0].astype(float)
    assert (img[..., 0] == img[..., 1]).all() and (img[..., 3] == 255).all()
    assert grey[30, 30] > 220 and grey[70, 70] < 130  # north-west face bright, south-east dark
    assert grey[30, 30] == pytest.approx(255 * hillshade(cone(), 1, 1)[30, 30], abs=2)
    # the same DEM in a view twice as coarse: the gradient uses 2 m cells, same slopes
    vp2 = Viewport((E0, N0 - 101, E0 + 101, N0), 50, 50, "EPSG:27700")
    img2 = render_raster_layer(only, vp2)
    assert img2[15, 15, 0] == pytest.approx(grey[30, 30], abs=12)
    # blend: the ramp's colours darkened on the shadow side only
    only.style = RasterStyle(mode="singleband", bands=(1,), ramp="Greys", hillshade="off")
    plain = render_raster_layer(only, vp).astype(int)
    only.style = RasterStyle(mode="singleband", bands=(1,), ramp="Greys", hillshade="blend", hillshade_strength=1.0)
    blend = render_raster_layer(only, vp).astype(int)
    assert blend[70, 70, :3].sum() < 0.6 * plain[70, 70, :3].sum()
    assert blend[30, 30, :3].sum() == pytest.approx(plain[30, 30, :3].sum() * hillshade(cone(), 1, 1)[30, 30], rel=0.05)


def test_rendered_in_another_crs(session, tmp_path):
    from gis_desk.core.crs import transform_bounds

    path = write_dem(tmp_path / "cone_dtm.tif", cone() + 5.0)
    layer = _layer(session, path, RasterStyle(mode="singleband", bands=(1,), hillshade="only"))
    ext = transform_bounds("EPSG:27700", "EPSG:3857", (E0, N0 - 101, E0 + 101, N0))
    img = render_raster_layer(layer, Viewport(ext, 120, 120, "EPSG:3857"))
    h, w = img.shape[:2]
    assert img[int(h * 0.3), int(w * 0.3), 0] > img[int(h * 0.7), int(w * 0.7), 0] + 80


def test_style_round_trip_and_elevation_detection(tmp_path):
    s = RasterStyle(mode="singleband", hillshade="blend", hillshade_azimuth=270.0, hillshade_z_factor=2.0)
    back = style_from_dict(style_to_dict(s))
    assert back == s and back.hillshade_azimuth == 270.0

    class DS:
        count = 1

        def __init__(self, p):
            self.source = type("S", (), {"path": p})()

    assert is_elevation_model(DS("/x/site_dsm.tif")) and is_elevation_model(DS("/x/odm_dem/dtm.tif"))
    assert is_elevation_model(DS("/x/Elevation_2m.tif"))
    assert not is_elevation_model(DS("/x/orthophoto.tif")) and not is_elevation_model(DS("/x/random.tif"))
    assert is_elevation_model(DS("/x/random.tif"), RasterStyle(hillshade="only"))


def test_identify_says_height_on_dsm_not_on_other_rasters(session, tmp_path):
    from gis_desk.analysis.identify import identify

    z = np.full((10, 10), 42.25)
    write_dem(tmp_path / "site_dsm.tif", z)
    session.open(tmp_path / "site_dsm.tif")
    [hit] = identify(session.project, E0 + 2.5, N0 - 2.5, tolerance=0.1)
    assert hit.attributes["height"] == "42.25 m" and hit.values == {"Band 1": 42.25}
    write_dem(tmp_path / "counts.tif", z, origin=(E0 + 1000, N0))
    session.open(tmp_path / "counts.tif")
    hits = identify(session.project, E0 + 1002.5, N0 - 2.5, tolerance=0.1)
    assert hits and all("height" not in h.attributes for h in hits)


def test_zoomed_in_relief_is_smooth_not_a_checkerboard(session, tmp_path):
    path = write_dem(tmp_path / "cone_dem.tif", cone() + 20.0)
    layer = _layer(session, path, RasterStyle(mode="singleband", bands=(1,), hillshade="only"))
    # 20 x 20 m (cells of 1 m) on 160 px: 8 screen pixels per height cell, on the lit slope
    vp = Viewport((E0 + 20, N0 - 40, E0 + 40, N0 - 20), 160, 160, "EPSG:27700")
    grey = render_raster_layer(layer, vp)[..., 0].astype(float)
    steps = np.abs(np.diff(grey[80, 8:-8]))
    assert steps.max() < 12  # nearest-neighbour heights would give flat cells and spikes at their edges
    assert grey[8:-8, 8:-8].min() > 150  # the whole north-west slope stays lit
