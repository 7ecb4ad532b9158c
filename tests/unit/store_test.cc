// Tests for collector/store on a real RocksDB in a temporary directory.
#include "collector/store/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "collector/audit/audit_chain.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"
#include "collector/store/keys.h"
#include "tests/support/cluster.h"
#include "tests/support/temp_dir.h"

namespace preflight::collector {
namespace {

using ::preflight::testing::EditAudit;
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

// Reports of prod-01 whose sshd facts alternate between read and unreadable:
// every one flips the ssh checks (a flapping host).
v1::FactReport Flapping(uint64_t seq, int64_t at_ms) {
  v1::FactReport r = MakeReport(kInstanceA, seq, at_ms);
  if (seq % 2 == 0) {
    r.mutable_sshd()->mutable_collection()->set_state(v1::Collection::ERROR);
    r.mutable_sshd()->mutable_collection()->set_error("/etc/ssh/sshd_config: I/O error");
  }
  return r;
}

std::vector<v1::Transition> AllTransitions(Store& store) {
  auto t = store.Transitions("prod-01", "");
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : std::vector<v1::Transition>();
}

uint64_t LeadingCount(const std::string& detail) {
  uint64_t n = 0;
  for (char c : detail) {
    if (c < '0' || c > '9') break;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

TEST_F(StoreTest, TransitionsPastTheHourlyCapAreStoredButSummarizedInTheAudit) {
  store_->SetAuditedTransitionsPerHour(5);
  const int64_t t0 = 1'800'000'000'000;
  for (uint64_t seq = 1; seq <= 10; ++seq) {
    IngestOk("prod-01", Flapping(seq, t0 + static_cast<int64_t>(seq) * 1000));
  }
  const size_t stored = AllTransitions(*store_).size();
  ASSERT_GT(stored, 10u);  // several checks flip with every report
  EXPECT_EQ(EntriesWithAction(*store_, "transition").size(), 5u);
  EXPECT_THAT(EntriesWithAction(*store_, "transitions-not-audited"), IsEmpty());

  // The host's first report after its hour writes the hour's count.
  IngestOk("prod-01", Flapping(11, t0 + 3'601'000 + 1000));
  auto summaries = EntriesWithAction(*store_, "transitions-not-audited");
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].entry.subject(), "prod-01");
  EXPECT_EQ(LeadingCount(summaries[0].entry.detail()), stored - 5) << summaries[0].entry.detail();
  EXPECT_THAT(summaries[0].entry.detail(),
              ::testing::HasSubstr("max_audited_transitions_per_hour 5"));
  // A new hour: its transitions are audited again, up to the cap.
  const size_t now_stored = AllTransitions(*store_).size();
  EXPECT_EQ(EntriesWithAction(*store_, "transition").size(),
            5u + std::min<size_t>(5, now_stored - stored));
  // The trail still verifies.
  auto entries = store_->AuditEntries();
  ASSERT_TRUE(entries.ok());
  auto [seq, hash] = store_->AuditHead();
  EXPECT_TRUE(VerifyAuditChain(*entries, seq, hash).ok);
}

TEST_F(StoreTest, HourlyFlushAuditsTheCountOfHostsThatWentQuiet) {
  store_->SetAuditedTransitionsPerHour(2);
  const int64_t t0 = 1'800'000'000'000;
  for (uint64_t seq = 1; seq <= 4; ++seq) {
    IngestOk("prod-01", Flapping(seq, t0 + static_cast<int64_t>(seq) * 1000));
  }
  const size_t stored = AllTransitions(*store_).size();
  ASSERT_GT(stored, 2u);
  // Within the hour: nothing to say yet.
  ASSERT_TRUE(store_->FlushTransitionSummaries(absl::FromUnixMillis(t0 + 1'800'000)).ok());
  EXPECT_THAT(EntriesWithAction(*store_, "transitions-not-audited"), IsEmpty());
  ASSERT_TRUE(store_->FlushTransitionSummaries(absl::FromUnixMillis(t0 + 3'700'000)).ok());
  auto summaries = EntriesWithAction(*store_, "transitions-not-audited");
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(LeadingCount(summaries[0].entry.detail()), stored - 2);
  // Once per host and hour.
  ASSERT_TRUE(store_->FlushTransitionSummaries(absl::FromUnixMillis(t0 + 7'300'000)).ok());
  EXPECT_EQ(EntriesWithAction(*store_, "transitions-not-audited").size(), 1u);
}

TEST_F(StoreTest, WithoutACapEveryTransitionIsAudited) {
  const int64_t t0 = 1'800'000'000'000;
  for (uint64_t seq = 1; seq <= 4; ++seq) {
    IngestOk("prod-01", Flapping(seq, t0 + static_cast<int64_t>(seq) * 1000));
  }
  EXPECT_EQ(EntriesWithAction(*store_, "transition").size(), AllTransitions(*store_).size());
}

std::string SeqKey(uint64_t seq) {
  std::string k;
  AppendU64(k, seq);
  return k;
}

// A verification beside a busy collector: entries are appended while the
// trail is read, and the trail read as one moment always verifies (read as
// entries, then head, the head could be ahead: "removed" when nothing was).
TEST_F(StoreTest, TheAuditTrailReadWhileAppendingAlwaysVerifies) {
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load() && i < 5000; ++i) {
      EXPECT_TRUE(store_
                      ->Audit({"alice", "attest", absl::StrCat("check-", i), "ok"},
                              absl::FromUnixMillis(int64_t{1800000000000} + i))
                      .ok());
    }
  });
  // Every read below races the writer: wait for its first entry.
  for (absl::Time end = absl::Now() + absl::Seconds(30);
       store_->AuditHead().first == 0 && absl::Now() < end;) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  const uint64_t first_seen = store_->AuditHead().first;
  int failures = 0;
  for (int round = 0; round < 200 && failures == 0; ++round) {
    auto trail = store_->ConsistentAuditTrail();
    if (!trail.ok()) {
      ADD_FAILURE() << trail.status();
      ++failures;
      continue;
    }
    AuditVerification v = VerifyAuditChain(trail->entries, trail->head_seq, trail->head_hash);
    if (!v.ok) {
      ADD_FAILURE() << round << ": " << (v.problems.empty() ? "" : v.problems[0]);
      ++failures;
    }
    EXPECT_EQ(trail->entries.size(), trail->head_seq);
  }
  stop = true;
  writer.join();
  EXPECT_GT(first_seen, 0u);  // the reads raced a writer that had begun
}

class AuditRetentionTest : public StoreTest {
 protected:
  // Entries 1..n, entry i at i seconds past t0.
  void WriteEntries(int from, int to) {
    for (int i = from; i <= to; ++i) {
      ASSERT_TRUE(store_
                      ->Audit({"alice", "attest", absl::StrCat("check-", i), "ok"},
                              absl::FromUnixMillis(kT0 + i * 1000))
                      .ok());
    }
  }
  std::vector<StoredAuditEntry> All() {
    auto all = store_->AuditEntries();
    EXPECT_TRUE(all.ok()) << all.status();
    return all.ok() ? *all : std::vector<StoredAuditEntry>();
  }
  AuditVerification Verify(const std::vector<StoredAuditEntry>& entries) {
    auto [seq, hash] = store_->AuditHead();
    return VerifyAuditChain(entries, seq, hash);
  }
  static std::vector<v1::AuditEntry> Plain(const std::vector<StoredAuditEntry>& stored) {
    std::vector<v1::AuditEntry> out;
    for (const auto& s : stored) out.push_back(s.entry);
    return out;
  }
  static constexpr int64_t kT0 = 1'800'000'000'000;
};

TEST_F(AuditRetentionTest, PrunedTrailVerifiesFromItsCheckpoint) {
  WriteEntries(1, 10);
  const std::vector<StoredAuditEntry> before = All();
  ASSERT_EQ(before.size(), 10u);

  // Entries 1..5 are older than the cutoff.
  auto dropped = store_->PruneAudit(absl::FromUnixMillis(kT0 + 5500), "older than 7 days",
                                    absl::FromUnixMillis(kT0 + 20'000));
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_EQ(*dropped, 5u);
  const std::vector<StoredAuditEntry> after = All();
  ASSERT_EQ(after.size(), 6u);  // 6..10 and the checkpoint
  EXPECT_EQ(after.front().key_seq, 6u);
  AuditCheckpoint c;
  ASSERT_TRUE(ParseAuditCheckpoint(after.back().entry, &c)) << after.back().entry.detail();
  EXPECT_EQ(after.back().key_seq, 11u);
  EXPECT_EQ(c.first_pruned, 1u);
  EXPECT_EQ(c.first_kept, 6u);
  EXPECT_EQ(c.last_pruned_hash, before[4].entry.hash());
  EXPECT_EQ(after.back().entry.prev_hash(), before[9].entry.hash());
  AuditVerification v = Verify(after);
  EXPECT_TRUE(v.ok) << (v.problems.empty() ? "" : v.problems[0]);

  // Anchors: a kept entry holds; the last pruned one holds through the
  // checkpoint; an older one is pruned, neither proven nor broken.
  AuditVerification kept = VerifyAuditAnchor(Plain(after), 7, before[6].entry.hash());
  EXPECT_TRUE(kept.ok);
  AuditVerification last = VerifyAuditAnchor(Plain(after), 5, before[4].entry.hash());
  EXPECT_TRUE(last.ok) << (last.problems.empty() ? "" : last.problems[0]);
  AuditVerification old = VerifyAuditAnchor(Plain(after), 3, before[2].entry.hash());
  EXPECT_FALSE(old.ok);
  EXPECT_TRUE(old.pruned);
  ASSERT_EQ(old.problems.size(), 1u);
  EXPECT_THAT(old.problems[0], ::testing::HasSubstr("entry 3 was pruned"));
  // The wrong hash for the last pruned entry is a rewrite, not a pruning.
  AuditVerification wrong = VerifyAuditAnchor(Plain(after), 5, before[3].entry.hash());
  EXPECT_FALSE(wrong.ok);
  EXPECT_FALSE(wrong.pruned);
}

// A cursor reads only what is past it, in order and bounded, the same
// entries as the whole trail; past a prune it starts at the first kept one.
TEST_F(AuditRetentionTest, EntriesAfterACursorAreTheTrailsTail) {
  WriteEntries(1, 10);
  const std::vector<StoredAuditEntry> all = All();
  auto after = store_->AuditEntriesAfter(3, 4);
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_EQ(after->size(), 4u);
  for (size_t i = 0; i < after->size(); ++i) {
    EXPECT_EQ((*after)[i].key_seq, all[3 + i].key_seq);
    EXPECT_EQ((*after)[i].entry.hash(), all[3 + i].entry.hash());
  }
  auto tail = store_->AuditEntriesAfter(8, 100);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ(tail->front().key_seq, 9u);
  auto none = store_->AuditEntriesAfter(10, 100);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(store_
                  ->PruneAudit(absl::FromUnixMillis(kT0 + 5500), "older than 7 days",
                               absl::FromUnixMillis(kT0 + 20'000))
                  .ok());
  auto pruned = store_->AuditEntriesAfter(2, 100);
  ASSERT_TRUE(pruned.ok());
  ASSERT_EQ(pruned->size(), 6u);  // 6..10 and the checkpoint
  EXPECT_EQ(pruned->front().key_seq, 6u);
  EXPECT_EQ(pruned->back().key_seq, 11u);
}

TEST_F(AuditRetentionTest, TamperingAfterAPruneIsStillFound) {
  WriteEntries(1, 10);
  ASSERT_TRUE(store_
                  ->PruneAudit(absl::FromUnixMillis(kT0 + 5500), "older than 7 days",
                               absl::FromUnixMillis(kT0 + 20'000))
                  .ok());
  const std::vector<StoredAuditEntry> pruned = All();

  // A kept entry modified.
  std::vector<StoredAuditEntry> modified = pruned;
  modified[1].entry.set_detail("rewritten");
  AuditVerification m = Verify(modified);
  EXPECT_FALSE(m.ok);
  ASSERT_FALSE(m.problems.empty());
  EXPECT_THAT(m.problems[0], ::testing::HasSubstr("entry 7: modified"));

  // The first kept entries removed as well: the checkpoint says where the
  // trail starts.
  std::vector<StoredAuditEntry> cut(pruned.begin() + 2, pruned.end());
  AuditVerification r = Verify(cut);
  EXPECT_FALSE(r.ok);
  ASSERT_FALSE(r.problems.empty());
  EXPECT_THAT(r.problems[0], ::testing::HasSubstr("entry 6 to 7: removed"));
  EXPECT_FALSE(VerifyAuditAnchor(Plain(cut), 9, pruned[3].entry.hash()).ok);

  // The checkpoint itself edited (to claim more was pruned) breaks the chain.
  std::vector<StoredAuditEntry> forged = pruned;
  forged.back().entry.set_detail(
      absl::StrReplaceAll(forged.back().entry.detail(), {{"first kept: 6", "first kept: 7"}}));
  EXPECT_FALSE(Verify(forged).ok);
}

TEST_F(AuditRetentionTest, LaterPrunesCarryTheChainOverOlderCheckpoints) {
  WriteEntries(1, 10);
  ASSERT_TRUE(store_
                  ->PruneAudit(absl::FromUnixMillis(kT0 + 5500), "older than 7 days",
                               absl::FromUnixMillis(kT0 + 20'000))
                  .ok());
  WriteEntries(30, 33);  // entries 12..15, at 30..33 s
  const std::vector<StoredAuditEntry> before = All();
  // Now everything up to the first checkpoint (entry 11, at 20 s) goes.
  auto dropped = store_->PruneAudit(absl::FromUnixMillis(kT0 + 25'000), "older than 7 days",
                                    absl::FromUnixMillis(kT0 + 40'000));
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_EQ(*dropped, 6u);  // 6..11
  const std::vector<StoredAuditEntry> after = All();
  EXPECT_EQ(after.front().key_seq, 12u);
  AuditVerification v = Verify(after);
  EXPECT_TRUE(v.ok) << (v.problems.empty() ? "" : v.problems[0]);
  AuditCheckpoint c;
  ASSERT_TRUE(ParseAuditCheckpoint(after.back().entry, &c));
  EXPECT_EQ(c.first_pruned, 6u);
  EXPECT_EQ(c.first_kept, 12u);
  EXPECT_TRUE(VerifyAuditAnchor(Plain(after), 11, before[5].entry.hash()).ok);
  EXPECT_TRUE(VerifyAuditAnchor(Plain(after), 7, before[1].entry.hash()).pruned);
  // Survives a reopen: the head and the checkpoint are in the store.
  Reopen();
  EXPECT_TRUE(Verify(All()).ok);
  // Nothing old enough: nothing pruned, no checkpoint.
  const size_t n = All().size();
  auto none = store_->PruneAudit(absl::FromUnixMillis(kT0 + 25'000), "older than 7 days",
                                 absl::FromUnixMillis(kT0 + 50'000));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  EXPECT_EQ(All().size(), n);
}

TEST_F(AuditRetentionTest, ATamperedTrailIsNotPruned) {
  WriteEntries(1, 10);
  store_.reset();
  EditAudit(tmp_.Join("db"), [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* audit) {
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), audit, SeqKey(3), &value).ok());
    v1::AuditEntry e;
    ASSERT_TRUE(e.ParseFromString(value));
    e.set_actor("mallory");  // the hash no longer matches
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), audit, SeqKey(3), e.SerializeAsString()).ok());
  });
  Reopen();
  auto dropped = store_->PruneAudit(absl::FromUnixMillis(kT0 + 5500), "older than 7 days",
                                    absl::FromUnixMillis(kT0 + 20'000));
  EXPECT_TRUE(absl::IsFailedPrecondition(dropped.status())) << dropped.status();
  EXPECT_EQ(All().size(), 10u);  // the evidence stays
  EXPECT_FALSE(Verify(All()).ok);
}

TEST(StoreOpen, UnusableDirectoryIsAnError) {
  testing::TempDir tmp;
  testing::WriteFile(tmp.Join("file"), "not a directory");
  auto s = Store::Open(tmp.Join("file"));
  EXPECT_FALSE(s.ok());
}

// The event log: a transition is an event in the same write, numbered in
// order; a regression is marked; state and events written together; the
// numbering survives a reopen.
TEST_F(StoreTest, TransitionsAreEventsAndTheLogKeepsItsNumbers) {
  v1::CheckStatus status = v1::PASS;
  Store::Evaluator evaluate = [&](const v1::FactReport& report) {
    v1::HostVerdicts v;
    v.set_host_id("prod-01");
    v.set_agent_instance(report.agent_instance());
    v.set_sequence(report.sequence());
    v1::Verdict* verdict = v.add_verdicts();
    verdict->set_check_id("ssh.root_login_disabled");
    verdict->set_status(status);
    verdict->add_evidence()->set_message(absl::StrCat("status ", v1::CheckStatus_Name(status)));
    return v;
  };
  auto ingest = [&](uint64_t seq) {
    v1::FactReport r = MakeReport(kInstanceA, seq, 1000 * seq);
    auto result = store_->Ingest("prod-01", r, Received(r), evaluate);
    ASSERT_TRUE(result.ok()) << result.status();
  };
  ingest(1);  // first verdict: NONE -> PASS
  status = v1::FAIL;
  ingest(2);  // PASS -> FAIL: a regression
  ingest(3);  // no change: no event
  auto events = store_->EventsAfter(0, 100);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].seq(), 1u);
  EXPECT_EQ((*events)[0].kind(), v1::Event::TRANSITION);
  EXPECT_EQ((*events)[0].to(), v1::PASS);
  EXPECT_FALSE((*events)[0].regression());
  EXPECT_EQ((*events)[1].seq(), 2u);
  EXPECT_EQ((*events)[1].host_id(), "prod-01");
  EXPECT_EQ((*events)[1].check_id(), "ssh.root_login_disabled");
  EXPECT_EQ((*events)[1].from(), v1::PASS);
  EXPECT_EQ((*events)[1].to(), v1::FAIL);
  EXPECT_TRUE((*events)[1].regression());
  EXPECT_EQ((*events)[1].at_unix_ms(), 2000);  // the collector's receive time
  EXPECT_EQ((*events)[1].summary(), "status FAIL");
  EXPECT_EQ(store_->LastEventSeq(), 2u);

  // A consumer's cursor and an event of its own, in one write.
  Store::StateWrite write;
  write.put.emplace_back("cursor/test", "2");
  v1::Event stale;
  stale.set_kind(v1::Event::HOST_STALE);
  stale.set_host_id("prod-02");
  write.events.push_back(stale);
  ASSERT_TRUE(store_->WriteState(write, absl::FromUnixSeconds(5)).ok());
  auto after = store_->EventsAfter(2, 100);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].seq(), 3u);
  EXPECT_EQ((*after)[0].at_unix_ms(), 5000);
  EXPECT_EQ((*after)[0].kind(), v1::Event::HOST_STALE);
  auto limited = store_->EventsAfter(0, 2);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 2u);

  Reopen();
  auto cursor = store_->GetState("cursor/test");
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(cursor->value_or("<none>"), "2");
  auto scanned = store_->ScanState("cursor/", 10);
  ASSERT_TRUE(scanned.ok());
  ASSERT_EQ(scanned->size(), 1u);
  EXPECT_EQ(store_->LastEventSeq(), 3u);
  status = v1::PASS;
  ingest(4);  // FAIL -> PASS: numbered on from the stored log
  auto last = store_->EventsAfter(3, 100);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ((*last)[0].seq(), 4u);
  EXPECT_FALSE((*last)[0].regression());
  Store::StateWrite erase;
  erase.erase.push_back("cursor/test");
  ASSERT_TRUE(store_->WriteState(erase, absl::FromUnixSeconds(6)).ok());
  auto gone = store_->GetState("cursor/test");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

// Direct access to a closed store's families (what the Store API does not
// show: receipt values, record counts).
class RawDb {
 public:
  explicit RawDb(const std::string& dir) {
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(), dir, cfs, &handles_, &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(db);
    names_ = names;
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  }
  rocksdb::ColumnFamilyHandle* Family(const std::string& name) {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) return handles_[i];
    }
    ADD_FAILURE() << "no family " << name;
    return nullptr;
  }
  std::vector<std::pair<std::string, std::string>> All(const std::string& family) {
    std::vector<std::pair<std::string, std::string>> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), Family(family)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out.emplace_back(it->key().ToString(), it->value().ToString());
    }
    return out;
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<std::string> names_;
};

// A report with the kinds that move on a busy host: logs growing, disk
// usage within a percent, a clock offset of milliseconds, a listening
// socket whose /proc/net/tcp line moves.
v1::FactReport BusyReport(uint64_t seq, int64_t at_ms) {
  v1::FactReport r = MakeReport(kInstanceA, seq, at_ms);
  r.mutable_sshd()->mutable_collection()->set_duration_us(static_cast<int64_t>(100 + seq));
  v1::LogrotateFact* lr = r.mutable_logrotate();
  lr->set_installed(true);
  lr->set_status_mtime_unix(at_ms / 1000 - 3600);
  for (const char* path : {"/var/log/syslog", "/var/log/auth.log"}) {
    v1::LogFile* log = lr->add_logs();
    log->set_path(path);
    log->set_size_bytes(1'000'000 + seq * 4096);
    log->set_mtime_unix(at_ms / 1000);
    log->set_covered_by("/etc/logrotate.d/rsyslog:1");
  }
  v1::Filesystem* fs = r.mutable_disks()->add_filesystems();
  fs->set_mount_point("/");
  fs->set_size_bytes(100ull << 30);
  fs->set_used_bytes((40ull << 30) + seq * 1'000'000);  // 40 %, growing by a MB
  fs->set_available_bytes((60ull << 30) - seq * 1'000'000);
  fs->set_inodes(1'000'000);
  fs->set_inodes_free(600'000 - seq);
  r.mutable_time()->set_synchronized(true);
  r.mutable_time()->set_offset_known(true);
  r.mutable_time()->set_offset_seconds(0.001 * static_cast<double>(seq % 7));
  v1::ListeningSocket* s = r.mutable_sockets()->add_sockets();
  s->set_protocol("tcp");
  s->set_port(22);
  s->set_process("sshd");
  s->set_source(absl::StrCat("/proc/net/tcp:", 2 + seq % 5));
  return r;
}

std::map<std::string, int> ChangesPerKind(Store& store) {
  std::map<std::string, int> out;
  auto changes = store.FactChanges("prod-01");
  EXPECT_TRUE(changes.ok()) << changes.status();
  if (changes.ok()) {
    for (const v1::FactChange& c : *changes) ++out[c.kind()];
  }
  return out;
}

// A busy but healthy host: its volatile values move on every report and
// add no fact change; a real change (a new log no stanza rotates, a disk
// crossing a whole percent) does.
TEST_F(StoreTest, VolatileValuesStayOutOfTheChangeHistory) {
  const int64_t t0 = 1'800'000'000'000;
  for (uint64_t seq = 1; seq <= 20; ++seq) {
    IngestOk("prod-01", BusyReport(seq, t0 + static_cast<int64_t>(seq) * 300'000));
  }
  std::map<std::string, int> want = {
      {"sshd", 1}, {"logrotate", 1}, {"disks", 1}, {"time", 1}, {"sockets", 1}};
  EXPECT_EQ(ChangesPerKind(*store_), want);
  // The latest facts keep every value of the newest report.
  auto latest = Latest("prod-01");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->logrotate().logs(0).size_bytes(), 1'000'000u + 20 * 4096);
  EXPECT_EQ(latest->disks().filesystems(0).used_bytes(), (40ull << 30) + 20'000'000);
  EXPECT_EQ(latest->sockets().sockets(0).source(), BusyReport(20, 0).sockets().sockets(0).source());

  v1::FactReport grown = BusyReport(21, t0 + 21 * 300'000);
  v1::LogFile* unrotated = grown.mutable_logrotate()->add_logs();
  unrotated->set_path("/var/log/app/debug.log");
  unrotated->set_size_bytes(5);
  v1::Filesystem* fs = grown.mutable_disks()->mutable_filesystems(0);
  fs->set_used_bytes(fs->used_bytes() + (2ull << 30));  // 42 %
  fs->set_available_bytes(fs->available_bytes() - (2ull << 30));
  grown.mutable_time()->set_offset_seconds(2.5);  // far off: a finding
  IngestOk("prod-01", grown);
  want = {{"sshd", 1}, {"logrotate", 2}, {"disks", 2}, {"time", 2}, {"sockets", 1}};
  EXPECT_EQ(ChangesPerKind(*store_), want);
}

// Each kind's latest record is rewritten only when its content changed: a
// kind that changed only in its collection time keeps the duration of the
// report that wrote it; the rest of the report is the newest one.
TEST_F(StoreTest, LatestFactsAreWrittenPerKindOnlyWhenTheKindChanged) {
  const int64_t t0 = 1'800'000'000'000;
  v1::FactReport first = BusyReport(1, t0);
  IngestOk("prod-01", first);
  auto latest = Latest("prod-01");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->SerializeAsString(), first.SerializeAsString());

  v1::FactReport second = BusyReport(2, t0 + 300'000);
  second.set_agent_version("9.9");
  second.clear_time();  // a kind gone from the report is gone from the latest
  IngestOk("prod-01", second);
  latest = Latest("prod-01");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->sshd().collection().duration_us(), 101);  // report 1's: not rewritten
  v1::FactReport want = second;
  want.mutable_sshd()->mutable_collection()->set_duration_us(101);
  EXPECT_EQ(latest->SerializeAsString(), want.SerializeAsString());
  EXPECT_FALSE(latest->has_time());
  // Per kind on disk: the header, and one record per kind present.
  store_.reset();
  {
    RawDb raw(tmp_.Join("db"));
    std::set<std::string> kinds;
    for (const auto& [key, value] : raw.All("latest_facts")) {
      auto kind = DecodeLatestKind("prod-01", key);
      ASSERT_TRUE(kind.has_value());
      kinds.insert(*kind);
    }
    EXPECT_EQ(kinds, (std::set<std::string>{"", "sshd", "logrotate", "disks", "sockets"}));
  }
  Reopen();
  // It comes back when reported again.
  IngestOk("prod-01", BusyReport(3, t0 + 600'000));
  EXPECT_TRUE(Latest("prod-01")->has_time());
}

// RocksDB keeps every family's memtable up to 64 MiB by default: a refresh
// of a large fleet (every host's first report, all kinds new) would sit in
// memory until the write-ahead logs reach their cap. The store's budget
// flushes them beyond kMemtableBudgetBytes in all.
TEST_F(StoreTest, MemtablesOfAllFamiliesStayWithinTheBudget) {
  const int64_t t0 = 1'800'000'000'000;
  // Each report's sshd facts are new (a latest-facts record and a fact
  // change of 64 KB each): 1.6 times the budget in all, under the 64 MiB the
  // write-ahead logs may hold (which would flush them anyway).
  const size_t kPayload = 64 << 10;
  const int hosts = static_cast<int>(Store::kMemtableBudgetBytes * 8 / 10 / kPayload);
  uint64_t peak = 0;
  for (int i = 0; i < hosts; ++i) {
    const std::string host = absl::StrCat("host-", i);
    v1::FactReport r = MakeReport(kInstanceA, 1, t0 + i);
    r.set_host_id(host);
    v1::SshdDirective* d = r.mutable_sshd()->add_directives();
    d->set_keyword("banner");
    d->set_raw_args(std::string(kPayload, static_cast<char>('a' + i % 26)) + host);
    IngestOk(host, r);
    auto bytes = store_->MemtableBytes();
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    peak = std::max(peak, *bytes);
  }
  // Flushes run in the background: within a while the memtables are back
  // under the budget, and every host's facts are still there.
  uint64_t now = 0;
  for (int i = 0; i < 300; ++i) {
    auto bytes = store_->MemtableBytes();
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    now = *bytes;
    if (now <= Store::kMemtableBudgetBytes) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_LE(now, Store::kMemtableBudgetBytes)
      << "memtables hold " << now << " bytes after " << hosts << " reports of " << kPayload * 2
      << " bytes stored (peak " << peak << ")";
  for (int i : {0, hosts / 2, hosts - 1}) {
    auto latest = Latest(absl::StrCat("host-", i));
    ASSERT_TRUE(latest.has_value());
    EXPECT_EQ(latest->sshd().directives(0).raw_args().size(),
              kPayload + absl::StrCat("host-", i).size());
  }
}

std::vector<v1::ReportReceipt> Receipts(RawDb& raw) {
  std::vector<v1::ReportReceipt> out;
  for (const auto& [key, value] : raw.All("reports")) {
    v1::ReportReceipt r;
    EXPECT_TRUE(r.ParseFromString(value));
    out.push_back(r);
  }
  return out;
}

// After the receipt window, one receipt per host, instance and hour; a
// resend of any old report is still a duplicate, a reused sequence with
// other content still a reset.
TEST_F(StoreTest, CompactedReceiptsKeepIngestExactlyOnce) {
  const int64_t t0 = 1'800'000'000'000 - 1'800'000'000'000 % 3'600'000;  // on the hour
  std::vector<v1::FactReport> sent;
  for (uint64_t seq = 1; seq <= 36; ++seq) {  // every 10 minutes for 6 hours
    sent.push_back(MakeReport(kInstanceA, seq, t0 + static_cast<int64_t>(seq - 1) * 600'000,
                              absl::StrCat("r", seq)));
    IngestOk("prod-01", sent.back());
  }
  ASSERT_EQ(Keys("prod-01").size(), 36u);
  // The first 4 hours are past the window.
  auto compacted = store_->CompactReceipts(absl::FromUnixMillis(t0 + 4 * 3'600'000 + 1'000));
  ASSERT_TRUE(compacted.ok()) << compacted.status();
  EXPECT_EQ(*compacted, 24u - 4u);
  EXPECT_EQ(Keys("prod-01").size(), 4u + 12u);
  // Nothing more to compact for that window.
  auto again = store_->CompactReceipts(absl::FromUnixMillis(t0 + 4 * 3'600'000 + 1'000));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u);
  store_.reset();
  {
    RawDb raw(tmp_.Join("db"));
    std::vector<v1::ReportReceipt> receipts = Receipts(raw);
    ASSERT_EQ(receipts.size(), 16u);
    for (int hour = 0; hour < 4; ++hour) {
      const v1::ReportReceipt& r = receipts[static_cast<size_t>(hour)];
      EXPECT_EQ(r.compacted_count(), 6u);
      EXPECT_EQ(r.first_sequence(), static_cast<uint64_t>(hour * 6 + 1));
      EXPECT_EQ(r.sequence(), static_cast<uint64_t>(hour * 6 + 6));
      EXPECT_EQ(r.first_received_at_unix_ms(), t0 + hour * 3'600'000);
      EXPECT_EQ(r.received_at_unix_ms(), t0 + hour * 3'600'000 + 5 * 600'000);
    }
    EXPECT_EQ(receipts[4].compacted_count(), 0u);
    EXPECT_EQ(raw.All("marks").size(), 1u);
  }
  Reopen();
  const int before = evaluations_;
  // Resends of old reports, of a compacted hour's newest, of the newest.
  for (size_t i : {0u, 4u, 5u, 17u, 35u}) {
    auto r =
        store_->Ingest("prod-01", sent[i], absl::FromUnixMillis(t0 + 50 * 3'600'000), Evaluator());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->duplicate) << "#" << sent[i].sequence();
  }
  EXPECT_EQ(evaluations_, before);
  EXPECT_EQ(Keys("prod-01").size(), 16u);
  EXPECT_EQ(Latest("prod-01")->hostname(), "r36");

  // The newest sequence again with other content: a reset.
  v1::FactReport other36 = MakeReport(kInstanceA, 36, t0 + 50 * 3'600'000, "other 36");
  EXPECT_TRUE(IngestOk("prod-01", other36).sequence_reset);
  // An agent restored from a snapshot: #8 again, collected now, other content.
  v1::FactReport reused = MakeReport(kInstanceA, 8, t0 + 51 * 3'600'000, "restored");
  Store::IngestResult r = IngestOk("prod-01", reused);
  EXPECT_FALSE(r.duplicate);
  EXPECT_TRUE(r.sequence_reset);
  EXPECT_TRUE(r.latest);
  EXPECT_EQ(Latest("prod-01")->hostname(), "restored");
  EXPECT_TRUE(IngestOk("prod-01", reused).duplicate);
  EXPECT_EQ(EntriesWithAction(*store_, "sequence-reset").size(), 2u);
}

// Retention goes by the time index, at most the batch per run, and resumes.
TEST_F(StoreTest, PruneIsBoundedPerRunAndResumes) {
  const int64_t t0 = 1'800'000'000'000;
  for (uint64_t seq = 1; seq <= 12; ++seq) {
    IngestOk("prod-01", Flapping(seq, t0 + static_cast<int64_t>(seq) * 1000));
  }
  const size_t transitions = AllTransitions(*store_).size();
  const uint64_t events = store_->LastEventSeq();
  ASSERT_GT(transitions, 12u);
  ASSERT_EQ(events, transitions);
  const size_t changes = store_->FactChanges("prod-01")->size();
  ASSERT_EQ(changes, 12u);  // sshd flips every report
  store_->SetPruneBatchRecords(7);
  const absl::Time cutoff = absl::FromUnixMillis(t0 + 100'000);  // all of it is older
  uint64_t total = 0;
  int runs = 0;
  for (;; ++runs) {
    auto n = store_->Prune(cutoff);
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_LE(*n, 7u);
    if (*n == 0) break;
    total += *n;
    ASSERT_LT(runs, 100);
  }
  // Receipts, transitions, all changes but the newest of sshd, all events
  // but the newest.
  EXPECT_EQ(total, 12u + transitions + (changes - 1) + (events - 1));
  EXPECT_GT(runs, 1);
  EXPECT_TRUE(Keys("prod-01").empty());
  EXPECT_TRUE(AllTransitions(*store_).empty());
  auto kept = store_->FactChanges("prod-01");
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ((*kept)[0].sequence(), 12u);
  auto left = store_->EventsAfter(0, 100);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].seq(), events);
  // Exactly-once still holds: the marks stay.
  EXPECT_TRUE(IngestOk("prod-01", Flapping(12, t0 + 12'000)).duplicate);
  // Newer records are not touched; numbering goes on. What #13 replaced
  // goes now: #12's fact change and the event that was the newest.
  IngestOk("prod-01", Flapping(13, t0 + 200'000));
  auto replaced = store_->Prune(cutoff);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(*replaced, 2u);
  ASSERT_EQ(store_->FactChanges("prod-01")->size(), 1u);
  EXPECT_EQ((*store_->FactChanges("prod-01"))[0].sequence(), 13u);
  EXPECT_EQ(Keys("prod-01").size(), 1u);
  EXPECT_GT(store_->LastEventSeq(), events);
}

}  // namespace
}  // namespace preflight::collector
