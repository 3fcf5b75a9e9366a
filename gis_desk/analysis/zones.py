"""Per-element change statistics: summarise M3C2 distances and DoD volumes inside zone polygons.

An engineer draws (or imports) one polygon per structural element (pier 1, deck span 2,
north abutment...) and asks, per element: how much did it move, is it measurable, and does it
exceed my action threshold?  Zones are tested in plan view: a core point belongs to a zone
when its (x, y) is inside the polygon (so a pier zone takes every height of that pier).

``exceeds`` rule: a zone exceeds the threshold when at least ``min_share`` (default 5%) of its
measured core points show a *significant* change (beyond their LoD95) larger than the
threshold in absolute value.  Equivalently: the 95th percentile of |change|, counting changes
within the LoD as zero, is above the threshold.  This ignores isolated outliers (a single
stray point never flags a pier) yet catches local defects such as spalling covering 5% of an
element, which a mean or median would dilute.  Zones with fewer than ``min_points`` measured
core points get ``status = "no data"`` and never exceed.

DoD volumes per zone sum the significant DoD cells whose centres fall inside the polygon; they
are meaningful for horizontal surfaces (decks, ground), not for vertical faces.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gis_desk.errors import DataError, ParameterError

STAT_COLUMNS = (
    "n_points", "n_significant", "share_significant", "mean_change_m", "median_change_m",
    "mean_abs_change_m", "p95_abs_change_m", "max_abs_change_m", "share_exceeding",
    "volume_loss_m3", "volume_gain_m3", "volume_change_m3", "exceeds", "status",
)


def zone_statistics(
    zones,
    name_field: str,
    core: np.ndarray,
    distance: np.ndarray,
    significant: np.ndarray,
    *,
    dod: Any | None = None,
    threshold: float,
    min_share: float = 0.05,
    min_points: int = 5,
):
    """One row per zone: its name and geometry (every input column kept, CRS kept) plus
    the columns of ``STAT_COLUMNS``.  ``distance`` is nan where M3C2 found no change value."""
    import geopandas as gpd
    import shapely

    if name_field not in zones.columns:
        fields = ", ".join(c for c in zones.columns if c != zones.geometry.name)
        raise DataError(f"The zones have no field {name_field!r}", hint=f"choose one of: {fields or 'none'}")
    if not (threshold >= 0 and math.isfinite(threshold)):
        raise ParameterError(f"The change threshold must be zero or positive, not {threshold}")
    if not 0 < min_share <= 1:
        raise ParameterError(f"The share of points that must exceed is a fraction in (0, 1], not {min_share}")
    core = np.asarray(core, dtype=np.float64)
    distance = np.asarray(distance, dtype=np.float64)
    significant = np.asarray(significant, dtype=bool)
    if core.ndim != 2 or core.shape[1] < 2 or not (len(core) == len(distance) == len(significant)):
        raise DataError(f"Core points {core.shape}, distances {distance.shape} and significance "
                        f"{significant.shape} do not match")
    geoms = zones.geometry.values
    bad = [i for i, g in enumerate(geoms) if g is None or g.geom_type not in ("Polygon", "MultiPolygon")]
    if bad:
        name = zones[name_field].iloc[bad[0]]
        raise DataError(f"Zone {name!r} is not a polygon ({'empty' if geoms[bad[0]] is None else geoms[bad[0]].geom_type})",
                        hint="zones must be polygons drawn around each element")

    x, y = core[:, 0], core[:, 1]
    cells = _dod_cells(dod)
    rows: list[dict[str, Any]] = []
    for geom in geoms:
        xmin, ymin, xmax, ymax = geom.bounds
        cand = np.flatnonzero((x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))
        inside = cand[shapely.contains_xy(geom, x[cand], y[cand])]
        row = _point_stats(distance[inside], significant[inside], threshold, min_share, min_points)
        if cells is not None:
            cx, cy, cd = cells
            m = (cx >= xmin) & (cx <= xmax) & (cy >= ymin) & (cy <= ymax)
            m[m] = shapely.contains_xy(geom, cx[m], cy[m])
            d = cd[m]
            loss = float(-d[d < 0].sum() * dod.cell_area)
            gain = float(d[d > 0].sum() * dod.cell_area)
            row.update(volume_loss_m3=loss, volume_gain_m3=gain, volume_change_m3=gain - loss)
        else:
            row.update(volume_loss_m3=math.nan, volume_gain_m3=math.nan, volume_change_m3=math.nan)
        rows.append(row)

    out = zones.copy()
    for col in STAT_COLUMNS:
        out[col] = [r[col] for r in rows]
    out["exceeds"] = out["exceeds"].astype(bool)
    out["n_points"] = out["n_points"].astype(np.int64)
    out["n_significant"] = out["n_significant"].astype(np.int64)
    return gpd.GeoDataFrame(out, geometry=zones.geometry.name, crs=zones.crs)


def _point_stats(d: np.ndarray, sig: np.ndarray, threshold: float, min_share: float, min_points: int) -> dict:
    ok = np.isfinite(d)
    d, sig = d[ok], sig[ok]
    n = len(d)
    if n == 0:
        nan = math.nan
        return dict(n_points=0, n_significant=0, share_significant=nan, mean_change_m=nan, median_change_m=nan,
                    mean_abs_change_m=nan, p95_abs_change_m=nan, max_abs_change_m=nan, share_exceeding=nan,
                    exceeds=False, status="no data")
    a = np.abs(d)
    share_exc = float(np.mean(sig & (a > threshold)))
    enough = n >= min_points
    exceeds = bool(enough and share_exc >= min_share)
    return dict(
        n_points=n, n_significant=int(sig.sum()), share_significant=float(sig.mean()),
        mean_change_m=float(d.mean()), median_change_m=float(np.median(d)), mean_abs_change_m=float(a.mean()),
        p95_abs_change_m=float(np.percentile(a, 95)), max_abs_change_m=float(a.max()),
        share_exceeding=share_exc, exceeds=exceeds,
        status="no data" if not enough else ("exceeds" if exceeds else "within"),
    )


def _dod_cells(dod):
    """Centres and differences of the DoD's significant cells (flat arrays), or None."""
    if dod is None:
        return None
    xs, ys = dod.cell_centres()
    sig = np.asarray(dod.significant, dtype=bool)
    return xs[sig], ys[sig], np.asarray(dod.difference, dtype=np.float64)[sig]
