#!/usr/bin/env bash
# Installs the Temporal CLI (which contains `temporal server start-dev`) into .tools/bin, once.
# No npm or Debian package ships the server and @temporalio/testing cannot download it here,
# so it is built from the Go module proxy. Later runs reuse the binary.
set -euo pipefail

version="${TEMPORAL_CLI_VERSION:-v1.5.1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
bin="$tools/bin/temporal"
source "$root/scripts/tools-cache.sh"
stamp="$tools/temporal.version"

if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
  [[ -f "$(tools_cache_dir "temporal-cli-$version")/complete" ]] || to_tools_cache "temporal-cli-$version" "$tools" bin/temporal
  echo "temporal CLI $version: present at $bin (reused)"
  exit 0
fi

if from_tools_cache "temporal-cli-$version" "$tools"; then
  echo "$version" >"$stamp"
  echo "temporal CLI $version: copied to $bin from $(tools_cache_dir "temporal-cli-$version") (built before here)"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "error: Go is not installed, and it is needed once to build the Temporal CLI ($version)." >&2
    echo "       Install Go 1.22 or newer (https://go.dev/dl/), or put a 'temporal' binary at $bin." >&2
    exit 1
  fi
fi

echo "temporal CLI $version: building with $(go version) into $tools/bin (first time only; takes a few minutes)"
mkdir -p "$tools/bin"
GOBIN="$tools/bin" GOFLAGS="${GOFLAGS:-} -trimpath" go install "github.com/temporalio/cli/cmd/temporal@$version"
echo "$version" >"$stamp"
to_tools_cache "temporal-cli-$version" "$tools" bin/temporal
echo "temporal CLI $version: installed at $bin"
