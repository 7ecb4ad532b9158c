// preflight-collector --backup with real processes: a backup taken while the
// collector runs and an agent reports, restored as the README says (stop,
// move the data directory aside, move the backup in, start), then checked
// with the real preflightctl; a non-empty backup directory refused; a store
// newer than the collector refused at start.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <stdio.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/store/store.h"
#include "tests/support/cluster.h"
#include "tests/support/json.h"

namespace preflight::testing {
namespace {

RunResult Backup(TestCluster& cluster, const std::string& dir) {
  return RunProcess(
      {PREFLIGHT_COLLECTOR_BIN, "--config", cluster.WriteCollectorConfig(), "--backup", dir},
      absl::Seconds(60));
}

TEST(BackupTest, BackupWhileRunningRestoresHistoryAndAudit) {
  TestCluster cluster(OneManager());
  const std::string root = FixtureRoot("opencrvs-manager");
  cluster.StartCollector();
  for (int i = 0; i < 2; ++i) {
    RunResult r = cluster.AgentOnce("prod-01", root);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // A waiver (of a check that does not pass: passing checks cannot be waived).
  RunResult waive = cluster.Ctl({"waive", "ssh.weak_keys", "--host", "prod-01", "--reason",
                                 "console-only root", "--expires", "1d"});
  ASSERT_EQ(waive.exit_code, 0) << waive.err;
  RunResult history = cluster.Ctl({"history", "prod-01", "--format", "json"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  const std::vector<google::protobuf::Value> audited = cluster.AuditEntries();
  ASSERT_FALSE(audited.empty());

  // The backup, while an agent delivers another report.
  std::thread agent([&] {
    RunResult r = cluster.AgentOnce("prod-01", root);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  });
  const std::string backup_dir = cluster.dir().Join("backup");
  RunResult backup = Backup(cluster, backup_dir);
  agent.join();
  ASSERT_EQ(backup.exit_code, 0) << backup.out << backup.err;
  EXPECT_TRUE(absl::StrContains(backup.out, "taken from the running collector")) << backup.out;
  EXPECT_TRUE(absl::StrContains(backup.out, "audit chain verified")) << backup.out;
  ASSERT_TRUE(cluster.collector_running());

  // Restore: stop, move the data directory aside, move the backup in, start.
  cluster.StopCollector(SIGTERM);
  ASSERT_EQ(rename(cluster.data_dir().c_str(), cluster.dir().Join("data.old").c_str()), 0);
  ASSERT_EQ(rename(backup_dir.c_str(), cluster.data_dir().c_str()), 0);
  cluster.StartCollector();

  RunResult verify = cluster.Ctl({"audit", "--verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  RunResult restored_history = cluster.Ctl({"history", "prod-01", "--format", "json"});
  ASSERT_EQ(restored_history.exit_code, 0) << restored_history.err;
  EXPECT_EQ(restored_history.out, history.out);
  const std::vector<google::protobuf::Value> restored = cluster.AuditEntries();
  ASSERT_GE(restored.size(), audited.size());
  for (size_t i = 0; i < audited.size(); ++i) {
    EXPECT_EQ(Field(restored[i], "hash").string_value(), Field(audited[i], "hash").string_value())
        << "entry " << i;
  }
  RunResult waived = cluster.Ctl({"host", "prod-01", "--format", "json"});
  EXPECT_TRUE(absl::StrContains(waived.out, "console-only root")) << waived.out;
}

TEST(BackupTest, NonEmptyDirectoryIsRefused) {
  TestCluster cluster(OneManager());
  cluster.StartCollector();
  const std::string backup_dir = cluster.dir().Join("backup");
  WriteFile(backup_dir + "/notes.txt", "keep me");
  RunResult backup = Backup(cluster, backup_dir);
  EXPECT_EQ(backup.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(backup.err, absl::StrCat("backup into ", backup_dir,
                                                         " failed: ", backup_dir, " is not empty")))
      << backup.err;
  EXPECT_EQ(ReadFile(backup_dir + "/notes.txt"), "keep me");
}

// A data directory from a newer release (schema 99): the collector refuses
// it at start, exits 1 and says what to do.
TEST(BackupTest, CollectorRefusesANewerStore) {
  TestCluster cluster(OneManager());
  cluster.StartCollector();
  cluster.StopCollector(SIGTERM);
  EditAudit(cluster.data_dir(), [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle*) {
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "meta/schema_version", "99").ok());
  });
  RunResult start = RunProcess(
      {PREFLIGHT_COLLECTOR_BIN, "--config", cluster.WriteCollectorConfig()}, absl::Seconds(30));
  EXPECT_EQ(start.exit_code, 1) << start.err;
  EXPECT_TRUE(absl::StrContains(
      start.err, absl::StrCat("store schema 99 is newer than this collector (supports up to ",
                              collector::Store::kSchemaVersion,
                              "): run a newer collector or restore a backup")))
      << start.err;
}

}  // namespace
}  // namespace preflight::testing
