// Fuzz target: `nft -j list ruleset` output through ParseNftJson.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "agent/facts/firewall.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view content(reinterpret_cast<const char*>(data), size);
  for (bool skip : {false, true}) {
    preflight::v1::FirewallFact fact;
    preflight::agent::ParseNftJson(content, skip, fact);
    PREFLIGHT_FUZZ_CHECK(fact.nft_rules_size() <= 50'000);
  }
  return 0;
}
