#include "agent/facts/run_cache.h"

namespace preflight::agent {

absl::StatusOr<CommandResult> RunCache::Run(const std::vector<std::string>& argv,
                                            absl::Duration timeout) {
  auto it = runs_.find(argv);
  if (it == runs_.end()) it = runs_.emplace(argv, host_.Run(argv, timeout)).first;
  return it->second;
}

}  // namespace preflight::agent
