"""Rebuild every file under ``sample_surveys/`` from the shared real data, deterministically.

    .venv/bin/python sample_surveys/make_samples.py [--real ../shared/data/real] [--out sample_surveys]
                                                    [--only lsoa assets basemap project broken]

Writes (see ``sample_surveys/README.md`` for provenance, licences and what each set exercises):

``trafford/lsoa11_imd2019.gpkg``
    The 138 Trafford LSOAs (2011) joined to IMD 2019 (every index and domain decile and rank),
    reprojected from WGS84 to British National Grid (EPSG:27700).
``trafford/trafford_land_and_building_assets.csv``
    The council's land and building asset register, copied byte for byte.
``trafford/basemap.gpkg``
    An offline basemap: a GeoPackage tile pyramid in EPSG:27700 drawn by ``gis_desk.render``
    from the council's boundary and asset layers (see ``BASEMAP_LAYERS``).
``trafford/trafford.gdesk``
    The sample project: basemap at the bottom, LSOAs styled by IMD decile, assets on top, and
    bookmarks, saved through ``Session.save``.
``broken/``
    Small bad files for negative tests (``BROKEN_FILES`` says what each one is).

Re-running gives the same bytes for every file on the same library versions (GeoPackage
timestamps are pinned through GDAL's ``OGR_CURRENT_DATE``); across versions the data content
stays the same (``tests/test_samples.py`` checks that).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_REAL = HERE.parent.parent / "shared" / "data" / "real"

# Pinned so GeoPackages are byte-identical when rebuilt (GDAL writes this as last_change).
FIXED_TIMESTAMP = "2024-01-01T00:00:00.000Z"
os.environ["OGR_CURRENT_DATE"] = FIXED_TIMESTAMP

BNG = "EPSG:27700"
LSOA_SOURCE = "uk_boundaries/UK-GeoJSON/lsoa11_E08000009_Trafford.geojson"
IMD_SOURCE = "uk_deprivation/humaniverse_IMD/imd2019_england_lsoa11.csv"
ASSETS_SOURCE = ("uk_trafford/council_open_data/transparency_code/local_authority_land/"
                 "trafford_land_and_building_assets.csv")
COUNCIL = "uk_trafford/council_open_data"

LSOA_FILE = "trafford/lsoa11_imd2019.gpkg"
LSOA_LAYER = "lsoa11_imd2019"
ASSETS_FILE = "trafford/trafford_land_and_building_assets.csv"
BASEMAP_FILE = "trafford/basemap.gpkg"
BASEMAP_TABLE = "trafford_basemap"
PROJECT_FILE = "trafford/trafford.gdesk"

# Fixed layer ids keep the project file identical between runs (they are random otherwise).
LAYER_IDS = {"basemap": "basemap00001", "lsoa": "lsoaimd00001", "assets": "assets000001"}

# Bookmarks: (name, centre easting, centre northing, width m, height m), BNG.
BOOKMARKS = [
    ("Altrincham town centre", 376900.0, 387800.0, 1600.0, 1100.0),
    ("Old Trafford", 381300.0, 396000.0, 2200.0, 1500.0),
    ("Partington and Carrington", 372500.0, 391500.0, 4400.0, 3000.0),
]


def _need(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"make_samples: {path} is missing: the shared real data must be beside the checkout "
                 f"(give its folder with --real)")
    return path


# -- LSOAs joined to IMD 2019 ---------------------------------------------------------------------

def lsoa_imd_frame(real: Path):
    """Trafford's 138 LSOA (2011) polygons with their IMD 2019 columns, in EPSG:27700.

    Deciles and ranks are whole numbers in the source CSV stored as floats; they are written as
    integers.  Rows are sorted by LSOA code so the output does not depend on the input order.
    Exits with a message when an LSOA has no IMD row (the join must be complete).
    """
    import geopandas as gpd
    import pandas as pd

    lsoa = gpd.read_file(_need(real / LSOA_SOURCE))[["LSOA11CD", "LSOA11NM", "geometry"]]
    imd = pd.read_csv(_need(real / IMD_SOURCE), dtype={"lsoa11_code": str})
    imd = imd[imd["lsoa11_code"].isin(lsoa["LSOA11CD"])]
    joined = lsoa.merge(imd, left_on="LSOA11CD", right_on="lsoa11_code", how="left", validate="one_to_one")
    if joined["IMD_decile"].isna().any():
        missing = ", ".join(joined.loc[joined["IMD_decile"].isna(), "LSOA11CD"])
        sys.exit(f"make_samples: no IMD 2019 row for LSOA {missing}")
    joined = joined.drop(columns="lsoa11_code")
    for column in joined.columns:
        if column.endswith(("_decile", "_rank")):
            joined[column] = joined[column].astype("int32")
    joined = joined.sort_values("LSOA11CD").reset_index(drop=True)
    return joined.to_crs(BNG)


def write_lsoa(real: Path, out: Path) -> Path:
    target = out / LSOA_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    lsoa_imd_frame(real).to_file(target, layer=LSOA_LAYER, driver="GPKG")
    return target


# -- asset register -------------------------------------------------------------------------------

def write_assets(real: Path, out: Path) -> Path:
    target = out / ASSETS_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_need(real / ASSETS_SOURCE), target)
    return target


# -- offline basemap ------------------------------------------------------------------------------

# Drawn bottom to top: (source under COUNCIL, Symbol keyword arguments, label field or None,
# finest pixel size in metres at which it is drawn (None = always)).
BASEMAP_LAYERS = [
    ("boundaries/local_authority_district.geojson",
     dict(fill="#f4f1e8ff", stroke="#00000000", stroke_width=0.0), None, None),
    ("boundaries/oa.geojson",
     dict(fill="#00000000", stroke="#d9d2c0ff", stroke_width=0.5), None, 12.0),
    ("assets/allotments/allotments.geojson",
     dict(fill="#b8d8a0ff", stroke="#7da867ff", stroke_width=0.6), None, None),
    ("assets/leisure_centres/trafford_leisure_centres_and_parking_polygons.geojson",
     dict(fill="#f2c9a0ff", stroke="#c9905aff", stroke_width=0.6), None, None),
    ("boundaries/electoral_ward.geojson",
     dict(fill="#00000000", stroke="#9a8f7aff", stroke_width=1.0), "area_name", None),
    ("boundaries/local_authority_district.geojson",
     dict(fill="#00000000", stroke="#5b5346ff", stroke_width=2.2), None, None),
    ("assets/cctv/trafford_cctv_cameras.geojson",
     dict(fill="#8c8c8cff", stroke="#00000000", stroke_width=0.0, marker="circle", size=3.0), None, 8.0),
    ("assets/libraries/libraries.geojson",
     dict(fill="#6b4f9eff", stroke="#ffffffff", stroke_width=1.0, marker="square", size=7.0), None, 8.0),
]
BASEMAP_ATTRIBUTION = ("Offline basemap of Trafford drawn by GIS Desk. Contains public sector information "
                       "licensed under the Open Government Licence v3.0. Contains National Statistics and OS "
                       "data © Crown copyright and database right. Allotment outlines © OpenStreetMap "
                       "contributors, ODbL 1.0.")
BASEMAP_BACKGROUND = "#e6e2d8"  # beyond Trafford: a slightly darker neutral than inside it
# Zoom levels as metres per pixel; each halves the last (a GeoPackage tile matrix set).
BASEMAP_PIXEL_SIZES = (64.0, 32.0, 16.0, 8.0, 4.0)  # coarse to fine
BASEMAP_TILE_SIZE = 256
# Beyond Trafford on each side (x, y metres): wide enough that a 16:9 window fitted to the
# borough still shows basemap at its edges; flat background tiles cost a few hundred bytes.
BASEMAP_MARGIN_M = (6000.0, 2000.0)


def basemap_layers(real: Path, pixel_size: float):
    """Vector layers (bottom to top) styled for the basemap at ``pixel_size`` m/px."""
    import geopandas as gpd

    from gis_desk.core.datasets import DataSource, VectorDataset
    from gis_desk.core.layer import VectorLayer
    from gis_desk.core.style import LabelSettings, SingleSymbolStyle, Symbol

    layers = []
    for relative, symbol, label_field, finest in BASEMAP_LAYERS:
        if finest is not None and pixel_size > finest:
            continue
        path = _need(real / COUNCIL / relative)
        frame = gpd.read_file(path).to_crs(BNG)
        labels = None
        if label_field and pixel_size <= 16.0:
            labels = LabelSettings(field=label_field, size=8.0 if pixel_size > 4.0 else 9.0,
                                   color="#4a4338ff", halo="#f4f1e8e0")
        style = SingleSymbolStyle(symbol=Symbol(**symbol), labels=labels)
        layers.append(VectorLayer(VectorDataset(DataSource(str(path)), frame, driver="GeoJSON"), style=style))
    return layers


def basemap_extent(real: Path) -> tuple[float, float, float, float]:
    """Trafford's extent in BNG (metres) grown by ``BASEMAP_MARGIN_M``."""
    import geopandas as gpd

    district = gpd.read_file(_need(real / COUNCIL / "boundaries/local_authority_district.geojson")).to_crs(BNG)
    xmin, ymin, xmax, ymax = (float(v) for v in district.total_bounds)
    mx, my = BASEMAP_MARGIN_M
    return (round(xmin - mx), round(ymin - my), round(xmax + mx), round(ymax + my))


def basemap_grid(extent):
    """The tile matrix set: top-left at the extent's top-left, ``BASEMAP_PIXEL_SIZES`` levels."""
    from gis_desk.io.tiles import TileGrid

    return TileGrid.for_extent(extent, BNG, finest_resolution=BASEMAP_PIXEL_SIZES[-1],
                               levels=len(BASEMAP_PIXEL_SIZES), tile_size=BASEMAP_TILE_SIZE)


def render_basemap_tiles(real: Path, grid, extent):
    """``(zoom, col, row, rgba)`` for every tile meeting ``extent``.

    Each zoom level is drawn as ONE image over its tiles and then cut up, so labels and line
    joins never break at tile edges."""
    import numpy as np

    from gis_desk.render.renderer import render_map
    from gis_desk.render.skia_util import unpremultiply
    from gis_desk.render.viewport import Viewport

    for zoom in grid.zooms:
        matrix = grid.matrices[zoom]
        cols, rows = grid.tile_range(zoom, extent)
        level_extent = (grid.origin_x + cols.start * matrix.span_x, grid.origin_y - rows.stop * matrix.span_y,
                        grid.origin_x + cols.stop * matrix.span_x, grid.origin_y - rows.start * matrix.span_y)
        size = matrix.tile_width
        viewport = Viewport(level_extent, len(cols) * size, len(rows) * size, BNG)
        layers = basemap_layers(real, matrix.resolution_x)
        image = unpremultiply(render_map(layers, viewport, background=BASEMAP_BACKGROUND))
        for j, row in enumerate(rows):
            for i, col in enumerate(cols):
                tile = image[j * size:(j + 1) * size, i * size:(i + 1) * size]
                yield zoom, col, row, np.ascontiguousarray(tile)


def write_basemap(real: Path, out: Path) -> Path:
    import sqlite3

    from gis_desk.io.tiles import write_gpkg_tiles

    target = out / BASEMAP_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    extent = basemap_extent(real)
    grid = basemap_grid(extent)
    write_gpkg_tiles(target, grid, render_basemap_tiles(real, grid, extent), table=BASEMAP_TABLE,
                     data_extent=extent, image_format="png",
                     description=BASEMAP_ATTRIBUTION)
    # The writer stamps the time of writing; pin it so a rebuild gives the same bytes.
    con = sqlite3.connect(target)
    try:
        con.execute("UPDATE gpkg_contents SET last_change = ?", (FIXED_TIMESTAMP,))
        con.commit()
        con.execute("VACUUM")
    finally:
        con.close()
    return target


# -- the project ----------------------------------------------------------------------------------

IMD_RAMP = "YlGnBu"  # inverted: decile 1 (most deprived) dark blue, decile 10 pale yellow


def imd_style(frame):
    """Graduated style of ``IMD_decile``: one class per decile, 1 = most deprived = darkest."""
    from gis_desk.core.classify import graduated_style

    style = graduated_style(frame, "IMD_decile", method="equal_interval", n=10, ramp=IMD_RAMP, invert=True)
    if len(style.classes) != 10:
        sys.exit(f"make_samples: expected 10 IMD deciles, found {len(style.classes)}")
    style.classes[0].label = "1 (most deprived 10%)"
    style.classes[-1].label = "10 (least deprived 10%)"
    return style


ASSET_SYMBOLS = {  # HoldingType -> (fill, marker)
    "Buildings": ("#e31a1cff", "square"),
    "Land": ("#ff7f00ff", "circle"),
    "Land/Buildings": ("#b15928ff", "diamond"),
}


def asset_style(frame):
    """Categorised by ``HoldingType``: warm colours and distinct markers over the blue deciles."""
    from gis_desk.core.classify import categorised_style
    from gis_desk.core.style import Symbol

    style = categorised_style(frame, "HoldingType")
    for category in style.categories:
        fill, marker = ASSET_SYMBOLS.get(str(category.value), ("#fdbf6fff", "triangle"))
        category.symbol = Symbol(fill=fill, stroke="#1a1a1aff", stroke_width=0.8, marker=marker, size=7.0)
    return style


def write_project(out: Path) -> Path:
    """The sample project through ``Session.save``: basemap, LSOAs by IMD decile, assets."""
    from gis_desk.session import Session

    session = Session()
    project = session.project
    project.title = "Trafford: deprivation and council assets"
    [basemap] = session.read(out / BASEMAP_FILE)
    [lsoa] = session.read(out / LSOA_FILE, layer=LSOA_LAYER)
    [assets] = session.read(out / ASSETS_FILE)
    layers = [
        session.layer_for(basemap, name="Basemap (Trafford open data)", layer_id=LAYER_IDS["basemap"]),
        session.layer_for(lsoa, name="IMD 2019 decile by LSOA", layer_id=LAYER_IDS["lsoa"], opacity=0.8),
        session.layer_for(assets, name="Council land and buildings", layer_id=LAYER_IDS["assets"]),
    ]
    layers[1].style = imd_style(lsoa.frame)
    layers[2].style = asset_style(assets.frame)
    project.layers.extend(layers)
    for name, x, y, w, h in BOOKMARKS:
        project.add_bookmark(name, (x - w / 2, y - h / 2, x + w / 2, y + h / 2), BNG)
    project.view_extent = tuple(float(round(v)) for v in lsoa.bounds)  # whole metres read better
    target = out / PROJECT_FILE
    session.save(target)
    Path(str(target) + ".bak").unlink(missing_ok=True)
    return target


# -- broken files ---------------------------------------------------------------------------------

BROKEN_FILES = {
    "truncated.tif": "a GeoTIFF (64 x 64, BNG) cut off after half its bytes",
    "not_a_geopackage.gpkg": "a text file named .gpkg",
    "no_shx.shp": "a Shapefile (with .dbf and .prj) whose .shx index is missing",
    "no_coordinates.csv": "a CSV of sites with names and addresses but no coordinate or geometry column",
    "invalid_json.gdesk": "a project file whose JSON is cut off mid-way",
    "no_crs.shp": "a Shapefile of BNG points with no .prj: the layer has no CRS",
    "eastings_no_crs.csv": "a CSV with Easting/Northing columns and no CRS stated anywhere",
    "bng_coordinates.geojson": "GeoJSON holding BNG metres without a crs member, so by the "
                               "GeoJSON rules it claims WGS84 degrees it cannot be",
}

_SITES = [  # (name, easting, northing): a few Trafford places, metres in BNG
    ("Altrincham Town Hall", 376830.0, 387760.0),
    ("Sale Waterside", 378420.0, 392330.0),
    ("Stretford Mall", 379300.0, 394900.0),
    ("Urmston Library", 376300.0, 394700.0),
]


def write_broken(out: Path) -> Path:
    import geopandas as gpd
    import numpy as np
    import rasterio
    from affine import Affine
    from shapely.geometry import Point

    folder = out / "broken"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.name != ".gitkeep":
            old.unlink()

    # A real GeoTIFF, then cut in half: the header survives, the strips do not.
    buffer = io.BytesIO()
    rows = np.add.outer(np.arange(64), np.arange(64)).astype("uint8")
    with rasterio.MemoryFile() as memory:
        with memory.open(driver="GTiff", width=64, height=64, count=1, dtype="uint8", crs=BNG,
                         transform=Affine(10.0, 0.0, 376000.0, 0.0, -10.0, 388000.0)) as dst:
            dst.write(rows, 1)
        buffer.write(memory.read())
    data = buffer.getvalue()
    (folder / "truncated.tif").write_bytes(data[: len(data) // 2])

    (folder / "not_a_geopackage.gpkg").write_text(
        "This is a plain text file that was given a .gpkg name.\nIt is not an SQLite database.\n",
        encoding="utf-8")

    sites = gpd.GeoDataFrame({"name": [s[0] for s in _SITES]},
                             geometry=[Point(s[1], s[2]) for s in _SITES], crs=BNG)
    sites.to_file(folder / "no_shx.shp", driver="ESRI Shapefile", engine="pyogrio")
    (folder / "no_shx.shx").unlink()
    (folder / "no_shx.cpg").unlink(missing_ok=True)
    no_crs = gpd.GeoDataFrame({"name": sites["name"]}, geometry=list(sites.geometry), crs=None)
    with warnings.catch_warnings():  # "crs was not provided" is the point of this file
        warnings.simplefilter("ignore", UserWarning)
        no_crs.to_file(folder / "no_crs.shp", driver="ESRI Shapefile", engine="pyogrio")
    (folder / "no_crs.prj").unlink(missing_ok=True)
    (folder / "no_crs.cpg").unlink(missing_ok=True)

    (folder / "no_coordinates.csv").write_text(
        "name,address,postcode\n"
        "Altrincham Town Hall,Market Street Altrincham,WA14 1PF\n"
        "Sale Town Hall,School Road Sale,M33 7ZF\n"
        "Stretford Public Hall,Chester Road Stretford,M32 0LG\n", encoding="utf-8")
    (folder / "eastings_no_crs.csv").write_text(
        "name,Easting,Northing\n" + "".join(f"{n},{x:.0f},{y:.0f}\n" for n, x, y in _SITES), encoding="utf-8")
    features = [{"type": "Feature", "properties": {"name": n},
                 "geometry": {"type": "Point", "coordinates": [x, y]}} for n, x, y in _SITES]
    (folder / "bng_coordinates.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, indent=1) + "\n", encoding="utf-8")

    (folder / "invalid_json.gdesk").write_text(
        '{\n  "format": "gis-desk-project",\n  "schema_version": 1,\n  "title": "Cut off",\n'
        '  "crs": "EPSG:27700",\n  "layers": [\n    {"kind": "vector", "name": "sites", "source": {"path": ',
        encoding="utf-8")
    return folder


# -- command line ---------------------------------------------------------------------------------

PARTS = ("lsoa", "assets", "basemap", "project", "broken")


def build(real: Path = DEFAULT_REAL, out: Path = HERE, only=PARTS) -> list[Path]:
    """Build the parts named in ``only`` (in dependency order) into ``out``; returns the paths."""
    real, out = Path(real), Path(out)
    steps = {
        "lsoa": lambda: write_lsoa(real, out),
        "assets": lambda: write_assets(real, out),
        "basemap": lambda: write_basemap(real, out),
        "project": lambda: write_project(out),
        "broken": lambda: write_broken(out),
    }
    return [steps[part]() for part in PARTS if part in only]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL, help="the shared real data folder")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write (default: sample_surveys/)")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS), help="parts to build")
    args = parser.parse_args(argv)
    for path in build(args.real, args.out, args.only):
        size = sum(p.stat().st_size for p in path.iterdir()) if path.is_dir() else path.stat().st_size
        print(f"wrote {path} ({size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
