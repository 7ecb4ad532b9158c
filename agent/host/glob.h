// Glob expansion through a HostEnv, as glob(3) does it for logrotate and
// similar readers: every path component may hold * ? [..] patterns; a leading
// '.' is only matched explicitly; results are sorted per directory level.
#ifndef PREFLIGHT_AGENT_HOST_GLOB_H_
#define PREFLIGHT_AGENT_HOST_GLOB_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/host/host_env.h"

namespace preflight::agent {

// True when `s` contains a glob metacharacter (* ? [).
bool HasGlobChars(absl::string_view s);

// Expands an absolute pattern against the host. A pattern without
// metacharacters is returned as is when the path exists. At most `limit`
// paths; *truncated is set when more matched. Unreadable directories are
// skipped (as glob(3) without GLOB_ERR).
std::vector<std::string> ExpandGlob(HostEnv& env, absl::string_view pattern, size_t limit,
                                    bool* truncated = nullptr);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_HOST_GLOB_H_
