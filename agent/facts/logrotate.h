// Fact kind "logrotate": /etc/logrotate.conf and everything it includes,
// parsed as logrotate reads it; whether logrotate is scheduled; last rotation
// per file from its status file; log files under /var/log and Docker's
// container logs (bounded walk) and which stanza covers each; journald's cap.
//
// The parser models logrotate 3.21 (Debian 12), including how it recovers
// from errors: a bad directive inside a stanza drops the whole stanza (and
// logrotate then skips to the next '}' at the start of a token); a bad global
// directive, a stray '}' or a bad "weekly" abandons the rest of the file; a
// file that had any error does not leave its global options behind when it
// was included. Every such error is a ParseProblem.
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

// Options as logrotate keeps them while parsing: the global ones, and a copy
// of them per stanza.
struct LogrotateOptions {
  enum class Criterion { kUnset, kHourly, kDaily, kWeekly, kMonthly, kYearly, kSize };
  Criterion criterion = Criterion::kUnset;  // logrotate's default is size 1 MiB
  uint64_t size_bytes = 0;                  // threshold of kSize
  uint64_t maxsize_bytes = 0;
  int32_t rotate = -1;  // -1 = never set
  bool compress = false;
  bool copytruncate = false;
  bool missingok = false;
  // On the stanza holding a file: a later stanza matching it again skips it
  // quietly instead of reporting a duplicate.
  bool ignoreduplicates = false;
  bool create = false;
  std::string create_mode;  // as written ("0660"), "" = logrotate's default
  std::string create_owner;
  std::string create_group;
  std::string su_user;
  std::string su_group;
};

// logrotate's default taboo list (tabooext), as fnmatch patterns: "*.dpkg-old".
const std::vector<std::string>& DefaultLogrotateTaboo();

// Called for an include directive (argument as written, line); returns false
// when logrotate would count the include as failed (the including file then
// "had an error").
using LogrotateIncludeFn = std::function<bool(const std::string& arg, uint32_t line)>;
// Expands one stanza pattern (quotes removed, as written; the stanza opens
// on `line`) to the paths logrotate's glob would find: sorted, directories
// left out; a pattern matching nothing that names an existing file as
// written is that file (glob's GLOB_NOCHECK).
using LogrotateExpandFn =
    std::function<std::vector<std::string>(const std::string& pattern, uint32_t line)>;
// Whether a user or group name (or a number naming one) exists.
using LogrotateNameFn = std::function<bool(const std::string& name)>;

// State shared by one configuration and every file it includes.
struct LogrotateParseState {
  LogrotateOptions defaults;                                 // global options in force
  std::vector<std::string> taboo = DefaultLogrotateTaboo();  // tabooext/taboopat
  std::string cwd = "/";       // where relative includes and patterns resolve
  LogrotateIncludeFn include;  // unset: includes are ignored
  LogrotateExpandFn expand;    // unset: stanzas match nothing
  LogrotateNameFn user_known;  // unset: every name is known
  LogrotateNameFn group_known;
  // Bookkeeping across files: include depth; names the stanzas so far
  // hold (paths matched, and patterns that matched nothing, which logrotate
  // keeps as names) -> whether the holding stanza has ignoreduplicates; how
  // many paths were matched and patterns read.
  uint32_t include_depth = 0;
  std::map<std::string, bool> claimed;
  size_t matched_total = 0;
  size_t patterns_total = 0;
};

// Parses one configuration file's text into fact.stanzas / fact.problems and
// state (global options, taboo list), calling state.include where an include
// directive appears and state.expand for each stanza's patterns. Writes the
// global options in force at its end to fact.defaults. Returns false when
// logrotate would report an error for this file.
bool ParseLogrotateConfig(absl::string_view content, absl::string_view file,
                          v1::LogrotateFact& fact, LogrotateParseState& state);

// Reads `main_file` (a file, or a directory read as by include) and every
// file it includes (include FILE|DIR, as logrotate: directory entries in
// sorted order, tabooext files skipped, group/world-writable files and, on
// the live host, files not owned by root ignored), into fact.files / defaults / stanzas /
// problems. Stanza patterns are expanded against the host into `matched`; a
// file matched by an earlier stanza is not matched again (logrotate reports
// a duplicate and drops the rest of that pattern's matches). User and group
// names in create/su are checked against the host's /etc/passwd and
// /etc/group when those can be read.
void ReadLogrotateConfig(HostEnv& env, absl::string_view main_file, size_t max_file_bytes,
                         v1::LogrotateFact& fact);

// Parses logrotate's status file ("logrotate state -- version 2" then
// "path" YYYY-M-D-H:M:S lines): path -> Unix time (UTC, as logrotate writes
// local time; the agent's hosts run UTC). Bad lines are skipped (problems).
std::map<std::string, int64_t> ParseLogrotateStatus(absl::string_view content,
                                                    absl::string_view file,
                                                    std::vector<v1::ParseProblem>* problems);

// The file a rotated copy belongs to: "syslog" for "syslog.1", "syslog.2.gz",
// "syslog-20240101", "syslog-20240101.gz"; "" when `name` does not look like
// a rotated copy.
std::string RotatedBaseName(absl::string_view name);

std::unique_ptr<FactCollector> MakeLogrotateCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_LOGROTATE_H_
