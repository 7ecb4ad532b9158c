// Fuzz target: one sshd_config file through ParseSshdConfig (Include lines
// re-parse the same content inside the block they sit in, a few times), then
// ComputeSshdEffective for fixed IPv4 and IPv6 connections.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/facts/sshd_config.h"
#include "agent/facts/sshd_effective.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using preflight::agent::ComputeSshdEffective;
using preflight::agent::ConnectionSpec;
using preflight::agent::ParseSshdConfig;
using preflight::agent::SshdIncludeFn;
using preflight::agent::TrackedSshdKeywords;
namespace v1 = preflight::v1;

constexpr int kMaxIncludes = 3;

void CheckEffective(const v1::SshdConfigFact& fact, const ConnectionSpec& spec) {
  v1::SshdEffective e = ComputeSshdEffective(fact, spec);
  const std::vector<std::string>& tracked = TrackedSshdKeywords();
  PREFLIGHT_FUZZ_CHECK(e.settings_size() == static_cast<int>(tracked.size()));
  for (int i = 0; i < e.settings_size(); ++i) {
    PREFLIGHT_FUZZ_CHECK(e.settings(i).keyword() == tracked[static_cast<size_t>(i)]);
    PREFLIGHT_FUZZ_CHECK(!e.settings(i).source().empty());
  }
  for (uint32_t b : e.matched_blocks()) {
    PREFLIGHT_FUZZ_CHECK(b >= 1 && b <= static_cast<uint32_t>(fact.match_blocks_size()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view content(reinterpret_cast<const char*>(data), size);
  v1::SshdConfigFact fact;
  int includes = 0;
  SshdIncludeFn on_include;
  on_include = [&](const std::vector<std::string>&, uint32_t, uint32_t match_block) {
    PREFLIGHT_FUZZ_CHECK(match_block <= static_cast<uint32_t>(fact.match_blocks_size()));
    if (++includes > kMaxIncludes) return;
    ParseSshdConfig(content, "/etc/ssh/sshd_config.d/fuzz.conf", fact, match_block, on_include);
  };
  ParseSshdConfig(content, "/etc/ssh/sshd_config", fact, 0, on_include);

  for (const v1::SshdDirective& d : fact.directives()) {
    PREFLIGHT_FUZZ_CHECK(d.match_block() <= static_cast<uint32_t>(fact.match_blocks_size()));
    PREFLIGHT_FUZZ_CHECK(d.line() >= 1);
    PREFLIGHT_FUZZ_CHECK(!d.keyword().empty());
  }

  ConnectionSpec v4;
  v4.user = "root";
  v4.groups = {"root", "sudo", "docker"};
  v4.host = "203.0.113.10";
  v4.addr = "203.0.113.10";
  v4.laddr = "192.0.2.1";
  v4.lport = 22;
  CheckEffective(fact, v4);

  ConnectionSpec v6;
  v6.user = "provision";
  v6.groups = {"provision", "application"};
  v6.host = "ops.example.org";
  v6.addr = "2001:db8::5";
  v6.laddr = "2001:db8::1";
  v6.lport = 2222;
  CheckEffective(fact, v6);
  return 0;
}
