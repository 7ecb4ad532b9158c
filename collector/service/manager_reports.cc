#include "collector/service/manager_reports.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "collector/readiness/countryconfig_versions.h"
#include "collector/readiness/engine.h"
#include "collector/readiness/unknown_nodes.h"
#include "proto/wire/status.h"

namespace preflight::collector {

absl::StatusOr<ManagerReports> ReadManagerReports(Store& store, const v1::Inventory& inventory,
                                                  const v1::Policy& policy, absl::Time now) {
  struct Kept {
    const v1::InventoryHost* host;
    std::optional<v1::SwarmFact> swarm;
    std::optional<v1::ServicesFact> services;
    int64_t collected_at_unix_ms;
    int64_t received_at_unix_ms;  // the collector's clock, from the latest verdicts
  };
  std::vector<Kept> kept;
  for (const v1::InventoryHost& h : inventory.hosts()) {
    if (std::find(h.roles().begin(), h.roles().end(), "manager") == h.roles().end()) continue;
    ASSIGN_OR_RETURN(std::optional<v1::FactReport> facts, store.LatestFacts(h.id()));
    if (!facts.has_value()) continue;
    ASSIGN_OR_RETURN(std::optional<v1::HostVerdicts> verdicts, store.LatestVerdicts(h.id()));
    Kept k{&h, std::nullopt, std::nullopt, facts->collected_at_unix_ms(),
           verdicts.has_value() ? verdicts->received_at_unix_ms() : 0};
    if (facts->has_swarm()) k.swarm = std::move(*facts->mutable_swarm());
    if (facts->has_services()) k.services = std::move(*facts->mutable_services());
    kept.push_back(std::move(k));
  }
  std::vector<SwarmReport> swarms;
  std::vector<ServicesReport> services;
  for (const Kept& k : kept) {
    swarms.push_back({k.host, k.swarm ? &*k.swarm : nullptr, k.collected_at_unix_ms});
    services.push_back({k.host, k.services ? &*k.services : nullptr, k.collected_at_unix_ms,
                        k.received_at_unix_ms});
  }
  ManagerReports out;
  out.unknown_nodes = FindUnknownNodes(inventory, policy, swarms);
  out.countryconfig = CompareCountryconfig(
      inventory, services, now, absl::Seconds(WithPolicyDefaults(policy).staleness_seconds()));
  return out;
}

}  // namespace preflight::collector
