#!/usr/bin/env bash
# Makes sure a Docker Engine answers on this machine, for the integration tests and CI.
# Idempotent: does nothing when `docker info` already works. Needs root to install or start
# the daemon (CI runners and the dev container are root).
set -euo pipefail

LOG=${DOCKERD_LOG:-/tmp/dockerd.log}
WAIT_SECONDS=${DOCKERD_WAIT_SECONDS:-60}

engine_answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_answers; then
  echo "ensure-docker: the Docker Engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  echo "ensure-docker: installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y docker.io
fi

if command -v pgrep >/dev/null 2>&1 && pgrep -x dockerd >/dev/null 2>&1; then
  echo "ensure-docker: dockerd is running but does not answer yet; waiting for it"
else
  echo "ensure-docker: starting dockerd (log: $LOG)"
  # setsid: the daemon must outlive this script and the shell that ran it.
  setsid dockerd >"$LOG" 2>&1 < /dev/null &
fi

for ((i = 1; i <= WAIT_SECONDS; i++)); do
  if engine_answers; then
    echo "ensure-docker: the Docker Engine answers after ${i}s"
    exit 0
  fi
  if ((i % 5 == 0)); then echo "ensure-docker: still waiting for dockerd (${i}s of ${WAIT_SECONDS}s)"; fi
  sleep 1
done

echo "ensure-docker: dockerd did not answer within ${WAIT_SECONDS}s. Last lines of $LOG:" >&2
tail -n 30 "$LOG" >&2 || true
exit 1
