"""Multi-agency overlap: the properties (UPRNs) that appear in at least k of N record layers.

Each layer's UPRN column is read with ``gis_desk.analysis.uprn.parse_uprns``, so spreadsheet
damage that can be undone exactly ('100012345678.0', '1.00012345678E+11', floats from a
column pandas read with blanks) gives the same UPRN in every layer, while blanks, text,
out-of-range and lossy values ('1.00012E+11') are counted per layer and never matched.  A
UPRN repeated within one layer counts once for that layer.

The result lists properties, not people, but a list of properties "of concern" to several
agencies is sensitive: share it only through ``gis_desk.io.exports``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from gis_desk.errors import CrsError, DataError

UPRN_FIELD = "UPRN"
N_LAYERS_FIELD = "n_layers"
LOCATION_FIELD = "location_from"
_RESERVED = {UPRN_FIELD.lower(), N_LAYERS_FIELD, LOCATION_FIELD, "geometry"}


@dataclass
class OverlapSummary:
    """Tables describing an overlap.

    ``per_layer``: one row per layer: ``layer``, ``uprn_column``, ``records``, ``valid`` (rows
    with a usable UPRN), ``recovered`` (of which restored from damage), ``blank``, ``text``,
    ``out_of_range``, ``lossy``, ``duplicate_records`` (rows whose UPRN repeats in the layer),
    ``distinct_uprns``, ``located`` (distinct UPRNs with a geometry in that layer).
    ``by_n_layers``: one row per n = 1..N: ``n_layers``, ``uprns`` (properties in exactly n
    layers), ``at_least`` (in n or more layers).
    ``pairwise``: N x N counts of distinct UPRNs shared by two layers (rows and columns named
    by layer; the diagonal holds each layer's distinct UPRNs).
    """

    k: int
    layers: list[str]
    per_layer: Any
    by_n_layers: Any
    pairwise: Any
    selected: int
    located: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``--json`` output)."""
        return {
            "k": self.k,
            "layers": list(self.layers),
            "selected": self.selected,
            "located": self.located,
            "per_layer": self.per_layer.to_dict(orient="records"),
            "by_n_layers": self.by_n_layers.to_dict(orient="records"),
            "pairwise": {row: {col: int(v) for col, v in values.items()}
                         for row, values in self.pairwise.to_dict(orient="index").items()},
        }

    def lines(self) -> list[str]:
        """Plain sentences for a log or a report panel."""
        out = [f"{self.selected} propert{'y' if self.selected == 1 else 'ies'} appear in at least {self.k} of "
               f"{len(self.layers)} layers ({self.located} with a location)"]
        for row in self.per_layer.itertuples(index=False):
            invalid = row.records - row.valid
            text = f"{row.layer}: {row.records} record(s), {row.distinct_uprns} distinct UPRN(s)"
            if invalid:
                text += f", {invalid} without a usable UPRN (blank {row.blank}, text {row.text}, " \
                        f"out of range {row.out_of_range}, lossy {row.lossy})"
            if row.recovered:
                text += f", {row.recovered} restored from spreadsheet damage"
            out.append(text)
        return out


def _frame_of(name: str, layer: Any):
    import pandas as pd

    frame = getattr(layer, "frame", layer)  # a VectorDataset holds its GeoDataFrame in .frame
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"Layer {name!r} is not a table (got {type(layer).__name__})",
                        hint="give a DataFrame, GeoDataFrame or vector dataset")
    return frame


def _find_column(name: str, frame, wanted: str) -> str:
    """``wanted`` in ``frame``, matched exactly, else case-insensitively when unambiguous."""
    if wanted in frame.columns:
        return wanted
    matches = [c for c in frame.columns if str(c).strip().lower() == wanted.strip().lower()]
    if len(matches) == 1:
        return matches[0]
    geometry = getattr(getattr(frame, "geometry", None), "name", None)
    fields = [str(c) for c in frame.columns if c != geometry]
    raise DataError(f"Layer {name!r} has no UPRN column {wanted!r}",
                    hint=f"name its UPRN column; fields: {', '.join(fields) or '(none)'}")


def _check_names(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise DataError(f"Layer names must be non-empty text, got {name!r}")
        low = name.lower()
        if low in _RESERVED:
            raise DataError(f"Layer name {name!r} clashes with a result column",
                            hint=f"rename the layer; {', '.join(sorted(_RESERVED))} are taken")
        if low in seen:
            raise DataError(f"Two layers are named {name!r} (names must differ, ignoring case)")
        seen.add(low)


def _has_geometry(frame) -> bool:
    import geopandas as gpd

    return isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns \
        and bool((~(frame.geometry.isna() | frame.geometry.is_empty)).any())


def multi_agency_overlap(layers: Mapping[str, Any], uprn_column: str | Mapping[str, str] = UPRN_FIELD,
                         k: int = 2):
    """Properties present in at least ``k`` of the record ``layers``: ``(frame, OverlapSummary)``.

    ``layers``: layer name -> DataFrame, GeoDataFrame or ``VectorDataset``, in priority order
    (at least two).  ``uprn_column``: the UPRN column, one name for all layers or a mapping
    layer name -> column; matched case-insensitively when there is no exact match.
    ``k``: minimum number of layers (1..N).

    The frame has one row per distinct UPRN found in at least ``k`` layers, sorted by
    ``n_layers`` (descending) then UPRN: ``UPRN`` (int64), one bool column per layer (named
    as the layer: present in it), ``n_layers`` (int64), and, when any layer has geometries,
    ``location_from`` (the layer the point came from, or None) and ``geometry``: from the
    first layer in ``layers`` order that has a non-empty geometry for that UPRN, in the CRS of
    the first layer with geometries (others are reprojected).  It is a GeoDataFrame then,
    else a plain DataFrame.

    Raises ``DataError`` (fewer than two layers, k out of range, a missing UPRN column, layer
    names that clash), ``CrsError`` (a layer with geometries but no CRS, mixed with others).
    """
    import pandas as pd

    from gis_desk.analysis.uprn import parse_uprns

    names = list(layers)
    if len(names) < 2:
        raise DataError(f"An overlap needs at least two record layers, got {len(names)}",
                        hint="give two or more layers keyed by UPRN")
    _check_names(names)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(names):
        raise DataError(f"k must be a whole number from 1 to {len(names)} (the number of layers), got {k!r}")
    k = int(k)
    frames = {name: _frame_of(name, layers[name]) for name in names}
    columns: dict[str, str] = {}
    parsed = {}
    for name in names:
        wanted = uprn_column.get(name, UPRN_FIELD) if isinstance(uprn_column, Mapping) else uprn_column
        columns[name] = _find_column(name, frames[name], wanted)
        parsed[name] = parse_uprns(frames[name][columns[name]])

    distinct = {name: np.unique(parsed[name].uprn[parsed[name].valid]) for name in names}
    all_uprns = np.unique(np.concatenate([distinct[n] for n in names]))
    membership = np.zeros((len(all_uprns), len(names)), dtype=bool)
    for j, name in enumerate(names):
        membership[np.searchsorted(all_uprns, distinct[name]), j] = True
    n_layers = membership.sum(axis=1).astype(np.int64)
    keep = np.flatnonzero(n_layers >= k)
    keep = keep[np.lexsort((all_uprns[keep], -n_layers[keep]))]

    result = pd.DataFrame({UPRN_FIELD: all_uprns[keep]})
    for j, name in enumerate(names):
        result[name] = membership[keep, j]
    result[N_LAYERS_FIELD] = n_layers[keep]

    geo_names = [n for n in names if _has_geometry(frames[n])]
    located_per_layer = {n: 0 for n in names}
    located = 0
    if geo_names:
        result, located_per_layer = _attach_locations(result, frames, parsed, geo_names)
        located = int(result.geometry.notna().sum())

    counts = pd.DataFrame([{"layer": n, "uprn_column": str(columns[n]), "records": len(parsed[n]),
                            "valid": int(parsed[n].valid.sum()), **_status_counts(parsed[n]),
                            "duplicate_records": parsed[n].duplicate_rows,
                            "distinct_uprns": int(len(distinct[n])), "located": located_per_layer[n]}
                           for n in names])
    tally = np.bincount(n_layers, minlength=len(names) + 1)[1:]
    by_n = pd.DataFrame({"n_layers": np.arange(1, len(names) + 1, dtype=np.int64), "uprns": tally.astype(np.int64),
                         "at_least": np.cumsum(tally[::-1])[::-1].astype(np.int64)})
    m = membership.astype(np.int64)
    pairwise = pd.DataFrame(m.T @ m, index=pd.Index(names, name="layer"), columns=names)
    summary = OverlapSummary(k=k, layers=names, per_layer=counts, by_n_layers=by_n, pairwise=pairwise,
                             selected=int(len(result)), located=located)
    return result, summary


def _status_counts(parse) -> dict[str, int]:
    counts = parse.counts()
    return {key: int(counts.get(key, 0)) for key in ("recovered", "blank", "text", "out_of_range", "lossy")}


def _attach_locations(result, frames, parsed, geo_names):
    """Add ``location_from`` and ``geometry`` (first layer in order with a point for the UPRN)."""
    import geopandas as gpd
    import shapely

    from gis_desk.core.crs import same_crs

    crs = frames[geo_names[0]].crs
    for name in geo_names:
        if (frames[name].crs is None) != (crs is None):
            raise CrsError(f"Layer {name!r} has geometries but no coordinate reference system"
                           if frames[name].crs is None else
                           f"Layer {geo_names[0]!r} has geometries but no coordinate reference system",
                           hint="set the CRS of every record layer (e.g. EPSG:27700)")
    uprns = result[UPRN_FIELD].to_numpy()
    geometry = np.full(len(uprns), None, dtype=object)
    source = np.full(len(uprns), None, dtype=object)
    filled = np.zeros(len(uprns), dtype=bool)
    located_per_layer = {}
    for name in geo_names:
        frame, parse = frames[name], parsed[name]
        geoms = np.asarray(frame.geometry.values, dtype=object)
        usable = parse.valid & ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        rows = np.flatnonzero(usable)
        # First row per UPRN in the layer's own order.
        layer_uprns, first = np.unique(parse.uprn[rows], return_index=True)
        rows = rows[first]
        located_per_layer[name] = int(len(layer_uprns))
        if len(layer_uprns) == 0 or len(uprns) == 0:
            continue
        where = np.minimum(np.searchsorted(layer_uprns, uprns), len(layer_uprns) - 1)
        fill = (layer_uprns[where] == uprns) & ~filled
        if not fill.any():
            continue
        picked = frame.geometry.iloc[rows[where[fill]]]
        if crs is not None and not same_crs(frame.crs, crs):
            picked = picked.to_crs(crs)
        geometry[fill] = np.asarray(picked.values, dtype=object)
        source[fill] = name
        filled |= fill
    out = result.copy()
    out[LOCATION_FIELD] = source
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geometry, crs=crs), crs=crs), \
        {n: located_per_layer.get(n, 0) for n in frames}
