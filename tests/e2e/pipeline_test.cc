// The whole path with real processes: collector + agent --once on fixture
// roots + preflightctl, over real mutual TLS on a loopback port chosen by the
// kernel, with certificates made by certs/preflight-certs in the test.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "tests/support/cluster.h"
#include "tests/support/json.h"
#include "tests/support/pki.h"

namespace preflight::testing {
namespace {

v1::Inventory TwoHosts() {
  v1::Inventory inv;
  auto* prod = inv.add_hosts();
  prod->set_id("prod-01");
  prod->set_environment("production");
  prod->add_roles("manager");
  auto* staging = inv.add_hosts();
  staging->set_id("staging");
  staging->set_environment("staging");
  staging->add_roles("manager");
  auto* qa = inv.add_hosts();
  qa->set_id("qa");
  qa->set_environment("qa");
  return inv;
}

// "file:N" where N is the 1-based line of `file` (under `root`) whose text
// starts with `prefix`.
std::string LineOf(const std::string& root, const std::string& file, const std::string& prefix) {
  std::ifstream in(root + file);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (absl::StartsWith(line, prefix)) return absl::StrCat(file, ":", n);
  }
  ADD_FAILURE() << prefix << " not in " << root << file;
  return "";
}

const google::protobuf::Value& CheckOf(const google::protobuf::Value& host, const std::string& id) {
  const google::protobuf::Value* c = FindBy(Field(host, "checks"), "id", id);
  EXPECT_NE(c, nullptr) << "no check " << id;
  static const google::protobuf::Value kNull;
  return c == nullptr ? kNull : *c;
}

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest() : cluster_(TwoHosts()) {}
  void SetUp() override { cluster_.StartCollector(); }
  TestCluster cluster_;
};

TEST_F(PipelineTest, ReportFlowsToVerdictsAndFleetStatus) {
  std::string hardened = FixtureRoot("opencrvs-manager");
  std::string unhardened = FixtureRoot("unhardened-root");

  RunResult agent = cluster_.AgentOnce("prod-01", hardened);
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  EXPECT_TRUE(absl::StrContains(agent.err, "acked")) << agent.err;

  // The host's JSON: PASS, with the deciding file:line as evidence.
  RunResult host = cluster_.Ctl({"host", "prod-01", "--format", "json"});
  ASSERT_EQ(host.exit_code, 0) << host.err << host.out;
  auto h = ParseJson(host.out);
  EXPECT_EQ(Field(h, "host").string_value(), "prod-01");
  EXPECT_EQ(Field(h, "environment").string_value(), "production");
  EXPECT_FALSE(Field(h, "stale").bool_value());
  EXPECT_TRUE(absl::EndsWith(Field(h, "last_report").string_value(), "Z"));
  const auto& root_login = CheckOf(h, "ssh.root_login_disabled");
  EXPECT_EQ(Field(root_login, "status").string_value(), "PASS");
  EXPECT_EQ(Field(root_login, "severity").string_value(), "blocker");
  EXPECT_EQ(Field(root_login, "checklist_item").number_value(), 13);
  EXPECT_FALSE(Field(root_login, "title").string_value().empty());
  EXPECT_FALSE(Field(root_login, "remediation").string_value().empty());
  const auto& evidence = Field(root_login, "evidence").list_value();
  ASSERT_GE(evidence.values_size(), 1);
  EXPECT_EQ(Field(evidence.values(0), "source").string_value(),
            LineOf(hardened, "/etc/ssh/sshd_config", "PermitRootLogin"));

  // Fleet: not ready, because staging never reported; qa does not gate.
  RunResult status = cluster_.Ctl({"status", "--format", "json"});
  EXPECT_EQ(status.exit_code, 1) << status.err;
  auto fleet = ParseJson(status.out);
  EXPECT_FALSE(Field(fleet, "ready").bool_value());
  const auto* staging = FindBy(Field(fleet, "hosts"), "host", "staging");
  ASSERT_NE(staging, nullptr);
  EXPECT_TRUE(Field(*staging, "last_report").has_null_value());
  EXPECT_TRUE(Field(*staging, "stale").bool_value());
  EXPECT_TRUE(Field(fleet, "manual_items").has_list_value());
  bool staging_reason = false;
  for (const auto& r : Field(fleet, "reasons").list_value().values()) {
    staging_reason |= absl::StrContains(r.string_value(), "staging");
  }
  EXPECT_TRUE(staging_reason) << status.out;

  // Staging reports an unhardened sshd: FAIL, host exit 1, default named.
  agent = cluster_.AgentOnce("staging", unhardened);
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  host = cluster_.Ctl({"host", "staging", "--format", "json"});
  EXPECT_EQ(host.exit_code, 1);
  auto s = ParseJson(host.out);
  const auto& failing = CheckOf(s, "ssh.root_login_disabled");
  EXPECT_EQ(Field(failing, "status").string_value(), "FAIL");
  EXPECT_TRUE(absl::StrContains(host.out, "default")) << host.out;
  EXPECT_EQ(cluster_.Ctl({"status"}).exit_code, 1);

  // Staging fixed: the newer report replaces the verdict; only the manual
  // items keep the fleet from being ready (qa is not a gating environment and
  // never reported).
  agent = cluster_.AgentOnce("staging", hardened);
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  status = cluster_.Ctl({"status", "--format", "json"});
  EXPECT_EQ(status.exit_code, 1);
  auto fleet_now = ParseJson(status.out);
  for (const auto& r : Field(fleet_now, "reasons").list_value().values()) {
    EXPECT_TRUE(absl::StrContains(r.string_value(), "is PENDING")) << r.string_value();
  }
  for (const auto& item : Field(fleet_now, "manual_items").list_value().values()) {
    RunResult a = cluster_.Ctl({"attest", Field(item, "id").string_value(), "--env",
                                Field(item, "environment").string_value(), "--note", "done"});
    ASSERT_EQ(a.exit_code, 0) << a.err;
  }
  status = cluster_.Ctl({"status", "--format", "json"});
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_TRUE(Field(ParseJson(status.out), "ready").bool_value()) << status.out;

  RunResult table = cluster_.Ctl({"status"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(table.out, "FLEET: READY")) << table.out;
  for (absl::string_view line : absl::StrSplit(table.out, '\n')) {
    EXPECT_LE(line.size(), 80u) << line;
  }
}

TEST_F(PipelineTest, DropInThatWinsIsTheEvidence) {
  std::string root = FixtureRoot("cloud-init-root");
  ASSERT_EQ(cluster_.AgentOnce("staging", root).exit_code, 0);
  RunResult host = cluster_.Ctl({"host", "staging", "--format", "json"});
  auto h = ParseJson(host.out);
  const auto& check = CheckOf(h, "ssh.root_login_disabled");
  EXPECT_EQ(Field(check, "status").string_value(), "FAIL");
  EXPECT_EQ(Field(Field(check, "evidence").list_value().values(0), "source").string_value(),
            LineOf(root, "/etc/ssh/sshd_config.d/50-cloud-init.conf", "PermitRootLogin"));
}

TEST_F(PipelineTest, HostTableIsReadableIn80Columns) {
  ASSERT_EQ(cluster_.AgentOnce("staging", FixtureRoot("unhardened-root")).exit_code, 0);
  RunResult host = cluster_.Ctl({"host", "staging"});
  EXPECT_EQ(host.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(host.out, "ssh.root_login_disabled")) << host.out;
  EXPECT_TRUE(absl::StrContains(host.out, "fix:")) << host.out;
  for (absl::string_view line : absl::StrSplit(host.out, '\n')) {
    EXPECT_LE(line.size(), 80u) << line;
  }
}

TEST_F(PipelineTest, ChecksCatalogue) {
  RunResult checks = cluster_.Ctl({"checks", "--format", "json"});
  ASSERT_EQ(checks.exit_code, 0) << checks.err;
  auto c = ParseJson(checks.out);
  const auto* root = FindBy(Field(c, "checks"), "id", "ssh.root_login_disabled");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(Field(*root, "checklist_item").number_value(), 13);
  EXPECT_EQ(cluster_.Ctl({"checks"}).exit_code, 0);
}

TEST_F(PipelineTest, UnknownHostAndUsageErrorsExit2) {
  RunResult r = cluster_.Ctl({"host", "nope"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "not in the inventory")) << r.err;
  EXPECT_EQ(cluster_.Ctl({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(cluster_.Ctl({"status", "--format", "yaml"}).exit_code, 2);
  RunResult no_cert = RunProcess({PREFLIGHT_CTL_BIN, "status"}, absl::Seconds(10));
  EXPECT_EQ(no_cert.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(no_cert.err, "--cert")) << no_cert.err;
  RunResult help = RunProcess({PREFLIGHT_CTL_BIN, "--help"}, absl::Seconds(10));
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(help.out, "exit codes")) << help.out;
}

TEST_F(PipelineTest, UnreachableCollectorExits3) {
  cluster_.StopCollector(SIGTERM);
  RunResult r = cluster_.Ctl({"status", "--timeout", "2"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "cannot reach")) << r.err;
}

TEST_F(PipelineTest, DryRunPrintsJsonAndSendsNothing) {
  std::string root = FixtureRoot("opencrvs-manager");
  RunResult r = RunProcess({PREFLIGHT_AGENT_BIN, "--dry-run", "--root", root}, absl::Seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto report = ParseJson(r.out);
  const auto& sshd = Field(report, "sshd");
  EXPECT_EQ(Field(Field(sshd, "collection"), "state").string_value(), "OK");
  std::vector<std::string> files;
  for (const auto& f : Field(sshd, "files").list_value().values()) {
    files.push_back(f.string_value());
  }
  EXPECT_EQ(files, (std::vector<std::string>{"/etc/ssh/sshd_config",
                                             "/etc/ssh/sshd_config.d/ssh-audit_hardening.conf"}));
  EXPECT_EQ(Field(report, "hostname").string_value(), "prod-01");
  EXPECT_EQ(Field(report, "root").string_value(), root);

  // With a config: still nothing sent and nothing spooled.
  std::string config = cluster_.AgentConfig("prod-01");
  r = RunProcess({PREFLIGHT_AGENT_BIN, "--config", config, "--dry-run", "--root", root},
                 absl::Seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(absl::StrContains(cluster_.collector_log(), "stored report"));
  EXPECT_NE(access(cluster_.SpoolDir("prod-01").c_str(), F_OK), 0) << "dry run made a spool";
}

// Exported passwords in history files: counted and located, never sent.
TEST_F(PipelineTest, HistorySecretsNeverLeaveTheHost) {
  RunResult agent = cluster_.AgentOnce("prod-01", FixtureRoot("history-secrets"));
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  std::string seen = agent.out + agent.err;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"host", "prod-01"},
        std::vector<std::string>{"host", "prod-01", "--format", "json"},
        std::vector<std::string>{"status"},
        std::vector<std::string>{"status", "--format", "json"}}) {
    RunResult r = cluster_.Ctl(args);
    seen += r.out + r.err;
  }
  EXPECT_TRUE(absl::StrContains(seen, "shell.history_cleared")) << seen;
  EXPECT_TRUE(absl::StrContains(seen, "secret-assignment")) << seen;
  cluster_.StopCollector(SIGTERM);
  seen += cluster_.collector_log();
  // Every file of the collector's RocksDB directory, byte for byte.
  RunResult files = RunProcess({"find", cluster_.data_dir(), "-type", "f"}, absl::Seconds(10));
  for (absl::string_view path : absl::StrSplit(files.out, '\n', absl::SkipEmpty())) {
    seen += ReadFile(std::string(path));
  }
  EXPECT_GT(seen.size(), 1000u);
  // The report is in the store in clear (the WAL): the search looks where it is.
  std::string store_bytes;
  for (absl::string_view path : absl::StrSplit(files.out, '\n', absl::SkipEmpty())) {
    store_bytes += ReadFile(std::string(path));
  }
  EXPECT_TRUE(absl::StrContains(store_bytes, "/home/alice/.bash_history"));
  EXPECT_FALSE(absl::StrContains(seen, "HistSecret"));
  // The backup passphrase in root's crontab: the job is shown, masked.
  EXPECT_TRUE(absl::StrContains(seen, "--passphrase=****")) << seen;
  EXPECT_FALSE(absl::StrContains(seen, "BackupSecretPass42"));
  // The spool too (the report was acked and removed, but check what is left).
  RunResult spool = RunProcess(
      {"grep", "-r", "-e", "HistSecret", "-e", "BackupSecretPass42", cluster_.SpoolDir("prod-01")},
      absl::Seconds(10));
  EXPECT_NE(spool.exit_code, 0) << spool.out;
}

TEST(ExampleConfigs, DeployExamplesAreValid) {
  std::string deploy = std::string(PREFLIGHT_FIXTURES) + "/../../deploy/";
  // The example as shipped, with its /etc/preflight files made by certs/
  // (--check-config reads them and matches the key to the certificate).
  TempDir dir;
  TestPki pki(dir.Join("pki"), "opencrvs.example.gov");
  std::string config = ReadFile(deploy + "collector.textproto");
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"/etc/preflight/collector.pem", pki.CollectorTls().cert_file()},
           {"/etc/preflight/collector.key", pki.CollectorTls().key_file()},
           {"/etc/preflight/ca.pem", pki.ca()},
           {"/etc/preflight/crl.pem", pki.crl()},
           {"inventory.textproto", deploy + "inventory.textproto"},
           {"policy.textproto", deploy + "policy.textproto"}}) {
    config = absl::StrReplaceAll(config, {{"\"" + from + "\"", "\"" + to + "\""}});
  }
  WriteFile(dir.Join("collector.textproto"), config);
  RunResult c = RunProcess(
      {PREFLIGHT_COLLECTOR_BIN, "--config", dir.Join("collector.textproto"), "--check-config"},
      absl::Seconds(30));
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  EXPECT_TRUE(absl::StrContains(c.out, "valid")) << c.out;
  RunResult a = RunProcess({PREFLIGHT_AGENT_BIN, "--config", deploy + "agent.textproto",
                            "--dry-run", "--root", FixtureRoot("opencrvs-manager")},
                           absl::Seconds(30));
  EXPECT_EQ(a.exit_code, 0) << a.err;
}

TEST_F(PipelineTest, AgentUsageErrors) {
  EXPECT_EQ(RunProcess({PREFLIGHT_AGENT_BIN}, absl::Seconds(10)).exit_code, 2);
  EXPECT_EQ(RunProcess({PREFLIGHT_AGENT_BIN, "--bogus"}, absl::Seconds(10)).exit_code, 2);
  TempDir dir;
  WriteFile(dir.Join("bad.textproto"), "collector: \"x:1\"\nnot_a_field: 3\n");
  RunResult r = RunProcess({PREFLIGHT_AGENT_BIN, "--config", dir.Join("bad.textproto"), "--once"},
                           absl::Seconds(10));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(r.err, dir.Join("bad.textproto") + ":2:")) << r.err;
}

}  // namespace
}  // namespace preflight::testing
