"""The bundled sample survey: expected content, deterministic rebuild, and the project opening.

Numbers checked here come from the sources, not from the generator: Trafford has 138 LSOAs of
2011 (each in IMD 2019), the asset register has 608 rows.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_surveys"
TRAFFORD = SAMPLES / "trafford"
BROKEN = SAMPLES / "broken"
PROJECT = TRAFFORD / "trafford.gdesk"
LSOA = TRAFFORD / "lsoa11_imd2019.gpkg"
ASSETS = TRAFFORD / "trafford_land_and_building_assets.csv"
BASEMAP = TRAFFORD / "basemap.gpkg"
REBUILD_HINT = "the committed samples are out of date: run `make samples` and commit sample_surveys/"
# Trafford in BNG metres, generously (the borough is about 15 x 14 km around Sale)
TRAFFORD_BOX = (366000.0, 383000.0, 385000.0, 400000.0)


def _make_samples():
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _inside(bounds, box=TRAFFORD_BOX) -> bool:
    return box[0] <= bounds[0] < bounds[2] <= box[2] and box[1] <= bounds[1] < bounds[3] <= box[3]


# -- content ------------------------------------------------------------------------------------

def test_lsoas_have_imd_deciles_in_bng():
    import geopandas as gpd

    frame = gpd.read_file(LSOA, layer="lsoa11_imd2019")
    assert len(frame) == 138
    assert frame.crs.to_epsg() == 27700
    assert frame["LSOA11CD"].is_unique and frame["LSOA11CD"].str.match(r"^E01\d{6}$").all()
    assert frame["LSOA11NM"].str.startswith("Trafford ").all()
    deciles = frame["IMD_decile"]
    assert deciles.dtype.kind == "i" and deciles.between(1, 10).all()
    assert set(deciles) == set(range(1, 11))  # Trafford spans every decile of England
    assert frame["IMD_rank"].between(1, 32844).all()
    # a lower rank (more deprived) never has a higher decile
    ordered = frame.sort_values("IMD_rank")["IMD_decile"].to_numpy()
    assert (np.diff(ordered) >= 0).all()
    # kept as published: two source rings touch themselves (real data the renderer must draw)
    assert (~frame.geometry.is_valid).sum() <= 2 and not frame.geometry.is_empty.any()
    assert _inside(frame.total_bounds)


def test_asset_register_has_608_rows_and_reads_as_points(session):
    import csv

    with open(ASSETS, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 608
    [dataset] = session.read(ASSETS)
    assert len(dataset) == 608
    assert dataset.crs.to_epsg() == 4326
    located = dataset.frame[~dataset.frame.geometry.is_empty]
    assert len(located) == sum(1 for r in rows if r["GeoX"].strip())
    uprns = dataset.frame["UPRN"].dropna()
    uprns = uprns[uprns.str.strip() != ""]
    assert len(uprns) == 272 and uprns.str.fullmatch(r"\d{5,12}").all()  # identifiers stay text


def test_basemap_is_a_small_bng_tile_pyramid(session):
    con = sqlite3.connect(BASEMAP)
    try:
        (srs,) = con.execute("SELECT srs_id FROM gpkg_tile_matrix_set WHERE table_name='trafford_basemap'").fetchone()
        sizes = [r[0] for r in con.execute(
            "SELECT pixel_x_size FROM gpkg_tile_matrix WHERE table_name='trafford_basemap' ORDER BY zoom_level")]
        stored = dict(con.execute("SELECT zoom_level, COUNT(*) FROM trafford_basemap GROUP BY zoom_level").fetchall())
    finally:
        con.close()
    assert srs == 27700
    assert sizes == [64.0, 32.0, 16.0, 8.0, 4.0]
    assert sorted(stored) == [0, 1, 2, 3, 4] and stored[4] > stored[3] > stored[2]
    assert BASEMAP.stat().st_size < 5 * 1024 * 1024

    [tiles] = session.read(BASEMAP)
    assert tiles.crs.to_epsg() == 27700
    lsoa_bounds = session.read(LSOA)[0].bounds
    b = tiles.bounds
    assert b[0] <= lsoa_bounds[0] and b[1] <= lsoa_bounds[1] and b[2] >= lsoa_bounds[2] and b[3] >= lsoa_bounds[3]
    # a tile over Sale (inside the borough) is drawn, not empty
    sale = (377500.0, 392000.0, 379500.0, 394000.0)
    found = list(tiles.tiles_for(sale, 4.0))
    assert found and all(rgba.shape[:2] == (256, 256) for _, rgba in found)
    assert any(np.unique(rgba[..., :3].reshape(-1, 3), axis=0).shape[0] > 4 for _, rgba in found)


def test_sample_folder_stays_small():
    """Each survey (Trafford, bridge, seawall, drone site) stays under 8 MB, no file over 5 MB."""
    files = [p for p in SAMPLES.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert all(p.stat().st_size < 5 * 1024 * 1024 for p in files)
    for folder in {p.relative_to(SAMPLES).parts[0] for p in files if len(p.relative_to(SAMPLES).parts) > 1}:
        size = sum(p.stat().st_size for p in files if p.relative_to(SAMPLES).parts[0] == folder)
        assert size < 8 * 1024 * 1024, folder
    assert sum(p.stat().st_size for p in files) < 32 * 1024 * 1024


# -- the project --------------------------------------------------------------------------------

def _luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_sample_project_opens_with_layers_in_order(session):
    from gis_desk.core.style import CategorisedStyle, GraduatedStyle

    session.load(PROJECT)
    layers = list(session.project.layers)  # index 0 is the bottom
    assert [layer.is_broken for layer in layers] == [False, False, False], [getattr(x, "error", "") for x in layers]
    assert [layer.kind for layer in layers] == ["tiles", "vector", "vector"]
    basemap, lsoa, assets = layers
    assert Path(basemap.source.path).name == "basemap.gpkg"
    assert Path(lsoa.source.path).name == "lsoa11_imd2019.gpkg" and len(lsoa.dataset) == 138
    assert Path(assets.source.path).name == ASSETS.name and len(assets.dataset) == 608
    assert session.project.crs.to_epsg() == 27700

    style = lsoa.style
    assert isinstance(style, GraduatedStyle) and style.field == "IMD_decile"
    assert [(c.lower, c.upper) for c in style.classes] == [(float(d), float(d)) for d in range(1, 11)]
    shades = [_luminance(c.symbol.fill) for c in style.classes]
    assert shades == sorted(shades) and shades[0] < 80 < 200 < shades[-1]  # 1 dark ... 10 light
    assert isinstance(assets.style, CategorisedStyle) and assets.style.field == "HoldingType"
    assert {c.value for c in assets.style.categories} == {"Buildings", "Land", "Land/Buildings"}

    marks = session.project.bookmarks
    assert {"Altrincham town centre", "Old Trafford"} <= set(marks)
    assert all(_inside(session.project.bookmark_extent(name)) for name in marks)
    assert _inside(session.project.view_extent)


def test_sample_project_paths_are_relative():
    data = json.loads(PROJECT.read_text(encoding="utf-8"))
    paths = [layer["source"]["path"] for layer in data["layers"]]
    assert paths == ["basemap.gpkg", "lsoa11_imd2019.gpkg", ASSETS.name]


# -- broken files -------------------------------------------------------------------------------

BROKEN_EXPECTED = {
    "truncated.tif": "CorruptFileError",
    "not_a_geopackage.gpkg": "CorruptFileError",
    "no_shx.shp": "CorruptFileError",
    "no_coordinates.csv": "DataError",
    "invalid_json.gdesk": "ProjectFileError",
    "no_crs.shp": "MissingCrsError",
    "eastings_no_crs.csv": "MissingCrsError",
}


def test_every_broken_file_is_described_in_the_readme():
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    described = _make_samples().BROKEN_FILES
    main_files = {p.name for p in BROKEN.iterdir() if p.suffix not in {".dbf", ".shx", ".prj", ".cpg"}}
    assert main_files == set(described) | {"no_shx.shp"} - {"no_shx.shx"}
    for name in main_files:
        assert f"`{name}`" in readme, f"{name} is not described in sample_surveys/README.md"
    assert not (BROKEN / "no_shx.shx").exists() and not (BROKEN / "no_crs.prj").exists()


@pytest.mark.parametrize("name, error", sorted(BROKEN_EXPECTED.items()))
def test_broken_file_gives_a_typed_error_naming_it(session, name, error):
    from gis_desk.errors import GisDeskError

    path = BROKEN / name
    with pytest.raises(GisDeskError) as caught:
        if path.suffix == ".gdesk":
            session.load(path)
        else:
            for dataset in session.read(path):
                if hasattr(dataset, "read_window"):  # a raster is only known bad once read
                    dataset.read_window(dataset.bounds, 32, 32)
    assert type(caught.value).__name__ == error
    assert name in str(caught.value)


def test_geojson_with_bng_numbers_is_not_taken_as_degrees(session):
    from gis_desk.errors import GisDeskError

    with pytest.raises(GisDeskError):
        session.read(BROKEN / "bng_coordinates.geojson")


# -- provenance ---------------------------------------------------------------------------------

def test_readme_gives_licences_and_attribution():
    readme = " ".join((SAMPLES / "README.md").read_text(encoding="utf-8").split())
    for text in ("Contains public sector information licensed under the Open Government Licence v3.0",
                 "Contains OS data © Crown copyright and database right", "CC BY 4.0", "martinjc",
                 "OpenStreetMap contributors"):
        assert text in readme
    for path in (LSOA, ASSETS, BASEMAP, PROJECT):
        assert f"`{path.name}`" in readme


# -- deterministic rebuild ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    shared = ROOT.parent / "shared" / "data" / "real"
    if not shared.exists():
        pytest.skip(f"shared real data not found at {shared}")
    out = tmp_path_factory.mktemp("samples")
    _make_samples().build(shared, out)
    return out


def test_rebuilt_lsoas_match_the_committed_ones(rebuilt):
    import geopandas as gpd
    from pandas.testing import assert_frame_equal

    new = gpd.read_file(rebuilt / "trafford" / LSOA.name)
    old = gpd.read_file(LSOA)
    assert_frame_equal(new.drop(columns="geometry"), old.drop(columns="geometry"), obj=REBUILD_HINT)
    distance = new.geometry.hausdorff_distance(old.geometry)
    assert float(distance.max()) < 0.01, REBUILD_HINT  # metres


def test_rebuilt_assets_project_and_broken_files_match(rebuilt):
    assert (rebuilt / "trafford" / ASSETS.name).read_bytes() == ASSETS.read_bytes()
    new = json.loads((rebuilt / "trafford" / PROJECT.name).read_text(encoding="utf-8"))
    old = json.loads(PROJECT.read_text(encoding="utf-8"))
    new.pop("app_version"), old.pop("app_version")
    assert new == old, REBUILD_HINT
    for path in BROKEN.iterdir():
        twin = rebuilt / "broken" / path.name
        assert twin.exists(), f"{path.name}: {REBUILD_HINT}"
        if path.suffix in {".csv", ".gdesk", ".geojson", ".gpkg"}:
            assert twin.read_bytes() == path.read_bytes(), f"{path.name}: {REBUILD_HINT}"
    assert {p.name for p in (rebuilt / "broken").iterdir()} == {p.name for p in BROKEN.iterdir()}


def test_rebuilt_basemap_matches_the_committed_one(rebuilt):
    def tiles(path):
        from gis_desk.io.tiles import decode_tile

        con = sqlite3.connect(path)
        try:
            rows = con.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM trafford_basemap").fetchall()
        finally:
            con.close()
        return {(z, c, r): decode_tile(blob) for z, c, r, blob in rows}

    new, old = tiles(rebuilt / "trafford" / BASEMAP.name), tiles(BASEMAP)
    assert new.keys() == old.keys(), REBUILD_HINT
    # pixels may move by antialiasing across skia versions, never by content
    diff = [np.abs(new[k].astype(int) - old[k].astype(int)).mean() for k in old]
    assert max(diff) < 2.0, REBUILD_HINT


def test_rebuild_is_byte_identical(rebuilt, tmp_path):
    """Same bytes on a second run with the same libraries (GeoPackage timestamps pinned)."""
    shared = ROOT.parent / "shared" / "data" / "real"
    _make_samples().build(shared, tmp_path, only=("lsoa", "assets", "broken"))
    for relative in ("trafford/" + LSOA.name, "trafford/" + ASSETS.name, "broken/truncated.tif",
                     "broken/no_shx.shp", "broken/no_crs.dbf"):
        assert (tmp_path / relative).read_bytes() == (rebuilt / relative).read_bytes(), relative
