# Diarization service image.
#   CPU (default):  docker build -t diarize .
#   CUDA:           docker build --build-arg BASE_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 -t diarize:cuda .
# The PyPI torch wheel is the CUDA 12.8 build and runs on CPU too, so only the
# base image (CUDA user-space libraries for CTranslate2) differs.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PYANNOTE_METRICS_ENABLED=0 \
    HF_HUB_OFFLINE=1 \
    MODEL_CACHE_DIR=/var/lib/diarize/models \
    DATA_DIR=/var/lib/diarize/data

# CUDA base images ship no Python 3.11; install it (a no-op on python:3.11-slim).
RUN if ! command -v python3.11 >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends software-properties-common curl && \
      add-apt-repository -y ppa:deadsnakes/ppa && apt-get update && \
      apt-get install -y --no-install-recommends python3.11 python3.11-venv && \
      rm -rf /var/lib/apt/lists/*; \
    fi && \
    apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* && \
    python3.11 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN pip install --upgrade pip==25.3 && pip install -r requirements.txt -c constraints.txt

COPY diarize_service ./diarize_service
COPY main.py test_client.py ./

RUN useradd --system --uid 10001 --home /var/lib/diarize diarize && \
    mkdir -p /var/lib/diarize && chown -R diarize /var/lib/diarize
USER diarize
# Join whisper-base at build time so the first start is fast (the volume may hide it: then it is redone once).
RUN python -m diarize_service.models prepare

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD curl -fsS http://localhost:8000/health || exit 1
CMD ["python", "main.py"]
