"""Tiny readers registered by a test plugin manifest (``MANIFEST``) for project-file tests.

They stand in for the built-in readers so the project file is tested on its own: GeoJSON
through geopandas, GeoTIFF through rasterio.  Each counts its calls so tests can check that
a layer was reopened with its saved reader and options.
"""

from __future__ import annotations

import numpy as np

from gis_desk.core.datasets import DataSource, RasterDataset, VectorDataset
from gis_desk.errors import CorruptFileError, MissingCrsError

CALLS: list[tuple[str, str, dict]] = []

MANIFEST = """
name: gdesktest
version: 1.0
contributions:
  commands:
    - id: gdesktest.read_geojson
      python_name: gdesk_test_readers:read_geojson
    - id: gdesktest.read_tif
      python_name: gdesk_test_readers:read_tif
  readers:
    - command: gdesktest.read_geojson
      filename_patterns: ["*.geojson"]
    - command: gdesktest.read_tif
      filename_patterns: ["*.tif"]
"""


def read_geojson(path, **options):
    import geopandas as gpd

    CALLS.append(("geojson", path, dict(options)))
    try:
        frame = gpd.read_file(path)
    except Exception as exc:
        raise CorruptFileError(f"Not a readable GeoJSON file: {exc}", path=path) from exc
    if frame.crs is None:
        if "crs" not in options:
            raise MissingCrsError("The file has no CRS", path=path, hint="give one")
        frame = frame.set_crs(options["crs"])
    return [VectorDataset(DataSource(path, options=dict(options)), frame, driver="GeoJSON")]


class _TifDataset(RasterDataset):
    def __init__(self, path, options):
        import rasterio

        self.source = DataSource(path, options=dict(options))
        with rasterio.open(path) as src:
            self.crs = src.crs
            self.bounds = tuple(src.bounds)
            self.width, self.height, self.count = src.width, src.height, src.count
            self._data = src.read(masked=True)
        self.driver = "GTiff"

    def read_window(self, bounds, out_width, out_height, bands=None, resampling="nearest"):
        return np.ma.masked_all((len(bands or [1]), out_height, out_width))

    def info(self):
        return {"kind": "raster", "path": self.source.path}


def read_tif(path, **options):
    import rasterio

    CALLS.append(("tif", path, dict(options)))
    try:
        return [_TifDataset(path, options)]
    except rasterio.errors.RasterioIOError as exc:
        raise CorruptFileError(f"Not a readable raster: {exc}", path=path) from exc


# --- builders shared by the project-file and autosave tests --------------------------------


def make_session():
    """A Session whose only plugin is the test reader plugin (needs this folder on sys.path)."""
    from gis_desk.plugin_api.manager import PluginManager
    from gis_desk.plugin_api.manifest import parse_manifest
    from gis_desk.session import Session

    manager = PluginManager()
    manager.add_manifest(parse_manifest(MANIFEST, "gdesktest.yaml"))
    return Session(plugins=manager)


def write_survey_data(folder):
    """Known synthetic data in ``folder`` (EPSG:27700): 4 squares, 3 points, a 4x4 raster.

    Returns the three paths (polygons, points, raster).
    """
    from pathlib import Path

    import geopandas as gpd
    import rasterio
    from rasterio.transform import Affine
    from shapely.geometry import Point, box

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    polygons = folder / "lsoa.geojson"
    gpd.GeoDataFrame(
        {"code": ["A", "B", "C", "D"], "decile": [1, 4, 7, 10]},
        geometry=[box(370000 + 100 * i, 390000, 370100 + 100 * i, 390100) for i in range(4)],
        crs="EPSG:27700",
    ).to_file(polygons, driver="GeoJSON")
    points = folder / "assets.geojson"
    gpd.GeoDataFrame(
        {"category": ["school", "library", "school"]},
        geometry=[Point(370050, 390050), Point(370150, 390050), Point(370350, 390050)],
        crs="EPSG:27700",
    ).to_file(points, driver="GeoJSON")
    raster = folder / "dem.tif"
    data = np.arange(16, dtype="float32").reshape(1, 4, 4)
    with rasterio.open(raster, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
                       crs="EPSG:27700", transform=Affine(25, 0, 370000, 0, -25, 390100), nodata=-9999) as dst:
        dst.write(data)
    return polygons, points, raster
