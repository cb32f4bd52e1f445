"""Enrolled voices with the real models (issue #23), through the API as a new user would use it.

Simulated 8 kHz calls from the dev pool (bench/identify_calls.py makes
them the same way): each voice's recordings are split in two, so the call a
voice is enrolled from and the call it is named in share no second of its
audio, and the two calls differ in partner and line noise.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from pyannote.core import Segment
from pyannote.database.util import load_rttm

from bench.identify_calls import make_call, voice_halves
from diarize_service.api.auth import hash_key
from diarize_service.app import create_app
from diarize_service.config import Settings

pytestmark = pytest.mark.models

ALICE, BOB = "alice-key-0123456789", "bob-key-9876543210"
AGENT, FILE_AGENT = "ls_250", "ls_367"  # dev voices; their halves hold 7 s and 37 s of speech
BABBLE = ("ls_1081", "ls_1235", "ls_2182", "ls_2384", "ls_2691", "ls_118")  # other people on the line


@pytest.fixture(scope="module")
def calls(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """(wav, rttm) per call, and a recording of FILE_AGENT alone."""
    out = tmp_path_factory.mktemp("voices")
    halves, records = voice_halves(out)
    babble = [r for voice in BABBLE for r in records[voice]]

    def two(voice: str, half: int | None, partner: str) -> dict[str, list[dict]]:
        return {voice: records[voice] if half is None else halves[voice][half], partner: records[partner]}

    made = {
        # Thandi's first call: white line noise, an ARCTIC customer
        "enrol": make_call(out, "enrol", 2306, two(AGENT, 0, "arctic_aew"), [], "white"),
        # her next call: another customer, other people talking on the line
        "next": make_call(out, "next", 2356, two(AGENT, 1, "vctk_p238"), babble, "babble", stereo=True),
        # two people nobody enrolled
        "unknown": make_call(out, "unknown", 2381, two("ls_2764", None, "ls_2691"), [], "pink"),
        # Sipho on a call, pink noise
        "sipho": make_call(out, "sipho", 2372, two(FILE_AGENT, 1, "ls_1081"), [], "pink"),
    }
    pieces, rate = [], 16_000
    for record in halves[FILE_AGENT][0]:  # Sipho reads into a headset: 16 kHz, no line, no noise
        audio, rate = sf.read(record["file"], dtype="float32")
        pieces += [audio, np.zeros(rate // 2, dtype=np.float32)]
    sf.write(out / "sipho.wav", np.concatenate(pieces), rate)
    made["sipho_recording"] = (out / "sipho.wav", out / "sipho.wav")
    return made


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("data"),
        whisper_model="tiny.en",
        model_cache_dir=Path("var/models"),
        api_keys=f"{hash_key(ALICE)},{hash_key(BOB)}",
    )
    with TestClient(create_app(settings)) as client:
        yield client


def process(client: TestClient, wav: Path, key: str, **fields: str) -> dict:
    with wav.open("rb") as fh:
        files = {"audio_file": (wav.name, fh)}
        response = client.post("/diarize", files=files, data=fields, headers={"X-API-Key": key})
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        body = client.get(f"/status/{job_id}", headers={"X-API-Key": key}).json()
        if body["status"] in ("completed", "failed"):
            assert body["status"] == "completed", body
            return {"job_id": job_id, **body["result"]}
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish")


def label_of(result: dict, rttm: Path, voice: str) -> str:
    """The result's speaker that holds most of *voice*'s reference speech (what a reader would pick)."""
    reference = next(iter(load_rttm(rttm).values()))
    held: dict[str, float] = {}
    for turn in result["diarization"]:
        cropped = reference.crop(Segment(turn["start"], turn["end"]), mode="intersection")
        for segment, _, ref in cropped.itertracks(yield_label=True):
            if ref == voice:
                held[turn["speaker"]] = held.get(turn["speaker"], 0.0) + segment.duration
    return max(held, key=held.__getitem__)


def test_an_agent_enrolled_from_one_call_is_named_in_her_next_call_until_deleted(service, calls):
    alice, bob = {"X-API-Key": ALICE}, {"X-API-Key": BOB}
    # 1. process a call; 2. enrol its agent from the result, by name
    first = process(service, calls["enrol"][0], ALICE)
    agent = label_of(first, calls["enrol"][1], AGENT)
    assert re.fullmatch(r"Speaker_0\d", agent) and "identified" not in first
    fields = {"name": "Thandi", "role": "agent", "job_id": first["job_id"], "speaker": agent}
    enrolled = service.post("/speakers", data=fields, headers=alice)
    assert enrolled.status_code == 201, enrolled.text
    thandi = enrolled.json()["speaker_id"]

    # 3. her next call, another customer and babble on the line: the transcript reads "Thandi [..]: ..."
    second = process(service, calls["next"][0], ALICE)
    assert set(second["identified"]) == {"Thandi"} and second["identified"]["Thandi"]["speaker_id"] == thandi
    print(f"\nThandi's next call: similarity {second['identified']['Thandi']['similarity']}")
    assert label_of(second, calls["next"][1], AGENT) == "Thandi"  # the right speaker got the name
    assert second["speakers"]["Thandi"]["role"] == "agent"
    assert re.search(r"^Thandi \[\d+\.\d\ds - \d+\.\d\ds\]: ", second["transcript"], re.M)
    assert [s for s in second["speakers"] if s != "Thandi"] == [
        label_of(second, calls["next"][1], "vctk_p238")
    ]
    assert all(re.fullmatch(r"Speaker_0\d", s) for s in second["speakers"] if s != "Thandi")
    stats = service.get(f"/speakers/{thandi}/stats", headers=alice).json()
    assert stats["calls"] == 1 and stats["job_ids"] == [second["job_id"]] and stats["talk_time"] > 5

    # two people nobody enrolled are not named
    unknown = process(service, calls["unknown"][0], ALICE)
    assert unknown["identified"] == {} and "Thandi" not in unknown["transcript"]

    # split by channel: her channel's label becomes her name, and the channel's label is her role
    wav = calls["next"][0]
    roles = json.loads((wav.parent / "index.json").read_text())["calls"][0]["speakers"]
    channel = "Agent" if roles[AGENT] == "agent" else "Customer"
    split = process(service, wav.with_name(wav.stem + ".stereo.wav"), ALICE, channel_mode="split")
    assert split["channel_mode"] == "split" and set(split["identified"]) == {"Thandi"}
    print(f"split call: similarity {split['identified']['Thandi']['similarity']}")
    assert channel not in split["speakers"] and split["speakers"]["Thandi"]["role"] == channel
    assert set(split["speakers"]) == {"Thandi", {"Agent": "Customer", "Customer": "Agent"}[channel]}

    # another API key does not see Alice's voices, nor are they matched in its calls
    assert service.get("/speakers", headers=bob).json()["speakers"] == []
    assert service.delete(f"/speakers/{thandi}", headers=bob).status_code == 404
    assert "identified" not in process(service, calls["next"][0], BOB)

    # 4. delete the voice: no later call names it
    assert service.delete(f"/speakers/{thandi}", headers=alice).status_code == 204
    after = process(service, calls["next"][0], ALICE)
    assert "identified" not in after and "Thandi" not in after["transcript"]


def test_an_agent_enrolled_from_a_recording_of_her_voice_is_named_in_a_call(service, calls):
    alice = {"X-API-Key": ALICE}
    with calls["sipho_recording"][0].open("rb") as fh:
        upload = {"audio_file": ("sipho.wav", fh)}
        enrolled = service.post(
            "/speakers", data={"name": "Sipho", "role": "agent"}, files=upload, headers=alice
        )
    assert enrolled.status_code == 201, enrolled.text
    assert enrolled.json()["speech_seconds"] > 15 and enrolled.json()["source_job_id"] is None
    result = process(service, calls["sipho"][0], ALICE)
    assert "Sipho" in result["identified"], result["identified"]
    print(f"\nSipho's call: similarity {result['identified']['Sipho']['similarity']}")
    assert label_of(result, calls["sipho"][1], FILE_AGENT) == "Sipho"
    assert result["speakers"]["Sipho"]["role"] == "agent"
    with calls["sipho_recording"][0].open("rb") as fh:  # the same recording again: its speech counts once
        again = service.post(
            f"/speakers/{enrolled.json()['speaker_id']}/samples",
            files={"audio_file": ("sipho.wav", fh)},
            headers=alice,
        )
    assert again.status_code == 409, again.text
    assert service.delete(f"/speakers/{enrolled.json()['speaker_id']}", headers=alice).status_code == 204
