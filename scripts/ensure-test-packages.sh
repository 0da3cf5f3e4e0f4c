#!/usr/bin/env bash
# Installs, in one apt-get run, the Debian packages that the test suite needs and this machine
# lacks: the Docker Engine, busybox for the test image, the distribution registry and htpasswd for
# the private-registry tests, Chromium for the dashboard's browser tests, and what the other Engines
# need. Idempotent; needs root.
set -euo pipefail

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
[[ -x /bin/busybox ]] || missing+=(busybox-static)
[[ -x /usr/bin/docker-registry ]] || missing+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
# The other Engines of .ci/run (docs/engines.md): debootstrap builds Engine 26's image, podman and
# runc are the third; their scripts install them too when run alone. curl and nsenter they use.
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || missing+=(runc)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)

if ((${#missing[@]} == 0)); then
  echo "ensure-test-packages: everything is installed"
  exit 0
fi

echo "ensure-test-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}"
