#include "collector/service/unknown_node_listing.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "collector/readiness/unknown_nodes.h"
#include "proto/wire/status.h"

namespace preflight::collector {

absl::StatusOr<std::vector<v1::UnknownNode>> ListUnknownNodes(Store& store,
                                                              const v1::Inventory& inventory,
                                                              const v1::Policy& policy) {
  std::vector<const v1::InventoryHost*> reporters;
  std::vector<v1::FactReport> latest;
  for (const v1::InventoryHost& h : inventory.hosts()) {
    if (std::find(h.roles().begin(), h.roles().end(), "manager") == h.roles().end()) continue;
    ASSIGN_OR_RETURN(std::optional<v1::FactReport> facts, store.LatestFacts(h.id()));
    if (!facts.has_value()) continue;
    reporters.push_back(&h);
    latest.push_back(*std::move(facts));
  }
  std::vector<SwarmReport> reports;
  for (size_t i = 0; i < latest.size(); ++i) {
    reports.push_back({reporters[i], latest[i].has_swarm() ? &latest[i].swarm() : nullptr,
                       latest[i].collected_at_unix_ms()});
  }
  return FindUnknownNodes(inventory, policy, reports);
}

}  // namespace preflight::collector
