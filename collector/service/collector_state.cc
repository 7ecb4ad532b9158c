#include "collector/service/collector_state.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace preflight::collector {

void CollectorState::IndexHosts() {
  host_index.clear();
  for (const v1::InventoryHost& h : settings.inventory.hosts()) host_index.emplace(h.id(), &h);
}

const v1::InventoryHost* CollectorState::FindHost(absl::string_view host) const {
  if (!host_index.empty() || settings.inventory.hosts().empty()) {
    auto it = host_index.find(host);
    return it == host_index.end() ? nullptr : it->second;
  }
  for (const v1::InventoryHost& h : settings.inventory.hosts()) {  // not indexed (tests)
    if (h.id() == host) return &h;
  }
  return nullptr;
}

void Log(absl::string_view message) {
  std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                   " preflight-collector: ", message, "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace preflight::collector
