// Fuzz target: history scanning (ScanHistory) and HISTFILE overrides.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "agent/facts/shell_history.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view content(reinterpret_cast<const char*>(data), size);
  preflight::v1::HistoryFile file;
  preflight::agent::ScanHistory(content, file);
  for (const auto& m : file.secrets()) {
    PREFLIGHT_FUZZ_CHECK(m.count() >= static_cast<uint32_t>(m.lines_size()));
    PREFLIGHT_FUZZ_CHECK(m.lines_size() <= 20);
    PREFLIGHT_FUZZ_CHECK(m.count() <= file.lines());
  }
  for (const auto& p : preflight::agent::HistfileOverrides(content, "/home/a")) {
    PREFLIGHT_FUZZ_CHECK(!p.empty() && p[0] == '/');
  }
  return 0;
}
