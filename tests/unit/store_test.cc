// Tests for collector/store on a real RocksDB in a temporary directory.
#include "collector/store/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "collector/checks/check.h"
#include "collector/readiness/engine.h"
#include "collector/store/keys.h"
#include "tests/support/temp_dir.h"

namespace preflight::collector {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::string kInstanceA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string kInstanceB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

v1::FactReport MakeReport(const std::string& instance, uint64_t seq, int64_t collected_ms,
                          const std::string& hostname = "prod-01") {
  v1::FactReport r;
  r.set_host_id("prod-01");
  r.set_agent_instance(instance);
  r.set_sequence(seq);
  r.set_collected_at_unix_ms(collected_ms);
  r.set_hostname(hostname);
  r.mutable_sshd()->mutable_collection()->set_state(v1::Collection::OK);
  return r;
}

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() {
    RegisterBuiltinChecks(registry_);
    host_.set_id("prod-01");
    host_.set_environment("production");
    policy_ = WithPolicyDefaults(v1::Policy());
    Reopen();
  }

  void Reopen() {
    store_.reset();
    auto s = Store::Open(tmp_.Join("db"));
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  // The collector's real evaluator, counting its calls.
  Store::Evaluator Evaluator() {
    return [this](const v1::FactReport& report) {
      ++evaluations_;
      return Evaluate(registry_, host_, policy_, report, absl::FromUnixSeconds(1'800'000'000));
    };
  }

  // Unless a test says otherwise, the collector receives a report when the
  // agent says it collected it.
  static absl::Time Received(const v1::FactReport& report) {
    return absl::FromUnixMillis(report.collected_at_unix_ms());
  }

  Store::IngestResult IngestOk(const std::string& host, const v1::FactReport& report) {
    auto r = store_->Ingest(host, report, Received(report), Evaluator());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : Store::IngestResult();
  }

  std::optional<v1::FactReport> Latest(const std::string& host) {
    auto r = store_->LatestFacts(host);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::nullopt;
  }

  std::optional<v1::HostVerdicts> LatestVerdicts(const std::string& host) {
    auto r = store_->LatestVerdicts(host);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::nullopt;
  }

  std::vector<std::string> Keys(const std::string& host) {
    auto r = store_->ReportKeys(host);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<std::string>();
  }

  testing::TempDir tmp_;
  std::unique_ptr<Store> store_;
  CheckRegistry registry_;
  v1::InventoryHost host_;
  v1::Policy policy_;
  std::atomic<int> evaluations_{0};
};

TEST_F(StoreTest, EmptyStoreHasNothing) {
  EXPECT_FALSE(Latest("prod-01").has_value());
  EXPECT_FALSE(LatestVerdicts("prod-01").has_value());
  EXPECT_THAT(Keys("prod-01"), IsEmpty());
}

TEST_F(StoreTest, IngestStoresOnce) {
  v1::FactReport report = MakeReport(kInstanceA, 1, 1000);
  Store::IngestResult r = IngestOk("prod-01", report);
  EXPECT_FALSE(r.duplicate);
  EXPECT_TRUE(r.latest);
  EXPECT_EQ(evaluations_, 1);
  EXPECT_THAT(Keys("prod-01"), ElementsAre(ReportKey("prod-01", kInstanceA, 1)));
  auto latest = Latest("prod-01");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->SerializeAsString(), report.SerializeAsString());
  auto verdicts = LatestVerdicts("prod-01");
  ASSERT_TRUE(verdicts.has_value());
  EXPECT_EQ(verdicts->sequence(), 1u);
  EXPECT_EQ(verdicts->agent_instance(), kInstanceA);
  EXPECT_FALSE(verdicts->verdicts().empty());
}

TEST_F(StoreTest, SecondIngestOfSameReportIsDuplicate) {
  v1::FactReport report = MakeReport(kInstanceA, 1, 1000, "first");
  IngestOk("prod-01", report);
  ASSERT_EQ(evaluations_, 1);
  // The same bytes again (a resend after a lost ack), received later.
  auto r = store_->Ingest("prod-01", report, absl::FromUnixMillis(9000), Evaluator());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->duplicate);
  EXPECT_FALSE(r->latest);
  EXPECT_EQ(evaluations_, 1);
  EXPECT_EQ(Keys("prod-01").size(), 1u);
  EXPECT_EQ(Latest("prod-01")->hostname(), "first");
}

std::vector<StoredAuditEntry> EntriesWithAction(Store& store, const std::string& action) {
  std::vector<StoredAuditEntry> out;
  auto all = store.AuditEntries();
  EXPECT_TRUE(all.ok()) << all.status();
  if (!all.ok()) return out;
  for (StoredAuditEntry& e : *all) {
    if (e.entry.action() == action) out.push_back(std::move(e));
  }
  return out;
}

// An agent restored from a snapshot reuses sequence numbers with new content:
// the reports are new, not duplicates to drop.
TEST_F(StoreTest, ReusedSequenceWithOtherContentIsANewReportAndResetsTheSequence) {
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    IngestOk("prod-01", MakeReport(kInstanceA, seq, static_cast<int64_t>(seq) * 1000, "before"));
  }
  EXPECT_THAT(EntriesWithAction(*store_, "sequence-reset"), IsEmpty());

  v1::FactReport restored = MakeReport(kInstanceA, 3, 10'000, "after restore");
  Store::IngestResult r = IngestOk("prod-01", restored);
  EXPECT_FALSE(r.duplicate);
  EXPECT_TRUE(r.latest);
  EXPECT_TRUE(r.sequence_reset);
  EXPECT_EQ(Latest("prod-01")->hostname(), "after restore");
  EXPECT_EQ(LatestVerdicts("prod-01")->sequence(), 3u);
  auto resets = EntriesWithAction(*store_, "sequence-reset");
  ASSERT_EQ(resets.size(), 1u);
  EXPECT_EQ(resets[0].entry.subject(), "prod-01");
  EXPECT_THAT(resets[0].entry.detail(), ::testing::HasSubstr("#3 again with other content"));
  EXPECT_THAT(resets[0].entry.detail(), ::testing::HasSubstr("after #5"));

  // The restored timeline goes on: #4 (also used before) is simply the next
  // report, with no second reset; its resend is a duplicate again.
  v1::FactReport next = MakeReport(kInstanceA, 4, 11'000, "after restore, next");
  r = IngestOk("prod-01", next);
  EXPECT_TRUE(r.latest);
  EXPECT_FALSE(r.sequence_reset);
  EXPECT_EQ(Latest("prod-01")->hostname(), "after restore, next");
  EXPECT_TRUE(IngestOk("prod-01", next).duplicate);
  EXPECT_TRUE(IngestOk("prod-01", restored).duplicate);
  EXPECT_EQ(EntriesWithAction(*store_, "sequence-reset").size(), 1u);
  EXPECT_EQ(Keys("prod-01").size(), 5u);  // one receipt per (instance, sequence)
}

// An agent whose clock ran a year ahead must not keep the host's latest
// report: a report received later wins, and history is dated by the
// collector's clock.
TEST_F(StoreTest, FutureDatedReportDoesNotOutliveALaterOne) {
  const int64_t year_ms = 365LL * 24 * 3600 * 1000;
  v1::FactReport future = MakeReport(kInstanceB, 1, 1000 + year_ms, "clock a year ahead");
  ASSERT_TRUE(store_->Ingest("prod-01", future, absl::FromUnixMillis(1000), Evaluator()).ok());
  // Reinstalled with the clock fixed: another instance, received later.
  v1::FactReport fixed = MakeReport(kInstanceA, 1, 2000, "clock fixed");
  auto r = store_->Ingest("prod-01", fixed, absl::FromUnixMillis(2000), Evaluator());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->latest);
  EXPECT_EQ(Latest("prod-01")->hostname(), "clock fixed");

  auto changes = store_->FactChanges("prod-01");
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_FALSE(changes->empty());
  for (const v1::FactChange& c : *changes) EXPECT_LE(c.at_unix_ms(), 2000) << c.kind();
  auto transitions = store_->Transitions("prod-01", "");
  ASSERT_TRUE(transitions.ok()) << transitions.status();
  ASSERT_FALSE(transitions->empty());
  for (const v1::Transition& t : *transitions) EXPECT_LE(t.at_unix_ms(), 2000) << t.check_id();

  // Retention goes by the receive time too: pruning everything received
  // before 1500 drops the future-dated receipt.
  auto dropped = store_->Prune(absl::FromUnixMillis(1500));
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_THAT(Keys("prod-01"), ElementsAre(ReportKey("prod-01", kInstanceA, 1)));
}

TEST_F(StoreTest, OlderSequenceIsStoredButNotLatest) {
  IngestOk("prod-01", MakeReport(kInstanceA, 5, 5000, "five"));
  Store::IngestResult r = IngestOk("prod-01", MakeReport(kInstanceA, 3, 3000, "three"));
  EXPECT_FALSE(r.duplicate);
  EXPECT_FALSE(r.latest);
  EXPECT_THAT(Keys("prod-01"), ElementsAre(ReportKey("prod-01", kInstanceA, 3),
                                           ReportKey("prod-01", kInstanceA, 5)));
  auto latest = Latest("prod-01");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->sequence(), 5u);
  EXPECT_EQ(latest->hostname(), "five");
  auto verdicts = LatestVerdicts("prod-01");
  ASSERT_TRUE(verdicts.has_value());
  EXPECT_EQ(verdicts->sequence(), 5u);
}

TEST_F(StoreTest, NewerSequenceOfSameInstanceBecomesLatest) {
  IngestOk("prod-01", MakeReport(kInstanceA, 1, 1000));
  // Sequence decides within an instance, even against a skewed clock.
  Store::IngestResult r = IngestOk("prod-01", MakeReport(kInstanceA, 2, 500, "two"));
  EXPECT_TRUE(r.latest);
  EXPECT_EQ(Latest("prod-01")->hostname(), "two");
  EXPECT_EQ(evaluations_, 2);
}

TEST_F(StoreTest, OtherInstanceReceivedLaterBecomesLatest) {
  IngestOk("prod-01", MakeReport(kInstanceB, 9, 1000, "old agent"));
  // A reinstalled agent: new instance, sequence restarts at 1.
  Store::IngestResult r = IngestOk("prod-01", MakeReport(kInstanceA, 1, 2000, "new agent"));
  EXPECT_FALSE(r.duplicate);
  EXPECT_TRUE(r.latest);
  EXPECT_EQ(Latest("prod-01")->hostname(), "new agent");
  EXPECT_EQ(LatestVerdicts("prod-01")->agent_instance(), kInstanceA);
  EXPECT_EQ(Keys("prod-01").size(), 2u);
}

TEST_F(StoreTest, OtherInstanceReceivedEarlierIsNotLatest) {
  IngestOk("prod-01", MakeReport(kInstanceA, 1, 2000, "current"));
  // Only if the collector's own clock stepped back: the receive time decides.
  Store::IngestResult r = IngestOk("prod-01", MakeReport(kInstanceB, 50, 1000, "late spool"));
  EXPECT_FALSE(r.duplicate);
  EXPECT_FALSE(r.latest);
  EXPECT_EQ(Latest("prod-01")->hostname(), "current");
}

TEST_F(StoreTest, HostsAreSeparate) {
  IngestOk("prod", MakeReport(kInstanceA, 1, 1000, "prod"));
  IngestOk("prod-01", MakeReport(kInstanceA, 1, 1000, "prod-01"));
  IngestOk("prod-01", MakeReport(kInstanceA, 2, 2000, "prod-01"));
  EXPECT_THAT(Keys("prod"), ElementsAre(ReportKey("prod", kInstanceA, 1)));
  EXPECT_THAT(Keys("prod-01"), ElementsAre(ReportKey("prod-01", kInstanceA, 1),
                                           ReportKey("prod-01", kInstanceA, 2)));
  EXPECT_EQ(Latest("prod")->hostname(), "prod");
  EXPECT_EQ(Latest("prod-01")->sequence(), 2u);
  EXPECT_FALSE(Latest("prod-0").has_value());
}

TEST_F(StoreTest, ReportKeysListsExactlyTheStoredKeysInOrder) {
  std::vector<std::string> want;
  for (uint64_t seq : {300u, 1u, 256u, 2u}) {
    IngestOk("prod-01", MakeReport(kInstanceA, seq, static_cast<int64_t>(seq)));
  }
  IngestOk("prod-01", MakeReport(kInstanceB, 1, 10'000));
  for (uint64_t seq : {1u, 2u, 256u, 300u}) want.push_back(ReportKey("prod-01", kInstanceA, seq));
  want.push_back(ReportKey("prod-01", kInstanceB, 1));
  EXPECT_EQ(Keys("prod-01"), want);
  for (const std::string& k : Keys("prod-01")) {
    auto parts = DecodeReportKey(k);
    ASSERT_TRUE(parts.has_value());
    EXPECT_EQ(parts->host, "prod-01");
  }
}

TEST_F(StoreTest, DataSurvivesReopen) {
  IngestOk("prod-01", MakeReport(kInstanceA, 1, 1000));
  IngestOk("prod-01", MakeReport(kInstanceA, 2, 2000, "two"));
  std::vector<std::string> keys = Keys("prod-01");
  std::string verdicts = LatestVerdicts("prod-01")->SerializeAsString();

  Reopen();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(Keys("prod-01"), keys);
  ASSERT_TRUE(Latest("prod-01").has_value());
  EXPECT_EQ(Latest("prod-01")->hostname(), "two");
  EXPECT_EQ(LatestVerdicts("prod-01")->SerializeAsString(), verdicts);
  // Idempotence holds across restarts.
  int before = evaluations_;
  Store::IngestResult r = IngestOk("prod-01", MakeReport(kInstanceA, 2, 2000, "two"));
  EXPECT_TRUE(r.duplicate);
  EXPECT_EQ(evaluations_, before);
}

TEST_F(StoreTest, ConcurrentIngestsStoreEverythingOnceAndKeepTheNewest) {
  constexpr int kThreads = 4;
  constexpr int kEach = 8;
  std::vector<std::thread> threads;
  std::atomic<int> duplicates{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        // Threads overlap: every sequence is sent twice.
        uint64_t seq = static_cast<uint64_t>((t / 2) * kEach + i + 1);
        v1::FactReport report = MakeReport(kInstanceA, seq, static_cast<int64_t>(seq));
        auto r = store_->Ingest("prod-01", report, Received(report), Evaluator());
        ASSERT_TRUE(r.ok()) << r.status();
        if (r->duplicate) ++duplicates;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Keys("prod-01").size(), static_cast<size_t>(kThreads / 2 * kEach));
  EXPECT_EQ(duplicates, kThreads / 2 * kEach);
  EXPECT_EQ(Latest("prod-01")->sequence(), static_cast<uint64_t>(kThreads / 2 * kEach));
  EXPECT_EQ(LatestVerdicts("prod-01")->sequence(), static_cast<uint64_t>(kThreads / 2 * kEach));
}

TEST(StoreOpen, UnusableDirectoryIsAnError) {
  testing::TempDir tmp;
  testing::WriteFile(tmp.Join("file"), "not a directory");
  auto s = Store::Open(tmp.Join("file"));
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace preflight::collector
