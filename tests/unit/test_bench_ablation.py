"""bench/ablation.py (issue #22, ask 3): a rule taken out in the child process, and how it is scored."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.ablation import ROOT, RULES, child_env, compare, pooled


def run_child(env: dict[str, str], code: str) -> str:
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_a_patched_rule_hands_its_input_back_in_the_child_and_its_children(tmp_path):
    code = (
        "import diarize_service.pipeline.channels.speech as s; "
        "print(s.drop_near_floor(['kept'], None, None), s.drop_background.__name__)"
    )
    assert run_child(child_env(RULES["near_floor_regions"], tmp_path), code) == "['kept'] drop_background"
    assert run_child(child_env(None, tmp_path), "import bench.ablation; print('plain')") == "plain"
    with pytest.raises(subprocess.CalledProcessError):  # without the patch the real rule runs on bad input
        run_child(child_env(None, tmp_path), code)


def test_the_two_mono_level_rules_come_out_one_at_a_time(tmp_path):
    """Both run inside without_background: taking one out must leave the other in."""
    code = (
        "import diarize_service.pipeline.background as b; "
        "print(b.drop_background_turns(['kept'], None, None), b.cut_floor_pauses.__name__)"
    )
    assert run_child(child_env(RULES["mono_background"], tmp_path), code) == "['kept'] cut_floor_pauses"
    code = "import diarize_service.pipeline.background as b; print(b.cut_floor_pauses(['kept'], None, None))"
    assert run_child(child_env(RULES["mono_floor_pauses"], tmp_path), code) == "['kept']"


def test_a_setting_rule_reaches_the_child_settings(tmp_path):
    code = "from diarize_service.config import Settings; print(Settings(_env_file=None).turn_reassignment)"
    assert run_child(child_env(RULES["turn_reassignment"], tmp_path), code) == "False"


def row(item: str, der: float, total: float = 10.0, errors: int = 1) -> dict:
    return {
        "group": "g",
        "item": item,
        "der25": {"der": der, "total": total},
        "wer": {"errors": errors, "ref_words": 10},
    }


def test_pooled_scores_and_the_calls_a_rule_helps_or_hurts():
    base = [row("a", 0.10), row("b", 0.20, total=30.0)]
    without = [row("a", 0.30, errors=2), row("b", 0.20, total=30.0)]
    assert pooled(base) == pytest.approx((1.0 + 6.0) / 40.0)
    assert pooled(base, "wer") == pytest.approx(2 / 20)
    c = compare(base, without)
    assert (c["helps"], c["hurts"], c["calls"]) == (1, 0, 2)
    assert c["der_without"] == pytest.approx((3.0 + 6.0) / 40.0) and c["wer_without"] == pytest.approx(3 / 20)
    assert c["largest_help"] == pytest.approx(0.2) and c["largest_hurt"] == 0.0
