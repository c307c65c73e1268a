#!/usr/bin/env bash
# Builds the pinned kustomize from source with `go install` into the Tributary cache (once) and prints its
# path. `tributary deploy` and the infra tests do the same on first use; this script is for running
# kustomize by hand:  "$(infra/scripts/install-kustomize.sh)" build infra/overlays/dev
# The version is pinned in versions.json at the repository root, which the CLI reads too.
set -euo pipefail
pin() { node -p "require('$(cd "$(dirname "$0")/../.." && pwd)/versions.json').$1"; }
version=$(pin kustomize.version)
module=$(pin kustomize.module)
cache="${TRIBUTARY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tributary}"
bin="$cache/kustomize/$version/kustomize"
if [ ! -x "$bin" ]; then
  mkdir -p "$(dirname "$bin")"
  tmp=$(mktemp -d "$(dirname "$bin")/.build-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "building $module@$version (once)…" >&2
  GOBIN="$tmp" GOFLAGS=-mod=mod go install "$module@$version"
  mv "$tmp/kustomize" "$bin"
fi
echo "$bin"
