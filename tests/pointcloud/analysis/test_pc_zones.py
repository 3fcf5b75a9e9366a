"""Per-element zone statistics on synthetic M3C2 results with known changes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, box

from gis_desk.analysis.dod import dem_of_difference
from gis_desk.analysis.zones import STAT_COLUMNS, zone_statistics
from gis_desk.errors import DataError, ParameterError

LOD = 0.01


@pytest.fixture
def scene():
    """Core points on a 10 x 4 m grid (5 cm spacing) with element-wise changes."""
    xs, ys = np.meshgrid(np.arange(0.025, 10, 0.05), np.arange(0.025, 4, 0.05))
    core = np.c_[xs.ravel(), ys.ravel(), np.zeros(xs.size)]
    rng = np.random.default_rng(7)
    d = rng.normal(0, 0.002, len(core))  # stable noise, well within the LoD
    x, y = core[:, 0], core[:, 1]
    pier = (x < 2)
    spall = pier & (y < 0.6)  # 15% of the pier spalled by 4 cm
    d[spall] = -0.04 + rng.normal(0, 0.002, spall.sum())
    deck = (x >= 2) & (x < 6)
    d[deck] -= 0.012  # uniform sag just beyond the LoD
    outlier_zone = (x >= 6) & (x < 8)
    d[np.flatnonzero(outlier_zone)[0]] = -0.3  # one stray point
    d[(x >= 8) & (y > 2)] = np.nan  # M3C2 found nothing here (no epoch-2 points)
    sig = np.abs(d) > LOD
    zones = gpd.GeoDataFrame(
        {"element": ["Pier 1", "Deck span", "Wing wall", "Abutment", "Missing"], "ref": [1, 2, 3, 4, 5]},
        geometry=[box(0, 0, 2, 4), box(2, 0, 6, 4), box(6, 0, 8, 4), box(8, 0, 10, 4), box(20, 20, 21, 21)],
        crs="EPSG:27700",
    )
    return zones, core, d, sig


def test_zone_statistics(scene):
    zones, core, d, sig = scene
    out = zone_statistics(zones, "element", core, d, sig, dod=None, threshold=0.02)
    assert isinstance(out, gpd.GeoDataFrame) and out.crs.to_epsg() == 27700
    assert list(out["element"]) == list(zones["element"]) and list(out["ref"]) == [1, 2, 3, 4, 5]
    assert out.geometry.equals(zones.geometry)
    assert set(STAT_COLUMNS) <= set(out.columns)
    r = out.set_index("element")
    pier = r.loc["Pier 1"]
    assert pier["n_points"] == 40 * 80
    assert pier["share_exceeding"] == pytest.approx(0.15, abs=0.001)
    assert pier["exceeds"] and pier["status"] == "exceeds"
    assert pier["p95_abs_change_m"] == pytest.approx(0.04, abs=0.005)
    assert abs(pier["median_change_m"]) < 0.002  # the median alone would miss the spalling
    deck = r.loc["Deck span"]
    assert deck["median_change_m"] == pytest.approx(-0.012, abs=0.0005)
    assert deck["share_significant"] > 0.8
    assert not deck["exceeds"] and deck["status"] == "within"  # 12 mm sag under a 20 mm threshold
    wing = r.loc["Wing wall"]
    assert wing["max_abs_change_m"] == pytest.approx(0.3)
    assert not wing["exceeds"]  # one stray point never flags an element
    abut = r.loc["Abutment"]
    assert abut["n_points"] == 40 * 40  # nan distances are not counted
    assert abut["share_significant"] < 0.01 and not abut["exceeds"]
    missing = r.loc["Missing"]
    assert missing["n_points"] == 0 and missing["status"] == "no data" and not missing["exceeds"]
    assert np.isnan(missing["median_change_m"]) and np.isnan(pier["volume_change_m3"])
    # A lower threshold flags the sagging deck.
    low = zone_statistics(zones, "element", core, d, sig, dod=None, threshold=0.01).set_index("element")
    assert low.loc["Deck span", "exceeds"]


def test_zone_volumes_from_dod():
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0, 10, (2, 60_000))
    e1 = np.c_[x, y, np.zeros_like(x)]
    drop = (x < 2) & (y < 2)  # 4 m2 lowered by 10 cm: 0.4 m3 lost
    e2 = e1.copy()
    e2[drop, 2] -= 0.1
    dod = dem_of_difference(e1, e2, cell_size=0.25, lod=0.02)
    zones = gpd.GeoDataFrame({"name": ["A", "half", "none"]},
                             geometry=[box(-1, -1, 3, 3), box(-1, -1, 1, 3), box(5, 5, 9, 9)], crs=27700)
    core = np.c_[x[::50], y[::50], np.zeros(len(x[::50]))]
    out = zone_statistics(zones, "name", core, np.zeros(len(core)), np.zeros(len(core), bool),
                          dod=dod, threshold=0.05).set_index("name")
    assert out.loc["A", "volume_loss_m3"] == pytest.approx(0.4, rel=1e-6)
    assert out.loc["A", "volume_change_m3"] == pytest.approx(-0.4, rel=1e-6)
    assert out.loc["half", "volume_change_m3"] == pytest.approx(-0.2, rel=1e-6)
    assert out.loc["none", "volume_change_m3"] == 0.0


def test_zone_errors(scene):
    zones, core, d, sig = scene
    with pytest.raises(DataError) as err:
        zone_statistics(zones, "name", core, d, sig, threshold=0.02)
    assert "element" in err.value.hint
    with pytest.raises(ParameterError):
        zone_statistics(zones, "element", core, d, sig, threshold=-1)
    with pytest.raises(DataError, match="do not match"):
        zone_statistics(zones, "element", core, d[:-1], sig, threshold=0.02)
    lines = gpd.GeoDataFrame({"element": ["l"]}, geometry=[LineString([(0, 0), (1, 1)])], crs=27700)
    with pytest.raises(DataError, match="not a polygon"):
        zone_statistics(lines, "element", core, d, sig, threshold=0.02)


def test_empty_zones(scene):
    zones, core, d, sig = scene
    out = zone_statistics(zones.iloc[:0], "element", core, d, sig, threshold=0.02)
    assert len(out) == 0 and "exceeds" in out.columns and out.crs == zones.crs
