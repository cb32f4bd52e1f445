"""Every error leaves the API as RFC 9457 ``application/problem+json``, from here.

Routes raise :class:`ProblemError` (or let validation fail); the handlers
below turn those, FastAPI's validation errors, unknown routes and anything
unexpected into one JSON shape, so clients need one error parser and never
see an HTML page or a bare 500 for their own mistakes.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Send

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger(__name__)


class ProblemError(Exception):
    """An error the client should see, with its HTTP status."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers
        self.extra = extra


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body["instance"] = str(request.url.path)
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def infrastructure_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean a backing service (database, broker, bucket) cannot be reached."""
    import sqlalchemy.exc

    kinds: list[type[BaseException]] = [sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError]
    try:
        import kombu.exceptions
        import redis.exceptions

        kinds += [
            kombu.exceptions.OperationalError,
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
        ]
    except ImportError:  # pragma: no cover - cluster extras not installed
        pass
    try:
        import botocore.exceptions

        kinds += [botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError]
    except ImportError:  # pragma: no cover
        pass
    return tuple(kinds)


def unavailable(exc: BaseException) -> ProblemError:
    """503: the job database, the broker or the audio bucket is unreachable; clients retry."""
    log.warning("backing service unreachable", error=type(exc).__name__)
    return ProblemError(
        503,
        "Service unavailable",
        "A backing service (job database, queue broker or audio storage) cannot be reached; retry shortly.",
        headers={"Retry-After": "5"},
    )


async def send_problem(
    send: Send, status: int, title: str, detail: str, path: str, headers: dict[str, str] | None = None
) -> None:
    """The same problem body, sent from ASGI middleware (which answers before any route runs)."""
    body = json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": path}
    ).encode()
    raw = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(request, exc.status, exc.title, exc.detail, exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"), "message": err.get("msg")}
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(request, 422, "Invalid request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
        return problem_response(
            request, exc.status_code, title, str(exc.detail), getattr(exc, "headers", None)
        )

    for kind in infrastructure_errors():

        @app.exception_handler(kind)
        async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
            problem = unavailable(exc)
            return problem_response(request, 503, problem.title, problem.detail, problem.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return problem_response(request, 500, "Internal server error", "An unexpected error occurred.")
