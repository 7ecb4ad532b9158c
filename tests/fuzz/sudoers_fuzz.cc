// Fuzz target: one sudoers file through ParseSudoers.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/facts/accounts.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace v1 = preflight::v1;
  using preflight::agent::ParseSudoers;
  using preflight::agent::SudoReadsDropIn;

  const absl::string_view content(reinterpret_cast<const char*>(data), size);
  std::vector<v1::SudoRule> rules;
  std::vector<std::string> includes;
  std::map<std::string, std::vector<std::string>> aliases;
  std::vector<v1::ParseProblem> problems;
  ParseSudoers(content, "/etc/sudoers.d/alice", rules, includes, aliases, problems);
  for (const v1::SudoRule& r : rules) {
    PREFLIGHT_FUZZ_CHECK(r.line() >= 1);
    PREFLIGHT_FUZZ_CHECK(r.file() == "/etc/sudoers.d/alice");
  }
  for (const std::string& inc : includes) SudoReadsDropIn(inc);
  SudoReadsDropIn(content);
  return 0;
}
