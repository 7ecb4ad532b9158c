#include "agent/host/glob.h"

namespace preflight::agent {

bool HasGlobChars(absl::string_view s) { return s.find_first_of("*?[") != absl::string_view::npos; }

std::vector<std::string> ExpandGlob(HostEnv&, absl::string_view, size_t, bool*) { return {}; }

}  // namespace preflight::agent
