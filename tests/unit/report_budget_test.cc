// Tests for collector/service/report_budget: the per-host token bucket, the
// refresh credits and the once-per-window refusal reports.
#include "collector/service/report_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace preflight::collector {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

int Allowed(ReportBudget& budget, const std::string& host, int n, absl::Time at) {
  int allowed = 0;
  for (int i = 0; i < n; ++i) allowed += budget.Take(host, at).allowed ? 1 : 0;
  return allowed;
}

TEST(ReportBudget, BurstThenRefused) {
  ReportBudget budget(6, 5);
  EXPECT_EQ(Allowed(budget, "web-1", 5, kT0), 5);  // a backlog of the burst size
  ReportBudget::Decision d = budget.Take("web-1", kT0);
  EXPECT_FALSE(d.allowed);
  EXPECT_FALSE(d.by_credit);
  // 6 per minute: the next token is 10 s away.
  EXPECT_EQ(d.retry_after, absl::Seconds(10));
}

TEST(ReportBudget, RefillsAtTheRateUpToTheBurst) {
  ReportBudget budget(6, 5);
  ASSERT_EQ(Allowed(budget, "web-1", 5, kT0), 5);
  EXPECT_EQ(Allowed(budget, "web-1", 3, kT0 + absl::Seconds(9)), 0);
  EXPECT_EQ(Allowed(budget, "web-1", 3, kT0 + absl::Seconds(10)), 1);
  EXPECT_EQ(Allowed(budget, "web-1", 3, kT0 + absl::Seconds(30)), 2);
  // An hour idle earns the burst back, never more.
  EXPECT_EQ(Allowed(budget, "web-1", 100, kT0 + absl::Hours(1)), 5);
}

TEST(ReportBudget, HostsAreSeparate) {
  ReportBudget budget(1, 2);
  EXPECT_EQ(Allowed(budget, "web-1", 10, kT0), 2);
  EXPECT_EQ(Allowed(budget, "web-2", 10, kT0), 2);
  EXPECT_EQ(budget.tracked(), 2u);
}

TEST(ReportBudget, ZeroTakesTheDefaults) {
  ReportBudget budget(0, 0);
  EXPECT_EQ(budget.per_minute(), 12u);
  EXPECT_EQ(budget.burst(), 1000u);
  EXPECT_EQ(Allowed(budget, "web-1", 1001, kT0), 1000);
}

TEST(ReportBudget, OneRefusalReportedPerWindowWithTheCountSuppressed) {
  ReportBudget budget(1, 1, absl::Minutes(1));
  ASSERT_TRUE(budget.Take("web-1", kT0).allowed);
  ReportBudget::Decision first = budget.Take("web-1", kT0);
  EXPECT_FALSE(first.allowed);
  EXPECT_TRUE(first.report);
  EXPECT_EQ(first.suppressed, 0);
  for (int i = 1; i <= 7; ++i) {
    ReportBudget::Decision d = budget.Take("web-1", kT0 + absl::Seconds(i));
    EXPECT_FALSE(d.allowed);
    EXPECT_FALSE(d.report) << i;
  }
  // The next window: reported again, with the 7 not reported meanwhile. The
  // token earned meanwhile (1 per minute) lets one report through first.
  ASSERT_TRUE(budget.Take("web-1", kT0 + absl::Seconds(61)).allowed);
  ReportBudget::Decision next = budget.Take("web-1", kT0 + absl::Seconds(61));
  EXPECT_FALSE(next.allowed);
  EXPECT_TRUE(next.report);
  EXPECT_EQ(next.suppressed, 7);
  // Another host's refusal is its own.
  ASSERT_TRUE(budget.Take("web-2", kT0).allowed);
  EXPECT_TRUE(budget.Take("web-2", kT0).report);
}

TEST(ReportBudget, RefreshCreditLetsOneReportThroughWhenTheBudgetIsSpent) {
  ReportBudget budget(1, 2);
  ASSERT_EQ(Allowed(budget, "web-1", 2, kT0), 2);
  ASSERT_FALSE(budget.Take("web-1", kT0).allowed);
  budget.GrantCredit("web-1", kT0);
  ReportBudget::Decision d = budget.Take("web-1", kT0);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.by_credit);
  EXPECT_FALSE(budget.Take("web-1", kT0).allowed);  // one credit, one report
}

TEST(ReportBudget, CreditIsSpentBeforeTokensSoARefreshDoesNotUseTheBudget) {
  ReportBudget budget(1, 3);
  budget.GrantCredit("web-1", kT0);
  ReportBudget::Decision d = budget.Take("web-1", kT0);
  EXPECT_TRUE(d.by_credit);
  EXPECT_EQ(Allowed(budget, "web-1", 10, kT0), 3);  // the whole burst is left
}

TEST(ReportBudget, CreditsAreCappedAndExpire) {
  ReportBudget budget(1, 1);
  ASSERT_TRUE(budget.Take("web-1", kT0).allowed);
  for (int i = 0; i < 20; ++i) budget.GrantCredit("web-1", kT0);
  EXPECT_EQ(Allowed(budget, "web-1", 20, kT0), ReportBudget::kMaxCredits);

  ReportBudget later(1, 1);
  ASSERT_TRUE(later.Take("web-1", kT0).allowed);
  later.GrantCredit("web-1", kT0);
  // Past the credit's lifetime, only the tokens earned meanwhile count.
  const absl::Time after = kT0 + ReportBudget::kCreditLifetime + absl::Seconds(1);
  ReportBudget::Decision d = later.Take("web-1", after);
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.by_credit);
  EXPECT_FALSE(later.Take("web-1", after).allowed);
}

TEST(ReportBudget, AReportSentAgainAfterALostAckPassesWithoutAToken) {
  ReportBudget budget(1, 2);
  ASSERT_TRUE(budget.Take("web-1", 101, kT0).allowed);
  ASSERT_TRUE(budget.Take("web-1", 102, kT0).allowed);
  EXPECT_FALSE(budget.Take("web-1", 103, kT0).allowed);  // spent
  // The connection broke before the acks of 101 and 102: sent again, they
  // pass (the store acks them as duplicates), and cost nothing.
  ReportBudget::Decision again = budget.Take("web-1", 102, kT0);
  EXPECT_TRUE(again.allowed);
  EXPECT_TRUE(again.resend);
  EXPECT_TRUE(budget.Take("web-1", 101, kT0).resend);
  EXPECT_FALSE(budget.Take("web-1", 103, kT0).allowed);
  // Another host's fingerprints are not this host's.
  ASSERT_EQ(Allowed(budget, "web-2", 2, kT0), 2);
  EXPECT_FALSE(budget.Take("web-2", 101, kT0).allowed);
  // Only the last few are remembered; a refused report never is.
  ReportBudget many(60, 10);
  for (uint64_t f = 1; f <= 10; ++f) ASSERT_TRUE(many.Take("web-1", f, kT0).allowed);
  EXPECT_FALSE(many.Take("web-1", 1, kT0).allowed);
  EXPECT_TRUE(many.Take("web-1", 10, kT0).resend);
  EXPECT_FALSE(many.Take("web-1", 11, kT0).allowed);
  EXPECT_FALSE(many.Take("web-1", 11, kT0).resend);
}

TEST(ReportBudget, ClockGoingBackEarnsNothing) {
  ReportBudget budget(60, 1);
  ASSERT_TRUE(budget.Take("web-1", kT0).allowed);
  EXPECT_FALSE(budget.Take("web-1", kT0 - absl::Hours(1)).allowed);
  EXPECT_FALSE(budget.Take("web-1", kT0).allowed);
  EXPECT_TRUE(budget.Take("web-1", kT0 + absl::Seconds(1)).allowed);
}

TEST(ReportBudget, IdleHostsAreForgottenSoMemoryStaysBounded) {
  ReportBudget budget(60, 2);
  const size_t n = ReportBudget::kMaxTracked;
  for (size_t i = 0; i < n; ++i) budget.Take(absl::StrCat("host-", i), kT0);
  EXPECT_EQ(budget.tracked(), n);
  // A minute later every bucket is full again: a new host sweeps them away.
  budget.Take("new-host", kT0 + absl::Minutes(1));
  EXPECT_EQ(budget.tracked(), 1u);
  // A forgotten host starts with its whole burst, as it would have had.
  EXPECT_EQ(Allowed(budget, "host-7", 3, kT0 + absl::Minutes(1)), 2);
}

TEST(ReportBudget, BusyHostsAreKeptAndTheSweepIsNotRepeatedPerReport) {
  ReportBudget budget(1, 2);
  const size_t n = ReportBudget::kMaxTracked;
  for (size_t i = 0; i < n; ++i) budget.Take(absl::StrCat("host-", i), kT0);
  budget.Take("new-host", kT0 + absl::Seconds(1));  // none is full again yet
  EXPECT_EQ(budget.tracked(), n + 1);
  // Their state is kept: each used one token of two.
  EXPECT_EQ(Allowed(budget, "host-3", 3, kT0 + absl::Seconds(1)), 1);
}

// A reload applies new limits to the buckets as they stand.
TEST(ReportBudget, NewLimitsKeepWhatHostsSpent) {
  ReportBudget budget(1, 3);
  ASSERT_EQ(Allowed(budget, "web-1", 3, kT0), 3);
  ASSERT_EQ(Allowed(budget, "web-2", 1, kT0), 1);  // 2 of 3 left
  budget.GrantCredit("web-3", kT0);
  budget.SetLimits(1, 3);  // the same limits: nothing given back
  EXPECT_EQ(Allowed(budget, "web-1", 5, kT0), 0);
  budget.SetLimits(1, 1);  // a smaller burst caps what a host holds
  EXPECT_EQ(budget.burst(), 1u);
  EXPECT_EQ(Allowed(budget, "web-2", 5, kT0), 1);
  // A refresh credit survives; then web-3's (smaller) burst.
  ReportBudget::Decision d = budget.Take("web-3", kT0);
  EXPECT_TRUE(d.by_credit);
  EXPECT_EQ(Allowed(budget, "web-3", 5, kT0), 1);
  // A larger burst and rate: refilled from what is left, at the new rate.
  budget.SetLimits(60, 10);
  EXPECT_EQ(budget.per_minute(), 60u);
  EXPECT_EQ(Allowed(budget, "web-1", 20, kT0), 0);
  EXPECT_EQ(Allowed(budget, "web-1", 20, kT0 + absl::Seconds(4)), 4);
  EXPECT_EQ(Allowed(budget, "web-1", 20, kT0 + absl::Minutes(10)), 10);
  budget.SetLimits(0, 0);  // the defaults, as in the constructor
  EXPECT_EQ(budget.per_minute(), 12u);
  EXPECT_EQ(budget.burst(), 1000u);
}

TEST(ReportBudget, ConcurrentTakesNeverExceedTheBudget) {
  ReportBudget budget(1, 500);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) allowed += budget.Take("web-1", kT0).allowed ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 500);
}

}  // namespace
}  // namespace preflight::collector
