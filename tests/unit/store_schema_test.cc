// The store's schema version (collector/store/store.h): set on a new store,
// an unversioned store upgraded and audited, a newer one refused. Real
// RocksDB in a temporary directory; the marker is edited on the closed store.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/audit/audit_chain.h"
#include "collector/store/store.h"
#include "tests/support/cluster.h"
#include "tests/support/temp_dir.h"

namespace preflight::collector {
namespace {

using ::preflight::testing::EditAudit;

std::string Version(Store& store) {
  auto v = store.GetMeta("schema_version");
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() && v->has_value() ? **v : "<none>";
}

// A store with two audited changes, closed.
void MakeStore(const std::string& dir) {
  auto store = Store::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Audit({"ops", "note", "prod-01", "first"}, absl::Now()).ok());
  ASSERT_TRUE(
      (*store)
          ->PutMeta("inventory", "x", {"collector", "inventory", "inv", "second"}, absl::Now())
          .ok());
}

void SetMarker(const std::string& dir, const std::string* value) {
  EditAudit(dir, [value](rocksdb::DB* db, rocksdb::ColumnFamilyHandle*) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    rocksdb::Status s = value == nullptr ? db->Delete(wo, "meta/schema_version")
                                         : db->Put(wo, "meta/schema_version", *value);
    ASSERT_TRUE(s.ok()) << s.ToString();
  });
}

TEST(StoreSchema, NewStoreGetsTheCurrentVersionWithoutAnAuditEntry) {
  testing::TempDir tmp;
  auto store = Store::Open(tmp.Join("db"));
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(Version(**store), absl::StrCat(Store::kSchemaVersion));
  auto entries = (*store)->AuditEntries();
  ASSERT_TRUE(entries.ok());
  EXPECT_TRUE(entries->empty());
}

TEST(StoreSchema, ReopeningACurrentStoreChangesNothing) {
  testing::TempDir tmp;
  MakeStore(tmp.Join("db"));
  auto store = Store::Open(tmp.Join("db"));
  ASSERT_TRUE(store.ok()) << store.status();
  auto entries = (*store)->AuditEntries();
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->size(), 2u);
  EXPECT_EQ(Version(**store), absl::StrCat(Store::kSchemaVersion));
}

TEST(StoreSchema, UnversionedStoreIsSchema1AndUpgradedWithAnAuditEntry) {
  testing::TempDir tmp;
  const std::string dir = tmp.Join("db");
  MakeStore(dir);
  SetMarker(dir, nullptr);
  {
    auto store = Store::Open(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(Version(**store), absl::StrCat(Store::kSchemaVersion));
    auto entries = (*store)->AuditEntries();
    ASSERT_TRUE(entries.ok());
    // One audited step per version: 1 -> 2, 2 -> 3, ...
    const size_t steps = Store::kSchemaVersion - 1;
    ASSERT_EQ(entries->size(), 2u + steps);
    for (size_t i = 0; i < steps; ++i) {
      const v1::AuditEntry& step = (*entries)[2 + i].entry;
      EXPECT_EQ(step.actor(), "collector");
      EXPECT_EQ(step.action(), "store-upgraded");
      EXPECT_EQ(step.detail(), absl::StrCat("store upgraded from schema ", i + 1, " to ", i + 2));
    }
    const v1::AuditEntry& last = entries->back().entry;
    auto [seq, hash] = (*store)->AuditHead();
    EXPECT_EQ(seq, last.seq());
    AuditVerification v = VerifyAuditChain(*entries, seq, hash);
    EXPECT_TRUE(v.ok) << (v.problems.empty() ? "" : v.problems.front());
    // The other data is untouched.
    auto inv = (*store)->GetMeta("inventory");
    ASSERT_TRUE(inv.ok());
    EXPECT_EQ(inv->value_or("<none>"), "x");
  }
  // Upgraded once: the next open adds nothing.
  auto again = Store::Open(dir);
  ASSERT_TRUE(again.ok()) << again.status();
  auto entries = (*again)->AuditEntries();
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->size(), 2u + Store::kSchemaVersion - 1);
}

TEST(StoreSchema, NewerStoreIsRefused) {
  testing::TempDir tmp;
  const std::string dir = tmp.Join("db");
  MakeStore(dir);
  const std::string v99 = "99";
  SetMarker(dir, &v99);
  auto store = Store::Open(dir);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find(absl::StrCat(
                "store schema 99 is newer than this collector (supports up to ",
                Store::kSchemaVersion, "): run a newer collector or restore a backup")),
            absl::string_view::npos)
      << store.status();
}

}  // namespace
}  // namespace preflight::collector
