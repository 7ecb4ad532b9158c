// SIGHUP reloads the collector's configuration, inventory, policy and TLS
// files without a restart, with real processes: an accepted change is served
// and audited with what changed; a configuration that does not load is
// refused, logged with its file:line, audited, and the running one kept.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "tests/support/cluster.h"
#include "tests/support/json.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight::testing {
namespace {

// The serial of the certificate the collector presents now, as openssl
// s_client sees it (alice's certificate gets it through the handshake).
std::string ServedSerial(TestCluster& cluster) {
  const v1::TlsFiles alice = cluster.pki().OperatorTls("alice");
  RunResult r = RunProcess({"sh", "-c",
                            absl::StrCat("openssl s_client -connect 127.0.0.1:", cluster.port(),
                                         " -servername localhost -cert ", alice.cert_file(),
                                         " -key ", alice.key_file(), " -CAfile ", alice.ca_file(),
                                         " </dev/null 2>/dev/null | openssl x509 -noout -serial")},
                           absl::Seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return std::string(absl::StripAsciiWhitespace(r.out));
}

std::string FileSerial(const std::string& pem) {
  RunResult r = RunProcess({"openssl", "x509", "-noout", "-serial", "-in", pem}, absl::Seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return std::string(absl::StripAsciiWhitespace(r.out));
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Sends SIGHUP and waits for the collector to log the outcome (`outcome`
// once more than before).
void Reload(TestCluster& cluster, const std::string& outcome) {
  const int before = Count(cluster.collector_log(), outcome);
  ASSERT_EQ(kill(cluster.collector_pid(), SIGHUP), 0);
  ASSERT_TRUE(
      WaitFor([&] { return Count(cluster.collector_log(), outcome) > before; }, absl::Seconds(30)))
      << cluster.collector_log();
}

// The detail of every audit entry whose action is `action`.
std::vector<std::string> Audited(TestCluster& cluster, const std::string& action) {
  std::vector<std::string> out;
  for (const auto& e : cluster.AuditEntries()) {
    if (Field(e, "action").string_value() == action) {
      out.push_back(Field(e, "detail").string_value());
    }
  }
  return out;
}

TEST(ReloadTest, InventoryPolicyAndTlsFilesWithoutRestart) {
  TestCluster cluster(OneManager());
  cluster.StartCollector();
  const pid_t pid = cluster.collector_pid();
  const std::string root = FixtureRoot("opencrvs-manager");
  cluster.pki().IssueHost("prod-02");
  ASSERT_TRUE(cluster.AgentOnce("prod-01", root).exit_code == 0) << cluster.collector_log();
  RunResult unknown = cluster.AgentOnce("prod-02", root, 5);
  ASSERT_NE(unknown.exit_code, 0) << "a host missing from the inventory was served";

  // A new host, a policy line and a renewed collector certificate.
  v1::Inventory inventory = OneManager();
  v1::InventoryHost* added = inventory.add_hosts();
  added->set_id("prod-02");
  added->set_environment("production");
  added->add_roles("worker");
  cluster.SetInventory(inventory);
  v1::Policy policy;
  policy.add_allowed_ports("8080/tcp");
  cluster.SetPolicy(policy);
  const std::string serial_before = ServedSerial(cluster);
  ASSERT_EQ(serial_before, FileSerial(cluster.pki().CollectorTls().cert_file()));
  RunResult reissued =
      RunProcess({PREFLIGHT_CERTS_TOOL, "--dir", cluster.pki().dir(), "collector", "--force"},
                 absl::Seconds(60));
  ASSERT_EQ(reissued.exit_code, 0) << reissued.err;
  const std::string serial_file = FileSerial(cluster.pki().CollectorTls().cert_file());
  ASSERT_NE(serial_file, serial_before);
  cluster.WriteCollectorConfig();
  Reload(cluster, "reloaded ");

  EXPECT_EQ(cluster.collector_pid(), pid);
  EXPECT_TRUE(cluster.collector_running());
  RunResult served = cluster.AgentOnce("prod-02", root);
  EXPECT_EQ(served.exit_code, 0) << served.err << cluster.collector_log();
  EXPECT_EQ(ServedSerial(cluster), serial_file);

  std::vector<std::string> inventory_changes = Audited(cluster, "inventory");
  ASSERT_FALSE(inventory_changes.empty());
  EXPECT_TRUE(absl::StrContains(inventory_changes.back(), "added prod-02"))
      << inventory_changes.back();
  std::vector<std::string> policy_changes = Audited(cluster, "policy");
  ASSERT_FALSE(policy_changes.empty());
  EXPECT_TRUE(absl::StrContains(policy_changes.back(), "+ allowed_ports: \"8080/tcp\""))
      << policy_changes.back();
  std::vector<std::string> reloads = Audited(cluster, "reload");
  ASSERT_EQ(reloads.size(), 1u);
  EXPECT_TRUE(absl::StrContains(reloads[0], "tls.cert_file: ")) << reloads[0];
  EXPECT_FALSE(absl::StrContains(reloads[0], "tls.ca_file")) << reloads[0];
}

TEST(ReloadTest, BrokenConfigurationIsRefusedAndTheRunningOneKept) {
  TestCluster cluster(OneManager());
  cluster.StartCollector();
  const pid_t pid = cluster.collector_pid();
  const std::string root = FixtureRoot("opencrvs-manager");
  const std::string config = cluster.WriteCollectorConfig();

  // A syntax error: refused with the file and line.
  WriteFile(config, ReadFile(config) + "\nmax_streams_per_host: [\n");
  Reload(cluster, "reload refused");
  std::string log = cluster.collector_log();
  EXPECT_TRUE(absl::StrContains(log, "collector.textproto:")) << log;

  // A host with an undeclared environment: refused by validation.
  v1::Inventory inventory = OneManager();
  v1::InventoryHost* typo = inventory.add_hosts();
  typo->set_id("prod-02");
  typo->set_environment("prodution");
  cluster.SetInventory(inventory);
  cluster.WriteCollectorConfig();
  Reload(cluster, "reload refused");
  log = cluster.collector_log();
  EXPECT_TRUE(absl::StrContains(log, "prodution")) << log;

  // Nothing changed: the same process serves prod-01 as before.
  EXPECT_EQ(cluster.collector_pid(), pid);
  EXPECT_TRUE(cluster.collector_running());
  EXPECT_EQ(Count(log, "reloaded "), 0) << log;
  RunResult served = cluster.AgentOnce("prod-01", root);
  EXPECT_EQ(served.exit_code, 0) << served.err << log;
  std::vector<std::string> refused = Audited(cluster, "reload-refused");
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_TRUE(absl::StrContains(refused[1], "prodution")) << refused[1];
  EXPECT_TRUE(Audited(cluster, "reload").empty());
}

}  // namespace
}  // namespace preflight::testing
