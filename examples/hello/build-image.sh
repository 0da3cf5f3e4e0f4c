#!/usr/bin/env bash
# Builds hydroplane-examples/hello:latest on this machine, with no registry at all: a busybox
# web server that answers "Hello from Hydroplane" on port 8080. Needs a Docker Engine (and
# Debian's busybox-static, which it installs when missing).
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../../scripts/build-test-image.sh" hydroplane-examples/hello:latest
