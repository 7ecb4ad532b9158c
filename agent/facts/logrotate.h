// Fact kind "logrotate": /etc/logrotate.conf and everything it includes,
// parsed as logrotate reads it; whether logrotate is scheduled; last rotation
// per file from its status file; log files under /var/log and Docker's
// container logs (bounded walk) and which stanza covers each; journald's cap.
#ifndef PREFLIGHT_AGENT_FACTS_LOGROTATE_H_
#define PREFLIGHT_AGENT_FACTS_LOGROTATE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// Reads `main_file` and every file it includes (include FILE|DIR, as
// logrotate: directory entries in sorted order, tabooext files skipped),
// into fact.files / defaults / stanzas / problems. Stanza patterns are
// expanded against the host into `matched`; a file matched by an earlier
// stanza is not matched again (logrotate reports a duplicate).
void ReadLogrotateConfig(HostEnv& env, absl::string_view main_file, size_t max_file_bytes,
                         v1::LogrotateFact& fact);

// Parses one configuration file's text. `include` is called for each include
// directive (argument, line) at the point it appears.
using LogrotateIncludeFn = std::function<void(const std::string& arg, uint32_t line)>;
void ParseLogrotateConfig(absl::string_view content, absl::string_view file,
                          v1::LogrotateFact& fact, const LogrotateIncludeFn& include);

// Parses logrotate's status file ("logrotate state -- version 2" then
// "path" YYYY-M-D-H:M:S lines): path -> Unix time (UTC, as logrotate writes
// local time; the agent's hosts run UTC).
std::map<std::string, int64_t> ParseLogrotateStatus(absl::string_view content,
                                                    absl::string_view file,
                                                    std::vector<v1::ParseProblem>* problems);

std::unique_ptr<FactCollector> MakeLogrotateCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_LOGROTATE_H_
