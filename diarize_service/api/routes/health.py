"""Liveness/readiness (``/health``) and Prometheus metrics (``/metrics``)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ...jobs.models import JobStatus
from ..deps import ServicesDep
from ..errors import unavailable
from ..schemas import HealthOut

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=HealthOut)
async def health(services: ServicesDep, response: Response) -> HealthOut:
    """200 when jobs can be taken; 503 while starting, or (cluster) while the store or broker is down.

    A cluster replica holds no models: it is ready when the job store and the
    broker answer; the workers report on their own metrics port.
    """
    if services.ready is not None:
        try:
            await services.ready()
        except Exception as exc:
            raise unavailable(exc) from exc
    workers = services.workers
    loaded = workers.ready if workers is not None else True
    models = {}
    if workers is not None:
        models = {
            "asr": str(workers.asr.info.get("model", "")),
            "diarization": str(workers.diarization.info.get("model", "")),
        }
    if not loaded:
        response.status_code = 503
    return HealthOut(
        status="ok" if loaded else "starting",
        mode=services.settings.service_mode,
        models_loaded=loaded,
        device=services.settings.device,
        models=models,
        queue_depth=services.store.count(JobStatus.QUEUED),
        jobs_running=services.runner.running,
        max_concurrent_jobs=services.settings.max_concurrent_jobs,
    )


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
