// Is the collector fit to take reports? One answer for three audiences:
//   - gRPC's standard health service (grpc.health.v1.Health/Check, over the
//     same mutual TLS): "" and "preflight.v1.Ingest" are NOT_SERVING while
//     a problem lasts; "preflight.v1.Query" stays SERVING (reads still work);
//   - a local file (config health_file), rewritten every couple of seconds,
//     which `preflight-collector --config FILE --health` checks for systemd
//     and monitoring without certificates: exit 0 healthy, 1 not (or the
//     file is stale: the collector is not running or its main loop hangs);
//   - the log, once when a problem starts and once when it clears.
// Problems: a storage error (Store::Health), a CRL past its nextUpdate or
// unusable (every certificate is refused), a listener that stopped accepting.
#ifndef PREFLIGHT_COLLECTOR_SERVICE_HEALTH_H_
#define PREFLIGHT_COLLECTOR_SERVICE_HEALTH_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "collector/service/collector_state.h"

namespace preflight::collector {

struct Health {
  std::vector<std::string> problems;  // empty: healthy
  bool ok() const { return problems.empty(); }
  std::string Summary() const;  // "ok" or the problems joined by "; "
};

// What is wrong now; `listener_problem` is main's ("" when accepting).
Health CheckHealth(const CollectorState& state, const std::string& listener_problem);

// Writes `health` to `path` atomically (a temporary file, then rename):
// "<unix seconds> ok" or "<unix seconds> unhealthy: <problems>".
absl::Status WriteHealthFile(const std::string& path, const Health& health, absl::Time now);

// For --health: reads `path`; 0 when it says ok and is younger than
// `max_age`, else 1; `message` says why either way.
int CheckHealthFile(const std::string& path, absl::Time now, absl::Duration max_age,
                    std::string* message);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_HEALTH_H_
