#include "collector/checks/release_version.h"

namespace preflight::collector {

std::string NormalVersion(absl::string_view version) {
  if (version.size() > 1 && (version[0] == 'v' || version[0] == 'V')) version.remove_prefix(1);
  return std::string(version);
}

bool SameVersion(absl::string_view a, absl::string_view b) {
  return NormalVersion(a) == NormalVersion(b);
}

}  // namespace preflight::collector
