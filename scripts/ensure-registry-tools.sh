#!/usr/bin/env bash
# Makes sure the private-registry tests can run: Debian's docker-registry (the distribution
# registry) and htpasswd (apache2-utils, for the registry's bcrypt password file).
# Idempotent: installs nothing when both are there. Needs root to install.
set -euo pipefail

REGISTRY_BIN=/usr/bin/docker-registry

packages=()
[[ -x $REGISTRY_BIN ]] || packages+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || packages+=(apache2-utils)

if ((${#packages[@]} == 0)); then
  echo "ensure-registry-tools: docker-registry and htpasswd are installed"
  exit 0
fi

echo "ensure-registry-tools: installing ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y "${packages[@]}"
