#include "agent/facts/run_cache.h"

#include "agent/facts/docker_api_exec.h"

namespace preflight::agent {

absl::StatusOr<CommandResult> RunCache::Run(const std::vector<std::string>& argv,
                                            absl::Duration timeout) {
  auto it = runs_.find(argv);
  if (it == runs_.end()) {
    std::optional<CommandResult> from_api = docker_api_.Answer(argv, host_, timeout);
    if (!from_api.has_value()) from_api = DockerApiExec(argv, host_, timeout);
    it = runs_
             .emplace(argv, from_api.has_value() ? absl::StatusOr<CommandResult>(*from_api)
                                                 : host_.Run(argv, timeout))
             .first;
  }
  return it->second;
}

}  // namespace preflight::agent
