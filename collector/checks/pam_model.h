// The sshd PAM auth stack as libpam (Linux-PAM 1.5, Debian 12) runs it:
// pam_authenticate's dispatch over the rules the agent reports (control
// values, [value=action] with jumps, include inline, substack one level
// deeper, lines libpam cannot parse, missing modules), with the modules
// sshd stacks use modelled from their sources. For one account and one
// scenario (the attacker knows the Unix password or not, the one-time code
// or not) it says what pam_authenticate returns and which rules decided.
// A rule whose result the model cannot know is tried with each result that
// leads somewhere different; when they disagree the answer is unknown and
// names the rule. Checked against the real libpam by
// tests/oracle/pam_oracle_test.cc.
#ifndef PREFLIGHT_COLLECTOR_CHECKS_PAM_MODEL_H_
#define PREFLIGHT_COLLECTOR_CHECKS_PAM_MODEL_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::collector {

// Linux-PAM's return codes (security/_pam_types.h) that the model uses.
inline constexpr int kPamSuccess = 0;
inline constexpr int kPamServiceErr = 3;
inline constexpr int kPamPermDenied = 6;
inline constexpr int kPamAuthErr = 7;
inline constexpr int kPamUserUnknown = 10;
inline constexpr int kPamAuthtokRecoverErr = 21;
inline constexpr int kPamIgnore = 25;
inline constexpr int kPamAbort = 26;
inline constexpr int kPamModuleUnknown = 28;
inline constexpr int kPamReturnValues = 32;

// libpam's actions: a positive value is a jump over that many rules.
inline constexpr int kActionIgnore = 0;
inline constexpr int kActionOk = -1;
inline constexpr int kActionDone = -2;
inline constexpr int kActionBad = -3;
inline constexpr int kActionDie = -4;
inline constexpr int kActionReset = -5;

std::string PamCodeName(int code);
std::string PamActionName(int action);

// The action for each return code of a control as written ("required",
// "[success=1 default=ignore]"), as libpam's parser fills it; an unparsable
// control makes every action bad (and sets *error).
std::array<int, kPamReturnValues> PamActions(absl::string_view control,
                                             std::string* error = nullptr);

struct PamAccount {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
  std::string shell;
  std::vector<std::string> groups;  // primary and supplementary names
  v1::PasswordState password = v1::PASSWORD_STATE_UNSPECIFIED;
  bool otp_enrolled = false;  // ~/.google_authenticator exists
};
PamAccount PamAccountFrom(const v1::Account& account);

struct PamScenario {
  bool password_right = false;  // answers the Unix password prompt correctly
  bool code_right = false;      // answers the verification code prompt correctly
};

struct PamStep {
  int rule = -1;  // index into PamFact.rules
  int retval = 0;
  int action = 0;
  std::string note;  // why the module returned this ("no secret file, nullok")
};

struct PamRun {
  int result = kPamPermDenied;  // what pam_authenticate returns
  std::vector<PamStep> steps;   // every rule that ran, in order
  int decided_by = -1;          // the rule that ended the stack (done/die) or last set its status
};

struct PamAnswer {
  enum Kind { kNo, kYes, kUnknown };
  Kind kind = kUnknown;
  std::string why;  // kUnknown: what the model cannot tell, naming the rules
  PamRun run;       // a run with this answer (kYes: one that succeeds)
};

// Whether pam_authenticate (service sshd) returns PAM_SUCCESS for `account`.
// `process_user` is who sshd runs PAM as (root), for pam_succeed_if use_uid;
// null when unknown.
PamAnswer PamAuthenticates(const v1::PamFact& pam, const PamAccount& account,
                           const PamScenario& scenario, const PamAccount* process_user);

// "file:line  auth sufficient pam_permit.so args" for evidence.
std::string PamRuleText(const v1::PamRule& rule);
// The steps of a run, one "file:line module -> CODE (action)" each.
std::string PamRunText(const v1::PamFact& pam, const PamRun& run);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_CHECKS_PAM_MODEL_H_
