#!/usr/bin/env bash
# Installs everything preflight needs to build and test on Debian 12, from
# Debian's own packages. Run as root. Idempotent.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "install-deps.sh: run as root (apt-get install)" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
packages=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libssl-dev openssl librocksdb-dev
  # The collector's allocator (collector/service/heap.h): gperftools' tcmalloc.
  libtcmalloc-minimal4
  libgtest-dev libgmock-dev libbenchmark-dev
  # The second CI build (deploy/ci-clang.sh): clang's -Wthread-safety, and
  # ASan + UBSan, whose runtimes Debian only recommends; llvm brings
  # llvm-symbolizer, so sanitizer reports name functions and lines.
  clang libclang-rt-14-dev llvm
  # Reference programs the tests compare against.
  openssh-server openssh-client logrotate python3
  # The default administrator passwords (agent/facts/admin_passwords.cc): bcrypt
  # through libxcrypt's crypt_r (libc6-dev pulls it in; named for clarity), and
  # python3-bcrypt, an independent bcrypt the tests hash with.
  libcrypt-dev python3-bcrypt
  # Node.js runs the agent's MongoDB JavaScript (agent/facts/mongo_shell.h)
  # in tests/unit/mongo_shell_test.cc: MongoDB and its shell are not in
  # Debian; tests/fixtures/mongo/legacy_shell_shim.js stands in for the shell.
  nodejs
  # A throwaway PostgreSQL server (initdb, pg_ctl, psql) the agent's psql script
  # runs against in tests/unit/admin_passwords_test.cc.
  postgresql
  # The PAM oracle (tests/oracle/pam_oracle_test.cc): real libpam 1.5 and the
  # Google Authenticator module, driven with pam_start_confdir.
  libpam0g-dev libpam-google-authenticator
  # Renders the HTML export in the export test (headless).
  chromium libpng-dev
  # Field conditions: a small ext4 image for the full-disk tests (mkfs.ext4,
  # mount -o loop), prlimit for the descriptor-exhaustion test.
  e2fsprogs mount util-linux
  # The packaging tests: systemd-analyze (verify, security --offline) and
  # systemd-sysusers for the collector's user; dpkg-dev for cpack's shlibdeps.
  systemd dpkg-dev
  # The Ansible roles (deploy/ansible, tests/ansible): syntax-check,
  # ansible-lint --offline and a local run of the example playbook.
  ansible ansible-lint
  # Notifications (collector/notify) are tested against a real SMTP server:
  # aiosmtpd, with STARTTLS and AUTH.
  python3-aiosmtpd
  # The agent reads Docker listings from the Engine API (agent/facts/
  # docker_api_listings.cc); tests compare them with the Docker CLI against a
  # throwaway dockerd (vfs storage, no bridge, its own socket), and
  # busybox-static makes a one-file image so services run without a registry.
  docker.io busybox-static
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps.sh: installing ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps.sh: all packages present"
fi
