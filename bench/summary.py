"""The benchmark's report: per-group sums of the per-item rows, and the markdown tables.

Separate from :mod:`.run` (which runs the pipeline and scores each item) so
that other benches (``fresh``, ``ablation``) summarise rows the same way.
"""

from __future__ import annotations

import math
from typing import Any

from . import audibility


def _sum(rows, key, sub):
    return sum(r[key][sub] for r in rows if key in r)


def aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    audio = sum(r["audio_seconds"] for r in rows)
    agg: dict[str, Any] = {"items": len(rows), "audio_seconds": round(audio, 1)}
    for key in ("der0", "der25", "segments_der25", "der_mdeval25", "der25_audible", "names25"):
        total = _sum(rows, key, "total")
        agg[key] = {
            part: round(_sum(rows, key, part) / total, 4) if total else math.nan
            for part in ("miss", "false_alarm", "confusion")
        }
        agg[key]["der"] = round(sum(agg[key].values()), 4)
    for key, rate in (("wer", "wer"), ("cpwer", "cpwer")):
        ref = _sum(rows, key, "ref_words")
        agg[rate] = round(_sum(rows, key, "errors") / ref, 4) if ref else None
    counted = _sum(rows, "attribution", "words_counted")
    agg["word_attribution"] = (
        round(
            sum(
                r["attribution"]["word_attribution"] * r["attribution"]["words_counted"]
                for r in rows
                if "attribution" in r
            )
            / counted,
            4,
        )
        if counted
        else None
    )
    stages: dict[str, float] = {}
    for r in rows:
        for stage, seconds in r["timings"].items():
            stages[stage] = stages.get(stage, 0.0) + seconds
    agg["rtf"] = {stage: round(seconds / audio, 4) for stage, seconds in sorted(stages.items())}
    agg["rtf"]["pipeline_wall"] = round(sum(r["wall_seconds"] for r in rows) / audio, 4)
    agg["speaker_count_correct"] = sum(r["hyp_speakers"] == r["ref_speakers"] for r in rows)
    if all("api_seconds" in r for r in rows):
        agg["rtf"]["api_end_to_end"] = round(sum(r["api_seconds"] for r in rows) / audio, 4)
    if all("plain_whisper_seconds" in r for r in rows):
        plain = sum(r["plain_whisper_seconds"] for r in rows)
        agg["rtf"]["plain_faster_whisper"] = round(plain / audio, 4)
        if all("api_seconds" in r for r in rows):
            agg["api_vs_plain_whisper"] = round(sum(r["api_seconds"] for r in rows) / plain, 2)
    return agg


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Benchmark `{report['label']}`",
        "",
        f"{report['machine']}; WHISPER_MODEL={report['settings']['whisper_model']}, "
        f"DEVICE={report['settings']['device']}, "
        f"COMPUTE_TYPE={report['settings'].get('compute_type', 'default')}; peak RSS (all processes) "
        f"{report['peak_rss_mb']:.0f} MB; {report['date']}.",
        "",
        "DER c=0.25 is pyannote.metrics' `collar=0.25` (0.125 s forgiven on each side of a reference "
        "boundary); DER ±0.25 s is md-eval's `-c 0.25` convention (0.25 s each side, pyannote `collar=0.5`). "
        "audible: c=0.25 against the simulated calls' reference without the speech that is "
        f"{-audibility.INAUDIBLE_SNR_DB:.0f} dB or more under the line noise for {audibility.MIN_RUN} s "
        "or longer (bench/audibility.py). names: c=0.25 without the optimal speaker mapping, each "
        "speaker counted only under the name split mode must give them (Agent, Agent_2 for a "
        "supervisor, Customer; pyannote.metrics' identification error rate).",
        "",
        "| group | files | audio (s) | DER c=0 | DER c=0.25 (miss/FA/conf) | DER ±0.25 s | audible "
        "| names | segments DER c=0.25 | WER | cpWER | word attr. | spk count ok |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for group, a in report["groups"].items():
        d = a["der25"]

        def pct(x):
            return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"

        lines.append(
            f"| {group} | {a['items']} | {a['audio_seconds']} | {pct(a['der0']['der'])} | "
            f"{pct(d['der'])} ({pct(d['miss'])}/{pct(d['false_alarm'])}/{pct(d['confusion'])}) | "
            f"{pct(a['der_mdeval25']['der'])} | {pct(a['der25_audible']['der'])} | "
            f"{pct(a['names25']['der'])} | "
            f"{pct(a['segments_der25']['der'])} | "
            f"{pct(a['wer'])} | {pct(a['cpwer'])} | "
            f"{pct(a['word_attribution'])} | {a['speaker_count_correct']}/{a['items']} |"
        )
    lines += ["", "Real-time factors (seconds of processing per second of audio):", ""]
    stages = sorted({s for a in report["groups"].values() for s in a["rtf"]})
    lines.append("| group | " + " | ".join(stages) + " |")
    lines.append("|---|" + "---|" * len(stages))
    for group, a in report["groups"].items():
        lines.append(
            f"| {group} | " + " | ".join(f"{a['rtf'].get(s, float('nan')):.3f}" for s in stages) + " |"
        )
    for group, a in report["groups"].items():
        if "api_vs_plain_whisper" in a:
            lines.append(
                f"\n{group}: API end-to-end time = {a['api_vs_plain_whisper']}x plain faster-whisper."
            )
    return "\n".join(lines) + "\n"
