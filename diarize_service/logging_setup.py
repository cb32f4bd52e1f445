"""structlog configuration: console logs for people, JSON for log shippers.

Values that come from clients (file names, URLs) are logged with their
control characters escaped: a file name holding ``\\r\\n`` or a terminal
escape sequence must not forge log lines or repaint an operator's terminal.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog


def printable(text: str) -> str:
    """*text* with control and other non-printable characters (bidi overrides too) escaped."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _escape(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list | tuple):
        return type(value)(_escape(v) for v in value)
    return value


def escape_control_characters(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: every string value with its control characters escaped."""
    return {key: _escape(value) if key != "exception" else value for key, value in event.items()}


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    logging.basicConfig(format="%(message)s", level=level.upper())
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            escape_control_characters,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
