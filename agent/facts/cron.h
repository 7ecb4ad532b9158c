// Crontab parsing: user crontabs (/var/spool/cron/crontabs/<user>, no user
// field) and system ones (/etc/crontab, /etc/cron.d/*, with a user field).
// Commands are returned with secrets masked (mask.h).
#ifndef PREFLIGHT_AGENT_FACTS_CRON_H_
#define PREFLIGHT_AGENT_FACTS_CRON_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::agent {

// Every job of a crontab (environment lines and comments skipped). For a
// user crontab, `owner` is the user; for system crontabs pass "" and the
// sixth field is the user. Malformed lines go to `problems`.
std::vector<v1::CronJob> ParseCrontab(absl::string_view content, absl::string_view file,
                                      absl::string_view owner,
                                      std::vector<v1::ParseProblem>* problems);

// What an OpenCRVS job does, from its command: "backup" (backup.sh),
// "download" (download.sh), "restore" (restore.sh), "rotate"
// (rotate_backups.sh); "" for anything else.
std::string CronJobKind(absl::string_view command);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_CRON_H_
