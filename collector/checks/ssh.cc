// Check area "ssh": checklist items 12 (password SSH off, 2FA on), 13 (root
// login disabled) and 18 (vendor SSH access removed), plus ssh.weak_keys.
// Every verdict names the deciding file:line (or "default") and the account.
#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "collector/checks/check.h"
#include "collector/checks/pam_model.h"

namespace preflight::collector {
namespace {

constexpr absl::string_view kSshdConfig = "/etc/ssh/sshd_config";

// ---------------------------------------------------------------------------
// Reading the effective configuration.

const v1::SshdEffective* EffectiveFor(const v1::SshdConfigFact& sshd, absl::string_view user) {
  for (const v1::SshdEffective& e : sshd.effective()) {
    if (e.user() == user) return &e;
  }
  return nullptr;
}

const v1::SshdSetting* SettingOf(const v1::SshdEffective& e, absl::string_view keyword) {
  for (const v1::SshdSetting& s : e.settings()) {
    if (s.keyword() == keyword) return &s;
  }
  return nullptr;
}

std::string Value(const v1::SshdEffective& e, absl::string_view keyword) {
  const v1::SshdSetting* s = SettingOf(e, keyword);
  return s == nullptr ? "" : absl::StrJoin(s->values(), " ");
}

std::string SourceOf(const v1::SshdEffective& e, absl::string_view keyword) {
  const v1::SshdSetting* s = SettingOf(e, keyword);
  if (s == nullptr) return "not reported";
  return s->source() == "default" ? "default (OpenSSH)" : s->source();
}

template <typename List>
bool Contains(const List& list, absl::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// Whether AllowUsers/DenyUsers/AllowGroups/DenyGroups let `a` log in.
bool SshdAdmits(const v1::Account& a, const v1::SshdEffective& e, std::string* why) {
  auto list = [&](absl::string_view k) {
    const v1::SshdSetting* s = SettingOf(e, k);
    return s == nullptr ? std::vector<std::string>()
                        : std::vector<std::string>(s->values().begin(), s->values().end());
  };
  auto user_part = [](const std::string& pattern) {
    return pattern.substr(0, pattern.find('@'));  // user@host: the host part is ignored here
  };
  for (const std::string& d : list("denyusers")) {
    if (user_part(d) == a.name() || user_part(d) == "*") {
      *why = absl::StrCat("DenyUsers ", d, " (", SourceOf(e, "denyusers"), ")");
      return false;
    }
  }
  auto allow = list("allowusers");
  if (!allow.empty() && std::none_of(allow.begin(), allow.end(), [&](const std::string& p) {
        return user_part(p) == a.name() || user_part(p) == "*";
      })) {
    *why = absl::StrCat("not in AllowUsers (", SourceOf(e, "allowusers"), ")");
    return false;
  }
  for (const std::string& d : list("denygroups")) {
    if (Contains(a.groups(), d)) {
      *why = absl::StrCat("DenyGroups ", d, " (", SourceOf(e, "denygroups"), ")");
      return false;
    }
  }
  auto allow_groups = list("allowgroups");
  if (!allow_groups.empty() &&
      std::none_of(allow_groups.begin(), allow_groups.end(),
                   [&](const std::string& g) { return Contains(a.groups(), g); })) {
    *why = absl::StrCat("not in AllowGroups (", SourceOf(e, "allowgroups"), ")");
    return false;
  }
  return true;
}

// The AuthenticationMethods lists: each a set of methods all required.
std::vector<std::vector<std::string>> MethodLists(const v1::SshdEffective& e) {
  std::vector<std::vector<std::string>> out;
  const v1::SshdSetting* s = SettingOf(e, "authenticationmethods");
  if (s == nullptr) return out;
  for (const std::string& v : s->values()) {
    if (v == "any") return {};
    std::vector<std::string> methods;
    for (absl::string_view m : absl::StrSplit(v, ',', absl::SkipEmpty())) {
      methods.emplace_back(m.substr(0, m.find(':')));  // keyboard-interactive:pam -> base
    }
    out.push_back(std::move(methods));
  }
  return out;
}

bool Has(const std::vector<std::string>& methods, absl::string_view m) {
  return std::find(methods.begin(), methods.end(), m) != methods.end();
}

// Accounts an attacker could try over SSH: login shells (and root).
std::vector<const v1::Account*> LoginAccounts(const v1::AccountsFact& accounts) {
  std::vector<const v1::Account*> out;
  for (const v1::Account& a : accounts.accounts()) {
    if (a.login_shell() || a.name() == "root") out.push_back(&a);
  }
  return out;
}

// Who sshd runs PAM as (root), for pam_succeed_if use_uid.
std::optional<PamAccount> PamProcessUser(const v1::AccountsFact& accounts) {
  for (const v1::Account& a : accounts.accounts()) {
    if (a.name() == "root") return PamAccountFrom(a);
  }
  return std::nullopt;
}

// The rule of a PAM run that decided it, as "file:line".
std::string PamDecidedAt(const v1::PamFact& pam, const PamRun& run) {
  if (run.decided_by < 0 || run.decided_by >= pam.rules_size()) return pam.file();
  const v1::PamRule& r = pam.rules(run.decided_by);
  return absl::StrCat(r.file(), ":", r.line());
}

std::string PamDecidedRule(const v1::PamFact& pam, const PamRun& run) {
  if (run.decided_by < 0 || run.decided_by >= pam.rules_size()) return "the end of the stack";
  return PamRuleText(pam.rules(run.decided_by));
}

// A run in which pam_google_authenticator returned PAM_IGNORE for want of a
// secret file (nullok): the rule, or null.
const v1::PamRule* NullokSkip(const v1::PamFact& pam, const PamRun& run) {
  for (const PamStep& s : run.steps) {
    const v1::PamRule& r = pam.rules(s.rule);
    if (s.retval == kPamIgnore && absl::EndsWith(r.module(), "pam_google_authenticator.so")) {
      return &r;
    }
  }
  return nullptr;
}

v1::Verdict Unusable(const v1::FactReport& report, bool need_pam, bool need_accounts,
                     bool need_keys) {
  v1::Verdict v = UnusableFact(report, report.sshd(), "sshd configuration", kSshdConfig);
  if (v.status() != v1::CHECK_STATUS_UNSPECIFIED) return v;
  if (need_accounts) {
    v = UnusableFact(report, report.accounts(), "account database", "/etc/passwd");
    if (v.status() != v1::CHECK_STATUS_UNSPECIFIED) return v;
  }
  if (need_pam) {
    v = UnusableFact(report, report.pam(), "PAM configuration of sshd", "/etc/pam.d/sshd");
    if (v.status() != v1::CHECK_STATUS_UNSPECIFIED) return v;
  }
  if (need_keys) {
    v = UnusableFact(report, report.authorized_keys(), "authorized keys", "AuthorizedKeysFile");
    if (v.status() != v1::CHECK_STATUS_UNSPECIFIED) return v;
  }
  return v1::Verdict();
}

// ---------------------------------------------------------------------------
// ssh.root_login_disabled

v1::Verdict RootLoginDisabled(const v1::FactReport& report, const EvalContext&) {
  v1::Verdict unusable = Unusable(report, false, false, false);
  if (unusable.status() != v1::CHECK_STATUS_UNSPECIFIED) return unusable;
  const v1::SshdConfigFact& sshd = report.sshd();
  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = v1::PASS;

  const v1::SshdEffective* root = EffectiveFor(sshd, "root");
  if (root == nullptr) {
    return MakeVerdict(v1::UNKNOWN, {MakeEvidence("the agent did not compute root's effective "
                                                  "sshd settings (agent too old?)",
                                                  std::string(kSshdConfig))});
  }
  std::string value = Value(*root, "permitrootlogin");
  std::string source = SourceOf(*root, "permitrootlogin");
  if (value != "no") {
    status = v1::FAIL;
    evidence.push_back(
        MakeEvidence(source == "default (OpenSSH)"
                         ? absl::StrCat("PermitRootLogin is not set, so sshd's default '", value,
                                        "' applies to root: root may log in with a key")
                         : absl::StrCat("PermitRootLogin is '", value, "' for root"),
                     source, value, "no"));
  } else {
    evidence.push_back(MakeEvidence("PermitRootLogin is 'no' for root", source, "no", "no"));
  }
  // Every Match context: a block that re-enables it for some connection.
  for (const v1::SshdDirective& d : sshd.directives()) {
    if (d.keyword() != "permitrootlogin" || d.match_block() == 0 || d.args_size() == 0) continue;
    std::string v = absl::AsciiStrToLower(d.args(0));
    if (v == "no") continue;
    int index = static_cast<int>(d.match_block()) - 1;
    std::string criteria =
        index < sshd.match_blocks_size() ? sshd.match_blocks(index).criteria() : "?";
    status = v1::FAIL;
    evidence.push_back(
        MakeEvidence(absl::StrCat("Match ", criteria, " sets PermitRootLogin '", v, "'"),
                     absl::StrCat(d.file(), ":", d.line()), v, "no"));
  }
  for (const v1::ParseProblem& p : sshd.problems()) {
    evidence.push_back(MakeEvidence(absl::StrCat("sshd would reject this line: ", p.message()),
                                    absl::StrCat(p.file(), ":", p.line())));
  }
  // The root password.
  const v1::AccountsFact& accounts = report.accounts();
  const v1::Account* root_account = nullptr;
  for (const v1::Account& a : accounts.accounts()) {
    if (a.name() == "root") root_account = &a;
  }
  if (accounts.collection().state() != v1::Collection::OK || root_account == nullptr) {
    status = Worst(status, v1::UNKNOWN);
    evidence.push_back(MakeEvidence("cannot tell whether root's password is locked", "/etc/shadow",
                                    "unknown", "locked"));
  } else if (root_account->password() == v1::PASSWORD_LOCKED) {
    evidence.push_back(
        MakeEvidence("root's password is locked", "/etc/shadow", "locked", "locked"));
  } else if (root_account->password() == v1::PASSWORD_STATE_UNSPECIFIED) {
    status = Worst(status, v1::UNKNOWN);
    evidence.push_back(
        MakeEvidence("/etc/shadow could not be read: root's password state is "
                     "unknown",
                     "/etc/shadow", "unknown", "locked"));
  } else {
    status = v1::FAIL;
    std::string state = root_account->password() == v1::PASSWORD_EMPTY ? "empty" : "set";
    evidence.push_back(
        MakeEvidence(absl::StrCat("root's password is ", state, ", not locked (passwd -l root)"),
                     "/etc/shadow", state, "locked"));
  }
  // Keys in root's authorized_keys: a warning (provisioning may need them).
  std::vector<std::string> root_keys;
  for (const v1::AuthorizedKey& k : report.authorized_keys().keys()) {
    if (k.account() == "root" && !k.orphan()) {
      root_keys.push_back(absl::StrCat(k.file(), ":", k.line()));
    }
  }
  if (!root_keys.empty()) {
    status = Worst(status, v1::WARN);
    evidence.push_back(
        MakeEvidence(absl::StrCat("root has ", root_keys.size(), " authorized key(s)"),
                     absl::StrJoin(root_keys, ", "), absl::StrCat(root_keys.size()), "0"));
  }
  return MakeVerdict(status, std::move(evidence));
}

// ---------------------------------------------------------------------------
// ssh.password_auth_disabled

v1::Verdict PasswordAuthDisabled(const v1::FactReport& report, const EvalContext&) {
  v1::Verdict unusable = Unusable(report, true, true, false);
  if (unusable.status() != v1::CHECK_STATUS_UNSPECIFIED) return unusable;
  const v1::PamFact& pam = report.pam();
  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = v1::PASS;
  std::vector<std::string> exposed, locked_only;
  std::vector<v1::Evidence> pam_unknown;
  std::optional<PamAccount> pam_root = PamProcessUser(report.accounts());
  for (const v1::Account* a : LoginAccounts(report.accounts())) {
    const v1::SshdEffective* e = EffectiveFor(report.sshd(), a->name());
    if (e == nullptr) continue;
    std::string why;
    if (!SshdAdmits(*a, *e, &why)) continue;
    if (a->name() == "root" && Value(*e, "permitrootlogin") != "yes") continue;
    auto lists = MethodLists(*e);
    bool password = Value(*e, "passwordauthentication") == "yes";
    bool kbd = Value(*e, "kbdinteractiveauthentication") == "yes" && Value(*e, "usepam") == "yes";
    // Which single-factor secret-only paths exist for this account.
    std::vector<std::string> paths;
    std::string decided_at;  // the source of the setting that opens the first path
    auto allowed_alone = [&](absl::string_view method) {
      if (lists.empty()) return true;  // AuthenticationMethods any
      return std::any_of(lists.begin(), lists.end(), [&](const std::vector<std::string>& l) {
        return !Has(l, "publickey") && Has(l, method);
      });
    };
    if (password && allowed_alone("password")) {
      paths.push_back(absl::StrCat("PasswordAuthentication yes (",
                                   SourceOf(*e, "passwordauthentication"), ")"));
      decided_at = SourceOf(*e, "passwordauthentication");
    }
    bool nothing_needed = false;  // PAM lets keyboard-interactive through with no secret
    if (kbd && allowed_alone("keyboard-interactive")) {
      // PAM run as libpam runs it: with no password and no code, and with
      // the Unix password alone (as if the account had one: a locked
      // password only makes it WARN below).
      PamAccount acc = PamAccountFrom(*a);
      const PamAccount* root = pam_root ? &*pam_root : nullptr;
      PamAnswer none = PamAuthenticates(pam, acc, PamScenario{false, false}, root);
      PamAccount with_password = acc;
      with_password.password = v1::PASSWORD_SET;
      PamAnswer password_only =
          PamAuthenticates(pam, with_password, PamScenario{true, false}, root);
      std::string kbd_source = SourceOf(*e, "kbdinteractiveauthentication");
      if (none.kind == PamAnswer::kYes) {
        nothing_needed = true;
        const v1::PamRule* skip = NullokSkip(pam, none.run);
        paths.push_back(absl::StrCat(
            "keyboard-interactive (", kbd_source, ") succeeds without a password or code",
            skip != nullptr ? absl::StrCat(": nullok at ", skip->file(), ":", skip->line(),
                                           " lets an account without ~/.google_authenticator "
                                           "through")
                            : "",
            "; PAM decided at ", PamDecidedRule(pam, none.run), " (", PamRunText(pam, none.run),
            ")"));
        if (decided_at.empty()) decided_at = PamDecidedAt(pam, none.run);
      } else if (password_only.kind == PamAnswer::kYes) {
        paths.push_back(absl::StrCat("keyboard-interactive through PAM accepts the Unix password (",
                                     kbd_source, "; PAM decided at ",
                                     PamDecidedRule(pam, password_only.run), ": ",
                                     PamRunText(pam, password_only.run), ")"));
        if (decided_at.empty()) decided_at = PamDecidedAt(pam, password_only.run);
      } else if (none.kind == PamAnswer::kUnknown || password_only.kind == PamAnswer::kUnknown) {
        const PamAnswer& u = none.kind == PamAnswer::kUnknown ? none : password_only;
        pam_unknown.push_back(
            MakeEvidence(absl::StrCat("cannot tell whether keyboard-interactive through PAM lets ",
                                      a->name(), " in without a key: ", u.why),
                         pam.file(), "unknown", "key required"));
      }
    }
    if (paths.empty()) continue;
    bool usable_password = a->password() == v1::PASSWORD_SET ||
                           a->password() == v1::PASSWORD_EMPTY ||
                           a->password() == v1::PASSWORD_STATE_UNSPECIFIED;
    if (usable_password || nothing_needed) {
      exposed.push_back(a->name());
      evidence.push_back(Finding(
          MakeEvidence(absl::StrCat("account ", a->name(),
                                    " can log in without a key: ", absl::StrJoin(paths, "; ")),
                       decided_at, "password login possible", "key required for every login"),
          {{"account", a->name()}}));
    } else {
      locked_only.push_back(a->name());
    }
  }
  for (v1::Evidence& u : pam_unknown) evidence.push_back(std::move(u));
  if (!exposed.empty()) {
    status = v1::FAIL;
  } else if (!pam_unknown.empty()) {
    status = v1::UNKNOWN;
  } else if (!locked_only.empty()) {
    status = v1::WARN;
    evidence.push_back(MakeEvidence(
        absl::StrCat("sshd would accept a password for ", absl::StrJoin(locked_only, ", "),
                     ", but their passwords are locked; turn password authentication off"),
        std::string(kSshdConfig), "allowed by sshd, no usable password",
        "PasswordAuthentication no"));
  } else {
    const v1::SshdEffective* any =
        report.sshd().effective_size() > 0 ? &report.sshd().effective(0) : nullptr;
    if (any != nullptr) {
      evidence.push_back(MakeEvidence(
          absl::StrCat("no login account can authenticate with a password alone "
                       "(PasswordAuthentication ",
                       Value(*any, "passwordauthentication"), ", AuthenticationMethods ",
                       Value(*any, "authenticationmethods"), ")"),
          SourceOf(*any, "passwordauthentication"), "key required", "key required"));
    }
  }
  // PasswordAuthentication left on, though AuthenticationMethods keeps a key
  // mandatory today (e.g. a cloud-init drop-in): one edit away from exposure.
  if (status == v1::PASS) {
    for (const v1::Account* a : LoginAccounts(report.accounts())) {
      const v1::SshdEffective* e = EffectiveFor(report.sshd(), a->name());
      if (e == nullptr || Value(*e, "passwordauthentication") != "yes") continue;
      status = v1::WARN;
      evidence.push_back(MakeEvidence(
          absl::StrCat("PasswordAuthentication is yes (for ", a->name(),
                       " and others); AuthenticationMethods still requires a key, but password "
                       "authentication should be off"),
          SourceOf(*e, "passwordauthentication"), "yes", "no"));
      break;
    }
  }
  // Empty passwords with PermitEmptyPasswords yes.
  for (const v1::Account* a : LoginAccounts(report.accounts())) {
    const v1::SshdEffective* e = EffectiveFor(report.sshd(), a->name());
    if (e != nullptr && a->password() == v1::PASSWORD_EMPTY &&
        Value(*e, "permitemptypasswords") == "yes") {
      status = v1::FAIL;
      evidence.push_back(
          Finding(MakeEvidence(absl::StrCat("account ", a->name(),
                                            " has an empty password and PermitEmptyPasswords "
                                            "is yes"),
                               SourceOf(*e, "permitemptypasswords"), "yes", "no"),
                  {{"account", a->name()}}));
    }
  }
  return MakeVerdict(status, std::move(evidence));
}

// ---------------------------------------------------------------------------
// ssh.2fa_enabled

v1::Verdict TwoFactorEnabled(const v1::FactReport& report, const EvalContext& ctx) {
  v1::Verdict unusable = Unusable(report, true, true, false);
  if (unusable.status() != v1::CHECK_STATUS_UNSPECIFIED) return unusable;
  const v1::PamFact& pam = report.pam();
  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = v1::PASS;
  std::vector<std::string> ok;
  std::optional<PamAccount> pam_root = PamProcessUser(report.accounts());
  for (const v1::Account* a : LoginAccounts(report.accounts())) {
    const v1::SshdEffective* e = EffectiveFor(report.sshd(), a->name());
    if (e == nullptr) continue;
    std::string why;
    if (!SshdAdmits(*a, *e, &why)) continue;
    if (a->name() == "root" && Value(*e, "permitrootlogin") == "no") continue;
    std::string methods = Value(*e, "authenticationmethods");
    std::string source = SourceOf(*e, "authenticationmethods");
    auto lists = MethodLists(*e);
    bool exempt = Contains(ctx.params.List("ssh_2fa_exempt_accounts"), a->name());
    bool key_required = !lists.empty() && std::all_of(lists.begin(), lists.end(),
                                                      [](const std::vector<std::string>& l) {
                                                        return Has(l, "publickey");
                                                      });
    bool second_required =
        !lists.empty() &&
        std::all_of(lists.begin(), lists.end(), [](const std::vector<std::string>& l) {
          return Has(l, "keyboard-interactive") && l.size() >= 2;
        });
    if (exempt) {
      if (key_required) {
        ok.push_back(absl::StrCat(a->name(), " (exempt by policy: key only)"));
      } else {
        status = v1::FAIL;
        evidence.push_back(Finding(MakeEvidence(absl::StrCat("exempt account ", a->name(),
                                                             " does not even require a key "
                                                             "(AuthenticationMethods ",
                                                             methods, ")"),
                                                source, methods, "publickey"),
                                   {{"account", a->name()}}));
      }
      continue;
    }
    if (!key_required || !second_required) {
      status = v1::FAIL;
      evidence.push_back(
          Finding(MakeEvidence(
                      absl::StrCat("account ", a->name(),
                                   " logs in without two factors: AuthenticationMethods ", methods),
                      source, methods, "publickey,keyboard-interactive"),
                  {{"account", a->name()}}));
      continue;
    }
    if (!pam.google_authenticator()) {
      status = v1::FAIL;
      evidence.push_back(
          Finding(MakeEvidence(absl::StrCat("account ", a->name(),
                                            ": keyboard-interactive is required but PAM has no "
                                            "pam_google_authenticator in its auth stack"),
                               "/etc/pam.d/sshd", "no OTP module",
                               "auth required pam_google_authenticator.so"),
                  {{"account", a->name()}}));
      continue;
    }
    // PAM as libpam runs it, for someone who has the key and the Unix
    // password but not the one-time code.
    PamAnswer without_code = PamAuthenticates(pam, PamAccountFrom(*a), PamScenario{true, false},
                                              pam_root ? &*pam_root : nullptr);
    if (without_code.kind == PamAnswer::kYes) {
      status = v1::FAIL;
      const PamRun& run = without_code.run;
      const v1::PamRule* skip = NullokSkip(pam, run);
      if (skip != nullptr && !a->google_authenticator()) {
        evidence.push_back(Finding(
            MakeEvidence(
                absl::StrCat("account ", a->name(), " has no ", a->home(),
                             "/.google_authenticator; with nullok (", skip->file(), ":",
                             skip->line(), ") it logs in with a key alone: ", PamRunText(pam, run)),
                absl::StrCat(skip->file(), ":", skip->line()), "not enrolled", "enrolled"),
            {{"account", a->name()}}));
      } else {
        evidence.push_back(Finding(
            MakeEvidence(
                absl::StrCat("account ", a->name(),
                             ": PAM lets keyboard-interactive through without the one-time code, "
                             "decided at ",
                             PamDecidedRule(pam, run), ": ", PamRunText(pam, run)),
                PamDecidedAt(pam, run), "no code asked", "pam_google_authenticator must succeed"),
            {{"account", a->name()}}));
      }
      continue;
    }
    if (without_code.kind == PamAnswer::kUnknown) {
      status = Worst(status, v1::UNKNOWN);
      evidence.push_back(
          Finding(MakeEvidence(absl::StrCat("cannot tell whether account ", a->name(),
                                            " needs the one-time code: ", without_code.why),
                               pam.file(), "unknown", "pam_google_authenticator must succeed"),
                  {{"account", a->name()}}));
      continue;
    }
    ok.push_back(a->name());
  }
  if (!ok.empty()) {
    evidence.push_back(MakeEvidence(
        absl::StrCat("two factors required for: ", absl::StrJoin(ok, ", ")), "/etc/pam.d/sshd"));
  }
  // An exemption in the config for someone the policy does not exempt is
  // reported above as a login without two factors.
  return MakeVerdict(status, std::move(evidence));
}

// ---------------------------------------------------------------------------
// ssh.vendor_access_removed

bool CommentDenied(const v1::AuthorizedKey& k, const Params& params, std::string* pattern) {
  std::string comment = absl::AsciiStrToLower(k.comment());
  for (const std::string& p : params.List("deny_key_comment_patterns")) {
    if (!p.empty() && absl::StrContains(comment, absl::AsciiStrToLower(p))) {
      *pattern = p;
      return true;
    }
  }
  return false;
}

v1::Verdict VendorAccessRemoved(const v1::FactReport& report, const EvalContext& ctx) {
  v1::Verdict unusable = UnusableFact(report, report.accounts(), "account database", "/etc/passwd");
  if (unusable.status() != v1::CHECK_STATUS_UNSPECIFIED) return unusable;
  unusable =
      UnusableFact(report, report.authorized_keys(), "authorized keys", "AuthorizedKeysFile");
  if (unusable.status() != v1::CHECK_STATUS_UNSPECIFIED) return unusable;
  const Params& params = ctx.params;
  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = v1::PASS;
  size_t keys_checked = 0;
  for (const v1::AuthorizedKey& k : report.authorized_keys().keys()) {
    ++keys_checked;
    std::string where = absl::StrCat(k.file(), ":", k.line());
    std::string pattern;
    std::string who = k.orphan() ? absl::StrCat("the home of removed account ", k.account())
                                 : absl::StrCat("account ", k.account());
    if (Contains(params.List("deny_key_fingerprints"), k.fingerprint())) {
      status = v1::FAIL;
      evidence.push_back(Finding(MakeEvidence(absl::StrCat("deny-listed key ", k.fingerprint(),
                                                           " (", k.comment(), ") in ", who),
                                              where, k.fingerprint(), "absent"),
                                 {{"account", k.account()}, {"key", k.fingerprint()}}));
    } else if (CommentDenied(k, params, &pattern)) {
      status = v1::FAIL;
      evidence.push_back(Finding(
          MakeEvidence(absl::StrCat("key '", k.comment(), "' matches the deny-listed pattern '",
                                    pattern, "' in ", who),
                       where, k.comment(), "absent"),
          {{"account", k.account()}, {"key", k.fingerprint()}}));
    }
  }
  const std::vector<std::string>& deny_accounts = params.List("deny_accounts");
  std::set<std::string> denied(deny_accounts.begin(), deny_accounts.end());
  for (const v1::Account& a : report.accounts().accounts()) {
    if (denied.count(a.name())) {
      status = v1::FAIL;
      evidence.push_back(
          Finding(MakeEvidence(absl::StrCat("deny-listed account ", a.name(), " exists"),
                               a.passwd_source(), a.name(), "absent"),
                  {{"account", a.name()}}));
    }
  }
  for (const v1::GroupMembers& g : report.accounts().privileged_groups()) {
    for (const std::string& m : g.members()) {
      if (denied.count(m)) {
        status = v1::FAIL;
        evidence.push_back(Finding(
            MakeEvidence(
                absl::StrCat("deny-listed account ", m, " is in the privileged group ", g.group()),
                g.source(), m, "absent"),
            {{"account", m}}));
      }
    }
  }
  for (const v1::SudoRule& r : report.accounts().sudo_rules()) {
    if (denied.count(r.who())) {
      status = v1::FAIL;
      evidence.push_back(Finding(
          MakeEvidence(
              absl::StrCat("sudoers grants deny-listed account ", r.who(), ": ", r.commands()),
              absl::StrCat(r.file(), ":", r.line()), r.who(), "absent"),
          {{"account", r.who()}}));
    }
  }
  for (const v1::Orphan& o : report.accounts().orphans()) {
    bool deny = denied.count(o.name()) > 0;
    status = Worst(status, deny ? v1::FAIL : v1::WARN);
    if (o.kind() == v1::Orphan::HOME) {
      evidence.push_back(
          Finding(MakeEvidence(absl::StrCat("home of removed account ", o.name(), " is still there",
                                            o.has_authorized_keys() ? " with authorized keys" : ""),
                               o.path(), "left behind", "removed"),
                  {{"account", o.name()}}));
    } else {
      evidence.push_back(Finding(
          MakeEvidence(
              absl::StrCat("sudoers drop-in of removed account ", o.name(),
                           " is still there: it grants sudo to anyone recreated with that name"),
              o.path(), "left behind", "removed"),
          {{"account", o.name()}}));
    }
  }
  if (status == v1::PASS) {
    evidence.push_back(MakeEvidence(
        absl::StrCat(keys_checked, " authorized key(s), ", report.accounts().accounts_size(),
                     " account(s) and the sudoers rules match nothing on the deny-list (",
                     absl::StrJoin(params.List("deny_key_comment_patterns"), ", "), ")"),
        "AuthorizedKeysFile, /etc/passwd, /etc/sudoers"));
  }
  return MakeVerdict(status, std::move(evidence));
}

// ---------------------------------------------------------------------------
// ssh.weak_keys

v1::Verdict WeakKeys(const v1::FactReport& report, const EvalContext& ctx) {
  v1::Verdict unusable =
      UnusableFact(report, report.authorized_keys(), "authorized keys", "AuthorizedKeysFile");
  if (unusable.status() != v1::CHECK_STATUS_UNSPECIFIED) return unusable;
  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = v1::PASS;
  for (const v1::AuthorizedKey& k : report.authorized_keys().keys()) {
    std::string where = absl::StrCat(k.file(), ":", k.line());
    if (k.type() == "ssh-dss") {
      status = v1::FAIL;
      evidence.push_back(
          Finding(MakeEvidence(absl::StrCat("DSA key '", k.comment(), "' of ", k.account()), where,
                               "ssh-dss", "ed25519 or RSA >= 3072"),
                  {{"account", k.account()}, {"key", k.fingerprint()}}));
    } else if (k.type() == "ssh-rsa" && k.bits() < ctx.params.Uint("min_rsa_bits")) {
      status = v1::FAIL;
      evidence.push_back(Finding(
          MakeEvidence(absl::StrCat(k.bits(), "-bit RSA key '", k.comment(), "' of ", k.account(),
                                    " (sshd's RequiredRSASize refuses it, but it should go)"),
                       where, absl::StrCat(k.bits()),
                       absl::StrCat(">= ", ctx.params.Uint("min_rsa_bits"))),
          {{"account", k.account()}, {"key", k.fingerprint()}}));
    } else if (Contains(ctx.params.List("service_accounts"), k.account()) && !k.orphan()) {
      bool restricted = std::any_of(k.options().begin(), k.options().end(), [](const auto& o) {
        return absl::StartsWith(o, "from=") || absl::StartsWith(o, "command=") || o == "restrict";
      });
      if (!restricted) {
        status = Worst(status, v1::WARN);
        evidence.push_back(
            Finding(MakeEvidence(absl::StrCat("service account ", k.account(), " key '",
                                              k.comment(), "' has no from=, command= or restrict"),
                                 where, "unrestricted", "from=... or command=..."),
                    {{"account", k.account()}, {"key", k.fingerprint()}}));
      }
    }
  }
  for (const v1::KeyFile& f : report.authorized_keys().files()) {
    for (const std::string& p : f.problems()) {
      status = Worst(status, v1::WARN);
      evidence.push_back(MakeEvidence(absl::StrCat(f.path(), ": ", p), f.path(), p, ""));
    }
  }
  if (status == v1::PASS) {
    evidence.push_back(MakeEvidence(
        absl::StrCat(report.authorized_keys().keys_size(), " authorized key(s), none weak"),
        "AuthorizedKeysFile"));
  }
  return MakeVerdict(status, std::move(evidence));
}

}  // namespace

void RegisterSshChecks(CheckRegistry& registry) {
  registry.Bind("ssh.password_auth_disabled", PasswordAuthDisabled);
  registry.Bind("ssh.2fa_enabled", TwoFactorEnabled);
  registry.Bind("ssh.root_login_disabled", RootLoginDisabled);
  registry.Bind("ssh.vendor_access_removed", VendorAccessRemoved);
  registry.Bind("ssh.weak_keys", WeakKeys);
}

}  // namespace preflight::collector
