// Masking secrets in a line that is allowed to leave the host in part (a
// cron command, a restore log line): passphrase and password arguments,
// KEY=value assignments of secret-looking names, credentials in URLs, tokens.
#ifndef PREFLIGHT_AGENT_FACTS_MASK_H_
#define PREFLIGHT_AGENT_FACTS_MASK_H_

#include <string>

#include "absl/strings/string_view.h"

namespace preflight::agent {

inline constexpr absl::string_view kMasked = "****";

// Returns `line` with every secret value replaced by kMasked; *masked (when
// given) says whether anything was replaced.
std::string MaskSecrets(absl::string_view line, bool* masked = nullptr);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_MASK_H_
