#!/usr/bin/env bash
# preflight-certs csr / sign / renew with the real openssl CLI, `openssl verify`
# as the oracle. Usage: enrol_renew_test.sh PATH/TO/preflight-certs
set -euo pipefail
P=${1:?usage: $0 PATH/TO/preflight-certs}
T=$(mktemp -d)
trap 'rm -rf -- "$T"' EXIT
cd "$T"
fails=0
ok() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }
check() { # DESCRIPTION COMMAND...
  local d=$1; shift
  if "$@" >/dev/null 2>&1; then ok "$d"; else fail "$d"; fi
}
refused() { # DESCRIPTION EXPECTED_EXIT COMMAND...
  local d=$1 want=$2 rc=0; shift 2
  "$@" >/dev/null 2>"$T/err" || rc=$?
  if [[ $rc == "$want" ]]; then ok "$d (exit $rc: $(head -c 150 "$T/err"))"; else fail "$d: exit $rc, want $want"; fi
}
san() { openssl x509 -noout -ext subjectAltName -in "$1" | sed -n '2,$p' | sed 's/^ *//'; }
pub() { openssl x509 -noout -pubkey -in "$1"; }
serial() { openssl x509 -noout -serial -in "$1" | sed 's/serial=//'; }
verify_client() { # CERT: chains to the CA for a TLS client, and not revoked per crl.pem
  openssl verify -no-CApath -no-CAstore -purpose sslclient -crl_check -CAfile pki/ca.pem \
    -CRLfile pki/crl.pem "$1"
}
revoked() { # CERT: openssl verify refuses it as revoked per crl.pem
  local out
  out=$(openssl verify -no-CApath -no-CAstore -crl_check -CAfile pki/ca.pem -CRLfile pki/crl.pem "$1" 2>&1) && return 1
  grep -q 'certificate revoked' <<<"$out"
}

"$P" --dir pki init --trust-domain prod.example.org >/dev/null

# --- csr, on the "host": no CA directory involved
out=$("$P" csr web-1 --key host/web-1.key --out host/web-1.csr)
[[ $out == $'host/web-1.key\nhost/web-1.csr' ]] && ok "csr prints the key it made and the CSR" || fail "csr output: $out"
[[ $(stat -c %a host/web-1.key) == 600 ]] && ok "csr key mode 0600" || fail "csr key mode $(stat -c %a host/web-1.key)"
openssl pkey -in host/web-1.key -noout -text | grep 'ASN1 OID: prime256v1' >/dev/null && ok "csr key is P-256" || fail "csr key curve"
openssl req -in host/web-1.csr -noout -verify 2>&1 | grep -x 'Certificate request self-signature verify OK' >/dev/null &&
  ok "csr signature verifies" || fail "csr signature"
key_before=$(openssl pkey -in host/web-1.key -pubout)
out=$("$P" csr web-1 --key host/web-1.key --out host/web-1.csr)
[[ $out == host/web-1.csr && $(openssl pkey -in host/web-1.key -pubout) == "$key_before" ]] &&
  ok "csr again reuses the key" || fail "csr again: $out"
refused "csr without --out" 2 "$P" csr web-1 --key host/x.key

# --- sign
out=$("$P" --dir pki sign host/web-1.csr --host web-1)
[[ $out == pki/hosts/web-1.pem ]] && ok "sign prints the certificate path" || fail "sign output: $out"
check "signed host certificate verifies (sslclient, CRL)" verify_client pki/hosts/web-1.pem
[[ $(san pki/hosts/web-1.pem) == URI:spiffe://prod.example.org/host/web-1 ]] && ok "exactly the host URI" || fail "SAN $(san pki/hosts/web-1.pem)"
[[ $(pub pki/hosts/web-1.pem) == "$key_before" ]] && ok "certificate for the host's key" || fail "wrong key"
[[ ! -e pki/hosts/web-1.key ]] && ok "no private key in the CA directory" || fail "a key in pki/hosts"
refused "sign over an existing certificate" 1 "$P" --dir pki sign host/web-1.csr --host web-1
refused "sign without an identity" 2 "$P" --dir pki sign host/web-1.csr

# A request asking for another identity, CA:TRUE and other SANs gets the host profile only.
openssl req -new -key host/web-1.key -subj "/CN=root/O=evil" \
  -addext "subjectAltName=URI:spiffe://prod.example.org/operator/root,DNS:evil.example.org" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "extendedKeyUsage=serverAuth" -out evil.csr
"$P" --dir pki sign evil.csr --host web-2 >/dev/null
c=pki/hosts/web-2.pem
[[ $(san $c) == URI:spiffe://prod.example.org/host/web-2 ]] && ok "request's SANs ignored" || fail "SAN $(san $c)"
[[ $(openssl x509 -noout -subject -nameopt RFC2253 -in $c) == "subject=CN=web-2" ]] && ok "request's subject ignored" || fail "subject"
openssl x509 -noout -ext basicConstraints -in $c | grep 'CA:FALSE' >/dev/null && ok "request's CA:TRUE ignored" || fail "basicConstraints"
[[ $(openssl x509 -noout -ext extendedKeyUsage -in $c | sed -n 2p | sed 's/^ *//') == "TLS Web Client Authentication" ]] &&
  ok "EKU clientAuth only" || fail "EKU"
# The same profile as `preflight-certs host`.
"$P" --dir pki host ref >/dev/null
for ext in basicConstraints keyUsage extendedKeyUsage; do
  [[ $(openssl x509 -noout -ext $ext -in $c) == "$(openssl x509 -noout -ext $ext -in pki/hosts/ref.pem)" ]] &&
    ok "$ext as for 'host'" || fail "$ext differs from 'host'"
done

# A request whose signature does not verify (one byte of it flipped).
openssl req -in evil.csr -outform DER -out evil.der
size=$(stat -c %s evil.der)
printf '%s' "$(xxd -p -c 100000 evil.der)" | xxd -r -p >bad.der
byte=$(xxd -s $((size - 3)) -l 1 -p bad.der)
printf "$(printf '\\x%02x' $(( 16#$byte ^ 1 )))" | dd of=bad.der bs=1 seek=$((size - 3)) conv=notrunc status=none
openssl req -inform DER -in bad.der -out bad.csr
refused "tampered request" 1 "$P" --dir pki sign bad.csr --host web-3
openssl req -new -newkey rsa:2048 -nodes -keyout rsa.key -subj /CN=r -out rsa.csr 2>/dev/null
refused "RSA request" 1 "$P" --dir pki sign rsa.csr --host web-3
[[ ! -e pki/hosts/web-3.pem ]] && ok "nothing issued for refused requests" || fail "web-3 issued"

"$P" csr alice --key op/alice.key --out op/alice.csr >/dev/null
"$P" --dir pki sign op/alice.csr --operator alice --days 30 >/dev/null
[[ $(san pki/operators/alice.pem) == URI:spiffe://prod.example.org/operator/alice ]] && ok "sign --operator" || fail "operator SAN"
"$P" csr collector --key col/c.key --out col/c.csr >/dev/null
"$P" --dir pki sign col/c.csr --collector --dns c.example.org --ip 10.0.0.5 >/dev/null
[[ $(san pki/collector.pem) == "DNS:c.example.org, IP Address:10.0.0.5, URI:spiffe://prod.example.org/collector" ]] &&
  ok "sign --collector" || fail "collector SAN $(san pki/collector.pem)"
openssl verify -no-CApath -no-CAstore -purpose sslserver -CAfile pki/ca.pem pki/collector.pem >/dev/null &&
  ok "collector certificate verifies as a server" || fail "collector purpose"

# --- renew, same key
old=$T/web-1.old.pem
cp pki/hosts/web-1.pem "$old"
out=$("$P" --dir pki renew pki/hosts/web-1.pem --days 10)
new=pki/hosts/web-1.pem
[[ $out == "$new" ]] && ok "renew prints the new path" || fail "renew output: $out"
[[ $(serial $new) != "$(serial "$old")" ]] && ok "new serial" || fail "same serial"
[[ $(pub $new) == "$(pub "$old")" && $(san $new) == "$(san "$old")" ]] && ok "same key and URI" || fail "key/URI changed"
check "renewed certificate verifies" verify_client $new
check "old certificate still verifies (not revoked)" verify_client "$old"
openssl x509 -noout -checkend $((11 * 86400)) -in $new >/dev/null && fail "--days 10 not applied" || ok "--days 10 applied"
openssl x509 -noout -checkend $((9 * 86400)) -in $new >/dev/null && ok "valid 9 days on" || fail "expires too soon"
grep -q "$(serial $new)" pki/index.txt && ok "renewed serial in the CA database" || fail "serial not in index.txt"
# The serial sequence continues after a renewal: the next issue gets a fresh serial.
"$P" --dir pki host after >/dev/null
[[ $(serial pki/hosts/after.pem) != "$(serial $new)" ]] && ok "the next serial is fresh" || fail "serial reused"
"$P" --dir pki revoke $new >/dev/null
check "revoking the renewed certificate works" revoked $new
check "... and leaves the old one valid" verify_client "$old"

# --- renew --csr (new key) --revoke-old; a stale key in DIR is removed
cp pki/hosts/ref.pem ref.old.pem
"$P" csr ref --key host/ref-new.key --out host/ref-new.csr >/dev/null
out=$("$P" --dir pki renew pki/hosts/ref.pem --csr host/ref-new.csr --revoke-old 2>/dev/null)
[[ $out == $'pki/hosts/ref.pem\npki/crl.pem\nrevoked serial '"$(serial ref.old.pem)" ]] && ok "renew --revoke-old output" || fail "output: $out"
[[ $(pub pki/hosts/ref.pem) == "$(openssl pkey -in host/ref-new.key -pubout)" ]] && ok "renew --csr: the new key" || fail "renew --csr key"
[[ ! -e pki/hosts/ref.key ]] && ok "stale key removed from DIR" || fail "stale key kept"
check "old revoked" revoked ref.old.pem
check "new valid" verify_client pki/hosts/ref.pem
refused "renew a revoked certificate" 1 "$P" --dir pki renew ref.old.pem

# --- renew the collector: its DNS/IP SANs are kept
"$P" --dir pki renew pki/collector.pem >/dev/null
[[ $(san pki/collector.pem) == "DNS:c.example.org, IP Address:10.0.0.5, URI:spiffe://prod.example.org/collector" ]] &&
  ok "collector renewal keeps its SANs" || fail "collector SAN $(san pki/collector.pem)"

# --- another CA's certificate is refused
"$P" --dir other init --trust-domain prod.example.org >/dev/null
"$P" --dir other host web-1 >/dev/null
refused "renew another CA's certificate" 1 "$P" --dir pki renew other/hosts/web-1.pem

(( fails == 0 )) || { echo "$fails failure(s)"; exit 1; }
echo "all passed"
