"""Estates: register import with its report, the portfolio store, views, brochures."""

from __future__ import annotations

import json
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Point

from gis_desk.errors import DataError, MissingFileError, ParameterError
from gis_desk_estates.brochure import build_brochure, build_bundle, key_facts, location_map_png
from gis_desk_estates.portfolio import ConditionSurvey, Portfolio, filter_mask, lease_expiry_days, read_portfolio
from gis_desk_estates.register import import_register

SAMPLE = Path(__file__).resolve().parents[3] / "sample_surveys" / "trafford"
REGISTER = SAMPLE / "trafford_land_and_building_assets.csv"

HEADER = ("UPRN,AssetCode,PropertyName,StreetNumber,StreetName,PostTown,PostCode,CoordinateReferenceSystem,"
          "GeoX,GeoY,TenureType,TenureDetail,OtherDetail,HoldingType,BuildingSize,LandArea,EnergyRating\n")


def small_register(tmp_path) -> Path:
    rows = [
        "100012797623,A1,Town Hall,1,Market Street,Altrincham,WA14 1PF,WGS84,-2.3520922,53.3879587,Freehold,Owner Occupied,,Buildings,415.05,,E",
        ",A2,Depot,,Mill Lane,Sale,M33 1AA,WGS84,53.42,-2.32,Freehold,Vacant,,Land,,1.5,",   # lat/lon swapped
        "100012700001,A3,Library,,High St,Sale,M33 2BB,,,,Freehold,Leasehold Out,,Buildings,300,,C",  # UPRN only
        ",A4,Allotments,,,Urmston,M41,,,,Freehold,Other,Managed allotments,Land,,,",               # nothing
        "12ab,A5,Kiosk,,,Sale,M33,OSGB36,378000,392000,Leasehold,Leasehold In,,Buildings,10,,",   # bad UPRN, BNG
    ]
    path = tmp_path / "register.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


class FakeGazetteer:
    def __init__(self, table):
        self.table = table

    def lookup(self, uprns):
        uprns = np.asarray(uprns)
        found = np.array([u in self.table for u in uprns])
        x = np.array([self.table.get(u, (np.nan, np.nan))[0] for u in uprns])
        y = np.array([self.table.get(u, (np.nan, np.nan))[1] for u in uprns])
        return found, x, y


def test_small_register_report_counts_every_case(tmp_path):
    gaz = FakeGazetteer({100012700001: (377100.0, 392900.0)})
    frame, report = import_register(small_register(tmp_path), gazetteer=gaz, area_bounds=(370000, 385000, 386000, 400000))
    assert len(frame) == 5 and report.rows == 5
    assert report.placed_by_coordinates == 3 and report.placed_by_uprn == ["A3"] and report.unplaced == ["A4"]
    assert report.swapped_coordinates == ["A2"]
    assert report.with_uprn == 2 and report.without_uprn == ["A2", "A4"] and report.invalid_uprn == ["A5"]
    assert report.without_coordinates == ["A3", "A4"]
    a2 = frame.geometry[1]
    assert 378000 < a2.x < 379500 and 391500 < a2.y < 393500  # Sale, after the swap
    assert frame.geometry[2].equals(Point(377100, 392900))
    assert frame.geometry[3] is None
    assert frame.geometry[4].equals(Point(378000, 392000))   # BNG kept as metres
    assert list(frame["status"]) == ["held", "vacant", "leased", "held", "held"]
    assert frame.loc[0, "uprn"] == 100012797623
    text = " ".join(report.lines())
    assert "5 properties read" in text and "1 had latitude and longitude swapped" in text
    assert "1 have neither usable coordinates nor a UPRN" in text


def test_real_trafford_register(tmp_path):
    import geopandas as gpd

    lsoa = gpd.read_file(SAMPLE / "lsoa11_imd2019.gpkg")
    frame, report = import_register(REGISTER, area_bounds=tuple(lsoa.total_bounds))
    assert report.rows == 608 == len(frame)
    # counted independently from the raw file: 336 blank UPRNs, 235 rows without coordinates
    assert len(report.without_uprn) == 336 and len(report.without_coordinates) == 235
    assert report.placed_by_coordinates == 373 and len(report.unplaced) == 235
    assert report.swapped_coordinates == ["TMBC0396/P0000036"]
    placed = frame[frame.geometry.notna()]
    inside = placed[~placed["outside_area"]]
    assert len(inside) >= 360  # all but a handful lie within Trafford's LSOAs' extent
    assert sorted(frame["status"].unique()) == ["held", "leased", "vacant"]


def test_missing_columns_and_files_are_named(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n")
    with pytest.raises(DataError, match="asset_code or name") as caught:
        import_register(bad)
    assert Path(caught.value.path).name == "bad.csv"
    with pytest.raises(MissingFileError):
        import_register(tmp_path / "nope.csv")


def test_portfolio_store_status_lease_and_condition_history(tmp_path):
    frame, report = import_register(small_register(tmp_path))
    p = Portfolio.create(tmp_path / "council", frame, report)
    assert p.path.name == "council.estates.gpkg"
    p.set_status("A2", "for_sale", asking_price=250000)
    p.set_status("A3", "leased", lease_expiry="31/03/2027", tenant="Library Trust")
    p.add_condition_survey(ConditionSurvey("A1", "2023-05-01", "b", "roof slates slipped", "JS"))
    p.add_condition_survey(ConditionSurvey("A1", "2025-05-01", "C", "gutter failing", "JS", photos=("a.jpg",)))
    with pytest.raises(ParameterError):
        p.add_condition_survey(ConditionSurvey("A1", "2025-05-01", "E"))
    with pytest.raises(ParameterError):
        p.set_status("A1", "sold")
    with pytest.raises(ParameterError):
        p.set_status("ZZ", "held")
    p.save()

    q = Portfolio.open(p.path)
    assert q.properties.loc[q.row("A3"), "lease_expiry"] == "2027-03-31"
    assert q.properties.loc[q.row("A2"), "asking_price"] == 250000
    h = q.history("A1")
    assert list(h["grade"]) == ["B", "C"] and h.loc[1, "photos"] == ["a.jpg"]
    assert q.latest_grades()["A1"] == "C"
    assert q.report["placed_by_coordinates"] == 3 and q.report["unplaced"] == ["A3", "A4"]
    assert len(q.properties) == 5  # the unplaced row is kept

    [ds] = read_portfolio(p.path)
    assert len(ds.frame) == 3 and ds.frame.set_index("asset_code").loc["A1", "condition"] == "C"


def test_views_filter_by_status_expiry_and_disposal(tmp_path):
    frame, _ = import_register(small_register(tmp_path))
    frame.loc[0, "lease_expiry"] = "2026-03-01"
    frame.loc[2, "lease_expiry"] = "2030-01-01"
    frame.loc[4, "lease_expiry"] = "2025-12-01"  # already expired
    today = date(2025, 12, 31)
    days = lease_expiry_days(frame, today)
    assert days[0] == 60 and days[4] == -30 and np.isnan(days[1])
    assert filter_mask(frame, expiring_within_days=365, today=today).tolist() == [True, False, False, False, True]
    assert filter_mask(frame, statuses=["vacant"]).tolist() == [False, True, False, False, False]
    frame.loc[3, "status"] = "for_sale"
    assert filter_mask(frame, disposal=True).tolist() == [False, True, False, True, False]


def test_a_broken_portfolio_is_named(tmp_path):
    bad = tmp_path / "x.estates.gpkg"
    bad.write_text("not a geopackage")
    with pytest.raises(Exception) as caught:
        Portfolio.open(bad)
    assert "x.estates.gpkg" in str(caught.value)


def test_brochure_and_bundle(tmp_path):
    import subprocess

    from PIL import Image

    from gis_desk.session import Session

    frame, _ = import_register(small_register(tmp_path))
    prop = frame.iloc[1].copy()
    with pytest.raises(ParameterError, match="not for sale or to let"):
        build_brochure(prop, tmp_path / "x.pdf")
    prop["status"], prop["asking_price"] = "for_sale", 250000
    facts = dict(key_facts(prop))
    assert facts["Guide price"] == "£250,000" and facts["Site area"] == "1.50 ha (3.71 acres)"
    session = Session()
    layers = session.open(SAMPLE / "basemap.gpkg")
    map_png = location_map_png(layers, prop.geometry, tmp_path / "map.png", size=(600, 400))
    stills = []
    for i, colour in enumerate([(90, 140, 60), (120, 120, 160), (160, 110, 80)]):
        stills.append(tmp_path / f"still{i}.jpg")
        Image.new("RGB", (800, 600), colour).save(stills[-1])
    pdf = build_brochure(prop, tmp_path / "depot.pdf", map_png=map_png, stills=stills,
                         captions=["Looking north", "The yard", "Access road"], council="Trafford Council")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "FOR SALE" in text and "Depot" in text and "£250,000" in text
    assert all(c in text for c in ("Looking north", "The yard", "Access road"))
    bundle = build_bundle(prop, pdf, stills, tmp_path / "depot.zip")
    with zipfile.ZipFile(bundle) as zf:
        assert sorted(zf.namelist()) == ["README.txt", "brochure.pdf", "images/still0.jpg", "images/still1.jpg",
                                         "images/still2.jpg", "property.geojson"]
        lon, lat = json.loads(zf.read("property.geojson"))["features"][0]["geometry"]["coordinates"]
        assert abs(lat - 53.42) < 1e-6 and abs(lon + 2.32) < 1e-6
