#include "tests/support/real_postgres.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace preflight::testing {

RealPostgres::RealPostgres() {
  bin_ = FindBin();
  if (bin_.empty()) return;
  if (geteuid() == 0) {
    // initdb refuses root: the server runs as Debian's postgres user.
    struct passwd* pw = getpwnam("postgres");
    if (pw == nullptr) return;
    as_ = {"runuser", "-u", "postgres", "--"};
    if (chown(dir_.path().c_str(), pw->pw_uid, pw->pw_gid) != 0) return;
  }
  RunResult init = Run({bin_ + "/initdb", "-D", dir_.Join("data"), "-A", "trust", "-U", "postgres",
                        "--no-sync", "-E", "UTF8"});
  if (init.exit_code != 0) {
    error_ = "initdb: " + init.err;
    return;
  }
  RunResult start = Run({bin_ + "/pg_ctl", "-D", dir_.Join("data"), "-w", "-l", dir_.Join("log"),
                         "-o", "-k " + dir_.path() + " -c listen_addresses='' -F", "start"});
  if (start.exit_code != 0) {
    error_ = "pg_ctl start: " + start.err + start.out;
    return;
  }
  started_ = true;
}

RealPostgres::~RealPostgres() {
  if (started_) Run({bin_ + "/pg_ctl", "-D", dir_.Join("data"), "-m", "immediate", "stop"});
}

std::string RealPostgres::error() const {
  return bin_.empty() ? "no /usr/lib/postgresql/*/bin/initdb (deploy/install-deps.sh installs "
                        "postgresql)"
                      : error_;
}

std::string RealPostgres::Psql(const std::string& db, const std::string& sql) {
  RunResult r = Run({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", dir_.path(), "-U",
                     "postgres", "-d", db, "-c", sql});
  EXPECT_EQ(r.exit_code, 0) << sql << ": " << r.err;
  return r.out;
}

std::string RealPostgres::FindBin() {
  RunResult r = RunProcess({"/bin/sh", "-c", "ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1"},
                           absl::Seconds(10));
  std::string bin(absl::StripAsciiWhitespace(r.out));
  return access((bin + "/initdb").c_str(), X_OK) == 0 ? bin : "";
}

RunResult RealPostgres::Run(std::vector<std::string> argv) {
  std::vector<std::string> full = as_;
  full.insert(full.end(), argv.begin(), argv.end());
  return RunProcess(full, absl::Seconds(60));
}

}  // namespace preflight::testing
