#!/usr/bin/env bash
# A second Docker Engine for the tests: Debian 13's docker.io (Engine 26.1, API 1.45) running
# nested in a container of the host's Engine, in a network namespace of its own so that it never
# touches the host's bridges, iptables or docker0. See docs/engines.md.
#
#   engine-docker26.sh [start]      build the image (cached), start the Engine, load the test image
#   engine-docker26.sh stop         remove exactly what start created
#   engine-docker26.sh status       say whether it runs; exit 1 if not
#   engine-docker26.sh env          print DOCKER_HOST=... and HYDROPLANE_ENGINE_PID=... (for eval)
#   engine-docker26.sh exec CMD...  run CMD in the Engine's network namespace with DOCKER_HOST set
#   engine-docker26.sh run CMD...   start, exec CMD, stop (also on failure); exits with CMD's status
#
# Ports that the nested Engine publishes on 127.0.0.1 are on 127.0.0.1 of ITS namespace, so a
# test that connects to them runs there: `exec`/`run` enter only the network namespace
# (nsenter -n), so the program, files and the bind-mounted socket are the host's.
# Idempotent; needs root (debootstrap, nsenter). Never touches containers, networks or volumes
# that it did not create (each carries the label hydroplane.engine=docker26).
set -euo pipefail

SUITE=${ENGINE_DOCKER26_SUITE:-trixie}
PACKAGES=docker.io,iptables,ca-certificates
NAME=${ENGINE_DOCKER26_NAME:-hydroplane-engine-docker26}
LABEL=hydroplane.engine=docker26
RUN_DIR=${ENGINE_DOCKER26_RUN_DIR:-/run/hydroplane-engines/docker26}
SOCK=$RUN_DIR/docker.sock
CACHE_DIR=${ENGINE_CACHE_DIR:-/var/cache/hydroplane/engines}
TEST_IMAGE=${TEST_IMAGE:-hydroplane-test/busybox:latest}
WAIT_SECONDS=${ENGINE_WAIT_SECONDS:-90}
# The inner Engine's containers get cgroups of their own, not the host Engine's /docker/<id>.
INNER_CGROUP_PARENT=$NAME
INNER_ARGS=(-H "unix:///run/hydroplane-engine/docker.sock" --cgroup-parent "/$INNER_CGROUP_PARENT")
# Every capability the host grants but SYS_RESOURCE, which this kind of VM withholds (so
# --privileged fails), and PERFMON, BPF and CHECKPOINT_RESTORE, which Engine 20.10 does not know.
CAPS=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE
  NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO
  SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE
  AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND
  AUDIT_READ)

log() { echo "engine-docker26: $*"; }
die() { echo "engine-docker26: $*" >&2; exit 1; }

# The key names what goes into the image: a new suite, package list or entrypoint builds anew.
cache_key() { printf '%s\n' "$SUITE" "$PACKAGES" "v1" | sha256sum | cut -c1-12; }
IMAGE=hydroplane-engine/docker26:$SUITE-$(cache_key)
ROOTFS_TAR=$CACHE_DIR/docker26-$SUITE-$(cache_key).tar

# The Debian mirror this machine's apt uses (deb822 or one-line sources), else deb.debian.org.
apt_mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' |
    grep -v -e security -e '^$' | grep '/debian/\?$' | head -n1 || true)
  if [[ -z $uri && -f /etc/apt/sources.list ]]; then
    uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' /etc/apt/sources.list |
      grep -v security | grep '/debian/\?$' | head -n1 || true)
  fi
  echo "${ENGINE_DOCKER26_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}

build_image() {
  if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "image $IMAGE is cached in the host's Engine"
    return
  fi
  if [[ ! -s $ROOTFS_TAR ]]; then
    command -v debootstrap >/dev/null 2>&1 || {
      log "installing debootstrap"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
    }
    local mirror
    mirror=$(apt_mirror)
    log "debootstrap $SUITE from $mirror (a few minutes; cached in $ROOTFS_TAR)"
    # A subshell, so that its EXIT trap (removing the half-built rootfs) leaves run's trap alone.
    (
      rootfs=$(mktemp -d /var/tmp/hydroplane-docker26-rootfs.XXXXXX)
      trap 'rm -rf "$rootfs" "$ROOTFS_TAR.partial"' EXIT
      debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
        tail -n 30 "$rootfs.log" >&2
        die "debootstrap failed (full log: $rootfs.log)"
      }
      rm -f "$rootfs.log"
      mkdir -p "$CACHE_DIR"
      tar --numeric-owner -C "$rootfs" -cf "$ROOTFS_TAR.partial" .
      mv "$ROOTFS_TAR.partial" "$ROOTFS_TAR"
    )
  fi
  log "importing $ROOTFS_TAR as $IMAGE"
  docker import \
    --change 'ENTRYPOINT ["/usr/sbin/dockerd"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL $LABEL" \
    --message "Hydroplane test Engine: Debian $SUITE docker.io" \
    "$ROOTFS_TAR" "$IMAGE" >/dev/null
}

container_ours() {
  [[ $(docker container inspect --format '{{ index .Config.Labels "hydroplane.engine" }}' "$NAME" 2>/dev/null) == docker26 ]]
}
container_exists() { docker container inspect "$NAME" >/dev/null 2>&1; }
engine_pid() { docker container inspect --format '{{.State.Pid}}' "$NAME" 2>/dev/null; }
engine_answers() { curl -sf --max-time 5 --unix-socket "$SOCK" http://engine/_ping >/dev/null 2>&1; }

start_container() {
  if container_exists; then
    container_ours || die "a container named $NAME exists and is not ours (no label $LABEL): remove it or set ENGINE_DOCKER26_NAME"
    local image running
    image=$(docker container inspect --format '{{.Config.Image}}' "$NAME")
    running=$(docker container inspect --format '{{.State.Running}}' "$NAME")
    if [[ $image == "$IMAGE" && $running == true ]]; then
      log "container $NAME runs"
      return
    fi
    log "replacing container $NAME (image $image, running $running)"
    docker rm -f "$NAME" >/dev/null
  fi
  if docker network inspect "$NAME" >/dev/null 2>&1; then
    [[ $(docker network inspect --format '{{ index .Labels "hydroplane.engine" }}' "$NAME") == docker26 ]] ||
      die "a network named $NAME exists and is not ours"
  else
    docker network create --label "$LABEL" "$NAME" >/dev/null
  fi
  if docker volume inspect "$NAME" >/dev/null 2>&1; then
    [[ $(docker volume inspect --format '{{ index .Labels "hydroplane.engine" }}' "$NAME") == docker26 ]] ||
      die "a volume named $NAME exists and is not ours"
  else
    docker volume create --label "$LABEL" "$NAME" >/dev/null
  fi
  mkdir -p "$RUN_DIR"
  rm -f "$SOCK"
  local caps=()
  for cap in "${CAPS[@]}"; do caps+=(--cap-add "$cap"); done
  docker run -d --name "$NAME" --label "$LABEL" \
    --network "$NAME" --hostname docker26 \
    "${caps[@]}" \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --device-cgroup-rule 'a *:* rwm' \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
    -e DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1 \
    -v "$NAME:/var/lib/docker" \
    -v "$RUN_DIR:/run/hydroplane-engine" \
    --tmpfs /run --tmpfs /tmp \
    "$IMAGE" "${INNER_ARGS[@]}" >/dev/null
  log "started container $NAME"
}

wait_for_engine() {
  for ((i = 1; i <= WAIT_SECONDS; i++)); do
    if engine_answers; then
      log "the nested Engine answers on $SOCK after ${i}s"
      return
    fi
    if [[ $(docker container inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null) != true ]]; then
      docker logs --tail 30 "$NAME" >&2 || true
      die "the nested Engine stopped (its log is above); '$0 stop' cleans up"
    fi
    sleep 1
  done
  docker logs --tail 30 "$NAME" >&2 || true
  die "the nested Engine did not answer on $SOCK within ${WAIT_SECONDS}s (its log is above)"
}

load_test_image() {
  local want have
  want=$(docker image inspect --format '{{.Id}}' "$TEST_IMAGE" 2>/dev/null) ||
    die "the host's Engine has no $TEST_IMAGE: run scripts/build-test-image.sh first"
  have=$(docker -H "unix://$SOCK" image inspect --format '{{.Id}}' "$TEST_IMAGE" 2>/dev/null || true)
  if [[ $have == "$want" ]]; then
    log "$TEST_IMAGE is loaded"
    return
  fi
  docker save "$TEST_IMAGE" | docker -H "unix://$SOCK" load -q >/dev/null
  log "loaded $TEST_IMAGE"
}

remove_cgroups() {
  # The inner Engine removes its containers' cgroups when it stops; this clears what a kill left.
  local dir
  for dir in /sys/fs/cgroup/*/"$INNER_CGROUP_PARENT" /sys/fs/cgroup/"$INNER_CGROUP_PARENT"; do
    [[ -d $dir ]] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

cmd_start() {
  docker info >/dev/null 2>&1 || die "the host's Docker Engine does not answer (scripts/ensure-docker.sh starts it)"
  build_image
  start_container
  wait_for_engine
  load_test_image
  local pid version
  pid=$(engine_pid)
  version=$(docker -H "unix://$SOCK" version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')
  cat <<EOF
engine-docker26: Docker Engine $version is ready.
  export DOCKER_HOST=unix://$SOCK
  nsenter -t $pid -n -- CMD...          # CMD in its network namespace (its 127.0.0.1)
  $0 exec CMD...   # the same, with DOCKER_HOST set
  $0 stop
EOF
}

cmd_stop() {
  if container_exists; then
    container_ours || die "the container named $NAME is not ours; left alone"
    # A graceful stop lets the inner Engine stop its containers and remove their cgroups.
    docker stop -t 20 "$NAME" >/dev/null 2>&1 || true
    docker rm -f "$NAME" >/dev/null
    log "removed container $NAME"
  fi
  if docker network inspect "$NAME" >/dev/null 2>&1; then
    if [[ $(docker network inspect --format '{{ index .Labels "hydroplane.engine" }}' "$NAME") == docker26 ]]; then
      docker network rm "$NAME" >/dev/null
      log "removed network $NAME"
    fi
  fi
  if docker volume inspect "$NAME" >/dev/null 2>&1; then
    if [[ $(docker volume inspect --format '{{ index .Labels "hydroplane.engine" }}' "$NAME") == docker26 ]]; then
      docker volume rm "$NAME" >/dev/null
      log "removed volume $NAME"
    fi
  fi
  remove_cgroups
  rm -f "$SOCK"
  rmdir "$RUN_DIR" 2>/dev/null || true
}

cmd_status() {
  if container_exists && container_ours && engine_answers; then
    log "runs: $(docker -H "unix://$SOCK" version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'), pid $(engine_pid), DOCKER_HOST=unix://$SOCK"
  else
    log "does not run"
    return 1
  fi
}

cmd_env() {
  engine_answers || die "the nested Engine does not run: '$0 start' first"
  echo "DOCKER_HOST=unix://$SOCK"
  echo "HYDROPLANE_ENGINE_PID=$(engine_pid)"
}

cmd_exec() {
  (($# > 0)) || die "usage: $0 exec CMD..."
  engine_answers || die "the nested Engine does not run: '$0 start' first"
  exec nsenter -t "$(engine_pid)" -n -- env DOCKER_HOST="unix://$SOCK" HYDROPLANE_ENGINE=docker26 "$@"
}

cmd_run() {
  (($# > 0)) || die "usage: $0 run CMD..."
  trap 'cmd_stop' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  cmd_start
  local rc=0
  nsenter -t "$(engine_pid)" -n -- env DOCKER_HOST="unix://$SOCK" HYDROPLANE_ENGINE=docker26 "$@" || rc=$?
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
