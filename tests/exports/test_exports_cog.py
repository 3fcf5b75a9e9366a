"""Cloud Optimized GeoTIFF export: COG layout, overviews, policy tags, masked cells, styles."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import rasterio
from affine import Affine

from gis_desk.analysis.disclosure import NhsDigitalPolicy, NoDisclosureControl, ThresholdPolicy
from gis_desk.core.ramps import ramp_colors
from gis_desk.core.style import RasterStyle
from gis_desk.errors import DataError, MissingCrsError, ParameterError, WriterError
from gis_desk.io.exports import export_cog, export_heatmap

TRANSFORM = Affine(10.0, 0.0, 376000.0, 0.0, -10.0, 398000.0)


@pytest.fixture
def heat():
    """A 700 x 600 smooth field and a record-count grid with known low-count cells."""
    rows, cols = np.mgrid[0:700, 0:600]
    values = np.exp(-((rows - 350) ** 2 + (cols - 300) ** 2) / 2e4).astype(np.float32)
    counts = (values * 40).astype(np.int32)  # 0..40 records, fewer towards the edges
    return values, counts


def test_cog_layout_overviews_policy_and_masking(tmp_path, heat):
    values, counts = heat
    path = tmp_path / "heat.tif"
    log = []
    result = export_cog(values, TRANSFORM, "EPSG:27700", path, -9999, None, ThresholdPolicy(k=10), counts=counts,
                        export_log=log)
    with rasterio.open(path) as src:
        assert src.driver == "GTiff" and src.crs.to_epsg() == 27700 and src.transform == TRANSFORM
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.profile["tiled"] and src.block_shapes == [(256, 256)]
        assert src.overviews(1), "a COG this size must carry overviews"
        tags = src.tags()
        assert tags["DISCLOSURE_POLICY"] == "Threshold k=10"
        assert tags["DISCLOSURE_MIN_RECORDS"] == "10"
        assert int(tags["DISCLOSURE_MASKED_CELLS"]) == int((counts < 10).sum())
        band = src.read(1, masked=True)
        assert src.nodata == -9999
    assert np.array_equal(band.mask, counts < 10)
    assert np.allclose(band.compressed(), values[counts >= 10])
    assert 0 < (counts < 10).mean() < 1
    assert result.sidecars == [path.with_suffix(".qml")] and len(log) == 1
    assert log[0].details["masked_cells"] == int((counts < 10).sum())


def test_float_cog_gets_a_pseudocolor_qml_sidecar(tmp_path, heat):
    values, counts = heat
    style = RasterStyle(mode="singleband", ramp="magma", vmin=[0.0], vmax=[1.0])
    export_cog(values, TRANSFORM, 27700, tmp_path / "h.tif", None, style, NhsDigitalPolicy(), counts=counts)
    qml = (tmp_path / "h.qml").read_text()
    renderer = ET.fromstring(qml.split("\n", 1)[1]).find("pipe/rasterrenderer")
    assert renderer.get("type") == "singlebandpseudocolor" and renderer.get("band") == "1"
    items = renderer.findall("rastershader/colorrampshader/item")
    assert float(items[0].get("value")) == 0.0 and float(items[-1].get("value")) == 1.0
    assert [i.get("color") for i in items] == ramp_colors("magma", len(items))
    with rasterio.open(tmp_path / "h.tif") as src:
        band = src.read(1, masked=True)
        assert src.tags()["DISCLOSURE_MIN_RECORDS"] == "8"  # NHS Digital: fewer than 8 records hidden
    assert np.array_equal(band.mask, counts < 8)


def test_paletted_cog_has_a_colour_table(tmp_path, heat):
    values, counts = heat
    style = RasterStyle(mode="singleband", ramp="YlOrRd", vmin=[0.0], vmax=[1.0])
    export_cog(values, TRANSFORM, 27700, tmp_path / "p.tif", None, style, ThresholdPolicy(), counts=counts,
               paletted=True, classes=5)
    with rasterio.open(tmp_path / "p.tif") as src:
        assert src.dtypes[0] == "uint8" and src.nodata == 0
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        colormap = src.colormap(1)
        data = src.read(1)
        tags = src.tags()
    expected = ramp_colors("YlOrRd", 5)
    for value, color in enumerate(expected, start=1):
        assert "#%02x%02x%02x" % colormap[value][:3] == color
    assert np.array_equal(data == 0, counts < 10)
    edges = np.linspace(0, 1, 6)
    shown = counts >= 10
    assert np.array_equal(data[shown], np.clip(np.searchsorted(edges[1:-1], values[shown], side="right") + 1, 1, 5))
    assert tags["CLASS_1"] == "0 – 0.2"
    palette = ET.fromstring((tmp_path / "p.qml").read_text().split("\n", 1)[1]).findall(".//paletteEntry")
    assert [p.get("color") for p in palette] == expected


def test_heatmap_from_kde_is_masked_by_its_record_counts(tmp_path):
    from gis_desk.analysis.kde import kde

    rng = np.random.default_rng(11)
    dense = rng.normal([380000, 395000], 150, size=(400, 2))
    sparse = rng.uniform([378000, 393000], [382000, 397000], size=(15, 2))
    result = kde(np.vstack([dense, sparse]), 300.0, 25.0, crs="EPSG:27700", return_counts=True)
    path = tmp_path / "kde.tif"
    export_heatmap(result, path, None, NhsDigitalPolicy())
    with rasterio.open(path) as src:
        band = src.read(1, masked=True)
        assert src.transform == result.transform
    assert np.array_equal(band.mask, result.counts < 8)
    assert band.count() > 0 and band.mask.any()


def test_gdal_opens_the_cogs_without_warnings(tmp_path, heat, gdal):
    values, counts = heat
    export_cog(values, TRANSFORM, 27700, tmp_path / "f.tif", None, None, ThresholdPolicy(), counts=counts)
    export_cog(values, TRANSFORM, 27700, tmp_path / "p.tif", None, None, ThresholdPolicy(), counts=counts,
               paletted=True)
    for name in ("f.tif", "p.tif"):
        run = gdal("gdalinfo", str(tmp_path / name))
        if run is None:
            pytest.skip("gdalinfo is not installed")
        assert run.returncode == 0, run.stderr
        assert "Warning" not in run.stderr and "ERROR" not in run.stderr, run.stderr
        assert "DISCLOSURE_POLICY=Threshold k=10" in run.stdout
        assert "Overviews:" in run.stdout


def test_cog_export_errors(tmp_path, heat):
    values, counts = heat
    out = tmp_path / "x.tif"
    with pytest.raises(DataError, match="records reaching each cell"):
        export_cog(values, TRANSFORM, 27700, out, None, None, NhsDigitalPolicy())
    with pytest.raises(ParameterError, match="below"):
        export_cog(values, TRANSFORM, 27700, out, None, None, NhsDigitalPolicy(), counts=counts, k=3)
    with pytest.raises(ParameterError, match="disclosure policy"):
        export_cog(values, TRANSFORM, 27700, out, None, None, None, counts=counts)
    with pytest.raises(DataError, match="record-count grid"):
        export_cog(values, TRANSFORM, 27700, out, None, None, NhsDigitalPolicy(), counts=counts[:10])
    with pytest.raises(DataError, match="2-D"):
        export_cog(values[0], TRANSFORM, 27700, out, None, None, NhsDigitalPolicy(), counts=counts[0])
    with pytest.raises(MissingCrsError):
        export_cog(values, TRANSFORM, None, out, None, None, NhsDigitalPolicy(), counts=counts)
    with pytest.raises(WriterError, match=".tif"):
        export_cog(values, TRANSFORM, 27700, tmp_path / "x.png", None, None, NhsDigitalPolicy(), counts=counts)
    with pytest.raises(DataError, match="nodata value -9999 also occurs"):
        export_cog(np.array([[-9999.0, 1.0]]), TRANSFORM, 27700, out, None, None, NoDisclosureControl("test grid"))
    assert not out.exists()
