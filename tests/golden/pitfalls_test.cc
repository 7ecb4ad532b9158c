// The SSH pitfalls of OpenCRVS servers, one fixture root each: the verdict
// and the evidence that names the deciding file:line and the account.
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/readiness/engine.h"
#include "tests/support/golden.h"

namespace preflight::testing {
namespace {

using collector::StatusName;

#define EXPECT_STATUS(scenario, check, want)                                        \
  do {                                                                              \
    v1::Verdict v_ = VerdictOf(scenario, check);                                    \
    EXPECT_EQ(StatusName(v_.status()), want) << check << ":\n" << EvidenceText(v_); \
  } while (0)

TEST(Pitfalls, ProvisionedManagerPassesEverySshCheck) {
  GoldenScenario s = RunScenario("opencrvs-manager");
  EXPECT_STATUS(s, "ssh.root_login_disabled", "PASS");
  EXPECT_STATUS(s, "ssh.password_auth_disabled", "PASS");
  EXPECT_STATUS(s, "ssh.2fa_enabled", "PASS");
  EXPECT_STATUS(s, "ssh.vendor_access_removed", "PASS");
  // provision's CI key has no from=/command=: advisory only.
  EXPECT_STATUS(s, "ssh.weak_keys", "WARN");
  // The provision exemption (Match User provision ... Match all) applies to
  // provision alone.
  bool provision_exempt = false;
  for (const v1::SshdEffective& e : s.facts.sshd().effective()) {
    for (const v1::SshdSetting& st : e.settings()) {
      if (st.keyword() != "authenticationmethods") continue;
      std::string v = absl::StrJoin(st.values(), " ");
      if (e.user() == "provision") {
        provision_exempt = v == "publickey";
      } else {
        EXPECT_EQ(v, "publickey,keyboard-interactive") << e.user();
      }
    }
  }
  EXPECT_TRUE(provision_exempt);
}

TEST(Pitfalls, CloudInitDropInWinsOverMainFile) {
  GoldenScenario s = RunScenario("cloud-init-root");
  v1::Verdict root = VerdictOf(s, "ssh.root_login_disabled");
  EXPECT_EQ(StatusName(root.status()), "FAIL");
  EXPECT_EQ(root.evidence(0).source(), "/etc/ssh/sshd_config.d/50-cloud-init.conf:2")
      << EvidenceText(root);
  v1::Verdict pw = VerdictOf(s, "ssh.password_auth_disabled");
  EXPECT_EQ(StatusName(pw.status()), "FAIL") << EvidenceText(pw);
  EXPECT_TRUE(absl::StrContains(EvidenceText(pw), "50-cloud-init.conf:1")) << EvidenceText(pw);
  EXPECT_TRUE(absl::StrContains(EvidenceText(pw), "alice")) << EvidenceText(pw);
}

TEST(Pitfalls, CloudInitPasswordBehindAuthenticationMethodsIsAWarning) {
  GoldenScenario s = RunScenario("cloud-init-password");
  v1::Verdict pw = VerdictOf(s, "ssh.password_auth_disabled");
  EXPECT_EQ(StatusName(pw.status()), "WARN") << EvidenceText(pw);
  EXPECT_TRUE(absl::StrContains(EvidenceText(pw), "/etc/ssh/sshd_config.d/50-cloud-init.conf:1"))
      << EvidenceText(pw);
  EXPECT_STATUS(s, "ssh.2fa_enabled", "PASS");
}

TEST(Pitfalls, NullokWithoutEnrolmentNamesTheAccount) {
  GoldenScenario s = RunScenario("nullok-unenrolled");
  v1::Verdict v = VerdictOf(s, "ssh.2fa_enabled");
  EXPECT_EQ(StatusName(v.status()), "FAIL");
  EXPECT_TRUE(
      absl::StrContains(EvidenceText(v), "account bob has no /home/bob/.google_authenticator"))
      << EvidenceText(v);
  EXPECT_FALSE(absl::StrContains(EvidenceText(v), "account alice has no")) << EvidenceText(v);
  EXPECT_STATUS(s, "ssh.password_auth_disabled", "PASS");
}

TEST(Pitfalls, ExemptionBeyondPolicyIsAFinding) {
  GoldenScenario s = RunScenario("exempt-extra");
  v1::Verdict v = VerdictOf(s, "ssh.2fa_enabled");
  EXPECT_EQ(StatusName(v.status()), "FAIL");
  EXPECT_TRUE(absl::StrContains(EvidenceText(v), "account alice logs in without two factors"))
      << EvidenceText(v);
  // A policy that exempts alice accepts it.
  v1::Policy policy;
  policy.add_ssh_2fa_exempt_accounts("provision");
  policy.add_ssh_2fa_exempt_accounts("alice");
  EXPECT_STATUS(RunScenario("exempt-extra", policy), "ssh.2fa_enabled", "PASS");
}

TEST(Pitfalls, RemovedUserLeavesKeysAndSudoersBehind) {
  GoldenScenario s = RunScenario("removed-user");
  v1::Verdict v = VerdictOf(s, "ssh.vendor_access_removed");
  EXPECT_EQ(StatusName(v.status()), "FAIL");
  std::string all = EvidenceText(v);
  EXPECT_TRUE(absl::StrContains(all, "'dev@opencrvs.org'")) << all;
  EXPECT_TRUE(absl::StrContains(all, "/home/provision/.ssh/authorized_keys:3")) << all;
  EXPECT_TRUE(absl::StrContains(all, "the home of removed account carol")) << all;
  EXPECT_TRUE(absl::StrContains(all, "/etc/sudoers.d/carol")) << all;
  // Without the deny-list match, the orphans alone are a warning.
  v1::Policy policy;
  policy.add_deny_key_comment_patterns("@nowhere.invalid");
  EXPECT_STATUS(RunScenario("removed-user", policy), "ssh.vendor_access_removed", "WARN");
}

TEST(Pitfalls, RootLeftUnlocked) {
  GoldenScenario s = RunScenario("root-unlocked");
  v1::Verdict v = VerdictOf(s, "ssh.root_login_disabled");
  EXPECT_EQ(StatusName(v.status()), "FAIL");
  EXPECT_TRUE(absl::StrContains(
      EvidenceText(v), "root's password is set, not locked (passwd -l root) @ /etc/shadow"))
      << EvidenceText(v);
}

TEST(Pitfalls, UnhardenedDebianDefaults) {
  GoldenScenario s = RunScenario("unhardened-root");
  v1::Verdict v = VerdictOf(s, "ssh.root_login_disabled");
  EXPECT_EQ(StatusName(v.status()), "FAIL");
  EXPECT_EQ(v.evidence(0).source(), "default (OpenSSH)") << EvidenceText(v);
  EXPECT_EQ(v.evidence(0).observed(), "prohibit-password");
  EXPECT_STATUS(s, "ssh.password_auth_disabled", "FAIL");
  EXPECT_STATUS(s, "ssh.2fa_enabled", "FAIL");
}

TEST(Pitfalls, RehomedBackupUserIsALoginAccount) {
  GoldenScenario s = RunScenario("backup-server");
  // The manager's root key, inside the Ansible block, is legitimate.
  EXPECT_STATUS(s, "ssh.vendor_access_removed", "PASS");
  bool found = false;
  for (const v1::AuthorizedKey& k : s.facts.authorized_keys().keys()) {
    if (k.account() == "backup") {
      found = true;
      EXPECT_EQ(k.managed_block(), "docker-manager-first prod-01");
      EXPECT_EQ(k.comment(), "root@prod-01");
    }
  }
  EXPECT_TRUE(found) << "backup's keys were not collected";
  v1::Verdict v = VerdictOf(s, "ssh.2fa_enabled");
  EXPECT_EQ(StatusName(v.status()), "FAIL");
  EXPECT_TRUE(absl::StrContains(EvidenceText(v), "account backup")) << EvidenceText(v);
  v1::Verdict weak = VerdictOf(s, "ssh.weak_keys");
  EXPECT_TRUE(absl::StrContains(EvidenceText(weak), "service account backup"))
      << EvidenceText(weak);
}

}  // namespace
}  // namespace preflight::testing
