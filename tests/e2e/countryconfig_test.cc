// The country configuration, production against staging, end to end with
// real processes: real agents with `application { docker: true }` read a
// production and a staging manager's roots (the opencrvs-application
// fixture: recorded `docker service ls` / `docker service inspect`, staging's
// copy with its countryconfig image re-recorded), send them over mTLS to the
// real collector (RocksDB in a temporary directory), and `preflightctl
// status` (table, JSON, --full) shows whether production runs the country
// configuration last tested on staging: not compared while staging has not
// reported, a warning naming both versions and hosts when they differ (never
// a reason of the verdict), stated when they are the same.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/support/cluster.h"
#include "tests/support/json.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kServiceLs[] =
    "/.preflight/commands/docker_service_ls_--format___.ID_____.Name_____.Mode_____.Replicas_____"
    ".Image_____.Ports__";

// The image column of the countryconfig service's line in a recorded
// `docker service ls` (ID, name, mode, replicas, image, ports).
std::string CountryconfigImage(const std::string& service_ls) {
  for (absl::string_view line : absl::StrSplit(service_ls, '\n')) {
    std::vector<std::string> cols = absl::StrSplit(line, '\t');
    if (cols.size() > 4 && absl::EndsWith(cols[1], "countryconfig")) return cols[4];
  }
  ADD_FAILURE() << "no countryconfig service in\n" << service_ls;
  return "";
}

// A copy of the opencrvs-application fixture whose countryconfig service
// runs `image` instead of the recorded one.
std::string RootRunning(TempDir& dir, const std::string& name, const std::string& image) {
  const std::string root = dir.Join(name);
  CopyTree(FixtureRoot("opencrvs-application"), root);
  std::string ls = ReadFile(root + kServiceLs);
  const std::string recorded = CountryconfigImage(ls);
  ls.replace(ls.find(recorded), recorded.size(), image);
  WriteFile(root + kServiceLs, ls);
  return root;
}

class CountryconfigTest : public ::testing::Test {
 protected:
  CountryconfigTest() : cluster_(Inventory()) {}

  static v1::Inventory Inventory() {
    v1::Inventory inventory = OneManager();  // prod-01, a production manager
    v1::InventoryHost* staging = inventory.add_hosts();
    staging->set_id("staging-01");
    staging->set_environment("staging");
    staging->add_roles("manager");
    return inventory;
  }

  // preflight-agent --once as `host` over `root`, application evidence on.
  void Report(const std::string& host, const std::string& root) {
    const std::string config = cluster_.AgentConfig(host);
    std::ofstream(config, std::ios::app) << "\napplication { docker: true }\n";
    RunResult agent = RunProcess(
        {PREFLIGHT_AGENT_BIN, "--config", config, "--once", "--root", root}, absl::Seconds(60));
    ASSERT_EQ(agent.exit_code, 0) << agent.err << cluster_.collector_log();
  }

  // `status --format json`'s countryconfig object, and the --full
  // document's, which must be the same.
  google::protobuf::Value StatusCountryconfig() {
    RunResult json = cluster_.Ctl({"status", "--format", "json"});
    const google::protobuf::Value doc = ParseJson(json.out);
    RunResult full = cluster_.Ctl({"status", "--full", "--format", "json"});
    const google::protobuf::Value full_doc = ParseJson(full.out);
    EXPECT_EQ(Field(Field(full_doc, "countryconfig"), "summary").string_value(),
              Field(Field(doc, "countryconfig"), "summary").string_value());
    // Never a reason of the verdict.
    for (const auto& r : Field(doc, "reasons").list_value().values()) {
      EXPECT_THAT(r.string_value(), Not(HasSubstr("country configuration"))) << json.out;
    }
    return Field(doc, "countryconfig");
  }

  TestCluster cluster_;
};

TEST_F(CountryconfigTest, ProductionIsComparedWithStagingOnceBothReport) {
  cluster_.StartCollector();
  TempDir dir;
  const std::string production_root = dir.Join("production");
  CopyTree(FixtureRoot("opencrvs-application"), production_root);
  const std::string production_image = CountryconfigImage(ReadFile(production_root + kServiceLs));
  ASSERT_FALSE(production_image.empty());
  Report("prod-01", production_root);

  // Staging has not reported: not compared, and why.
  RunResult table = cluster_.Ctl({"status"});
  EXPECT_THAT(
      Joined(table.out),
      AllOf(HasSubstr("country configuration: production not compared with staging"),
            HasSubstr("staging-01 never reported"),
            HasSubstr(absl::StrCat("production: opencrvs_countryconfig runs ", production_image))))
      << table.out;
  google::protobuf::Value cc = StatusCountryconfig();
  EXPECT_EQ(Field(cc, "outcome").string_value(), "not_compared");
  EXPECT_FALSE(Field(cc, "warning").bool_value());
  ASSERT_EQ(Field(cc, "versions").list_value().values_size(), 1);
  const google::protobuf::Value& prod = Field(cc, "versions").list_value().values(0);
  EXPECT_EQ(Field(prod, "environment").string_value(), "production");
  EXPECT_EQ(Field(prod, "reported_by").string_value(), "prod-01");
  EXPECT_EQ(Field(prod, "service").string_value(), "opencrvs_countryconfig");
  EXPECT_EQ(Field(prod, "image").string_value(), production_image);

  // Staging tests the next country configuration: a warning naming both.
  const std::string repository = production_image.substr(0, production_image.rfind(':'));
  const std::string next_tag =
      absl::StrCat(production_image.substr(repository.size() + 1), "-next");
  Report("staging-01", RootRunning(dir, "staging", absl::StrCat(repository, ":", next_tag)));
  table = cluster_.Ctl({"status"});
  EXPECT_THAT(Joined(table.out),
              AllOf(HasSubstr(absl::StrCat("WARNING: country configuration: production runs ",
                                           production_image, " (host prod-01), staging runs ",
                                           next_tag, " (host staging-01)")),
                    HasSubstr("production's version was not the one last tested on staging")))
      << table.out;
  cc = StatusCountryconfig();
  EXPECT_EQ(Field(cc, "outcome").string_value(), "different");
  EXPECT_TRUE(Field(cc, "warning").bool_value());
  ASSERT_EQ(Field(cc, "versions").list_value().values_size(), 2);
  const google::protobuf::Value& staging = Field(cc, "versions").list_value().values(1);
  EXPECT_EQ(Field(staging, "environment").string_value(), "staging");
  EXPECT_EQ(Field(staging, "reported_by").string_value(), "staging-01");
  EXPECT_EQ(Field(staging, "version").string_value(), next_tag);

  // Staging back on production's: the same, stated, no warning.
  Report("staging-01", RootRunning(dir, "staging-again", production_image));
  table = cluster_.Ctl({"status"});
  EXPECT_THAT(Joined(table.out),
              HasSubstr(absl::StrCat("country configuration: production runs ", production_image,
                                     " (host prod-01), staging runs the same (host staging-01)")))
      << table.out;
  EXPECT_THAT(table.out, Not(HasSubstr("WARNING: country configuration"))) << table.out;
  cc = StatusCountryconfig();
  EXPECT_EQ(Field(cc, "outcome").string_value(), "same");
  EXPECT_FALSE(Field(cc, "warning").bool_value());
}

}  // namespace
}  // namespace preflight::testing
