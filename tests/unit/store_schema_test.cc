// The store's schema version (collector/store/store.h): set on a new store,
// an unversioned store upgraded and audited, a newer one refused. Real
// RocksDB in a temporary directory; the marker is edited on the closed store.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/audit/audit_chain.h"
#include "collector/store/keys.h"
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

// The layout of schema 3, written directly (as a collector of schema 3 left
// it): a receipt per report with its digest, the whole newest report in
// latest_facts, fact changes by (host, time, kind, sequence).
std::string Digest(const v1::FactReport& report) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    report.SerializeToCodedStream(&coded);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

const std::string kInstance = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr int64_t kT0 = 1'800'000'000'000;

v1::FactReport Schema3Report(uint64_t seq, bool root_login) {
  v1::FactReport r;
  r.set_host_id("prod-01");
  r.set_agent_instance(kInstance);
  r.set_sequence(seq);
  r.set_collected_at_unix_ms(kT0 + static_cast<int64_t>(seq) * 300'000);
  r.set_hostname("prod-01");
  r.mutable_sshd()->mutable_collection()->set_state(v1::Collection::OK);
  v1::SshdDirective* d = r.mutable_sshd()->add_directives();
  d->set_keyword("permitrootlogin");
  d->add_args(root_login ? "yes" : "no");
  v1::Filesystem* fs = r.mutable_disks()->add_filesystems();
  fs->set_mount_point("/");
  fs->set_used_bytes(40 + seq);
  fs->set_available_bytes(60'000'000'000);
  return r;
}

void WriteSchema3Store(const std::string& dir, const std::vector<v1::FactReport>& reports) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  const std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName,
                                          "reports",
                                          "latest_facts",
                                          "verdicts",
                                          "fact_changes",
                                          "transitions",
                                          "attestations",
                                          "waivers",
                                          "audit",
                                          "events",
                                          "state"};
  for (const std::string& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> h;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir, cfs, &h, &db).ok());
  rocksdb::WriteBatch b;
  b.Put("meta/schema_version", "3");
  const std::string host = HostPrefix("prod-01");
  for (const v1::FactReport& r : reports) {
    v1::ReportReceipt receipt;
    receipt.set_host_id("prod-01");
    receipt.set_agent_instance(r.agent_instance());
    receipt.set_sequence(r.sequence());
    receipt.set_collected_at_unix_ms(r.collected_at_unix_ms());
    receipt.set_received_at_unix_ms(r.collected_at_unix_ms());
    receipt.set_content_sha256(Digest(r));
    b.Put(h[1], ReportKey("prod-01", r.agent_instance(), r.sequence()),
          receipt.SerializeAsString());
  }
  const v1::FactReport& last = reports.back();
  b.Put(h[2], host, last.SerializeAsString());
  v1::HostVerdicts verdicts;
  verdicts.set_host_id("prod-01");
  verdicts.set_agent_instance(last.agent_instance());
  verdicts.set_sequence(last.sequence());
  verdicts.set_received_at_unix_ms(last.collected_at_unix_ms());
  b.Put(h[3], host, verdicts.SerializeAsString());
  // sshd changed at the first and the last report; disks at the first.
  auto change = [&](const v1::FactReport& r, const std::string& kind, std::string content) {
    v1::FactChange c;
    c.set_host_id("prod-01");
    c.set_kind(kind);
    c.set_at_unix_ms(r.collected_at_unix_ms());
    c.set_sequence(r.sequence());
    c.set_content(std::move(content));
    b.Put(h[4], FactChangeKey("prod-01", kind, c.at_unix_ms(), r.sequence()),
          c.SerializeAsString());
  };
  change(reports.front(), "sshd", reports.front().sshd().SerializeAsString());
  change(reports.front(), "disks", reports.front().disks().SerializeAsString());
  change(last, "sshd", last.sshd().SerializeAsString());
  v1::Transition t;
  t.set_host_id("prod-01");
  t.set_check_id("ssh.root_login_disabled");
  t.set_to(v1::FAIL);
  t.set_at_unix_ms(last.collected_at_unix_ms());
  t.set_sequence(last.sequence());
  std::string tkey = host;
  AppendString(tkey, t.check_id());
  AppendU64(tkey, static_cast<uint64_t>(t.at_unix_ms()));
  AppendU64(tkey, t.sequence());
  b.Put(h[5], tkey, t.SerializeAsString());
  rocksdb::WriteOptions wo;
  wo.sync = true;
  ASSERT_TRUE(db->Write(wo, &b).ok());
  for (auto* handle : h) db->DestroyColumnFamilyHandle(handle);
  delete db;
}

v1::HostVerdicts NoVerdicts(const v1::FactReport& r) {
  v1::HostVerdicts v;
  v.set_host_id("prod-01");
  v.set_agent_instance(r.agent_instance());
  v.set_sequence(r.sequence());
  return v;
}

TEST(StoreSchema, Schema3StoreWithDataIsUpgradedAndAnswersTheSame) {
  testing::TempDir tmp;
  const std::string dir = tmp.Join("db");
  const std::vector<v1::FactReport> reports = {Schema3Report(1, false), Schema3Report(2, false),
                                               Schema3Report(3, true)};
  WriteSchema3Store(dir, reports);
  auto store = Store::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  Store& s = **store;
  EXPECT_EQ(Version(s), absl::StrCat(Store::kSchemaVersion));
  auto entries = s.AuditEntries();
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].entry.action(), "store-upgraded");
  EXPECT_EQ((*entries)[0].entry.detail(), "store upgraded from schema 3 to 4");

  // The same latest facts.
  auto latest = s.LatestFacts("prod-01");
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->SerializeAsString(), reports.back().SerializeAsString());
  // The same duplicates, and a reused sequence is still a reset.
  for (const v1::FactReport& r : reports) {
    auto again = s.Ingest("prod-01", r, absl::FromUnixMillis(kT0 + 3'600'000), NoVerdicts);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(again->duplicate) << r.sequence();
  }
  v1::FactReport reused = Schema3Report(3, false);
  reused.set_collected_at_unix_ms(kT0 + 3'600'000);
  auto reset = s.Ingest("prod-01", reused, absl::FromUnixMillis(kT0 + 3'600'000), NoVerdicts);
  ASSERT_TRUE(reset.ok()) << reset.status();
  EXPECT_TRUE(reset->sequence_reset);
  // The history goes on from the converted latest: the next report changed
  // sshd back (one change), disks did not change (none).
  auto changes = s.FactChanges("prod-01");
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 4u);
  EXPECT_EQ(changes->back().kind(), "sshd");
  EXPECT_EQ(changes->back().sequence(), 3u);

  // Retention of what the schema-3 store held goes by the new index: the
  // receipts, the transition and the replaced sshd changes go; the newest
  // change of each kind stays.
  auto pruned = s.Prune(absl::FromUnixMillis(kT0 + 100 * 3'600'000));
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_TRUE(s.ReportKeys("prod-01")->empty());
  EXPECT_TRUE(s.Transitions("prod-01", "")->empty());
  changes = s.FactChanges("prod-01");
  ASSERT_EQ(changes->size(), 2u);
  std::set<std::string> kinds;
  for (const v1::FactChange& c : *changes) kinds.insert(c.kind());
  EXPECT_EQ(kinds, (std::set<std::string>{"sshd", "disks"}));
  // And the marks made from the receipts still recognise a resend.
  auto resend = s.Ingest("prod-01", reused, absl::FromUnixMillis(kT0 + 4'000'000), NoVerdicts);
  ASSERT_TRUE(resend.ok());
  EXPECT_TRUE(resend->duplicate);
}

}  // namespace
}  // namespace preflight::collector
