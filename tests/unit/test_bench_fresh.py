"""bench/fresh.py (issue #22, ask 3): the fresh-seed report names each call's voices and DER per group."""

from __future__ import annotations

from bench.fresh import per_call_table


def _row(group: str, item: str, der: float, voices: list[str] | None) -> dict:
    row = {"group": group, "item": item, "der25": {"der": der}}
    if voices is not None:
        row["ref_labels"] = voices
    return row


def test_each_call_is_one_line_with_its_voices_and_every_groups_der():
    rows = [
        _row("calls_mono s7", "dev_s7_000", 0.05, ["fsdd_jackson", "vctk_p238"]),
        _row("calls_stereo s7", "dev_s7_000.stereo", 0.02, ["fsdd_jackson", "vctk_p238"]),
        _row("calls_mono s7", "dev_s7_001", 0.494, ["vctk_p238", "vctk_p335"]),
    ]
    lines = per_call_table(rows)
    assert "| call | voices | calls_mono | calls_stereo |" in lines
    assert "| dev_s7_000 | fsdd_jackson, vctk_p238 | 5.0% | 2.0% |" in lines
    # a group the call was not run in shows a dash, not another call's figure
    assert "| dev_s7_001 | vctk_p238, vctk_p335 | 49.4% | – |" in lines


def test_rows_from_before_the_voices_were_kept_still_render():
    assert "| dev_s7_000 | – | 5.0% |" in per_call_table([_row("calls_mono s7", "dev_s7_000", 0.05, None)])
