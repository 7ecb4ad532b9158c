// GetFleetSummary's pure parts: which hosts a request lists, the page size,
// and the compact forms of the catalogue and the manual items. The calls
// themselves (GetFleetSummary, StreamFleetStatus) are QueryService's, in
// fleet_summary.cc.
#ifndef PREFLIGHT_COLLECTOR_SERVICE_FLEET_SUMMARY_H_
#define PREFLIGHT_COLLECTOR_SERVICE_FLEET_SUMMARY_H_

#include <cstddef>
#include <cstdint>

#include "collector/checks/check.h"
#include "preflight/v1/query.pb.h"

namespace preflight::collector {

// Hosts per GetFleetSummary page: the request's, 500 when it asks none, at
// most 2000 (a page of 2000 hosts stays well under a megabyte).
inline constexpr uint32_t kDefaultSummaryPage = 500;
inline constexpr uint32_t kMaxSummaryPage = 2000;
uint32_t SummaryPageSize(const v1::FleetSummaryRequest& request);

// Full host statuses per StreamFleetStatus message (about 9 KB each).
inline constexpr size_t kFleetStatusChunk = 100;
// Reasons in the summary header, and in StreamFleetStatus's first message
// (which then ends with "... and N more").
inline constexpr size_t kSummaryReasons = 50;
inline constexpr size_t kStreamReasons = 10000;

// Whether `host` passes the request's filters: environment, role, not ready
// (failing_only), and the fnmatch(3) pattern on its id. Empty filters pass.
bool MatchesFilter(const v1::FleetSummaryRequest& request, const v1::HostSummary& host);

// The catalogue entry without its remediation.
v1::CheckSummary SummarizeCheck(const v1::CheckInfo& check);
// A manual item's sign-off without its evidence.
v1::ManualItemSummary SummarizeManualItem(const v1::CheckResult& item);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_FLEET_SUMMARY_H_
