// CA rollover with real processes: `preflight-certs rollover` makes a new CA
// trusted beside the old one (ca-bundle.pem); an agent still on the old CA's
// certificate and one renewed under the new CA both report to a collector
// whose ca_file is the bundle; after `rollover --finish` (and a reload) the
// old CA's certificate is refused at the handshake, and audited.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/support/cluster.h"

namespace preflight::testing {
namespace {

RunResult Certs(TestCluster& cluster, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {PREFLIGHT_CERTS_TOOL, "--dir", cluster.pki().dir()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, absl::Seconds(60));
}

// openssl verify CERT against CAFILE only: true if it chains.
bool Chains(const std::string& ca_file, const std::string& cert) {
  return RunProcess({"openssl", "verify", "-no-CApath", "-no-CAstore", "-CAfile", ca_file, cert},
                    absl::Seconds(10))
             .exit_code == 0;
}

// preflight-agent --once for `host`, trusting `ca_file` (the bundle).
RunResult AgentOnceTrusting(TestCluster& cluster, const std::string& host,
                            const std::string& ca_file, int ack_timeout_seconds) {
  const std::string config = cluster.AgentConfig(host, ack_timeout_seconds);
  WriteFile(config, absl::StrReplaceAll(ReadFile(config), {{cluster.pki().ca(), ca_file}}));
  return RunProcess({PREFLIGHT_AGENT_BIN, "--config", config, "--once", "--root",
                     FixtureRoot("opencrvs-manager")},
                    absl::Seconds(ack_timeout_seconds + 30));
}

v1::Inventory TwoManagers() {
  v1::Inventory inv = OneManager();
  auto* h = inv.add_hosts();
  h->set_id("prod-02");
  h->set_environment("production");
  h->add_roles("manager");
  return inv;
}

TEST(PkiRolloverTest, OldAndNewCaTrustedTogetherThenTheOldIsDropped) {
  TestCluster cluster(TwoManagers());
  const std::string old_ca = cluster.dir().Join("old-ca.pem");
  WriteFile(old_ca, ReadFile(cluster.pki().ca()));
  RunResult rollover = Certs(cluster, {"rollover"});
  ASSERT_EQ(rollover.exit_code, 0) << rollover.err;
  const std::string bundle = cluster.pki().dir() + "/ca-bundle.pem";
  ASSERT_TRUE(absl::StrContains(rollover.out, bundle)) << rollover.out;
  // The collector, the operator and prod-02 move to the new CA; prod-01 not yet.
  for (const std::string& cert :
       {cluster.pki().CollectorTls().cert_file(), cluster.pki().OperatorTls("alice").cert_file(),
        cluster.pki().HostTls("prod-02").cert_file()}) {
    RunResult renew = Certs(cluster, {"renew", cert});
    ASSERT_EQ(renew.exit_code, 0) << renew.err;
  }
  const std::string p1 = cluster.pki().HostTls("prod-01").cert_file();
  const std::string p2 = cluster.pki().HostTls("prod-02").cert_file();
  // openssl says who issued what.
  ASSERT_TRUE(Chains(old_ca, p1));
  ASSERT_FALSE(Chains(cluster.pki().ca(), p1));
  ASSERT_TRUE(Chains(cluster.pki().ca(), p2));
  ASSERT_FALSE(Chains(old_ca, p2));

  v1::CollectorConfig trust_bundle;
  trust_bundle.mutable_tls()->set_ca_file(bundle);
  cluster.SetCollectorConfig(trust_bundle);
  cluster.StartCollector();
  RunResult r1 = AgentOnceTrusting(cluster, "prod-01", bundle, 20);
  EXPECT_EQ(r1.exit_code, 0) << r1.err << cluster.collector_log();
  RunResult r2 = AgentOnceTrusting(cluster, "prod-02", bundle, 20);
  EXPECT_EQ(r2.exit_code, 0) << r2.err << cluster.collector_log();

  // Not finished while prod-01 is on the old CA; forced, the old CA goes.
  RunResult finish = Certs(cluster, {"rollover", "--finish"});
  EXPECT_EQ(finish.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(finish.err, "/CN=prod-01")) << finish.err;
  finish = Certs(cluster, {"rollover", "--finish", "--force"});
  ASSERT_EQ(finish.exit_code, 0) << finish.err;
  // The collector re-reads ca_file and crl_file on SIGHUP (systemctl reload).
  const std::string reloaded = "reloaded ";
  const size_t reloads_before = cluster.collector_log().find(reloaded);
  ASSERT_EQ(reloads_before, std::string::npos);
  ASSERT_EQ(kill(cluster.collector_pid(), SIGHUP), 0);
  ASSERT_TRUE(WaitFor([&] { return absl::StrContains(cluster.collector_log(), reloaded); },
                      absl::Seconds(30)))
      << cluster.collector_log();

  r1 = AgentOnceTrusting(cluster, "prod-01", bundle, 5);
  EXPECT_EQ(r1.exit_code, 1) << r1.err;
  r2 = AgentOnceTrusting(cluster, "prod-02", bundle, 20);
  EXPECT_EQ(r2.exit_code, 0) << r2.err << cluster.collector_log();
  // The refusal at the handshake is logged and audited with the subject.
  EXPECT_TRUE(WaitFor(
      [&] {
        for (const google::protobuf::Value& e : cluster.AuditEntries()) {
          std::string text;
          for (const auto& [key, value] : e.struct_value().fields()) {
            absl::StrAppend(&text, value.string_value(), " ");
          }
          if (absl::StrContains(text, "CN=prod-01") &&
              absl::StrContains(text, "unable to get local issuer certificate")) {
            return true;
          }
        }
        return false;
      },
      absl::Seconds(10)))
      << cluster.collector_log();
}

}  // namespace
}  // namespace preflight::testing
