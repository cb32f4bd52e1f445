"""Entry point: ``python main.py`` (or ``uvicorn main:app``) starts the API."""

import uvicorn

from diarize_service.app import create_app
from diarize_service.config import Settings

app = create_app()

if __name__ == "__main__":
    settings = Settings()
    uvicorn.run(
        "main:app",
        host=settings.host,
        port=settings.port,
        workers=settings.api_workers,
        # uvicorn's HTTP/1.1 protocol plus a deadline for request headers (slow-loris clients)
        http="diarize_service.api.http_protocol:GuardedHttpProtocol",
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        log_level=settings.log_level.lower(),
    )
