// preflightctl against a real collector (issue 14, "a CLI that fits a
// terminal and a script"): help as a command, unknown hosts and check ids as
// usage errors with did-you-mean, local TLS mistakes named, tables at the
// terminal's width, and text from operators that cannot forge a line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/support/cluster.h"
#include "tests/support/process.h"

namespace preflight::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

class CliTest : public ::testing::Test {
 protected:
  CliTest() : cluster_(OneManager()) {}
  void SetUp() override { cluster_.StartCollector(); }

  // preflightctl with the operator's certificate and `env` added.
  RunResult CtlWithEnv(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env) {
    const v1::TlsFiles tls = cluster_.pki().OperatorTls("alice");
    std::vector<std::string> argv = {PREFLIGHT_CTL_BIN, "--collector",   cluster_.target(),
                                     "--cert",          tls.cert_file(), "--key",
                                     tls.key_file(),    "--ca",          tls.ca_file()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, absl::Seconds(30), env);
  }

  TestCluster cluster_;
};

TEST_F(CliTest, AnOperatorNoteCannotForgeAnAuditLine) {
  const std::string forged =
      "#999 2026-01-01 00:00:00 UTC attest pipelines.green production by "
      "spiffe://x/operator/mallory";
  RunResult attest = cluster_.Ctl({"attest", "pipelines.green", "--env", "production", "--note",
                                   absl::StrCat("checked\n", forged, "\r\x1b[2K")});
  ASSERT_EQ(attest.exit_code, 0) << attest.err;

  RunResult audit = cluster_.Ctl({"audit"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  // Every line that starts like an entry is one: as many as the trail holds,
  // with their own numbers.
  std::set<std::string> seqs;
  for (const auto& e : cluster_.AuditEntries()) {
    seqs.insert(absl::StrCat(
        "#", static_cast<int64_t>(e.struct_value().fields().at("seq").number_value())));
  }
  size_t entry_lines = 0;
  for (const std::string& line : Lines(audit.out)) {
    if (!absl::StartsWith(line, "#")) continue;
    ++entry_lines;
    EXPECT_TRUE(seqs.count(line.substr(0, line.find(' '))) == 1) << line;
  }
  EXPECT_EQ(entry_lines, seqs.size()) << audit.out;
  EXPECT_THAT(audit.out, HasSubstr(absl::StrCat("checked\\n", forged.substr(0, 10))));
  EXPECT_THAT(audit.out, Not(HasSubstr("\x1b")));
  EXPECT_THAT(audit.out, Not(HasSubstr("\r")));
  // JSON keeps the note as it was written.
  RunResult json = cluster_.Ctl({"audit", "--format", "json"});
  EXPECT_THAT(json.out, HasSubstr("checked\\n#999"));
}

TEST_F(CliTest, UnknownHostsAndChecksAreUsageErrorsWithASuggestion) {
  RunResult r = cluster_.Ctl({"history", "prod-01", "--check", "no.such.check"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("there is no check 'no.such.check'"));
  r = cluster_.Ctl({"history", "prod-01", "--check", "ssh.root_login_disable"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("did you mean ssh.root_login_disabled?"));
  r = cluster_.Ctl({"history", "prod-01", "--check", "ssh.root_login_disabled"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"host", "prod-1"},
                                             {"history", "prod-1"},
                                             {"diff", "prod-1"},
                                             {"refresh", "prod-1"},
                                             {"waive", "ssh.root_login_disabled", "--host",
                                              "prod-1", "--reason", "r", "--expires", "1d"}}) {
    r = cluster_.Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("host 'prod-1' is not in the inventory; did you mean prod-01?"))
        << args[0];
  }
  r = cluster_.Ctl({"attest", "pipelines.gren", "--env", "production", "--note", "n"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("did you mean pipelines.green?"));
  r = cluster_.Ctl({"waive", "ssh.root_logon_disabled", "--host", "prod-01", "--reason", "r",
                    "--expires", "1d"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("did you mean ssh.root_login_disabled?"));
  // A control character in what was typed comes back escaped.
  r = cluster_.Ctl({"host", "evil\x1b[2Jhost"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("evil\\x1b[2Jhost"));
}

TEST_F(CliTest, HelpIsACommand) {
  RunResult help = RunProcess({PREFLIGHT_CTL_BIN, "help"}, absl::Seconds(10));
  RunResult dashed = RunProcess({PREFLIGHT_CTL_BIN, "--help"}, absl::Seconds(10));
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_EQ(help.out, dashed.out);
  RunResult attest = RunProcess({PREFLIGHT_CTL_BIN, "help", "attest"}, absl::Seconds(10));
  RunResult attest_dashed = RunProcess({PREFLIGHT_CTL_BIN, "attest", "--help"}, absl::Seconds(10));
  EXPECT_EQ(attest.exit_code, 0);
  EXPECT_EQ(attest.out, attest_dashed.out);
  RunResult bad = RunProcess({PREFLIGHT_CTL_BIN, "help", "atest"}, absl::Seconds(10));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("did you mean attest?"));
  for (const char* program : {PREFLIGHT_CTL_BIN, PREFLIGHT_AGENT_BIN, PREFLIGHT_COLLECTOR_BIN}) {
    RunResult version = RunProcess({program, "--version"}, absl::Seconds(10));
    EXPECT_EQ(version.exit_code, 0) << program;
    EXPECT_THAT(version.out, HasSubstr(" ")) << program;
  }
}

TEST_F(CliTest, ConflictingFlagsAreRefusedBeforeAnythingIsAsked) {
  RunResult r = cluster_.Ctl(
      {"attest", "pipelines.green", "--env", "production", "--expires", "30d", "--revoke"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--expires and --revoke cannot be given together"));
  r = cluster_.Ctl(
      {"waive", "ssh.root_login_disabled", "--host", "prod-01", "--revoke", "--reason", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--reason and --revoke cannot be given together"));
  r = cluster_.Ctl(
      {"attest", "pipelines.green", "--env", "production", "--note", "n", "--expires", "-1d"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("a duration cannot be negative"));
  // Nothing of it reached the trail.
  for (const auto& e : cluster_.AuditEntries()) {
    EXPECT_NE(e.struct_value().fields().at("action").string_value(), "attest");
  }
}

TEST_F(CliTest, LocalTlsMistakesNameTheFile) {
  cluster_.pki().IssueAuditor("bob");
  v1::TlsFiles alice = cluster_.pki().OperatorTls("alice");
  v1::TlsFiles bob = cluster_.pki().AuditorTls("bob");
  v1::TlsFiles mixed = alice;
  mixed.set_key_file(bob.key_file());
  RunResult r = cluster_.CtlAs(mixed, {"checks"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err,
              HasSubstr(absl::StrCat("private key ", bob.key_file(),
                                     " does not match the certificate ", alice.cert_file())));
  v1::TlsFiles missing = alice;
  missing.set_ca_file(cluster_.dir().Join("no-such-ca.pem"));
  r = cluster_.CtlAs(missing, {"checks"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              HasSubstr(absl::StrCat("CA certificate ", missing.ca_file(), ": cannot be read")));
  v1::TlsFiles swapped = alice;
  swapped.set_cert_file(alice.key_file());
  r = cluster_.CtlAs(swapped, {"checks"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              HasSubstr(absl::StrCat("certificate ", alice.key_file(), ": not a PEM certificate")));
}

TEST_F(CliTest, TablesUseTheWidthTheyAreGiven) {
  RunResult json = cluster_.Ctl({"checks", "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  for (const char* columns : {"80", "120", "200"}) {
    RunResult r = CtlWithEnv({"checks"}, {{"COLUMNS", columns}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    size_t width = 0;
    ASSERT_TRUE(absl::SimpleAtoi(columns, &width));
    for (const std::string& line : Lines(r.out)) {
      EXPECT_LE(line.size(), width) << line;
    }
    EXPECT_THAT(r.out, Not(HasSubstr("~")));
    // Every id of the catalogue, whole.
    for (const char* id : {"ssh.password_auth_disabled", "backup.test_backups_deleted",
                           "firewall.public_exposure", "shell.history_cleared"}) {
      EXPECT_THAT(r.out, HasSubstr(id)) << columns;
    }
  }
  // Wider is used: fewer lines at 200 than at 80.
  EXPECT_LT(Lines(CtlWithEnv({"checks"}, {{"COLUMNS", "200"}}).out).size(),
            Lines(CtlWithEnv({"checks"}, {{"COLUMNS", "80"}}).out).size());
}

}  // namespace
}  // namespace preflight::testing
