// Keeps the stored waivers and sign-offs within today's rules, at start and
// after every reload (collector/readiness/exceptions.h has the rules):
// - a waiver or sign-off in force that would last beyond the policy's
//   max_waiver_days / max_signoff_days (an open-ended sign-off included) is
//   cut to the limit from that day on;
// - a waiver made before waivers were bound to findings is bound to the
//   check's verdict on the host's latest facts, evaluated now, when that is
//   FAIL, UNKNOWN or WARN; on a passing check (or a host with no facts) it is
//   withdrawn, since it could only hide the next failure.
// Each change is one audit entry by "collector" and one log line.
#ifndef PREFLIGHT_COLLECTOR_SERVICE_EXCEPTIONS_UPKEEP_H_
#define PREFLIGHT_COLLECTOR_SERVICE_EXCEPTIONS_UPKEEP_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/service/collector_state.h"

namespace preflight::collector {

struct UpkeepCounts {
  int waivers_capped = 0;
  int signoffs_capped = 0;
  int waivers_bound = 0;
  int waivers_withdrawn = 0;
};

absl::StatusOr<UpkeepCounts> UpholdExceptionRules(CollectorState& state, absl::Time now,
                                                  const std::function<void(std::string)>& log);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_EXCEPTIONS_UPKEEP_H_
