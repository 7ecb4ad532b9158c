// Check area "history": checklist item 17 (terminal history deleted on all
// production, staging and backup servers).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/checks/check.h"

namespace preflight::collector {
namespace {

v1::Verdict HistoryCleared(const v1::FactReport& report, const EvalContext& ctx) {
  const auto& gating = ctx.policy.gating_environments();
  if (std::find(gating.begin(), gating.end(), ctx.host.environment()) == gating.end()) {
    return MakeVerdict(
        v1::NOT_APPLICABLE,
        {MakeEvidence(
            absl::StrCat("history must be cleared on gating environments (",
                         absl::StrJoin(gating, ", "), "); this host is ", ctx.host.environment()),
            "policy")});
  }
  const v1::ShellHistoryFact& history = report.shell_history();
  v1::Verdict unusable = UnusableFact(report, history, "shell history", "home directories");
  if (unusable.status() != v1::CHECK_STATUS_UNSPECIFIED) return unusable;
  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = v1::PASS;
  size_t empty = 0;
  for (const v1::HistoryFile& f : history.files()) {
    if (f.lines() == 0) {
      ++empty;
      continue;
    }
    status = v1::FAIL;
    std::vector<std::string> secrets;
    for (const v1::SecretMatch& m : f.secrets()) {
      std::vector<std::string> lines;
      for (uint32_t l : m.lines()) lines.push_back(absl::StrCat(l));
      secrets.push_back(
          absl::StrCat(m.count(), " ", m.pattern(), " (line", m.lines_size() > 1 ? "s " : " ",
                       absl::StrJoin(lines, ", "),
                       m.count() > static_cast<uint32_t>(m.lines_size()) ? ", ..." : "", ")"));
    }
    evidence.push_back(MakeEvidence(
        absl::StrCat(f.orphan() ? "left in the home of removed account " : "account ", f.account(),
                     ": ", f.lines(), " command line(s)",
                     secrets.empty()
                         ? ""
                         : absl::StrCat("; secret-looking: ", absl::StrJoin(secrets, "; "))),
        f.path(), absl::StrCat(f.lines(), " lines"), "empty"));
  }
  for (const v1::ParseProblem& p : history.problems()) {
    status = Worst(status, v1::UNKNOWN);
    evidence.push_back(MakeEvidence(absl::StrCat("cannot read: ", p.message()), p.file()));
  }
  if (status == v1::PASS) {
    evidence.push_back(MakeEvidence(
        absl::StrCat("no history lines in any home (", empty, " empty history file(s))"),
        "home directories", "empty", "empty"));
  }
  return MakeVerdict(status, std::move(evidence));
}

}  // namespace

void RegisterHistoryChecks(CheckRegistry& registry) {
  registry.Bind("shell.history_cleared", HistoryCleared);
}

}  // namespace preflight::collector
