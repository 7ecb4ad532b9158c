// Fact kind "time": whether the clock is kept in step, as the host's time
// service reports it: `timedatectl show` (systemd-timesyncd, or whatever
// timedated knows) and `chronyc -c tracking` when chrony runs.
#ifndef PREFLIGHT_AGENT_FACTS_TIME_H_
#define PREFLIGHT_AGENT_FACTS_TIME_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// Fills ntp_enabled/synchronized from `timedatectl show` output
// ("NTP=yes", "NTPSynchronized=yes"); false when neither key is there.
bool ParseTimedatectl(absl::string_view out, v1::TimeFact& fact);

// Fills synchronized/offset from `chronyc -c tracking` (comma-separated:
// the 5th field is the system clock's offset in seconds, the 14th the leap
// status); false when the line is not chrony's.
bool ParseChronyTracking(absl::string_view out, v1::TimeFact& fact);

std::unique_ptr<FactCollector> MakeTimeCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_TIME_H_
