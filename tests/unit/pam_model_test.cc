// The PAM model (collector/checks/pam_model) on stacks written to a host
// root and collected by the real pam fact collector. Expected results follow
// libpam's dispatch (pam_dispatch.c) and pam.conf(5); the oracle test
// (tests/oracle/pam_oracle_test.cc) checks the same model against libpam.
#include "collector/checks/pam_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/facts/pam.h"
#include "agent/host/rooted_host_env.h"
#include "tests/support/temp_dir.h"

namespace preflight::collector {
namespace {

using ::testing::HasSubstr;

constexpr const char* kModules[] = {
    "pam_permit.so",     "pam_deny.so", "pam_unix.so",      "pam_google_authenticator.so",
    "pam_succeed_if.so", "pam_env.so",  "pam_faildelay.so", "pam_nologin.so",
    "pam_mystery.so"};

// Writes /etc/pam.d/sshd (and other files) under a temp root with the
// modules above installed, and collects the pam fact.
v1::PamFact Collect(const std::map<std::string, std::string>& files,
                    testing::TempDir* keep = nullptr) {
  testing::TempDir local;
  testing::TempDir& dir = keep != nullptr ? *keep : local;
  for (const char* m : kModules) {
    testing::WriteFile(dir.Join(absl::StrCat("usr/lib/x86_64-linux-gnu/security/", m)), "");
  }
  for (const auto& [path, content] : files) testing::WriteFile(dir.Join(path.substr(1)), content);
  auto env = agent::RootedHostEnv::Create(dir.path());
  EXPECT_TRUE(env.ok()) << env.status();
  v1::FactReport report;
  agent::MakePamCollector()->Collect(**env, agent::CollectOptions(), report);
  return report.pam();
}

PamAccount Alice(v1::PasswordState pw = v1::PASSWORD_SET, bool enrolled = true) {
  PamAccount a;
  a.name = "alice";
  a.uid = 1001;
  a.gid = 1001;
  a.home = "/home/alice";
  a.shell = "/bin/bash";
  a.groups = {"alice", "docker"};
  a.password = pw;
  a.otp_enrolled = enrolled;
  return a;
}

PamAnswer::Kind Auth(const v1::PamFact& pam, const PamAccount& a, bool password, bool code) {
  PamAnswer ans = PamAuthenticates(pam, a, PamScenario{password, code}, nullptr);
  return ans.kind;
}

constexpr auto kYes = PamAnswer::kYes;
constexpr auto kNo = PamAnswer::kNo;
constexpr auto kUnknown = PamAnswer::kUnknown;

struct Case {
  const char* name;
  const char* sshd;
  bool password;
  bool code;
  PamAnswer::Kind want;
};

class ControlTable : public ::testing::TestWithParam<Case> {};

TEST_P(ControlTable, AsLibpamDispatches) {
  const Case& c = GetParam();
  v1::PamFact pam = Collect({{"/etc/pam.d/sshd", c.sshd}});
  ASSERT_EQ(pam.collection().state(), v1::Collection::OK) << pam.collection().error();
  PamAnswer ans = PamAuthenticates(pam, Alice(), PamScenario{c.password, c.code}, nullptr);
  EXPECT_EQ(ans.kind, c.want) << c.sshd << "\n" << PamRunText(pam, ans.run) << "\n" << ans.why;
}

INSTANTIATE_TEST_SUITE_P(
    Pam, ControlTable,
    ::testing::Values(
        // The false pass of issue 07: sufficient pam_permit ends the stack.
        Case{"permit_sufficient_first",
             "auth sufficient pam_permit.so\nauth required pam_google_authenticator.so\n", true,
             false, kYes},
        Case{"otp_required",
             "auth required pam_google_authenticator.so\nauth required pam_permit.so\n", true,
             false, kNo},
        Case{"otp_required_code_right",
             "auth required pam_google_authenticator.so\nauth required pam_permit.so\n", false,
             true, kYes},
        // required failure is remembered; later success does not undo it.
        Case{"required_fail_then_sufficient",
             "auth required pam_deny.so\nauth sufficient pam_permit.so\n", true, true, kNo},
        // requisite dies at once.
        Case{"requisite", "auth requisite pam_deny.so\nauth required pam_permit.so\n", true, true,
             kNo},
        // optional failure alone does not fail the stack.
        Case{"optional_fail", "auth optional pam_deny.so\nauth required pam_permit.so\n", true,
             true, kYes},
        // only optional modules, all failing: nothing positive, PERM_DENIED.
        Case{"only_optional_fail", "auth optional pam_deny.so\n", true, true, kNo},
        // sufficient failure is ignored.
        Case{"sufficient_fail", "auth sufficient pam_deny.so\nauth required pam_permit.so\n", true,
             true, kYes},
        // Debian's common-auth: the jump skips pam_deny when pam_unix succeeds.
        Case{"jump_over_deny_pw_right",
             "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\n"
             "auth required pam_permit.so\n",
             true, false, kYes},
        Case{"jump_over_deny_pw_wrong",
             "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\n"
             "auth required pam_permit.so\n",
             false, true, kNo},
        // A jump past the end of the stack is libpam's "bad jump".
        Case{"bad_jump",
             "auth [success=5 default=ignore] pam_permit.so\nauth required pam_permit.so\n", true,
             true, kNo},
        // default=ignore on a success=ok module: ignore on IGNORE is positive-less.
        Case{"ignore_only", "auth [default=ignore] pam_permit.so\n", true, true, kNo},
        // done on success in brackets.
        Case{"bracket_done",
             "auth [success=done new_authtok_reqd=done default=die] pam_permit.so\n"
             "auth required pam_deny.so\n",
             true, true, kYes},
        Case{"bracket_die",
             "auth [success=done new_authtok_reqd=done default=die] pam_deny.so\n"
             "auth required pam_permit.so\n",
             true, true, kNo},
        // reset forgets an earlier failure.
        Case{"reset",
             "auth required pam_deny.so\nauth [default=reset] pam_deny.so\n"
             "auth required pam_permit.so\n",
             true, true, kYes},
        // An unparsable control makes every action bad.
        Case{"bad_control", "auth [success=okay] pam_permit.so\nauth optional pam_permit.so\n",
             true, true, kNo},
        // A missing module returns PAM_MODULE_UNKNOWN; '-' only silences the log.
        Case{"missing_required", "auth required pam_missing.so\nauth required pam_permit.so\n",
             true, true, kNo},
        Case{"missing_dash_required",
             "-auth required pam_missing.so\nauth required pam_permit.so\n", true, true, kNo},
        Case{"missing_dash_optional",
             "-auth optional pam_missing.so\nauth required pam_permit.so\n", true, true, kYes},
        // A line libpam cannot parse fails (PERM_DENIED with its actions).
        Case{"no_module", "auth required\nauth sufficient pam_permit.so\n", true, true, kNo},
        Case{"illegal_type", "auht required pam_permit.so\nauth sufficient pam_permit.so\n", true,
             true, kNo},
        // Continuation lines and '#' comments.
        Case{"continuation",
             "auth \\\n  sufficient pam_permit.so # comment\nauth required pam_deny.so\n", true,
             true, kYes},
        // pam_succeed_if conditions on the account.
        Case{"succeed_if_uid",
             "auth sufficient pam_succeed_if.so uid >= 1000 quiet\n"
             "auth required pam_google_authenticator.so\n",
             true, false, kYes},
        Case{"succeed_if_ingroup_not",
             "auth sufficient pam_succeed_if.so user ingroup sudo\n"
             "auth required pam_google_authenticator.so\n",
             true, false, kNo},
        Case{"succeed_if_user_in",
             "auth [success=1 default=ignore] pam_succeed_if.so user in bob:alice\n"
             "auth required pam_google_authenticator.so\nauth required pam_permit.so\n",
             true, false, kYes},
        // An unmodelled module whose result matters makes the answer unknown ...
        Case{"unknown_module_matters",
             "auth sufficient pam_mystery.so\n"
             "auth required pam_google_authenticator.so\n",
             true, false, kUnknown},
        // ... and not when every result it could return ends the same way.
        Case{"unknown_module_harmless",
             "auth optional pam_mystery.so\n"
             "auth required pam_google_authenticator.so\n",
             true, false, kNo},
        Case{"harmless_modules",
             "auth required pam_env.so\nauth optional pam_faildelay.so delay=1\n"
             "auth required pam_nologin.so\nauth required pam_google_authenticator.so\n",
             true, false, kNo}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

TEST(PamModel, IncludeIsInlineSubstackIsItsOwnLevel) {
  // done inside an include ends the whole stack: pam_deny never runs.
  std::string sub = "auth sufficient pam_permit.so\nauth required pam_deny.so\n";
  v1::PamFact inc = Collect({{"/etc/pam.d/sshd", "auth include sub\nauth required pam_deny.so\n"},
                             {"/etc/pam.d/sub", sub}});
  EXPECT_EQ(Auth(inc, Alice(), true, true), kYes);
  // done inside a substack ends only the substack: pam_deny after it fails.
  v1::PamFact st = Collect({{"/etc/pam.d/sshd", "auth substack sub\nauth required pam_deny.so\n"},
                            {"/etc/pam.d/sub", sub}});
  ASSERT_GE(st.rules_size(), 4);
  EXPECT_EQ(st.rules(0).control(), "substack");
  EXPECT_EQ(st.rules(1).depth(), 1u);
  EXPECT_EQ(Auth(st, Alice(), true, true), kNo);
  // die inside a substack ends the substack; the failure stands.
  v1::PamFact die =
      Collect({{"/etc/pam.d/sshd", "auth substack sub\nauth optional pam_permit.so\n"},
               {"/etc/pam.d/sub", "auth requisite pam_deny.so\nauth required pam_permit.so\n"}});
  EXPECT_EQ(Auth(die, Alice(), true, true), kNo);
  // A jump over a substack counts it as one rule.
  v1::PamFact jump =
      Collect({{"/etc/pam.d/sshd",
                "auth [success=1 default=ignore] pam_permit.so\nauth substack sub\nauth required "
                "pam_permit.so\n"},
               {"/etc/pam.d/sub", "auth required pam_deny.so\nauth required pam_deny.so\n"}});
  EXPECT_EQ(Auth(jump, Alice(), true, true), kYes);
  // A jump inside a substack cannot leave it.
  v1::PamFact out =
      Collect({{"/etc/pam.d/sshd", "auth substack sub\nauth required pam_permit.so\n"},
               {"/etc/pam.d/sub",
                "auth [success=2 default=ignore] pam_permit.so\nauth required pam_permit.so\n"}});
  EXPECT_EQ(Auth(out, Alice(), true, true), kNo);
}

TEST(PamModel, MissingIncludeFailsAndMissingAtIncludeAborts) {
  v1::PamFact inc =
      Collect({{"/etc/pam.d/sshd", "auth include nosuch\nauth sufficient pam_permit.so\n"}});
  ASSERT_EQ(inc.collection().state(), v1::Collection::OK);
  EXPECT_EQ(Auth(inc, Alice(), true, true), kNo);
  v1::PamFact at =
      Collect({{"/etc/pam.d/sshd", "@include nosuch\nauth sufficient pam_permit.so\n"}});
  EXPECT_THAT(at.load_error(), HasSubstr("nosuch"));
  EXPECT_EQ(Auth(at, Alice(), true, true), kNo);
}

TEST(PamModel, UnreadableIncludeMakesTheFactUnusable) {
  if (geteuid() == 0) {
    // root reads any mode; a directory in the file's place is unreadable for all.
    testing::TempDir dir;
    testing::MakeDirs(dir.Join("etc/pam.d/common-auth"));
    v1::PamFact pam =
        Collect({{"/etc/pam.d/sshd", "@include common-auth\nauth required pam_permit.so\n"}}, &dir);
    ASSERT_EQ(pam.collection().unreadable_size(), 1);
    EXPECT_EQ(pam.collection().unreadable(0).path(), "/etc/pam.d/common-auth");
    EXPECT_THAT(pam.collection().unreadable(0).error(), HasSubstr("not a regular file"));
    return;
  }
  testing::TempDir dir;
  testing::WriteFile(dir.Join("etc/pam.d/common-auth"), "auth sufficient pam_permit.so\n", 0000);
  v1::PamFact pam =
      Collect({{"/etc/pam.d/sshd", "@include common-auth\nauth required pam_permit.so\n"}}, &dir);
  ASSERT_EQ(pam.collection().unreadable_size(), 1);
  EXPECT_EQ(pam.collection().unreadable(0).path(), "/etc/pam.d/common-auth");
  EXPECT_THAT(pam.collection().unreadable(0).error(), HasSubstr("PERMISSION_DENIED"));
}

TEST(PamModel, AccountStates) {
  v1::PamFact pam = Collect({{"/etc/pam.d/sshd",
                              "auth [success=1 default=ignore] pam_unix.so nullok\n"
                              "auth requisite pam_deny.so\nauth required pam_permit.so\n"}});
  EXPECT_EQ(Auth(pam, Alice(v1::PASSWORD_LOCKED), true, true), kNo);
  EXPECT_EQ(Auth(pam, Alice(v1::PASSWORD_EMPTY), false, false), kYes);  // nullok
  EXPECT_EQ(Auth(pam, Alice(v1::PASSWORD_STATE_UNSPECIFIED), true, true), kUnknown);
  v1::PamFact otp = Collect({{"/etc/pam.d/sshd",
                              "auth required pam_google_authenticator.so nullok\n"
                              "auth required pam_permit.so\n"}});
  EXPECT_EQ(Auth(otp, Alice(v1::PASSWORD_SET, false), false, false), kYes);  // nullok, unenrolled
  EXPECT_EQ(Auth(otp, Alice(v1::PASSWORD_SET, true), true, false), kNo);
}

TEST(PamModel, ControlParsing) {
  std::string err;
  auto a = PamActions("[success=1 default=ignore]", &err);
  EXPECT_EQ(a[kPamSuccess], 1);
  EXPECT_EQ(a[kPamAuthErr], kActionIgnore);
  a = PamActions("[success=ok foo=bad]", &err);
  EXPECT_EQ(err, "expecting return value");
  EXPECT_EQ(a[kPamSuccess], kActionBad);
  a = PamActions("[default=die success=ok]", &err);
  EXPECT_EQ(a[kPamSuccess], kActionOk);
  EXPECT_EQ(a[kPamIgnore], kActionDie);
  a = PamActions("Sufficient", &err);
  EXPECT_EQ(a[kPamSuccess], kActionDone);
}

}  // namespace
}  // namespace preflight::collector
