"""Planning: applications import, register, constraints, site media, committee pack, clip bundle."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from shapely.geometry import Point, box

from gis_desk.errors import DataError, MissingFileError, ParameterError
from gis_desk.session import Session
from gis_desk_planning.applications import PlanningRegister, check_constraints, import_applications, read_register
from gis_desk_planning.committee import build_clip_bundle, build_committee_pack
from gis_desk_planning.review import clip_bookmarks, pack_entry, site_media
from planning_data import FPS, GAZETTEER, SITE_A, designations, write_applications_csv, write_boundaries, write_flight


def test_csv_without_geometry_is_placed_by_uprn(tmp_path):
    frame, report = import_applications(write_applications_csv(tmp_path / "apps.csv"), gazetteer=GAZETTEER)
    assert list(frame["reference"]) == ["24/0001/FUL", "24/0002/HHA", "24/0003/OUT", "24/0004/FUL"]
    assert report.placed_by_uprn == ["24/0001/FUL", "24/0002/HHA"] and report.with_boundary == 0
    assert report.unplaced == ["24/0003/OUT", "24/0004/FUL"] and report.invalid_uprn == ["24/0004/FUL"]
    assert frame.geometry[0].equals(Point(378030, 392025))
    assert frame.loc[0, "address"] == "1 Mill Lane Sale" and frame.loc[0, "committee_date"] == "2025-02-12"
    assert "2 placed by UPRN" in " ".join(report.lines())


def test_geojson_with_boundaries(tmp_path):
    frame, report = import_applications(write_boundaries(tmp_path / "sites.geojson"))
    assert report.with_boundary == 2 and report.unplaced == []
    assert frame.geometry[0].equals(SITE_A)


def test_bad_inputs_name_the_file(tmp_path):
    bad = tmp_path / "apps.csv"
    bad.write_text("foo,bar\n1,2\n")
    with pytest.raises(DataError, match="no reference column") as caught:
        import_applications(bad)
    assert Path(caught.value.path).name == "apps.csv"
    with pytest.raises(MissingFileError):
        import_applications(tmp_path / "none.csv")
    broken = tmp_path / "x.planning.gpkg"
    broken.write_bytes(b"SQLite format 3\x00 truncated")
    with pytest.raises(Exception, match="x.planning.gpkg"):
        PlanningRegister.open(broken)


def test_register_edits_boundary_notes_and_key_frames_persist(tmp_path):
    frame, _ = import_applications(write_applications_csv(tmp_path / "apps.csv"), gazetteer=GAZETTEER)
    reg = PlanningRegister.create(tmp_path / "sale", frame)
    assert reg.path.name == "sale.planning.gpkg"
    reg.update("24/0001/FUL", status="decided", decision="Approved with conditions")
    with pytest.raises(ParameterError):
        reg.update("24/0001/FUL", status="lost")
    reg.set_boundary("24/0001/FUL", SITE_A)
    with pytest.raises(ParameterError):
        reg.set_boundary("24/0001/FUL", Point(0, 0))
    reg.add_note("24/0001/FUL", "Footage shows the trees on the north edge", "A. Officer")
    reg.add_key_frame("24/0001/FUL", "DJI_0001.MP4", 4.2, "North boundary trees")
    reg.save()
    again = PlanningRegister.open(reg.path)
    row = again.applications.iloc[again.row("24/0001/FUL")]
    assert row["status"] == "decided" and row["decision"] == "Approved with conditions"
    assert row.geometry.equals(SITE_A)
    assert list(again.notes_for("24/0001/FUL")["text"]) == ["Footage shows the trees on the north edge"]
    assert again.key_frames_for("24/0001/FUL").loc[0, "time_s"] == 4.2
    [ds] = read_register(reg.path)
    assert len(ds.frame) == 2 and list(ds.frame["has_boundary"]) == [True, False]


def test_constraints_report_overlaps_and_nearby_features():
    hits = check_constraints(SITE_A, designations(), buffer_m=50)
    text = [f"{h.layer}: {h.feature}: {h.relation}" for h in hits]
    assert text == ["Conservation areas: Sale Town Centre CA: the site lies within it",
                    "Listed buildings: Grade II: The Old Mill: within 50 m (30 m away)"]
    assert hits[0].overlap_m2 == pytest.approx(SITE_A.area)
    assert check_constraints(box(0, 0, 10, 10), designations()) == []


@pytest.fixture
def flight_project(tmp_path):
    video, srt = write_flight(tmp_path)
    session = Session()
    [footage] = session.open(srt)
    return session, footage, video


def test_site_media_finds_the_pass_over_the_site(flight_project):
    session, footage, _ = flight_project
    media = site_media(session.project.layers, SITE_A, distance=0.0)
    [(layer, intervals)] = media.footage
    assert layer is footage and len(intervals) == 1
    # y runs 391900 -> 392150 over 8 s: the site spans y 392000-392050 -> 3.2 s to 4.8 s
    assert intervals[0].start_s == pytest.approx(3.2, abs=0.05) and intervals[0].end_s == pytest.approx(4.8, abs=0.05)
    assert site_media(session.project.layers, box(0, 0, 1, 1)).empty


def test_committee_pack_and_clip_bundle(flight_project, tmp_path):
    from gis_desk.io.video import read_frame_number
    from PIL import Image
    import numpy as np

    session, footage, video = flight_project
    frame, _ = import_applications(write_boundaries(tmp_path / "sites.geojson"))
    frame["committee_date"] = "2025-02-12"
    reg = PlanningRegister.create(tmp_path / "apps", frame)
    reg.add_note("24/0001/FUL", "Trees along the north edge are visible at 4 s.", "A. Officer")
    footage.add_bookmark(4.0, "North edge trees")
    footage.add_bookmark(7.5, "Beyond the site")  # not over the site: not a key frame
    work = tmp_path / "work"
    work.mkdir()
    entries = [pack_entry(reg, ref, session.project.layers, work, designations=designations())
               for ref in reg.on_committee("2025-02-12")["reference"]]
    first = entries[0]
    assert [k.caption for k in first.key_frames] == ["North edge trees"]
    assert read_frame_number(np.asarray(Image.open(first.key_frames[0].png).convert("RGB"))) == round(4.0 * FPS)
    assert first.flights and first.flights[0][0] == "DJI_0001.MP4"
    assert any("Conservation areas" in c for c in first.constraints)
    assert entries[1].key_frames == [] and entries[1].flights == []
    pdf = build_committee_pack(entries, tmp_path / "committee.pdf", title="Planning committee 12 February 2025",
                               council="Trafford Council")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    for needle in ("24/0001/FUL", "24/0002/HHA", "North edge trees", "Trees along the north edge",
                   "Sale Town Centre CA", "Site boundary over the drone orthomosaic"):
        assert needle in text, needle
    bundle = build_clip_bundle(entries, clip_bookmarks([site_media(session.project.layers, SITE_A)]),
                               tmp_path / "bundle.zip", pdf)
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        assert {"index.html", "clips/DJI_0001.MP4", "committee.pdf", "bookmarks.json"} <= names
        assert json.loads(zf.read("bookmarks.json"))["DJI_0001.MP4"][0] == [4.0, "North edge trees"]
        assert "play('DJI_0001.MP4', 4.00)" in zf.read("index.html").decode()
    with pytest.raises(ParameterError):
        build_committee_pack([], tmp_path / "none.pdf")
