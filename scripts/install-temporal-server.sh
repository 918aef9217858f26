#!/usr/bin/env bash
# Installs the Temporal server itself (not the CLI's dev server) and its SQL schema tool into .tools, once: the
# cluster test bed of scripts/temporal-cluster.sh. Built from the Go module proxy at the version the CLI's dev
# server embeds; the schema files come from the same module's source. Later runs reuse the binaries.
set -euo pipefail

version="${TEMPORAL_SERVER_VERSION:-v1.29.1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
source "$root/scripts/tools-cache.sh"
stamp="$tools/temporal-server.version"

if [[ -x "$tools/bin/temporal-server" && -x "$tools/bin/temporal-sql-tool" && -d "$tools/temporal-server/schema" &&
  -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
  [[ -f "$(tools_cache_dir "temporal-server-$version")/complete" ]] || to_tools_cache "temporal-server-$version" "$tools" bin/temporal-server bin/temporal-sql-tool temporal-server/schema
  echo "temporal server $version: present in $tools/bin (reused)"
  exit 0
fi

if from_tools_cache "temporal-server-$version" "$tools"; then
  echo "$version" >"$stamp"
  echo "temporal server $version: copied to $tools from $(tools_cache_dir "temporal-server-$version") (built before here)"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "error: Go is not installed, and it is needed once to build the Temporal server ($version)." >&2
    exit 1
  fi
fi

echo "temporal server $version: building with $(go version) into $tools/bin (first time only; several minutes)"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
GOBIN="$build" GOFLAGS="${GOFLAGS:-} -trimpath" go install \
  "go.temporal.io/server/cmd/server@$version" "go.temporal.io/server/cmd/tools/sql@$version"
mkdir -p "$tools/bin" "$tools/temporal-server"
mv "$build/server" "$tools/bin/temporal-server"
mv "$build/sql" "$tools/bin/temporal-sql-tool"
module="$(go env GOMODCACHE)/go.temporal.io/server@$version"
rm -rf "$tools/temporal-server/schema"
cp -R "$module/schema" "$tools/temporal-server/schema"
chmod -R u+w "$tools/temporal-server/schema"
echo "$version" >"$stamp"
to_tools_cache "temporal-server-$version" "$tools" bin/temporal-server bin/temporal-sql-tool temporal-server/schema
echo "temporal server $version: installed at $tools/bin/temporal-server"
