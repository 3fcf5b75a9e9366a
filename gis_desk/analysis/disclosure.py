"""Statistical disclosure control for counts derived from records about people.

Policies are plain data (``to_dict``/``policy_from_dict``) so a project, an export log and an
exported file can all say exactly which rule was applied:

- ``NhsDigitalPolicy``: the NHS Digital small-number rule (field-facts.md: "counts 1-7 shown as
  suppressed, others rounded to the nearest 5").  Our reading: 1..7 are suppressed; every other
  count, including 8..12, is published rounded to the nearest multiple of 5 (8 -> 10, 12 -> 10,
  13 -> 15; whole counts never fall half-way); 0 is a true zero and is published as 0 (the rule
  names 1-7 only).  ``suppress_zero=True`` suppresses zeros as well, for tables where a zero
  would itself disclose something (e.g. "no one in this street is *not* receiving care").
- ``ThresholdPolicy(k=10)``: counts 1..k-1 suppressed, counts >= k published unrounded.  Zero is
  published by default for the same reason; ``suppress_zero=True`` suppresses it.
- ``NoDisclosureControl(reason)``: an explicit, logged statement that the data are not derived
  from records about people (public boundaries, IMD ranks).  It has no default reason, so it is
  never chosen by accident.

``apply_policy`` does primary suppression, rounding, and SECONDARY (complementary) suppression
so that no suppressed value can be worked out exactly from the published totals:

- ``totals="column"``: each count column has a published column total (a one-dimensional
  table per column).  ``"row"``: each row has a published total over the count columns.
  ``"both"``: row totals, column totals and the grand total (area x category tables).
  ``"none"``: no totals are published; primary suppression only.  ``"auto"`` (default) is
  ``"column"`` for one count column and ``"both"`` for several.
- Totals are computed from the TRUE counts and then put through the same policy (rounded to
  5 under NHS Digital; suppressed when small), as NHS Digital publications do.  Published
  cells therefore need not add up to published totals; that is expected and is explained in
  exported metadata.  Totals are treated as cells of the table: a small total is suppressed
  and then needs protecting like any other cell.
- Guarantee: every published total's equation ("the cells of this line add up to the total")
  that involves a suppressed cell involves at least two (a fixed point: complements are the
  smallest non-zero published cells of the line, interior cells before totals), and no
  suppressed cell is determined by the system of total equations (audit: the cells and total
  equations form a graph whose edges are suppressed cells; a suppressed cell is determined
  exactly when its edge is a bridge, and every bridge gets a complementary suppression that
  closes a cycle through it).  Cells not suppressed are assumed known exactly (worst case).
- Limits: the audit is about EXACT recovery from the linear system.  It does not compute the
  narrowest interval an attacker can infer from non-negativity (a full linear-programming
  audit is out of scope); preferring non-zero complements keeps those intervals wide.  Other
  published tables over the same records (differencing between overlapping geographies) are
  not considered, nor are tables with subtotals (hierarchies): protect each published table
  whole.  The audit adds one complement per connected block of suppressed cells per round, so
  a table whose suppressed cells leave many determined cells in one block takes several rounds
  (33,000 x 10 counts under NHS Digital with all totals: about 0.6 s here).
- The flag column says which cells are 'primary' (small) and which 'secondary'; that is for
  the analyst only.  Published files use ``public_flags``/``public_summary``, which do not
  tell them apart (knowing which hidden cell is the small one narrows it down).

Rasters (heat maps) cannot be rounded or complemented cell by cell: ``mask_raster`` sets to
nodata every cell whose contributing record count is below k.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np

from gis_desk.errors import AlgorithmError, DataError, ParameterError

TOTALS_MODES = ("auto", "none", "column", "row", "both")
_GROUND = -1  # placeholder end of a cell that lies in a single total equation


# -- policies ---------------------------------------------------------------------------------


class DisclosurePolicy(ABC):
    """Base class: a rule deciding which counts are suppressed and how the rest are shown."""

    kind: ClassVar[str] = ""
    controls: ClassVar[bool] = True  # False only for NoDisclosureControl

    @property
    @abstractmethod
    def name(self) -> str:
        """Short name for legends and logs, e.g. 'NHS Digital'."""

    @property
    @abstractmethod
    def min_count(self) -> int:
        """Smallest non-zero count that is published: the k used to mask heat-map rasters."""

    @abstractmethod
    def primary_mask(self, counts: np.ndarray) -> np.ndarray:
        """Boolean array: which of these whole, non-negative ``counts`` are suppressed."""

    def publish(self, counts: np.ndarray) -> np.ndarray:
        """The values shown for counts that are not suppressed (int64; rounded if the rule says)."""
        return np.asarray(counts, dtype=np.int64).copy()

    @abstractmethod
    def describe(self) -> str:
        """One paragraph for metadata, README sidecars and the export log."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Plain data for project files and metadata; ``policy_from_dict`` reverses it."""

    @property
    def label(self) -> str:
        """The policy in a line: name plus its options (export log, attribution)."""
        return self.name + (" (zeros suppressed)" if getattr(self, "suppress_zero", False) else "")


@dataclass(frozen=True)
class NhsDigitalPolicy(DisclosurePolicy):
    """NHS Digital rule: counts 1..7 suppressed, all others rounded to the nearest 5; 0 stays 0
    unless ``suppress_zero``."""

    suppress_zero: bool = False
    kind: ClassVar[str] = "nhs_digital"
    SUPPRESS_UP_TO: ClassVar[int] = 7
    ROUND_TO: ClassVar[int] = 5

    @property
    def name(self) -> str:
        return "NHS Digital"

    @property
    def min_count(self) -> int:
        return self.SUPPRESS_UP_TO + 1

    def primary_mask(self, counts: np.ndarray) -> np.ndarray:
        counts = np.asarray(counts)
        low = 0 if self.suppress_zero else 1
        return (counts >= low) & (counts <= self.SUPPRESS_UP_TO)

    def publish(self, counts: np.ndarray) -> np.ndarray:
        counts = np.asarray(counts, dtype=np.int64)
        half = self.ROUND_TO // 2  # whole counts are never exactly half-way between multiples of 5
        return (counts + half) // self.ROUND_TO * self.ROUND_TO

    def describe(self) -> str:
        zero = "zeros are suppressed too" if self.suppress_zero else "zeros are shown as 0"
        return (f"NHS Digital small-number rule: counts of 1 to {self.SUPPRESS_UP_TO} are suppressed and all "
                f"other counts are rounded to the nearest {self.ROUND_TO}; {zero}. Totals are computed "
                "from the unrounded counts and then rounded or suppressed by the same rule, so published "
                "figures need not add up. Further cells are suppressed where needed so that no suppressed "
                "value can be worked out from the published totals.")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "suppress_zero": self.suppress_zero}


@dataclass(frozen=True)
class ThresholdPolicy(DisclosurePolicy):
    """Counts below ``k`` (1..k-1) suppressed, others shown unrounded; 0 stays 0 unless
    ``suppress_zero``.  Raises ``ParameterError`` for k < 1 or a k that is not a whole number."""

    k: int = 10
    suppress_zero: bool = False
    kind: ClassVar[str] = "threshold"

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not float(self.k).is_integer() or int(self.k) < 1:
            raise ParameterError(f"The disclosure threshold k must be a whole number of at least 1, got {self.k!r}",
                                 hint="10 is the usual choice")
        object.__setattr__(self, "k", int(self.k))

    @property
    def name(self) -> str:
        return f"Threshold k={self.k}"

    @property
    def min_count(self) -> int:
        return self.k

    def primary_mask(self, counts: np.ndarray) -> np.ndarray:
        counts = np.asarray(counts)
        low = 0 if self.suppress_zero else 1
        return (counts >= low) & (counts < self.k)

    def describe(self) -> str:
        zero = "zeros are suppressed too" if self.suppress_zero else "zeros are shown as 0"
        return (f"Threshold rule: counts of 1 to {self.k - 1} (below k = {self.k}) are suppressed and other "
                f"counts are shown as they are; {zero}. Totals are computed from all records and suppressed "
                "by the same rule when small. Further cells are suppressed where needed so that no "
                "suppressed value can be worked out from the published totals.")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "k": self.k, "suppress_zero": self.suppress_zero}


@dataclass(frozen=True)
class NoDisclosureControl(DisclosurePolicy):
    """For data NOT derived from records about people; ``reason`` (required, non-empty) is
    written wherever a policy would be.  Raises ``ParameterError`` without a reason."""

    reason: str = ""
    kind: ClassVar[str] = "none"
    controls: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not str(self.reason).strip():
            raise ParameterError("Exporting without disclosure control needs a reason",
                                 hint="say why the data are not about people, e.g. 'public IMD 2019 ranks'")

    @property
    def name(self) -> str:
        return "No disclosure control"

    @property
    def min_count(self) -> int:
        return 0

    def primary_mask(self, counts: np.ndarray) -> np.ndarray:
        return np.zeros(np.shape(counts), dtype=bool)

    @property
    def label(self) -> str:
        return f"No disclosure control: {self.reason.strip()}"

    def describe(self) -> str:
        return f"No disclosure control was applied: {self.reason.strip()}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason}


POLICY_KINDS: dict[str, type[DisclosurePolicy]] = {
    cls.kind: cls for cls in (NhsDigitalPolicy, ThresholdPolicy, NoDisclosureControl)
}


def policy_from_dict(d: dict) -> DisclosurePolicy:
    """Rebuild a policy written by ``to_dict``.  Raises ``DataError`` for an unknown kind."""
    if not isinstance(d, dict) or d.get("kind") not in POLICY_KINDS:
        raise DataError(f"Unknown disclosure policy {d!r}",
                        hint=f"the policy kind must be one of {', '.join(POLICY_KINDS)}")
    cls = POLICY_KINDS[d["kind"]]
    kwargs = {k: v for k, v in d.items() if k != "kind" and k in cls.__dataclass_fields__}
    return cls(**kwargs)


def parse_policy(text: str) -> DisclosurePolicy:
    """A policy from command-line text: 'nhs' / 'nhs-digital', 'threshold' (k=10),
    'threshold:5' or 'k=5', with an optional ',zero' suffix to suppress zeros.
    Raises ``ParameterError`` for anything else."""
    raw = str(text).strip().lower()
    zero = raw.endswith(",zero")
    body = raw[: -len(",zero")] if zero else raw
    if body in ("nhs", "nhs-digital", "nhs_digital", "nhsdigital"):
        return NhsDigitalPolicy(suppress_zero=zero)
    if body == "threshold":
        return ThresholdPolicy(suppress_zero=zero)
    for prefix in ("threshold:", "threshold=", "k=", "k:"):
        if body.startswith(prefix):
            number = body[len(prefix):]
            if not number.isdigit():
                break
            return ThresholdPolicy(k=int(number), suppress_zero=zero)
    raise ParameterError(f"Unknown disclosure policy {text!r}",
                         hint="use 'nhs', 'threshold' (k = 10) or 'threshold:K'; add ',zero' to suppress zeros")


# -- table structure: cells and the total equations they appear in ----------------------------


@dataclass
class _Structure:
    """The table extended with its published totals, as a multigraph.

    Every cell (interior or total) is an edge between the one or two total equations ("lines")
    it appears in; a cell in a single equation is joined to a ground node with no equation.
    Cells: interior row-major (n*m), then row totals (n), column totals (m), grand total (1),
    those present depending on the mode."""

    values: np.ndarray  # int64 per cell
    ends: np.ndarray  # (cells, 2) node ids; ground is n_nodes - 1
    is_total: np.ndarray  # bool per cell
    n_lines: int
    row_total: slice | None
    column_total: slice | None
    grand_total: int | None

    @property
    def n_nodes(self) -> int:
        return self.n_lines + 1


def _structure(counts: np.ndarray, mode: str) -> _Structure:
    n, m = counts.shape
    interior = counts.ravel().astype(np.int64)
    rows = np.repeat(np.arange(n), m)
    cols = np.tile(np.arange(m), n)
    row_sums, col_sums, grand = counts.sum(axis=1), counts.sum(axis=0), counts.sum()
    if mode == "none":
        ground = 0
        ends = np.full((n * m, 2), ground)
        return _Structure(interior, ends, np.zeros(n * m, bool), 0, None, None, None)
    if mode == "column":  # lines: one per column
        ground = m
        ends = np.column_stack([np.concatenate([cols, np.arange(m)]), np.full(n * m + m, ground)])
        values = np.concatenate([interior, col_sums])
        return _Structure(values, ends, np.r_[np.zeros(n * m, bool), np.ones(m, bool)], m,
                          None, slice(n * m, n * m + m), None)
    if mode == "row":  # lines: one per row
        ground = n
        ends = np.column_stack([np.concatenate([rows, np.arange(n)]), np.full(n * m + n, ground)])
        values = np.concatenate([interior, row_sums])
        return _Structure(values, ends, np.r_[np.zeros(n * m, bool), np.ones(n, bool)], n,
                          slice(n * m, n * m + n), None, None)
    # both: row lines 0..n-1, column lines n..n+m-1, MR = sum of row totals, MC = of column totals
    mr, mc = n + m, n + m + 1
    ends = np.concatenate([
        np.column_stack([rows, n + cols]),
        np.column_stack([np.arange(n), np.full(n, mr)]),
        np.column_stack([n + np.arange(m), np.full(m, mc)]),
        np.array([[mr, mc]]),
    ])
    values = np.concatenate([interior, row_sums, col_sums, [grand]])
    is_total = np.r_[np.zeros(n * m, bool), np.ones(n + m + 1, bool)]
    start = n * m
    return _Structure(values, ends, is_total, n + m + 2, slice(start, start + n),
                      slice(start + n, start + n + m), start + n + m)


def _line_members(struct: _Structure) -> list[np.ndarray]:
    """Cell ids per total equation (ground excluded)."""
    ground = struct.n_nodes - 1
    line_of = struct.ends.ravel()
    cell_of = np.repeat(np.arange(len(struct.values)), 2)
    keep = line_of != ground
    line_of, cell_of = line_of[keep], cell_of[keep]
    order = np.argsort(line_of, kind="stable")
    line_of, cell_of = line_of[order], cell_of[order]
    bounds = np.searchsorted(line_of, np.arange(struct.n_lines + 1))
    return [cell_of[bounds[i]:bounds[i + 1]] for i in range(struct.n_lines)]


def _rank_candidates(struct: _Structure, cells: np.ndarray, tiebreak: np.ndarray | None = None) -> np.ndarray:
    """``cells`` best first: interior before totals, non-zero before zero, smallest value."""
    values = struct.values[cells]
    keys = [cells, values, values == 0, struct.is_total[cells]]
    if tiebreak is not None:
        keys.insert(1, tiebreak)
    return cells[np.lexsort(keys)]


def _complete_lines(struct: _Structure, suppressed: np.ndarray, members: list[np.ndarray]) -> None:
    """Fixed point: every equation with one suppressed cell gets a second (in place)."""
    ground = struct.n_nodes - 1
    ends = struct.ends
    count = np.zeros(struct.n_nodes, dtype=np.int64)
    np.add.at(count, ends[suppressed].ravel(), 1)
    count[ground] = 0
    work = list(np.flatnonzero(count == 1))
    while work:
        line = work.pop()
        if count[line] != 1:
            continue
        cells = members[line]
        candidates = cells[~suppressed[cells]]
        if candidates.size == 0:
            continue  # a lone total equation with nothing else to hide: handled by the bridge audit
        # Tie-break in favour of cells whose other equation already hides something.
        other = np.where(ends[candidates, 0] == line, ends[candidates, 1], ends[candidates, 0])
        helps = np.where(other == ground, 1, (count[other] < 1).astype(np.int64))
        pick = _rank_candidates(struct, candidates, helps)[0]
        suppressed[pick] = True
        for node in ends[pick]:
            if node != ground:
                count[node] += 1
                if count[node] == 1:
                    work.append(node)


def _bridges(n_nodes: int, ends: np.ndarray, edges: np.ndarray):
    """Bridges of the multigraph made of ``edges`` (cell ids), by iterative DFS (Tarjan).

    Returns (bridge cell ids, DFS entry time per node, subtree end time per node, component
    per node, child node of each bridge in the DFS tree); -1 for nodes not reached."""
    adjacency: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    for e in edges:
        a, b = int(ends[e, 0]), int(ends[e, 1])
        adjacency[a].append((b, int(e)))
        adjacency[b].append((a, int(e)))
    tin = np.full(n_nodes, -1, dtype=np.int64)
    tout = np.full(n_nodes, -1, dtype=np.int64)
    low = np.zeros(n_nodes, dtype=np.int64)
    component = np.full(n_nodes, -1, dtype=np.int64)
    bridges: list[tuple[int, int]] = []
    timer = 0
    for root in range(n_nodes):
        if tin[root] >= 0 or not adjacency[root]:
            continue
        tin[root] = low[root] = timer
        timer += 1
        component[root] = root
        stack = [(root, -1, 0)]  # node, edge it was entered by, next adjacency index
        while stack:
            node, via, i = stack[-1]
            if i < len(adjacency[node]):
                stack[-1] = (node, via, i + 1)
                nxt, edge = adjacency[node][i]
                if edge == via:
                    continue
                if tin[nxt] >= 0:
                    low[node] = min(low[node], tin[nxt])
                else:
                    tin[nxt] = low[nxt] = timer
                    timer += 1
                    component[nxt] = root
                    stack.append((nxt, edge, 0))
                continue
            stack.pop()
            tout[node] = timer - 1
            if stack:
                parent = stack[-1][0]
                low[parent] = min(low[parent], low[node])
                if low[node] > tin[parent]:
                    bridges.append((via, node))
    return bridges, tin, tout, component


def _break_bridges(struct: _Structure, suppressed: np.ndarray) -> bool:
    """Suppress one complementary cell per component that has a determined (bridge) cell.
    Returns True when something was added."""
    edges = np.flatnonzero(suppressed)
    bridges, tin, tout, component = _bridges(struct.n_nodes, struct.ends, edges)
    if not bridges:
        return False
    open_cells = np.flatnonzero(~suppressed)
    a, b = struct.ends[open_cells, 0], struct.ends[open_cells, 1]
    fixed_components: set[int] = set()
    added = False
    for edge, child in bridges:
        comp = int(component[child])
        if comp in fixed_components:
            continue  # the tree changed; the next round re-examines this component
        in_sub_a = (tin[a] >= tin[child]) & (tin[a] <= tout[child])
        in_sub_b = (tin[b] >= tin[child]) & (tin[b] <= tout[child])
        same = (component[a] == comp) & (component[b] == comp)
        closes = same & (in_sub_a != in_sub_b)  # joins the two sides: puts the bridge on a cycle
        if closes.any():
            pick = _rank_candidates(struct, open_cells[closes])[0]
        else:  # nothing joins the sides directly: hide a cell next to the bridge and repeat
            near = np.isin(a, struct.ends[edge]) | np.isin(b, struct.ends[edge])
            near &= ~suppressed[open_cells]
            if not near.any():
                raise AlgorithmError("Secondary suppression could not protect a suppressed cell",
                                     hint="publish fewer totals (totals='none' or 'column')")
            pick = _rank_candidates(struct, open_cells[near])[0]
        suppressed[pick] = True
        fixed_components.add(comp)
        added = True
    return added


def _protect(struct: _Structure, suppressed: np.ndarray) -> np.ndarray:
    members = _line_members(struct)
    for _ in range(len(suppressed) + 1):  # each round hides at least one more cell
        _complete_lines(struct, suppressed, members)
        if not _break_bridges(struct, suppressed):
            return suppressed
    raise AlgorithmError("Secondary suppression did not converge")  # unreachable: cells are finite


# -- applying a policy to a table ---------------------------------------------------------


@dataclass
class SuppressionReport:
    """What ``apply_policy`` did.

    ``primary``/``secondary``: boolean DataFrames (rows x count columns) of suppressed cells.
    ``row_totals`` (per row), ``column_totals`` (per count column) and ``grand_total`` are the
    PUBLISHED totals (nullable Int64, NA = suppressed), None when that total is not published;
    ``total_flags`` names suppressed totals with 'primary' or 'secondary'.
    """

    policy: DisclosurePolicy
    totals: str
    count_columns: list[str]
    primary: Any
    secondary: Any
    row_totals: Any = None
    column_totals: Any = None
    grand_total: Any = None
    total_flags: dict[str, str] = field(default_factory=dict)

    @property
    def n_primary(self) -> int:
        return int(self.primary.to_numpy().sum()) + sum(v == "primary" for v in self.total_flags.values())

    @property
    def n_secondary(self) -> int:
        return int(self.secondary.to_numpy().sum()) + sum(v == "secondary" for v in self.total_flags.values())

    @property
    def n_cells(self) -> int:
        return int(self.primary.size)

    def summary(self) -> str:
        """For the analyst (logs, the GUI): primary and secondary counts apart."""
        return (f"{self.policy.name}: {self.n_primary} cell(s) suppressed as small and {self.n_secondary} more "
                f"to protect them, of {self.n_cells} count cell(s); totals published: {self.totals}")

    def public_summary(self) -> str:
        """For published files: one figure, because saying how many cells are small (primary)
        rather than protecting others (secondary) narrows what the hidden cells can be."""
        return (f"{self.policy.name}: {self.n_primary + self.n_secondary} of {self.n_cells} count cell(s) "
                f"and totals suppressed (small counts, and cells hidden so that they cannot be worked "
                f"out from totals); totals published: {self.totals}")

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy.to_dict(), "totals": self.totals, "count_columns": list(self.count_columns),
                "cells": self.n_cells, "primary": self.n_primary, "secondary": self.n_secondary,
                "suppressed_totals": dict(self.total_flags)}


def _count_matrix(table, columns: list[str]) -> np.ndarray:
    """Whole, non-negative counts as int64 (rows, columns); ``DataError`` naming the column."""
    import pandas as pd

    out = np.zeros((len(table), len(columns)), dtype=np.int64)
    for j, name in enumerate(columns):
        if name not in table.columns:
            raise DataError(f"The table has no count column {name!r}",
                            hint=f"choose from: {', '.join(map(str, table.columns))}")
        try:
            values = pd.to_numeric(table[name], errors="raise").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise DataError(f"Count column {name!r} holds values that are not numbers",
                            hint="disclosure control applies to counts of records") from exc
        bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"Count column {name!r} has {int(bad.sum())} value(s) that are not whole counts "
                            f"of 0 or more (first in row {row}: {table[name].iloc[row]!r})",
                            hint="fill missing counts with 0; rates and weighted sums are not counts")
        out[:, j] = values.astype(np.int64)
    return out


def _flag_text(kinds: list[tuple[str, np.ndarray]], n: int) -> list[str]:
    """Per row: 'col: primary; other: secondary' ('' where nothing is suppressed)."""
    parts: list[list[str]] = [[] for _ in range(n)]
    for name, kind in kinds:
        for i in np.flatnonzero(kind != ""):
            parts[i].append(f"{name}: {kind[i]}")
    return ["; ".join(p) for p in parts]


def apply_policy(table, count_columns: Sequence[str], policy: DisclosurePolicy, totals: str = "auto", *,
                 total_column: str = "total", flag_column: str = "suppression"):
    """Apply ``policy`` to the ``count_columns`` of ``table`` (a pandas or geopandas frame).

    Returns ``(frame, report)``: a copy of the table in which the count columns are nullable
    Int64 holding the published values (rounded where the policy rounds) with NA where
    suppressed, a text ``flag_column`` naming what was suppressed in each row and why
    ('primary' = small, 'secondary' = hidden to protect another cell), and, when row totals
    are published (``totals`` 'row' or 'both'), a ``total_column`` of published row totals.
    Column and grand totals are in the ``SuppressionReport``.  See the module docstring for
    ``totals`` and for what secondary suppression guarantees.  The flag column tells primary
    from secondary cells for the analyst; published files must not (``gis_desk.io.exports``
    replaces it with ``public_flags``), since that would say which hidden cells are small.

    Raises ``DataError`` for a missing column or values that are not whole non-negative
    counts, ``ParameterError`` for an unknown ``totals`` mode, no count columns, or an output
    column name already in use.
    """
    import pandas as pd

    if not isinstance(policy, DisclosurePolicy):
        raise ParameterError("A disclosure policy is required",
                             hint="use NhsDigitalPolicy(), ThresholdPolicy(k=10) or NoDisclosureControl(reason)")
    columns = [str(c) for c in count_columns]
    if not columns:
        raise ParameterError("Name at least one count column to apply disclosure control to")
    if len(set(columns)) != len(columns):
        raise ParameterError(f"Count columns are listed twice: {columns}")
    if totals not in TOTALS_MODES:
        raise ParameterError(f"Unknown totals mode {totals!r}", hint=f"use one of {', '.join(TOTALS_MODES)}")
    mode = ("column" if len(columns) == 1 else "both") if totals == "auto" else totals
    for name in (flag_column, total_column if mode in ("row", "both") else None):
        if name is not None and name in table.columns and name not in columns:
            raise ParameterError(f"The table already has a column {name!r}",
                                 hint="rename it, or pass another flag_column/total_column name")
    counts = _count_matrix(table, columns)
    n, m = counts.shape
    struct = _structure(counts, mode)
    primary = policy.primary_mask(struct.values)
    suppressed = primary.copy()
    if policy.controls and mode != "none" and primary.any():
        suppressed = _protect(struct, suppressed)
    secondary = suppressed & ~primary
    published = policy.publish(struct.values)

    def kind_of(cells) -> np.ndarray:
        return np.where(primary[cells], "primary", np.where(secondary[cells], "secondary", ""))

    def as_int64(cells) -> Any:
        arr = pd.array(published[cells], dtype="Int64")
        arr[suppressed[cells]] = pd.NA
        return arr

    out = table.copy()
    interior = np.arange(n * m).reshape(n, m) if n * m else np.zeros((n, m), dtype=np.int64)
    kinds = []
    for j, name in enumerate(columns):
        out[name] = pd.Series(as_int64(interior[:, j]), index=table.index)
        kinds.append((name, kind_of(interior[:, j])))
    report = SuppressionReport(
        policy, mode, columns,
        primary=pd.DataFrame(primary[interior] if n * m else np.zeros((n, m), bool), index=table.index, columns=columns),
        secondary=pd.DataFrame(secondary[interior] if n * m else np.zeros((n, m), bool), index=table.index,
                               columns=columns))
    if struct.row_total is not None:
        cells = np.arange(struct.row_total.start, struct.row_total.stop)
        report.row_totals = pd.Series(as_int64(cells), index=table.index, name=total_column)
        out[total_column] = report.row_totals
        kinds.append((total_column, kind_of(cells)))
    if struct.column_total is not None:
        cells = np.arange(struct.column_total.start, struct.column_total.stop)
        report.column_totals = pd.Series(as_int64(cells), index=columns, name="total")
        for name, kind in zip(columns, kind_of(cells)):
            if kind:
                report.total_flags[f"total of {name}"] = str(kind)
    if struct.grand_total is not None:
        g = struct.grand_total
        report.grand_total = pd.NA if suppressed[g] else int(published[g])
        if suppressed[g]:
            report.total_flags["grand total"] = str(kind_of(np.array([g]))[0])
    out[flag_column] = pd.Series(_flag_text(kinds, n), index=table.index, dtype=object)
    return out, report


def public_flags(frame, flag_column: str = "suppression"):
    """The flag column of an ``apply_policy`` result without the reasons: 'care; total'
    names the suppressed cells of each row but not which are small (a Series)."""
    def strip(text: str) -> str:
        return "; ".join(part.split(": ")[0] for part in str(text).split("; ") if part)

    return frame[flag_column].map(strip)


# -- rasters ----------------------------------------------------------------------------------


def mask_raster(values, counts, k: int, nodata: float | None = None) -> np.ma.MaskedArray:
    """``values`` (2-D, may already be masked) with every cell whose contributing record count
    ``counts`` (same shape) is below ``k`` masked, so it is written as nodata.

    ``k`` is usually ``policy.min_count`` (8 for NHS Digital, k for a threshold policy).
    ``nodata`` sets the masked array's fill value.  Raises ``DataError`` when the shapes differ
    or counts are negative, ``ParameterError`` for k < 0.
    """
    if k is None or int(k) < 0:
        raise ParameterError(f"The minimum record count k must be 0 or more, got {k!r}")
    data = np.ma.asarray(values)
    counts = np.asarray(np.ma.filled(counts, 0) if np.ma.isMaskedArray(counts) else counts)
    if counts.shape != data.shape:
        raise DataError(f"The record-count grid is {counts.shape} but the raster is {data.shape}",
                        hint="compute the counts on the same grid as the heat map")
    if np.any(counts < 0):
        raise DataError("The record-count grid has negative counts")
    mask = np.ma.getmaskarray(data) | (counts < int(k)) | ~np.isfinite(np.ma.getdata(data))
    out = np.ma.MaskedArray(np.ma.getdata(data).copy(), mask=mask)
    if nodata is not None:
        out.fill_value = nodata
    return out
