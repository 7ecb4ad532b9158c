// admin.password_changed (item 10) from the admin_passwords fact
// (collector/checks/admin_passwords.cc): an active account still accepting
// its default password FAILs naming it and where the default came from, a
// deactivated one WARNs, an uncompared hash is UNKNOWN, none accepting is
// PASS-evidence; the source off, failed or on another node; and from the
// fixture manager's real report.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "agent/facts/admin_passwords.h"
#include "agent/facts/fact_collector.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"
#include "tests/support/check_eval.h"
#include "tests/support/recording_env.h"

namespace preflight {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kNow = 1'800'000'000;
constexpr char kCheck[] = "admin.password_changed";

v1::Verdict Evaluate(const v1::FactReport& report, v1::Policy policy = {},
                     const std::string& role = "manager") {
  return testing::EvaluateCheck(report, kCheck, policy,
                                testing::TestHost("prod-01", "production", role),
                                absl::FromUnixSeconds(kNow));
}

v1::DefaultPasswordAccount Acct(const std::string& username, const std::string& status,
                                bool accepted, const std::string& role = "NATIONAL_SYSTEM_ADMIN") {
  v1::DefaultPasswordAccount a;
  a.set_username(username);
  a.set_role(role);
  a.set_found(true);
  a.set_status(status);
  a.set_default_accepted(accepted);
  a.set_scheme("bcrypt");
  a.set_default_from(
      "countryconfig /usr/src/app/src/data-seeding/employees/source/default-employees.csv:4");
  return a;
}

// The user database's node, its seed read: every default changed.
v1::FactReport Changed() {
  v1::FactReport r;
  v1::AdminPasswordsFact& f = *r.mutable_admin_passwords();
  f.mutable_collection()->set_state(v1::Collection::OK);
  f.set_enabled(true);
  f.set_database("postgres events.app.user_credentials");
  f.set_source("docker ps, docker exec 5d2e8c41a9f7 psql events");
  f.set_defaults(
      "countryconfig 9b7e1c3d5f20 /usr/src/app/src/data-seeding/employees/source/"
      "default-employees.csv (1 NATIONAL_SYSTEM_ADMIN row)");
  *f.add_accounts() = Acct("j.campbell", "active", false);
  v1::DefaultPasswordAccount super = Acct("o.admin", "deactivated", false, "super user");
  super.set_default_from("core seed default (SUPER_USER_PASSWORD unset)");
  *f.add_accounts() = super;
  return r;
}

TEST(AdminPasswordChecks, NoDefaultAcceptedIsPassEvidence) {
  v1::Verdict v = Evaluate(Changed());
  EXPECT_EQ(v.status(), v1::PASS) << testing::EvidenceMessages(v);
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("0 of 2 seeded administrator account(s) still accept"));
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("j.campbell (NATIONAL_SYSTEM_ADMIN), active: the default "
                        "password from countryconfig"));
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("default passwords from countryconfig 9b7e1c3d5f20"));
}

TEST(AdminPasswordChecks, AnActiveAccountWithItsDefaultFails) {
  v1::FactReport r = Changed();
  r.mutable_admin_passwords()->mutable_accounts(0)->set_default_accepted(true);
  v1::Verdict v = Evaluate(r);
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("j.campbell (NATIONAL_SYSTEM_ADMIN), active, still accepts the default "
                        "password from countryconfig /usr/src/app/src/data-seeding/employees/"
                        "source/default-employees.csv:4"));
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("1 of 2 seeded"));
  bool keyed = false;
  for (const v1::Evidence& e : v.evidence()) keyed |= e.finding() == "account=j.campbell";
  EXPECT_TRUE(keyed);
}

TEST(AdminPasswordChecks, ADeactivatedAccountWithItsDefaultWarns) {
  v1::FactReport r = Changed();
  r.mutable_admin_passwords()->mutable_accounts(1)->set_default_accepted(true);
  v1::Verdict v = Evaluate(r);
  EXPECT_EQ(v.status(), v1::WARN);
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("o.admin (super user) is deactivated but still accepts the "
                        "default password from core seed default"));
}

TEST(AdminPasswordChecks, AnUncomparedHashIsUnknownNeverPass) {
  v1::FactReport r = Changed();
  v1::DefaultPasswordAccount& a = *r.mutable_admin_passwords()->mutable_accounts(0);
  a.set_scheme("");
  a.set_problem(
      "the stored hash is not one the agent can compare: an unknown scheme (19 characters)");
  v1::Verdict v = Evaluate(r);
  EXPECT_EQ(v.status(), v1::UNKNOWN);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("not compared: the stored hash is not one"));
}

TEST(AdminPasswordChecks, SkippedSeedRowsAreUnknown) {
  v1::FactReport r = Changed();
  v1::ParseProblem& p = *r.mutable_admin_passwords()->add_problems();
  p.set_file(agent::kDefaultEmployeesPath);
  p.set_line(7);
  p.set_message("a NATIONAL_SYSTEM_ADMIN row whose username is not [a-z0-9._-]{1,64}: skipped");
  v1::Verdict v = Evaluate(r);
  EXPECT_EQ(v.status(), v1::UNKNOWN);
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("default-employees.csv:7: a NATIONAL_SYSTEM_ADMIN row"));
}

TEST(AdminPasswordChecks, NothingComparedOnTheDocumentedDefaultsIsUnknown) {
  v1::FactReport r = Changed();
  v1::AdminPasswordsFact& f = *r.mutable_admin_passwords();
  f.set_defaults(
      "documented seed defaults (farajaland's j.campbell; the deployed seed was not read: no "
      "countryconfig container runs on this node)");
  for (v1::DefaultPasswordAccount& a : *f.mutable_accounts()) {
    a.set_found(false);
    a.set_status("");
    a.set_scheme("");
  }
  v1::Verdict v = Evaluate(r);
  EXPECT_EQ(v.status(), v1::UNKNOWN);
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("j.campbell (NATIONAL_SYSTEM_ADMIN) is not in the user"));
  // The deployed seed read, and its administrator is not in the database:
  // deleted, renamed or missed by the lookup (a name in another case, the
  // wrong schema): not compared, so not a PASS.
  f.set_defaults("countryconfig 9b7e1c3d5f20 … (1 NATIONAL_SYSTEM_ADMIN row)");
  v = Evaluate(r);
  EXPECT_EQ(v.status(), v1::UNKNOWN);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("missed by the lookup"));
}

// The review's case: the seed was not read (countryconfig on another node),
// the documented j.campbell is absent and the super user changed: before,
// one account compared made a PASS while the country's real administrator
// was never looked at.
TEST(AdminPasswordChecks, APassNeedsANationalSystemAdministratorCompared) {
  v1::FactReport r = Changed();
  v1::AdminPasswordsFact& f = *r.mutable_admin_passwords();
  ASSERT_EQ(Evaluate(r).status(), v1::PASS);
  for (v1::DefaultPasswordAccount& a : *f.mutable_accounts()) {
    if (a.role() == "NATIONAL_SYSTEM_ADMIN") {
      a.set_found(false);
      a.set_status("");
      a.set_scheme("");
    }
  }
  EXPECT_EQ(Evaluate(r).status(), v1::UNKNOWN);
  // Only the super user in the seed's accounts: nothing says the country's
  // administrators changed theirs.
  v1::FactReport only_super = Changed();
  v1::AdminPasswordsFact& g = *only_super.mutable_admin_passwords();
  google::protobuf::RepeatedPtrField<v1::DefaultPasswordAccount> kept;
  for (const v1::DefaultPasswordAccount& a : g.accounts()) {
    if (a.role() != "NATIONAL_SYSTEM_ADMIN") *kept.Add() = a;
  }
  g.mutable_accounts()->Swap(&kept);
  v1::Verdict v = Evaluate(only_super);
  EXPECT_EQ(v.status(), v1::UNKNOWN);
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("no national system administrator's password was compared"));
}

TEST(AdminPasswordChecks, SourceOffFailedOrElsewhere) {
  v1::FactReport off;
  off.mutable_admin_passwords()->mutable_collection()->set_state(v1::Collection::ABSENT);
  off.mutable_admin_passwords()->mutable_collection()->set_error(agent::kAdminPasswordsOff);
  v1::Verdict v = Evaluate(off);
  EXPECT_EQ(v.status(), v1::NOT_APPLICABLE);
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("application { admin_passwords: true } is not set"));
  v1::Policy required;
  required.set_require_application_evidence(true);
  EXPECT_EQ(Evaluate(off, required).status(), v1::UNKNOWN);
  EXPECT_EQ(Evaluate(v1::FactReport(), required).status(), v1::UNKNOWN);

  v1::FactReport failed;
  v1::AdminPasswordsFact& f = *failed.mutable_admin_passwords();
  f.set_enabled(true);
  f.mutable_collection()->set_state(v1::Collection::ERROR);
  f.mutable_collection()->set_error("docker exec (psql events) exited 2: psql: error: connection");
  v = Evaluate(failed);
  EXPECT_EQ(v.status(), v1::UNKNOWN);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("docker exec (psql events) exited 2"));

  v1::FactReport elsewhere;
  v1::AdminPasswordsFact& e = *elsewhere.mutable_admin_passwords();
  e.set_enabled(true);
  e.mutable_collection()->set_state(v1::Collection::ABSENT);
  e.mutable_collection()->set_error(
      "no postgres container runs on this node (docker ps lists no task of a service named "
      "postgres or *_postgres; OpenCRVS places it on the node labelled data1)");
  v = Evaluate(elsewhere);
  EXPECT_EQ(v.status(), v1::NOT_APPLICABLE);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("no postgres container runs on this node"));
}

// The fixture manager (tests/fixtures/hosts/opencrvs-application), its
// report made by the real agent collector: j.campbell still has the seed
// password.
TEST(AdminPasswordChecks, TheFixtureManagerFails) {
  testing::RecordingEnv env(std::string(PREFLIGHT_FIXTURES) + "/hosts/opencrvs-application");
  agent::CollectOptions o;
  o.application_docker = true;
  o.application_admin_passwords = true;
  std::vector<std::unique_ptr<agent::FactCollector>> one;
  one.push_back(agent::MakeAdminPasswordsCollector());
  v1::FactReport report = agent::CollectReport(env, o, one);
  v1::Verdict v = Evaluate(report);
  EXPECT_EQ(v.status(), v1::FAIL) << testing::EvidenceMessages(v);
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("j.campbell (NATIONAL_SYSTEM_ADMIN), active, still accepts"));
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("o.admin (super user), deactivated: the default password "
                        "from core seed default (SUPER_USER_PASSWORD unset) is no "
                        "longer accepted"));
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("system_initialisation (super user (initial setup)): setup "
                        "completed, no password stored any more"));
  EXPECT_THAT(testing::EvidenceMessages(v), Not(HasSubstr("APPSECRET")));
}

}  // namespace
}  // namespace preflight
