// Fuzz target: the same bytes as /etc/passwd, /etc/group and /etc/shadow.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/facts/accounts.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace v1 = preflight::v1;
  using preflight::agent::GroupEntry;
  using preflight::agent::IsLoginShell;
  using preflight::agent::ParseGroup;
  using preflight::agent::ParsePasswd;
  using preflight::agent::ParseShadow;
  using preflight::agent::PasswdEntry;
  using preflight::agent::PasswordStateOf;

  const absl::string_view content(reinterpret_cast<const char*>(data), size);
  std::vector<v1::ParseProblem> problems;
  for (const PasswdEntry& e : ParsePasswd(content, "/etc/passwd", problems)) {
    PREFLIGHT_FUZZ_CHECK(!e.name.empty());
    PREFLIGHT_FUZZ_CHECK(e.line >= 1);
    IsLoginShell(e.shell);
  }
  for (const GroupEntry& g : ParseGroup(content, "/etc/group", problems)) {
    PREFLIGHT_FUZZ_CHECK(!g.name.empty());
    PREFLIGHT_FUZZ_CHECK(g.line >= 1);
  }
  for (const auto& [name, state] : ParseShadow(content)) {
    PREFLIGHT_FUZZ_CHECK(!name.empty());
    PREFLIGHT_FUZZ_CHECK(state != v1::PASSWORD_STATE_UNSPECIFIED);
  }
  for (const v1::ParseProblem& p : problems) PREFLIGHT_FUZZ_CHECK(p.line() >= 1);
  PasswordStateOf(content);
  IsLoginShell(content);
  return 0;
}
