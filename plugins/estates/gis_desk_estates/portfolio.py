"""The estates portfolio: one GeoPackage the estates team keeps (``*.estates.gpkg``).

``properties`` holds the register (placed and unplaced rows) with the fields officers maintain:
``status`` (held, for sale, to let, leased, vacant, disposed), ``lease_expiry`` (ISO date),
``tenant``, ``asking_price`` and ``annual_rent``.  ``condition_surveys`` keeps every survey ever
recorded (date, grade A-D, notes, surveyor, linked photos and point-cloud comparisons), so the
history of an asset is a query, never an overwrite.  ``import_report`` keeps the register import
report.  Saving writes a new file and swaps it in, so a failed save leaves the last good one.

Plain GIS tools (QGIS included) open the file as ordinary GeoPackage layers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_desk.core.style import CategorisedStyle, Category, LabelSettings, Symbol
from gis_desk.errors import CorruptFileError, DataError, MissingFileError, ParameterError
from gis_desk.io.atomic import atomic_path

from gis_desk_estates.register import STATUS_LABELS, STATUSES, RegisterReport

SUFFIX = ".estates.gpkg"
PROPERTIES, SURVEYS, REPORT = "properties", "condition_surveys", "import_report"
GRADES = {"A": "Good: performing as intended", "B": "Satisfactory: minor deterioration",
          "C": "Poor: major defects or not operating as intended", "D": "Bad: life expired or serious risk"}
SURVEY_COLUMNS = ["asset_code", "survey_date", "grade", "notes", "surveyor", "photos", "comparison", "recorded_at"]
STATUS_COLOURS = {"held": "#1b9e77ff", "for_sale": "#d95f02ff", "to_let": "#7570b3ff", "leased": "#e7298aff",
                  "vacant": "#a6761dff", "disposed": "#999999ff"}


@dataclass
class ConditionSurvey:
    asset_code: str
    survey_date: str          # ISO date
    grade: str                # A-D
    notes: str = ""
    surveyor: str = ""
    photos: tuple[str, ...] = ()
    comparison: str = ""      # folder of a point-cloud comparison (comparison.json)


class Portfolio:
    def __init__(self, path: Path, properties: gpd.GeoDataFrame, surveys: pd.DataFrame, report: dict | None):
        self.path = Path(path)
        self.properties = properties
        self.surveys = surveys
        self.report = report or {}

    # -- files ---------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, properties: gpd.GeoDataFrame, report: RegisterReport | None = None) -> "Portfolio":
        path = Path(path)
        if not path.name.endswith(SUFFIX):
            path = path.with_name(path.name.removesuffix(".gpkg") + SUFFIX)
        p = cls(path, properties.reset_index(drop=True), pd.DataFrame(columns=SURVEY_COLUMNS),
                report.to_dict() if report else None)
        p.save()
        return p

    @classmethod
    def open(cls, path: str | Path) -> "Portfolio":
        import pyogrio

        path = Path(path)
        if not path.exists():
            raise MissingFileError("The estates portfolio does not exist", path=path)
        try:
            layers = {name for name, _ in pyogrio.list_layers(path)}
        except Exception as exc:  # noqa: BLE001 - GDAL raises several kinds for a bad file
            raise CorruptFileError(f"The estates portfolio is not a readable GeoPackage: {exc}", path=path) from exc
        if PROPERTIES not in layers:
            raise DataError("This GeoPackage is not an estates portfolio (no 'properties' layer)", path=path)
        props = pyogrio.read_dataframe(path, layer=PROPERTIES)
        props.loc[props.geometry.is_empty, "geometry"] = None
        for col in ("lease_expiry", "tenant", "asking_price", "annual_rent", "status"):
            if col not in props.columns:
                raise DataError(f"The estates portfolio's properties have no '{col}' column", path=path)
        props["lease_expiry"] = props["lease_expiry"].fillna("").astype(str)
        surveys = (pyogrio.read_dataframe(path, layer=SURVEYS) if SURVEYS in layers
                   else pd.DataFrame(columns=SURVEY_COLUMNS))
        surveys = surveys.drop(columns=[c for c in surveys.columns if c == "geometry"])
        report = None
        if REPORT in layers:
            rows = pyogrio.read_dataframe(path, layer=REPORT)
            report = json.loads(rows["json"].iloc[0]) if len(rows) else None
        return cls(path, props, surveys, report)

    def save(self, path: str | Path | None = None) -> Path:
        import pyogrio

        target = Path(path) if path else self.path
        with atomic_path(target, "the estates portfolio") as tmp:
            props = self.properties.copy()
            pyogrio.write_dataframe(props, tmp, layer=PROPERTIES, driver="GPKG")
            surveys = self.surveys if len(self.surveys) else pd.DataFrame(
                {c: pd.Series(dtype=str) for c in SURVEY_COLUMNS})
            pyogrio.write_dataframe(surveys.astype(str), tmp, layer=SURVEYS, driver="GPKG")
            pyogrio.write_dataframe(pd.DataFrame({"json": [json.dumps(self.report, default=str)]}), tmp,
                                    layer=REPORT, driver="GPKG")
        self.path = target
        return target

    # -- edits ---------------------------------------------------------------------------------
    def row(self, asset_code: str) -> int:
        hits = np.flatnonzero(self.properties["asset_code"].to_numpy() == asset_code)
        if len(hits) == 0:
            raise ParameterError(f"No property has the asset code {asset_code!r}")
        return int(hits[0])

    def set_status(self, asset_code: str, status: str, *, lease_expiry: str | date | None = None,
                   tenant: str | None = None, asking_price: float | None = None,
                   annual_rent: float | None = None) -> None:
        if status not in STATUSES:
            raise ParameterError(f"Unknown status {status!r}", hint="one of " + ", ".join(STATUSES))
        i = self.row(asset_code)
        self.properties.loc[i, "status"] = status
        if lease_expiry is not None:
            self.properties.loc[i, "lease_expiry"] = _iso_date(lease_expiry) if lease_expiry != "" else ""
        if tenant is not None:
            self.properties.loc[i, "tenant"] = tenant
        if asking_price is not None:
            self.properties.loc[i, "asking_price"] = float(asking_price)
        if annual_rent is not None:
            self.properties.loc[i, "annual_rent"] = float(annual_rent)

    def add_condition_survey(self, survey: ConditionSurvey) -> None:
        self.row(survey.asset_code)  # the asset must exist
        grade = survey.grade.strip().upper()
        if grade not in GRADES:
            raise ParameterError(f"Condition grade {survey.grade!r} is not one of A, B, C, D")
        record = {"asset_code": survey.asset_code, "survey_date": _iso_date(survey.survey_date), "grade": grade,
                  "notes": survey.notes, "surveyor": survey.surveyor, "photos": json.dumps(list(survey.photos)),
                  "comparison": survey.comparison, "recorded_at": datetime.now().isoformat(timespec="seconds")}
        self.surveys = pd.concat([self.surveys, pd.DataFrame([record])], ignore_index=True)

    def history(self, asset_code: str) -> pd.DataFrame:
        """Every condition survey of one asset, oldest first, photos as lists."""
        h = self.surveys[self.surveys["asset_code"] == asset_code].copy()
        h["photos"] = [json.loads(p) if isinstance(p, str) and p else [] for p in h["photos"]]
        return h.sort_values(["survey_date", "recorded_at"]).reset_index(drop=True)

    def latest_grades(self) -> pd.Series:
        """Asset code -> grade of its most recent survey."""
        if not len(self.surveys):
            return pd.Series(dtype=str)
        s = self.surveys.sort_values(["survey_date", "recorded_at"])
        return s.groupby("asset_code")["grade"].last()


def _iso_date(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.strftime("%Y-%m-%d")
    try:
        return datetime.strptime(str(value).strip(), "%Y-%m-%d").strftime("%Y-%m-%d")
    except ValueError:
        try:
            return datetime.strptime(str(value).strip(), "%d/%m/%Y").strftime("%Y-%m-%d")
        except ValueError:
            raise ParameterError(f"{value!r} is not a date (use YYYY-MM-DD or DD/MM/YYYY)") from None


# -- views ---------------------------------------------------------------------------------------
def lease_expiry_days(frame: pd.DataFrame, today: date | None = None) -> pd.Series:
    """Days until each lease expires (negative: expired; NaN: no expiry recorded)."""
    today = today or date.today()
    when = pd.to_datetime(frame["lease_expiry"].replace("", None), errors="coerce", format="%Y-%m-%d")
    return (when - pd.Timestamp(today)).dt.days


def filter_mask(frame: pd.DataFrame, *, statuses: Iterable[str] | None = None,
                expiring_within_days: int | None = None, disposal: bool = False,
                today: date | None = None) -> np.ndarray:
    """Rows to show: in ``statuses``; with a lease expiring within the given days (expired
    ones included); ``disposal``: candidates for disposal (vacant or for sale, not yet disposed)."""
    mask = np.ones(len(frame), bool)
    if statuses is not None:
        mask &= frame["status"].isin(list(statuses)).to_numpy()
    if expiring_within_days is not None:
        days = lease_expiry_days(frame, today)
        mask &= (days <= expiring_within_days).fillna(False).to_numpy()
    if disposal:
        mask &= frame["status"].isin(["vacant", "for_sale"]).to_numpy()
    return mask


def status_style(visible: Iterable[str] | None = None) -> CategorisedStyle:
    """Properties coloured by status; statuses not in ``visible`` are hidden on the map."""
    shown = set(STATUSES if visible is None else visible)
    cats = [Category(value=s, symbol=Symbol(fill=STATUS_COLOURS[s], stroke="#202020ff", size=8.0),
                     label=STATUS_LABELS[s], visible=s in shown) for s in STATUSES]
    return CategorisedStyle(field="status", categories=cats, other=None, labels=None)


def label_style(style: CategorisedStyle) -> CategorisedStyle:
    style.labels = LabelSettings(field="name", size=8.0)
    return style


def read_portfolio(path, **options) -> list:
    """Reader ``estates.read_portfolio``: the portfolio's properties as a vector layer."""
    from gis_desk.core.datasets import DataSource, VectorDataset

    portfolio = Portfolio.open(path)
    frame = portfolio.properties[~portfolio.properties.geometry.isna()].copy()
    grades = portfolio.latest_grades()
    frame["condition"] = [str(grades.get(code, "")) for code in frame["asset_code"]]
    frame["days_to_expiry"] = lease_expiry_days(frame)
    return [VectorDataset(DataSource(str(Path(path).resolve()), "estates.read_portfolio", {}), frame,
                          driver="Estates portfolio")]


def expiring_soon(frame: pd.DataFrame, months: int = 12, today: date | None = None) -> pd.DataFrame:
    mask = filter_mask(frame, expiring_within_days=int(months * 30.44), today=today)
    out = frame[mask].copy()
    out["days_to_expiry"] = lease_expiry_days(out, today)
    return out.sort_values("days_to_expiry")

