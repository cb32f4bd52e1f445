"""The Celery application both cluster roles share: one task, whose message is a job id.

The message never carries audio or options -- the job store holds those, and
is the truth; a message only says "this job may be waiting".  That makes
every delivery guarantee the brokers give (and don't) safe:

* ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is
  acknowledged only when its job has finished, so a worker's death returns
  it to the queue (RabbitMQ: at once; Redis: after the visibility timeout);
* the worker *claims* the job in the store before running it, so a message
  delivered twice (redelivery, the sweeper's resend) runs the job once;
* ``worker_prefetch_multiplier=1``: a worker holds no more messages than it
  runs, so a busy worker never sits on jobs an idle one could take;
* the visibility timeout (Redis) is longer than the longest job, so Redis
  does not redeliver a message whose job is still running; a worker that
  died is caught sooner by its lease (the sweeper), not by Redis.
"""

from __future__ import annotations

from celery import Celery

from ..config import Settings

TASK = "diarize.run_job"
QUEUE = "celery"  # Celery's default queue: the Redis list KEDA's scaler watches (k8s-keda.yaml)


def make_celery(settings: Settings) -> Celery:
    app = Celery("diarize", broker=settings.broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        broker_transport_options={"visibility_timeout": int(settings.job_timeout_seconds + 600)},
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    return app


def send_jobs(app: Celery, job_ids: list[str]) -> list[str]:
    """Publish one message per job; returns the ids sent (stops at the first broker failure)."""
    sent: list[str] = []
    with app.producer_or_acquire() as producer:
        for job_id in job_ids:
            app.send_task(TASK, args=[job_id], producer=producer, retry=False)
            sent.append(job_id)
    return sent


def queue_length(app: Celery) -> int:
    """Messages waiting in the broker's queue (not those a worker holds)."""
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        return int(channel.queue_declare(queue=QUEUE, durable=True, auto_delete=False).message_count)


def ping_broker(app: Celery) -> None:
    """Raise when the broker cannot be reached within a few seconds."""
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=3)
