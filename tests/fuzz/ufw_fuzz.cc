// Fuzz target: ufw's files (ufw.conf, /etc/default/ufw, user.rules).
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "agent/facts/firewall.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view content(reinterpret_cast<const char*>(data), size);
  preflight::v1::UfwState ufw;
  preflight::agent::ParseUfwConf(content, "/etc/ufw/ufw.conf", ufw);
  preflight::agent::ParseUfwDefaults(content, ufw);
  preflight::agent::ParseUfwUserRules(content, "/etc/ufw/user.rules", false, ufw);
  PREFLIGHT_FUZZ_CHECK(ufw.installed());
  for (const auto& r : ufw.rules())
    PREFLIGHT_FUZZ_CHECK(r.direction() == "in" || r.direction() == "out");
  return 0;
}
