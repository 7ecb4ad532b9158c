// The event watch: what no single report shows, turned into events of the
// store's log (store.h "Events") for the notifier and the event file.
// main calls WatchForEvents every kEventWatchInterval; each call reads the
// fleet as `preflightctl status` does and appends, in one synced WriteState
// with the state keys that remember them (so a restart repeats none):
//   HOST_STALE   a reported host of the inventory that has been silent for
//                the policy's staleness_seconds (a regression);
//   HOST_FRESH   it reported again;
//   FLEET_VERDICT the fleet verdict (FleetVerdict, the rules of
//                `preflightctl status`, unknown swarm nodes included) changed: to PASS when READY,
//                FAIL when NOT READY (a regression when it was READY);
//   EXCEPTION_EXPIRING a waiver or sign-off in force that expires within
//                notifications.expiry_warn_days (14);
//   PKI_EXPIRING the collector's certificate or a CA certificate that expires
//                within expiry_warn_days (or expired);
//   CRL_EXPIRING the CRL within notifications.crl_warn_hours (72) of its
//                nextUpdate (or past it);
//   UNKNOWN_NODE a swarm node a manager reports that matches no inventory
//                host (FindUnknownNodes), once while it stays unknown (a
//                regression when the manager's environment gates).
// Each expiring thing is told once per expiry date: a renewal (a new date)
// is a new occurrence. Every event but HOST_FRESH and a fleet becoming ready
// is a regression. Runs on main's thread (between reloads), so it reads the
// settings without a lock.
#ifndef PREFLIGHT_COLLECTOR_SERVICE_EVENT_WATCH_H_
#define PREFLIGHT_COLLECTOR_SERVICE_EVENT_WATCH_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "collector/service/collector_state.h"

namespace preflight::collector {

inline constexpr absl::Duration kEventWatchInterval = absl::Seconds(30);

// The state keys (prefixes) the watch keeps.
inline constexpr absl::string_view kWatchStalePrefix = "watch/stale/";  // + host: since (ms)
inline constexpr absl::string_view kWatchFleetKey = "watch/fleet";      // "ready" / "not-ready"
inline constexpr absl::string_view kWatchExpiringPrefix = "watch/expiring/";  // + dedup key
inline constexpr absl::string_view kWatchNodePrefix = "watch/node/";  // + hostname/address: since

// One look at the fleet at `now`: appends the events due. Returns how many.
absl::StatusOr<size_t> WatchForEvents(CollectorState& state, absl::Time now);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_EVENT_WATCH_H_
