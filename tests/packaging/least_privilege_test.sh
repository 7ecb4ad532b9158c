#!/usr/bin/env bash
# Least privilege, measured (README "Least privilege"):
#  1. systemd-analyze security --offline=true rates each shipped unit; the
#     exposure systemd computes must be <= 4.0 (agent) and <= 2.5 (collector).
#  2. The real agent, under its unit's restrictions, still collects every fact
#     kind: no fact kind lacks a capability, none reads less than the same
#     agent unrestricted. Where systemd is PID 1 the unit's [Service]
#     properties are applied by systemd-run; otherwise they are emulated:
#     unshare -m with every mount remounted read-only except the
#     StateDirectory (ProtectSystem=strict, ProtectHome=read-only), a tmpfs
#     /tmp (PrivateTmp), the InaccessiblePaths hidden, then setpriv with the
#     unit's capability bounding set, no inheritable/ambient caps and
#     no_new_privs. The output says which ran and what was not emulated.
# usage: least_privilege_test.sh SOURCE_DIR AGENT_BIN   (root; ~15 s)
set -euo pipefail
src=$1
agent=$2
units=$src/deploy/systemd
fail=0

# 1. exposure
for spec in preflight-agent:4.0 preflight-collector:2.5; do
  unit=${spec%%:*} max=${spec#*:}
  out=$(systemd-analyze security --offline=true "$units/$unit.service" 2>&1 || true)
  level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  if [ -z "$level" ]; then
    printf '%s\n' "$out"; echo "FAIL $unit: no exposure level from systemd-analyze"; fail=1; continue
  fi
  if awk -v l="$level" -v m="$max" 'BEGIN { exit !(l <= m) }'; then
    echo "ok   $unit.service exposure $level (target <= $max)"
  else
    printf '%s\n' "$out"; echo "FAIL $unit.service exposure $level > $max"; fail=1
  fi
done

# 2. the agent under its unit's restrictions
if [ "$(id -u)" != 0 ]; then
  echo "SKIP (agent part): needs root to restrict the agent as its unit does"
  exit $fail
fi
unitfile=$units/preflight-agent.service
prop() { sed -n "s/^$1=//p" "$unitfile" | tail -1; }
work=$(mktemp -d /tmp/preflight-lp.XXXXXX)
user=pf-lptest$$
bindir=
cleanup() {
  userdel -r "$user" >/dev/null 2>&1 || true
  rm -rf "$work"
  if [ -n "$bindir" ]; then rm -rf "$bindir"; fi
}
trap cleanup EXIT

# Something only CAP_DAC_READ_SEARCH reads, under ProtectHome=read-only: an
# account whose home is 0700 with its history and keys 0600.
useradd -m -s /bin/bash "$user"
home=$(getent passwd "$user" | cut -d: -f6)
chmod 0700 "$home"
printf 'ls\nexport AWS_SECRET_ACCESS_KEY=abcdefghijklmnopqrstuvwxyz0123456789ABCD\n' >"$home/.bash_history"
mkdir -p "$home/.ssh"
ssh-keygen -q -t ed25519 -N '' -C "vendor@opencrvs.org" -f "$work/key"
cp "$work/key.pub" "$home/.ssh/authorized_keys"
chown -R "$user:$user" "$home"
chmod 0600 "$home/.bash_history" "$home/.ssh/authorized_keys"

# Unrestricted: the reference.
"$agent" --dry-run >"$work/full.json" 2>"$work/full.err" || { cat "$work/full.err"; exit 1; }

caps=$(prop CapabilityBoundingSet)
init=$(ps -p 1 -o comm=)
if [ -d /run/systemd/system ]; then
  echo "ran: systemd-run with the [Service] properties of $unitfile (systemd is PID 1)"
  props=()
  while IFS= read -r line; do props+=(-p "$line"); done < <(
    sed -n '/^\[Service\]/,/^\[/p' "$unitfile" | grep -E '^[A-Za-z]+=' |
      grep -vE '^(ExecStart|Restart|RestartSec)=')
  systemd-run --wait --pipe --quiet "${props[@]}" "$agent" --dry-run \
    >"$work/restricted.json" 2>"$work/restricted.err" || { cat "$work/restricted.err"; exit 1; }
else
  echo "ran: emulation (PID 1 is '$init', not systemd): unshare -m, read-only remounts" \
    "(ProtectSystem=$(prop ProtectSystem), ProtectHome=$(prop ProtectHome)), tmpfs /tmp," \
    "InaccessiblePaths=$(prop InaccessiblePaths), setpriv bounding set '$caps'," \
    "no inheritable/ambient caps, no_new_privs, umask $(prop UMask)"
  echo "not emulated: SystemCallFilter, RestrictAddressFamilies, MemoryDenyWriteExecute," \
    "PrivateDevices, Protect{Kernel*,ControlGroups,Clock,Hostname}, cgroup limits"
  setpriv_caps=$(echo "$caps" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
  # The unit runs /usr/sbin/preflight-agent. A build under /tmp (CI clones
  # there) would vanish under the private /tmp, so the agent then runs from a
  # copy outside it, as the installed one does.
  run_agent=$agent
  case $agent in
    /tmp/* | /var/tmp/*)
      bindir=$(mktemp -d /var/lib/preflight-lp-bin.XXXXXX)
      cp "$agent" "$bindir/preflight-agent"
      run_agent=$bindir/preflight-agent
      ;;
  esac
  state=/var/lib/$(prop StateDirectory)
  hidden=$(prop InaccessiblePaths | sed 's/^-//')
  cat >"$work/inner.sh" <<INNER
set -eu
mkdir -p $state
mount --bind $state $state
# every mount read-only but the state dir and the kernel's API file systems
awk '{print \$5}' /proc/self/mountinfo | sort -u | while read -r m; do
  case \$m in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*|$state) continue ;; esac
  mount -o remount,bind,ro "\$m" 2>/dev/null || true
done
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp 2>/dev/null || true
if [ -e "$hidden" ]; then mount --bind /dev/null "$hidden"; fi
# the proof that it holds: / and the homes are not writable, the state dir is
if touch /etc/.pf-lptest 2>/dev/null; then echo "emulation broken: /etc writable" >&2; exit 3; fi
if touch "$home/.pf-lptest" 2>/dev/null; then echo "emulation broken: home writable" >&2; exit 3; fi
touch $state/.pf-lptest && rm $state/.pf-lptest
umask $(prop UMask)
exec setpriv --no-new-privs --inh-caps=-all --ambient-caps=-all \
  --bounding-set=-all,$setpriv_caps -- "$run_agent" --dry-run
INNER
  unshare -m --propagation private sh "$work/inner.sh" \
    >"$work/restricted.json" 2>"$work/restricted.err" || { cat "$work/restricted.err"; exit 1; }
fi

python3 - "$work/full.json" "$work/restricted.json" "$user" "$home" <<'PY' || fail=1
import json, sys
full, restricted = (json.load(open(p)) for p in sys.argv[1:3])
user, home = sys.argv[3:5]
ok = True
def check(cond, what):
    global ok
    print(("ok   " if cond else "FAIL ") + what)
    ok = ok and cond
priv = restricted.get("privileges", {})
print("     restricted agent's effective capabilities:", ", ".join(priv.get("effective", [])) or "none")
hard = [m for m in priv.get("missing", []) if not m.get("evidence_only")]
check(priv.get("checked") is True, "the agent judged its privileges")
check(not hard, "no fact kind lacks a capability: %s" % [(m["fact"], m["capability"]) for m in hard])
for m in priv.get("missing", []):
    if m.get("evidence_only"):
        print("     evidence only, by design: %s lacks %s" % (m["fact"], m["capability"]))
kinds = [k for k, v in full.items() if isinstance(v, dict) and "collection" in v]
check(len(kinds) >= 10, "fact kinds in the report: %d (%s)" % (len(kinds), ", ".join(sorted(kinds))))
def unread(rep, k):
    return {u.get("path") for u in rep.get(k, {}).get("collection", {}).get("unreadable", [])}
for k in sorted(kinds):
    a = full[k]["collection"].get("state", "STATE_UNSPECIFIED")
    b = restricted.get(k, {}).get("collection", {}).get("state", "missing")
    extra = unread(restricted, k) - unread(full, k)
    check(a == b and not extra,
          "%s: %s unrestricted, %s restricted%s" % (k, a, b, "; unreadable only when restricted: %s" % sorted(extra) if extra else ""))
text = json.dumps(restricted)
check(home + "/.bash_history" in text, "shell history of %s (0700 home, 0600 file) read" % user)
check(home + "/.ssh/authorized_keys" in text and "vendor@opencrvs.org" in text,
      "authorized_keys of %s read" % user)
check("abcdefghijklmnopqrstuvwxyz0123456789ABCD" not in text, "the secret in the history is not sent")
sys.exit(0 if ok else 1)
PY
grep -q "WARNING: collecting WITHOUT" "$work/restricted.err" && sed -n '/WARNING/p' "$work/restricted.err"
echo "least_privilege_test: $([ $fail = 0 ] && echo PASS || echo FAIL)"
exit $fail
