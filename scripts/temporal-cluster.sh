#!/usr/bin/env bash
# A real Temporal server on this machine: PostgreSQL persistence and visibility (databases temporal_oppsync and
# temporal_oppsync_visibility, their schema set up by Temporal's own SQL tool), frontend on 127.0.0.1:7333.
#   scripts/temporal-cluster.sh start    sets the schema up once, starts the server, waits until it serves
#   scripts/temporal-cluster.sh stop     stops it (the databases stay; `reset` drops them)
#   scripts/temporal-cluster.sh restart  stops and starts it (a server restart mid-run)
# PG_HOST, PG_PORT, PG_USER and TEMPORAL_CLUSTER_PORT override the defaults.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
home="$tools/temporal-cluster"
pg_host="${PG_HOST:-127.0.0.1}"
pg_port="${PG_PORT:-5432}"
pg_user="${PG_USER:-postgres}"
port="${TEMPORAL_CLUSTER_PORT:-7333}"
db="temporal_oppsync"
visibility="temporal_oppsync_visibility"
address="127.0.0.1:$port"

sql_tool() {
  "$tools/bin/temporal-sql-tool" --plugin postgres12 --ep "$pg_host" -p "$pg_port" -u "$pg_user" --db "$1" "${@:2}"
}

setup_schema() {
  mkdir -p "$home"
  local schema="$tools/temporal-server/schema/postgresql/v12"
  for pair in "$db:temporal" "$visibility:visibility"; do
    local name="${pair%%:*}" dir="${pair##*:}"
    sql_tool "$name" create-database >/dev/null 2>&1 || true
    # setup-schema records version 0.0 only once; update-schema applies what a database does not have yet.
    sql_tool "$name" setup-schema -v 0.0 >/dev/null 2>&1 || true
    sql_tool "$name" update-schema -d "$schema/$dir/versioned" >>"$home/schema.log" 2>&1 ||
      { echo "error: the schema of $name could not be set up; see $home/schema.log" >&2; exit 1; }
  done
}

write_config() {
  mkdir -p "$home/config/dynamicconfig"
  # Worker Deployment Versioning (oppsync's workers use it) and the operator API's search attributes.
  cat >"$home/config/dynamicconfig/oppsync.yaml" <<YAML
system.enableDeploymentVersions:
  - value: true
frontend.workerVersioningWorkflowAPIs:
  - value: true
frontend.workerVersioningDataAPIs:
  - value: true
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
# Eager activity dispatch (off by default before server 1.32): a run's next page goes to the worker that read it ahead.
system.enableActivityEagerExecution:
  - value: true
YAML
  cat >"$home/config/development.yaml" <<YAML
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:
      sql:
        pluginName: postgres12
        databaseName: $db
        connectAddr: "$pg_host:$pg_port"
        connectProtocol: tcp
        user: $pg_user
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    visibility:
      sql:
        pluginName: postgres12
        databaseName: $visibility
        connectAddr: "$pg_host:$pg_port"
        connectProtocol: tcp
        user: $pg_user
        maxConns: 4
        maxIdleConns: 4
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
  frontend:
    rpc: { grpcPort: $port, membershipPort: $((port + 100)), bindOnLocalHost: true, httpPort: $((port + 10)) }
  matching:
    rpc: { grpcPort: $((port + 2)), membershipPort: $((port + 102)), bindOnLocalHost: true }
  history:
    rpc: { grpcPort: $((port + 1)), membershipPort: $((port + 101)), bindOnLocalHost: true }
  worker:
    rpc: { grpcPort: $((port + 6)), membershipPort: $((port + 106)), bindOnLocalHost: true }
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: $address
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: $home/config/dynamicconfig/oppsync.yaml
  pollInterval: 10s
YAML
}

running() { [[ -f "$home/server.pid" ]] && kill -0 "$(cat "$home/server.pid")" 2>/dev/null; }

start() {
  bash "$root/scripts/install-temporal-server.sh"
  bash "$root/scripts/install-temporal.sh" >/dev/null
  if running; then
    echo "temporal cluster: already running at $address"
    return
  fi
  if "$tools/bin/temporal" operator cluster health --address "$address" >/dev/null 2>&1; then
    echo "error: another Temporal server (another checkout's?) already serves at $address; stop it there, or set" \
      "TEMPORAL_CLUSTER_PORT" >&2
    exit 1
  fi
  setup_schema
  write_config
  # Its own session, no terminal and no inherited output: it outlives this script, and a caller reading this
  # script's output is not held open by it.
  setsid "$tools/bin/temporal-server" --root "$home" --config config --env development --allow-no-auth start \
    </dev/null >>"$home/server.log" 2>&1 &
  echo $! >"$home/server.pid"
  for _ in $(seq 1 120); do
    if "$tools/bin/temporal" operator cluster health --address "$address" >/dev/null 2>&1; then break; fi
    running || { echo "error: the server exited; see $home/server.log" >&2; exit 1; }
    sleep 0.5
  done
  # A real server has no namespace until one is registered.
  "$tools/bin/temporal" operator namespace describe --address "$address" --namespace default >/dev/null 2>&1 ||
    "$tools/bin/temporal" operator namespace create --address "$address" --namespace default --retention 72h >/dev/null
  # A new namespace reaches the frontend's namespace cache some seconds later: until then a start is refused.
  for _ in $(seq 1 60); do
    if "$tools/bin/temporal" workflow count --address "$address" --namespace default >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  echo "temporal cluster: serving at $address (PostgreSQL $pg_host:$pg_port, log $home/server.log)"
}

stop() {
  if running; then
    kill "$(cat "$home/server.pid")"
    for _ in $(seq 1 60); do running || break; sleep 0.5; done
    running && kill -9 "$(cat "$home/server.pid")"
  fi
  rm -f "$home/server.pid"
  echo "temporal cluster: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop && start ;;
  reset)
    stop
    for name in "$db" "$visibility"; do sql_tool "$name" drop-database --force >/dev/null 2>&1 || true; done
    echo "temporal cluster: databases dropped"
    ;;
  *)
    echo "usage: $0 start|stop|restart|reset" >&2
    exit 2
    ;;
esac
