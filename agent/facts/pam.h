// Fact kind "pam": the PAM stack of the sshd service as libpam assembles it
// (Debian's Linux-PAM 1.5): lines joined at a trailing backslash and cut at
// '#', @include and include inline at the same level, substack one level
// deeper behind a placeholder rule, lines libpam cannot parse kept as rules
// that always fail, and whether each module's file exists.
#ifndef PREFLIGHT_AGENT_FACTS_PAM_H_
#define PREFLIGHT_AGENT_FACTS_PAM_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// Where libpam loads a module named without a path from (Debian's
// DEFAULT_MODULE_PATH), and its merged-/usr twin.
inline constexpr absl::string_view kPamModuleDir = "/lib/x86_64-linux-gnu/security/";
inline constexpr absl::string_view kPamModuleDirUsr = "/usr/lib/x86_64-linux-gnu/security/";
// libpam's PAM_SUBSTACK_MAX_LEVEL: a substack this deep is not loaded.
inline constexpr uint32_t kPamMaxSubstackLevel = 16;

// A file that a line asks libpam to read in: "@include NAME" (every type
// the current file is read for), or a rule whose control is include or
// substack (its type only).
struct PamInclude {
  std::string name;  // as written (relative names are under /etc/pam.d)
  std::string type;  // "" for every type
  bool substack = false;
  bool at_include = false;  // "@include"
  uint32_t depth = 0;       // the level its rules get
};

// Reads the included file and parses it (appending its rules); returns
// whether it was loaded. When it was not, the parser adds the failing rule
// libpam adds (include, substack); an @include that fails is the caller's
// to record in PamFact.load_error.
using PamFollowFn = std::function<bool(const PamInclude&)>;

// Parses one PAM file into fact.rules at substack level `depth`, keeping
// lines of `only_type` when not empty (a line with an illegal type is kept
// as a failing rule of `only_type`, or of auth when reading every type).
void ParsePamStack(absl::string_view content, absl::string_view file, absl::string_view only_type,
                   uint32_t depth, v1::PamFact& fact, const PamFollowFn& follow);

// The older entry point: depth 0, and every include counts as loaded after
// `on_include` is told of it.
using PamIncludeFn = std::function<void(absl::string_view name, absl::string_view type)>;
void ParsePam(absl::string_view content, absl::string_view file, absl::string_view only_type,
              v1::PamFact& fact, const PamIncludeFn& on_include);

// Fills the summary fields (google_authenticator, nullok, unix_password_auth)
// from fact.rules. They say what is in the stack, not what it lets through:
// checks ask collector/checks/pam_model for that.
void SummarizePam(v1::PamFact& fact);

std::unique_ptr<FactCollector> MakePamCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_PAM_H_
