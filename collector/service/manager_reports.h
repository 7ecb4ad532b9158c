// What the fleet status reads of the swarm managers' latest reports, from
// one reading of each: the swarm nodes no inventory host accounts for
// (FindUnknownNodes) and the country configuration of production against
// staging's (CompareCountryconfig). Both come from the latest report of
// every inventory host with role `manager`: a swarm's nodes and services are
// listed by its managers only.
#ifndef PREFLIGHT_COLLECTOR_SERVICE_MANAGER_REPORTS_H_
#define PREFLIGHT_COLLECTOR_SERVICE_MANAGER_REPORTS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/store/store.h"
#include "preflight/v1/config.pb.h"
#include "preflight/v1/query.pb.h"

namespace preflight::collector {

struct ManagerReports {
  std::vector<v1::UnknownNode> unknown_nodes;
  v1::CountryconfigComparison countryconfig;
};

// Managers are a few per swarm: their latest reports are read at each call
// rather than kept, and of each only the swarm and services facts are held
// while the managers are read. A manager that never reported is not read
// (the fleet verdict names it); one whose latest report lacks a fact is
// passed on as such (FindUnknownNodes, CompareCountryconfig say so).
// `now` is the collector's clock: a manager whose report arrived longer ago
// than the policy's staleness is not taken at its word on the country
// configuration.
absl::StatusOr<ManagerReports> ReadManagerReports(Store& store, const v1::Inventory& inventory,
                                                  const v1::Policy& policy, absl::Time now);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_MANAGER_REPORTS_H_
