// Policy per environment, role and host, end to end: a real collector whose
// policy gives staging its own TLS hostnames and one host its own disk
// threshold; preflightctl host shows each check's effective parameters and
// where each came from, and checks lists the catalogue's parameters.
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/support/cluster.h"
#include "tests/support/json.h"
#include "tests/support/temp_dir.h"

namespace preflight::testing {
namespace {

v1::Inventory Fleet() {
  v1::Inventory inv;
  for (auto [id, env] : {std::pair{"prod-01", "production"}, std::pair{"stage-01", "staging"}}) {
    auto* h = inv.add_hosts();
    h->set_id(id);
    h->set_environment(env);
    h->add_roles("manager");
  }
  return inv;
}

v1::Policy PerEnvironment() {
  v1::Policy p;
  p.add_tls_hostnames("opencrvs.example.gov");
  v1::PolicyOverride* staging = p.add_override();
  staging->set_environment("staging");
  staging->mutable_set()->add_tls_hostnames("staging.opencrvs.example.gov");
  v1::PolicyOverride* host = p.add_override();
  host->set_host("prod-01");
  host->mutable_set()->set_disk_warn_percent(45);
  return p;
}

const google::protobuf::Value* Param(const google::protobuf::Value& host, const std::string& check,
                                     const std::string& name) {
  const auto* c = FindBy(Field(host, "checks"), "id", check);
  if (c == nullptr) return nullptr;
  return FindBy(Field(*c, "params"), "name", name);
}

TEST(PolicyTest, EachHostGetsItsEnvironmentsAndItsOwnParameters) {
  TestCluster cluster(Fleet(), PerEnvironment());
  cluster.StartCollector();
  for (const char* host : {"prod-01", "stage-01"}) {
    RunResult a = cluster.AgentOnce(host, FixtureRoot("opencrvs-manager"));
    ASSERT_EQ(a.exit_code, 0) << a.err;
  }

  // stage-01's agent is configured with the fleet's name only; the
  // collector's welcome names staging's, the agent keeps it in its spool
  // directory and collects again with it: the verdict judges the name the
  // policy gives, resolved the way the host resolves it (reading an image,
  // /etc/hosts only: this fixture's does not list it).
  EXPECT_EQ(ReadFile(cluster.SpoolDir("stage-01") + "/collector-tls-hostnames"),
            "staging.opencrvs.example.gov\n");
  RunResult stage_table = cluster.Ctl({"host", "stage-01", "--format", "json"});
  auto st = ParseJson(stage_table.out);
  const auto* tls = FindBy(Field(st, "checks"), "id", "tls.certificate_valid");
  ASSERT_NE(tls, nullptr) << stage_table.out;
  EXPECT_EQ(Field(*tls, "status").string_value(), "UNKNOWN") << stage_table.out;
  std::string evidence;
  for (const auto& e : Field(*tls, "evidence").list_value().values()) {
    absl::StrAppend(&evidence, Field(e, "message").string_value(), "\n");
  }
  EXPECT_TRUE(absl::StrContains(evidence,
                                "staging.opencrvs.example.gov: PASS: valid: "))  // *.opencrvs...
      << evidence;
  EXPECT_TRUE(absl::StrContains(evidence,
                                "staging.opencrvs.example.gov: resolution UNKNOWN: /etc/hosts "
                                "does not list it"))
      << evidence;
  // prod-01 resolves its name by the fixture's /etc/hosts.
  RunResult prod_json = cluster.Ctl({"host", "prod-01", "--format", "json"});
  EXPECT_TRUE(absl::StrContains(prod_json.out,
                                "opencrvs.example.gov: resolves to 10.0.1.10 by /etc/hosts:2"))
      << prod_json.out;

  RunResult stage = cluster.Ctl({"host", "stage-01", "--format", "json"});
  ASSERT_EQ(stage.exit_code == 0 || stage.exit_code == 1, true) << stage.err;
  auto s = ParseJson(stage.out);
  const auto* names = Param(s, "tls.certificate_valid", "tls_hostnames");
  ASSERT_NE(names, nullptr) << stage.out;
  EXPECT_EQ(Field(*names, "value").string_value(), "[\"staging.opencrvs.example.gov\"]");
  // Where it came from: the collector's config file, the override's line.
  EXPECT_TRUE(absl::StrContains(Field(*names, "origin").string_value(), "collector.textproto:"))
      << Field(*names, "origin").string_value();
  EXPECT_TRUE(absl::EndsWith(Field(*names, "origin").string_value(), "(environment staging)"));
  const auto* warn = Param(s, "disk.headroom", "disk_warn_percent");
  ASSERT_NE(warn, nullptr);
  EXPECT_EQ(Field(*warn, "value").string_value(), "50");
  EXPECT_EQ(Field(*warn, "origin").string_value(), "default");

  RunResult prod = cluster.Ctl({"host", "prod-01", "--format", "json"});
  auto p = ParseJson(prod.out);
  const auto* prod_names = Param(p, "tls.certificate_valid", "tls_hostnames");
  ASSERT_NE(prod_names, nullptr);
  EXPECT_EQ(Field(*prod_names, "value").string_value(), "[\"opencrvs.example.gov\"]");
  const auto* prod_warn = Param(p, "disk.headroom", "disk_warn_percent");
  ASSERT_NE(prod_warn, nullptr);
  EXPECT_EQ(Field(*prod_warn, "value").string_value(), "45");
  EXPECT_TRUE(absl::EndsWith(Field(*prod_warn, "origin").string_value(), "(host prod-01)"));

  // The table says the same.
  RunResult table = cluster.Ctl({"host", "prod-01"});
  EXPECT_TRUE(absl::StrContains(table.out, "param disk_warn_percent = 45")) << table.out;

  // The fleet view stays small: no parameters there.
  RunResult status = cluster.Ctl({"status", "--format", "json"});
  EXPECT_FALSE(absl::StrContains(status.out, "\"params\"")) << status.out.substr(0, 300);

  // The catalogue with every parameter's default.
  RunResult checks = cluster.Ctl({"checks", "--format", "json"});
  ASSERT_EQ(checks.exit_code, 0) << checks.err;
  auto c = ParseJson(checks.out);
  const auto* disk = FindBy(Field(c, "checks"), "id", "disk.headroom");
  ASSERT_NE(disk, nullptr);
  const auto* fail = FindBy(Field(*disk, "params"), "name", "disk_fail_percent");
  ASSERT_NE(fail, nullptr);
  EXPECT_EQ(Field(*fail, "default").string_value(), "70");
  EXPECT_EQ(Field(*fail, "unit").string_value(), "percent");
  EXPECT_GT(Field(c, "items").list_value().values_size(), 0);
  // The README's tables, as the collector's catalogue has them.
  RunResult md = cluster.Ctl({"checks", "--format", "markdown"});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_TRUE(absl::StartsWith(md.out, "| check | item | severity |")) << md.out;
  EXPECT_TRUE(absl::StrContains(md.out, "| `disk_fail_percent` | `disk.headroom` |")) << md.out;
  EXPECT_EQ(cluster.Ctl({"status", "--format", "markdown"}).exit_code, 2);
}

}  // namespace
}  // namespace preflight::testing
