#!/usr/bin/env bash
# Makes a Node base image without any registry, for building the server image where the official
# node image cannot be pulled (CI, offline machines): the project's own Node binary, the shared
# libraries it links, a non-root user `node` (1000:1000, as in the official image), /tmp and this
# machine's CA certificates, made into an image with `docker import`. No shell and no npm: the
# server's Dockerfile needs neither. Usage: build-node-base-image.sh [NAME:TAG]
# Quick when the image exists and was built from the same inputs (their hash is a label).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGE=${1:-hydroplane-test/node-base:24}
HASH_LABEL=hydroplane.node-base.hash
CERTS=/etc/ssl/certs

say() { echo "build-node-base-image: $*"; }

# node_modules/.bin/node is a link to the `node` package's binary, or a launcher on some
# installs; the running Node reports the real executable either way.
launcher=${HYDROPLANE_NODE:-$ROOT/node_modules/.bin/node}
if [[ ! -x $launcher ]]; then
  say "no Node at $launcher; run npm ci first (or set HYDROPLANE_NODE)" >&2
  exit 1
fi
node_bin=$("$launcher" -p 'process.execPath')
if [[ $(head -c 4 "$node_bin" | od -An -c | tr -d ' ') != '177ELF' ]]; then
  say "$node_bin is not an ELF executable" >&2
  exit 1
fi
version=$("$node_bin" -p 'process.versions.node')

# ldd lines: "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)" and the loader by its path.
mapfile -t libs < <(ldd "$node_bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
if ((${#libs[@]} == 0)); then
  say "ldd found no libraries for $node_bin (a static or foreign binary?)" >&2
  exit 1
fi
cert_files=()
if [[ -d $CERTS ]]; then
  # Files only: some machines have folders there (java/), which no TLS client here reads.
  mapfile -t cert_files < <(find -L "$CERTS" -maxdepth 1 -type f | sort)
else
  say "warning: no $CERTS on this machine; the image gets no CA certificates" >&2
fi

hash=$(cat "${BASH_SOURCE[0]}" "$node_bin" "${libs[@]}" "${cert_files[@]}" | sha256sum | cut -c1-16)
old=$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
if [[ -n $old && $(docker image inspect --format "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$IMAGE") == "$hash" ]]; then
  say "$IMAGE is up to date (Node $version)"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
mkdir -p "$rootfs"/{usr/local/bin,etc/ssl,tmp,home/node}
chmod 1777 "$rootfs/tmp"
chmod 755 "$rootfs/home/node"
cp "$node_bin" "$rootfs/usr/local/bin/node"
for lib in "${libs[@]}"; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
if ((${#cert_files[@]} > 0)); then
  # The hashed names are links into /usr/share/ca-certificates: copy what they point to.
  mkdir -p "$rootfs$CERTS"
  cp -L "${cert_files[@]}" "$rootfs$CERTS/"
fi
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
node:x:1000:1000::/home/node:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"

# Everything belongs to root but the user's home; tar can give one owner per run, so the home
# is appended with its own (no root needed to build the image).
tarball=$work/rootfs.tar
tar --numeric-owner --owner=0 --group=0 -C "$rootfs" --exclude=./home/node -cf "$tarball" .
tar --numeric-owner --owner=1000 --group=1000 -C "$rootfs" -rf "$tarball" ./home/node

docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change "ENV NODE_VERSION=$version" \
  --change 'WORKDIR /' \
  --change 'CMD ["node"]' \
  --change "LABEL $HASH_LABEL=$hash" \
  --message "Hydroplane local Node $version base (no registry)" \
  "$tarball" "$IMAGE" >/dev/null
new=$(docker image inspect --format '{{.Id}}' "$IMAGE")
# The image this one replaces, unless something still uses it.
if [[ -n $old && $old != "$new" ]]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
say "built $IMAGE (Node $version, $hash)"
