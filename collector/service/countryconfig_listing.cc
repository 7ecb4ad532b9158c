#include "collector/service/countryconfig_listing.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "collector/readiness/countryconfig_versions.h"
#include "proto/wire/status.h"

namespace preflight::collector {

absl::StatusOr<v1::CountryconfigComparison> ListCountryconfigVersions(
    Store& store, const v1::Inventory& inventory) {
  std::vector<const v1::InventoryHost*> reporters;
  std::vector<v1::FactReport> latest;
  for (const v1::InventoryHost& h : inventory.hosts()) {
    if (std::find(h.roles().begin(), h.roles().end(), "manager") == h.roles().end()) continue;
    ASSIGN_OR_RETURN(std::optional<v1::FactReport> facts, store.LatestFacts(h.id()));
    if (!facts.has_value()) continue;
    reporters.push_back(&h);
    latest.push_back(*std::move(facts));
  }
  std::vector<ServicesReport> reports;
  for (size_t i = 0; i < latest.size(); ++i) {
    reports.push_back({reporters[i], latest[i].has_services() ? &latest[i].services() : nullptr,
                       latest[i].collected_at_unix_ms()});
  }
  return CompareCountryconfig(inventory, reports);
}

}  // namespace preflight::collector
