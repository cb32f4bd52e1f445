"""Which language each channel gets, on Afrikaans and English speech (issue #22).

The service decides a channel's language from Whisper's language distribution
over windows of its clearest speech (``pipeline/language.py``).  This runs
that decision, with the service's own probe and policy (``LANGUAGES=en,af``),
on:

* Afrikaans clips: MBROLA's Afrikaans voice and espeak-ng's own, on the
  simulated telephone line (``bench/afrikaans.py``);
* the Scottish customer of the issue (VCTK p255) on the same line at 5, 10
  and 15 dB SNR: the English voice Whisper is least sure of;
* every channel and down-mix of simulated English calls (dev seeds, and any
  fresh seeds given);

once as the service decides and once with ``HEARD_AS`` emptied (Dutch
evidence not counted as Afrikaans), and writes ``results/languages.{md,json}``::

    python -m bench.languages [--seeds 847694,800374]
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from diarize_service.config import Settings
from diarize_service.models.registry import resolve_whisper
from diarize_service.pipeline import language
from diarize_service.pipeline.asr.language_probe import probe
from diarize_service.pipeline.audio import decode_channels

from . import afrikaans, datasets
from .paths import DATA, ROOT

SCOTTISH = DATA / "utterances" / "vctk" / "p255_367.wav"
CALLS = ROOT / "bench" / "calls"


def afrikaans_clips(voice: str, tmp: Path, n: int = 8) -> Iterator[tuple[str, np.ndarray]]:
    """*n* telephone clips of four Afrikaans sentences each, at 20 and 10 dB SNR in turn."""
    for seed in range(n):
        path = tmp / f"af_{voice}_{seed}.wav"
        afrikaans.afrikaans_clip(
            path, n_sentences=4, seed=seed, snr_db=20.0 if seed % 2 == 0 else 10.0, voice=voice
        )
        yield path.stem, decode_channels(path)[0]


def scottish_clips(tmp: Path) -> Iterator[tuple[str, np.ndarray]]:
    """The issue's Scottish customer on the line: 3 SNRs x 6 noise seeds."""
    speech, rate = sf.read(SCOTTISH, dtype="float64")
    speech = resample_poly(speech, 16000, rate)
    speech = speech / np.max(np.abs(speech)) * 0.3
    for snr in (5.0, 10.0, 15.0):
        for seed in range(6):
            path = tmp / f"p255_{snr:.0f}db_{seed}.wav"
            sf.write(path, afrikaans.telephone(speech, seed, snr), 8000, subtype="PCM_16")
            yield path.stem, decode_channels(path)[0]


def call_channels(directory: Path) -> Iterator[tuple[str, np.ndarray]]:
    """Each line of the simulated stereo calls in *directory*, and their down-mix (a mono upload)."""
    for item in datasets.simulated_calls(directory, stereo=True):
        lines = decode_channels(item.audio)
        yield f"{item.name}.agent", lines[0]
        yield f"{item.name}.customer", lines[1]
        yield f"{item.name}.mix", lines.mean(axis=0)


def decisions(windows: list[language.Window], policy: language.LanguagePolicy) -> dict[str, dict]:
    """The channel's decision as the service makes it, and without Dutch counted as Afrikaans."""
    out = {}
    for name, rules in (("service", policy), ("without_heard_as", replace(policy, heard_as=()))):
        call, _ = language.decide([windows], rules)
        out[name] = {"language": call.language, "probability": round(call.probability, 3)}
    return out


def summary(rows: list[dict], key: str) -> str:
    chosen = Counter(r[key]["language"] for r in rows)
    probs = [r[key]["probability"] for r in rows]
    counts = ", ".join(f"{lang} {n}" for lang, n in chosen.most_common())
    return f"{counts} (p min {min(probs):.2f}, median {statistics.median(probs):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="", help="fresh call seeds to add to the dev seeds 1-3")
    parser.add_argument("--n-calls", type=int, default=4, help="calls per fresh seed")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    from diarize_service.pipeline.asr.transcriber import Transcriber

    settings = Settings()
    spec = resolve_whisper(settings.whisper_model, settings.model_cache_dir, False)
    model = Transcriber(spec, cpu_threads=2).model  # the service's own model settings
    policy = language.LanguagePolicy.from_setting(
        settings.languages,
        settings.language_confidence_floor,
        settings.default_language,
        settings.language_switch_confidence,
    )
    tmp = CALLS / "languages"
    tmp.mkdir(parents=True, exist_ok=True)
    sets: dict[str, Iterator[tuple[str, np.ndarray]]] = {}
    if afrikaans.available():
        sets["Afrikaans, MBROLA af1"] = afrikaans_clips(afrikaans.VOICE, tmp)
    if afrikaans.available("af"):
        sets["Afrikaans, espeak-ng af"] = afrikaans_clips("af", tmp)
    sets["Scottish English (p255)"] = scottish_clips(tmp)
    for seed in (1, 2, 3):  # the dev calls the benchmark keeps
        sets[f"English calls, dev seed {seed}"] = call_channels(
            datasets.make_calls(CALLS / f"seed{seed}_n6", seed, 6)
        )
    for seed in [int(s) for s in args.seeds.split(",") if s]:
        directory = datasets.make_calls(CALLS / f"fresh_seed{seed}_n{args.n_calls}", seed, args.n_calls)
        sets[f"English calls, fresh seed {seed}"] = call_channels(directory)
    rows: list[dict] = []
    lines = [
        "# Language decisions with and without Dutch counted as Afrikaans",
        "",
        f"`python -m bench.languages{' --seeds ' + args.seeds if args.seeds else ''}`; "
        f"Whisper `{settings.whisper_model}`, LANGUAGES={settings.languages}.",
        "",
        "| set | items | service (HEARD_AS) | without HEARD_AS |",
        "|---|---|---|---|",
    ]
    for name, items in sets.items():
        group = []
        for item, audio in items:
            windows = probe(model, np.asarray(audio, dtype=np.float32))
            group.append({"set": name, "item": item, **decisions(windows, policy)})
            print(name, group[-1], flush=True)
        rows += group
        lines.append(
            f"| {name} | {len(group)} | {summary(group, 'service')} | {summary(group, 'without_heard_as')} |"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "languages.json").write_text(json.dumps(rows, indent=1))
    (args.out / "languages.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
