// Fuzz target: iptables-save output through ParseIptablesSave (IPv4 and v6).
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "agent/facts/firewall.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view content(reinterpret_cast<const char*>(data), size);
  for (bool v6 : {false, true}) {
    preflight::v1::FirewallFact fact;
    preflight::agent::ParseIptablesSave(content, v6, "iptables-save", fact);
    PREFLIGHT_FUZZ_CHECK(fact.rules_size() <= 50'000);
    for (const auto& d : fact.docker_published()) {
      PREFLIGHT_FUZZ_CHECK(d.chain() == "DOCKER" || d.chain() == "DOCKER-INGRESS");
    }
  }
  return 0;
}
