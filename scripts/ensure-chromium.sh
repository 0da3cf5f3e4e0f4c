#!/usr/bin/env bash
# Makes sure the dashboard's browser tests can run: Debian's chromium, which they drive headless
# with playwright-core (never `npx playwright install`: it downloads a browser).
# Idempotent: installs nothing when /usr/bin/chromium is there. Needs root to install.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x $CHROMIUM ]]; then
  echo "ensure-chromium: $CHROMIUM is installed"
  exit 0
fi

echo "ensure-chromium: installing chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y chromium
