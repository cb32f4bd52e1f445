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


def test_a_run_with_a_hint_says_how_to_repeat_it_with_the_hint():
    from bench.fresh import markdown
    from bench.run import hints_sent
    from diarize_service.jobs.models import JobOptions

    hints = hints_sent(JobOptions(min_speakers=2))
    assert hints == {"min_speakers": 2}
    report = {
        "label": "x",
        "date": "d",
        "machine": "m",
        "seeds": [7],
        "n_calls": 4,
        "hints": hints,
        "groups": {},
        "rows": [],
    }
    assert "--n-calls 4 --min-speakers 2`" in markdown(report)
    assert "--n-calls 4`" in markdown({**report, "hints": hints_sent(JobOptions())})


def test_a_run_of_several_seeds_ends_with_them_pooled():
    from bench.fresh import markdown

    pooled = {"calls_mono": {"calls": 8, "der25": {"der": 0.088, "low": 0.064, "high": 0.12}}}
    report = {"label": "x", "date": "d", "machine": "m", "n_calls": 4, "groups": {}, "rows": []}
    two_seeds = markdown({**report, "seeds": [7, 8], "pooled": pooled})
    assert "| calls_mono | 8 | 8.8% | 6.4-12.0% | – | – |" in two_seeds
    assert "pooled" not in markdown({**report, "seeds": [7], "pooled": pooled})
