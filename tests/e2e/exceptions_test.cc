// Exceptions end to end (issue 14, point 1): real collector, agents and
// preflightctl over mutual TLS. A waiver accepts the findings it saw and no
// others; waivers on passing checks and beyond the policy's limits are
// refused; a second operator approves waivers of production blockers; a
// sign-off against preflight's own evidence needs --despite-evidence; the
// limits reach exceptions made before them, with audit entries; and every
// export opens with the exceptions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/store/store.h"
#include "tests/support/cluster.h"
#include "tests/support/json.h"

namespace preflight::testing {
namespace {

using ::testing::HasSubstr;

v1::Inventory Fleet() {
  v1::Inventory inv;
  auto* prod = inv.add_hosts();
  prod->set_id("prod-01");
  prod->set_environment("production");
  prod->add_roles("manager");
  auto* backup = inv.add_hosts();
  backup->set_id("backup-01");
  backup->set_environment("production");
  backup->add_roles("backup");
  return inv;
}

// The CHECK object of `check` in `host HOST --format json`.
google::protobuf::Value CheckOf(const std::string& host_json, const std::string& check) {
  const google::protobuf::Value host = ParseJson(host_json);
  for (const auto& c : Field(host, "checks").list_value().values()) {
    if (Field(c, "id").string_value() == check) return c;
  }
  ADD_FAILURE() << check << " not in " << host_json;
  return {};
}

// Tables wrap long lines: the text with every run of white space as one space.
std::string OneLine(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out.push_back(space ? ' ' : c);
  }
  return out;
}

class ExceptionsTest : public ::testing::Test {
 protected:
  ExceptionsTest() : cluster_(Fleet()) {}

  std::string HostJson(const std::string& host) {
    RunResult r = cluster_.Ctl({"host", host, "--format", "json"});
    EXPECT_NE(r.exit_code, 2) << r.err;
    return r.out;
  }

  TestCluster cluster_;
};

TEST_F(ExceptionsTest, WaiverAcceptsItsFindingsAndNoOthers) {
  cluster_.StartCollector();
  // Swarm ports and Elasticsearch reachable over IPv6.
  ASSERT_EQ(cluster_.AgentOnce("prod-01", FixtureRoot("ipv6-exposure")).exit_code, 0);
  const google::protobuf::Value before = CheckOf(HostJson("prod-01"), "firewall.public_exposure");
  ASSERT_EQ(Field(before, "status").string_value(), "FAIL");

  // Longer than the policy allows (90 days by default): refused, exit 2.
  RunResult too_long = cluster_.Ctl({"waive", "firewall.public_exposure", "--host", "prod-01",
                                     "--reason", "x", "--expires", "5000d"});
  EXPECT_EQ(too_long.exit_code, 2) << too_long.err;
  EXPECT_THAT(too_long.err, HasSubstr("max_waiver_days"));
  // A passing check cannot be waived: it would hide its next failure.
  std::string passing;
  const google::protobuf::Value host = ParseJson(HostJson("prod-01"));
  for (const auto& c : Field(host, "checks").list_value().values()) {
    if (Field(c, "status").string_value() == "PASS") passing = Field(c, "id").string_value();
  }
  ASSERT_FALSE(passing.empty());
  RunResult on_pass =
      cluster_.Ctl({"waive", passing, "--host", "prod-01", "--reason", "x", "--expires", "30d"});
  EXPECT_EQ(on_pass.exit_code, 2) << on_pass.err;
  EXPECT_THAT(on_pass.err, HasSubstr("only FAIL, UNKNOWN or WARN can be waived"));

  RunResult waive =
      cluster_.Ctl({"waive", "firewall.public_exposure", "--host", "prod-01", "--reason",
                    "provider firewall in front until the move", "--expires", "30d"});
  ASSERT_EQ(waive.exit_code, 0) << waive.err;
  EXPECT_THAT(waive.out, HasSubstr("accepts FAIL with port="));
  const google::protobuf::Value waived = CheckOf(HostJson("prod-01"), "firewall.public_exposure");
  EXPECT_EQ(Field(waived, "status").string_value(), "WAIVED");
  EXPECT_EQ(Field(waived, "underlying_status").string_value(), "FAIL");

  // Every export opens with the exception; JUnit skips the waived case.
  const std::string md_path = cluster_.dir().Join("checklist.md");
  ASSERT_NE(cluster_.Ctl({"export", "--format", "md", "--output", md_path}).exit_code, 2);
  const std::string md = ReadFile(md_path);
  ASSERT_NE(md.find("## Exceptions"), std::string::npos) << md;
  EXPECT_LT(md.find("## Exceptions"), md.find("## Hosts"));
  EXPECT_THAT(md, HasSubstr("provider firewall in front until the move"));
  const std::string junit_path = cluster_.dir().Join("checklist.junit");
  ASSERT_NE(cluster_.Ctl({"export", "--format", "junit", "--output", junit_path}).exit_code, 2);
  const std::string junit = ReadFile(junit_path);
  const size_t waived_case = junit.find("classname=\"firewall.public_exposure\" name=\"prod-01\"");
  ASSERT_NE(waived_case, std::string::npos) << junit;
  const std::string case_xml =
      junit.substr(waived_case, junit.find("</testcase>", waived_case) - waived_case);
  EXPECT_THAT(case_xml, HasSubstr("<skipped message=\"WAIVED (FAIL beneath)"));
  EXPECT_EQ(case_xml.find("<failure"), std::string::npos) << case_xml;

  // The host now also exposes MongoDB (27017/tcp): a new finding the
  // waiver never accepted. The check shows FAIL and names the waiver.
  ASSERT_EQ(cluster_.AgentOnce("prod-01", FixtureRoot("firewall-inactive")).exit_code, 0);
  const google::protobuf::Value after = CheckOf(HostJson("prod-01"), "firewall.public_exposure");
  EXPECT_EQ(Field(after, "status").string_value(), "FAIL");
  EXPECT_THAT(Field(after, "waiver_mismatch").string_value(),
              HasSubstr("does not apply: new findings port=27017/tcp"));
  EXPECT_THAT(Field(after, "waiver_mismatch").string_value(), HasSubstr("operator/alice"));
  RunResult table = cluster_.Ctl({"host", "prod-01"});
  EXPECT_THAT(OneLine(table.out), HasSubstr("does not apply: new findings port=27017/tcp"));

  RunResult audit = cluster_.Ctl({"audit"});
  EXPECT_THAT(audit.out, HasSubstr("waive prod-01 firewall.public_exposure by operator/alice"));
}

TEST_F(ExceptionsTest, ApprovalLimitsAndSignOffsDespiteEvidence) {
  v1::Policy policy;
  policy.add_waiver_approval_environments("production");
  policy.set_max_waiver_days(10);
  policy.set_max_signoff_days(20);
  cluster_.SetPolicy(policy);
  cluster_.pki().IssueOperator("carol");
  cluster_.StartCollector();
  ASSERT_EQ(cluster_.AgentOnce("prod-01", FixtureRoot("ipv6-exposure")).exit_code, 0);
  ASSERT_EQ(cluster_.AgentOnce("backup-01", FixtureRoot("backup-server")).exit_code, 0);

  // A blocker on production waits for a second operator.
  RunResult too_long = cluster_.Ctl({"waive", "firewall.public_exposure", "--host", "prod-01",
                                     "--reason", "x", "--expires", "11d"});
  EXPECT_EQ(too_long.exit_code, 2);
  EXPECT_THAT(too_long.err, HasSubstr("at most 10 days"));
  RunResult waive = cluster_.Ctl({"waive", "firewall.public_exposure", "--host", "prod-01",
                                  "--reason", "provider firewall", "--expires", "10d"});
  ASSERT_EQ(waive.exit_code, 0) << waive.err;
  EXPECT_THAT(waive.out, HasSubstr("awaits a second operator"));
  google::protobuf::Value pending = CheckOf(HostJson("prod-01"), "firewall.public_exposure");
  EXPECT_EQ(Field(pending, "status").string_value(), "FAIL");
  EXPECT_THAT(Field(pending, "waiver_mismatch").string_value(), HasSubstr("awaits"));
  RunResult self = cluster_.Ctl({"approve", "firewall.public_exposure", "--host", "prod-01"});
  EXPECT_EQ(self.exit_code, 2) << self.err;
  EXPECT_THAT(self.err, HasSubstr("needs a second operator"));
  RunResult carol = cluster_.CtlAs(cluster_.pki().OperatorTls("carol"),
                                   {"approve", "firewall.public_exposure", "--host", "prod-01"});
  ASSERT_EQ(carol.exit_code, 0) << carol.err;
  google::protobuf::Value approved = CheckOf(HostJson("prod-01"), "firewall.public_exposure");
  EXPECT_EQ(Field(approved, "status").string_value(), "WAIVED");

  // Sign-offs: at most 20 days; without --expires, exactly the maximum.
  RunResult long_signoff = cluster_.Ctl(
      {"attest", "smtp.tested", "--env", "production", "--note", "x", "--expires", "30d"});
  EXPECT_EQ(long_signoff.exit_code, 2);
  EXPECT_THAT(long_signoff.err, HasSubstr("max_signoff_days"));
  const absl::Time before = absl::Now();
  ASSERT_EQ(
      cluster_.Ctl({"attest", "smtp.tested", "--env", "production", "--note", "mail"}).exit_code,
      0);
  RunResult full = cluster_.Ctl({"status", "--full", "--format", "json"});
  bool found = false;
  const google::protobuf::Value status = ParseJson(full.out);
  for (const auto& item : Field(status, "manual_items").list_value().values()) {
    if (Field(item, "id").string_value() != "smtp.tested") continue;
    found = true;
    const double expires = Field(Field(item, "attestation"), "expires_at_unix_ms").number_value();
    EXPECT_GE(expires, absl::ToUnixMillis(before + absl::Hours(24 * 20)) - 1000);
    EXPECT_LE(expires, absl::ToUnixMillis(absl::Now() + absl::Hours(24 * 20)) + 1000);
  }
  EXPECT_TRUE(found) << full.out;

  // The backup server raises no SSH-login alert in OpenCRVS v1.x: signing
  // item 7 off for production contradicts preflight's own evidence.
  RunResult plain = cluster_.Ctl(
      {"attest", "alert.ssh_login", "--env", "production", "--note", "alert mail arrived"});
  EXPECT_EQ(plain.exit_code, 2) << plain.out;
  EXPECT_THAT(plain.err, HasSubstr("backup-01"));
  EXPECT_THAT(plain.err, HasSubstr("--despite-evidence"));
  RunResult despite = cluster_.Ctl({"attest", "alert.ssh_login", "--env", "production", "--note",
                                    "alert mail arrived from the managers", "--despite-evidence"});
  ASSERT_EQ(despite.exit_code, 0) << despite.err;
  EXPECT_THAT(despite.out, HasSubstr("despite preflight's evidence"));
  const std::string html_path = cluster_.dir().Join("checklist.html");
  ASSERT_NE(cluster_.Ctl({"export", "--format", "html", "--output", html_path}).exit_code, 2);
  const std::string html = ReadFile(html_path);
  ASSERT_NE(html.find("id=\"exceptions\""), std::string::npos);
  EXPECT_LT(html.find("id=\"exceptions\""), html.find("<h2>Hosts</h2>"));
  EXPECT_THAT(html, HasSubstr("signed off DESPITE preflight&#39;s evidence: backup-01"));
  EXPECT_THAT(html, HasSubstr("approved by operator/carol"));
  RunResult audit = cluster_.Ctl({"audit"});
  EXPECT_THAT(audit.out, HasSubstr("approve prod-01 firewall.public_exposure by operator/carol"));
  EXPECT_THAT(OneLine(audit.out), HasSubstr("DESPITE EVIDENCE: backup-01: logins to this backup"));
}

TEST_F(ExceptionsTest, LimitsReachExceptionsMadeBefore) {
  // Stored by an older collector: a sign-off without expiry, a waiver for
  // 5 years, a waiver not bound to findings on a failing check and one on a
  // passing check.
  cluster_.StartCollector();
  ASSERT_EQ(cluster_.AgentOnce("prod-01", FixtureRoot("ipv6-exposure")).exit_code, 0);
  cluster_.StopCollector(SIGTERM);
  const absl::Time now = absl::Now();
  {
    auto store = collector::Store::Open(cluster_.data_dir());
    ASSERT_TRUE(store.ok()) << store.status();
    v1::Attestation a;
    a.set_check_id("smtp.tested");
    a.set_environment("production");
    a.set_operator_("spiffe://test.local/operator/alice");
    a.set_note("old sign-off");
    a.set_attested_at_unix_ms(absl::ToUnixMillis(now - absl::Hours(24 * 400)));
    ASSERT_TRUE(
        (*store)->PutAttestation(a, {"old", "attest", "smtp.tested production", ""}, now).ok());
    auto waiver = [&](const std::string& check, absl::Duration lasts) {
      v1::Waiver w;
      w.set_check_id(check);
      w.set_host_id("prod-01");
      w.set_operator_("spiffe://test.local/operator/alice");
      w.set_reason("old waiver of " + check);
      w.set_created_at_unix_ms(absl::ToUnixMillis(now - absl::Hours(24)));
      w.set_expires_at_unix_ms(absl::ToUnixMillis(now + lasts));
      ASSERT_TRUE((*store)->PutWaiver(w, {"old", "waive", "prod-01 " + check, ""}, now).ok());
    };
    waiver("firewall.public_exposure", absl::Hours(24 * 5 * 365));
    waiver("time.synchronized", absl::Hours(24 * 30));
  }
  cluster_.StartCollector();
  RunResult audit = cluster_.Ctl({"audit"});
  EXPECT_THAT(audit.out, HasSubstr("signoff-limit smtp.tested production by collector"));
  EXPECT_THAT(audit.out, HasSubstr("waiver-bound prod-01 firewall.public_exposure by collector"));
  EXPECT_THAT(audit.out, HasSubstr("waiver-limit prod-01 firewall.public_exposure by collector"));
  const google::protobuf::Value fw = CheckOf(HostJson("prod-01"), "firewall.public_exposure");
  EXPECT_EQ(Field(fw, "status").string_value(), "WAIVED");
  const double until = Field(Field(fw, "waiver"), "expires_at_unix_ms").number_value();
  EXPECT_LE(until, absl::ToUnixMillis(absl::Now() + absl::Hours(24 * 90)) + 1000);
  const google::protobuf::Value time = CheckOf(HostJson("prod-01"), "time.synchronized");
  if (Field(time, "status").string_value() == "PASS") {
    EXPECT_THAT(audit.out, HasSubstr("unwaive prod-01 time.synchronized by collector"));
  } else {
    EXPECT_THAT(audit.out, HasSubstr("waiver-bound prod-01 time.synchronized by collector"));
  }
  EXPECT_THAT(cluster_.collector_log(), HasSubstr("signoff-limit smtp.tested production"));
}

}  // namespace
}  // namespace preflight::testing
