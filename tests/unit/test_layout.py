"""Architecture guards: the API process must not load the model libraries.

Also: no module (service, bench, tools or tests) grows past
``MAX_MODULE_LINES`` (issue #20), and nothing under ``pipeline/`` imports
from ``jobs/``, ``api/`` or ``storage/`` (imports point downward only).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "diarize_service"
MAX_MODULE_LINES = 400
ABOVE_THE_PIPELINE = ("diarize_service.jobs", "diarize_service.api", "diarize_service.storage")


def test_api_process_does_not_import_model_libraries():
    code = (
        "import sys, diarize_service.app, diarize_service.pipeline.processor; "
        "heavy = [m for m in ('torch', 'pyannote.audio', 'whisperx', 'ctranslate2', 'faster_whisper') "
        "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_module_is_over_the_line_limit():
    repo = PACKAGE.parent
    files = [
        *repo.glob("*.py"),
        *(p for d in ("diarize_service", "bench", "tools", "tests") for p in (repo / d).rglob("*.py")),
    ]
    sizes = {path: len(path.read_text().splitlines()) for path in files}
    too_long = {str(path.relative_to(PACKAGE.parent)): n for path, n in sizes.items() if n > MAX_MODULE_LINES}
    assert sizes and not too_long, f"over {MAX_MODULE_LINES} lines: {too_long}"


def imported_modules(source: str, path: Path) -> set[str]:
    """Every module *source* (the text of *path*) imports, lazy imports too, as absolute dotted names."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1]  # for __init__.py, the package itself
    names: set[str] = set()
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def upward_imports(source: str, path: Path) -> list[str]:
    return sorted(
        name
        for name in imported_modules(source, path)
        if any(name == top or name.startswith(top + ".") for top in ABOVE_THE_PIPELINE)
    )


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "pipeline").rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_pipeline_does_not_import_from_the_service_above_it(path):
    upward = upward_imports(path.read_text(), path)
    assert not upward, f"{path.relative_to(PACKAGE)} imports {upward}"


@pytest.mark.parametrize(
    ("module", "source", "found"),
    [
        ("processor.py", "from ..jobs.models import JobOptions", "diarize_service.jobs.models"),
        ("output/result.py", "from ... import storage", "diarize_service.storage"),
        ("asr/__init__.py", "from ...api import deps", "diarize_service.api.deps"),
        ("workers.py", "def f():\n    import diarize_service.jobs.runner", "diarize_service.jobs.runner"),
        ("channels/speech.py", "from diarize_service.storage import job_store", "diarize_service.storage"),
    ],
)
def test_the_import_guard_sees_relative_absolute_and_lazy_imports(module, source, found):
    assert found in upward_imports(source, PACKAGE / "pipeline" / module)


def test_the_import_guard_resolves_the_pipelines_own_imports():
    path = PACKAGE / "pipeline" / "channels" / "voices.py"
    names = imported_modules(path.read_text(), path)
    assert {"diarize_service.pipeline.types", "diarize_service.pipeline.channels.speech"} <= names
    assert "diarize_service.pipeline.diarization.reassignment.join_touching" in names
