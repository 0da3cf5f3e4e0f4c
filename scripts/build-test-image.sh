#!/usr/bin/env bash
# Builds the image that the Docker integration tests run, without any registry: a busybox rootfs
# made into an image with `docker import`. Usage: build-test-image.sh [NAME:TAG]
# Quick when the image exists and was built by this same script (its hash is a label).
set -euo pipefail

IMAGE=${1:-hydroplane-test/busybox:latest}
BUSYBOX=/bin/busybox
HASH_LABEL=hydroplane.test-image.hash
APPLETS=(sh httpd sleep echo cat env wget nc ls kill true false hostname mkdir)

if [[ ! -x $BUSYBOX ]]; then
  echo "build-test-image: installing busybox-static"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y busybox-static
fi

hash=$(cat "${BASH_SOURCE[0]}" "$BUSYBOX" | sha256sum | cut -c1-16)
current=$(docker image inspect --format "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$IMAGE" 2>/dev/null || true)
if [[ $current == "$hash" ]]; then
  echo "build-test-image: $IMAGE is up to date"
  exit 0
fi

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,etc,tmp,www}
chmod 1777 "$rootfs/tmp"
cp "$BUSYBOX" "$rootfs/bin/busybox"
for applet in "${APPLETS[@]}"; do
  ln -s busybox "$rootfs/bin/$applet"
done
# Debian's busybox has no printenv applet.
cat >"$rootfs/bin/printenv" <<'SCRIPT'
#!/bin/sh
[ $# -eq 0 ] && exec env
rc=0
for name in "$@"; do
  awk -v n="$name" 'BEGIN { if (n in ENVIRON) print ENVIRON[n]; else exit 1 }' || rc=1
done
exit $rc
SCRIPT
chmod +x "$rootfs/bin/printenv"
ln -s busybox "$rootfs/bin/awk"
echo 'Hello from Hydroplane' >"$rootfs/www/index.html"
echo 'root:x:0:0:root:/:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"

# No ENTRYPOINT, so that a spec's command replaces CMD whole.
tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -c . |
  docker import \
    --change 'ENV PATH=/bin' \
    --change 'WORKDIR /' \
    --change 'EXPOSE 8080/tcp' \
    --change 'CMD ["httpd", "-f", "-v", "-p", "8080", "-h", "/www"]' \
    --change "LABEL $HASH_LABEL=$hash" \
    --message "Hydroplane test image (busybox)" \
    - "$IMAGE" >/dev/null
echo "build-test-image: built $IMAGE ($hash)"
