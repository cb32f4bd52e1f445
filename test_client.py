#!/usr/bin/env python3
"""Send a call to the diarization service and save the result.

    python test_client.py --audio call.mp3 --output results.json [--server http://localhost:8000]
    python test_client.py --audio call.wav --format srt --output call.srt

Uploads the file, shows a progress bar while the job runs, writes the result
(JSON by default; txt, srt, vtt or rttm with --format) and prints the
transcript.  Exits non-zero with the server's explanation when anything goes
wrong (bad file, server down, job failed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console(stderr=True, soft_wrap=True)


class ClientError(Exception):
    pass


def _problem(response: httpx.Response) -> str:
    """Best human-readable message from an application/problem+json response."""
    try:
        body = response.json()
        return f"{body.get('title', response.reason_phrase)}: {body.get('detail', '')}".strip()
    except ValueError:
        return f"HTTP {response.status_code} {response.reason_phrase}"


def submit(client: httpx.Client, audio: Path, fields: dict[str, str]) -> str:
    with audio.open("rb") as fh:
        response = client.post("/diarize", files={"audio_file": (audio.name, fh)}, data=fields)
    if response.status_code != 202:
        raise ClientError(f"upload rejected ({response.status_code}) - {_problem(response)}")
    return response.json()["job_id"]


def wait(client: httpx.Client, job_id: str, timeout: float, interval: float) -> dict:
    deadline = time.monotonic() + timeout
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"job {job_id[:8]}", total=1.0, stage="queued")
        while True:
            response = client.get(f"/status/{job_id}")
            if response.status_code != 200:
                raise ClientError(f"status check failed ({response.status_code}) - {_problem(response)}")
            status = response.json()
            progress.update(task, completed=status["progress"], stage=status.get("stage") or status["status"])
            if status["status"] == "completed":
                return status
            if status["status"] == "failed":
                raise ClientError(f"job failed: {status.get('error')}")
            if time.monotonic() > deadline:
                raise ClientError(f"gave up after {timeout:.0f} s; the job is still {status['status']}")
            time.sleep(interval)


def show(result: dict) -> None:
    out = Console(soft_wrap=True)
    out.print(result["transcript"], markup=False, highlight=False)
    table = Table(
        title=f"{result['total_speakers']} speakers, {result['audio_duration']:.1f} s audio, "
        f"processed in {result['processing_time']:.1f} s, language {result['language']}"
    )
    for column in ("speaker", "talk time (s)", "%", "segments", "words"):
        table.add_column(column)
    for name, s in result["speakers"].items():
        table.add_row(
            name,
            f"{s['total_duration']:.1f}",
            f"{s['percentage']:.1f}",
            str(s["segment_count"]),
            str(s["word_count"]),
        )
    out.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--audio", type=Path, required=True, help="MP3, WAV, M4A or FLAC file")
    parser.add_argument(
        "--output", type=Path, help="where to write the result (default: results.<format>, e.g. results.json)"
    )
    parser.add_argument("--server", default="http://localhost:8000")
    parser.add_argument("--num-speakers", type=int)
    parser.add_argument("--min-speakers", type=int)
    parser.add_argument("--max-speakers", type=int)
    parser.add_argument("--language", help="e.g. en, af (default: detect)")
    parser.add_argument(
        "--format",
        choices=["json", "txt", "srt", "vtt", "rttm"],
        default="json",
        help="format of the --output file",
    )
    parser.add_argument("--channel-mode", choices=["auto", "mixed", "split"])
    parser.add_argument("--redact-pii", action="store_true")
    parser.add_argument("--api-key", help="API key, if the server requires one")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the job")
    parser.add_argument("--poll-interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    args.output = args.output or Path(f"results.{args.format}")

    if not args.audio.is_file():
        console.print(f"[red]error:[/red] no such file: {args.audio}")
        return 2
    fields = {
        k: str(v)
        for k, v in {
            "num_speakers": args.num_speakers,
            "min_speakers": args.min_speakers,
            "max_speakers": args.max_speakers,
            "language": args.language,
            "channel_mode": args.channel_mode,
            "redact_pii": "true" if args.redact_pii else None,
        }.items()
        if v is not None
    }
    try:
        headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
        with httpx.Client(
            base_url=args.server, timeout=httpx.Timeout(60, connect=10), headers=headers
        ) as client:
            job_id = submit(client, args.audio, fields)
            console.print(f"submitted {args.audio.name} as job {job_id}")
            status = wait(client, job_id, args.timeout, args.poll_interval)
            if args.format == "json":
                output = json.dumps(status["result"], indent=2, ensure_ascii=False)
            else:
                response = client.get(f"/jobs/{job_id}/result", params={"format": args.format})
                if response.status_code != 200:
                    raise ClientError(
                        f"could not fetch {args.format} ({response.status_code}) - {_problem(response)}"
                    )
                output = response.text
    except httpx.TransportError as exc:
        console.print(f"[red]error:[/red] cannot reach {args.server}: {exc}")
        return 1
    except ClientError as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 1
    args.output.write_text(output)
    show(status["result"])
    console.print(f"result written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
