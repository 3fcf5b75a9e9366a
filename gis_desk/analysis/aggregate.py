"""Aggregate point records to areas (LSOAs, data zones, wards, hexagons) and summarise by decile.

The counts returned here are RAW: they may be small enough to identify people.  Disclosure
control (suppression, rounding) is applied when data leaves the program, by
``gis_desk.analysis.disclosure``; any export of these results must go through
``gis_desk.io.exports``, never straight to a file.

Boundary rule (every located point is counted exactly once): a point inside one area goes to
that area.  A point covered by several areas (on a shared boundary, or inside areas that
overlap because of faulty topology) goes to the one whose ``area_id`` sorts first (as text);
without ``area_id``, to the first of them in the area layer's row order.  Such points are
counted in the report (``on_boundary``, ``in_overlap``).  Points in no area, and rows
without a geometry, are counted and listed in the report, never silently dropped.

Deprivation deciles follow the national convention: decile 1 = the most deprived 10% of
areas (IMD 2019, IoD2025, SIMD 2020).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gis_desk.errors import CrsError, DataError

#: ``assign_points_to_areas`` codes for points that are not in an area.
OUTSIDE = -1
NO_GEOMETRY = -2


@dataclass
class AggregateReport:
    """What happened to every point of an aggregation.

    ``points`` = ``assigned`` + ``outside`` + ``no_geometry`` always; ``no_geometry`` counts
    rows with no point, an empty one, or one that cannot be expressed in the areas' CRS.  ``on_boundary``: points
    on the boundary of several areas; ``in_overlap``: points inside several overlapping areas
    (both assigned once by the boundary rule).  ``weight_missing``: assigned points with no
    weight value (they add 0 to ``weighted_sum``).  ``outside_index`` and
    ``no_geometry_index``: the index labels of those points in the input frame.
    ``areas_without_population``: areas whose population is missing or 0 (rate left empty).
    """

    points: int
    assigned: int
    outside: int
    no_geometry: int
    on_boundary: int
    in_overlap: int
    areas: int
    areas_with_points: int
    weight_missing: int = 0
    areas_without_population: int = 0
    areas_without_geometry: int = 0
    crs: str | None = None
    area_id: str | None = None
    weight: str | None = None
    population: str | None = None
    boundary_rule: str = ""
    outside_index: list = field(default_factory=list, repr=False)
    no_geometry_index: list = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly counts (without the index lists)."""
        keys = ("points", "assigned", "outside", "no_geometry", "on_boundary", "in_overlap", "areas",
                "areas_with_points", "weight_missing", "areas_without_population", "areas_without_geometry",
                "crs", "area_id", "weight", "population", "boundary_rule")
        return {k: getattr(self, k) for k in keys}

    def lines(self) -> list[str]:
        """Plain sentences for a log or a report panel."""
        out = [f"{self.assigned} of {self.points} point(s) fall in {self.areas_with_points} of "
               f"{self.areas} area(s)"]
        if self.outside:
            out.append(f"{self.outside} point(s) lie outside every area (not counted in any area)")
        if self.no_geometry:
            out.append(f"{self.no_geometry} record(s) have no location (not counted in any area)")
        if self.on_boundary:
            out.append(f"{self.on_boundary} point(s) lie on a boundary shared by several areas; "
                       f"each was counted once ({self.boundary_rule})")
        if self.in_overlap:
            out.append(f"{self.in_overlap} point(s) lie inside overlapping areas; each was counted once")
        if self.weight_missing:
            out.append(f"{self.weight_missing} point(s) have no value in weight field {self.weight!r} "
                       "and add 0 to the weighted sum")
        if self.areas_without_population:
            out.append(f"{self.areas_without_population} area(s) have no population in {self.population!r}: "
                       "their rate is left empty")
        if self.areas_without_geometry:
            out.append(f"{self.areas_without_geometry} area(s) have no geometry and receive no points")
        return out


def rate_column(per: float) -> str:
    """Name of the rate column for ``per`` (1000 -> 'rate_per_1000', 0.5 -> 'rate_per_0_5')."""
    text = f"{per:g}".replace(".", "_").replace("+", "")
    return f"rate_per_{text}"


def _point_geometries(points, crs, name: str = "points"):
    """Point geometries of ``points`` in ``crs`` (a numpy array; None/empty kept as missing)."""
    import shapely

    from gis_desk.core.crs import same_crs

    if points.crs is None:
        raise CrsError(f"The {name} layer has no coordinate reference system",
                       hint="set its CRS (e.g. EPSG:27700) before aggregating")
    if not same_crs(points.crs, crs):
        points = points.to_crs(crs)
    geoms = np.asarray(points.geometry.values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms = geoms.copy()
    # Single-part multi-points (common in exported GeoPackages) are points.
    single_multi = present & (shapely.get_type_id(geoms) == 4) & (shapely.get_num_geometries(geoms) == 1)
    if single_multi.any():
        geoms[single_multi] = shapely.get_geometry(geoms[single_multi], 0)
    type_ids = shapely.get_type_id(geoms[present])
    if (type_ids != 0).any():  # 0 = Point
        kinds = sorted({g.geom_type for g in geoms[present][type_ids != 0][:1000]})
        raise DataError(f"The {name} layer must hold single points; it holds {', '.join(kinds) or 'other shapes'}",
                        hint="convert them to points first (e.g. centroids), or explode multi-points")
    coords_ok = np.zeros(len(geoms), dtype=bool)
    if present.any():
        xy = shapely.get_coordinates(geoms[present])
        coords_ok[present] = np.isfinite(xy).all(axis=1)
    geoms[~coords_ok] = None  # e.g. a point that cannot be expressed in the areas' CRS
    return geoms


def _area_geometries(areas):
    """Area polygons for point-in-polygon tests; invalid rings repaired on a copy (the output
    keeps the areas' own geometries)."""
    import shapely

    geoms = np.asarray(areas.geometry.values, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    invalid = ~missing & ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    return geoms, int(missing.sum())


def assign_points_to_areas(points, areas, area_id: str | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """For each row of ``points``, the position (0-based row number) of the area it falls in.

    Points are reprojected to the areas' CRS.  Returns ``(positions, info)``: ``positions`` is
    an int64 array with ``OUTSIDE`` (-1) for points in no area and ``NO_GEOMETRY`` (-2) for
    rows without a usable point; ``info`` holds ``on_boundary``, ``in_overlap`` and
    ``areas_without_geometry`` counts.  Points covered by several areas follow the module's
    boundary rule.  Raises ``CrsError`` (a layer without CRS), ``DataError`` (non-point
    geometries, unknown ``area_id``).
    """
    import shapely

    if areas.crs is None:
        raise CrsError("The area layer has no coordinate reference system",
                       hint="set its CRS (e.g. EPSG:27700) before aggregating")
    if area_id is not None and area_id not in areas.columns:
        raise DataError(f"The area layer has no field {area_id!r} (area code)",
                        hint=f"fields: {', '.join(str(c) for c in areas.columns if c != areas.geometry.name)}")
    point_geoms = _point_geometries(points, areas.crs)
    area_geoms, areas_without_geometry = _area_geometries(areas)
    positions = np.full(len(point_geoms), OUTSIDE, dtype=np.int64)
    located = ~shapely.is_missing(point_geoms)
    positions[~located] = NO_GEOMETRY
    info = {"on_boundary": 0, "in_overlap": 0, "areas_without_geometry": areas_without_geometry}
    if not located.any() or len(area_geoms) == 0:
        return positions, info
    located_idx = np.flatnonzero(located)
    # 'intersects' for a point = inside or on the boundary ("covered by"), so none is lost.
    hit_point, hit_area = shapely.STRtree(area_geoms).query(point_geoms[located_idx], predicate="intersects")
    if len(hit_point) == 0:
        return positions, info
    rank = _area_rank(areas, area_id)
    order = np.lexsort((rank[hit_area], hit_point))  # by point, then by the area's rank
    hit_point, hit_area = hit_point[order], hit_area[order]
    first = np.flatnonzero(np.r_[True, hit_point[1:] != hit_point[:-1]])
    positions[located_idx[hit_point[first]]] = hit_area[first]
    hits_per_point = np.bincount(hit_point, minlength=len(located_idx))
    multi = np.flatnonzero(hits_per_point > 1)
    if len(multi):
        in_multi = np.isin(hit_point, multi)
        inside = shapely.contains_properly(area_geoms[hit_area[in_multi]],
                                           point_geoms[located_idx[hit_point[in_multi]]])
        interior_hits = np.bincount(hit_point[in_multi], weights=inside.astype(float),
                                    minlength=len(located_idx))[multi]
        info["in_overlap"] = int((interior_hits >= 2).sum())
        info["on_boundary"] = int(len(multi) - info["in_overlap"])
    return positions, info


def _area_rank(areas, area_id: str | None) -> np.ndarray:
    """Tie-break rank per area: order of ``area_id`` as text, else row order."""
    if area_id is None:
        return np.arange(len(areas), dtype=np.int64)
    keys = areas[area_id].astype(str).to_numpy()
    rank = np.empty(len(keys), dtype=np.int64)
    rank[np.argsort(keys, kind="stable")] = np.arange(len(keys))
    return rank


def _numeric_column(frame, column: str, what: str, layer: str):
    import pandas as pd

    if column not in frame.columns:
        geometry = getattr(getattr(frame, "geometry", None), "name", None)
        fields = [c for c in frame.columns if c != geometry]
        raise DataError(f"The {layer} layer has no field {column!r} ({what})",
                        hint=f"fields: {', '.join(map(str, fields)) or '(none)'}")
    values = frame[column]
    if not pd.api.types.is_numeric_dtype(values):
        converted = pd.to_numeric(values, errors="coerce")
        bad = converted.isna() & values.notna() & (values.astype(str).str.strip() != "")
        if bad.any():
            example = values[bad].iloc[0]
            raise DataError(f"Field {column!r} of the {layer} layer ({what}) is not numeric: "
                            f"{int(bad.sum())} value(s) such as {example!r} are not numbers",
                            hint="choose a numeric field or clean the values")
        values = converted
    return values.astype("float64").to_numpy()


def aggregate_points(points, areas, area_id: str | None = None, weight: str | None = None,
                     population: str | None = None, per: float = 1000, rate_of: str = "count"):
    """Count (and weight) point records per area: ``(areas_with_counts, AggregateReport)``.

    ``points``: a GeoDataFrame of points with a CRS (reprojected to the areas' CRS).
    ``areas``: a GeoDataFrame of polygons with a CRS; its rows, columns and geometries are
    returned unchanged with new columns added.
    ``area_id``: optional field of unique area codes (e.g. 'LSOA11CD'); used for the boundary
    tie-break (see module docstring) and checked for duplicates.
    ``weight``: optional numeric field of ``points`` (e.g. hours of care); missing values add 0.
    ``population``: optional numeric field of ``areas`` for rates.
    ``per``: rate base (default 1000: per 1,000 population).
    ``rate_of``: 'count' (default) or 'weighted_sum' (needs ``weight``): what the rate divides.

    Added columns: ``count`` (int64, records per area, RAW: see the module docstring: export
    only through ``gis_desk.io.exports``), ``weighted_sum`` (float64, only with ``weight``),
    ``rate_per_<per>`` (float64, e.g. ``rate_per_1000``, only with ``population``: value /
    population * per; empty where the population is missing or 0).

    Raises ``CrsError`` (a layer without CRS), ``DataError`` (non-point records, unknown or
    non-numeric fields, duplicate area codes, unknown ``rate_of``, ``per`` not positive).
    """
    if not (isinstance(per, (int, float)) and math.isfinite(per) and per > 0):
        raise DataError(f"The rate base must be a positive number, got {per!r}", hint="e.g. per=1000")
    if rate_of not in ("count", "weighted_sum"):
        raise DataError(f"rate_of must be 'count' or 'weighted_sum', got {rate_of!r}")
    if rate_of == "weighted_sum" and weight is None:
        raise DataError("A rate of the weighted sum needs a weight field", hint="give weight=FIELD")
    if area_id is not None and area_id in areas.columns:  # (a missing field is reported when assigning)
        codes = areas[area_id]
        duplicated = codes[codes.duplicated(keep=False) & codes.notna()]
        if len(duplicated):
            raise DataError(f"Area code field {area_id!r} has {duplicated.nunique()} duplicate code(s) "
                            f"such as {duplicated.iloc[0]!r}",
                            hint="dissolve the area layer by its code first, or choose a unique field")
    weights = _numeric_column(points, weight, "weight", "points") if weight is not None else None
    pops = _numeric_column(areas, population, "population", "area") if population is not None else None

    positions, info = assign_points_to_areas(points, areas, area_id)
    assigned = positions >= 0
    counts = np.bincount(positions[assigned], minlength=len(areas)).astype(np.int64)
    result = areas.copy()
    result["count"] = counts
    weight_missing = 0
    if weights is not None:
        w = weights[assigned]
        weight_missing = int(np.isnan(w).sum())
        result["weighted_sum"] = np.bincount(positions[assigned], weights=np.nan_to_num(w, nan=0.0),
                                             minlength=len(areas))
    areas_without_population = 0
    if pops is not None:
        base = result["weighted_sum"].to_numpy() if rate_of == "weighted_sum" else counts.astype(float)
        usable = np.isfinite(pops) & (pops > 0)
        areas_without_population = int((~usable).sum())
        rate = np.full(len(areas), np.nan)
        rate[usable] = base[usable] / pops[usable] * per
        result[rate_column(per)] = rate

    index = points.index
    rule = (f"the area whose {area_id!r} sorts first" if area_id else "the first area in layer order")
    report = AggregateReport(
        points=int(len(points)), assigned=int(assigned.sum()), outside=int((positions == OUTSIDE).sum()),
        no_geometry=int((positions == NO_GEOMETRY).sum()), on_boundary=info["on_boundary"],
        in_overlap=info["in_overlap"], areas=int(len(areas)), areas_with_points=int((counts > 0).sum()),
        weight_missing=weight_missing, areas_without_population=areas_without_population,
        areas_without_geometry=info["areas_without_geometry"], crs=_crs_text(areas.crs), area_id=area_id,
        weight=weight, population=population, boundary_rule=rule,
        outside_index=list(index[positions == OUTSIDE]), no_geometry_index=list(index[positions == NO_GEOMETRY]),
    )
    return result, report


def _crs_text(crs) -> str | None:
    from gis_desk.core.crs import crs_id

    return crs_id(crs) if crs is not None else None


# --- deprivation deciles ---------------------------------------------------------------------


def _class_values(frame, decile_field: str, n_classes: int) -> np.ndarray:
    """Decile (or quintile...) numbers as float (NaN where missing); checks they are whole
    numbers 1..n_classes."""
    values = _numeric_column(frame, decile_field, "deprivation decile", "area")
    present = ~np.isnan(values)
    bad = present & ((values != np.round(values)) | (values < 1) | (values > n_classes))
    if bad.any():
        example = values[bad][0]
        raise DataError(f"Field {decile_field!r} must hold whole numbers 1 to {n_classes}; "
                        f"{int(bad.sum())} value(s) such as {example:g} do not",
                        hint="choose the decile field (e.g. IMD_decile), not a rank or score, or set "
                             "n_classes (5 for quintiles)")
    return values


def summarise_by_decile(areas_with_counts, decile_field: str = "IMD_decile", value: str = "count",
                        n_classes: int = 10):
    """Totals of ``value`` per deprivation decile, with shares: a pandas DataFrame.

    One row per decile 1..``n_classes`` (decile 1 = most deprived; every decile listed, even
    with no areas), plus a last row with ``decile`` empty for areas without a decile when
    there are any.  Columns: ``decile`` (Int64), ``areas`` (number of areas), ``area_share``
    (fraction of all areas), ``<value>`` (sum), ``share`` (fraction 0..1 of the grand total of
    ``value`` over all areas, including those without a decile) and ``cumulative_share``
    (running share from decile 1).  Shares are NaN when the total is 0.  The sums are RAW
    (see the module docstring; export only through ``gis_desk.io.exports``).

    Raises ``DataError`` for a missing or non-numeric field or decile values that are not
    whole numbers 1..``n_classes`` (pass 5 for quintiles).
    """
    import pandas as pd

    deciles = _class_values(areas_with_counts, decile_field, n_classes)
    values = np.nan_to_num(_numeric_column(areas_with_counts, value, "value to sum", "area"), nan=0.0)
    known = ~np.isnan(deciles)
    classes = deciles[known].astype(np.int64) - 1
    sums = np.bincount(classes, weights=values[known], minlength=n_classes)
    n_areas = np.bincount(classes, minlength=n_classes)
    total = float(values.sum())
    labels: list[Any] = list(range(1, n_classes + 1))
    if (~known).any():
        labels.append(pd.NA)
        sums = np.append(sums, values[~known].sum())
        n_areas = np.append(n_areas, int((~known).sum()))
    share = sums / total if total > 0 else np.full(len(sums), np.nan)
    cumulative = np.cumsum(share)
    if (~known).any():
        cumulative[-1] = np.nan  # a running share through "no decile" means nothing
    out = pd.DataFrame({
        "decile": pd.array(labels, dtype="Int64"),
        "areas": n_areas.astype(np.int64),
        "area_share": n_areas / max(len(deciles), 1),
        value: sums if not _is_integer_column(areas_with_counts, value) else sums.round().astype(np.int64),
        "share": share,
        "cumulative_share": cumulative,
    })
    return out


def _is_integer_column(frame, column: str) -> bool:
    import pandas as pd

    return pd.api.types.is_integer_dtype(frame[column])


def share_in_most_deprived(areas, fraction: float = 0.2, decile_field: str = "IMD_decile",
                           value: str = "count", n_classes: int = 10) -> float:
    """Share (0..1) of the total of ``value`` found in the most deprived ``fraction`` of areas.

    ``fraction`` must be a whole number of classes: 0.2 with deciles = deciles 1 and 2 (the
    most deprived 20%).  The denominator is the total over all areas (as in
    ``summarise_by_decile``), so the result equals its ``cumulative_share`` at that decile.
    Returns NaN when the total is 0.  Raises ``DataError`` for a fraction that is not a
    multiple of 1/``n_classes`` within (0, 1], and as ``summarise_by_decile``.
    """
    classes = fraction * n_classes
    if not (0 < fraction <= 1) or abs(classes - round(classes)) > 1e-9:
        raise DataError(f"The fraction {fraction!r} is not a whole number of {n_classes} classes",
                        hint=f"use a multiple of {1 / n_classes:g}, e.g. 0.2 for the most deprived 20%")
    deciles = _class_values(areas, decile_field, n_classes)
    values = np.nan_to_num(_numeric_column(areas, value, "value to sum", "area"), nan=0.0)
    total = float(values.sum())
    if total <= 0:
        return float("nan")
    most = ~np.isnan(deciles) & (deciles <= round(classes))
    return float(values[most].sum() / total)
