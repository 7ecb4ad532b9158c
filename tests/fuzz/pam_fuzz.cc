// Fuzz target: one PAM file through ParsePam (all types, then auth only) with
// an include callback that only records, and SummarizePam.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "agent/facts/pam.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace v1 = preflight::v1;
  using preflight::agent::ParsePam;
  using preflight::agent::SummarizePam;

  const absl::string_view content(reinterpret_cast<const char*>(data), size);
  // The collector indexes the included name (name[0]): it must not be empty.
  auto on_include = [](absl::string_view name, absl::string_view) {
    PREFLIGHT_FUZZ_CHECK(!name.empty());
  };
  for (absl::string_view only_type : {"", "auth"}) {
    v1::PamFact fact;
    ParsePam(content, "/etc/pam.d/sshd", only_type, fact, on_include);
    SummarizePam(fact);
    for (const v1::PamRule& r : fact.rules()) {
      PREFLIGHT_FUZZ_CHECK(r.line() >= 1);
      PREFLIGHT_FUZZ_CHECK(!r.module().empty());
      if (!only_type.empty()) PREFLIGHT_FUZZ_CHECK(r.type() == only_type);
    }
    PREFLIGHT_FUZZ_CHECK(fact.rules_size() <= 1000);
    if (fact.google_authenticator_nullok()) PREFLIGHT_FUZZ_CHECK(fact.google_authenticator());
  }
  return 0;
}
