#!/usr/bin/env bash
# One entry point for people and CI.
#
#   ./build.sh run           set up (venv, models) and start the API on :8000
#   ./build.sh cluster       the cluster on this machine: PostgreSQL, Redis, APIs on :8000/:8001, 2 workers
#   ./build.sh test          set up and run lint + the test suite (CI calls this)
#   ./build.sh bench         accuracy/speed benchmark -> bench/results/
#   ./build.sh setup         only create/refresh .venv and prepare the bundled models
#   ./build.sh lint          ruff
#   ./build.sh mutation      break core lines one at a time; each must fail a test (tools/mutation_check.py)
#   ./build.sh full          docker compose build + up (foreground)
#   ./build.sh deploy-local  docker compose up -d, wait for /health
#   ./build.sh deploy-k8s    kubectl apply -f k8s-deployment.yaml
set -euo pipefail

cd "$(dirname "$0")"
VENV=${VENV:-.venv}
PY=${PYTHON:-}
export PYANNOTE_METRICS_ENABLED=0
export HF_HUB_DISABLE_TELEMETRY=1

pick_python() {
  if [[ -n "$PY" ]]; then echo "$PY"; return; fi
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
      echo "$candidate"; return
    fi
  done
  echo "error: Python 3.11 is required (torch 2.8 / whisperx 3.8 wheels); set PYTHON=/path/to/python3.11" >&2
  exit 1
}

# A first install is ~9 GB (torch's CUDA libraries); pip half-way through it on a full disk
# fails with a bare "[Errno 28]" and leaves a broken venv. Say so before starting instead.
NEEDED_GB=${NEEDED_GB:-10}
check_disk() {
  local free_gb
  free_gb=$(( $(df -Pk "$1" | awk 'NR == 2 {print $4}') / 1024 / 1024 ))
  if (( free_gb < NEEDED_GB )); then
    echo "error: $free_gb GB free where $1 lives; installing needs about $NEEDED_GB GB" \
         "(torch with its CUDA libraries). Free some space, or set VENV to a roomier disk." >&2
    exit 1
  fi
}

# Create the venv and install pinned deps; skipped when nothing changed.
setup() {
  local want="$1"  # requirements.txt or requirements-dev.txt
  local stamp="$VENV/.installed-$(basename "$want" .txt)"
  local digest
  digest=$(cat requirements.txt "$want" constraints.txt | sha256sum | cut -d' ' -f1)
  if [[ ! -x "$VENV/bin/python" ]]; then
    "$(pick_python)" -m venv "$VENV"
  fi
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$digest" ]]; then
    check_disk "$VENV"
    echo ">> installing $want into $VENV (first time: ~9 GB incl. torch, several minutes)"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip==25.3
    "$VENV/bin/python" -m pip install --quiet -r "$want" -c constraints.txt
    echo "$digest" > "$stamp"
  fi
  echo ">> preparing bundled models"
  "$VENV/bin/python" -m diarize_service.models prepare
}

# Debian packages the tests and the local cluster need, installed once when missing (as root, with
# apt-get: CI and containers); otherwise the tests that need them say what is missing.
#   chromium, chromium-driver   the web console's browser tests (tests/browser)
#   redis-server, postgresql    the cluster tests and ./build.sh cluster (real broker and database)
#   espeak-ng, mbrola-af1       Afrikaans speech for the language tests (issue #22, bench/afrikaans.py)
need_packages() {
  local missing=() pair
  for pair in "$@"; do  # package:file-that-proves-it-is-installed
    [[ -e "${pair#*:}" ]] || missing+=("${pair%%:*}")
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo ">> missing Debian packages (needs root + apt-get): ${missing[*]}" >&2
    return
  fi
  echo ">> installing ${missing[*]}"
  local main=() nonfree=() package
  for package in "${missing[@]}"; do
    if [[ $package == mbrola* ]]; then nonfree+=("$package"); else main+=("$package"); fi
  done
  [[ ${#nonfree[@]} -gt 0 ]] && add_debian_nonfree
  apt-get update -qq
  if [[ ${#main[@]} -gt 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${main[@]}"
  fi
  if [[ ${#nonfree[@]} -gt 0 ]] &&
     ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${nonfree[@]}"; then
    echo ">> could not install ${nonfree[*]} (Debian non-free): the Afrikaans language tests will be skipped" >&2
  fi
}

# MBROLA's Afrikaans voice is in Debian's non-free section, which slim images leave out of
# their sources: list it (for this machine's release) before installing the voice.
add_debian_nonfree() {
  local list=/etc/apt/sources.list.d/diarize-nonfree.sources codename
  [[ -f $list || ! -f /etc/debian_version ]] && return
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [[ -n $codename ]] || return 0
  printf '%s\n' "Types: deb" "URIs: http://deb.debian.org/debian" "Suites: $codename" \
    "Components: contrib non-free" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" > "$list"
}

TEST_PACKAGES=(chromium:/usr/bin/chromium chromium-driver:/usr/bin/chromedriver
               redis-server:/usr/bin/redis-server postgresql:/usr/lib/postgresql/15/bin/initdb
               espeak-ng:/usr/bin/espeak-ng mbrola:/usr/bin/mbrola mbrola-af1:/usr/share/mbrola/af1)
CLUSTER_PACKAGES=(redis-server:/usr/bin/redis-server postgresql:/usr/lib/postgresql/15/bin/initdb)

cmd=${1:-help}
shift || true
case "$cmd" in
  setup)
    setup requirements.txt
    ;;
  run)
    setup requirements.txt
    [[ -f .env ]] || echo ">> no .env: using defaults (see .env.example)"
    exec "$VENV/bin/python" main.py "$@"
    ;;
  test)
    setup requirements-dev.txt
    need_packages "${TEST_PACKAGES[@]}"
    "$VENV/bin/ruff" check .
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  lint)
    setup requirements-dev.txt
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    ;;
  mutation)
    setup requirements-dev.txt
    exec "$VENV/bin/python" tools/mutation_check.py "$@"
    ;;
  cluster)
    setup requirements.txt
    need_packages "${CLUSTER_PACKAGES[@]}"
    exec "$VENV/bin/python" -m tools.cluster "$@"
    ;;
  bench)
    setup requirements-dev.txt
    exec "$VENV/bin/python" -m bench.run "$@"
    ;;
  full)
    docker compose build
    exec docker compose up
    ;;
  deploy-local)
    docker compose up -d --build
    echo ">> waiting for http://localhost:8000/health"
    for _ in $(seq 1 120); do
      if curl -fsS http://localhost:8000/health >/dev/null 2>&1; then echo ">> up"; exit 0; fi
      sleep 5
    done
    echo "service did not become healthy; see: docker compose logs" >&2
    exit 1
    ;;
  deploy-k8s)
    kubectl apply -f k8s-deployment.yaml
    kubectl rollout status deployment/diarization-api --timeout=15m
    kubectl rollout status deployment/diarization-worker --timeout=30m
    ;;
  help|*)
    sed -n '2,14p' "$0"
    ;;
esac
