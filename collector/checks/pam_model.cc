#include "collector/checks/pam_model.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace preflight::collector {
namespace {

// libpam's tokens, in its order (pam_tokens.h): parsing matches prefixes in
// this order, as libpam does.
constexpr absl::string_view kReturnNames[kPamReturnValues + 1] = {"success",
                                                                  "open_err",
                                                                  "symbol_err",
                                                                  "service_err",
                                                                  "system_err",
                                                                  "buf_err",
                                                                  "perm_denied",
                                                                  "auth_err",
                                                                  "cred_insufficient",
                                                                  "authinfo_unavail",
                                                                  "user_unknown",
                                                                  "maxtries",
                                                                  "new_authtok_reqd",
                                                                  "acct_expired",
                                                                  "session_err",
                                                                  "cred_unavail",
                                                                  "cred_expired",
                                                                  "cred_err",
                                                                  "no_module_data",
                                                                  "conv_err",
                                                                  "authtok_err",
                                                                  "authtok_recover_err",
                                                                  "authtok_lock_busy",
                                                                  "authtok_disable_aging",
                                                                  "try_again",
                                                                  "ignore",
                                                                  "abort",
                                                                  "authtok_expired",
                                                                  "module_unknown",
                                                                  "bad_item",
                                                                  "conv_again",
                                                                  "incomplete",
                                                                  "default"};
constexpr absl::string_view kActionNames[6] = {"ignore", "ok", "done", "bad", "die", "reset"};
constexpr int kActionUndef = -6;
constexpr int kPamNewAuthtokReqd = 12;
constexpr int kMaxSubstackLevel = 16;
constexpr int kMaxRuns = 4096;

constexpr int kImpressionUndef = 0;
constexpr int kImpressionPositive = 1;
constexpr int kImpressionNegative = -1;

using Actions = std::array<int, kPamReturnValues>;

void SetDefault(Actions& a, int action) {
  for (int& x : a) {
    if (x == kActionUndef) x = action;
  }
}

// libpam's _pam_parse_control: "code=action ..." with prefix matching.
bool ParseControl(absl::string_view tok, Actions& a, std::string* error) {
  size_t i = 0;
  auto space = [&](size_t k) {
    return k < tok.size() && std::isspace(static_cast<unsigned char>(tok[k]));
  };
  while (i < tok.size()) {
    while (space(i)) ++i;
    if (i >= tok.size()) break;
    int ret = 0;
    for (; ret <= kPamReturnValues; ++ret) {
      if (tok.substr(i).substr(0, kReturnNames[ret].size()) == kReturnNames[ret]) break;
    }
    if (ret > kPamReturnValues || i + kReturnNames[ret].size() >= tok.size()) {
      *error = "expecting return value";
      return false;
    }
    i += kReturnNames[ret].size();
    while (space(i)) ++i;
    if (i >= tok.size() || tok[i] != '=') {
      *error = "expecting '='";
      return false;
    }
    ++i;
    while (space(i)) ++i;
    if (i >= tok.size()) {
      *error = "expecting action";
      return false;
    }
    int act = 0;
    for (; act < 6; ++act) {
      if (tok.substr(i).substr(0, kActionNames[act].size()) == kActionNames[act]) break;
    }
    if (act < 6) {
      i += kActionNames[act].size();
      act = -act;
    } else {
      if (!std::isdigit(static_cast<unsigned char>(tok[i]))) {
        *error = "expecting jump number";
        return false;
      }
      act = 0;
      while (i < tok.size() && std::isdigit(static_cast<unsigned char>(tok[i]))) {
        act = act * 10 + (tok[i] - '0');
        if (act > 1000000) act = 1000000;  // far past any stack
        ++i;
      }
      if (act == 0) {
        *error = "expecting non-zero";
        return false;
      }
    }
    if (ret != kPamReturnValues) {
      a[ret] = act;
    } else {
      SetDefault(a, act);
    }
  }
  return true;
}

std::string Basename(absl::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

bool HasArg(const v1::PamRule& r, absl::string_view a) {
  return std::find(r.args().begin(), r.args().end(), a) != r.args().end();
}

// A module's possible results. One: known. More: the model cannot tell which
// (unknown says why) and tries each.
struct Result {
  std::vector<int> codes;
  std::string note;
  std::string unknown;
  bool prompted_password = false;  // sets PAM_AUTHTOK
};

Result Known(int code, std::string note = "") {
  Result r;
  r.codes = {code};
  r.note = std::move(note);
  return r;
}

Result Unknown(std::string why, std::vector<int> codes = {}) {
  Result r;
  r.codes = codes.empty() ? std::vector<int>{kPamSuccess, kPamAuthErr, kPamIgnore} : codes;
  r.unknown = std::move(why);
  return r;
}

struct RunState {
  bool authtok = false;  // PAM_AUTHTOK set by an earlier module
};

Result PamUnix(const v1::PamRule& r, const PamAccount& a, const PamScenario& s,
               const RunState& st) {
  bool nullok = HasArg(r, "nullok");
  if (HasArg(r, "use_first_pass") && !st.authtok) {
    return Unknown("pam_unix use_first_pass with no password entered before it");
  }
  switch (a.password) {
    case v1::PASSWORD_LOCKED:
      return Known(kPamAuthErr, "password locked");
    case v1::PASSWORD_EMPTY:
      if (nullok) return Known(kPamSuccess, "empty password, nullok");
      {
        Result res = Known(kPamAuthErr, "empty password without nullok");
        res.prompted_password = true;
        return res;
      }
    case v1::PASSWORD_SET: {
      Result res = s.password_right ? Known(kPamSuccess, "password right")
                                    : Known(kPamAuthErr, "password wrong");
      res.prompted_password = true;
      return res;
    }
    default:
      return Unknown(
          absl::StrCat("pam_unix: the password state of ", a.name, " is unknown (/etc/shadow)"),
          {kPamSuccess, kPamAuthErr});
  }
}

// Options of pam_google_authenticator that do not change its result for
// the scenarios (the secret file is the account's ~/.google_authenticator).
bool HarmlessOtpArg(absl::string_view a) {
  static constexpr absl::string_view kHarmless[] = {
      "nullok",    "debug",           "echo_verification_code", "echo-verification-code",
      "noskewadj", "no_strict_owner", "no_increment_hotp",      "allow_readonly"};
  for (absl::string_view h : kHarmless) {
    if (a == h) return true;
  }
  return absl::StartsWith(a, "allowed_perm=") || absl::StartsWith(a, "authtok_prompt=") ||
         absl::StartsWith(a, "user=");
}

Result PamGoogleAuthenticator(const v1::PamRule& r, const PamAccount& a, const PamScenario& s) {
  bool nullok = false;
  for (const std::string& arg : r.args()) {
    if (arg == "nullok") nullok = true;
    if (absl::StartsWith(arg, "secret=")) {
      std::string path = arg.substr(7);
      path = absl::StrReplaceAll(path, {{"${HOME}", a.home}, {"${USER}", a.name}});
      if (absl::StartsWith(path, "~/")) path = absl::StrCat(a.home, path.substr(1));
      if (path != absl::StrCat(a.home, "/.google_authenticator")) {
        return Unknown(absl::StrCat("pam_google_authenticator reads its secret from ",
                                    arg.substr(7), ", which the agent does not examine"));
      }
      continue;
    }
    if (!HarmlessOtpArg(arg)) {
      return Unknown(absl::StrCat("pam_google_authenticator option '", arg,
                                  "' is not modelled (it may accept a login without a code)"));
    }
  }
  if (!a.otp_enrolled) {
    if (nullok) return Known(kPamIgnore, "no ~/.google_authenticator and nullok: no code asked");
    return Known(kPamAuthErr, "no ~/.google_authenticator: code asked, cannot match");
  }
  return s.code_right ? Known(kPamSuccess, "code right") : Known(kPamAuthErr, "code wrong");
}

int Compare(long long l, long long r, absl::string_view op, bool* ok) {
  *ok = true;
  if (op == "<" || op == "lt") return l < r;
  if (op == "<=" || op == "le") return l <= r;
  if (op == ">" || op == "gt") return l > r;
  if (op == ">=" || op == "ge") return l >= r;
  if (op == "eq") return l == r;
  if (op == "ne") return l != r;
  *ok = false;
  return 0;
}

std::optional<long long> Number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 0);
  if (end == nullptr || *end != '\0' || errno != 0) return std::nullopt;
  return v;
}

bool InList(const std::string& left, const std::string& right) {
  for (absl::string_view item : absl::StrSplit(right, ':')) {
    if (item == left) return true;
  }
  return false;
}

// One pam_succeed_if condition: a code, or nullopt when it cannot be told.
std::optional<int> Condition(const std::string& field_in, const std::string& op_in,
                             const std::string& right, const PamAccount& a) {
  std::string field = absl::AsciiStrToLower(field_in);
  std::string op = absl::AsciiStrToLower(op_in);
  std::string left;
  if (field == "user" || field == "login" || field == "name") {
    left = a.name;
  } else if (field == "uid") {
    left = absl::StrCat(a.uid);
  } else if (field == "gid") {
    left = absl::StrCat(a.gid);
  } else if (field == "shell") {
    left = a.shell;
  } else if (field == "home" || field == "dir" || field == "homedir") {
    left = a.home;
  } else if (field == "service") {
    left = "sshd";
  } else if (field == "ruser" || field == "rhost" || field == "tty") {
    return std::nullopt;  // depends on the connection
  } else {
    return kPamServiceErr;  // unknown attribute
  }
  bool numeric = false;
  int cmp = 0;
  {
    bool ok = false;
    Compare(0, 0, op, &ok);
    numeric = ok;
  }
  if (numeric) {
    auto l = Number(left);
    auto r = Number(right);
    if (!l || !r) return kPamServiceErr;
    bool ok = false;
    cmp = Compare(*l, *r, op, &ok);
    return cmp ? kPamSuccess : kPamAuthErr;
  }
  if (op == "=") return left == right ? kPamSuccess : kPamAuthErr;
  if (op == "!=") return left != right ? kPamSuccess : kPamAuthErr;
  if (op == "=~" || op == "glob") {
    return fnmatch(right.c_str(), left.c_str(), 0) == 0 ? kPamSuccess : kPamAuthErr;
  }
  if (op == "!~" || op == "noglob") {
    return fnmatch(right.c_str(), left.c_str(), 0) != 0 ? kPamSuccess : kPamAuthErr;
  }
  if (op == "in") return InList(left, right) ? kPamSuccess : kPamAuthErr;
  if (op == "notin") return InList(left, right) ? kPamAuthErr : kPamSuccess;
  if (op == "ingroup" || op == "notingroup") {
    if (field == "ruser") return std::nullopt;
    bool in = false;
    for (absl::string_view g : absl::StrSplit(right, ':', absl::SkipEmpty())) {
      if (std::find(a.groups.begin(), a.groups.end(), g) != a.groups.end()) in = true;
    }
    return (in == (op == "ingroup")) ? kPamSuccess : kPamAuthErr;
  }
  if (op == "innetgr" || op == "notinnetgr") return std::nullopt;
  return kPamServiceErr;
}

Result PamSucceedIf(const v1::PamRule& r, const PamAccount& a, const PamAccount* process_user) {
  bool use_uid = HasArg(r, "use_uid");
  const PamAccount* who = &a;
  if (use_uid) {
    if (process_user == nullptr) {
      return Unknown("pam_succeed_if use_uid: the account sshd runs PAM as is unknown",
                     {kPamSuccess, kPamAuthErr});
    }
    who = process_user;
  }
  std::vector<std::string> words;
  for (const std::string& arg : r.args()) {
    if (arg == "debug" || arg == "use_uid" || arg == "quiet" || arg == "quiet_fail" ||
        arg == "quiet_success" || arg == "audit") {
      continue;
    }
    words.push_back(arg);
  }
  size_t i = 0;
  for (; i + 3 <= words.size(); i += 3) {
    std::optional<int> c = Condition(words[i], words[i + 1], words[i + 2], *who);
    std::string text = absl::StrCat(words[i], " ", words[i + 1], " ", words[i + 2]);
    if (!c) {
      return Unknown(
          absl::StrCat("pam_succeed_if condition '", text, "' depends on the connection"),
          {kPamSuccess, kPamAuthErr});
    }
    if (*c != kPamSuccess) return Known(*c, absl::StrCat("'", text, "' not met by ", who->name));
  }
  if (i != words.size()) return Known(kPamServiceErr, "incomplete condition");
  if (words.empty() && use_uid) {
    return Unknown("pam_succeed_if use_uid without a condition returns an undefined value");
  }
  return Known(kPamSuccess, words.empty() ? "no condition" : "conditions met");
}

Result ModuleResult(const v1::PamRule& r, const PamAccount& a, const PamScenario& s,
                    const RunState& st, const PamAccount* process_user) {
  std::string module = Basename(r.module());
  Result res;
  if (module == "pam_permit.so") {
    res = Known(kPamSuccess);
  } else if (module == "pam_deny.so") {
    res = Known(kPamAuthErr);
  } else if (module == "pam_unix.so") {
    res = PamUnix(r, a, s, st);
  } else if (module == "pam_google_authenticator.so") {
    res = PamGoogleAuthenticator(r, a, s);
  } else if (module == "pam_succeed_if.so") {
    res = PamSucceedIf(r, a, process_user);
  } else if (module == "pam_env.so" || module == "pam_faildelay.so" || module == "pam_warn.so" ||
             module == "pam_keyinit.so" || module == "pam_mail.so") {
    res = Known(kPamIgnore);
  } else if (module == "pam_nologin.so") {
    res = Known(kPamIgnore, "assumes no /etc/nologin (it would only refuse logins)");
  } else if (module == "pam_limits.so" || module == "pam_loginuid.so" || module == "pam_umask.so" ||
             module == "pam_motd.so" || module == "pam_systemd.so" ||
             module == "pam_mkhomedir.so" || module == "pam_selinux.so") {
    res = Known(kPamModuleUnknown, "the module has no auth function");
  } else {
    res = Unknown(absl::StrCat(module, " is not modelled"));
  }
  if (r.module_state() == v1::PamRule::MODULE_UNREADABLE) {
    std::vector<int> codes = res.codes;
    codes.push_back(kPamModuleUnknown);
    Result u =
        Unknown(absl::StrCat("whether ", r.module_path(), " can be loaded is unknown"), codes);
    return u;
  }
  return res;
}

struct Handler {
  int rule = -1;
  int level = 0;
  enum Kind { kModule, kMustFail, kSubstack } kind = kModule;
  Actions actions{};
};

std::vector<Handler> AuthHandlers(const v1::PamFact& pam) {
  std::vector<Handler> out;
  for (int i = 0; i < pam.rules_size(); ++i) {
    const v1::PamRule& r = pam.rules(i);
    if (r.type() != "auth") continue;
    Handler h;
    h.rule = i;
    h.level = static_cast<int>(std::min<uint32_t>(r.depth(), kMaxSubstackLevel - 1));
    std::string lower = absl::AsciiStrToLower(r.control());
    if (r.control() == "substack" && r.must_fail().empty()) {
      h.kind = Handler::kSubstack;
    } else {
      if (!r.must_fail().empty()) h.kind = Handler::kMustFail;
      if (lower == "include" || lower == "substack" || r.control().empty()) {
        h.actions.fill(kActionBad);
      } else {
        h.actions = PamActions(r.control());
      }
    }
    out.push_back(h);
  }
  return out;
}

// One walk of the stack; choices[k] picks among the k-th uncertain module's
// results, arities records how many each had.
PamRun Walk(const v1::PamFact& pam, const std::vector<Handler>& h, const PamAccount& a,
            const PamScenario& s, const PamAccount* process_user, const std::vector<int>& choices,
            std::vector<int>* arities, std::set<std::string>* unknowns) {
  PamRun run;
  int impression = kImpressionUndef;
  int status = kPamPermDenied;
  std::array<std::pair<int, int>, kMaxSubstackLevel + 1> sub{};
  sub[0] = {kImpressionUndef, kPamPermDenied};
  RunState st;
  int prev_level = 0;
  int stack_level = 0;
  size_t n = h.size();
  for (size_t i = 0; i < n; prev_level = stack_level, ++i) {
    stack_level = h[i].level;
    if (prev_level < stack_level) sub[stack_level] = {impression, status};
    if (h[i].kind == Handler::kSubstack) continue;
    const v1::PamRule& r = pam.rules(h[i].rule);
    PamStep step;
    step.rule = h[i].rule;
    int retval;
    if (h[i].kind == Handler::kMustFail) {
      retval = kPamPermDenied;
      step.note = r.must_fail();
    } else if (r.module_state() == v1::PamRule::MODULE_MISSING) {
      retval = kPamModuleUnknown;
      step.note = absl::StrCat(r.module_path(), " does not exist");
    } else {
      Result res = ModuleResult(r, a, s, st, process_user);
      size_t pick = 0;
      if (res.codes.size() > 1) {
        size_t k = arities->size();
        arities->push_back(static_cast<int>(res.codes.size()));
        pick = k < choices.size() ? static_cast<size_t>(choices[k]) : 0;
        unknowns->insert(absl::StrCat(r.file(), ":", r.line(), " (", res.unknown, ")"));
        step.note = absl::StrCat("assumed ", PamCodeName(res.codes[pick]), ": ", res.unknown);
      } else {
        step.note = res.note;
      }
      retval = res.codes[pick];
      if (res.prompted_password) st.authtok = true;
    }
    int action = h[i].actions[retval];
    step.retval = retval;
    step.action = action;
    run.steps.push_back(step);
    bool decided = false;
    switch (action) {
      case kActionReset:
        impression = sub[stack_level].first;
        status = sub[stack_level].second;
        break;
      case kActionOk:
      case kActionDone:
        if (impression == kImpressionUndef ||
            (impression == kImpressionPositive && status == kPamSuccess)) {
          impression = kImpressionPositive;
          status = retval;
          run.decided_by = h[i].rule;
        }
        if (impression == kImpressionPositive && action == kActionDone) {
          run.decided_by = h[i].rule;
          decided = true;
        }
        break;
      case kActionBad:
      case kActionDie:
        if (impression != kImpressionNegative) {
          impression = kImpressionNegative;
          status = retval == kPamIgnore ? kPamPermDenied : retval;
          run.decided_by = h[i].rule;
        }
        if (action == kActionDie) {
          run.decided_by = h[i].rule;
          decided = true;
        }
        break;
      case kActionIgnore:
        break;
      default: {
        int jump = action;
        if (jump > 0) {
          while (i + 1 < n && h[i + 1].level >= stack_level && jump > 0) {
            do {
              ++i;
            } while (i + 1 < n && h[i + 1].level > stack_level);
            --jump;
          }
        }
        if (jump != 0) {
          impression = kImpressionNegative;
          status = kPamPermDenied;
          run.decided_by = h[i].rule;
          run.steps.back().note += " (bad jump: past the end of its stack)";
        }
      }
    }
    if (decided) {
      while (i + 1 < n && h[i + 1].level >= stack_level) ++i;
    }
  }
  if (status == kPamSuccess && impression != kImpressionPositive) status = kPamPermDenied;
  run.result = status;
  return run;
}

}  // namespace

std::string PamCodeName(int code) {
  if (code >= 0 && code < kPamReturnValues) {
    return absl::StrCat("PAM_", absl::AsciiStrToUpper(kReturnNames[code]));
  }
  return absl::StrCat("PAM code ", code);
}

std::string PamActionName(int action) {
  if (action > 0) return absl::StrCat("jump ", action);
  if (action <= 0 && action > kActionUndef) return std::string(kActionNames[-action]);
  return "undefined";
}

std::array<int, kPamReturnValues> PamActions(absl::string_view control, std::string* error) {
  Actions a;
  a.fill(kActionUndef);
  std::string lower = absl::AsciiStrToLower(control);
  std::string err;
  if (lower == "required" || lower == "requisite") {
    a[kPamSuccess] = kActionOk;
    a[kPamNewAuthtokReqd] = kActionOk;
    a[kPamIgnore] = kActionIgnore;
    SetDefault(a, lower == "required" ? kActionBad : kActionDie);
  } else if (lower == "optional") {
    a[kPamSuccess] = kActionOk;
    a[kPamNewAuthtokReqd] = kActionOk;
    SetDefault(a, kActionIgnore);
  } else if (lower == "sufficient") {
    a[kPamSuccess] = kActionDone;
    a[kPamNewAuthtokReqd] = kActionDone;
    SetDefault(a, kActionIgnore);
  } else {
    absl::string_view inner = control;
    if (absl::StartsWith(inner, "[") && absl::EndsWith(inner, "]") && inner.size() >= 2) {
      inner = inner.substr(1, inner.size() - 2);
    }
    if (!ParseControl(inner, a, &err)) a.fill(kActionBad);
    SetDefault(a, kActionBad);
  }
  if (error != nullptr) *error = err;
  return a;
}

PamAccount PamAccountFrom(const v1::Account& account) {
  PamAccount a;
  a.name = account.name();
  a.uid = account.uid();
  a.gid = account.gid();
  a.home = account.home();
  a.shell = account.shell();
  a.groups.assign(account.groups().begin(), account.groups().end());
  a.password = account.password();
  a.otp_enrolled = account.google_authenticator();
  return a;
}

PamAnswer PamAuthenticates(const v1::PamFact& pam, const PamAccount& account,
                           const PamScenario& scenario, const PamAccount* process_user) {
  PamAnswer answer;
  if (!pam.structured()) {
    answer.why = "the agent did not report the PAM stack as libpam builds it (agent too old?)";
    return answer;
  }
  if (!pam.load_error().empty()) {
    answer.kind = PamAnswer::kNo;
    answer.run.result = kPamAbort;
    return answer;
  }
  std::vector<Handler> handlers = AuthHandlers(pam);
  if (handlers.empty()) {
    answer.why =
        "sshd's PAM stack has no auth rules: libpam would use /etc/pam.d/other, which is not "
        "collected";
    return answer;
  }
  std::vector<int> choices;
  std::set<std::string> unknowns;
  std::optional<PamRun> yes, no;
  for (int runs = 0;; ++runs) {
    if (runs >= kMaxRuns) {
      answer.kind = PamAnswer::kUnknown;
      answer.why = absl::StrCat("too many rules with results the model cannot tell: ",
                                absl::StrJoin(unknowns, "; "));
      return answer;
    }
    std::vector<int> arities;
    PamRun run = Walk(pam, handlers, account, scenario, process_user, choices, &arities, &unknowns);
    if (run.result == kPamSuccess) {
      if (!yes) yes = run;
    } else if (!no) {
      no = run;
    }
    // Next combination of choices (the last one that can still advance).
    choices.resize(arities.size(), 0);
    int k = static_cast<int>(arities.size()) - 1;
    while (k >= 0 && choices[k] + 1 >= arities[k]) --k;
    if (k < 0) break;
    choices.resize(k + 1);
    ++choices[k];
  }
  if (yes && no) {
    answer.kind = PamAnswer::kUnknown;
    answer.why = absl::StrCat("the result depends on ", absl::StrJoin(unknowns, "; "));
    answer.run = *yes;
  } else if (yes) {
    answer.kind = PamAnswer::kYes;
    answer.run = *yes;
  } else {
    answer.kind = PamAnswer::kNo;
    answer.run = *no;
  }
  return answer;
}

std::string PamRuleText(const v1::PamRule& rule) {
  std::string text = absl::StrCat(rule.file(), ":", rule.line(), " ", rule.type(), " ",
                                  rule.control(), " ", rule.module());
  for (const std::string& a : rule.args()) absl::StrAppend(&text, " ", a);
  return text;
}

std::string PamRunText(const v1::PamFact& pam, const PamRun& run) {
  std::vector<std::string> parts;
  for (const PamStep& s : run.steps) {
    const v1::PamRule& r = pam.rules(s.rule);
    std::string p = absl::StrCat(r.file(), ":", r.line(), " ", Basename(r.module()), " -> ",
                                 PamCodeName(s.retval), " (", PamActionName(s.action), ")");
    if (!s.note.empty()) absl::StrAppend(&p, " [", s.note, "]");
    parts.push_back(std::move(p));
  }
  return absl::StrJoin(parts, "; ");
}

}  // namespace preflight::collector
