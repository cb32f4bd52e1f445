"""Cluster mode: API replicas without models, and model workers fed by a Celery broker.

``queue`` is the Celery application both roles share; ``dispatcher`` is what
an API replica uses to hand jobs to workers and to sweep the store;
The worker process itself
is :mod:`diarize_service.worker`.
"""
