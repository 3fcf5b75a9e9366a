"""Import a council land and building asset register into a property table, honestly.

Registers published under the Local Government Transparency Code (such as Trafford's) have one
row per asset with ``UPRN``, ``AssetCode``, ``PropertyName``, address parts, ``GeoX``/``GeoY``
with a ``CoordinateReferenceSystem`` (WGS84 or British National Grid), tenure and holding type.
Many rows lack a UPRN or coordinates, and some have latitude and longitude swapped.  Each row is
placed by its coordinates, else by its UPRN through a gazetteer when one is given, else left
unplaced; the ``RegisterReport`` counts every case and lists the rows concerned, so the estates
team can see what to fix at source.  Nothing is dropped: unplaced rows stay in the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_desk.analysis.uprn import parse_uprns
from gis_desk.core.crs import transformer
from gis_desk.errors import DataError, MissingFileError, ReaderError

BNG = "EPSG:27700"
STATUSES = ("held", "for_sale", "to_let", "leased", "vacant", "disposed")
STATUS_LABELS = {"held": "Held (in use)", "for_sale": "For sale", "to_let": "To let", "leased": "Leased out",
                 "vacant": "Vacant", "disposed": "Disposed"}
# The register's tenure detail gives a first status; sale and letting are set by officers.
_STATUS_FROM_TENURE = {"owner occupied": "held", "leasehold out": "leased", "vacant": "vacant",
                       "leasehold in": "held", "other": "held"}

# Column roles and the names registers use for them (compared without case, spaces or '_').
_ROLES: dict[str, tuple[str, ...]] = {
    "asset_code": ("assetcode", "assetid", "assetreference", "propertyreference", "reference", "id"),
    "name": ("propertyname", "assetname", "name", "sitename"),
    "uprn": ("uprn",),
    "number": ("streetnumber", "number", "housenumber"),
    "street": ("streetname", "street", "road"),
    "town": ("posttown", "town"),
    "postcode": ("postcode", "postalcode"),
    "x": ("geox", "easting", "x", "longitude", "lon"),
    "y": ("geoy", "northing", "y", "latitude", "lat"),
    "crs": ("coordinatereferencesystem", "crs"),
    "tenure": ("tenuretype", "tenure"),
    "tenure_detail": ("tenuredetail",),
    "use": ("otherdetail", "use", "currentuse"),
    "holding": ("holdingtype", "holding"),
    "building_m2": ("buildingsize", "giam2", "floorarea"),
    "land_ha": ("landarea", "siteareaha"),
    "energy_rating": ("energyrating", "epc"),
}
REQUIRED = ("asset_code", "name")


@dataclass
class RegisterReport:
    source: str
    rows: int = 0
    with_uprn: int = 0
    invalid_uprn: list[str] = field(default_factory=list)        # asset codes
    without_uprn: list[str] = field(default_factory=list)
    without_coordinates: list[str] = field(default_factory=list)
    swapped_coordinates: list[str] = field(default_factory=list)
    placed_by_coordinates: int = 0
    placed_by_uprn: list[str] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)
    outside_area: list[str] = field(default_factory=list)
    duplicate_codes: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)       # role -> column used

    @property
    def placed(self) -> int:
        return self.placed_by_coordinates + len(self.placed_by_uprn)

    def lines(self) -> list[str]:
        """The report as sentences for the panel, the CLI and the log."""
        n = self.rows
        out = [f"{n:,} properties read from {Path(self.source).name}; {self.placed:,} placed on the map "
               f"({self.placed_by_coordinates:,} by their coordinates, {len(self.placed_by_uprn):,} by UPRN "
               "through the gazetteer)."]
        if self.unplaced:
            out.append(f"{len(self.unplaced):,} have neither usable coordinates nor a UPRN the gazetteer "
                       "holds: they are listed in the table but not on the map.")
        out.append(f"{self.with_uprn:,} have a valid UPRN; {len(self.without_uprn):,} have none"
                   + (f" and {len(self.invalid_uprn):,} an invalid one" if self.invalid_uprn else "") + ".")
        out.append(f"{len(self.without_coordinates):,} have no coordinates.")
        if self.swapped_coordinates:
            out.append(f"{len(self.swapped_coordinates):,} had latitude and longitude swapped (corrected): "
                       + ", ".join(self.swapped_coordinates[:5]) + ("…" if len(self.swapped_coordinates) > 5 else ""))
        if self.outside_area:
            out.append(f"{len(self.outside_area):,} lie outside the council's area (kept, flagged): "
                       + ", ".join(self.outside_area[:5]) + ("…" if len(self.outside_area) > 5 else ""))
        if self.duplicate_codes:
            out.append(f"{len(self.duplicate_codes):,} asset codes appear more than once: "
                       + ", ".join(self.duplicate_codes[:5]))
        return out

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items()}
        d["placed"] = self.placed
        return d


def _norm(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def map_columns(columns: list[str], overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Role -> column name, found by the names registers use; ``overrides`` win."""
    by_norm = {_norm(c): c for c in columns}
    found: dict[str, str] = {}
    for role, names in _ROLES.items():
        for n in names:
            if n in by_norm and by_norm[n] not in found.values():
                found[role] = by_norm[n]
                break
    found.update(overrides or {})
    return found


def read_register_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise MissingFileError("The asset register does not exist", path=path)
    try:
        if path.suffix.lower() in (".xlsx", ".xls"):
            return pd.read_excel(path, dtype=str)
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="cp1252")
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise ReaderError(f"The asset register could not be read as a table: {exc}", path=path) from exc


def _floats(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series.astype(str).str.replace(",", "").str.strip(), errors="coerce").to_numpy(float)


def _text(frame: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series([""] * len(frame), index=frame.index)
    return frame[column].fillna("").astype(str).str.strip()


def import_register(path: str | Path, *, gazetteer=None, area_bounds: tuple[float, float, float, float] | None = None,
                    columns: dict[str, str] | None = None) -> tuple[gpd.GeoDataFrame, RegisterReport]:
    """The register at ``path`` as a property table in British National Grid, and its report.

    ``gazetteer``: a ``gis_desk.io.gazetteer.Gazetteer`` to place rows that have a UPRN but no
    coordinates.  ``area_bounds`` (BNG): rows placed outside are flagged ``outside_area``.
    """
    raw = read_register_table(path)
    report = RegisterReport(source=str(path), rows=len(raw))
    cols = map_columns(list(raw.columns), columns)
    missing = [r for r in REQUIRED if r not in cols]
    if missing:
        raise DataError(f"The asset register has no {' or '.join(missing)} column", path=path,
                        hint="name the column to use (e.g. AssetCode, PropertyName)")
    if len(raw) == 0:
        raise DataError("The asset register has no rows", path=path)
    report.columns = dict(cols)
    code = _text(raw, cols["asset_code"])
    out = pd.DataFrame({
        "asset_code": code,
        "name": _text(raw, cols["name"]),
        "address": _address(raw, cols),
        "postcode": _text(raw, cols.get("postcode")),
        "tenure": _text(raw, cols.get("tenure")),
        "tenure_detail": _text(raw, cols.get("tenure_detail")),
        "use": _text(raw, cols.get("use")),
        "holding": _text(raw, cols.get("holding")),
        "building_m2": _floats(raw[cols["building_m2"]]) if "building_m2" in cols else np.nan,
        "land_ha": _floats(raw[cols["land_ha"]]) if "land_ha" in cols else np.nan,
        "energy_rating": _text(raw, cols.get("energy_rating")),
    })
    dup = code[code.duplicated(keep=False) & (code != "")]
    report.duplicate_codes = sorted(set(dup))

    # UPRNs: validated with the same rules as council records (issue 3)
    if "uprn" in cols:
        parsed = parse_uprns(raw[cols["uprn"]])
        blank = _text(raw, cols["uprn"]).str.lower().isin(("", "nan", "none"))
        valid = parsed.valid
        out["uprn"] = np.where(valid, parsed.uprn, 0).astype("int64")
        report.with_uprn = int(valid.sum())
        report.without_uprn = code[blank.to_numpy()].tolist()
        report.invalid_uprn = code[(~valid) & (~blank.to_numpy())].tolist()
    else:
        out["uprn"] = np.zeros(len(raw), "int64")
        report.without_uprn = code.tolist()

    x, y = _coordinates(raw, cols, code, report)
    placed_by = np.where(np.isfinite(x), "coordinates", "")
    report.placed_by_coordinates = int(np.isfinite(x).sum())
    if gazetteer is not None:
        need = ~np.isfinite(x) & (out["uprn"].to_numpy() > 0)
        if need.any():
            found, gx, gy = gazetteer.lookup(out["uprn"].to_numpy()[need])
            idx = np.flatnonzero(need)[found]
            x[idx], y[idx] = gx[found], gy[found]
            placed_by[idx] = "uprn"
            report.placed_by_uprn = code.to_numpy()[idx].tolist()
    unplaced = ~np.isfinite(x)
    report.unplaced = code[unplaced].tolist()
    out["placed_by"] = placed_by
    out["status"] = [_STATUS_FROM_TENURE.get(t.lower(), "held") for t in out["tenure_detail"]]
    out["lease_expiry"] = ""
    out["tenant"] = ""
    out["asking_price"] = np.nan
    out["annual_rent"] = np.nan
    out["outside_area"] = False
    if area_bounds is not None:
        xmin, ymin, xmax, ymax = area_bounds
        outside = np.isfinite(x) & ((x < xmin) | (x > xmax) | (y < ymin) | (y > ymax))
        out["outside_area"] = outside
        report.outside_area = code[outside].tolist()
    geometry = gpd.points_from_xy(np.where(unplaced, np.nan, x), np.where(unplaced, np.nan, y))
    geometry = gpd.GeoSeries(geometry, crs=BNG)
    geometry[unplaced] = None
    return gpd.GeoDataFrame(out, geometry=geometry, crs=BNG), report


def _address(raw: pd.DataFrame, cols: dict[str, str]) -> pd.Series:
    parts = [_text(raw, cols.get(r)) for r in ("number", "street", "town")]
    joined = (parts[0] + " " + parts[1]).str.strip() + ", " + parts[2]
    return joined.str.strip(" ,").str.replace(r"^,\s*", "", regex=True)


def _coordinates(raw, cols, code, report) -> tuple[np.ndarray, np.ndarray]:
    """BNG eastings and northings (nan where absent); WGS84 rows are transformed, and
    latitude/longitude written the wrong way round are recognised in the UK and swapped."""
    n = len(raw)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if "x" not in cols or "y" not in cols:
        report.without_coordinates = code.tolist()
        return x, y
    gx, gy = _floats(raw[cols["x"]]), _floats(raw[cols["y"]])
    have = np.isfinite(gx) & np.isfinite(gy) & ~((gx == 0) & (gy == 0))
    report.without_coordinates = code[~have].tolist()
    stated = _text(raw, cols.get("crs")).str.upper()
    # Degrees when the row says WGS84, or when the values can only be degrees.
    degrees = have & (stated.str.contains("WGS|4326|LAT|LON").to_numpy() | ((np.abs(gx) <= 90) & (np.abs(gy) <= 90)))
    # In Great Britain latitude is 49-61 and longitude -9 to 2: a "longitude" of 49-61 is a swap.
    swapped = degrees & (gx >= 49) & (gx <= 61) & (gy >= -9) & (gy <= 2.5)
    lon = np.where(swapped, gy, gx)
    lat = np.where(swapped, gx, gy)
    report.swapped_coordinates = code[swapped].tolist()
    if degrees.any():
        t = transformer("EPSG:4326", BNG)
        ex, ny = t.transform(lon[degrees], lat[degrees])
        x[degrees], y[degrees] = ex, ny
    metres = have & ~degrees
    x[metres], y[metres] = gx[metres], gy[metres]
    return x, y
