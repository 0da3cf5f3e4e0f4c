#!/usr/bin/env bash
# Podman's Docker-compatible API as a third Engine for the tests (Debian 12: podman 4.3, rootful).
# See docs/engines.md.
#
#   engine-podman.sh [start]       install and configure podman, start its API service, load the test image
#   engine-podman.sh stop          stop the API service that start started (containers are left alone)
#   engine-podman.sh status        say whether the API answers; exit 1 if not
#   engine-podman.sh env           print DOCKER_HOST=... (for eval)
#   engine-podman.sh exec CMD...   run CMD with DOCKER_HOST set to podman's socket
#   engine-podman.sh run CMD...    start, exec CMD, stop (also on failure); exits with CMD's status
#
# Podman runs in the host's network namespace: a port published on 127.0.0.1 is the host's
# 127.0.0.1, as with the host's Docker Engine. It adds its own bridge (podman0 or cni-podman0) and
# iptables chains; it does not change docker0 or the Docker Engine's chains.
# Idempotent; needs root (apt-get, /etc/containers, rootful podman).
set -euo pipefail

RUN_DIR=${ENGINE_PODMAN_RUN_DIR:-/run/hydroplane-engines/podman}
SOCK=$RUN_DIR/podman.sock
PID_FILE=$RUN_DIR/service.pid
LOG=$RUN_DIR/service.log
CONF=${ENGINE_PODMAN_CONF:-/etc/containers/containers.conf}
REGISTRIES_CONF=${ENGINE_PODMAN_REGISTRIES_CONF:-/etc/containers/registries.conf.d/50-hydroplane-loopback.conf}
TEST_IMAGE=${TEST_IMAGE:-hydroplane-test/busybox:latest}
WAIT_SECONDS=${ENGINE_WAIT_SECONDS:-60}

log() { echo "engine-podman: $*"; }
die() { echo "engine-podman: $*" >&2; exit 1; }

install_podman() {
  command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1 && return
  log "installing podman and runc"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq podman runc >/tmp/engine-podman-apt.log 2>&1 || {
    tail -n 30 /tmp/engine-podman-apt.log >&2
    die "apt-get install podman runc failed (log: /tmp/engine-podman-apt.log)"
  }
}

# Sets KEY = VALUE in [SECTION] of a TOML file, leaving every other line as it is: replaces the
# key's line (or its multi-line array) when the section has it, else adds it under the section
# header, else appends the section.
toml_set() {
  local file=$1 section=$2 key=$3 value=$4 tmp
  tmp=$(mktemp)
  awk -v section="[$section]" -v key="$key" -v line="$key = $value" '
    function header(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
    skipping {
      if ($0 ~ /\]/) skipping = 0
      next
    }
    /^[ \t]*\[[^]]*\][ \t]*(#.*)?$/ {
      if (inside && !done) { print line; done = 1 }
      h = $0; sub(/#.*/, "", h)
      inside = (header(h) == section)
      seen = seen || inside
      print
      next
    }
    inside && $0 ~ "^[ \t]*" key "[ \t]*=" {
      if (!done) print line
      done = 1
      rest = $0; sub(/^[^=]*=/, "", rest)
      if (rest ~ /\[/ && rest !~ /\]/) skipping = 1
      next
    }
    { print }
    END {
      if (!done && inside) print line
      else if (!done) { if (NR > 0) print ""; print section; print line }
    }
  ' "$file" >"$tmp"
  if cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
  else
    cat "$tmp" >"$file"
    rm -f "$tmp"
    log "set $key in [$section] of $file"
    CONFIG_CHANGED=1
  fi
}

configure_podman() {
  mkdir -p "$(dirname "$CONF")"
  if [[ ! -f $CONF ]]; then
    : >"$CONF"
  elif [[ ! -f $CONF.hydroplane-orig ]]; then
    cp -p "$CONF" "$CONF.hydroplane-orig" # the file as it was before this script's first edit
  fi
  # This VM refuses podman's default ulimits (nofile 1048576), and crun is not what Debian's
  # podman finds first here; runc works.
  toml_set "$CONF" containers default_ulimits '["nofile=20000:20000", "nproc=4096:4096"]'
  toml_set "$CONF" engine runtime '"runc"'
  # Docker treats registries on 127.0.0.0/8 as insecure (plain HTTP); Podman asks for TLS unless
  # told, and its Docker API ignores tlsVerify. The tests' private registries listen on loopback.
  local want
  want=$(printf '%s\n' '# Written by scripts/engine-podman.sh: plain-HTTP registries on loopback, as Docker allows.' \
    '[[registry]]' 'location = "127.0.0.1"' 'insecure = true' '' '[[registry]]' 'location = "localhost"' 'insecure = true')
  if [[ ! -f $REGISTRIES_CONF || $(cat "$REGISTRIES_CONF") != "$want" ]]; then
    mkdir -p "$(dirname "$REGISTRIES_CONF")"
    echo "$want" >"$REGISTRIES_CONF"
    log "wrote $REGISTRIES_CONF"
    CONFIG_CHANGED=1
  fi
}

engine_answers() { curl -sf --max-time 5 --unix-socket "$SOCK" http://podman/_ping >/dev/null 2>&1; }

# The pid of the service that start started, if it still runs and is that service.
service_pid() {
  [[ -f $PID_FILE ]] || return 1
  local pid
  pid=$(cat "$PID_FILE")
  [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "system service .*unix://$SOCK" || return 1
  echo "$pid"
}

start_service() {
  if engine_answers; then
    log "the API answers on $SOCK"
    return
  fi
  if pid=$(service_pid); then
    log "the service (pid $pid) runs but does not answer yet; waiting"
  else
    mkdir -p "$RUN_DIR"
    rm -f "$SOCK"
    # setsid: the service outlives this script; -t 0: it never exits for lack of clients.
    setsid podman system service -t 0 "unix://$SOCK" >"$LOG" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    log "started podman system service (pid $!, log $LOG)"
  fi
  for ((i = 1; i <= WAIT_SECONDS; i++)); do
    if engine_answers; then
      log "the API answers on $SOCK after ${i}s"
      return
    fi
    service_pid >/dev/null || { tail -n 30 "$LOG" >&2; die "the service stopped (its log is above)"; }
    sleep 1
  done
  tail -n 30 "$LOG" >&2
  die "the API did not answer on $SOCK within ${WAIT_SECONDS}s (log above)"
}

load_test_image() {
  local want have
  want=$(docker image inspect --format '{{.Id}}' "$TEST_IMAGE" 2>/dev/null) ||
    die "the host's Docker Engine has no $TEST_IMAGE: run scripts/build-test-image.sh first"
  have=$(podman image inspect --format '{{.Id}}' "$TEST_IMAGE" 2>/dev/null || true)
  if [[ sha256:$have == "$want" || $have == "$want" ]]; then
    log "$TEST_IMAGE is loaded"
    return
  fi
  docker save "$TEST_IMAGE" | podman load -q >/dev/null
  log "loaded $TEST_IMAGE"
}

CONFIG_CHANGED=0

cmd_start() {
  install_podman
  configure_podman
  # The service reads its configuration once, when it starts.
  if ((CONFIG_CHANGED)) && service_pid >/dev/null; then
    log "the configuration changed: restarting the service"
    cmd_stop
  fi
  start_service
  load_test_image
  cat <<EOF
engine-podman: $(docker -H "unix://$SOCK" version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null || podman --version) is ready.
  export DOCKER_HOST=unix://$SOCK
  $0 stop
EOF
}

cmd_stop() {
  local pid
  if pid=$(service_pid); then
    kill "$pid"
    for ((i = 0; i < 50; i++)); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
    [[ -d /proc/$pid ]] && kill -9 "$pid"
    log "stopped the service (pid $pid)"
  fi
  rm -f "$PID_FILE" "$SOCK"
}

cmd_status() {
  if engine_answers; then
    log "runs: $(docker -H "unix://$SOCK" version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'), DOCKER_HOST=unix://$SOCK"
  else
    log "does not run"
    return 1
  fi
}

cmd_env() {
  engine_answers || die "the API does not answer: '$0 start' first"
  echo "DOCKER_HOST=unix://$SOCK"
}

cmd_exec() {
  (($# > 0)) || die "usage: $0 exec CMD..."
  engine_answers || die "the API does not answer: '$0 start' first"
  exec env DOCKER_HOST="unix://$SOCK" HYDROPLANE_ENGINE=podman "$@"
}

cmd_run() {
  (($# > 0)) || die "usage: $0 run CMD..."
  trap 'cmd_stop' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  cmd_start
  local rc=0
  env DOCKER_HOST="unix://$SOCK" HYDROPLANE_ENGINE=podman "$@" || rc=$?
  return $rc
}

command=${1:-start}
(($# > 0)) && shift
case $command in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  exec) cmd_exec "$@" ;;
  run) cmd_run "$@" ;;
  *) die "unknown command '$command' (start, stop, status, env, exec CMD..., run CMD...)" ;;
esac
