"""``docs/configuration.md``: every setting of :class:`~diarize_service.config.Settings` as a table.

Generated like ``.env.example`` (:func:`diarize_service.config.render_env_example`),
from the fields' descriptions and defaults, so the page cannot drift from the code::

    python -m diarize_service.config_docs > docs/configuration.md

A test keeps the committed file in sync.  Fields are grouped by the section
comments in ``config.py`` (``# --- models ---`` and so on), in class order.
"""

from __future__ import annotations

import inspect
import re
import typing
from pathlib import Path

from pydantic.fields import FieldInfo

from .config import Settings

_SECTION = re.compile(r"^\s*#\s*-{3}\s*(?P<name>[^-]+?)\s*-{3,}\s*$")
_FIELD = re.compile(r"^\s*(?P<name>[a-z_][a-z0-9_]*)\s*:")


def _sections() -> dict[str, str]:
    """field name -> the section comment above it in ``Settings`` ("" before the first one)."""
    section = ""
    found: dict[str, str] = {}
    for line in inspect.getsource(Settings).splitlines():
        if match := _SECTION.match(line):
            section = match["name"].strip()
        elif (match := _FIELD.match(line)) and match["name"] in Settings.model_fields:
            found.setdefault(match["name"], section)
    return found


def _default(field: FieldInfo) -> str:
    default = field.default
    if default is None or default == "":
        return "–"
    if isinstance(default, bool):
        default = str(default).lower()
    elif isinstance(default, Path):
        default = default.as_posix()
    return f"`{default}`"


def _cell(text: str) -> str:
    """Markdown table cell: one line, no column breaks, no text taken for an HTML tag.

    ``<`` is escaped outside code spans only; inside them Markdown shows it as written.
    """
    parts = " ".join(text.split()).replace("|", "\\|").split("`")
    return "`".join(part if i % 2 else part.replace("<", "&lt;") for i, part in enumerate(parts))


def _meaning(field: FieldInfo) -> str:
    text = field.description or ""
    if typing.get_origin(field.annotation) is typing.Literal:
        values = ", ".join(f"`{v}`" for v in typing.get_args(field.annotation))
        text = f"{text} One of {values}." if text else f"One of {values}."
    return _cell(text)


def render_configuration_md() -> str:
    """The text of ``docs/configuration.md``."""
    sections = _sections()
    lines = [
        "# Configuration",
        "",
        "<!-- Generated from diarize_service.config.Settings: "
        "python -m diarize_service.config_docs > docs/configuration.md -->",
        "",
        "Every setting of the service, with its default. Settings are environment variables "
        "(case-insensitive) or lines of a `.env` file in the working directory, read at start-up; "
        "[`.env.example`](../.env.example) lists the same settings ready to copy. "
        "The [README](../README.md#configuration) explains the main ones.",
    ]
    current: str | None = None
    for name, field in Settings.model_fields.items():
        section = sections.get(name, "")
        if section != current:
            current = section
            title = section.capitalize() if section else "General"
            lines += ["", f"## {title}", "", "| variable | default | meaning |", "|---|---|---|"]
        lines.append(f"| `{name.upper()}` | {_default(field)} | {_meaning(field)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_configuration_md(), end="")
