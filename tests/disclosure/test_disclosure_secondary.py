"""Secondary suppression: no suppressed value can be recovered from the published totals.

The checker here is independent of the product code: it writes down the linear system an
attacker has (every published total equals the sum of its cells; every published cell is known
EXACTLY, the worst case, ignoring the rounding that hides them further) and asks, for each
suppressed cell, whether that system determines it uniquely (linear algebra), and how far it
can move when counts must also be non-negative (linear programming).
"""

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from gis_desk.analysis.disclosure import NhsDigitalPolicy, ThresholdPolicy, apply_policy


def attacker_system(counts: np.ndarray, out, report, columns, mode):
    """(equation matrix over all cells, true cell values, suppressed flags, cell names)."""
    n, m = counts.shape
    values, hidden, names = [], [], []

    def cell(value, is_hidden, name):
        values.append(float(value))
        hidden.append(bool(is_hidden))
        names.append(name)
        return len(values) - 1

    interior = [[cell(counts[i, j], pd.isna(out[columns[j]].iloc[i]), f"r{i}c{j}") for j in range(m)]
                for i in range(n)]
    equations = []
    if mode in ("row", "both"):
        row_total = [cell(counts[i].sum(), pd.isna(out["total"].iloc[i]), f"total r{i}") for i in range(n)]
        for i in range(n):
            equations.append({**{c: 1.0 for c in interior[i]}, row_total[i]: -1.0})
    if mode in ("column", "both"):
        col_total = [cell(counts[:, j].sum(), pd.isna(report.column_totals[columns[j]]), f"total c{j}")
                     for j in range(m)]
        for j in range(m):
            equations.append({**{interior[i][j]: 1.0 for i in range(n)}, col_total[j]: -1.0})
    if mode == "both":
        grand = cell(counts.sum(), pd.isna(report.grand_total), "grand total")
        equations.append({**{c: 1.0 for c in row_total}, grand: -1.0})
        equations.append({**{c: 1.0 for c in col_total}, grand: -1.0})
    matrix = np.zeros((len(equations), len(values)))
    for r, eq in enumerate(equations):
        for c, coef in eq.items():
            matrix[r, c] = coef
    return matrix, np.array(values), np.array(hidden), names


def determined_cells(matrix, values, hidden, names) -> list[str]:
    """Suppressed cells whose value the published totals fix uniquely (linear algebra)."""
    unknown = np.flatnonzero(hidden)
    a = matrix[:, unknown]
    a = a[np.abs(a).sum(axis=1) > 0]
    if a.size == 0:
        return []
    rank = np.linalg.matrix_rank(a)
    found = []
    for k, cell in enumerate(unknown):
        unit = np.zeros(len(unknown))
        unit[k] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:  # e_k in the row space
            found.append(names[cell])
    return found


def feasible_ranges(matrix, values, hidden) -> dict[int, tuple[float, float]]:
    """For each suppressed cell, its min and max over non-negative solutions (linear programming)."""
    unknown = np.flatnonzero(hidden)
    known = np.flatnonzero(~hidden)
    a = matrix[:, unknown]
    b = -matrix[:, known] @ values[known]
    keep = np.abs(a).sum(axis=1) > 0
    a, b = a[keep], b[keep]
    ranges = {}
    for k, cell in enumerate(unknown):
        objective = np.zeros(len(unknown))
        objective[k] = 1.0
        low = linprog(objective, A_eq=a if len(a) else None, b_eq=b if len(a) else None, bounds=(0, None))
        high = linprog(-objective, A_eq=a if len(a) else None, b_eq=b if len(a) else None, bounds=(0, None))
        lo = low.fun if low.status == 0 else -np.inf
        hi = -high.fun if high.status == 0 else np.inf  # status 3: unbounded
        ranges[int(cell)] = (lo, hi)
    return ranges


def audit(counts, policy, mode, columns=None):
    counts = np.asarray(counts)
    columns = columns or [f"c{j}" for j in range(counts.shape[1])]
    table = pd.DataFrame(counts, columns=columns)
    out, report = apply_policy(table, columns, policy, totals=mode)
    system = attacker_system(counts, out, report, columns, mode)
    return out, report, system


def lines_with_one_hidden(out, report, columns, mode) -> list[str]:
    hidden = out[columns].isna().to_numpy()
    bad = []
    if mode in ("column", "both"):
        for j, name in enumerate(columns):
            k = hidden[:, j].sum() + int(pd.isna(report.column_totals[name]))
            if k == 1:
                bad.append(f"column {name}")
    if mode in ("row", "both"):
        for i in range(len(out)):
            k = hidden[i].sum() + int(pd.isna(out["total"].iloc[i]))
            if k == 1:
                bad.append(f"row {i}")
    return bad


# -- the checker itself must be able to fail ----------------------------------------------------


def test_checker_finds_a_value_recoverable_from_a_total():
    counts = np.array([[3], [20], [30], [40]])
    out = pd.DataFrame({"c0": pd.array([pd.NA, 20, 30, 40], dtype="Int64")})  # primary only
    report = type("R", (), {"column_totals": pd.Series({"c0": 93})})()
    system = attacker_system(counts, out, report, ["c0"], "column")
    assert determined_cells(*system) == ["r0c0"]
    assert feasible_ranges(*system[:3]) == {0: pytest.approx((3.0, 3.0))}


# -- one-dimensional tables -------------------------------------------------------------------


def test_single_suppressed_cell_in_a_column_gets_a_complement():
    out, report, system = audit([[3], [20], [30], [40]], ThresholdPolicy(k=10), "column")
    assert out["c0"].isna().tolist() == [True, True, False, False]  # 20 is the next smallest
    assert out["suppression"].tolist() == ["c0: primary", "c0: secondary", "", ""]
    assert report.n_primary == 1 and report.n_secondary == 1
    assert report.column_totals["c0"] == 93  # the total is still published
    assert determined_cells(*system) == []
    lo, hi = feasible_ranges(*system[:3])[0]
    assert lo == pytest.approx(0) and hi == pytest.approx(23)


def test_complement_prefers_non_zero_cells():
    out, _, system = audit([[0], [4], [0], [60], [35]], ThresholdPolicy(k=10), "column")
    assert out["c0"].isna().tolist() == [False, True, False, False, True]  # 35, not a zero
    assert determined_cells(*system) == []
    for lo, hi in feasible_ranges(*system[:3]).values():
        assert hi - lo >= 4


def test_two_small_cells_need_no_complement():
    out, report, system = audit([[3], [5], [30], [40]], ThresholdPolicy(k=10), "column")
    assert report.n_secondary == 0
    assert determined_cells(*system) == []


def test_small_total_is_itself_suppressed():
    out, report, system = audit([[3], [2], [0]], NhsDigitalPolicy(), "column")
    assert pd.isna(report.column_totals["c0"])
    assert report.total_flags == {"total of c0": "primary"}
    assert determined_cells(*system) == []


def test_no_totals_means_primary_suppression_only():
    out, report, _ = audit([[3], [20], [30]], ThresholdPolicy(k=10), "none")
    assert report.n_secondary == 0 and report.column_totals is None


# -- two-dimensional tables with marginal totals ------------------------------------------------


def test_row_with_a_single_small_cell_gets_a_complement_in_row_and_column():
    counts = [[20, 3, 30], [25, 40, 35], [50, 60, 45]]
    out, report, system = audit(counts, ThresholdPolicy(k=10), "both")
    columns = ["c0", "c1", "c2"]
    hidden = out[columns].isna().to_numpy()
    assert hidden[0, 1] and hidden.sum() >= 4  # a 2 x 2 pattern at least
    assert lines_with_one_hidden(out, report, columns, "both") == []
    assert determined_cells(*system) == []
    assert report.grand_total == sum(map(sum, counts))
    for lo, hi in feasible_ranges(*system[:3]).values():
        assert hi > lo


def test_complements_use_the_smallest_values():
    counts = [[4, 90, 80, 11], [70, 60, 50, 12], [85, 95, 75, 65]]
    out, _, system = audit(counts, ThresholdPolicy(k=10), "both")
    hidden = out[["c0", "c1", "c2", "c3"]].isna().to_numpy()
    # 4 is small; the cheapest protection hides 11 (row 0), 70 (column 0) and 12 (row 1, column 3).
    assert hidden.tolist() == [[True, False, False, True], [True, False, False, True], [False] * 4]
    assert determined_cells(*system) == []


def test_cell_left_determined_by_the_two_per_line_rule_is_protected():
    # Two 2 x 2 blocks of small cells joined by one small cell (row 0, column 2): every row and
    # column with a small cell has two, yet the joining cell is fixed by the totals (it is a
    # bridge): rows 0-1 minus columns 0-1 leave exactly it.
    big = 100
    counts = np.full((5, 5), big) + np.arange(25).reshape(5, 5)
    small = {(0, 0): 1, (0, 1): 2, (1, 0): 3, (1, 1): 4, (2, 2): 5, (2, 3): 6, (3, 2): 7, (3, 3): 8, (0, 2): 9}
    for (i, j), v in small.items():
        counts[i, j] = v
    table_only_primary = pd.DataFrame(counts, columns=[f"c{j}" for j in range(5)]).astype("Int64")
    for (i, j) in small:
        table_only_primary.iloc[i, j] = pd.NA
    table_only_primary["total"] = counts.sum(axis=1)
    fake = type("R", (), {"column_totals": pd.Series(counts.sum(axis=0), index=[f"c{j}" for j in range(5)]),
                          "grand_total": counts.sum()})()
    assert determined_cells(*attacker_system(counts, table_only_primary, fake, list(fake.column_totals.index),
                                             "both")) == ["r0c2"]
    out, report, system = audit(counts, ThresholdPolicy(k=10), "both")
    assert report.n_primary == 9 and report.n_secondary >= 1
    assert determined_cells(*system) == []


@pytest.mark.parametrize("mode", ["column", "row", "both"])
@pytest.mark.parametrize("policy", [NhsDigitalPolicy(), ThresholdPolicy(k=10)], ids=["nhs", "k10"])
def test_random_small_tables_leave_nothing_recoverable(mode, policy):
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(12):
        n, m = rng.integers(2, 7), rng.integers(2, 6)
        counts = rng.negative_binomial(1, 0.08, size=(n, m))  # skewed: many small counts, a few zeros
        out, report, system = audit(counts, policy, mode)
        columns = [f"c{j}" for j in range(m)]
        assert lines_with_one_hidden(out, report, columns, mode) == []
        assert determined_cells(*system) == [], counts
        hidden_values = system[1][system[2]]
        for cell, (lo, hi) in feasible_ranges(*system[:3]).items():
            assert hi > lo, (counts, system[3][cell])
        checked += len(hidden_values)
        # published cells are the policy's values of the true counts
        for j, name in enumerate(columns):
            shown = out[name].to_numpy(dtype=float, na_value=np.nan)
            keep = ~np.isnan(shown)
            assert np.array_equal(shown[keep], policy.publish(counts[:, j])[keep])
    assert checked > 20  # the tables did exercise suppression


def test_large_table_keeps_the_two_per_line_invariant():
    rng = np.random.default_rng(3)
    counts = rng.negative_binomial(1, 0.05, size=(2000, 6))
    columns = [f"c{j}" for j in range(6)]
    out, report = apply_policy(pd.DataFrame(counts, columns=columns), columns, NhsDigitalPolicy(), totals="both")
    assert report.n_primary > 500
    assert lines_with_one_hidden(out, report, columns, "both") == []
    assert report.n_secondary > 0
