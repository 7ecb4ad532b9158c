#!/usr/bin/env bash
# The Debian packages, end to end on this machine: cpack -G DEB from the
# build directory (packages what is built, builds nothing), dpkg -i, then
# files, owners, modes, the preflight user, conffiles, systemd-analyze verify
# on the installed units, --version of every program, an edited conffile
# surviving a reinstall, and dpkg --purge leaving nothing behind.
# usage: packages_test.sh BUILD_DIR EXPECTED_VERSION
# Needs root (dpkg -i); skips, saying why, otherwise. Takes ~30 s.
set -euo pipefail
build=$1
version=$2
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: packages_test needs root to install packages with dpkg -i"
  exit 0
fi
echo "init (PID 1): $(ps -p 1 -o comm=)"
[ -d /run/systemd/system ] && echo "systemd is the running init" ||
  echo "systemd is not the running init: maintainer scripts must not call systemctl"

# One dpkg user of these packages at a time (ctest -j, other checkouts).
exec 8>/tmp/preflight-packages.lock
flock 8

fail=0
check() { # DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}
stat_is() { # PATH MODE OWNER GROUP
  local got; got=$(stat -c '%a %U %G' "$1" 2>/dev/null || echo missing)
  [ "$got" = "$2 $3 $4" ] || { echo "     $1: $got, want $2 $3 $4"; return 1; }
}
gone() { [ ! -e "$1" ] && [ ! -L "$1" ] || { echo "     $1 still there"; return 1; }; }

work=$(mktemp -d /tmp/preflight-packages.XXXXXX)
cleanup() {
  dpkg --purge preflight-agent preflight-collector >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# A previous run killed half-way may have left them installed.
dpkg --purge preflight-agent preflight-collector >/dev/null 2>&1 || true

start=$(date +%s)
(cd "$build" && cpack -G DEB -B "$work" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log"; echo "FAIL cpack"; exit 1; }
agent_deb=$(ls "$work"/preflight-agent_"$version"-*.deb)
collector_deb=$(ls "$work"/preflight-collector_"$version"-*.deb)
echo "cpack: $(basename "$agent_deb") $(du -k "$agent_deb" | cut -f1) KiB," \
  "$(basename "$collector_deb") $(du -k "$collector_deb" | cut -f1) KiB in $(($(date +%s) - start)) s"

# conffiles in the control area
check "agent conffiles" bash -c "dpkg-deb -I '$agent_deb' conffiles | grep -qx /etc/preflight/agent.textproto"
for f in collector policy inventory; do
  check "collector conffile $f.textproto" \
    bash -c "dpkg-deb -I '$collector_deb' conffiles | grep -qx /etc/preflight/$f.textproto"
done

# bash completion and man pages, generated from the flag tables
for f in ./usr/share/bash-completion/completions/preflightctl ./usr/share/man/man1/preflightctl.1.gz \
         ./usr/share/man/man8/preflight-collector.8.gz; do
  check "collector package holds $f" bash -c "dpkg-deb -c '$collector_deb' | grep -q ' $f\$'"
done
check "agent package holds its man page" \
  bash -c "dpkg-deb -c '$agent_deb' | grep -q ' ./usr/share/man/man8/preflight-agent.8.gz\$'"

# The collector's allocator (collector/service/heap.h) comes with it: cpack's
# dpkg-shlibdeps reads the binary's NEEDED entries. The agent does not use it.
if readelf -d "$build/collector/preflight-collector" | grep -q 'libtcmalloc_minimal'; then
  check "collector depends on libtcmalloc-minimal4" \
    bash -c "dpkg-deb -f '$collector_deb' Depends | grep -q 'libtcmalloc-minimal4'"
fi
check "agent does not depend on tcmalloc" \
  bash -c "! dpkg-deb -f '$agent_deb' Depends | grep -q tcmalloc"

dpkg -i "$agent_deb" "$collector_deb" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; echo "FAIL dpkg -i"; exit 1; }
echo "ok   dpkg -i both packages"

# programs
for p in /usr/sbin/preflight-agent /usr/sbin/preflight-collector /usr/bin/preflightctl \
         /usr/bin/preflight-certs; do
  check "$p 755 root" stat_is "$p" 755 root root
  name=$(basename "$p")
  out=$("$p" --version 2>&1 || true)
  check "$name --version says '$name $version' (got '$out')" test "$out" = "$name $version"
done
# configs: not world-readable (the inventory names every server)
check "agent.textproto 640 root:root" stat_is /etc/preflight/agent.textproto 640 root root
for f in collector policy inventory; do
  check "$f.textproto 640 root:preflight" stat_is /etc/preflight/$f.textproto 640 root preflight
done
# the user, and state directories matching the units' StateDirectory=
check "user preflight exists" getent passwd preflight
check "preflight's shell is nologin" \
  bash -c '[ "$(getent passwd preflight | cut -d: -f7)" = /usr/sbin/nologin ]'
check "sysusers.d file" test -f /usr/lib/sysusers.d/preflight-collector.conf
check "/var/lib/preflight-collector 700 preflight" stat_is /var/lib/preflight-collector 700 preflight preflight
check "/var/lib/preflight-agent 700 root" stat_is /var/lib/preflight-agent 700 root root
for u in agent collector; do
  unit=/lib/systemd/system/preflight-$u.service
  check "unit $u: StateDirectory is /var/lib/preflight-$u" grep -qx "StateDirectory=preflight-$u" "$unit"
  check "unit $u: ExecStart is /usr/sbin/preflight-$u" grep -q "^ExecStart=/usr/sbin/preflight-$u " "$unit"
  # Offline: parses the unit, checks ExecStart= exists and is executable.
  if systemd-analyze verify "$unit" >"$work/verify.log" 2>&1; then
    echo "ok   systemd-analyze verify $unit"
  else
    cat "$work/verify.log"; echo "FAIL systemd-analyze verify $unit"; fail=1
  fi
  check "preflight-$u enabled (deb-systemd-helper)" \
    test -L /etc/systemd/system/multi-user.target.wants/preflight-$u.service
done
for f in collector policy inventory; do
  check "the preflight user reads $f.textproto" \
    setpriv --reuid=preflight --regid=preflight --init-groups --inh-caps=-all \
      --bounding-set=-all head -c1 /etc/preflight/$f.textproto >/dev/null
  check "nobody else reads $f.textproto" \
    bash -c "! setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
      --bounding-set=-all head -c1 /etc/preflight/$f.textproto >/dev/null 2>&1"
done

# An edited conffile survives a reinstall (and an untouched one is kept too).
echo "# edited by the operator" >>/etc/preflight/agent.textproto
echo "# edited by the operator" >>/etc/preflight/inventory.textproto
dpkg -i "$agent_deb" "$collector_deb" >"$work/reinstall.log" 2>&1 </dev/null ||
  { cat "$work/reinstall.log"; echo "FAIL dpkg -i (reinstall)"; exit 1; }
check "edited agent.textproto kept on reinstall" \
  bash -c 'tail -1 /etc/preflight/agent.textproto | grep -qx "# edited by the operator"'
check "edited inventory.textproto kept on reinstall" \
  bash -c 'tail -1 /etc/preflight/inventory.textproto | grep -qx "# edited by the operator"'
check "inventory.textproto still 640 root:preflight" stat_is /etc/preflight/inventory.textproto 640 root preflight

# Purge: every file gone; the user stays (Debian does not delete system users).
dpkg --purge preflight-agent preflight-collector >"$work/purge.log" 2>&1 ||
  { cat "$work/purge.log"; echo "FAIL dpkg --purge"; exit 1; }
for p in /usr/sbin/preflight-agent /usr/sbin/preflight-collector /usr/bin/preflightctl \
         /usr/bin/preflight-certs /etc/preflight /lib/systemd/system/preflight-agent.service \
         /lib/systemd/system/preflight-collector.service /usr/lib/sysusers.d/preflight-collector.conf \
         /var/lib/preflight-agent /var/lib/preflight-collector /usr/share/doc/preflight-agent \
         /usr/share/doc/preflight-collector /etc/systemd/system/multi-user.target.wants/preflight-agent.service \
         /etc/systemd/system/multi-user.target.wants/preflight-collector.service; do
  check "purged: $p" gone "$p"
done
check "dpkg knows neither package" \
  bash -c '! dpkg-query -W -f="\${Status}\n" preflight-agent preflight-collector 2>/dev/null | grep -q installed'
echo "note: the preflight user is kept after purge, as Debian does for system users"

echo "packages_test: $([ $fail = 0 ] && echo PASS || echo FAIL) in $(($(date +%s) - start)) s"
exit $fail
