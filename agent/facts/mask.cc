#include "agent/facts/mask.h"

namespace preflight::agent {

std::string MaskSecrets(absl::string_view line, bool* masked) {
  if (masked != nullptr) *masked = false;
  return std::string(line);
}

}  // namespace preflight::agent
