"""Disclosure policies: values on known counts, options, serialisation, errors, raster masking."""

import numpy as np
import pandas as pd
import pytest

from gis_desk.analysis.disclosure import (
    NhsDigitalPolicy,
    NoDisclosureControl,
    ThresholdPolicy,
    apply_policy,
    mask_raster,
    parse_policy,
    policy_from_dict,
    public_flags,
)
from gis_desk.errors import DataError, ParameterError


def published(values, policy, **kw):
    table = pd.DataFrame({"n": values})
    out, report = apply_policy(table, ["n"], policy, totals="none", **kw)
    return [None if pd.isna(v) else int(v) for v in out["n"]], out, report


def test_nhs_digital_values_on_known_counts():
    values, out, report = published([0, 1, 5, 7, 8, 12, 13], NhsDigitalPolicy())
    assert values == [0, None, None, None, 10, 10, 15]
    assert list(out["suppression"]) == ["", "n: primary", "n: primary", "n: primary", "", "", ""]
    assert report.n_primary == 3 and report.n_secondary == 0
    assert str(out["n"].dtype) == "Int64"


def test_nhs_digital_rounds_every_published_count_to_a_multiple_of_five():
    counts = np.arange(0, 200)
    values, _, _ = published(counts, NhsDigitalPolicy())
    for count, value in zip(counts, values):
        if 1 <= count <= 7:
            assert value is None
        else:
            assert value % 5 == 0 and abs(value - count) <= 2


def test_nhs_digital_zero_option():
    values, _, _ = published([0, 3, 9], NhsDigitalPolicy(suppress_zero=True))
    assert values == [None, None, 10]
    assert NhsDigitalPolicy().min_count == 8


def test_threshold_policy_default_k_is_ten():
    values, _, _ = published([0, 1, 9, 10, 11, 25], ThresholdPolicy())
    assert values == [0, None, None, 10, 11, 25]
    assert ThresholdPolicy().min_count == 10


def test_threshold_policy_other_k_and_zero_option():
    assert published([0, 2, 3, 4], ThresholdPolicy(k=3))[0] == [0, None, 3, 4]
    assert published([0, 2, 3, 4], ThresholdPolicy(k=3, suppress_zero=True))[0] == [None, None, 3, 4]


def test_no_disclosure_control_passes_counts_through_and_needs_a_reason():
    values, out, report = published([0, 1, 7, 12], NoDisclosureControl("public IMD ranks"))
    assert values == [0, 1, 7, 12]
    assert report.n_primary == 0
    with pytest.raises(ParameterError):
        NoDisclosureControl("  ")


@pytest.mark.parametrize("policy", [NhsDigitalPolicy(), NhsDigitalPolicy(suppress_zero=True), ThresholdPolicy(k=5),
                                    ThresholdPolicy(k=12, suppress_zero=True), NoDisclosureControl("boundaries")])
def test_policies_round_trip_as_plain_data(policy):
    data = policy.to_dict()
    assert policy_from_dict(data) == policy
    assert isinstance(policy.describe(), str) and len(policy.describe()) > 30
    assert policy.label.startswith(policy.name)


def test_describe_states_the_rule():
    assert "1 to 7" in NhsDigitalPolicy().describe() and "nearest 5" in NhsDigitalPolicy().describe()
    assert "1 to 9" in ThresholdPolicy().describe()
    assert "zeros are suppressed" in ThresholdPolicy(suppress_zero=True).describe()


def test_parse_policy_for_the_command_line():
    assert parse_policy("nhs") == NhsDigitalPolicy()
    assert parse_policy("NHS-Digital,zero") == NhsDigitalPolicy(suppress_zero=True)
    assert parse_policy("threshold") == ThresholdPolicy(k=10)
    assert parse_policy("threshold:5") == ThresholdPolicy(k=5)
    assert parse_policy("k=3,zero") == ThresholdPolicy(k=3, suppress_zero=True)
    for bad in ("", "k=", "threshold:x", "gdpr"):
        with pytest.raises(ParameterError):
            parse_policy(bad)


def test_bad_policy_parameters():
    for k in (0, -1, 2.5, True):
        with pytest.raises(ParameterError):
            ThresholdPolicy(k=k)
    with pytest.raises(DataError):
        policy_from_dict({"kind": "secret"})


def test_apply_policy_rejects_bad_tables():
    table = pd.DataFrame({"n": [1, 2], "x": [0.5, 1.0], "neg": [3, -1], "gap": [1.0, np.nan], "text": ["a", "b"]})
    with pytest.raises(DataError, match="no count column 'missing'"):
        apply_policy(table, ["missing"], NhsDigitalPolicy())
    with pytest.raises(DataError, match="'x'.*whole counts"):
        apply_policy(table, ["x"], NhsDigitalPolicy())
    with pytest.raises(DataError, match="'neg'"):
        apply_policy(table, ["neg"], NhsDigitalPolicy())
    with pytest.raises(DataError, match="fill missing counts with 0"):
        apply_policy(table, ["gap"], NhsDigitalPolicy())
    with pytest.raises(DataError, match="not numbers"):
        apply_policy(table, ["text"], NhsDigitalPolicy())
    with pytest.raises(ParameterError):
        apply_policy(table, ["n"], None)
    with pytest.raises(ParameterError):
        apply_policy(table, [], NhsDigitalPolicy())
    with pytest.raises(ParameterError):
        apply_policy(table, ["n"], NhsDigitalPolicy(), totals="diagonal")
    with pytest.raises(ParameterError, match="already has a column 'x'"):
        apply_policy(table, ["n"], NhsDigitalPolicy(), flag_column="x")


def test_apply_policy_keeps_other_columns_and_index():
    table = pd.DataFrame({"area": ["a", "b", "c"], "n": [3.0, 20.0, 30.0]}, index=[10, 11, 12])
    out, report = apply_policy(table, ["n"], ThresholdPolicy())
    assert list(out.index) == [10, 11, 12]
    assert list(out["area"]) == ["a", "b", "c"]
    assert table["n"].tolist() == [3.0, 20.0, 30.0]  # the input is not modified
    assert report.column_totals["n"] == 53


def test_public_flags_do_not_say_which_cells_are_small():
    table = pd.DataFrame({"a": [3, 20, 30], "b": [40, 50, 2]})
    out, report = apply_policy(table, ["a", "b"], ThresholdPolicy(), totals="both")
    assert "primary" in out["suppression"].iloc[0]
    flags = public_flags(out)
    assert all("primary" not in f and "secondary" not in f for f in flags)
    for i, flag in enumerate(flags):
        hidden = [c for c in ("a", "b", "total") if pd.isna(out[c].iloc[i])]
        assert flag == "; ".join(hidden)
    assert "small counts, and cells hidden" in report.public_summary()
    assert str(report.n_primary + report.n_secondary) in report.public_summary()


# -- raster masking ---------------------------------------------------------------------------


def test_mask_raster_hides_cells_with_few_records():
    values = np.arange(12, dtype=float).reshape(3, 4)
    counts = np.array([[0, 1, 9, 10], [11, 3, 50, 7], [10, 10, 10, 2]])
    masked = mask_raster(values, counts, k=10, nodata=-9999)
    assert np.array_equal(masked.mask, counts < 10)
    assert np.array_equal(masked.compressed(), values[counts >= 10])
    assert masked.filled()[0, 0] == -9999
    assert values[0, 0] == 0  # input untouched


def test_mask_raster_keeps_existing_mask_and_masks_nan():
    values = np.ma.MaskedArray(np.ones((2, 2)), mask=[[True, False], [False, False]])
    values[1, 1] = np.nan
    masked = mask_raster(values, np.full((2, 2), 20), k=8)
    assert masked.mask.tolist() == [[True, False], [False, True]]


def test_mask_raster_errors():
    with pytest.raises(DataError, match="record-count grid"):
        mask_raster(np.zeros((2, 3)), np.zeros((3, 2)), 5)
    with pytest.raises(DataError):
        mask_raster(np.zeros((2, 2)), -np.ones((2, 2)), 5)
    with pytest.raises(ParameterError):
        mask_raster(np.zeros((2, 2)), np.ones((2, 2)), -1)
