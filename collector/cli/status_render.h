// `preflightctl status`: the fleet verdict and one line per host, from
// GetFleetSummary's pages (any fleet size). `status --full` still prints the
// version-1 document of render.h (StatusJson, StatusTable).
#ifndef PREFLIGHT_COLLECTOR_CLI_STATUS_RENDER_H_
#define PREFLIGHT_COLLECTOR_CLI_STATUS_RENDER_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "preflight/v1/query.pb.h"

namespace preflight::cli {

// The version of the `status --format json` document (README.md, "Stable
// JSON"): 2 lists hosts as summaries; version 1 (full checks) is `--full`.
inline constexpr int kStatusFormatVersion = 2;

// The JSON document: {"format_version": 2, "ready", "generated_at", ...,
// "hosts": [SUMMARY], "manual_items": [...], "checks": [...]}.
std::string SummaryJson(const v1::FleetSummaryHeader& header,
                        const std::vector<v1::HostSummary>& hosts);
// The verdict, its reasons, the manual items pending, then one line per host.
// The table fits `width` columns (the terminal's, terminal.h).
std::string SummaryTable(const v1::FleetSummaryHeader& header,
                         const std::vector<v1::HostSummary>& hosts, absl::Time now,
                         size_t width = 80);

}  // namespace preflight::cli

#endif  // PREFLIGHT_COLLECTOR_CLI_STATUS_RENDER_H_
