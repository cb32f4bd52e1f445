"""bench/fresh_pool.py (issue #22): fresh calls pooled over seeds, with a bootstrap interval by call."""

from __future__ import annotations

import pytest

from bench.fresh_pool import markdown_table, pool_by_group, pooled


def _der(miss: float, false_alarm: float, confusion: float, total: float) -> dict:
    der = {"miss": miss, "false_alarm": false_alarm, "confusion": confusion, "total": total}
    return {**der, "der": (miss + false_alarm + confusion) / total}


def _row(group: str, miss: float, false_alarm: float, confusion: float, total: float) -> dict:
    return {"group": group, "der25": _der(miss, false_alarm, confusion, total)}


def test_pooled_is_error_time_over_reference_time_not_the_mean_of_calls():
    rows = [_row("calls_mono s1", 1, 0, 0, 100), _row("calls_mono s1", 2, 1, 0, 10)]
    assert pooled(rows)["der"] == pytest.approx(4 / 110)  # the mean of calls would be 0.155


def test_the_interval_holds_the_figure_and_narrows_with_more_calls():
    four = [_row("calls_mono s1", e, 0, 0, 100) for e in (2, 4, 6, 30)]
    few, many = pooled(four), pooled(four * 10)
    assert few["low"] <= few["der"] <= few["high"]
    assert few["low"] < few["der"] < few["high"]
    assert many["der"] == pytest.approx(few["der"])
    assert many["high"] - many["low"] < (few["high"] - few["low"]) / 2


def test_one_call_or_equal_calls_have_no_spread():
    one = pooled([_row("calls_mono", 3, 0, 0, 100)])
    assert (one["low"], one["der"], one["high"]) == pytest.approx((0.03, 0.03, 0.03))
    same = pooled([_row("calls_mono", 3, 0, 0, 100)] * 3)
    assert same["low"] == pytest.approx(same["high"])


def test_seeds_are_merged_by_group_and_other_groups_left_out():
    rows = [
        _row("calls_mono s1", 1, 0, 0, 100),
        _row("calls_mono s2", 3, 0, 0, 100),
        _row("calls_mono_babble s2", 9, 0, 0, 100),
        _row("calls_stereo s1", 50, 0, 0, 100),
    ]
    pools = pool_by_group(rows)
    assert list(pools) == ["calls_mono", "calls_mono_babble"]
    assert pools["calls_mono"]["calls"] == 2
    assert pools["calls_mono"]["der25"]["der"] == pytest.approx(0.02)
    # these rows have no audible reference: a dash, not a figure from another key
    assert markdown_table(pools)[2].startswith("| calls_mono | 2 | 2.0% | ")
    assert markdown_table(pools)[2].endswith("| – | – |")


def test_the_audible_reference_is_pooled_beside_the_full_one():
    rows = [
        {**_row("calls_mono s1", 20, 0, 0, 100), "der25_audible": _der(1, 0, 0, 80)},
        {**_row("calls_mono s2", 2, 0, 0, 100), "der25_audible": _der(2, 0, 0, 100)},
    ]
    pool = pool_by_group(rows)["calls_mono"]
    assert pool["der25"]["der"] == pytest.approx(22 / 200)
    assert pool["der25_audible"]["der"] == pytest.approx(3 / 180)
    assert "| calls_mono | 2 | 11.0% |" in markdown_table({"calls_mono": pool})[2]
    assert "| 1.7% |" in markdown_table({"calls_mono": pool})[2]
