// "No server can hide", end to end with real processes: a real agent reads
// a production manager's root whose recorded `docker node ls -q` and `docker
// node inspect` list a worker that is not in the inventory (under --root the
// agent reads recorded command outputs instead of running docker); the real
// collector lists it in `preflightctl status` (table and JSON) and keeps the
// fleet from being READY. Once the inventory names it (SIGHUP), it is gone,
// and the new inventory host, which never reported, is named as one no agent
// vouches for.
#include "agent/facts/swarm.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/host/rooted_host_env.h"
#include "tests/support/cluster.h"
#include "tests/support/json.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The opencrvs-manager fixture with a swarm of two nodes: itself (Docker
// gives its Status.Addr as 0.0.0.0, its ManagerStatus.Addr names it) and a
// worker, prod-09, that no inventory host names.
std::string SwarmManagerRoot(TempDir& dir) {
  const std::string root = dir.Join("root");
  CopyTree(FixtureRoot("opencrvs-manager"), root);
  const std::string commands = root + "/.preflight/commands/";
  const std::string ids = "m1manager0000000000000001\nw9worker00000000000000009\n";
  WriteFile(commands + agent::RecordedCommandKey({"docker", "node", "ls", "-q"}), ids);
  WriteFile(commands + agent::RecordedCommandKey(
                           agent::SwarmNodeInspectArgv(agent::ParseSwarmNodeIds(ids))),
            "m1manager0000000000000001\tprod-01\t0.0.0.0\tmanager\tready\tactive\t"
            "10.0.0.1:2377\n"
            "w9worker00000000000000009\tprod-09\t10.0.0.9\tworker\tready\tactive\t\n");
  return root;
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(SwarmTest, AnUnknownNodeIsListedAndBlocksUntilTheInventoryNamesIt) {
  TestCluster cluster(OneManager());
  cluster.StartCollector();
  TempDir dir;
  const std::string root = SwarmManagerRoot(dir);
  RunResult agent = cluster.AgentOnce("prod-01", root);
  ASSERT_EQ(agent.exit_code, 0) << agent.err << cluster.collector_log();

  const std::string reason =
      "swarm node prod-09 (10.0.0.9, worker) reported by prod-01 (production) matches no "
      "inventory host";
  RunResult table = cluster.Ctl({"status"});
  EXPECT_EQ(table.exit_code, 1) << table.out << table.err;
  EXPECT_THAT(table.out, HasSubstr("FLEET: NOT READY"));
  EXPECT_THAT(table.out, HasSubstr("UNKNOWN SWARM NODES: 1"));
  // Lines are wrapped to the terminal's width: compare them joined.
  const std::string joined = Joined(table.out);
  EXPECT_THAT(joined, HasSubstr(reason)) << table.out;
  EXPECT_THAT(joined, HasSubstr("prod-09 at 10.0.0.9 (worker, ready) reported by prod-01 "
                                "(production, gating)"))
      << table.out;
  // The manager itself (Status.Addr 0.0.0.0) is prod-01: not unknown.
  EXPECT_THAT(table.out, Not(HasSubstr("prod-01 at ")));

  RunResult json = cluster.Ctl({"status", "--format", "json"});
  EXPECT_EQ(json.exit_code, 1) << json.err;
  google::protobuf::Value fleet = ParseJson(json.out);
  EXPECT_FALSE(Field(fleet, "ready").bool_value());
  const google::protobuf::Value& nodes = Field(fleet, "unknown_nodes");
  ASSERT_EQ(nodes.list_value().values_size(), 1) << json.out;
  const google::protobuf::Value& node = nodes.list_value().values(0);
  EXPECT_EQ(Field(node, "hostname").string_value(), "prod-09");
  EXPECT_EQ(Field(node, "address").string_value(), "10.0.0.9");
  EXPECT_EQ(Field(node, "role").string_value(), "worker");
  EXPECT_EQ(Field(node, "reported_by").string_value(), "prod-01");
  EXPECT_EQ(Field(node, "environment").string_value(), "production");
  EXPECT_TRUE(Field(node, "gating").bool_value());
  bool has_reason = false;
  for (const auto& r : Field(fleet, "reasons").list_value().values()) {
    has_reason = has_reason || absl::StrContains(r.string_value(), reason);
  }
  EXPECT_TRUE(has_reason) << json.out;
  // The full document (status --full) lists it too.
  RunResult full = cluster.Ctl({"status", "--full", "--format", "json"});
  const google::protobuf::Value full_doc = ParseJson(full.out);
  const google::protobuf::Value& full_nodes = Field(full_doc, "unknown_nodes");
  ASSERT_EQ(full_nodes.list_value().values_size(), 1);
  EXPECT_EQ(Field(full_nodes.list_value().values(0), "hostname").string_value(), "prod-09");

  // The inventory names the worker by its address, as a host that has no
  // agent yet: the node is known, the host is one no agent vouches for.
  v1::Inventory inventory = OneManager();
  v1::InventoryHost* worker = inventory.add_hosts();
  worker->set_id("prod-02");
  worker->set_environment("production");
  worker->add_roles("worker");
  worker->add_addresses("10.0.0.9");
  cluster.SetInventory(inventory);
  cluster.WriteCollectorConfig();
  const int reloads = Count(cluster.collector_log(), "reloaded ");
  ASSERT_EQ(kill(cluster.collector_pid(), SIGHUP), 0);
  ASSERT_TRUE(WaitFor([&] { return Count(cluster.collector_log(), "reloaded ") > reloads; },
                      absl::Seconds(30)))
      << cluster.collector_log();

  table = cluster.Ctl({"status"});
  EXPECT_EQ(table.exit_code, 1) << table.out << table.err;
  EXPECT_THAT(table.out, Not(HasSubstr("UNKNOWN SWARM NODES")));
  EXPECT_THAT(table.out, Not(HasSubstr("prod-09")));
  EXPECT_THAT(Joined(table.out),
              HasSubstr("prod-02: has never reported (no agent vouches for it)"));
  EXPECT_THAT(Joined(table.out),
              HasSubstr("no agent vouches for 1 inventory host(s) (never reported): prod-02"));
  json = cluster.Ctl({"status", "--format", "json"});
  fleet = ParseJson(json.out);
  EXPECT_EQ(Field(fleet, "unknown_nodes").list_value().values_size(), 0) << json.out;
}

// An agent that cannot ask Docker (here: its recorded `docker node ls -q`
// is refused as an agent outside the docker group is) lists no node, and a
// server could hide behind that: the fleet is NOT READY naming the manager
// and why, and `status` lists the manager as one whose nodes are not listed.
TEST(SwarmTest, AManagerThatCannotListItsNodesKeepsTheFleetNotReady) {
  TestCluster cluster(OneManager());
  cluster.StartCollector();
  TempDir dir;
  const std::string root = dir.Join("root");
  CopyTree(FixtureRoot("opencrvs-manager"), root);
  const std::string list =
      root + "/.preflight/commands/" + agent::RecordedCommandKey({"docker", "node", "ls", "-q"});
  WriteFile(list, "");
  WriteFile(list + ".exit", "1\n");
  WriteFile(list + ".err",
            "permission denied while trying to connect to the Docker daemon socket at "
            "unix:///var/run/docker.sock\n");
  RunResult agent = cluster.AgentOnce("prod-01", root);
  ASSERT_EQ(agent.exit_code, 0) << agent.err << cluster.collector_log();

  RunResult table = cluster.Ctl({"status"});
  EXPECT_EQ(table.exit_code, 1) << table.out << table.err;
  const std::string joined = Joined(table.out);
  EXPECT_THAT(joined, HasSubstr("manager prod-01 (production) could not list the swarm's nodes: "
                                "docker node ls -q"))
      << table.out;
  EXPECT_THAT(joined, HasSubstr("permission denied")) << table.out;
  EXPECT_THAT(joined, HasSubstr("(nodes not listed) by manager prod-01 (production, gating)"))
      << table.out;

  RunResult json = cluster.Ctl({"status", "--format", "json"});
  google::protobuf::Value fleet = ParseJson(json.out);
  EXPECT_FALSE(Field(fleet, "ready").bool_value());
  const auto& nodes = Field(fleet, "unknown_nodes").list_value();
  ASSERT_EQ(nodes.values_size(), 1) << json.out;
  EXPECT_EQ(Field(nodes.values(0), "reported_by").string_value(), "prod-01");
  EXPECT_THAT(Field(nodes.values(0), "problem").string_value(), HasSubstr("docker node ls -q"));
}

}  // namespace
}  // namespace preflight::testing
