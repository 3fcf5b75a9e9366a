"""Issue 3's "Done when": an analyst works through the SYNTHETIC care sample, and afterwards no
raw CHI number exists anywhere on disk except in the original input file.

The analyst opens the sample project, imports the care records against the synthetic
gazetteer (CHI numbers pseudonymised with the key in their user configuration; names and dates
of birth dropped), builds a heat map (``builtins.heatmap``) and a decile summary
(``builtins.aggregate``), exports a GeoPackage, a CSV and a COG under the NHS Digital policy,
saves the project and lets it autosave (beside the project, and an untitled one in the user
configuration).  Then EVERY file written (project folder, exports, the user configuration,
cache and temporary folders) is scanned for every CHI value of the input: as text (also
without its leading zeros), as UTF-16 (both byte orders) and as a binary integer or double
(as SQLite and GeoTIFF would store a CHI column turned into numbers).  A control test shows
the scan finds them when pseudonymisation is switched off.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_surveys" / "trafford"
CARE = SAMPLE / "synthetic" / "SYNTHETIC_care_packages.csv"
GAZETTEER = SAMPLE / "synthetic" / "SYNTHETIC_trafford_uprn_gazetteer.csv"
LSOA = SAMPLE / "lsoa11_imd2019.gpkg"
PROJECT = SAMPLE / "trafford.gdesk"


# --- the scanner ---------------------------------------------------------------------------


class IdentifierScanner:
    """Finds any of a set of identifiers (digit strings) in a file's bytes."""

    def __init__(self, values) -> None:
        values = [str(v) for v in values if str(v).strip()]
        self.text = set(values) | {v.lstrip("0") for v in values}
        self.numbers = np.array(sorted({int(v) for v in values}), dtype=np.int64)
        self.doubles = self.numbers.astype(np.float64)

    def find(self, data: bytes) -> set[str]:
        """The identifiers present in ``data``, each with how it was written ('text:', 'utf-16:',
        'int:', 'double:').  In text files an identifier must be a whole digit run (a CHI inside
        a longer number is not one); in binary files (SQLite, TIFF) any digit run is searched
        within, because SQLite stores a row's text fields side by side without separators."""
        binary = b"\x00" in data or not _is_utf8(data)
        found = {f"text:{hit}" for run in re.findall(rb"\d{9,}", data) for hit in self._hits(run.decode(), binary)}
        for pattern in (rb"(?:\d\x00){9,}", rb"(?:\x00\d){9,}"):
            for run in re.findall(pattern, data):
                found |= {f"utf-16:{hit}" for hit in self._hits(run.replace(b"\x00", b"").decode(), binary)}
        return found | self._binary(data)

    def _hits(self, run: str, within: bool) -> set[str]:
        if not within:
            return {run} & self.text
        return {run[i:i + n] for n in (9, 10) for i in range(len(run) - n + 1)} & self.text

    def _binary(self, data: bytes) -> set[str]:
        raw = np.frombuffer(data, dtype=np.uint8).astype(np.int64)
        found: set[str] = set()
        if len(raw) >= 6:  # 6-byte windows: a 10-digit number as a SQLite or 8-byte integer, either order
            n = len(raw) - 5
            big = sum(raw[k:k + n] << (8 * (5 - k)) for k in range(6))
            little = sum(raw[k:k + n] << (8 * k) for k in range(6))
            for value in np.concatenate([big, little])[np.isin(np.concatenate([big, little]), self.numbers)]:
                found.add(f"int:{value}")
        for order in ("<f8", ">f8"):
            for offset in range(8):
                usable = (len(data) - offset) // 8
                if usable <= 0:
                    continue
                view = np.frombuffer(data, dtype=order, count=usable, offset=offset)
                for value in view[np.isin(view, self.doubles)]:
                    found.add(f"double:{int(value)}")
        return found

    def scan(self, folders) -> dict[Path, set[str]]:
        """Every file under ``folders`` -> the identifiers found in it (only files with any)."""
        hits: dict[Path, set[str]] = {}
        for folder in folders:
            for path in sorted(Path(folder).rglob("*")):
                if path.is_file():
                    found = self.find(path.read_bytes())
                    if found:
                        hits[path] = found
        return hits


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.fixture(scope="module")
def raw_chi() -> list[str]:
    values = pd.read_csv(CARE, dtype=str, keep_default_na=False)["CHI"]
    return [v for v in values if v]


@pytest.fixture
def places(tmp_path, monkeypatch):
    """The analyst's folders; caches and temporary files of this run are kept in tmp_path too."""
    folders = {name: tmp_path / name for name in ("project", "exports", "cache", "tmp", "home")}
    for folder in folders.values():
        folder.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(folders["cache"]))
    monkeypatch.setenv("HOME", str(folders["home"]))
    monkeypatch.setenv("TMPDIR", str(folders["tmp"]))
    monkeypatch.setattr(tempfile, "tempdir", str(folders["tmp"]))
    folders["config"] = Path(os.environ["GIS_DESK_CONFIG_DIR"])  # the per-test user configuration
    return folders


def test_the_scanner_finds_identifiers_in_every_form(raw_chi):
    scanner = IdentifierScanner(raw_chi)
    with_zero = next(v for v in raw_chi if v.startswith("0"))
    assert scanner.find(CARE.read_bytes()) >= {f"text:{v}" for v in raw_chi}
    assert scanner.find(f"x{with_zero.lstrip('0')}y".encode()) == {f"text:{with_zero.lstrip('0')}"}
    assert scanner.find(raw_chi[0].encode("utf-16-le")) == {f"utf-16:{raw_chi[0]}"}
    assert scanner.find(raw_chi[0].encode("utf-16-be")) == {f"utf-16:{raw_chi[0]}"}
    assert scanner.find(b"\x01" + int(raw_chi[1]).to_bytes(6, "big")) == {f"int:{int(raw_chi[1])}"}
    assert scanner.find(np.array([float(raw_chi[2])], ">f8").tobytes()) == {f"double:{int(raw_chi[2])}"}
    assert not scanner.find(f"{raw_chi[0]}7 p_{raw_chi[0][:5]}".encode())  # part of a longer number...
    assert scanner.find(f"\x00SYN-00001{raw_chi[0]}7".encode()) == {f"text:{raw_chi[0]}"}  # ...in binary too


def test_the_scan_catches_raw_identifiers_when_pseudonymisation_is_off(tmp_path, raw_chi):
    from gis_desk.io.gazetteer import import_gazetteer
    from gis_desk.io.records import import_records
    from gis_desk.processing.algorithm import write_vector_output

    store = tmp_path / "gazetteer.uprn"
    import_gazetteer(GAZETTEER, store)
    dataset, _ = import_records(CARE, store, pseudonymise=False)
    write_vector_output(dataset.frame, tmp_path / "raw.gpkg")
    hits = IdentifierScanner(raw_chi).scan([tmp_path])
    assert tmp_path / "raw.gpkg" in hits and len(hits[tmp_path / "raw.gpkg"]) > 1000


def test_no_raw_chi_anywhere_after_the_analysts_work(places, raw_chi):
    import geopandas as gpd
    import pyogrio
    import rasterio

    from gis_desk.analysis.disclosure import NhsDigitalPolicy
    from gis_desk.analysis.kde import kde
    from gis_desk.core.autosave import autosave_dir, write_autosave
    from gis_desk.core.project import Project
    from gis_desk.io.exports import export_csv, export_geopackage, export_heatmap
    from gis_desk.io.records import import_records
    from gis_desk.processing.algorithms.aggregate import Aggregate
    from gis_desk.processing.algorithms.heatmap import Heatmap
    from gis_desk.processing.algorithm import write_vector_output
    from gis_desk.processing.algorithms.uprn import ImportGazetteer, JoinRecords
    from gis_desk.processing.parameters import _temporary_output_folder
    from gis_desk.processing.run import run_algorithm
    from gis_desk.session import Session

    project_dir, exports = places["project"], places["exports"]
    policy = NhsDigitalPolicy()

    # Open the sample; import the gazetteer and the care records (pseudonymised, personal columns dropped).
    session = Session()
    session.open(PROJECT)
    store = run_algorithm(ImportGazetteer(), {"input": str(GAZETTEER),
                                              "store": str(project_dir / "trafford.uprn")})["store"]
    records, report = import_records(CARE, store, pseudonymise=True, drop_columns=["client_name", "date_of_birth"])
    assert report.matched == 2865 and report.pseudonymised and report.identifier_columns == {"CHI": "chi"}
    report.write_unmatched(project_dir / "care_unmatched.csv")
    (project_dir / "care_match_report.txt").write_text(report.summary_text())
    write_vector_output(records.frame, project_dir / "care_records.gpkg")  # the working layer, kept as a file
    joined = run_algorithm(JoinRecords(), {"input": str(CARE), "gazetteer": store, "drop_columns": "client_name",
                                           "output": str(project_dir / "care_joined.gpkg")})
    assert joined["matched"] == report.matched
    care_layer = session.layer_for(records, name="Care packages")
    session.add_layers([care_layer])

    # Heat map (working raster) and decile summary (working layer + CSV) through the algorithms.
    heat = run_algorithm(Heatmap(), {"input": records, "radius_m": 500, "pixel_size_m": 50,
                                     "output": str(project_dir / "care_heat.tif")})
    aggregated = run_algorithm(Aggregate(), {"points": records, "areas": str(LSOA), "area_id": "LSOA11CD",
                                             "output": str(project_dir / "care_by_lsoa.gpkg")})
    assert aggregated["assigned"] == 2865 and aggregated["decile_summary"]
    session.open(heat["output"])
    session.open(aggregated["output"])

    # Exports under the NHS Digital policy: GeoPackage (styled), decile CSV, COG of the heat map.
    by_lsoa = gpd.read_file(aggregated["output"])
    gpkg = export_geopackage(by_lsoa[["LSOA11CD", "IMD_decile", "count", "geometry"]], exports / "care_by_lsoa.gpkg",
                             layer="care_by_lsoa", style=None, policy=policy, export_log=session.project,
                             count_columns=["count"])
    deciles = pd.read_csv(aggregated["decile_summary"]).dropna(subset=["decile"])
    csv_export = export_csv(deciles[["decile", "areas", "count"]], exports / "care_by_decile.csv", policy,
                            count_columns=["count"], export_log=session.project)
    points = np.column_stack([records.frame.geometry.x, records.frame.geometry.y])
    density = kde(points[~np.isnan(points).any(axis=1)], 500, 50, crs="EPSG:27700", return_counts=True)
    cog = export_heatmap(density, exports / "care_heat_cog.tif", None, policy, export_log=session.project)

    # Save the project, then change it and let it autosave; an untitled window autosaves too.
    session.save(project_dir / "care.gdesk")
    session.set_layer_property(care_layer, "name", "Care packages (pseudonymised)")
    session.project.mark_dirty()
    beside = write_autosave(session.project)
    untitled = Project()
    untitled.layers.append(session.layer_for(records, name="Care packages"))
    untitled.mark_dirty()
    in_config = write_autosave(untitled)
    assert beside and beside.parent == project_dir and in_config and in_config.parent == autosave_dir()
    assert len(session.project.export_log) == 3

    # The scan: every file written anywhere, for every CHI of the input in any form.
    folders = [places[name] for name in ("project", "exports", "cache", "tmp", "home", "config")]
    folders.append(_temporary_output_folder())
    written = [p for folder in folders for p in Path(folder).rglob("*") if p.is_file()]
    assert len(written) >= 20 and CARE not in written
    hits = IdentifierScanner(raw_chi).scan(folders)
    assert not hits, f"raw CHI numbers on disk: { {str(p): sorted(v)[:3] for p, v in hits.items()} }"
    # ... while the pseudonyms are there: the project's layer and the unmatched rows hold tokens
    unmatched = pd.read_csv(project_dir / "care_unmatched.csv", dtype=str, keep_default_na=False)
    assert unmatched["CHI"].str.match(r"^(p_[0-9a-f]{16})?$").all()

    # Small counts are suppressed in every export (NHS Digital: none of 1..7 published).
    published = pyogrio.read_dataframe(gpkg.path, layer="care_by_lsoa")["count"]
    values = published.dropna().to_numpy()
    assert not ((values >= 1) & (values <= 7)).any() and (values % 5 == 0).all()
    table = pd.read_csv(csv_export.path, dtype=str, keep_default_na=False)
    numbers = pd.to_numeric(table["count"], errors="coerce").dropna()
    assert not numbers.between(1, 7).any()
    with rasterio.open(cog.path) as src:
        band = src.read(1, masked=True)
        assert src.tags().get("DISCLOSURE_POLICY") or any("NHS" in str(v) for v in src.tags().values())
    reached_by_few = (density.counts > 0) & (density.counts < policy.min_count)
    assert reached_by_few.any() and band.mask[reached_by_few].all()
    assert not band.mask[density.counts >= policy.min_count].any()

    # The exported GeoPackage opens styled in QGIS: a default style row for its layer.
    with sqlite3.connect(gpkg.path) as db:
        rows = db.execute("SELECT f_table_name, useAsDefault, styleQML FROM layer_styles").fetchall()
    assert [(r[0], bool(r[1])) for r in rows] == [("care_by_lsoa", True)] and "<qgis" in rows[0][2]
