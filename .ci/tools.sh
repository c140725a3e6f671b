#!/usr/bin/env bash
# Builds the Go-built clients and peers the end-to-end tests drive, once per machine:
# each into <cache>/<name>-<version>/ (outside the repository), reused while that
# folder holds the binary. Prints the cache's bin folders, one per line, for PATH.
# The versions here are the ones the "Works with" table in README.md names.
set -euo pipefail
cache="${CAIRN_TOOLS:-/var/cache/cairn-tools}"
mkdir -p "$cache"

# name  version  module path of the command  binary
TOOLS=(
  "oras v1.3.6 oras.land/oras/cmd/oras oras"
  "crane v0.22.1 github.com/google/go-containerregistry/cmd/crane crane"
  "regctl v0.11.7 github.com/regclient/regclient/cmd/regctl regctl"
  "cosign v2.6.5 github.com/sigstore/cosign/v2/cmd/cosign cosign"
  "helm v4.3.2 helm.sh/helm/v4/cmd/helm helm"
  "conformance v0.0.0-20260831232431-97274622c111 github.com/opencontainers/distribution-spec/conformance conformance"
  "registry v3.1.2 github.com/distribution/distribution/v3/cmd/registry registry"
)

build() {
  local name=$1 version=$2 module=$3 binary=$4
  local dir="$cache/$name-$version"
  if [ -x "$dir/$binary" ]; then echo "$dir"; return; fi
  local started=$SECONDS
  rm -rf "$dir.partial" && mkdir -p "$dir.partial"
  GOBIN="$dir.partial" go install "$module@$version" >&2
  mv "$dir.partial" "$dir"
  echo "built $name $version in $((SECONDS - started)) s" >&2
  echo "$dir"
}

for t in "${TOOLS[@]}"; do
  # shellcheck disable=SC2086
  build $t
done
