// Fuzz target: /proc/mounts through ParseMounts.
#include <cstddef>
#include <cstdint>
#include <set>

#include "absl/strings/string_view.h"
#include "agent/facts/disks.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view content(reinterpret_cast<const char*>(data), size);
  std::set<std::string> points;
  for (const auto& m : preflight::agent::ParseMounts(content)) {
    PREFLIGHT_FUZZ_CHECK(points.insert(m.mount_point).second);  // one entry per point
    PREFLIGHT_FUZZ_CHECK(m.line >= 1);
  }
  PREFLIGHT_FUZZ_CHECK(points.size() <= 4097);
  return 0;
}
