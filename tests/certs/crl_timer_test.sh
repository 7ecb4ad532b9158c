#!/usr/bin/env bash
# deploy/systemd/preflight-crl.{service,timer}: systemd-analyze verify accepts
# them, the timer fires well before the CRL's nextUpdate, and the service's own
# command lines (taken from the unit file) re-sign a CRL that is about to
# expire, keep its revocations and deploy it atomically.
# Usage: crl_timer_test.sh PATH/TO/preflight-certs PATH/TO/deploy/systemd
set -euo pipefail
P=${1:?usage: $0 PATH/TO/preflight-certs DEPLOY_SYSTEMD_DIR}
U=${2:?usage: $0 PATH/TO/preflight-certs DEPLOY_SYSTEMD_DIR}
T=$(mktemp -d)
trap 'rm -rf -- "$T"' EXIT
fails=0
ok() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }
next_update() { date -u -d "$(openssl crl -noout -nextupdate -in "$1" | sed 's/^nextUpdate=//')" +%s; }

svc=$U/preflight-crl.service
tmr=$U/preflight-crl.timer

# --- systemd-analyze verify, with the installed tool's path pointing at this tree's
mkdir "$T/units"
sed "s|/usr/bin/preflight-certs|$P|" "$svc" >"$T/units/preflight-crl.service"
cp "$tmr" "$T/units/"
if out=$(systemd-analyze verify "$T/units/preflight-crl.timer" "$T/units/preflight-crl.service" 2>&1) &&
  [[ -z $out ]]; then
  ok "systemd-analyze verify: no complaint"
else
  fail "systemd-analyze verify: $out"
fi
exposure=$(systemd-analyze security --offline=true "$T/units/preflight-crl.service" 2>/dev/null |
  sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "     systemd-analyze security --offline=true: exposure $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e + 0 <= 2.5) }' && ok "exposure <= 2.5" || fail "exposure '$exposure'"

# --- the schedule: a run at least daily, and the CRL valid much longer
grep -qx 'OnCalendar=daily' "$tmr" && ok "timer: daily" || fail "timer not daily"
grep -qx 'Persistent=true' "$tmr" && ok "timer: persistent (missed runs happen at boot)" || fail "not persistent"
delay=$(sed -n 's/^RandomizedDelaySec=\([0-9]*\)h$/\1/p' "$tmr")
days=$(sed -n 's/^Environment=CRL_DAYS=\([0-9]*\)$/\1/p' "$svc")
[[ -n $delay && -n $days ]] || fail "cannot read RandomizedDelaySec/CRL_DAYS"
# The longest gap between two runs (24 h + delay) is far below the CRL's life
# and below the collector's warning (7 days before nextUpdate).
(( (24 + delay) * 3600 < (days - 7) * 86400 )) && ok "runs every <= $((24 + delay)) h, CRL valid $days days" ||
  fail "CRL of $days days vs runs every $((24 + delay)) h"

# --- the service's command lines, as systemd would run them
pki=$T/etc/preflight/pki
"$P" --dir "$pki" init --trust-domain prod.example.org >/dev/null
"$P" --dir "$pki" host web-1 >/dev/null
"$P" --dir "$pki" host web-2 >/dev/null
revoked=$("$P" --dir "$pki" revoke "$pki/hosts/web-1.pem" | sed -n 's/^revoked serial //p')
"$P" --dir "$pki" crl --crl-days 1 >/dev/null # about to expire
before=$(next_update "$pki/crl.pem")
number_before=$(openssl crl -noout -crlnumber -in "$pki/crl.pem")

exec_line() { # KEY: the unit's KEY= value, paths under this test's root, ${CRL_DAYS} expanded
  sed -n "s/^$1=//p" "$svc" | sed "s|/usr/bin/preflight-certs|$P|; s|/etc/preflight|$T/etc/preflight|g; s|\${CRL_DAYS}|$days|g"
}
start=$(exec_line ExecStart)
[[ -n $start ]] || fail "no ExecStart"
read -r -a argv <<<"$start"
sleep 1 # thisUpdate has a one-second resolution
"${argv[@]}" >/dev/null && ok "ExecStart ran: $start" || fail "ExecStart failed"
after=$(next_update "$pki/crl.pem")
now=$(date +%s)
(( after > before && after >= now + (days - 1) * 86400 )) &&
  ok "nextUpdate moved to $(date -u -d @"$after" +%F) ($days days on)" || fail "nextUpdate $after (before $before)"
openssl crl -noout -CAfile "$pki/ca.pem" -in "$pki/crl.pem" 2>&1 | grep 'verify OK' >/dev/null &&
  ok "the new CRL verifies against the CA" || fail "CRL signature"
openssl crl -noout -text -in "$pki/crl.pem" | grep "Serial Number: $revoked" >/dev/null &&
  ok "the revocation of $revoked is kept" || fail "revocation lost"
[[ $(openssl crl -noout -crlnumber -in "$pki/crl.pem") != "$number_before" ]] && ok "new CRL number" || fail "same CRL number"
out=$(openssl verify -no-CApath -no-CAstore -crl_check -CAfile "$pki/ca.pem" -CRLfile "$pki/crl.pem" "$pki/hosts/web-1.pem" 2>&1) &&
  fail "revoked web-1 verifies" ||
  { grep -q 'certificate revoked' <<<"$out" && ok "openssl: web-1 revoked" || fail "web-1: $out"; }
openssl verify -no-CApath -no-CAstore -crl_check -CAfile "$pki/ca.pem" -CRLfile "$pki/crl.pem" "$pki/hosts/web-2.pem" >/dev/null 2>&1 &&
  ok "openssl: web-2 valid" || fail "web-2 does not verify"

# ExecStartPost: without CRL_DEPLOY_TO nothing; with it an atomic copy, mode 0644.
post=$(exec_line ExecStartPost)
script=${post#/bin/sh -ec }
script=${script#\'}
script=${script%\'}
mkdir -p "$T/deployed"
CRL_DEPLOY_TO="" sh -ec "$script" && [[ -z $(ls "$T/deployed") ]] && ok "ExecStartPost without CRL_DEPLOY_TO: no copy" || fail "copied without CRL_DEPLOY_TO"
echo old >"$T/deployed/crl.pem"
CRL_DEPLOY_TO=$T/deployed/crl.pem sh -ec "$script" && cmp -s "$pki/crl.pem" "$T/deployed/crl.pem" &&
  [[ $(stat -c %a "$T/deployed/crl.pem") == 644 && ! -e $T/deployed/crl.pem.new ]] &&
  ok "ExecStartPost deploys the CRL (0644, renamed into place)" || fail "deployment"

(( fails == 0 )) || { echo "$fails failure(s)"; exit 1; }
echo "all passed"
