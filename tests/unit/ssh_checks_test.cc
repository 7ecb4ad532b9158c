// Tests for the check ssh.root_login_disabled (collector/checks/ssh.cc), fed
// with facts produced by the agent's own sshd_config parser and its effective
// settings computation for root.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "agent/facts/sshd_config.h"
#include "agent/facts/sshd_effective.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"

namespace preflight::collector {
namespace {

using ::testing::HasSubstr;

constexpr char kCheckId[] = "ssh.root_login_disabled";
constexpr char kMain[] = "/etc/ssh/sshd_config";

// One configuration file as the agent would have read it.
struct File {
  std::string path;
  std::string content;
};

// The report the agent would send for these files: the directives as
// written, root's account (password locked unless said otherwise) and root's
// effective settings for a connection from the internet, computed as the
// sshd collector computes them.
v1::FactReport ReportOf(const std::vector<File>& files,
                        v1::PasswordState root_password = v1::PASSWORD_LOCKED) {
  v1::FactReport report;
  v1::SshdConfigFact& fact = *report.mutable_sshd();
  fact.mutable_collection()->set_state(v1::Collection::OK);
  fact.set_main_file(kMain);
  for (const File& f : files) {
    fact.add_files(f.path);
    agent::ParseSshdConfig(f.content, f.path, fact);
  }
  v1::AccountsFact& accounts = *report.mutable_accounts();
  accounts.mutable_collection()->set_state(v1::Collection::OK);
  v1::Account& root = *accounts.add_accounts();
  root.set_name("root");
  root.set_uid(0);
  root.set_shell("/bin/bash");
  root.set_login_shell(true);
  root.set_password(root_password);
  root.add_groups("root");
  root.set_passwd_source("/etc/passwd:1");

  agent::ConnectionSpec spec;
  spec.user = "root";
  spec.groups = {"root"};
  spec.host = agent::kPublicTestAddress;
  spec.addr = agent::kPublicTestAddress;
  spec.laddr = "0.0.0.0";
  spec.lport = 22;
  *fact.add_effective() = agent::ComputeSshdEffective(fact, spec);
  return report;
}

class RootLoginCheckTest : public ::testing::Test {
 protected:
  RootLoginCheckTest() {
    RegisterBuiltinChecks(registry_);
    host_.set_id("prod-01");
    host_.set_environment("production");
    host_.add_roles("manager");
  }

  v1::Verdict Evaluate(const v1::FactReport& report) {
    const Check* check = registry_.Find(kCheckId);
    EXPECT_NE(check, nullptr);
    if (check == nullptr) return v1::Verdict();
    EXPECT_TRUE(static_cast<bool>(check->evaluate));
    const Params params = ParamsFor(*check, policy_, host_);
    EvalContext ctx{host_, policy_, absl::FromUnixSeconds(1'700'000'000), params};
    return check->evaluate(report, ctx);
  }

  CheckRegistry registry_;
  v1::InventoryHost host_;
  v1::Policy policy_;
};

TEST_F(RootLoginCheckTest, CatalogueEntry) {
  const Check* check = registry_.Find(kCheckId);
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->info.id(), kCheckId);
  EXPECT_EQ(check->info.checklist_item(), 13u);
  EXPECT_EQ(check->info.severity(), v1::BLOCKER);
  EXPECT_FALSE(check->info.manual());
  EXPECT_FALSE(check->info.title().empty());
  EXPECT_THAT(check->info.remediation(), HasSubstr("PermitRootLogin no"));
}

struct Case {
  std::string name;
  std::vector<File> files;
  v1::CheckStatus status;
  // The first evidence item.
  std::string source;
  std::string observed;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class RootLoginTableTest : public RootLoginCheckTest, public ::testing::WithParamInterface<Case> {};

TEST_P(RootLoginTableTest, Verdict) {
  const Case& c = GetParam();
  v1::Verdict v = Evaluate(ReportOf(c.files));
  EXPECT_EQ(v.status(), c.status) << v.DebugString();
  ASSERT_GE(v.evidence_size(), 1) << v.DebugString();
  EXPECT_EQ(v.evidence(0).source(), c.source) << v.DebugString();
  EXPECT_EQ(v.evidence(0).observed(), c.observed) << v.DebugString();
  EXPECT_EQ(v.evidence(0).expected(), "no");
  EXPECT_FALSE(v.evidence(0).message().empty());
}

std::vector<File> Main(std::string content) { return {File{kMain, std::move(content)}}; }

INSTANTIATE_TEST_SUITE_P(
    Cases, RootLoginTableTest,
    ::testing::Values(
        Case{"No", Main("PermitRootLogin no\n"), v1::PASS, "/etc/ssh/sshd_config:1", "no"},
        Case{"NoAfterOtherLines", Main("# hardened\nPort 22\nPermitRootLogin no\n"), v1::PASS,
             "/etc/ssh/sshd_config:3", "no"},
        Case{"AbsentIsOpenSshDefault", Main("Port 22\n"), v1::FAIL, "default (OpenSSH)",
             "prohibit-password"},
        Case{"EmptyFileIsOpenSshDefault", Main(""), v1::FAIL, "default (OpenSSH)",
             "prohibit-password"},
        Case{"CommentedOutIsOpenSshDefault", Main("#PermitRootLogin no\n"), v1::FAIL,
             "default (OpenSSH)", "prohibit-password"},
        Case{"Yes", Main("Port 22\nPermitRootLogin yes\n"), v1::FAIL, "/etc/ssh/sshd_config:2",
             "yes"},
        Case{"ProhibitPassword", Main("PermitRootLogin prohibit-password\n"), v1::FAIL,
             "/etc/ssh/sshd_config:1", "prohibit-password"},
        // An alias sshd -T prints as prohibit-password.
        Case{"WithoutPassword", Main("PermitRootLogin without-password\n"), v1::FAIL,
             "/etc/ssh/sshd_config:1", "prohibit-password"},
        Case{"ForcedCommandsOnly", Main("PermitRootLogin forced-commands-only\n"), v1::FAIL,
             "/etc/ssh/sshd_config:1", "forced-commands-only"},
        Case{"FirstValueWinsNoThenYes", Main("# a\n# b\nPermitRootLogin no\nPermitRootLogin yes\n"),
             v1::PASS, "/etc/ssh/sshd_config:3", "no"},
        Case{"FirstValueWinsYesThenNo", Main("PermitRootLogin yes\nPermitRootLogin no\n"), v1::FAIL,
             "/etc/ssh/sshd_config:1", "yes"},
        Case{"CaseInsensitiveKeywordAndValue", Main("PERMITROOTLOGIN No\n"), v1::PASS,
             "/etc/ssh/sshd_config:1", "no"},
        Case{"EqualsSyntax", Main("PermitRootLogin=no\n"), v1::PASS, "/etc/ssh/sshd_config:1",
             "no"},
        // The classic cloud-init pitfall: a drop-in read first wins.
        Case{"DropInReadFirstWins",
             {File{kMain, "Include /etc/ssh/sshd_config.d/*.conf\n"},
              File{"/etc/ssh/sshd_config.d/50-cloud-init.conf", "PermitRootLogin yes\n"},
              File{kMain, "PermitRootLogin no\n"}},
             v1::FAIL,
             "/etc/ssh/sshd_config.d/50-cloud-init.conf:1",
             "yes"},
        Case{"MatchNoWithoutGlobalStillDefault", Main("Match User bob\n  PermitRootLogin no\n"),
             v1::FAIL, "default (OpenSSH)", "prohibit-password"},
        // Only root's own connections matter for root login.
        Case{"MatchUserRootNoWithoutGlobal",
             Main("Port 22\nMatch User root\n  PermitRootLogin no\n"), v1::PASS,
             "/etc/ssh/sshd_config:3", "no"},
        Case{"GlobalNoAndMatchNo",
             Main("PermitRootLogin no\nMatch Address 10.0.0.0/8\n"
                  "  PermitRootLogin no\n"),
             v1::PASS, "/etc/ssh/sshd_config:1", "no"}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST_F(RootLoginCheckTest, MatchBlockAllowingRootFailsAndNamesTheBlock) {
  v1::Verdict v =
      Evaluate(ReportOf(Main("PermitRootLogin no\n"         // 1
                             "Match User bob\n"             // 2
                             "  PermitRootLogin yes\n")));  // 3
  EXPECT_EQ(v.status(), v1::FAIL) << v.DebugString();
  const v1::Evidence* match_evidence = nullptr;
  for (const v1::Evidence& e : v.evidence()) {
    if (e.source() == "/etc/ssh/sshd_config:3") match_evidence = &e;
  }
  ASSERT_NE(match_evidence, nullptr) << v.DebugString();
  EXPECT_THAT(match_evidence->message(), HasSubstr("Match User bob"));
  EXPECT_EQ(match_evidence->observed(), "yes");
  EXPECT_EQ(match_evidence->expected(), "no");
  // The global setting is reported as fine, with its own source.
  EXPECT_EQ(v.evidence(0).source(), "/etc/ssh/sshd_config:1");
  EXPECT_EQ(v.evidence(0).observed(), "no");
}

TEST_F(RootLoginCheckTest, MatchAddressAllowingRootFails) {
  // Whatever address root comes from: one Match context allowing it is enough.
  v1::Verdict v =
      Evaluate(ReportOf(Main("PermitRootLogin no\n"
                             "Match Address 10.0.0.0/8\n"
                             "  PermitRootLogin yes\n")));
  EXPECT_EQ(v.status(), v1::FAIL) << v.DebugString();
  bool found = false;
  for (const v1::Evidence& e : v.evidence()) {
    if (e.source() == "/etc/ssh/sshd_config:3") {
      found = true;
      EXPECT_THAT(e.message(), HasSubstr("Match Address 10.0.0.0/8"));
    }
  }
  EXPECT_TRUE(found) << v.DebugString();
}

TEST_F(RootLoginCheckTest, MatchBlockInDropInNamesTheDropIn) {
  const std::string dropin = "/etc/ssh/sshd_config.d/90-vendor.conf";
  v1::Verdict v = Evaluate(ReportOf(
      {File{kMain, "PermitRootLogin no\n"}, File{dropin,
                                                 "# vendor access\nMatch Address 203.0.113.7\n"
                                                 "PermitRootLogin prohibit-password\n"}}));
  EXPECT_EQ(v.status(), v1::FAIL) << v.DebugString();
  bool found = false;
  for (const v1::Evidence& e : v.evidence()) {
    if (e.source() == dropin + ":3") {
      found = true;
      EXPECT_THAT(e.message(), HasSubstr("Match Address 203.0.113.7"));
      EXPECT_EQ(e.observed(), "prohibit-password");
    }
  }
  EXPECT_TRUE(found) << v.DebugString();
}

// A line sshd rejects means sshd refuses to (re)load the file and keeps
// running with whatever it loaded before: the verdict must say so.
TEST_F(RootLoginCheckTest, ParseProblemsAreShownAsEvidence) {
  v1::Verdict v = Evaluate(ReportOf(Main("PermitRootLogin no\nBanner \"/etc/issue\n")));
  EXPECT_EQ(v.status(), v1::PASS) << v.DebugString();
  bool found = false;
  for (const v1::Evidence& e : v.evidence()) {
    if (e.source() == "/etc/ssh/sshd_config:2") {
      found = true;
      EXPECT_THAT(e.message(), HasSubstr("unclosed quote"));
    }
  }
  EXPECT_TRUE(found) << v.DebugString();
}

TEST_F(RootLoginCheckTest, RootPasswordNotLockedFails) {
  for (v1::PasswordState state : {v1::PASSWORD_SET, v1::PASSWORD_EMPTY}) {
    v1::Verdict v = Evaluate(ReportOf(Main("PermitRootLogin no\n"), state));
    EXPECT_EQ(v.status(), v1::FAIL) << v.DebugString();
    bool found = false;
    for (const v1::Evidence& e : v.evidence()) found |= e.source() == "/etc/shadow";
    EXPECT_TRUE(found) << v.DebugString();
  }
}

TEST_F(RootLoginCheckTest, UnreadableAccountsAreNeverAPass) {
  v1::FactReport report = ReportOf(Main("PermitRootLogin no\n"));
  report.mutable_accounts()->mutable_collection()->set_state(v1::Collection::ERROR);
  v1::Verdict v = Evaluate(report);
  EXPECT_NE(v.status(), v1::PASS) << v.DebugString();
  EXPECT_NE(v.status(), v1::WARN) << v.DebugString();
}

TEST_F(RootLoginCheckTest, RootAuthorizedKeyIsAtLeastAWarning) {
  v1::FactReport report = ReportOf(Main("PermitRootLogin no\n"));
  v1::AuthorizedKey& key = *report.mutable_authorized_keys()->add_keys();
  key.set_account("root");
  key.set_file("/root/.ssh/authorized_keys");
  key.set_line(2);
  key.set_type("ssh-ed25519");
  v1::Verdict v = Evaluate(report);
  EXPECT_NE(v.status(), v1::PASS) << v.DebugString();
  bool found = false;
  for (const v1::Evidence& e : v.evidence()) {
    found |= e.source().find("/root/.ssh/authorized_keys:2") != std::string::npos;
  }
  EXPECT_TRUE(found) << v.DebugString();
}

struct UnusableCase {
  std::string name;
  v1::Collection::State state;
  std::string error;
  std::string message_part;
};
void PrintTo(const UnusableCase& c, std::ostream* os) { *os << c.name; }

class RootLoginUnusableTest : public RootLoginCheckTest,
                              public ::testing::WithParamInterface<UnusableCase> {};

TEST_P(RootLoginUnusableTest, IsUnknownNeverPass) {
  const UnusableCase& c = GetParam();
  v1::FactReport report;
  v1::SshdConfigFact& fact = *report.mutable_sshd();
  fact.set_main_file(kMain);
  fact.mutable_collection()->set_state(c.state);
  fact.mutable_collection()->set_error(c.error);
  // Even directives that would pass must not be trusted.
  agent::ParseSshdConfig("PermitRootLogin no\n", kMain, fact);
  v1::Verdict v = Evaluate(report);
  EXPECT_EQ(v.status(), v1::UNKNOWN) << v.DebugString();
  ASSERT_GE(v.evidence_size(), 1);
  EXPECT_EQ(v.evidence(0).source(), kMain);
  EXPECT_THAT(v.evidence(0).message(), HasSubstr(c.message_part));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RootLoginUnusableTest,
    ::testing::Values(
        UnusableCase{"Absent", v1::Collection::ABSENT, "", "not found"},
        UnusableCase{"Error", v1::Collection::ERROR, "open /etc/ssh/sshd_config: Permission denied",
                     "Permission denied"},
        UnusableCase{"NotReported", v1::Collection::STATE_UNSPECIFIED, "", "not in the report"}),
    [](const ::testing::TestParamInfo<UnusableCase>& info) { return info.param.name; });

TEST_F(RootLoginCheckTest, EmptyReportIsUnknownWithDefaultSource) {
  v1::Verdict v = Evaluate(v1::FactReport());
  EXPECT_EQ(v.status(), v1::UNKNOWN);
  ASSERT_GE(v.evidence_size(), 1);
  EXPECT_EQ(v.evidence(0).source(), kMain);
}

}  // namespace
}  // namespace preflight::collector
