// What the internet can really reach (checklist item 14), one fixture root
// per situation an OpenCRVS server meets (Docker-published ports past ufw,
// an inactive firewall, IPv6, nftables only).
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/facts/firewall.h"
#include "agent/host/rooted_host_env.h"
#include "collector/readiness/engine.h"
#include "tests/support/golden.h"
#include "tests/support/temp_dir.h"

namespace preflight::testing {
namespace {

using collector::StatusName;

constexpr char kCheck[] = "firewall.public_exposure";

TEST(Exposure, ProvisionedManagerOnlyShowsSshAndTheWebEntryPoint) {
  v1::Verdict v = VerdictOf(RunScenario("opencrvs-manager"), kCheck);
  EXPECT_EQ(StatusName(v.status()), "PASS") << EvidenceText(v);
  std::string all = EvidenceText(v);
  EXPECT_TRUE(absl::StrContains(all, "443/tcp (Docker")) << all;
  // Logstash's ingress port is published but filtered in DOCKER-USER.
  EXPECT_TRUE(absl::StrContains(all,
                                "12201/tcp (Docker, to 172.18.0.2:12201) published by "
                                "Docker, but filtered in DOCKER-USER"))
      << all;
  // Loopback-only Elasticsearch is not a finding.
  EXPECT_FALSE(absl::StrContains(all, "9200")) << all;
}

TEST(Exposure, LogstashIngressBypassesUfw) {
  GoldenScenario s = RunScenario("logstash-worker");
  EXPECT_TRUE(s.facts.firewall().ufw().enabled());
  v1::Verdict v = VerdictOf(s, kCheck);
  EXPECT_EQ(StatusName(v.status()), "FAIL") << EvidenceText(v);
  std::string all = EvidenceText(v);
  for (const char* proto : {"12201/tcp", "12201/udp"}) {
    EXPECT_TRUE(absl::StrContains(
        all, absl::StrCat(proto,
                          " (Docker, to 172.18.0.2:12201) is reachable from the internet: "
                          "published by Docker through DOCKER-INGRESS")))
        << all;
  }
  EXPECT_TRUE(absl::StrContains(all, "bypasses ufw")) << all;
  // The swarm ports are open to any source: warnings that name the rule.
  EXPECT_TRUE(absl::StrContains(all, "cluster port 4789/udp")) << all;
  EXPECT_TRUE(absl::StrContains(all, "'-A ufw-user-input -p udp -m udp --dport 4789 -j ACCEPT'"))
      << all;
  // A worker is no web entry point: 80/443 would not be allowed there.
  EXPECT_FALSE(absl::StrContains(all, "as the policy allows (published by Docker")) << all;
}

TEST(Exposure, DockerUserRuleThatFiltersThePort) {
  // The same worker with a DOCKER-USER DROP for outside sources passes on
  // 12201: checked on the manager fixture, whose DOCKER-USER has the rule.
  GoldenScenario s = RunScenario("opencrvs-manager");
  bool published = false;
  for (const v1::DockerPublished& d : s.facts.firewall().docker_published()) {
    published |= d.port() == 12201 && d.chain() == "DOCKER-INGRESS";
  }
  EXPECT_TRUE(published);
  EXPECT_FALSE(absl::StrContains(EvidenceText(VerdictOf(s, kCheck)),
                                 "12201/tcp (Docker, to "
                                 "172.18.0.2:12201) is reachable"));
}

TEST(Exposure, InactiveFirewallWithADatabaseOnAllAddresses) {
  v1::Verdict v = VerdictOf(RunScenario("firewall-inactive"), kCheck);
  EXPECT_EQ(StatusName(v.status()), "FAIL");
  std::string all = EvidenceText(v);
  EXPECT_TRUE(absl::StrContains(all, "ufw is installed but inactive")) << all;
  EXPECT_TRUE(absl::StrContains(all,
                                "27017/tcp (mongod pid 1300, bound to 0.0.0.0) is reachable "
                                "from the internet"))
      << all;
}

TEST(Exposure, NftablesOnlyHost) {
  GoldenScenario s = RunScenario("nftables-only");
  EXPECT_FALSE(s.facts.firewall().iptables_read());
  EXPECT_TRUE(s.facts.firewall().nft_read());
  v1::Verdict v = VerdictOf(s, kCheck);
  EXPECT_EQ(StatusName(v.status()), "PASS") << EvidenceText(v);
  // 8080 listens on every address but the input chain's policy drops it.
  EXPECT_FALSE(absl::StrContains(EvidenceText(v), "8080")) << EvidenceText(v);
  EXPECT_TRUE(absl::StrContains(EvidenceText(v), "nft rule")) << EvidenceText(v);
}

TEST(Exposure, Ipv6OnlyExposure) {
  v1::Verdict v = VerdictOf(RunScenario("ipv6-exposure"), kCheck);
  EXPECT_EQ(StatusName(v.status()), "FAIL");
  std::string all = EvidenceText(v);
  EXPECT_TRUE(absl::StrContains(all,
                                "9200/tcp (java pid 1201, bound to ::) is reachable from the "
                                "internet"))
      << all;
  // Over IPv4 the same socket is blocked by ufw's default drop.
  EXPECT_FALSE(absl::StrContains(all, "9200/tcp (java pid 1201, bound to ::) via IPv4")) << all;
}

TEST(Exposure, Ipv6ListenerWithoutIp6tablesRulesSaysWhy) {
  // iptables was read (INPUT drops), ip6tables was not: nothing is known to
  // filter IPv6, and the evidence says so instead of giving no reason.
  v1::FactReport r;
  r.mutable_sockets()->mutable_collection()->set_state(v1::Collection::OK);
  r.mutable_sockets()->set_bindv6only(true);
  v1::ListeningSocket* s = r.mutable_sockets()->add_sockets();
  s->set_protocol("tcp");
  s->set_v6(true);
  s->set_address("::");
  s->set_port(9200);
  s->set_scope(v1::ANY);
  s->set_process("java");
  s->set_source("/proc/net/tcp6:2");
  v1::FirewallFact& fw = *r.mutable_firewall();
  fw.mutable_collection()->set_state(v1::Collection::OK);
  fw.set_iptables_read(true);
  v1::IptablesChain* input = fw.add_chains();
  input->set_table("filter");
  input->set_chain("INPUT");
  input->set_policy("DROP");
  collector::CheckRegistry registry;
  collector::RegisterBuiltinChecks(registry);
  v1::InventoryHost host;
  host.set_id("prod-01");
  host.set_environment("production");
  v1::HostVerdicts all = collector::Evaluate(registry, host, collector::WithPolicyDefaults({}), r,
                                             absl::FromUnixSeconds(1'700'000'000));
  int found = 0;
  for (const v1::Verdict& v : all.verdicts()) {
    if (v.check_id() != kCheck) continue;
    ++found;
    EXPECT_EQ(StatusName(v.status()), "FAIL") << EvidenceText(v);
    EXPECT_TRUE(absl::StrContains(EvidenceText(v), "ip6tables rules were not read"))
        << EvidenceText(v);
  }
  EXPECT_EQ(found, 1);
}

// ip6tables not read, but ufw is active: its IPV6= setting and IPv6 rules
// say what happens to IPv6, read by the real firewall collector from
// /etc/default/ufw and /etc/ufw/user6.rules.
TEST(Exposure, Ipv6UsesUfwsOwnIpv6Setting) {
  auto verdict_with = [](const std::string& ipv6_line, const std::string& user6_rules) {
    testing::TempDir root;
    WriteFile(root.Join("etc/ufw/ufw.conf"), "ENABLED=yes\nLOGLEVEL=low\n");
    WriteFile(root.Join("etc/default/ufw"),
              absl::StrCat("# /etc/default/ufw\n", ipv6_line, "\nDEFAULT_INPUT_POLICY=\"DROP\"\n"));
    WriteFile(root.Join("etc/ufw/user6.rules"), user6_rules);
    auto env = agent::RootedHostEnv::Create(root.path());
    EXPECT_TRUE(env.ok()) << env.status();
    v1::FactReport r;
    agent::MakeFirewallCollector()->Collect(**env, agent::CollectOptions(), r);
    EXPECT_EQ(r.firewall().ufw().ipv6_source(), "/etc/default/ufw:2");
    // iptables-save was read (IPv4 INPUT drops), ip6tables-save gave nothing.
    v1::FirewallFact& fw = *r.mutable_firewall();
    fw.mutable_collection()->set_state(v1::Collection::OK);
    fw.set_iptables_read(true);
    v1::IptablesChain* input = fw.add_chains();
    input->set_table("filter");
    input->set_chain("INPUT");
    input->set_policy("DROP");
    r.mutable_sockets()->mutable_collection()->set_state(v1::Collection::OK);
    r.mutable_sockets()->set_bindv6only(true);
    v1::ListeningSocket* s = r.mutable_sockets()->add_sockets();
    s->set_protocol("tcp");
    s->set_v6(true);
    s->set_address("::");
    s->set_port(9200);
    s->set_scope(v1::ANY);
    s->set_process("java");
    s->set_source("/proc/net/tcp6:2");
    collector::CheckRegistry registry;
    collector::RegisterBuiltinChecks(registry);
    v1::InventoryHost host;
    host.set_id("prod-01");
    host.set_environment("production");
    v1::HostVerdicts all = collector::Evaluate(registry, host, collector::WithPolicyDefaults({}), r,
                                               absl::FromUnixSeconds(1'700'000'000));
    for (const v1::Verdict& v : all.verdicts()) {
      if (v.check_id() == kCheck) return v;
    }
    return v1::Verdict();
  };
  const std::string allow_9200 =
      "*filter\n### tuple ### allow tcp 9200 ::/0 any ::/0 in\n"
      "-A ufw6-user-input -p tcp --dport 9200 -j ACCEPT\nCOMMIT\n";
  // IPV6=no: ufw leaves IPv6 alone, the port is open over IPv6.
  v1::Verdict v = verdict_with("IPV6=no", "");
  EXPECT_EQ(StatusName(v.status()), "FAIL") << EvidenceText(v);
  EXPECT_TRUE(absl::StrContains(EvidenceText(v),
                                "ufw does not filter IPv6 (IPV6=no at /etc/default/ufw:2)"))
      << EvidenceText(v);
  // IPV6=yes, no rule for it: ufw's default DROP covers IPv6.
  v = verdict_with("IPV6=yes", "");
  EXPECT_EQ(StatusName(v.status()), "PASS") << EvidenceText(v);
  // IPV6=yes and a ufw IPv6 rule allowing it: open, and the rule is named.
  v = verdict_with("IPV6=yes", allow_9200);
  EXPECT_EQ(StatusName(v.status()), "FAIL") << EvidenceText(v);
  EXPECT_TRUE(
      absl::StrContains(EvidenceText(v), "allowed by the ufw IPv6 rule at /etc/ufw/user6.rules:2"))
      << EvidenceText(v);
}

TEST(Exposure, UnreadableRulesAreUnknown) {
  // The unhardened fixture has no recorded firewall outputs and no ufw.
  v1::Verdict v = VerdictOf(RunScenario("unhardened-root"), kCheck);
  EXPECT_EQ(StatusName(v.status()), "UNKNOWN") << EvidenceText(v);
}

TEST(LegacyTables, RulesLeftInLegacyTablesAreRead) {
  TempDir root;
  WriteFile(root.Join(".preflight/commands/iptables-save"), "*filter\n:INPUT DROP [0:0]\nCOMMIT\n");
  WriteFile(root.Join(".preflight/commands/iptables-legacy-save"),
            "*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER-INGRESS - [0:0]\n"
            "-A DOCKER-INGRESS -p tcp -m tcp --dport 12201 -j DNAT --to-destination "
            "172.18.0.2:12201\nCOMMIT\n");
  auto env = agent::RootedHostEnv::Create(root.path());
  ASSERT_TRUE(env.ok());
  auto collectors = agent::BuiltinCollectors();
  v1::FactReport report = agent::CollectReport(**env, agent::CollectOptions(), collectors);
  ASSERT_EQ(report.firewall().docker_published_size(), 1);
  EXPECT_EQ(report.firewall().docker_published(0).origin(), "iptables-legacy-save:4");
}

TEST(DockerPorts, ServiceAndContainerListings) {
  v1::FirewallFact fact;
  agent::ParseDockerPorts(
      "opencrvs_logstash\t*:12201->12201/tcp, *:12201->12201/udp\n"
      "opencrvs_traefik\t*:443->443/tcp\n"
      "opencrvs_metabase\t\n",
      "docker service ls", fact);
  agent::ParseDockerPorts(
      "traefik\t0.0.0.0:443->443/tcp, :::443->443/tcp\n"
      "elastic\t127.0.0.1:9200->9200/tcp, 9300/tcp\n",
      "docker ps", fact);
  std::vector<std::string> got;
  for (const v1::DockerPublished& d : fact.docker_published()) {
    got.push_back(absl::StrCat(d.port(), "/", d.protocol(), d.v6() ? " v6 " : " v4 ", d.chain(),
                               " @ ", d.origin()));
  }
  // 443/tcp over IPv4 is already known from the service listing; 9200 is
  // loopback only; 9300 is exposed, not published.
  EXPECT_EQ(got, (std::vector<std::string>{"12201/tcp v4 DOCKER-INGRESS @ docker service ls:1",
                                           "12201/udp v4 DOCKER-INGRESS @ docker service ls:1",
                                           "443/tcp v4 DOCKER-INGRESS @ docker service ls:2",
                                           "443/tcp v6 DOCKER @ docker ps:1"}));
}

// A published range publishes every port of it: a firewall fact holding
// only its first port would let "443-444" pass with 444 open. A range wider
// than the cap is listed up to it and said so.
TEST(DockerPorts, ARangePublishesEveryPortOfIt) {
  v1::FirewallFact fact;
  agent::ParseDockerPorts(
      "web\t0.0.0.0:8443-8445->8443-8445/tcp, 127.0.0.1:7000-7001->7000-7001/tcp\n"
      "opencrvs_x\t*:9000-9001->80-81/udp\n"
      "wide\t0.0.0.0:1-65535->1-65535/tcp\n",
      "docker ps", fact);
  std::vector<std::string> got;
  for (const v1::DockerPublished& d : fact.docker_published()) {
    if (d.port() >= 7000)
      got.push_back(absl::StrCat(d.port(), "/", d.protocol(), " @ ", d.origin()));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"8443/tcp @ docker ps:1", "8444/tcp @ docker ps:1",
                                           "8445/tcp @ docker ps:1", "9000/udp @ docker ps:2",
                                           "9001/udp @ docker ps:2"}));
  // The wide range: ports 1..1024 (8443.. are not among them), and a problem.
  size_t wide = 0;
  for (const v1::DockerPublished& d : fact.docker_published()) wide += d.port() < 7000 ? 1 : 0;
  EXPECT_EQ(wide, 1024u);
  ASSERT_EQ(fact.problems_size(), 1) << fact.DebugString().substr(0, 2000);
  EXPECT_TRUE(absl::StrContains(fact.problems(0).message(), "1-65535/tcp lists only"))
      << fact.problems(0).message();
}

}  // namespace
}  // namespace preflight::testing
