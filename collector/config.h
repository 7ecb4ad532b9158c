// Loading and validating the collector's configuration, inventory and policy.
#ifndef PREFLIGHT_COLLECTOR_CONFIG_H_
#define PREFLIGHT_COLLECTOR_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "preflight/v1/config.pb.h"

namespace preflight::collector {

struct CollectorSettings {
  v1::CollectorConfig config;  // paths resolved, defaults applied
  v1::Inventory inventory;     // inline and file hosts merged
  v1::Policy policy;           // defaults applied
};

// Reads `path` (text format) and the inventory and policy files it names.
// Errors name the file (and line and column for syntax errors).
absl::StatusOr<CollectorSettings> LoadCollectorSettings(const std::string& path);

// Checks an inventory: valid, unique host ids and an environment for each.
absl::Status ValidateInventory(const v1::Inventory& inventory, const std::string& source);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_CONFIG_H_
