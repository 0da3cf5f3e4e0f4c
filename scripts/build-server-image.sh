#!/usr/bin/env bash
# Builds the server's container image from the Dockerfile at the repository root.
# Usage: build-server-image.sh [--base IMAGE] [NAME:TAG]
#   NAME:TAG  default hydroplane:latest
#   --base    the Node 24 image to build on; default the Dockerfile's (node:24-bookworm-slim).
#             Where no registry is reachable, the one that build-node-base-image.sh makes
#             (hydroplane-test/node-base:24).
# The context is a temporary folder, not the checkout: dist/ as it is (run `npm run build` first;
# the dashboard's build adds dist/dashboard), package.json, basic-config.yml, and production
# node_modules installed here by `npm ci --omit=dev --ignore-scripts` (from npm's cache when
# it has them). No dependency has native code without its install script, so they suit any
# Linux image whatever machine runs this.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { echo "build-server-image: $*"; }
usage() { echo "usage: build-server-image.sh [--base IMAGE] [NAME:TAG]" >&2; exit 2; }

base=""
tag=hydroplane:latest
while (($# > 0)); do
  case $1 in
    --base) (($# >= 2)) || usage; base=$2; shift 2 ;;
    --base=*) base=${1#--base=}; shift ;;
    -h | --help) usage ;;
    -*) usage ;;
    *) tag=$1; shift ;;
  esac
done

if [[ ! -f $ROOT/dist/cli/hydroplane.js ]]; then
  say "no dist/cli/hydroplane.js: run npm run build first" >&2
  exit 1
fi
# npm under the project's Node 24 when there is one, so that engine checks see the Node that runs.
if [[ -x $ROOT/node_modules/.bin/node ]]; then PATH=$ROOT/node_modules/.bin:$PATH; fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/app"
cp "$ROOT/Dockerfile" "$ROOT/.dockerignore" "$ctx/"
cp "$ROOT/package.json" "$ROOT/package-lock.json" "$ROOT/basic-config.yml" "$ctx/app/"

start=$SECONDS
say "production dependencies (npm ci --omit=dev --ignore-scripts)"
(cd "$ctx/app" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error)
for dev in typescript vite node; do
  if [[ -e $ctx/app/node_modules/$dev ]]; then
    say "node_modules/$dev is in the production install: is it a dependency now?" >&2
    exit 1
  fi
done
# Typings, TypeScript sources and source maps: the server never reads them (Node does not strip
# types under node_modules), and they are a third of the files.
tar --numeric-owner --owner=0 --group=0 --exclude='*.ts' --exclude='*.mts' --exclude='*.cts' --exclude='*.map' \
  -C "$ctx/app" -cf "$ctx/app/node_modules.tar" node_modules
cp -R "$ROOT/dist" "$ctx/app/dist"
say "context ready in $((SECONDS - start))s"

version=$(cd "$ROOT" && sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)
args=(build --force-rm -t "$tag" --label "org.opencontainers.image.title=hydroplane" --label "org.opencontainers.image.version=$version")
if [[ -n $base ]]; then args+=(--build-arg "BASE=$base"); fi
# Without buildx the CLI cannot use BuildKit; the Dockerfile suits the legacy builder too.
if [[ -z ${DOCKER_BUILDKIT:-} ]] && ! docker buildx version >/dev/null 2>&1; then export DOCKER_BUILDKIT=0; fi
docker "${args[@]}" "$ctx"

size=$(docker image inspect --format '{{.Size}}' "$tag")
say "built $tag on ${base:-node:24-bookworm-slim}: $((size / 1000000)) MB, in $((SECONDS - start))s"
