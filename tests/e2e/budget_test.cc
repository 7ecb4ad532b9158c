// The per-host report budget with real processes: a flood is refused
// (RESOURCE_EXHAUSTED, audited once per window) without growing the store
// beyond the budget, and delivered later from the agent's spool; a reconnect
// backlog within the burst and a report asked for by refresh get through;
// a reload keeps what a host spent.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "collector/audit/audit_chain.h"
#include "collector/store/store.h"
#include "tests/support/cluster.h"
#include "tests/support/json.h"

namespace preflight::testing {
namespace {

constexpr char kBudgetRefusal[] = "over its report budget";

int PendingInSpool(const std::string& spool) {
  int n = 0;
  DIR* d = opendir((spool + "/reports").c_str());
  if (d == nullptr) return 0;
  while (struct dirent* e = readdir(d)) n += absl::EndsWith(e->d_name, ".pb") ? 1 : 0;
  closedir(d);
  return n;
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class BudgetTest : public ::testing::Test {
 protected:
  BudgetTest() : cluster_(OneManager()), root_(FixtureRoot("opencrvs-manager")) {}

  void Budget(uint32_t per_minute, uint32_t burst) {
    v1::CollectorConfig c;
    c.set_max_reports_per_minute(per_minute);
    c.set_report_burst(burst);
    cluster_.SetCollectorConfig(c);
  }

  // `n` reports collected into the agent's spool while no collector listens.
  void Prefill(int n) {
    for (int i = 0; i < n; ++i) {
      RunResult r = cluster_.AgentOnce("prod-01", root_, 1);
      ASSERT_NE(r.exit_code, 0) << "delivered with no collector?\n" << r.err;
    }
    ASSERT_EQ(PendingInSpool(spool()), n);
  }

  // The audit entries refusing prod-01's reports for its budget.
  std::vector<std::string> BudgetRefusalsAudited() {
    std::vector<std::string> out;
    for (const auto& e : cluster_.AuditEntries()) {
      if (Field(e, "action").string_value() == "refused" &&
          absl::StrContains(Field(e, "detail").string_value(), kBudgetRefusal)) {
        EXPECT_EQ(Field(e, "actor").string_value(), "prod-01");
        out.push_back(Field(e, "detail").string_value());
      }
    }
    return out;
  }

  std::string spool() const { return cluster_.SpoolDir("prod-01"); }

  // Whether the agent daemon has collected report `seq` into its spool.
  bool DaemonCollected(uint64_t seq) const {
    return absl::StrContains(ReadFile(spool() + "/../daemon.err"),
                             absl::StrCat("collected report ", seq, " "));
  }

  TestCluster cluster_;
  std::string root_;
};

TEST_F(BudgetTest, FloodIsRefusedAuditedOnceAndDeliveredLater) {
  // Bursts of 5, then one report every 5 s.
  Budget(12, 5);
  Prefill(8);
  cluster_.StartCollector();
  const absl::Time start = absl::Now();

  // Two runs of the agent, each with more than the budget: refused with the
  // status and the limit, the rest kept in the spool.
  RunResult first = cluster_.AgentOnce("prod-01", root_, 4);
  RunResult second = cluster_.AgentOnce("prod-01", root_, 4);
  const absl::Duration elapsed = absl::Now() - start;
  for (const RunResult* r : {&first, &second}) {
    EXPECT_NE(r->exit_code, 0) << r->err;
    EXPECT_TRUE(absl::StrContains(r->err, "RESOURCE_EXHAUSTED")) << r->err;
    EXPECT_TRUE(absl::StrContains(r->err, kBudgetRefusal)) << r->err;
    EXPECT_TRUE(absl::StrContains(r->err, "12 reports per minute, bursts of 5")) << r->err;
    EXPECT_TRUE(absl::StrContains(r->err, "retry in ")) << r->err;
  }
  // Two refusals (at least) within a minute: one audit entry, one log line.
  EXPECT_EQ(BudgetRefusalsAudited().size(), 1u);
  EXPECT_EQ(Count(cluster_.collector_log(), kBudgetRefusal), 1) << cluster_.collector_log();

  cluster_.StopCollector(SIGTERM);
  const std::map<uint64_t, int> during = StoredSequences(cluster_.data_dir());
  // Stored: the burst and at most what the rate earned meanwhile.
  const size_t earned = static_cast<size_t>(absl::ToDoubleSeconds(elapsed) / 5) + 1;
  EXPECT_GE(during.size(), 5u);
  EXPECT_LE(during.size(), 5u + earned) << "in " << elapsed;
  for (const auto& [seq, times] : during) EXPECT_EQ(times, 1) << seq;
  const int pending = PendingInSpool(spool());
  EXPECT_EQ(pending + static_cast<int>(during.size()), 10);  // nothing lost

  // Later, the agent delivers everything, at the budget's pace, without
  // hammering the collector in between.
  cluster_.StartCollector();
  auto agent = cluster_.StartAgent("prod-01", root_);
  // Its first report is the 11th (8 + 2 + 1).
  EXPECT_TRUE(WaitFor([&] { return DaemonCollected(11) && PendingInSpool(spool()) == 0; },
                      absl::Seconds(150)))
      << PendingInSpool(spool()) << " still pending\n"
      << cluster_.collector_log();
  agent->Signal(SIGTERM);
  agent->Wait(absl::Seconds(10));
  const std::string agent_log = ReadFile(spool() + "/../daemon.err");
  cluster_.StopCollector(SIGTERM);
  const std::map<uint64_t, int> after = StoredSequences(cluster_.data_dir());
  ASSERT_FALSE(after.empty());
  EXPECT_GE(after.size(), 11u);
  EXPECT_EQ(after.rbegin()->first, after.size());  // 1..N, no gap
  for (const auto& [seq, times] : after) EXPECT_EQ(times, 1) << seq;
  // One reconnect per report the budget let through, not a retry loop.
  const int reconnects = Count(agent_log, "reconnecting in");
  EXPECT_LE(reconnects, static_cast<int>(after.size() - during.size()) + 2) << agent_log;
}

TEST_F(BudgetTest, ReconnectBacklogWithinTheBurstAndRefreshGetThrough) {
  // Bursts of 8, then one report a minute: the budget does not refill
  // during the test.
  Budget(1, 8);
  Prefill(7);
  cluster_.StartCollector();
  // The daemon delivers the backlog and its first report: 8, the burst.
  auto agent = cluster_.StartAgent("prod-01", root_);
  ASSERT_TRUE(WaitFor([&] { return DaemonCollected(8) && PendingInSpool(spool()) == 0; },
                      absl::Seconds(60)))
      << cluster_.collector_log();
  EXPECT_FALSE(absl::StrContains(cluster_.collector_log(), kBudgetRefusal))
      << cluster_.collector_log();

  // The budget is spent; the operator asks for a report all the same.
  RunResult refresh = cluster_.Ctl({"refresh", "prod-01", "--wait"});
  EXPECT_EQ(refresh.exit_code, 0) << refresh.out << refresh.err << cluster_.collector_log();
  // (--wait accepts a report collected up to a second before the request:
  // the one asked for is the next.)
  EXPECT_TRUE(WaitFor(
      [&] {
        return absl::StrContains(cluster_.collector_log(), "stored report prod-01") &&
               absl::StrContains(cluster_.collector_log(), "#9 let through on a refresh credit");
      },
      absl::Seconds(30)))
      << cluster_.collector_log();
  EXPECT_TRUE(WaitFor([&] { return absl::StrContains(cluster_.collector_log(), " #9\n"); },
                      absl::Seconds(30)))
      << cluster_.collector_log();
  agent->Signal(SIGTERM);
  agent->Wait(absl::Seconds(10));

  // A report nobody asked for is refused: the budget was indeed spent.
  RunResult extra = cluster_.AgentOnce("prod-01", root_, 3);
  EXPECT_NE(extra.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(extra.err, kBudgetRefusal)) << extra.err;
  EXPECT_EQ(PendingInSpool(spool()), 1)
      << cluster_.collector_log() << ReadFile(spool() + "/../daemon.err") << extra.err;
  EXPECT_EQ(BudgetRefusalsAudited().size(), 1u);

  // A reload (SIGHUP, the same configuration) does not hand the host a
  // fresh burst: the budget is the collector's, not the gRPC service's.
  cluster_.WriteCollectorConfig();
  ASSERT_EQ(kill(cluster_.collector_pid(), SIGHUP), 0);
  ASSERT_TRUE(WaitFor([&] { return absl::StrContains(cluster_.collector_log(), "reloaded "); },
                      absl::Seconds(30)))
      << cluster_.collector_log();
  RunResult after_reload = cluster_.AgentOnce("prod-01", root_, 3);
  EXPECT_NE(after_reload.exit_code, 0) << after_reload.err;
  EXPECT_TRUE(absl::StrContains(after_reload.err, kBudgetRefusal)) << after_reload.err;
  EXPECT_EQ(PendingInSpool(spool()), 2) << after_reload.err;

  cluster_.StopCollector(SIGTERM);
  // The backlog, the daemon's report and the refreshed one, each once.
  std::map<uint64_t, int> expected;
  for (uint64_t seq = 1; seq <= 9; ++seq) expected[seq] = 1;
  EXPECT_EQ(StoredSequences(cluster_.data_dir()), expected);
}

// Audit retention with the real collector and preflightctl: a trail with
// entries older than audit_retention_days is pruned at start behind a
// checkpoint; it still verifies, an anchor of a kept entry holds, and an
// anchor of a pruned one is reported as pruned (exit 3), not as broken.
TEST(AuditRetentionE2e, PrunedTrailVerifiesAndOldAnchorsSayPruned) {
  TestCluster cluster(OneManager());
  std::vector<v1::AuditEntry> old;
  {
    // Ten entries from 30 days ago, written through the store as the
    // collector writes them.
    auto store = collector::Store::Open(cluster.data_dir());
    ASSERT_TRUE(store.ok()) << store.status();
    const absl::Time then = absl::Now() - absl::Hours(24 * 30);
    for (int i = 1; i <= 10; ++i) {
      ASSERT_TRUE((*store)
                      ->Audit({"alice", "attest", absl::StrCat("check-", i), "old"},
                              then + absl::Seconds(i))
                      .ok());
    }
    auto entries = (*store)->AuditEntries();
    ASSERT_TRUE(entries.ok());
    for (const auto& e : *entries) old.push_back(e.entry);
  }
  ASSERT_EQ(old.size(), 10u);
  v1::CollectorConfig retention;
  retention.set_audit_retention_days(7);
  cluster.SetCollectorConfig(retention);
  cluster.StartCollector();
  EXPECT_TRUE(
      WaitFor([&] { return absl::StrContains(cluster.collector_log(), "pruned 10 audit entries"); },
              absl::Seconds(30)))
      << cluster.collector_log();

  RunResult verify = cluster.Ctl({"audit", "--verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_TRUE(absl::StrContains(verify.out, "chain verified: every entry from 11 on is intact"))
      << verify.out;
  EXPECT_TRUE(absl::StrContains(verify.out, "checkpoint")) << verify.out;

  // The last pruned entry's anchor holds through the checkpoint.
  const std::string last = collector::FormatAuditAnchor(10, old[9].hash());
  RunResult holds = cluster.Ctl({"audit", "--verify", "--anchor", last});
  EXPECT_EQ(holds.exit_code, 0) << holds.out << holds.err;
  EXPECT_TRUE(absl::StrContains(holds.out, "anchor holds")) << holds.out;

  // An older one can no longer be checked: said so, neither held nor broken.
  const std::string pruned = collector::FormatAuditAnchor(4, old[3].hash());
  RunResult gone = cluster.Ctl({"audit", "--verify", "--anchor", pruned});
  EXPECT_EQ(gone.exit_code, 3) << gone.out << gone.err;
  EXPECT_TRUE(absl::StrContains(gone.out, "ANCHOR PRUNED")) << gone.out;
  EXPECT_TRUE(absl::StrContains(gone.out, "entry 4 was pruned")) << gone.out;
  EXPECT_FALSE(absl::StrContains(gone.out, "DOES NOT HOLD")) << gone.out;

  // A wrong hash for the last pruned entry is a rewrite, not a pruning.
  const std::string forged = collector::FormatAuditAnchor(10, old[8].hash());
  RunResult broken = cluster.Ctl({"audit", "--verify", "--anchor", forged});
  EXPECT_EQ(broken.exit_code, 1) << broken.out << broken.err;
  EXPECT_TRUE(absl::StrContains(broken.out, "ANCHOR DOES NOT HOLD")) << broken.out;
}

}  // namespace
}  // namespace preflight::testing
