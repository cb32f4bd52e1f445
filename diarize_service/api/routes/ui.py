"""The web console (issue #21): ``/ui``, ``/ui/jobs/{job_id}``, its assets, and the player's audio.

The console is a handful of static files in ``diarize_service/web/`` (plain
ES modules, CSS and SVG drawn by the scripts), served by the service itself:
no front-end server, no build step, no CDN, so it works offline on the box
that holds the calls.  The pages and scripts hold no call data, which is why
``RequestGateMiddleware`` lets ``/ui`` through without a key; everything the
console shows comes from the JSON API with the key in a header.

Every console response carries a strict Content-Security-Policy (scripts and
styles from this origin only, no inline script, nothing fetched elsewhere) and
``nosniff``: a transcript is text typed by nobody we trust, and the policy is
what keeps it from ever running as script.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from ..auth import ClientDep
from ..deps import AudioDep, StoreDep
from ..errors import ProblemError
from .jobs import _load as load_job  # the ownership and expiry checks of every job route

router = APIRouter()

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
_ASSET = re.compile(r"[a-z0-9][a-z0-9_-]*\.(js|css|svg)")
_MEDIA_TYPES = {
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
# no-cache: revalidate (ETag) so an upgraded service never runs yesterday's scripts against today's API
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_PROBLEM = {"content": {"application/problem+json": {}}}


def _page(name: str) -> FileResponse:
    return FileResponse(WEB_DIR / name, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)


@router.get("/ui", include_in_schema=False)
@router.get("/ui/", include_in_schema=False)
async def console_home() -> FileResponse:
    """Upload calls and follow the job list."""
    return _page("index.html")


@router.get("/ui/jobs/{job_id}", include_in_schema=False)
async def console_call(job_id: Annotated[str, PathParam(max_length=100)]) -> FileResponse:
    """Review one call; the page reads the job id from its own address and asks the API."""
    return _page("job.html")


@router.get("/ui/static/{name}", include_in_schema=False)
async def console_asset(name: str) -> FileResponse:
    """A script, style sheet or icon of the console (a flat folder: no paths, no other types)."""
    match = _ASSET.fullmatch(name)
    path = WEB_DIR / name
    if match is None or not path.is_file():
        raise ProblemError(404, "Not found", f"The console has no file '{name[:100]}'.")
    return FileResponse(path, media_type=_MEDIA_TYPES[match[1]], headers=SECURITY_HEADERS)


@router.get(
    "/jobs/{job_id}/audio",
    tags=["jobs"],
    response_class=FileResponse,
    responses={
        200: {"content": {"audio/ogg": {}}, "description": "The playback copy, Ogg/Opus"},
        404: {"description": "No such job, or no playback copy kept", **_PROBLEM},
        410: {"description": "Result expired", **_PROBLEM},
    },
)
async def job_audio(job_id: str, store: StoreDep, audio: AudioDep, client: ClientDep) -> FileResponse:
    """The call's compressed playback copy, kept only with ``KEEP_PLAYBACK_COPY=true``.

    It is erased with the result (``RESULT_TTL_SECONDS``, ``DELETE /jobs/{job_id}``).
    Not cached by the browser: it is personal data.
    """
    job = load_job(store, job_id, client)
    path = audio.playback_path(job.id)  # the stored id, never the caller's text, names the file
    if not path.is_file():
        raise ProblemError(
            404,
            "No audio kept",
            "The service keeps no audio of this call: a playback copy is kept only for completed jobs "
            "when KEEP_PLAYBACK_COPY is on (off by default, for POPIA).",
        )
    return FileResponse(
        path,
        media_type="audio/ogg",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
