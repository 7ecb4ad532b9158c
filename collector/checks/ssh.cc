// Check area "ssh": checklist items 12, 13 and 18.
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "collector/checks/check.h"

namespace preflight::collector {
namespace {

// OpenSSH's compiled-in default since 7.0.
constexpr absl::string_view kDefaultPermitRootLogin = "prohibit-password";

struct Setting {
  std::string value;
  std::string source;
  const v1::SshdMatchBlock* block = nullptr;  // nullptr: global section
};

// The first value of `keyword` in the global section (sshd keeps the first
// value it reads), then every value set inside Match blocks.
std::vector<Setting> FindSettings(const v1::SshdConfigFact& fact, absl::string_view keyword,
                                  std::optional<Setting>& global) {
  std::vector<Setting> in_match;
  for (const v1::SshdDirective& d : fact.directives()) {
    if (d.keyword() != keyword || d.args_size() == 0) continue;
    Setting s{absl::AsciiStrToLower(d.args(0)), SourceOf(d.file(), d.line()), nullptr};
    if (d.match_block() == 0) {
      if (!global.has_value()) global = s;
    } else if (d.match_block() <= static_cast<uint32_t>(fact.match_blocks_size())) {
      s.block = &fact.match_blocks(static_cast<int>(d.match_block() - 1));
      in_match.push_back(s);
    }
  }
  return in_match;
}

v1::Verdict RootLoginDisabled(const v1::FactReport& report, const EvalContext&) {
  const v1::SshdConfigFact& fact = report.sshd();
  v1::Verdict unusable =
      UnusableFact(fact.collection(), "sshd configuration",
                   fact.main_file().empty() ? "/etc/ssh/sshd_config" : fact.main_file());
  if (unusable.status() != v1::CHECK_STATUS_UNSPECIFIED) return unusable;

  std::vector<v1::Evidence> evidence;
  std::optional<Setting> global;
  std::vector<Setting> in_match = FindSettings(fact, "permitrootlogin", global);
  bool fail = false;
  if (!global.has_value()) {
    fail = true;
    evidence.push_back(
        MakeEvidence(absl::StrCat("PermitRootLogin is not set, so sshd's default '",
                                  kDefaultPermitRootLogin, "' applies: root may log in with a key"),
                     "default (OpenSSH)", std::string(kDefaultPermitRootLogin), "no"));
  } else if (global->value != "no") {
    fail = true;
    evidence.push_back(MakeEvidence(absl::StrCat("PermitRootLogin is '", global->value, "'"),
                                    global->source, global->value, "no"));
  } else {
    evidence.push_back(MakeEvidence("PermitRootLogin is 'no' for every connection outside Match",
                                    global->source, "no", "no"));
  }
  for (const Setting& s : in_match) {
    if (s.value == "no") continue;
    fail = true;
    evidence.push_back(MakeEvidence(
        absl::StrCat("Match ", s.block->criteria(), " sets PermitRootLogin '", s.value, "'"),
        s.source, s.value, "no"));
  }
  for (const v1::ParseProblem& p : fact.problems()) {
    evidence.push_back(MakeEvidence(absl::StrCat("sshd would reject this line: ", p.message()),
                                    SourceOf(p.file(), p.line())));
  }
  return MakeVerdict(fail ? v1::FAIL : v1::PASS, std::move(evidence));
}

}  // namespace

void RegisterSshChecks(CheckRegistry& registry) {
  Check root;
  root.info.set_id("ssh.root_login_disabled");
  root.info.set_title("Root login is disabled");
  root.info.set_checklist_item(13);
  root.info.set_severity(v1::BLOCKER);
  root.info.set_remediation(
      "Set 'PermitRootLogin no' in /etc/ssh/sshd_config (and in no drop-in or Match block set "
      "it otherwise), then 'systemctl reload ssh'. OpenCRVS's provisioning does this unless it "
      "ran as root.");
  root.evaluate = RootLoginDisabled;
  registry.Add(std::move(root));
}

}  // namespace preflight::collector
