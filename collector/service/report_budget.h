// A per-host report budget: a token bucket per host, so that one agent (a
// bug, a loop, a stolen certificate) cannot flood the store and the audit
// trail.
//
//   burst   reports a host may send at once: an agent's reconnect backlog.
//           Size it to the agents' spool_max_reports (default 1000), so a
//           spool that filled up while the collector was away is delivered
//           in one go.
//   rate    reports per minute a host earns back, up to the burst. Normal
//           operation is one report per interval (default 5 minutes).
//   resend  a report let through moments ago and sent again (its ack was
//           lost with the connection) is a duplicate the store acks without
//           writing: it passes without a token, or an agent whose budget
//           is spent could never clear it from its spool. The last
//           kRecentReports let through per host are remembered by
//           fingerprint (instance, sequence and content).
//   credit  a report the collector asked for (preflightctl refresh sends
//           CollectNow): each request grants the host one credit (at most
//           kMaxCredits, each for kCreditLifetime), spent before any token,
//           so a refresh gets through even when the host has just used its
//           budget, and does not use it up.
//
// A report over the budget is refused; the caller logs and audits the first
// refusal of a host in each `refusal_window` and counts the rest (Decision).
//
// The budget outlives the gRPC services: it is the collector's
// (CollectorState::report_budget), so a reload (SIGHUP) neither hands every
// host a fresh burst nor forgets the credits of a refresh; a reload that
// changes the limits applies them with SetLimits to the buckets as they are.
//
// Thread-safe; O(1) per call (one hash lookup under a leaf mutex). Memory is
// one small entry per host that reported recently: a bucket that is full
// again, with no credit and nothing to report, is the same as no bucket and
// is dropped when the map reaches kMaxTracked entries.
#ifndef PREFLIGHT_COLLECTOR_SERVICE_REPORT_BUDGET_H_
#define PREFLIGHT_COLLECTOR_SERVICE_REPORT_BUDGET_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace preflight::collector {

class ReportBudget {
 public:
  static constexpr int kMaxCredits = 4;
  static constexpr absl::Duration kCreditLifetime = absl::Minutes(10);
  static constexpr size_t kMaxTracked = 20000;
  static constexpr int kRecentReports = 4;

  // `per_minute` and `burst` of 0 take the defaults (12 and 1000, as in
  // collector/config.cc).
  ReportBudget(uint32_t per_minute, uint32_t burst,
               absl::Duration refusal_window = absl::Minutes(1));

  struct Decision {
    bool allowed = false;
    bool by_credit = false;  // let through by a refresh credit
    bool resend = false;     // the same report as one let through recently
    // Refused, and the first refusal of the host in the window: log and
    // audit it, saying `suppressed` refusals were not since the last one.
    bool report = false;
    int64_t suppressed = 0;
    // Refused: when the next report would be let through.
    absl::Duration retry_after;
  };
  // One report of `host` received at `now`; `fingerprint` identifies its
  // agent instance, sequence and content (0: none, never a resend).
  Decision Take(absl::string_view host, uint64_t fingerprint, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);
  Decision Take(absl::string_view host, absl::Time now) ABSL_LOCKS_EXCLUDED(mu_) {
    return Take(host, 0, now);
  }
  // The collector asked `host` for a report (refresh).
  void GrantCredit(absl::string_view host, absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);
  // New limits (0 takes a default, as in the constructor) for every host as
  // it stands: what a host has spent stays spent, and a host holding more
  // than a smaller burst keeps only that burst.
  void SetLimits(uint32_t per_minute, uint32_t burst) ABSL_LOCKS_EXCLUDED(mu_);

  uint32_t per_minute() const ABSL_LOCKS_EXCLUDED(mu_);
  uint32_t burst() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t tracked() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Tokens are counted in exact units, kUnit to a token: a minute of
  // refill at n per minute is n * kUnit (nanoseconds of a minute times n),
  // so no rounding ever gives or takes a report.
  static constexpr int64_t kUnit = 60'000'000'000;
  struct Bucket {
    int64_t units = 0;
    absl::Time refilled;
    int credits = 0;
    absl::Time credits_until;
    absl::Time last_reported = absl::InfinitePast();
    int64_t suppressed = 0;
    std::array<uint64_t, kRecentReports> recent{};  // fingerprints let through
    int next_recent = 0;
  };
  Bucket& BucketLocked(absl::string_view host, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RefillLocked(Bucket& b, absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static uint32_t PerMinuteOrDefault(uint32_t per_minute);
  static uint32_t BurstOrDefault(uint32_t burst);
  void SweepLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration refusal_window_;
  mutable absl::Mutex mu_;
  uint32_t per_minute_ ABSL_GUARDED_BY(mu_);
  uint32_t burst_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  // The size at which the next sweep runs (doubles when a sweep frees
  // little, so a fleet larger than kMaxTracked costs no sweep per report).
  size_t sweep_at_ ABSL_GUARDED_BY(mu_) = kMaxTracked;
};

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_REPORT_BUDGET_H_
