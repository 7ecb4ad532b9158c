#!/usr/bin/env bash
# The Ansible roles (deploy/ansible), for real:
#   1. ansible-playbook --syntax-check of the example playbook and inventories;
#   2. ansible-lint --offline (production profile) over deploy/ansible;
#   3. the playbook run with connection: local against this machine, every
#      test host writing under its own directory in a temporary root: the
#      collector's inventory generated from the test inventories (several
#      environments and groups), the agents' keys made on the "hosts" and their
#      requests signed by a real CA with certs/preflight-certs sign;
#   4. the rendered files checked by the real programs (preflight-collector
#      --check-config, preflight-agent --dry-run), the generated inventory
#      compared with what the inventories say, and then the collector started
#      on the rendered configuration and an enrolled agent delivering a report
#      to it (preflightctl status shows it);
#   5. a second run changes nothing on the collector and an agent, and
#      renews the certificate of an agent given a renewal window longer than
#      it, with the same key; a host id that certs/preflight-certs would
#      refuse, or an expected environment left out, stops the collector's
#      play before it changes anything.
# Service steps (systemd enable/start, reload/restart handlers) need systemd
# as init and are skipped here (preflight_manage_service=false); installing
# the .deb is done only when PREFLIGHT_ANSIBLE_INSTALL_DEBS=1 and the
# packages are in the build directory (it changes this machine).
#
# usage: ansible_test.sh SOURCE_DIR BUILD_DIR AGENT COLLECTOR PREFLIGHTCTL
set -euo pipefail

SRC=$(realpath "$1") BUILD=$(realpath "$2") AGENT=$(realpath "$3") COLLECTOR=$(realpath "$4") CTL=$(realpath "$5")
PLAY_DIR=$SRC/deploy/ansible
CERTS=$SRC/certs/preflight-certs
HERE=$SRC/tests/ansible

for tool in ansible-playbook ansible-lint openssl python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool is not installed (deploy/install-deps.sh installs it)"
    exit 77
  fi
done
if ! "$CERTS" help sign >/dev/null 2>&1; then
  echo "SKIP: certs/preflight-certs has no 'sign' command yet; the roles enrol with it"
  exit 77
fi

TMP=$(mktemp -d /tmp/preflight-ansible.XXXXXX)
COLLECTOR_PID=""
cleanup() {
  if [[ -n $COLLECTOR_PID ]]; then kill "$COLLECTOR_PID" 2>/dev/null || true; wait "$COLLECTOR_PID" 2>/dev/null || true; fi
  if [[ ${PREFLIGHT_ANSIBLE_KEEP:-0} == 1 ]]; then echo "kept $TMP"; else rm -rf -- "$TMP"; fi
}
trap cleanup EXIT

export ANSIBLE_CONFIG=$PLAY_DIR/ansible.cfg
export ANSIBLE_HOME=$TMP/ansible-home
export ANSIBLE_LOCAL_TEMP=$TMP/ansible-local
export ANSIBLE_REMOTE_TEMP=$TMP/ansible-remote
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0
export ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0
export XDG_CACHE_HOME=$TMP/cache

fail() { echo "FAIL: $*" >&2; exit 1; }
T0=$(date +%s.%N)
step_start=$T0
step() {
  local now; now=$(date +%s.%N)
  awk -v a="$step_start" -v b="$now" 'BEGIN { printf "  (%.1f s)\n", b - a }'
  step_start=$now
  echo "== $*"
}

# ---------------------------------------------------------------- 1 syntax
echo "== syntax-check: deploy/ansible/preflight.yml with the example inventories"
(cd "$PLAY_DIR" && ansible-playbook --syntax-check -i inventory/production.yml \
  -i inventory/staging.yml -i inventory/preflight.yml preflight.yml) >"$TMP/syntax.log" 2>&1 ||
  { cat "$TMP/syntax.log"; fail "syntax-check"; }

# ---------------------------------------------------------------- 2 lint
step "ansible-lint --offline (production profile)"
(cd "$PLAY_DIR" && ansible-lint --offline --nocolor --profile production) >"$TMP/lint.log" 2>&1 ||
  { cat "$TMP/lint.log"; fail "ansible-lint"; }
tail -n 1 "$TMP/lint.log"

# ---------------------------------------------------------------- 3 run
step "the operator's CA (preflight-certs init) and an operator certificate"
PKI=$TMP/pki
TD=test.preflight.example
"$CERTS" --dir "$PKI" init --trust-domain "$TD" >/dev/null
"$CERTS" --dir "$PKI" operator ops >/dev/null

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ROOT=$TMP/hosts
EMPTY=$TMP/empty-root
mkdir -p "$ROOT" "$EMPTY"

INVENTORIES=(-i "$HERE/inventory/production.yml" -i "$HERE/inventory/staging.yml"
  -i "$HERE/inventory/qa.yml" -i "$HERE/inventory/collector.yml")
# The hosts whose roles run (all hosts are this machine); the collector's
# inventory is generated from every host of every inventory, --limit or not.
LIMIT=preflight-01,prod-01,qa-1.internal

cat >"$TMP/vars.yml" <<VARS
preflight_test_root: $ROOT
preflight_config_dir: "{{ preflight_test_root }}/{{ inventory_hostname }}/etc/preflight"
preflight_pki_dir: $PKI
preflight_certs: $CERTS
preflight_package_source: none
preflight_manage_service: false
preflight_systemd_dir: "{{ preflight_test_root }}/{{ inventory_hostname }}/etc/systemd/system"
# Already root here: no sudo around every task.
ansible_become: false
preflight_agent_bin: $AGENT
preflight_collector_bin: $COLLECTOR
preflight_collector_group: root
preflight_collector_listen: 127.0.0.1:$PORT
preflight_collector_data_dir: $TMP/store
preflight_collector_health_file: $TMP/health
preflight_collector_ip: [127.0.0.1]
preflight_agent_collector: 127.0.0.1:$PORT
preflight_agent_server_name: preflight.opencrvs.example.gov
preflight_agent_settings_extra:
  spool_dir: "{{ preflight_test_root }}/{{ inventory_hostname }}/spool"
  ack_timeout_seconds: 20
# qa-1.internal gathers evidence from the application: its Docker socket is
# granted for that alone (not as a swarm manager); prod-01 keeps the default.
preflight_agent_docker_socket: "{{ inventory_hostname != 'qa-1.internal' and 'docker-manager-first' in group_names }}"
preflight_agent_application_docker: "{{ inventory_hostname == 'qa-1.internal' }}"
preflight_agent_application_smtp_probe: "{{ inventory_hostname == 'qa-1.internal' }}"
preflight_agent_application_elasticsearch: "{{ inventory_hostname == 'qa-1.internal' }}"
preflight_agent_application_admin_passwords: "{{ inventory_hostname == 'qa-1.internal' }}"
preflight_agent_application_test_data: "{{ inventory_hostname == 'qa-1.internal' }}"
VARS

play() { # LOG ARGS...
  local log=$1; shift
  (cd "$PLAY_DIR" && ansible-playbook "${INVENTORIES[@]}" -e "@$TMP/vars.yml" "$@" preflight.yml) >"$log" 2>&1
}
recap() { sed -n '/^PLAY RECAP/,$p' "$1"; }

step "ansible-playbook preflight.yml, connection: local, --limit $LIMIT"
play "$TMP/run1.log" --limit "$LIMIT" || { cat "$TMP/run1.log"; fail "the playbook failed"; }
recap "$TMP/run1.log"
grep -q 'preflight_manage_service is false: preflight-collector.service was not' "$TMP/run1.log" ||
  fail "the collector role did not say that it skipped the service"

# ---------------------------------------------------------------- 4 results
step "the generated inventory"
CDIR=$ROOT/preflight-01/etc/preflight
INV=$CDIR/inventory.textproto
[[ -f $INV ]] || fail "no $INV"
# What the test inventories say (group -> role; backup and jump groups keep
# their environment; qa.yml renames one host and sets one environment).
cat >"$TMP/inventory.expected" <<'EXPECTED'
backup backup backup
dev-01 development worker
jump-01 jump jump
prod-01 production manager
prod-02 production worker
prod-03 production worker
qa-01 qa manager
qa-backup backup backup
staging-01 staging manager
EXPECTED
# One line per hosts { ... } entry: id environment roles.
python3 - "$INV" >"$TMP/inventory.got" <<'PY'
import re, sys
for line in open(sys.argv[1]):
    if not line.startswith("hosts {"):
        continue
    f = lambda k: re.findall(k + r': "([^"]*)"', line)
    print(f("id")[0], f("environment")[0], "+".join(f("roles")))
PY
diff -u "$TMP/inventory.expected" "$TMP/inventory.got" || fail "the generated inventory differs"
grep -q 'preflight-01' "$INV" && fail "the collector's own host (not an OpenCRVS server) is in its inventory"
echo "ok: $(wc -l <"$TMP/inventory.got") hosts, roles and environments as the Ansible inventories say"

step "the Docker socket: given back by a drop-in for the swarm's facts or the application's"
dropin() { echo "$ROOT/$1/etc/systemd/system/preflight-agent.service.d/docker.conf"; }
for h in prod-01 qa-1.internal; do
  grep -qx 'InaccessiblePaths=' "$(dropin "$h")" 2>/dev/null || fail "$h (docker-manager-first) has no drop-in $(dropin "$h")"
done
grep -q 'preflight_agent_docker_socket' "$(dropin prod-01)" || fail "prod-01's drop-in does not say why: $(cat "$(dropin prod-01)")"
grep -q 'preflight_agent_application_docker' "$(dropin prod-01)" && fail "prod-01's drop-in names the application, which is off"
grep -q 'preflight_agent_docker_socket' "$(dropin qa-1.internal)" && fail "qa-1.internal's drop-in names the swarm's facts, which are off"
grep -q 'preflight_agent_application_docker' "$(dropin qa-1.internal)" ||
  fail "qa-1.internal's drop-in does not name the application: $(cat "$(dropin qa-1.internal)")"
echo "ok: prod-01 for the swarm's facts (default on managers), qa-1.internal for the application alone"

step "the application block in the agents' configuration: only where enabled"
grep -q '^application' "$ROOT/prod-01/etc/preflight/agent.textproto" &&
  fail "prod-01's configuration enables application sources it was not given"
python3 - "$ROOT/qa-1.internal/etc/preflight/agent.textproto" <<'PY' || fail "qa-1.internal's application block"
import sys
text = open(sys.argv[1]).read()
block = "application {\n  docker: true\n  smtp_probe: true\n  elasticsearch: true\n  admin_passwords: true\n  test_data: true\n}\n"
assert text.count("application {") == 1 and block in text, text
PY
echo "ok: application { docker: true smtp_probe: true elasticsearch: true admin_passwords: true test_data: true } on qa-1.internal, absent on prod-01"
# The unit's exposure as systemd rates it, with the drop-in the role wrote
# (the least-privilege test rates the unit alone).
if command -v systemd-analyze >/dev/null; then
  SA=$TMP/unit-root/etc/systemd/system
  mkdir -p "$SA/preflight-agent.service.d"
  cp "$SRC/deploy/systemd/preflight-agent.service" "$SA/"
  level() {
    systemd-analyze security --offline=true --root="$TMP/unit-root" preflight-agent.service 2>&1 |
      sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
  }
  base=$(level)
  cp "$(dropin qa-1.internal)" "$SA/preflight-agent.service.d/"
  with=$(level)
  [[ -n $base && -n $with ]] || fail "no exposure level from systemd-analyze"
  awk -v l="$with" 'BEGIN { exit !(l <= 4.0) }' || fail "the unit with docker.conf rates $with > 4.0"
  echo "ok: exposure $base for the unit, $with with the role's docker.conf (target <= 4.0)"
fi

step "preflight-collector --check-config on the rendered configuration"
out=$("$COLLECTOR" --config "$CDIR/collector.textproto" --check-config) ||
  fail "check-config refused the rendered configuration: $out"
echo "$out"
[[ $out == *"trust domain $TD, 9 inventory host(s)"* ]] || fail "check-config did not load 9 hosts of $TD: $out"
[[ -f $CDIR/crl.pem && -f $CDIR/ca.pem && -f $CDIR/collector.pem && -f $CDIR/collector.key ]] ||
  fail "the collector's CA, CRL, certificate or key is missing"

step "keys made on the hosts, certificates from the CA"
for h in preflight-01 prod-01 qa-1.internal; do
  d=$ROOT/$h/etc/preflight
  case $h in
    preflight-01) cert=$d/collector.pem key=$d/collector.key uri="spiffe://$TD/collector" ;;
    qa-1.internal) cert=$d/host.pem key=$d/host.key uri="spiffe://$TD/host/qa-01" ;;
    *) cert=$d/host.pem key=$d/host.key uri="spiffe://$TD/host/$h" ;;
  esac
  openssl verify -no-CApath -no-CAstore -CAfile "$PKI/ca.pem" "$cert" >/dev/null || fail "$cert does not verify"
  sans=$(openssl x509 -in "$cert" -noout -ext subjectAltName)
  [[ $sans == *"URI:$uri"* ]] || fail "$cert is not for $uri: $sans"
  [[ "$(openssl x509 -in "$cert" -noout -pubkey)" == "$(openssl pkey -in "$key" -pubout)" ]] ||
    fail "$cert is not for the host's key $key"
  [[ $(stat -c %a "$key") == 600 || ($h == preflight-01 && $(stat -c %a "$key") == 640) ]] ||
    fail "$key has mode $(stat -c %a "$key")"
  echo "ok: $h $uri"
done
[[ $(openssl x509 -in "$ROOT/preflight-01/etc/preflight/collector.pem" -noout -ext subjectAltName) == *"DNS:preflight.opencrvs.example.gov"* ]] ||
  fail "the collector's certificate lacks its name"
if find "$PKI" -name '*.key' ! -name ca.key ! -path '*/operators/*' | grep -q .; then
  fail "a host key is in the CA directory: $(find "$PKI" -name '*.key')"
fi
[[ -f $PKI/hosts/qa-01.pem && -f $PKI/hosts/prod-01.pem ]] || fail "the CA did not record the certificates it signed"

step "preflight-agent parses the rendered agent configuration"
for h in prod-01 qa-1.internal; do
  id=$h; [[ $h == qa-1.internal ]] && id=qa-01
  "$AGENT" --config "$ROOT/$h/etc/preflight/agent.textproto" --dry-run --root "$EMPTY" >"$TMP/dry.json" ||
    fail "preflight-agent refused $ROOT/$h/etc/preflight/agent.textproto"
  grep -q "\"host_id\": \"$id\"" "$TMP/dry.json" || fail "$h's agent does not say host id $id"
done
grep -q 'tls_acme_file' "$ROOT/prod-01/etc/preflight/agent.textproto" &&
  fail "the test's preflight_agent_settings_extra did not replace the group's"
echo "ok"

step "the collector on the rendered configuration; an enrolled agent reports to it"
"$COLLECTOR" --config "$CDIR/collector.textproto" >"$TMP/collector.log" 2>&1 &
COLLECTOR_PID=$!
for _ in $(seq 100); do
  grep -q ' ok' "$TMP/health" 2>/dev/null && break
  kill -0 "$COLLECTOR_PID" 2>/dev/null || { cat "$TMP/collector.log"; fail "the collector exited"; }
  sleep 0.1
done
"$AGENT" --config "$ROOT/prod-01/etc/preflight/agent.textproto" --once --root "$EMPTY" >"$TMP/agent.log" 2>&1 ||
  { cat "$TMP/agent.log" "$TMP/collector.log"; fail "prod-01's agent did not deliver its report"; }
OPS=(--collector "127.0.0.1:$PORT" --cert "$PKI/operators/ops.pem" --key "$PKI/operators/ops.key" --ca "$PKI/ca.pem")
rc=0
"$CTL" "${OPS[@]}" status --format json >"$TMP/status.json" || rc=$?
(( rc <= 1 )) || { cat "$TMP/status.json"; fail "preflightctl status exited $rc"; }
python3 - "$TMP/status.json" "$TMP/inventory.expected" <<'PY'
import json, sys
status = json.load(open(sys.argv[1]))
hosts = {h["host"]: h for h in status["hosts"]}
expected = {l.split()[0]: l.split()[1] for l in open(sys.argv[2]) if l.strip()}
got = {h: v["environment"] for h, v in hosts.items()}
assert got == expected, f"collector's hosts {got} != {expected}"
assert hosts["prod-01"].get("last_report"), "prod-01 has no report"
assert not hosts["staging-01"].get("last_report"), "staging-01 reported?"
print("ok: the collector knows", len(hosts), "hosts; prod-01 reported at", hosts["prod-01"]["last_report"])
PY
kill "$COLLECTOR_PID"; wait "$COLLECTOR_PID" 2>/dev/null || true; COLLECTOR_PID=""

# ---------------------------------------------------------------- 5 again
# Each run costs seconds a task, so one run checks four things: nothing
# changes on qa-1.internal; on preflight-01 only a collector setting that
# changed (keepalive_seconds), which reloads the collector rather than
# restarting it (the handlers run, their systemd steps skipped); prod-01,
# given a renewal window longer than its certificate, is re-signed with the
# same key; and prod-01, its swarm facts no longer given the Docker socket
# (preflight_agent_docker_socket false), loses its drop-in (the agent
# restarts).
changed_tasks() { # LOG HOST: the tasks that changed something on HOST
  awk -v h="$2" '/^TASK \[/ { t = $0; sub(/^TASK \[/, "", t); sub(/\] \**$/, "", t) }
    index($0, "changed: [" h "]") == 1 || index($0, "changed: [" h " -> ") == 1 { print t }' "$1" | sort -u
}
handlers_run() { # LOG
  sed -n 's/^RUNNING HANDLER \[\(.*\)\] \**$/\1/p' "$1" | sort -u
}
[[ $(handlers_run "$TMP/run1.log") == *"preflight_collector : Restart preflight-collector"* ]] ||
  fail "the first run did not notify the collector's restart (no configuration in place before)"
step "a second run: one collector setting changed (reload), prod-01 renewed and its socket taken, nothing else"
before=$(openssl x509 -in "$ROOT/prod-01/etc/preflight/host.pem" -noout -serial)
key_before=$(sha256sum <"$ROOT/prod-01/etc/preflight/host.key")
play "$TMP/run2.log" --limit "$LIMIT" \
  -e '{"preflight_agent_cert_renew_days": "{{ 900 if inventory_hostname == \"prod-01\" else 30 }}"}' \
  -e '{"preflight_collector_settings_extra": {"keepalive_seconds": 121}}' \
  -e '{"preflight_agent_docker_socket": false}' ||
  { cat "$TMP/run2.log"; fail "the second run failed"; }
recap "$TMP/run2.log"
got=$(changed_tasks "$TMP/run2.log" qa-1.internal)
[[ -z $got ]] || fail "the second run changed on qa-1.internal: $got"
got=$(changed_tasks "$TMP/run2.log" preflight-01)
want="preflight_collector : Put the configuration in place (a reload; a restart for listen or data_dir)
preflight_collector : Stage the collector's configuration"
[[ $got == "$want" ]] || fail "the second run changed on preflight-01: [$got], expected [$want]"
grep -q '^keepalive_seconds: 121$' "$CDIR/collector.textproto" || fail "the new setting is not in place"
got=$(handlers_run "$TMP/run2.log")
want="preflight_agent : Restart preflight-agent
preflight_collector : Reload preflight-collector"
[[ $got == "$want" ]] ||
  fail "the second run should reload the collector and restart prod-01's agent, ran: [$got]"
got=$(changed_tasks "$TMP/run2.log" prod-01 | grep -v '^preflight_enrol : ' || true)
[[ $got == "preflight_agent : Keep the Docker socket hidden from the agent (nothing here needs it)" ]] ||
  fail "the second run changed on prod-01, besides its certificate: [$got]"
[[ -e $(dropin prod-01) ]] && fail "prod-01 kept its drop-in with nothing needing the socket"
grep -qx 'InaccessiblePaths=' "$(dropin qa-1.internal)" || fail "qa-1.internal lost its drop-in"
grep -q 'prod-01.*expires within 900 days; requesting a certificate' "$TMP/run2.log" ||
  { cat "$TMP/run2.log"; fail "no renewal was asked for prod-01"; }
grep -q 'qa-01.*requesting a certificate' "$TMP/run2.log" && fail "qa-01 was re-signed"
after=$(openssl x509 -in "$ROOT/prod-01/etc/preflight/host.pem" -noout -serial)
[[ $before != "$after" ]] || fail "prod-01's certificate was not re-issued"
[[ $key_before == "$(sha256sum <"$ROOT/prod-01/etc/preflight/host.key")" ]] || fail "prod-01's key changed"
openssl verify -no-CApath -no-CAstore -CAfile "$PKI/ca.pem" "$ROOT/prod-01/etc/preflight/host.pem" >/dev/null ||
  fail "the renewed certificate does not verify"
echo "ok: qa-1.internal unchanged; preflight-01 reloaded for its setting; prod-01 $before -> $after, same key, drop-in gone"

step "the SMTP probe without the docker source is refused before any change"
if play "$TMP/run-smtp.log" --limit prod-01 -e '{"preflight_agent_application_smtp_probe": true}'; then
  fail "the agent role accepted smtp_probe without docker"
fi
grep -q 'preflight_agent_application_elasticsearch need preflight_agent_application_docker' "$TMP/run-smtp.log" ||
  { cat "$TMP/run-smtp.log"; fail "no clear message for smtp_probe without docker"; }
grep -qE '^prod-01 +: ok=[0-9]+ +changed=0 .*failed=1' "$TMP/run-smtp.log" ||
  { recap "$TMP/run-smtp.log"; fail "the agent play changed something before failing"; }
echo "ok: refused"

step "a host id that certs/preflight-certs refuses, or an environment left out, stops the collector"
inv_before=$(sha256sum <"$INV")
if play "$TMP/run3.log" -i "$HERE/inventory/bad.yml" --limit preflight-01; then
  fail "the collector role accepted the host id 'prod 04'"
fi
grep -q '"assertion": "preflight_collector_hosts | rejectattr(.id., .match.' "$TMP/run3.log" || { cat "$TMP/run3.log"; fail "no clear message for the bad host id"; }
grep -qE '^preflight-01 +: ok=[0-9]+ +changed=0 .*failed=1' "$TMP/run3.log" ||
  { recap "$TMP/run3.log"; fail "the collector play changed something before failing"; }
[[ $inv_before == "$(sha256sum <"$INV")" ]] || fail "the inventory changed although the play failed"
# A run given production's inventory but not staging's would write an
# inventory without staging (the example expects production, staging and
# backup): refused, nothing changed.
if (cd "$PLAY_DIR" && ansible-playbook -i "$HERE/inventory/production.yml" -i "$HERE/inventory/collector.yml" \
      -e "@$TMP/vars.yml" --limit preflight-01 preflight.yml) >"$TMP/run4.log" 2>&1; then
  fail "the collector role wrote an inventory without staging"
fi
grep -q '"assertion": "preflight_collector_expect_environments | difference' "$TMP/run4.log" ||
  { cat "$TMP/run4.log"; fail "no clear message for the missing environment"; }
[[ $inv_before == "$(sha256sum <"$INV")" ]] || fail "the inventory changed although the play failed"
echo "ok: both refused before any change"

# ---------------------------------------------------------------- packages
# The package step for real: the roles copy the .debs cpack made in the build
# directory and install them with apt; the configuration is then checked by
# the installed programs. It changes this machine (and purges the packages
# again), so it runs only when asked and when neither package was installed.
step "the package step (preflight_package_source: deb)"
agent_deb=$(find "$BUILD" -maxdepth 1 -name 'preflight-agent_*.deb' | sort | tail -n 1)
collector_deb=$(find "$BUILD" -maxdepth 1 -name 'preflight-collector_*.deb' | sort | tail -n 1)
if [[ ${PREFLIGHT_ANSIBLE_INSTALL_DEBS:-0} != 1 ]]; then
  echo "SKIPPED: installing the .debs changes this machine; PREFLIGHT_ANSIBLE_INSTALL_DEBS=1 runs it"
elif [[ -z $agent_deb || -z $collector_deb ]]; then
  echo "SKIPPED: no preflight-agent_*.deb and preflight-collector_*.deb in $BUILD (cpack -G DEB there)"
elif dpkg-query -W -f='${Status}\n' preflight-agent preflight-collector 2>/dev/null | grep -q 'install ok installed'; then
  echo "SKIPPED: preflight-agent or preflight-collector is installed already; not replacing it"
else
  purge() {
    apt-get purge -y -q preflight-agent preflight-collector >/dev/null 2>&1 || true
    rm -f "/var/cache/preflight/$(basename "$agent_deb")" "/var/cache/preflight/$(basename "$collector_deb")"
    rmdir /var/cache/preflight 2>/dev/null || true
  }
  play "$TMP/run5.log" --limit preflight-01,prod-01 -e preflight_package_source=deb \
    -e "preflight_package_dir=$BUILD" -e preflight_agent_bin=/usr/sbin/preflight-agent \
    -e preflight_collector_bin=/usr/sbin/preflight-collector -e preflight_collector_group=preflight ||
    { cat "$TMP/run5.log"; purge; fail "the playbook with the packages failed"; }
  recap "$TMP/run5.log"
  for p in preflight-agent preflight-collector; do
    [[ $(dpkg-query -W -f='${Status}' "$p") == "install ok installed" ]] || { purge; fail "$p is not installed"; }
  done
  grep -q 'Check the staged configuration with the collector' "$TMP/run5.log" || { purge; fail "no check by the installed collector"; }
  [[ $(stat -c %G "$CDIR/collector.key") == preflight ]] || { purge; fail "the collector's key is not the preflight group's"; }
  /usr/sbin/preflight-collector --config "$CDIR/collector.textproto" --check-config || { purge; fail "installed collector refused it"; }
  purge
  echo "ok: installed from $(basename "$agent_deb") and $(basename "$collector_deb"), checked, purged"
fi

step "done"
awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "total %.1f s\n", b - a }'
