// Loading and validating the collector's configuration, inventory and policy.
#ifndef PREFLIGHT_COLLECTOR_CONFIG_H_
#define PREFLIGHT_COLLECTOR_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "preflight/v1/catalogue.pb.h"
#include "preflight/v1/config.pb.h"
#include "proto/wire/textproto.h"

namespace preflight::collector {

struct CollectorSettings {
  v1::CollectorConfig config;  // paths resolved, defaults applied
  v1::Inventory inventory;     // inline and file hosts merged
  v1::Policy policy;           // defaults applied
};

// worker_threads when the configuration leaves it at 0: 4 per core
// (std::thread::hardware_concurrency), at least 4 and at most 64. A worker
// spends most of a report waiting for its synced write, and RocksDB commits
// the writes that wait together with one sync (group commit): more workers
// than cores is what lets it batch. Measured with tests/bench/load_bench.cc
// (README, Performance).
uint32_t DefaultWorkerThreads();

// Reads `path` (text format) and the inventory and policy files it names.
// Errors name the file (and line and column for syntax errors).
absl::StatusOr<CollectorSettings> LoadCollectorSettings(const std::string& path);

// Checks an inventory: valid, unique host ids and an environment for each.
absl::Status ValidateInventory(const v1::Inventory& inventory, const std::string& source);

// Checks a policy against the catalogue and the inventory: every environment
// and role named (gating list, inventory, overrides) is declared ("did you
// mean production?"), overrides name exactly one declared selector and set
// only check parameters, values are within the catalogue's bounds (dates are
// RFC 3339 full-dates), and orderings such as warn < fail hold for every
// host's effective values. Errors, one per line, name file:line:column from
// Policy.locations and `inventory_locations`.
absl::Status ValidatePolicy(const v1::Catalogue& catalogue, const v1::Policy& policy,
                            const v1::Inventory& inventory,
                            const TextLocations& inventory_locations);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_CONFIG_H_
