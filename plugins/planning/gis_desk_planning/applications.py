"""Planning applications: import, the register GeoPackage the team keeps, constraint checks.

An application has a reference, address, UPRN, site boundary, proposal, status, decision and
committee date.  Lists come from the back-office system as CSV (often without geometry) or as
GeoPackage/GeoJSON with boundaries.  Rows without a boundary are placed by UPRN through the
gazetteer (as a point: the officer then draws the boundary); the ``ImportReport`` says which.

The register (``*.planning.gpkg``) holds ``applications`` plus ``officer_notes`` (dated, per
application, never overwritten) and ``key_frames`` (chosen video moments with captions for the
committee pack).  Saving writes a new file and swaps it in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_desk.analysis.uprn import parse_uprns
from gis_desk.core.style import CategorisedStyle, Category, LabelSettings, Symbol
from gis_desk.errors import CorruptFileError, DataError, MissingFileError, ParameterError, ReaderError
from gis_desk.io.atomic import atomic_path

BNG = "EPSG:27700"
SUFFIX = ".planning.gpkg"
APPLICATIONS, NOTES, FRAMES = "applications", "officer_notes", "key_frames"
FIELDS = ("reference", "address", "uprn", "proposal", "status", "decision", "committee_date")
STATUSES = ("received", "validated", "under consideration", "committee", "decided", "withdrawn", "appeal")
STATUS_COLOURS = {"received": "#9ecae1ff", "validated": "#6baed6ff", "under consideration": "#3182bdff",
                  "committee": "#e6550dff", "decided": "#31a354ff", "withdrawn": "#969696ff", "appeal": "#756bb1ff"}
NOTE_COLUMNS = ["reference", "written_at", "author", "text"]
FRAME_COLUMNS = ["reference", "video", "time_s", "caption", "x", "y"]
_ALIASES = {
    "reference": ("reference", "ref", "applicationreference", "applicationnumber", "caseref", "keyval"),
    "address": ("address", "siteaddress", "location"),
    "uprn": ("uprn",),
    "proposal": ("proposal", "description", "developmentdescription"),
    "status": ("status", "applicationstatus"),
    "decision": ("decision", "decisiontype"),
    "committee_date": ("committeedate", "committee", "meetingdate"),
}


@dataclass
class ImportReport:
    source: str
    rows: int = 0
    with_boundary: int = 0
    placed_by_uprn: list[str] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)
    invalid_uprn: list[str] = field(default_factory=list)
    duplicate_references: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"{self.rows:,} applications read from {Path(self.source).name}: {self.with_boundary:,} with a site "
               f"boundary, {len(self.placed_by_uprn):,} placed by UPRN (a point: draw the boundary), "
               f"{len(self.unplaced):,} not placed."]
        if self.unplaced:
            out.append("Not placed (no boundary and no UPRN the gazetteer holds): " + ", ".join(self.unplaced[:8])
                       + ("…" if len(self.unplaced) > 8 else ""))
        if self.invalid_uprn:
            out.append(f"{len(self.invalid_uprn):,} invalid UPRNs: " + ", ".join(self.invalid_uprn[:8]))
        if self.duplicate_references:
            out.append("References given more than once: " + ", ".join(self.duplicate_references[:8]))
        return out


def _norm(text: str) -> str:
    return "".join(ch for ch in str(text).lower() if ch.isalnum())


def _read_table(path: Path) -> gpd.GeoDataFrame | pd.DataFrame:
    import pyogrio

    if not path.exists():
        raise MissingFileError("The applications file does not exist", path=path)
    try:
        if path.suffix.lower() in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        if path.suffix.lower() in (".xlsx", ".xls"):
            return pd.read_excel(path, dtype=str).fillna("")
        return pyogrio.read_dataframe(path)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ReaderError(f"The applications file could not be read: {exc}", path=path) from exc
    except Exception as exc:  # noqa: BLE001 - GDAL's errors for damaged GeoPackage/GeoJSON
        raise CorruptFileError(f"The applications file could not be read: {exc}", path=path) from exc


def import_applications(path: str | Path, *, gazetteer=None, columns: dict[str, str] | None = None
                        ) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Applications from CSV/XLSX (no geometry) or GeoPackage/GeoJSON (boundaries), in BNG."""
    path = Path(path)
    raw = _read_table(path)
    report = ImportReport(str(path), rows=len(raw))
    by_norm = {_norm(c): c for c in raw.columns if c != "geometry"}
    cols = {role: next(by_norm[a] for a in names if a in by_norm) for role, names in _ALIASES.items()
            if any(a in by_norm for a in names)}
    cols.update(columns or {})
    if "reference" not in cols:
        raise DataError("The applications file has no reference column", path=path,
                        hint="name it 'reference' (or map the column)")
    if not len(raw):
        raise DataError("The applications file has no rows", path=path)
    report.columns = cols
    out = pd.DataFrame({f: raw[cols[f]].fillna("").astype(str).str.strip() if f in cols else ""
                        for f in FIELDS if f != "uprn"})
    refs = out["reference"]
    report.duplicate_references = sorted(set(refs[refs.duplicated() & (refs != "")]))
    if "uprn" in cols:
        parsed = parse_uprns(raw[cols["uprn"]])
        out["uprn"] = np.where(parsed.valid, parsed.uprn, 0).astype("int64")
        text = raw[cols["uprn"]].fillna("").astype(str).str.strip()
        report.invalid_uprn = refs[(~parsed.valid) & (text != "").to_numpy()].tolist()
    else:
        out["uprn"] = np.zeros(len(out), "int64")
    out["status"] = [s.lower() if s.lower() in STATUSES else ("received" if not s else s.lower())
                     for s in out["status"]]

    geoms = np.full(len(out), None, dtype=object)
    if isinstance(raw, gpd.GeoDataFrame) and raw.geometry is not None:
        g = raw.geometry if raw.crs is None else raw.geometry.to_crs(BNG)
        if raw.crs is None and len(g.dropna()) and abs(g.dropna().iloc[0].centroid.x) <= 180:
            raise DataError("The applications' boundaries have no CRS and are not in metres", path=path,
                            hint="save them with a CRS (British National Grid or WGS84)")
        ok = (~g.isna() & ~g.is_empty).to_numpy()
        geoms[ok] = g.to_numpy()[ok]
    report.with_boundary = int(sum(g is not None for g in geoms))
    if gazetteer is not None:
        need = np.array([g is None for g in geoms]) & (out["uprn"].to_numpy() > 0)
        if need.any():
            found, x, y = gazetteer.lookup(out["uprn"].to_numpy()[need])
            idx = np.flatnonzero(need)[found]
            geoms[idx] = shapely.points(x[found], y[found])
            report.placed_by_uprn = refs.to_numpy()[idx].tolist()
    report.unplaced = refs[[g is None for g in geoms]].tolist()
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(list(geoms), crs=BNG), crs=BNG), report


class PlanningRegister:
    def __init__(self, path: Path, applications: gpd.GeoDataFrame, notes: pd.DataFrame, frames: pd.DataFrame):
        self.path = Path(path)
        self.applications = applications
        self.notes = notes
        self.frames = frames

    @classmethod
    def create(cls, path: str | Path, applications: gpd.GeoDataFrame) -> "PlanningRegister":
        path = Path(path)
        if not path.name.endswith(SUFFIX):
            path = path.with_name(path.name.removesuffix(".gpkg") + SUFFIX)
        reg = cls(path, applications.reset_index(drop=True), pd.DataFrame(columns=NOTE_COLUMNS),
                  pd.DataFrame(columns=FRAME_COLUMNS))
        reg.save()
        return reg

    @classmethod
    def open(cls, path: str | Path) -> "PlanningRegister":
        import pyogrio

        path = Path(path)
        if not path.exists():
            raise MissingFileError("The planning register does not exist", path=path)
        try:
            layers = {name for name, _ in pyogrio.list_layers(path)}
        except Exception as exc:  # noqa: BLE001
            raise CorruptFileError(f"The planning register is not a readable GeoPackage: {exc}", path=path) from exc
        if APPLICATIONS not in layers:
            raise DataError("This GeoPackage is not a planning register (no 'applications' layer)", path=path)
        apps = pyogrio.read_dataframe(path, layer=APPLICATIONS)
        apps.loc[apps.geometry.is_empty, "geometry"] = None
        for f in FIELDS:
            if f not in apps.columns:
                raise DataError(f"The planning register has no '{f}' field", path=path)
        apps["committee_date"] = apps["committee_date"].fillna("").astype(str)

        def table(name, columns):
            if name not in layers:
                return pd.DataFrame(columns=columns)
            t = pyogrio.read_dataframe(path, layer=name)
            return t.drop(columns=[c for c in t.columns if c == "geometry"])

        frames = table(FRAMES, FRAME_COLUMNS)
        for c in ("time_s", "x", "y"):
            frames[c] = pd.to_numeric(frames[c], errors="coerce")
        return cls(path, apps, table(NOTES, NOTE_COLUMNS), frames)

    def save(self) -> Path:
        import pyogrio

        with atomic_path(self.path, "the planning register") as tmp:
            pyogrio.write_dataframe(self.applications, tmp, layer=APPLICATIONS, driver="GPKG",
                                    geometry_type="Unknown", promote_to_multi=False)
            for name, frame, columns in ((NOTES, self.notes, NOTE_COLUMNS), (FRAMES, self.frames, FRAME_COLUMNS)):
                data = frame if len(frame) else pd.DataFrame({c: pd.Series(dtype=str) for c in columns})
                pyogrio.write_dataframe(data, tmp, layer=name, driver="GPKG")
        return self.path

    # -- edits -----------------------------------------------------------------------------------
    def row(self, reference: str) -> int:
        hits = np.flatnonzero(self.applications["reference"].to_numpy() == reference)
        if not len(hits):
            raise ParameterError(f"No application has the reference {reference!r}")
        return int(hits[0])

    def update(self, reference: str, **values: Any) -> None:
        i = self.row(reference)
        for key, value in values.items():
            if key not in FIELDS or key == "reference":
                raise ParameterError(f"{key!r} is not an editable application field")
            if key == "status" and value not in STATUSES:
                raise ParameterError(f"Unknown status {value!r}", hint="one of " + ", ".join(STATUSES))
            if key == "committee_date" and value:
                value = datetime.strptime(str(value), "%Y-%m-%d").strftime("%Y-%m-%d")
            self.applications.loc[i, key] = value

    def set_boundary(self, reference: str, boundary) -> None:
        if boundary is None or boundary.is_empty or boundary.geom_type not in ("Polygon", "MultiPolygon"):
            raise ParameterError("A site boundary must be a polygon")
        if not boundary.is_valid:
            boundary = shapely.make_valid(boundary)
        self.applications.loc[self.row(reference), "geometry"] = boundary

    def add_note(self, reference: str, text: str, author: str = "") -> None:
        self.row(reference)
        if not text.strip():
            raise ParameterError("The note is empty")
        note = {"reference": reference, "written_at": datetime.now().isoformat(timespec="seconds"),
                "author": author, "text": text.strip()}
        self.notes = pd.concat([self.notes, pd.DataFrame([note])], ignore_index=True)

    def notes_for(self, reference: str) -> pd.DataFrame:
        return self.notes[self.notes["reference"] == reference].sort_values("written_at").reset_index(drop=True)

    def add_key_frame(self, reference: str, video: str, time_s: float, caption: str, x: float = np.nan,
                      y: float = np.nan) -> None:
        self.row(reference)
        frame = {"reference": reference, "video": str(video), "time_s": float(time_s), "caption": caption,
                 "x": float(x), "y": float(y)}
        self.frames = pd.concat([self.frames, pd.DataFrame([frame])], ignore_index=True)

    def key_frames_for(self, reference: str) -> pd.DataFrame:
        return self.frames[self.frames["reference"] == reference].sort_values("time_s").reset_index(drop=True)

    def on_committee(self, committee_date: str) -> gpd.GeoDataFrame:
        return self.applications[self.applications["committee_date"] == committee_date]


# -- constraints ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConstraintHit:
    layer: str
    feature: str
    relation: str        # 'within the site' | 'overlaps the site' | 'within N m'
    overlap_m2: float
    distance_m: float


def check_constraints(site, designations: dict[str, gpd.GeoDataFrame], *, buffer_m: float = 50.0,
                      name_fields: tuple[str, ...] = ("name", "NAME", "Name", "list_entry", "ListEntry")
                      ) -> list[ConstraintHit]:
    """Designations (conservation areas, listed buildings, TPOs, flood zones...) meeting the site
    or within ``buffer_m`` of it; ``designations`` maps a layer title to its features (any CRS)."""
    hits: list[ConstraintHit] = []
    grown = site.buffer(buffer_m)
    for title, frame in designations.items():
        if frame.crs is not None and frame.crs != BNG:
            frame = frame.to_crs(BNG)
        near = frame[frame.geometry.intersects(grown)]
        name_col = next((c for c in name_fields if c in frame.columns), None)
        for i, row in near.iterrows():
            g = row.geometry
            overlap = float(g.intersection(site).area) if g.geom_type.endswith("Polygon") else 0.0
            dist = float(g.distance(site))
            if overlap > 0 and g.contains(site):
                relation = "the site lies within it"
            elif overlap > 0 or (dist == 0):
                relation = "within the site" if site.contains(g) else "overlaps the site"
            else:
                relation = f"within {buffer_m:g} m ({dist:.0f} m away)"
            hits.append(ConstraintHit(title, str(row[name_col]) if name_col else f"feature {i}", relation,
                                      overlap, dist))
    return sorted(hits, key=lambda h: (h.distance_m, h.layer))


def status_style() -> CategorisedStyle:
    cats = [Category(value=s, symbol=Symbol(fill=STATUS_COLOURS[s][:7] + "55", stroke=STATUS_COLOURS[s],
                                            stroke_width=2.0, size=9.0), label=s.capitalize()) for s in STATUSES]
    return CategorisedStyle(field="status", categories=cats, other=Symbol(fill="#ffffff55", stroke="#444444ff"),
                            labels=LabelSettings(field="reference", size=8.0))


def read_register(path, **options) -> list:
    """Reader ``planning.read_register``: the register's placed applications as a vector layer."""
    from gis_desk.core.datasets import DataSource, VectorDataset

    reg = PlanningRegister.open(path)
    frame = reg.applications[~reg.applications.geometry.isna()].copy()
    frame["has_boundary"] = frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    return [VectorDataset(DataSource(str(Path(path).resolve()), "planning.read_register", {}), frame,
                          driver="Planning register")]
