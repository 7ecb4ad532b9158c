// "No server can hide": the swarm fact from recorded `docker node` outputs
// (the agent under --root reads them instead of running docker), the
// matching rule between swarm nodes and inventory hosts, the unknown nodes
// and what they do to the fleet verdict and to `preflightctl status`.
#include "agent/facts/swarm.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/host/rooted_host_env.h"
#include "collector/checks/check.h"
#include "collector/cli/render.h"
#include "collector/cli/status_render.h"
#include "collector/diff/fact_diff.h"
#include "collector/readiness/engine.h"
#include "collector/readiness/unknown_nodes.h"
#include "tests/support/json.h"
#include "tests/support/temp_dir.h"

namespace preflight {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kIds[] = "p1manager000000000000000a\nw2worker0000000000000000b\n";
// What `docker node inspect --format kSwarmInspectFormat` prints: the manager
// with Status.Addr 0.0.0.0 (Docker does that for some managers) and its
// ManagerStatus.Addr; a worker.
constexpr char kInspect[] =
    "p1manager000000000000000a\tprod-01\t0.0.0.0\tmanager\tready\tactive\t10.0.0.1:2377\n"
    "w2worker0000000000000000b\tPROD-02\t10.0.0.2\tworker\tdown\tdrain\t\n";

// A host root whose recorded `docker node ls -q` is `ls` (with exit code and
// standard error), and `docker node inspect` of the ids it lists `inspect`.
std::string RecordDocker(testing::TempDir& root, const std::string& ls, int ls_exit,
                         const std::string& ls_err, const std::string& inspect) {
  const std::string dir = root.Join(".preflight/commands/");
  const std::string ls_key = agent::RecordedCommandKey({"docker", "node", "ls", "-q"});
  testing::WriteFile(dir + ls_key, ls);
  testing::WriteFile(dir + ls_key + ".exit", std::to_string(ls_exit));
  testing::WriteFile(dir + ls_key + ".err", ls_err);
  if (!inspect.empty()) {
    testing::WriteFile(
        dir + agent::RecordedCommandKey(agent::SwarmNodeInspectArgv(agent::ParseSwarmNodeIds(ls))),
        inspect);
  }
  return root.path();
}

v1::SwarmFact Collect(const std::string& root) {
  auto env = agent::RootedHostEnv::Create(root);
  EXPECT_TRUE(env.ok()) << env.status();
  v1::FactReport report;
  agent::MakeSwarmCollector()->Collect(**env, agent::CollectOptions(), report);
  return report.swarm();
}

TEST(SwarmFact, AManagerListsEveryNodeWithAddressRoleAndState) {
  testing::TempDir root;
  v1::SwarmFact f = Collect(RecordDocker(root, kIds, 0, "", kInspect));
  EXPECT_EQ(f.collection().state(), v1::Collection::OK) << f.collection().error();
  EXPECT_TRUE(f.manager());
  EXPECT_EQ(f.source(), "docker node ls -q, docker node inspect");
  ASSERT_EQ(f.nodes_size(), 2);
  EXPECT_EQ(f.nodes(0).id(), "p1manager000000000000000a");
  EXPECT_EQ(f.nodes(0).hostname(), "prod-01");
  EXPECT_EQ(f.nodes(0).address(), "10.0.0.1");  // from ManagerStatus.Addr
  EXPECT_EQ(f.nodes(0).role(), "manager");
  EXPECT_EQ(f.nodes(1).hostname(), "PROD-02");
  EXPECT_EQ(f.nodes(1).address(), "10.0.0.2");
  EXPECT_EQ(f.nodes(1).role(), "worker");
  EXPECT_EQ(f.nodes(1).state(), "down");
  EXPECT_EQ(f.nodes(1).availability(), "drain");
}

TEST(SwarmFact, AbsentWithoutDockerOrOnAWorker) {
  testing::TempDir none;  // no recorded output: as if docker were not there
  v1::SwarmFact f = Collect(none.path());
  EXPECT_EQ(f.collection().state(), v1::Collection::ABSENT);
  EXPECT_FALSE(f.manager());
  testing::TempDir worker;
  f = Collect(RecordDocker(worker, "", 1,
                           "Error response from daemon: This node is not a swarm manager. Use "
                           "\"docker swarm init\" or \"docker swarm join\" to connect this node "
                           "to swarm and try again.\n",
                           ""));
  EXPECT_EQ(f.collection().state(), v1::Collection::ABSENT);
  EXPECT_THAT(f.collection().error(), HasSubstr("docker node ls -q exited 1"));
  EXPECT_FALSE(f.manager());
  EXPECT_EQ(f.nodes_size(), 0);
}

TEST(SwarmFact, ErrorNamesTheCommand) {
  testing::TempDir denied;
  v1::SwarmFact f = Collect(
      RecordDocker(denied, "", 1,
                   "permission denied while trying to connect to the Docker daemon socket at "
                   "unix:///var/run/docker.sock\n",
                   ""));
  EXPECT_EQ(f.collection().state(), v1::Collection::ERROR);
  EXPECT_THAT(f.collection().error(), HasSubstr("docker node ls -q exited 1: permission denied"));
  ASSERT_EQ(f.collection().unreadable_size(), 1);
  EXPECT_EQ(f.collection().unreadable(0).path(), "docker node ls -q");

  // The manager answered `ls` but the inspection of its nodes is missing.
  testing::TempDir no_inspect;
  f = Collect(RecordDocker(no_inspect, kIds, 0, "", ""));
  EXPECT_EQ(f.collection().state(), v1::Collection::ERROR);
  EXPECT_TRUE(f.manager());
  EXPECT_THAT(f.collection().error(), HasSubstr("docker node inspect"));

  testing::TempDir garbled;
  f = Collect(RecordDocker(garbled, kIds, 0, "", "p1manager000000000000000a prod-01\n"));
  EXPECT_EQ(f.collection().state(), v1::Collection::ERROR);
  EXPECT_THAT(f.collection().error(), HasSubstr("docker node inspect: line 1: 1 tab-separated"));
}

TEST(SwarmFact, IdsAreBoundedAndPlain) {
  std::string many;
  for (size_t i = 0; i < agent::kMaxSwarmNodes + 5; ++i) many += "id" + std::to_string(i) + "\n";
  EXPECT_EQ(agent::ParseSwarmNodeIds(many).size(), agent::kMaxSwarmNodes);
  EXPECT_THAT(agent::ParseSwarmNodeIds("abc\n--format\n$(reboot)\n  def \n"),
              ::testing::ElementsAre("abc", "def"));
}

v1::InventoryHost Host(const std::string& id, const std::string& env,
                       const std::string& node_name = "", std::vector<std::string> addresses = {}) {
  v1::InventoryHost h;
  h.set_id(id);
  h.set_environment(env);
  h.add_roles("manager");
  h.set_node_name(node_name);
  for (const std::string& a : addresses) h.add_addresses(a);
  return h;
}

v1::SwarmNode Node(const std::string& hostname, const std::string& address) {
  v1::SwarmNode n;
  n.set_hostname(hostname);
  n.set_address(address);
  n.set_role("worker");
  n.set_state("ready");
  return n;
}

TEST(SwarmMatching, ByIdNodeNameOrAddressIgnoringCase) {
  using collector::SwarmNodeMatches;
  // The node's hostname is the host's id.
  EXPECT_TRUE(SwarmNodeMatches(Node("prod-02", "10.0.0.2"), Host("prod-02", "production")));
  // Docker reports the hostname as the node spells it.
  EXPECT_TRUE(SwarmNodeMatches(Node("PROD-02", "10.0.0.2"), Host("prod-02", "production")));
  // node_name when the inventory id is not the hostname.
  EXPECT_TRUE(SwarmNodeMatches(Node("ip-10-0-0-2", "10.0.0.2"),
                               Host("prod-02", "production", "IP-10-0-0-2")));
  // One of the addresses, against the node's address or its hostname.
  EXPECT_TRUE(SwarmNodeMatches(Node("worker", "10.0.0.2"),
                               Host("prod-02", "production", "", {"192.0.2.9", "10.0.0.2"})));
  EXPECT_TRUE(
      SwarmNodeMatches(Node("10.0.0.2", ""), Host("prod-02", "production", "", {"10.0.0.2"})));
  // Nothing equal; a prefix is not equal; empty values never match.
  EXPECT_FALSE(SwarmNodeMatches(Node("prod-03", "10.0.0.3"),
                                Host("prod-02", "production", "prod-0", {"10.0.0.30"})));
  EXPECT_FALSE(SwarmNodeMatches(Node("", ""), Host("prod-02", "production")));
  EXPECT_FALSE(SwarmNodeMatches(Node("x", ""), Host("prod-02", "production", "", {""})));
}

TEST(UnknownNodes, OncePerNodeGatingWhenAnyReporterGates) {
  v1::Inventory inventory;
  *inventory.add_hosts() = Host("prod-01", "production", "", {"10.0.0.1"});
  *inventory.add_hosts() = Host("qa-01", "qa");
  v1::SwarmFact prod;
  prod.mutable_collection()->set_state(v1::Collection::OK);
  *prod.add_nodes() = Node("prod-01", "10.0.0.1");
  *prod.add_nodes() = Node("prod-07", "10.0.0.7");
  v1::SwarmFact qa = prod;
  *qa.add_nodes() = Node("qa-02", "10.1.0.2");
  v1::SwarmFact broken = prod;
  broken.mutable_collection()->set_state(v1::Collection::ERROR);
  *broken.add_nodes() = Node("ghost", "10.9.9.9");
  const v1::Policy policy = collector::WithPolicyDefaults({});
  // qa reports first: prod-07 is named by qa-01, then found gating by prod-01.
  std::vector<v1::UnknownNode> unknown =
      collector::FindUnknownNodes(inventory, policy,
                                  {{&inventory.hosts(1), &qa, 1000},
                                   {&inventory.hosts(0), &prod, 2000},
                                   {&inventory.hosts(0), &broken, 3000}});
  // The ERROR fact's ghost is not read; its manager is listed as one whose
  // nodes could not be listed (below: UnlistedManagers...).
  ASSERT_EQ(unknown.size(), 3u);
  EXPECT_EQ(unknown[2].problem(), "the swarm fact is ERROR");
  unknown.pop_back();
  EXPECT_EQ(unknown[0].hostname(), "prod-07");
  EXPECT_EQ(unknown[0].address(), "10.0.0.7");
  EXPECT_EQ(unknown[0].reported_by(), "prod-01");
  EXPECT_EQ(unknown[0].environment(), "production");
  EXPECT_TRUE(unknown[0].gating());
  EXPECT_EQ(unknown[1].hostname(), "qa-02");
  EXPECT_EQ(unknown[1].reported_by(), "qa-01");
  EXPECT_FALSE(unknown[1].gating());
  EXPECT_EQ(unknown[1].seen_at_unix_ms(), 1000);

  // Only the gating one keeps the fleet from being ready, with a reason
  // naming node, address and manager.
  collector::CheckRegistry registry;
  v1::HostStatus host;
  host.set_host_id("prod-01");
  host.set_environment("production");
  host.set_gating(true);
  host.set_reported(true);
  host.set_ready(true);
  v1::FleetStatus ready =
      collector::BuildFleetStatus(registry, policy, {host}, absl::Now(), {}, {unknown[1]});
  EXPECT_TRUE(ready.ready());
  EXPECT_EQ(ready.unknown_nodes_size(), 1);
  v1::FleetStatus fleet =
      collector::BuildFleetStatus(registry, policy, {host}, absl::Now(), {}, unknown);
  EXPECT_FALSE(fleet.ready());
  ASSERT_EQ(fleet.reasons_size(), 1);
  EXPECT_THAT(fleet.reasons(0), HasSubstr("swarm node prod-07 (10.0.0.7, worker) reported by "
                                          "prod-01 (production) matches no inventory host"));

  // Every name known: nothing to report.
  *inventory.add_hosts() = Host("prod-02", "production", "PROD-07");
  *inventory.add_hosts() = Host("qa-02", "qa", "", {"10.1.0.2"});
  EXPECT_TRUE(
      collector::FindUnknownNodes(inventory, policy, {{&inventory.hosts(1), &qa, 1000}}).empty());
}

// A manager whose agent cannot ask Docker (or predates the swarm fact) hides
// whatever runs in its swarm: on a gating environment that is a reason the
// fleet is not ready, naming the manager and why; ABSENT (not a manager, no
// Docker) is not.
TEST(UnknownNodes, UnlistedManagersKeepAGatingFleetNotReady) {
  v1::Inventory inventory;
  *inventory.add_hosts() = Host("prod-01", "production");
  *inventory.add_hosts() = Host("qa-01", "qa");
  *inventory.add_hosts() = Host("stage-01", "staging");
  v1::SwarmFact denied;
  denied.mutable_collection()->set_state(v1::Collection::ERROR);
  denied.mutable_collection()->set_error("docker node ls -q exited 1");
  v1::ReadError* e = denied.mutable_collection()->add_unreadable();
  e->set_path("docker node ls -q");
  e->set_error("PERMISSION_DENIED: permission denied while trying to connect to the Docker daemon");
  v1::SwarmFact absent;
  absent.mutable_collection()->set_state(v1::Collection::ABSENT);
  const v1::Policy policy = collector::WithPolicyDefaults({});
  std::vector<v1::UnknownNode> unknown =
      collector::FindUnknownNodes(inventory, policy,
                                  {{&inventory.hosts(0), &denied, 1000},
                                   {&inventory.hosts(1), nullptr, 2000},
                                   {&inventory.hosts(2), &absent, 3000}});
  ASSERT_EQ(unknown.size(), 2u);
  EXPECT_EQ(unknown[0].reported_by(), "prod-01");
  EXPECT_TRUE(unknown[0].gating());
  EXPECT_TRUE(unknown[0].hostname().empty());
  EXPECT_THAT(unknown[0].problem(), HasSubstr("docker node ls -q exited 1"));
  EXPECT_THAT(unknown[0].problem(), HasSubstr("permission denied"));
  EXPECT_EQ(unknown[1].reported_by(), "qa-01");
  EXPECT_FALSE(unknown[1].gating());
  EXPECT_THAT(unknown[1].problem(), HasSubstr("sends no swarm fact"));

  collector::CheckRegistry registry;
  v1::HostStatus host;
  host.set_host_id("prod-01");
  host.set_environment("production");
  host.set_gating(true);
  host.set_reported(true);
  host.set_ready(true);
  v1::FleetStatus fleet =
      collector::BuildFleetStatus(registry, policy, {host}, absl::Now(), {}, unknown);
  EXPECT_FALSE(fleet.ready());
  ASSERT_EQ(fleet.reasons_size(), 1) << fleet.DebugString();
  EXPECT_THAT(fleet.reasons(0),
              HasSubstr("manager prod-01 (production) could not list the swarm's nodes: docker "
                        "node ls -q exited 1"));
  EXPECT_THAT(fleet.reasons(0), HasSubstr("a server may be hiding"));

  v1::FleetSummaryHeader header;
  *header.add_unknown_nodes() = unknown[0];
  const std::string table = cli::SummaryTable(header, {}, absl::Now(), 200);
  EXPECT_THAT(table, HasSubstr("(nodes not listed) by manager prod-01 (production, gating)"));
  google::protobuf::Value json = testing::ParseJson(cli::SummaryJson(header, {}));
  const auto& nodes = testing::Field(json, "unknown_nodes").list_value();
  ASSERT_EQ(nodes.values_size(), 1);
  EXPECT_THAT(testing::Field(nodes.values(0), "problem").string_value(),
              HasSubstr("docker node ls -q exited 1"));
}

TEST(UnknownNodes, StatusListsThemInTheTableAndJson) {
  v1::FleetSummaryHeader header;
  header.set_ready(false);
  header.add_reasons("swarm node prod-07 ...");
  v1::UnknownNode* n = header.add_unknown_nodes();
  n->set_hostname("prod-07");
  n->set_address("10.0.0.7");
  n->set_role("worker");
  n->set_state("ready");
  n->set_reported_by("prod-01");
  n->set_environment("production");
  n->set_gating(true);
  v1::HostSummary silent;
  silent.set_host_id("backup-01");
  silent.set_environment("backup");
  std::string table = cli::SummaryTable(header, {silent}, absl::Now(), 100);
  EXPECT_THAT(table, HasSubstr("UNKNOWN SWARM NODES: 1"));
  EXPECT_THAT(
      table,
      HasSubstr("prod-07 at 10.0.0.7 (worker, ready) reported by prod-01 (production, gating)"));
  EXPECT_THAT(table, HasSubstr("no agent vouches for 1 inventory host(s) (never reported): "
                               "backup-01"));
  google::protobuf::Value json = testing::ParseJson(cli::SummaryJson(header, {silent}));
  const auto& nodes = testing::Field(json, "unknown_nodes").list_value();
  ASSERT_EQ(nodes.values_size(), 1);
  EXPECT_EQ(testing::Field(nodes.values(0), "hostname").string_value(), "prod-07");
  EXPECT_EQ(testing::Field(nodes.values(0), "address").string_value(), "10.0.0.7");
  EXPECT_EQ(testing::Field(nodes.values(0), "reported_by").string_value(), "prod-01");
  EXPECT_TRUE(testing::Field(nodes.values(0), "gating").bool_value());

  header.clear_unknown_nodes();
  EXPECT_THAT(cli::SummaryTable(header, {}, absl::Now(), 100), Not(HasSubstr("SWARM")));
  json = testing::ParseJson(cli::SummaryJson(header, {}));
  EXPECT_EQ(testing::Field(json, "unknown_nodes").list_value().values_size(), 0);
}

TEST(SwarmDiff, NodesByIdInTheFactsOwnWords) {
  testing::TempDir root;
  v1::SwarmFact before = Collect(RecordDocker(root, kIds, 0, "", kInspect));
  v1::SwarmFact after = before;
  after.mutable_nodes(1)->set_state("ready");
  after.mutable_nodes(1)->set_availability("active");
  v1::SwarmNode* added = after.add_nodes();
  added->set_id("x3ghost00000000000000000c");
  added->set_hostname("prod-09");
  added->set_address("10.0.0.9");
  added->set_role("worker");
  added->set_state("ready");
  added->set_availability("active");
  after.mutable_nodes()->DeleteSubrange(0, 1);
  EXPECT_TRUE(collector::HasFactRenderer("swarm"));
  EXPECT_THAT(
      collector::RenderFactDiff("swarm", before.SerializeAsString(), after.SerializeAsString()),
      ::testing::ElementsAre("removed: swarm node prod-01 (10.0.0.1, manager, ready, active)",
                             "changed: swarm node PROD-02: state down → ready",
                             "changed: swarm node PROD-02: availability drain → active",
                             "added: swarm node prod-09 (10.0.0.9, worker, ready, active)"));
}

}  // namespace
}  // namespace preflight
