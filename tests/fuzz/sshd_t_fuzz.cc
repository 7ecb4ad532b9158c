// Fuzz target: `sshd -T` output through ParseSshdT and CompareWithSshdT
// (against the effective settings of an empty configuration).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/facts/sshd_config.h"
#include "agent/facts/sshd_effective.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace v1 = preflight::v1;
  using preflight::agent::CompareWithSshdT;
  using preflight::agent::ComputeSshdEffective;
  using preflight::agent::ConnectionSpec;
  using preflight::agent::ParseSshdT;

  const absl::string_view output(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseSshdT(output);
  for (const auto& [keyword, values] : parsed) {
    PREFLIGHT_FUZZ_CHECK(!values.empty());
    PREFLIGHT_FUZZ_CHECK(keyword.find('\n') == std::string::npos);
  }

  static const v1::SshdEffective* const kOurs = [] {
    ConnectionSpec spec;
    spec.user = "root";
    spec.groups = {"root"};
    spec.host = spec.addr = "203.0.113.10";
    spec.laddr = "0.0.0.0";
    return new v1::SshdEffective(ComputeSshdEffective(v1::SshdConfigFact(), spec));
  }();
  std::vector<v1::SshdOracleDiff> diffs = CompareWithSshdT(*kOurs, output);
  PREFLIGHT_FUZZ_CHECK(diffs.size() <= static_cast<size_t>(kOurs->settings_size()));
  for (const v1::SshdOracleDiff& d : diffs) PREFLIGHT_FUZZ_CHECK(d.ours() != d.sshd());
  return 0;
}
