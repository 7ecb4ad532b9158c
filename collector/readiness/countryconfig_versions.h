// The country configuration, production against staging (README, "Country
// configuration: production against staging"). release.latest shows, per
// manager, the version of the countryconfig service beside the core images;
// whether production runs the country configuration last tested on staging
// is a fact of two hosts, so it is judged here, over the fleet. A pure
// function of the inventory and the managers' latest services facts; the
// query service reads those facts (ReadManagerReports) and
// `preflightctl status` shows the result.
#ifndef PREFLIGHT_COLLECTOR_READINESS_COUNTRYCONFIG_VERSIONS_H_
#define PREFLIGHT_COLLECTOR_READINESS_COUNTRYCONFIG_VERSIONS_H_

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "preflight/v1/config.pb.h"
#include "preflight/v1/facts.pb.h"
#include "preflight/v1/query.pb.h"

namespace preflight::collector {

// The environments compared, as the catalogue's vocabulary names them:
// staging is "a mirror of production".
inline constexpr char kProductionEnvironment[] = "production";
inline constexpr char kStagingEnvironment[] = "staging";

// One manager's latest report's services fact, as its agent reported it;
// null when that report carries none (an agent older than the fact).
struct ServicesReport {
  const v1::InventoryHost* reporter = nullptr;
  const v1::ServicesFact* services = nullptr;
  int64_t collected_at_unix_ms = 0;
  // When the collector received it, by its own clock (0: not known, then
  // collected_at stands in): what staleness is judged by.
  int64_t received_at_unix_ms = 0;
};

// Every countryconfig service (ServiceState.countryconfig) of the reports'
// OK services facts, one entry per manager and service, or one entry with a
// problem for a manager whose report tells none; reports in inventory order.
//
// Then production against staging, each side being what its managers
// report (a manager with a problem is passed over when another manager of
// its environment reports):
//   - SAME: one image repository and version (a leading v/V ignored, as
//     release.latest compares) on both sides;
//   - DIFFERENT (a warning, never gating): the versions or repositories
//     differ, or the managers of one side report more than one;
//   - NOT_COMPARED: a side has no manager in the inventory, none that
//     reported, none whose report tells its country configuration, or runs
//     an image without a version tag ("latest" names no release).
// The summary names both versions, images and hosts, or why not compared.
//
// A manager's word is not taken (it becomes a problem, so the manager is
// passed over) when its report arrived more than `stale_after` before `now`
// (the policy's staleness; zero: not judged), or when its countryconfig
// service is not settled — an update that is not completed (updating,
// paused, rolled back) or fewer tasks running than desired — since its
// tasks may then run another version than the spec names.
v1::CountryconfigComparison CompareCountryconfig(const v1::Inventory& inventory,
                                                 const std::vector<ServicesReport>& reports,
                                                 absl::Time now = absl::InfinitePast(),
                                                 absl::Duration stale_after = absl::ZeroDuration());

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_READINESS_COUNTRYCONFIG_VERSIONS_H_
