#!/usr/bin/env bash
# preflight-certs backup / restore / rollover with the real openssl CLI,
# `openssl verify` as the oracle. Usage: backup_rollover_test.sh PATH/TO/preflight-certs
set -euo pipefail
P=${1:?usage: $0 PATH/TO/preflight-certs}
T=$(mktemp -d)
trap 'rm -rf -- "$T"' EXIT
cd "$T"
fails=0
ok() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }
serial() { openssl x509 -noout -serial -in "$1" | sed 's/serial=//'; }
verify() { # CAFILE CRLFILE CERT: "ok", "revoked" or the error
  local out
  if out=$(openssl verify -no-CApath -no-CAstore -purpose sslclient -crl_check -CAfile "$1" -CRLfile "$2" "$3" 2>&1); then
    echo ok
  elif grep -q 'certificate revoked' <<<"$out"; then
    echo revoked
  else
    grep -m1 '^error' <<<"$out" || echo "$out"
  fi
}
expect() { # DESCRIPTION WANT GOT
  if [[ $3 == "$2" ]]; then ok "$1"; else fail "$1: got '$3', want '$2'"; fi
}

# --- backup and restore
"$P" --dir pki init --trust-domain prod.example.org >/dev/null
"$P" --dir pki host web-1 >/dev/null
"$P" --dir pki host web-2 >/dev/null
revoked=$("$P" --dir pki revoke pki/hosts/web-1.pem | sed -n 's/^revoked serial //p')
cp pki/hosts/web-1.pem web-1.revoked.pem
expect "backup prints its path" backup.tar "$("$P" --dir pki backup backup.tar)"
expect "backup mode 0600" 600 "$(stat -c %a backup.tar)"
tar -tf backup.tar | grep -x './ca.key' >/dev/null && ok "backup holds ca.key" || fail "no ca.key in the backup"
tar -tf backup.tar | grep '\.lock' >/dev/null && fail "backup holds the lock file" || ok "no lock file in the backup"
rc=0; "$P" --dir pki backup backup.tar 2>/dev/null || rc=$?
expect "backup refuses to overwrite" 1 "$rc"
serial_file=$(cat pki/serial)
# The CA machine is lost after more work than the backup holds? No: restored
# as of the backup, then used.
rm -rf pki
expect "restore prints DIR" restored "$("$P" --dir restored restore backup.tar)"
expect "restored DIR mode 0700" 700 "$(stat -c %a restored)"
expect "restored ca.key mode 0600" 600 "$(stat -c %a restored/ca.key)"
expect "serial file as backed up" "$serial_file" "$(cat restored/serial)"
rc=0; "$P" --dir restored restore backup.tar 2>/dev/null || rc=$?
expect "restore refuses a non-empty DIR" 1 "$rc"
"$P" --dir restored host web-3 >/dev/null
expect "serials continue: web-3 has the next serial" "$serial_file" "$(serial restored/hosts/web-3.pem)"
expect "web-3 verifies against the restored CA" ok "$(verify restored/ca.pem restored/crl.pem restored/hosts/web-3.pem)"
"$P" --dir restored revoke restored/hosts/web-2.pem >/dev/null
expect "the old revocation is still in the CRL" revoked "$(verify restored/ca.pem restored/crl.pem web-1.revoked.pem)"
expect "the new revocation too" revoked "$(verify restored/ca.pem restored/crl.pem restored/hosts/web-2.pem)"
openssl crl -noout -text -in restored/crl.pem | grep "Serial Number: $revoked" >/dev/null &&
  ok "CRL lists $revoked" || fail "CRL lost $revoked"
echo garbage >bad.tar
rc=0; "$P" --dir other restore bad.tar 2>/dev/null || rc=$?
expect "restore refuses a file that is not a backup" 1 "$rc"
[[ ! -e other ]] && ok "nothing restored from it" || fail "other/ created"
"$P" --dir restored restore backup.tar --force >/dev/null
ls -d restored.before-restore.* >/dev/null 2>&1 && ok "--force moved the old DIR aside" || fail "no DIR.before-restore"
[[ ! -e restored/hosts/web-3.pem ]] && ok "--force restored the backup's content" || fail "web-3 still there"

# --- rollover
"$P" --dir ca init --trust-domain prod.example.org >/dev/null
"$P" --dir ca host old-1 >/dev/null
"$P" --dir ca host old-2 >/dev/null
"$P" --dir ca host gone >/dev/null
"$P" --dir ca revoke ca/hosts/gone.pem >/dev/null
cp ca/ca.pem ca1.pem
out=$("$P" --dir ca rollover)
expect "rollover prints what it wrote" $'ca/ca.pem\nca/ca.key\nca/ca-bundle.pem\nca/crl.pem' "$out"
[[ $(openssl x509 -noout -subject -in ca/ca.pem) != "$(openssl x509 -noout -subject -in ca1.pem)" ]] &&
  ok "the new CA has its own name" || fail "same CA name"
expect "bundle holds 2 CAs" 2 "$(grep -c 'BEGIN CERTIFICATE' ca/ca-bundle.pem)"
expect "crl.pem holds a CRL per CA" 2 "$(grep -c 'BEGIN X509 CRL' ca/crl.pem)"
"$P" --dir ca host new-1 >/dev/null
expect "a new certificate: not from the old CA" "$(openssl verify -no-CApath -no-CAstore -CAfile ca1.pem ca/hosts/new-1.pem 2>&1 | grep -o 'unable to get local issuer certificate' | head -1)" "unable to get local issuer certificate"
for c in old-1 old-2 new-1; do
  expect "$c verifies against the bundle" ok "$(verify ca/ca-bundle.pem ca/crl.pem ca/hosts/$c.pem)"
done
expect "the old CA's revocation holds" revoked "$(verify ca/ca-bundle.pem ca/crl.pem ca/hosts/gone.pem)"
"$P" --dir ca revoke ca/hosts/old-2.pem >/dev/null
expect "an old-CA certificate revoked after the rollover" revoked "$(verify ca/ca-bundle.pem ca/crl.pem ca/hosts/old-2.pem)"
"$P" --dir ca show ca/hosts/old-1.pem >/dev/null && ok "show: old-1 verifies (bundle)" || fail "show old-1"
rc=0; "$P" --dir ca rollover --finish 2>err || rc=$?
expect "finish refuses while old-1 is not renewed" 1 "$rc"
grep -q '/CN=old-1' err && ok "... and names it" || fail "old-1 not named: $(cat err)"
grep -q '/CN=old-2' err && fail "revoked old-2 named" || ok "... not the revoked one"
cp ca/hosts/old-1.pem old-1.ca1.pem
"$P" --dir ca renew ca/hosts/old-1.pem >/dev/null
openssl verify -no-CApath -no-CAstore -CAfile ca/ca.pem ca/hosts/old-1.pem >/dev/null 2>&1 &&
  ok "renewed old-1 is from the new CA" || fail "renewed old-1 not from the new CA"
expect "finish" $'ca/ca-bundle.pem\nca/crl.pem' "$("$P" --dir ca rollover --finish)"
expect "bundle holds 1 CA" 1 "$(grep -c 'BEGIN CERTIFICATE' ca/ca-bundle.pem)"
expect "crl.pem holds 1 CRL" 1 "$(grep -c 'BEGIN X509 CRL' ca/crl.pem)"
[[ -n $(verify ca/ca-bundle.pem ca/crl.pem old-1.ca1.pem) && $(verify ca/ca-bundle.pem ca/crl.pem old-1.ca1.pem) != ok ]] &&
  ok "the old CA's certificate no longer verifies" || fail "old CA still trusted"
expect "renewed old-1 verifies" ok "$(verify ca/ca-bundle.pem ca/crl.pem ca/hosts/old-1.pem)"
ls ca/retired/dropped/ca-*.key >/dev/null 2>&1 && ok "old CA key kept in retired/dropped" || fail "old key gone"

(( fails == 0 )) || { echo "$fails failure(s)"; exit 1; }
echo "all passed"
