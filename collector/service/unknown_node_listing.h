// The swarm nodes no inventory host accounts for, read from the store: the
// latest report of every inventory host with role `manager`, judged by
// FindUnknownNodes. One reading for `preflightctl status` (QueryService)
// and the event watch, so both see the same nodes.
#ifndef PREFLIGHT_COLLECTOR_SERVICE_UNKNOWN_NODE_LISTING_H_
#define PREFLIGHT_COLLECTOR_SERVICE_UNKNOWN_NODE_LISTING_H_

#include <vector>

#include "absl/status/statusor.h"
#include "collector/store/store.h"
#include "preflight/v1/config.pb.h"
#include "preflight/v1/query.pb.h"

namespace preflight::collector {

// Managers are a few per swarm: their latest reports are read at each call
// rather than kept. A manager that never reported is not read here (the
// fleet verdict already names it); one whose latest report has no swarm
// fact is passed on as such (FindUnknownNodes makes it a problem entry).
absl::StatusOr<std::vector<v1::UnknownNode>> ListUnknownNodes(Store& store,
                                                              const v1::Inventory& inventory,
                                                              const v1::Policy& policy);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_UNKNOWN_NODE_LISTING_H_
