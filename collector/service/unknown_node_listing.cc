#include "collector/service/unknown_node_listing.h"

#include <utility>

#include "collector/service/manager_reports.h"
#include "proto/wire/status.h"

namespace preflight::collector {

absl::StatusOr<std::vector<v1::UnknownNode>> ListUnknownNodes(Store& store,
                                                              const v1::Inventory& inventory,
                                                              const v1::Policy& policy) {
  ASSIGN_OR_RETURN(ManagerReports reports,
                   ReadManagerReports(store, inventory, policy, absl::Now()));
  return std::move(reports.unknown_nodes);
}

}  // namespace preflight::collector
