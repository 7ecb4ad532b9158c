#include "collector/service/collector_state.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace preflight::collector {

const v1::InventoryHost* CollectorState::FindHost(absl::string_view host) const {
  for (const v1::InventoryHost& h : settings.inventory.hosts()) {
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
