#!/usr/bin/env bash
# Quick start on one Debian 12 machine, as root: installs the packages,
# builds, creates a CA and certificates, starts the collector on loopback with
# its embedded RocksDB, runs the agent once against this machine and prints
# the readiness table. Everything lives in .quickstart/ beside the sources.
#
#   deploy/quickstart.sh          set up, report, leave the collector running
#   deploy/quickstart.sh --stop   stop the collector it started
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
qs=$top/.quickstart
build=${PREFLIGHT_BUILD_DIR:-$top/build}
port=${PREFLIGHT_QUICKSTART_PORT:-7443}

stop_collector() {
  if [ -f "$qs/collector.pid" ] && kill -0 "$(cat "$qs/collector.pid")" 2>/dev/null; then
    kill "$(cat "$qs/collector.pid")"
    for _ in $(seq 50); do kill -0 "$(cat "$qs/collector.pid")" 2>/dev/null || break; sleep 0.1; done
    echo "quickstart: collector stopped"
  fi
  rm -f "$qs/collector.pid"
}
if [ "${1:-}" = "--stop" ]; then stop_collector; exit 0; fi

"$top/deploy/install-deps.sh"
echo "quickstart: building (first time takes a few minutes)"
PREFLIGHT_BUILD_DIR=$build "$top/deploy/build.sh"

mkdir -p "$qs"
# This machine's host id: its short hostname, restricted to [A-Za-z0-9._-].
host=$(hostname -s 2>/dev/null | tr -c 'A-Za-z0-9._\n-' '-' | cut -c1-63)
host=${host:-this-host}
certs=("$top/certs/preflight-certs" --dir "$qs/pki")
if [ ! -f "$qs/pki/ca.pem" ]; then
  "${certs[@]}" init --trust-domain quickstart.local >/dev/null
  "${certs[@]}" collector >/dev/null
  "${certs[@]}" operator admin >/dev/null
fi
[ -f "$qs/pki/hosts/$host.pem" ] || "${certs[@]}" host "$host" >/dev/null

cat >"$qs/collector.textproto" <<CONF
# Written by deploy/quickstart.sh; see deploy/collector.textproto for every field.
listen: "127.0.0.1:$port"
data_dir: "data"
trust_domain: "quickstart.local"
tls { cert_file: "pki/collector.pem" key_file: "pki/collector.key" ca_file: "pki/ca.pem" crl_file: "pki/crl.pem" }
inventory { hosts { id: "$host" environment: "production" roles: "manager" } }
CONF
cat >"$qs/agent.textproto" <<CONF
# Written by deploy/quickstart.sh; see deploy/agent.textproto for every field.
collector: "localhost:$port"
host_id: "$host"
spool_dir: "spool"
tls { cert_file: "pki/hosts/$host.pem" key_file: "pki/hosts/$host.key" ca_file: "pki/ca.pem" }
CONF

stop_collector
cd "$qs"
"$build/collector/preflight-collector" --config collector.textproto >>collector.log 2>&1 &
echo $! >collector.pid
for _ in $(seq 100); do
  grep -q "listening on" collector.log 2>/dev/null && break
  kill -0 "$(cat collector.pid)" 2>/dev/null || { cat collector.log; exit 1; }
  sleep 0.1
done
echo "quickstart: collector listening on 127.0.0.1:$port (log: $qs/collector.log)"

"$build/agent/preflight-agent" --config agent.textproto --once

export PREFLIGHT_COLLECTOR=localhost:$port PREFLIGHT_CERT=$qs/pki/operators/admin.pem \
  PREFLIGHT_KEY=$qs/pki/operators/admin.key PREFLIGHT_CA=$qs/pki/ca.pem
echo
set +e
"$build/collector/cli/preflightctl" status
code=$?
set -e
cat <<TXT

quickstart: preflightctl exited $code (0 ready, 1 not ready). The collector keeps running.
  Look closer:  export PREFLIGHT_COLLECTOR=$PREFLIGHT_COLLECTOR PREFLIGHT_CERT=$PREFLIGHT_CERT \\
                  PREFLIGHT_KEY=$PREFLIGHT_KEY PREFLIGHT_CA=$PREFLIGHT_CA
                $build/collector/cli/preflightctl host $host
  Stop it:      $top/deploy/quickstart.sh --stop
TXT
