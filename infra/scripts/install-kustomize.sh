#!/usr/bin/env bash
# Builds the pinned kustomize from source with `go install` into the Tributary cache (once) and prints its
# path. `tributary deploy` and the infra tests do the same on first use; this script is for running
# kustomize by hand:  "$(infra/scripts/install-kustomize.sh)" build infra/overlays/dev
# The version must match KUSTOMIZE_VERSION in packages/cli/src/k8s/kustomize.ts (a test checks).
set -euo pipefail
version=v5.7.1
cache="${TRIBUTARY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tributary}"
bin="$cache/kustomize/$version/kustomize"
if [ ! -x "$bin" ]; then
  mkdir -p "$(dirname "$bin")"
  tmp=$(mktemp -d "$(dirname "$bin")/.build-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "building sigs.k8s.io/kustomize/kustomize/v5@$version (once)…" >&2
  GOBIN="$tmp" GOFLAGS=-mod=mod go install "sigs.k8s.io/kustomize/kustomize/v5@$version"
  mv "$tmp/kustomize" "$bin"
fi
echo "$bin"
