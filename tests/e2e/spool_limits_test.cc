// A report too large for the collector never blocks the agent's spool: the
// agent spools it shrunk (its largest fact kinds dropped for size, their
// checks UNKNOWN) or, when the collector still refuses it, sets it aside and
// delivers the reports after it. Real collector, real agent processes.
#include <dirent.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "tests/support/cluster.h"
#include "tests/support/json.h"

namespace preflight::testing {
namespace {

v1::Inventory BackupHost() {
  v1::Inventory inv;
  auto* h = inv.add_hosts();
  h->set_id("backup-01");
  h->set_environment("backup");
  h->add_roles("backup");
  return inv;
}

std::vector<std::string> ReportFiles(const std::string& spool) {
  std::vector<std::string> names;
  DIR* d = opendir((spool + "/reports").c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  return names;
}

int CountSuffix(const std::vector<std::string>& names, const std::string& suffix) {
  int n = 0;
  for (const auto& name : names) n += absl::EndsWith(name, suffix) ? 1 : 0;
  return n;
}

class SpoolLimitsTest : public ::testing::Test {
 protected:
  SpoolLimitsTest() : cluster_(BackupHost()) {}
  void SetUp() override {
    cluster_.StartCollector();
    // The backup server's fixture with a backup directory of 20000 files
    // with long names: its backups fact alone is over 4 MiB, the
    // collector's default max_report_bytes.
    big_root_ = tmp_.Join("big-root");
    CopyTree(FixtureRoot("backup-server"), big_root_);
    const std::string backups = big_root_ + "/home/backup/backups/";
    for (int i = 0; i < 20000; ++i) {
      WriteFile(backups + absl::StrFormat("%05d-%s", i, std::string(234, 'x')), "");
    }
  }

  // The host's checks as JSON.
  google::protobuf::Value Host() {
    RunResult host = cluster_.Ctl({"host", "backup-01", "--format", "json"});
    EXPECT_NE(host.exit_code, 2) << host.err;
    return ParseJson(host.out);
  }

  TempDir tmp_;
  TestCluster cluster_;
  std::string big_root_;
};

TEST_F(SpoolLimitsTest, OversizeReportsNeverBlockTheSpool) {
  const std::string spool = cluster_.SpoolDir("backup-01");

  // 1. An agent whose own limit is above the collector's: the collector
  // refuses the report (RESOURCE_EXHAUSTED). It is set aside and --once
  // ends at once, saying so, instead of retrying until the ack timeout.
  std::string config_path = cluster_.AgentConfig("backup-01", 60);
  WriteFile(config_path, ReadFile(config_path) + "max_report_bytes: 67108864\n");
  absl::Time start = absl::Now();
  RunResult refused =
      RunProcess({PREFLIGHT_AGENT_BIN, "--config", config_path, "--once", "--root", big_root_},
                 absl::Seconds(90));
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_LT(absl::Now() - start, absl::Seconds(30)) << refused.err;
  EXPECT_TRUE(absl::StrContains(refused.err, "refused report 1 as too large")) << refused.err;
  EXPECT_EQ(CountSuffix(ReportFiles(spool), ".pb.refused"), 1);
  EXPECT_EQ(CountSuffix(ReportFiles(spool), ".pb"), 0);
  EXPECT_TRUE(cluster_.collector_running());

  // 2. The default agent limit (below the collector's): the report is kept
  // aside as collected and delivered without its backups fact, whose checks
  // are UNKNOWN, naming why.
  RunResult shrunk = cluster_.AgentOnce("backup-01", big_root_);
  ASSERT_EQ(shrunk.exit_code, 0) << shrunk.err;
  EXPECT_TRUE(absl::StrContains(shrunk.err, "over max_report_bytes")) << shrunk.err;
  EXPECT_TRUE(absl::StrContains(shrunk.err, "spooled without backups")) << shrunk.err;
  EXPECT_EQ(CountSuffix(ReportFiles(spool), ".pb.oversize"), 1);
  EXPECT_EQ(CountSuffix(ReportFiles(spool), ".pb"), 0);  // acked
  google::protobuf::Value host = Host();
  int dropped = 0;
  for (const auto& check : Field(host, "checks").list_value().values()) {
    std::string text;
    google::protobuf::util::MessageToJsonString(check, &text);
    if (!absl::StrContains(text, "dropped for size")) continue;
    ++dropped;
    EXPECT_EQ(Field(check, "status").string_value(), "UNKNOWN") << text;
  }
  const auto* deleted = FindBy(Field(host, "checks"), "id", "backup.test_backups_deleted");
  ASSERT_NE(deleted, nullptr);
  std::string deleted_text;
  google::protobuf::util::MessageToJsonString(*deleted, &deleted_text);
  EXPECT_TRUE(absl::StrContains(deleted_text, "dropped for size")) << deleted_text;
  EXPECT_GE(dropped, 1);

  // 3. A later, ordinary report gets through and replaces it.
  RunResult later = cluster_.AgentOnce("backup-01", FixtureRoot("backup-server"));
  ASSERT_EQ(later.exit_code, 0) << later.err;
  EXPECT_EQ(CountSuffix(ReportFiles(spool), ".pb"), 0);
  host = Host();
  deleted = FindBy(Field(host, "checks"), "id", "backup.test_backups_deleted");
  ASSERT_NE(deleted, nullptr);
  deleted_text.clear();
  google::protobuf::util::MessageToJsonString(*deleted, &deleted_text);
  EXPECT_FALSE(absl::StrContains(deleted_text, "dropped for size")) << deleted_text;
  EXPECT_NE(Field(*deleted, "status").string_value(), "");
}

}  // namespace
}  // namespace preflight::testing
