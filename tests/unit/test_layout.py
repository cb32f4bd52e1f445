"""Architecture guard: the API process must not load the model libraries."""

from __future__ import annotations

import subprocess
import sys


def test_api_process_does_not_import_model_libraries():
    code = (
        "import sys, diarize_service.app, diarize_service.pipeline.processor; "
        "heavy = [m for m in ('torch', 'pyannote.audio', 'whisperx', 'ctranslate2', 'faster_whisper') "
        "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
