// Fuzz target: /proc/net/{tcp,udp}[6] through ParseProcNet, and ScopeOf.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/facts/sockets.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view content(reinterpret_cast<const char*>(data), size);
  for (const char* proto : {"tcp", "udp"}) {
    for (bool v6 : {false, true}) {
      std::vector<preflight::v1::ParseProblem> problems;
      auto sockets = preflight::agent::ParseProcNet(content, "/proc/net/x", proto, v6, problems);
      for (const auto& s : sockets) {
        PREFLIGHT_FUZZ_CHECK(s.port() <= 65535);
        PREFLIGHT_FUZZ_CHECK(s.scope() != preflight::v1::ADDRESS_SCOPE_UNSPECIFIED);
      }
    }
  }
  preflight::agent::ScopeOf(content);
  return 0;
}
