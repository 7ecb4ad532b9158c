// BackupStore (collector/store/backup.h) on a real RocksDB in a temporary
// directory: from a store in use (held open by this process, so the copy
// goes through a secondary instance), from a closed one (a checkpoint), and
// into a non-empty directory (refused).
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/audit/audit_chain.h"
#include "collector/store/backup.h"
#include "collector/store/store.h"
#include "tests/support/temp_dir.h"

namespace preflight::collector {
namespace {

std::unique_ptr<Store> MakeStore(const std::string& dir, int waivers) {
  auto store = Store::Open(dir);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return nullptr;
  for (int i = 0; i < waivers; ++i) {
    v1::Waiver w;
    w.set_host_id(absl::StrCat("prod-", i));
    w.set_check_id("ssh.password_auth");
    w.set_reason("test");
    EXPECT_TRUE((*store)->PutWaiver(w, {"ops", "waive", w.host_id(), "test"}, absl::Now()).ok());
  }
  return *std::move(store);
}

std::vector<std::string> AuditHashes(Store& store) {
  std::vector<std::string> out;
  auto entries = store.AuditEntries();
  EXPECT_TRUE(entries.ok());
  if (entries.ok()) {
    for (const auto& e : *entries) out.push_back(e.entry.hash());
  }
  return out;
}

// The copy holds what the source held, schema version included.
void ExpectSameContent(Store& source, const std::string& copy_dir) {
  auto copy = Store::Open(copy_dir);
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(AuditHashes(**copy), AuditHashes(source));
  EXPECT_EQ((*copy)->AuditHead(), source.AuditHead());
  auto a = source.AllWaivers();
  auto b = (*copy)->AllWaivers();
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].SerializeAsString(), (*b)[i].SerializeAsString());
  }
  auto va = source.GetMeta("schema_version");
  auto vb = (*copy)->GetMeta("schema_version");
  ASSERT_TRUE(va.ok() && vb.ok());
  EXPECT_EQ(vb->value_or("<none>"), va->value_or("<source has none>"));
}

TEST(StoreBackup, FromAStoreInUseThroughASecondaryInstance) {
  testing::TempDir tmp;
  auto store = MakeStore(tmp.Join("db"), 30);
  ASSERT_NE(store, nullptr);
  std::vector<std::string> progress;
  BackupOptions options;
  options.progress_keys = 10;
  options.progress = [&progress](absl::string_view line) { progress.emplace_back(line); };
  auto summary = BackupStore(tmp.Join("db"), tmp.Join("backup"), options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_TRUE(summary->from_running);
  // Every family of the store: rocksdb's list of the source, not ours.
  std::vector<std::string> families;
  ASSERT_TRUE(
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), tmp.Join("db"), &families).ok());
  EXPECT_EQ(summary->families, static_cast<int>(families.size()));
  EXPECT_GE(summary->families, 11);
  // 30 waivers, 30 audit entries, the audit head and the schema version.
  EXPECT_EQ(summary->keys, 30u + 30u + 2u);
  EXPECT_EQ(summary->audit_entries, 30u);
  EXPECT_EQ(summary->audit_head_seq, store->AuditHead().first);
  EXPECT_EQ(summary->audit_head_hash, HexOf(store->AuditHead().second));
  EXPECT_GE(progress.size(), 6u);
  ExpectSameContent(*store, tmp.Join("backup"));
}

TEST(StoreBackup, FromAClosedStoreByCheckpoint) {
  testing::TempDir tmp;
  MakeStore(tmp.Join("db"), 5).reset();
  auto summary = BackupStore(tmp.Join("db"), tmp.Join("backup"));
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_FALSE(summary->from_running);
  EXPECT_EQ(summary->audit_entries, 5u);
  auto store = Store::Open(tmp.Join("db"));
  ASSERT_TRUE(store.ok());
  ExpectSameContent(**store, tmp.Join("backup"));
}

TEST(StoreBackup, NonEmptyDirectoryIsRefused) {
  testing::TempDir tmp;
  auto store = MakeStore(tmp.Join("db"), 1);
  ASSERT_NE(store, nullptr);
  testing::WriteFile(tmp.Join("backup/keep"), "mine");
  auto summary = BackupStore(tmp.Join("db"), tmp.Join("backup"));
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(summary.status().message().find(absl::StrCat(tmp.Join("backup"), " is not empty")),
            absl::string_view::npos)
      << summary.status();
  EXPECT_EQ(testing::ReadFile(tmp.Join("backup/keep")), "mine");
}

}  // namespace
}  // namespace preflight::collector
