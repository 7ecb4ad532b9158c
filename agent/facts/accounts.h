// Fact kind "accounts": passwd, shadow lock state (never the hash), groups,
// sudoers rules, two-factor enrolment presence, and what removed accounts
// left behind (homes, sudoers drop-ins).
#ifndef PREFLIGHT_AGENT_FACTS_ACCOUNTS_H_
#define PREFLIGHT_AGENT_FACTS_ACCOUNTS_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
  std::string shell;
  uint32_t line = 0;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
  uint32_t line = 0;
};

// Problems (malformed lines) are appended to `problems` with `file`.
std::vector<PasswdEntry> ParsePasswd(absl::string_view content, absl::string_view file,
                                     std::vector<v1::ParseProblem>& problems);
std::vector<GroupEntry> ParseGroup(absl::string_view content, absl::string_view file,
                                   std::vector<v1::ParseProblem>& problems);
// name -> password state; the hash itself is looked at and dropped here.
std::map<std::string, v1::PasswordState> ParseShadow(absl::string_view content);
v1::PasswordState PasswordStateOf(absl::string_view hash_field);

// Whether a login shell lets the account run commands.
bool IsLoginShell(absl::string_view shell);

// Parses one sudoers file. User specifications become SudoRules; include
// directives (#include, @include, #includedir, @includedir) are returned in
// `includes` as written. User_Alias definitions go into `user_aliases`.
void ParseSudoers(absl::string_view content, absl::string_view file,
                  std::vector<v1::SudoRule>& rules, std::vector<std::string>& includes,
                  std::map<std::string, std::vector<std::string>>& user_aliases,
                  std::vector<v1::ParseProblem>& problems);

// Whether sudo reads a file of an #includedir directory: it skips names that
// end in '~' or contain a '.'.
bool SudoReadsDropIn(absl::string_view name);

std::unique_ptr<FactCollector> MakeAccountsCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_ACCOUNTS_H_
