#include "agent/facts/cron.h"

namespace preflight::agent {

std::vector<v1::CronJob> ParseCrontab(absl::string_view, absl::string_view, absl::string_view,
                                      std::vector<v1::ParseProblem>*) {
  return {};
}

std::string CronJobKind(absl::string_view) { return ""; }

}  // namespace preflight::agent
