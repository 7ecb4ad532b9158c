#include "collector/service/report_budget.h"

#include <algorithm>

namespace preflight::collector {

uint32_t ReportBudget::PerMinuteOrDefault(uint32_t per_minute) {
  return per_minute == 0 ? 12 : per_minute;
}

uint32_t ReportBudget::BurstOrDefault(uint32_t burst) {
  return burst == 0 ? 1000 : std::min<uint32_t>(burst, 1'000'000);  // no overflow
}

ReportBudget::ReportBudget(uint32_t per_minute, uint32_t burst, absl::Duration refusal_window)
    : refusal_window_(refusal_window),
      per_minute_(PerMinuteOrDefault(per_minute)),
      burst_(BurstOrDefault(burst)) {}

void ReportBudget::SetLimits(uint32_t per_minute, uint32_t burst) {
  absl::MutexLock lock(&mu_);
  per_minute_ = PerMinuteOrDefault(per_minute);
  burst_ = BurstOrDefault(burst);
  const int64_t full = int64_t{burst_} * kUnit;
  for (auto& [host, b] : buckets_) b.units = std::min(b.units, full);
}

uint32_t ReportBudget::per_minute() const {
  absl::MutexLock lock(&mu_);
  return per_minute_;
}

uint32_t ReportBudget::burst() const {
  absl::MutexLock lock(&mu_);
  return burst_;
}

void ReportBudget::RefillLocked(Bucket& b, absl::Time now) const {
  if (now <= b.refilled) return;  // the clock went back: no refill, no debt
  const int64_t full = int64_t{burst_} * kUnit;
  const absl::Duration elapsed = now - b.refilled;
  b.refilled = now;
  // Full again after burst / per_minute minutes; below that, the product
  // stays under `full` (at most 10^6 * kUnit), so it cannot overflow.
  if (elapsed >= absl::Minutes(1) * burst_ / per_minute_) {
    b.units = full;
    return;
  }
  b.units = std::min(full, b.units + absl::ToInt64Nanoseconds(elapsed) * per_minute_);
}

ReportBudget::Bucket& ReportBudget::BucketLocked(absl::string_view host, absl::Time now) {
  auto it = buckets_.find(host);
  if (it != buckets_.end()) {
    RefillLocked(it->second, now);
    return it->second;
  }
  if (buckets_.size() >= sweep_at_) SweepLocked(now);
  Bucket& b = buckets_[host];
  b.units = int64_t{burst_} * kUnit;  // a host not seen (or long idle) has its whole burst
  b.refilled = now;
  return b;
}

void ReportBudget::SweepLocked(absl::Time now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    Bucket& b = it->second;
    RefillLocked(b, now);
    const bool idle = b.units >= int64_t{burst_} * kUnit &&
                      (b.credits == 0 || now >= b.credits_until) && b.suppressed == 0 &&
                      now - b.last_reported >= refusal_window_;
    if (idle) {
      buckets_.erase(it++);
    } else {
      ++it;
    }
  }
  sweep_at_ = std::max(kMaxTracked, buckets_.size() * 2);
}

ReportBudget::Decision ReportBudget::Take(absl::string_view host, uint64_t fingerprint,
                                          absl::Time now) {
  absl::MutexLock lock(&mu_);
  Bucket& b = BucketLocked(host, now);
  Decision d;
  if (fingerprint != 0 &&
      std::find(b.recent.begin(), b.recent.end(), fingerprint) != b.recent.end()) {
    d.allowed = true;
    d.resend = true;
    return d;
  }
  auto remember = [&] {
    if (fingerprint == 0) return;
    b.recent[b.next_recent] = fingerprint;
    b.next_recent = (b.next_recent + 1) % kRecentReports;
  };
  if (b.credits > 0 && now >= b.credits_until) b.credits = 0;
  if (b.credits > 0) {
    --b.credits;
    d.allowed = true;
    d.by_credit = true;
    remember();
    return d;
  }
  if (b.units >= kUnit) {
    b.units -= kUnit;
    d.allowed = true;
    remember();
    return d;
  }
  // Whole seconds, rounded up (at least one): the next token is there then.
  const int64_t ns = (kUnit - b.units + per_minute_ - 1) / per_minute_;
  d.retry_after = absl::Seconds(std::max<int64_t>(1, (ns + 999'999'999) / 1'000'000'000));
  if (now - b.last_reported >= refusal_window_) {
    d.report = true;
    d.suppressed = b.suppressed;
    b.suppressed = 0;
    b.last_reported = now;
  } else {
    ++b.suppressed;
  }
  return d;
}

void ReportBudget::GrantCredit(absl::string_view host, absl::Time now) {
  absl::MutexLock lock(&mu_);
  Bucket& b = BucketLocked(host, now);
  if (now >= b.credits_until) b.credits = 0;
  b.credits = std::min(kMaxCredits, b.credits + 1);
  b.credits_until = now + kCreditLifetime;
}

size_t ReportBudget::tracked() const {
  absl::MutexLock lock(&mu_);
  return buckets_.size();
}

}  // namespace preflight::collector
