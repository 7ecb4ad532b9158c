// data.test_cleared (collector/checks/test_data.cc): the evidence beside the
// sign-off of item 15, on test_data facts as the agent derives them on the
// manager running Postgres: records created before go-live, farajaland's
// seed users and offices, the reset marker; a policy without go_live_date,
// an older OpenCRVS without the tables, the database on another node, and
// an agent with the source off.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"

namespace preflight {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kNow = 1'800'000'000;
constexpr char kCheck[] = "data.test_cleared";

v1::Verdict Evaluate(const v1::FactReport& report, v1::Policy policy = {},
                     const std::string& role = "manager") {
  collector::CheckRegistry registry;
  collector::RegisterBuiltinChecks(registry);
  v1::InventoryHost host;
  host.set_id("prod-01");
  host.set_environment("production");
  host.add_roles(role);
  v1::HostVerdicts all = collector::Evaluate(registry, host, collector::WithPolicyDefaults(policy),
                                             report, absl::FromUnixSeconds(kNow));
  for (const v1::Verdict& v : all.verdicts()) {
    if (v.check_id() == kCheck) return v;
  }
  ADD_FAILURE() << "no " << kCheck << " verdict";
  return {};
}

std::string Messages(const v1::Verdict& v) {
  std::vector<std::string> lines;
  for (const v1::Evidence& e : v.evidence()) lines.push_back(e.message());
  return absl::StrJoin(lines, "\n");
}

v1::Policy GoLive(const std::string& day) {
  v1::Policy p;
  p.set_go_live_date(day);
  return p;
}

// A clean production database: records since go-live only, no seed data.
v1::FactReport Clean() {
  v1::FactReport r;
  v1::TestDataFact& f = *r.mutable_test_data();
  f.mutable_collection()->set_state(v1::Collection::OK);
  f.set_enabled(true);
  f.set_container("5e0c81d2a4f7");
  v1::RecordCount& ev = *f.add_records();
  ev.set_name("postgres events: app.events");
  for (const auto& [day, n] : std::vector<std::pair<std::string, int>>{
           {"2025-12-16", 4}, {"2025-12-17", 6}, {"2026-01-05", 10}}) {
    v1::DayCount* d = ev.add_by_day();
    d->set_day(day);
    d->set_count(n);
    ev.set_total(ev.total() + n);
  }
  f.set_seed_users_expected(54);
  f.set_seed_offices_expected(82);
  f.set_first_migration_unix(1765800000);  // 2025-12-15 12:00 UTC: reset on go-live day
  f.set_last_migration("1779261979446_backfill-immediate-correction-to-content");
  f.set_last_migration_unix(1768917731);
  return r;
}

// Test data left: 57 records before go-live, two seed users, two offices.
v1::FactReport Dirty() {
  v1::FactReport r = Clean();
  v1::TestDataFact& f = *r.mutable_test_data();
  v1::RecordCount& ev = *f.mutable_records(0);
  v1::RecordCount fresh;
  fresh.set_name(ev.name());
  for (const auto& [day, n] :
       std::vector<std::pair<std::string, int>>{{"2025-11-21", 27}, {"2025-12-10", 30}}) {
    v1::DayCount* d = fresh.add_by_day();
    d->set_day(day);
    d->set_count(n);
  }
  for (const v1::DayCount& d : ev.by_day()) *fresh.add_by_day() = d;
  fresh.set_total(ev.total() + 57);
  ev = fresh;
  f.set_seed_users_present(2);
  f.add_seed_users("j.campbell");
  f.add_seed_users("k.bwalya");
  f.set_seed_offices_present(2);
  f.set_first_migration_unix(1763457123);  // 2025-11-18: never reset
  return r;
}

TEST(TestDataChecks, TestRecordsAndSeedDataLeftFail) {
  v1::Verdict v = Evaluate(Dirty(), GoLive("2025-12-15"));
  EXPECT_EQ(v.status(), v1::FAIL) << Messages(v);
  const std::string m = Messages(v);
  EXPECT_THAT(m, HasSubstr("57 record(s) created before go-live 2025-12-15, on 2 day(s) from "
                           "2025-11-21 to 2025-12-10: test registrations remain on production"));
  EXPECT_THAT(m, HasSubstr("postgres events: app.events holds 77 record(s) created from "
                           "2025-11-21 to 2026-01-05 (UTC)"));
  EXPECT_THAT(m, HasSubstr("2 of the 54 users of farajaland's test data set"));
  EXPECT_THAT(m, HasSubstr("remain: j.campbell, k.bwalya"));
  EXPECT_THAT(m, HasSubstr("2 of the 82 offices of farajaland's test data set"));
  EXPECT_THAT(m, HasSubstr("reset marker: the database was created (or last reset: a reset runs "
                           "every migration again) on 2025-11-18 09:12 UTC, before go-live "
                           "2025-12-15"));
  // Each finding is named, so an exception can accept one and not the others.
  std::vector<std::string> findings;
  for (const v1::Evidence& e : v.evidence()) {
    if (!e.finding().empty()) findings.push_back(e.finding());
  }
  EXPECT_THAT(findings,
              ::testing::ElementsAre("data=records", "data=seed_users", "data=seed_offices"));
  for (const v1::Evidence& e : v.evidence()) {
    if (e.finding() == "data=records") {
      EXPECT_EQ(e.source(), "docker exec 5e0c81d2a4f7 psql events: app.events");
      EXPECT_EQ(e.observed(), "57");
    }
  }
}

TEST(TestDataChecks, OnlySeedUsersLeftFail) {
  v1::FactReport r = Clean();
  r.mutable_test_data()->set_seed_users_present(1);
  r.mutable_test_data()->add_seed_users("k.mweene");
  v1::Verdict v = Evaluate(r, GoLive("2025-12-15"));
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(Messages(v), HasSubstr("remain: k.mweene"));
  EXPECT_THAT(Messages(v), HasSubstr("no record created before go-live 2025-12-15"));
}

TEST(TestDataChecks, ACleanDatabasePassesWithItsResetMarker) {
  v1::Verdict v = Evaluate(Clean(), GoLive("2025-12-15"));
  EXPECT_EQ(v.status(), v1::PASS) << Messages(v);
  const std::string m = Messages(v);
  EXPECT_THAT(m, HasSubstr("no record created before go-live 2025-12-15"));
  EXPECT_THAT(m, HasSubstr("none of the 54 users of farajaland's test data set is there"));
  EXPECT_THAT(m, HasSubstr("none of the 82 offices"));
  EXPECT_THAT(m, HasSubstr("on 2025-12-15 12:00 UTC, on or after go-live 2025-12-15; newest "
                           "migration 1779261979446_backfill-immediate-correction-to-content "
                           "applied 2026-01-20 14:02 UTC"));
}

TEST(TestDataChecks, GoLiveFromAnEnvironmentOverride) {
  // go_live_date is backup.test_backups_deleted's parameter; its overrides
  // apply here too.
  v1::Policy p;
  v1::PolicyOverride* o = p.add_override();
  o->set_environment("production");
  o->mutable_set()->set_go_live_date("2025-12-15");
  EXPECT_EQ(Evaluate(Dirty(), p).status(), v1::FAIL);
  // A go-live before every record: none predates it (the seed data still FAILs).
  v1::Verdict v = Evaluate(Clean(), GoLive("2025-01-01"));
  EXPECT_EQ(v.status(), v1::PASS);
}

TEST(TestDataChecks, NoGoLiveDateIsUnknownWhenRecordsExist) {
  v1::Verdict v = Evaluate(Clean());
  EXPECT_EQ(v.status(), v1::UNKNOWN);
  EXPECT_THAT(Messages(v), HasSubstr("the policy has no go_live_date: records created before "
                                     "go-live (test registrations) cannot be told apart; the "
                                     "oldest is from 2025-12-16"));
  // Seed data is judged without it.
  EXPECT_EQ(Evaluate(Dirty()).status(), v1::FAIL);
  // No record at all: nothing to tell apart.
  v1::FactReport empty = Clean();
  v1::RecordCount& ev = *empty.mutable_test_data()->mutable_records(0);
  ev.clear_by_day();
  ev.set_total(0);
  v1::Verdict e = Evaluate(empty);
  EXPECT_EQ(e.status(), v1::PASS) << Messages(e);
  EXPECT_THAT(Messages(e), HasSubstr("postgres events: app.events holds no record"));
}

TEST(TestDataChecks, FoldedDaysAcrossGoLiveAreNamed) {
  v1::FactReport r = Clean();
  v1::RecordCount& ev = *r.mutable_test_data()->mutable_records(0);
  ev.set_folded_days(600);  // the newest kept day, 2026-01-05, stands for later days too
  // Go-live after the folded day: the exact days before it FAIL, the folded
  // ones are named as undecided.
  v1::Verdict v = Evaluate(r, GoLive("2026-03-01"));
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(Messages(v), HasSubstr("10 record(s) created before go-live 2026-03-01, on 2 "
                                     "day(s) from 2025-12-16 to 2025-12-17"));
  EXPECT_THAT(Messages(v), HasSubstr("10 record(s) created on 2026-01-05 or later (the agent "
                                     "folds days beyond its bound into the newest it keeps): "
                                     "some may predate go-live 2026-03-01"));
  // Go-live on or before the folded day: decided.
  EXPECT_EQ(Evaluate(r, GoLive("2025-12-17")).status(), v1::FAIL);
  EXPECT_EQ(Evaluate(r, GoLive("2025-12-16")).status(), v1::PASS);
  // Only the folded day, before go-live: nothing decided, UNKNOWN.
  ev.mutable_by_day()->DeleteSubrange(0, 2);
  ev.set_total(10);
  EXPECT_EQ(Evaluate(r, GoLive("2026-03-01")).status(), v1::UNKNOWN);
}

TEST(TestDataChecks, AnOlderOpenCrvsWithoutTheTablesIsUnknown) {
  v1::FactReport r = Clean();
  v1::TestDataFact& f = *r.mutable_test_data();
  f.clear_records();
  f.clear_last_migration();
  for (const char* t :
       {"app.events", "app.user_credentials", "app.locations.external_id", "app.pgmigrations"}) {
    f.add_missing_tables(t);
  }
  v1::Verdict v = Evaluate(r, GoLive("2025-12-15"));
  EXPECT_EQ(v.status(), v1::UNKNOWN);
  EXPECT_THAT(Messages(v), HasSubstr("no table app.events in the database events, and no records "
                                     "read from MongoDB"));
  EXPECT_THAT(Messages(v), HasSubstr("no table app.user_credentials"));
  EXPECT_THAT(Messages(v), HasSubstr("no migration recorded"));
  EXPECT_THAT(Messages(v), Not(HasSubstr("none of the")));
}

// OpenCRVS v1.x: the older records (FHIR Tasks in MongoDB hearth-dev) and
// the users (user-mgnt) as the agent reads them from MongoDB; their source
// names the mongo container.
TEST(TestDataChecks, V1RecordsAndUsersFromMongoDb) {
  v1::FactReport r = Clean();
  v1::TestDataFact& f = *r.mutable_test_data();
  f.set_mongo_container("7c1f3a9e5b20");
  f.set_users_from("mongo user-mgnt.users");
  f.add_missing_tables("app.locations.external_id");
  v1::RecordCount& tasks = *f.add_records();
  tasks.set_name("mongo hearth-dev: Task");
  for (const auto& [day, n] :
       std::vector<std::pair<std::string, int>>{{"2025-09-30", 2}, {"2026-02-01", 3}}) {
    v1::DayCount* d = tasks.add_by_day();
    d->set_day(day);
    d->set_count(n);
    tasks.set_total(tasks.total() + n);
  }
  f.set_seed_users_present(1);
  f.add_seed_users("j.campbell");
  v1::Verdict v = Evaluate(r, GoLive("2025-12-15"));
  EXPECT_EQ(v.status(), v1::FAIL) << Messages(v);
  bool task_finding = false, user_finding = false;
  for (const v1::Evidence& e : v.evidence()) {
    if (absl::StrContains(e.message(), "2 record(s) created before go-live 2025-12-15")) {
      task_finding = true;
      EXPECT_EQ(e.source(), "docker exec 7c1f3a9e5b20 mongo hearth-dev: Task, Task_history");
    }
    if (absl::StrContains(e.message(), "1 of the 54 users")) {
      user_finding = true;
      EXPECT_EQ(e.source(), "docker exec 7c1f3a9e5b20 mongo user-mgnt.users");
    }
  }
  EXPECT_TRUE(task_finding) << Messages(v);
  EXPECT_TRUE(user_finding) << Messages(v);

  // Postgres's events on this node, MongoDB's Tasks not read: UNKNOWN even
  // with every Postgres record after go-live, never PASS.
  v1::FactReport half = Clean();
  half.mutable_test_data()->add_missing_tables("app.user_credentials");
  half.mutable_test_data()->add_missing_tables("hearth-dev.Task");
  v1::Verdict u = Evaluate(half, GoLive("2025-12-15"));
  EXPECT_EQ(u.status(), v1::UNKNOWN) << Messages(u);
  EXPECT_THAT(Messages(u), HasSubstr("no mongo1 / mongo2 container runs on this node: they are "
                                     "not counted here"));
  EXPECT_THAT(Messages(u), HasSubstr("MongoDB (where OpenCRVS v1.x keeps its users) is not on "
                                     "this node"));
}

TEST(TestDataChecks, NotGatheredOrElsewhere) {
  // Off on this agent: NOT_APPLICABLE, or UNKNOWN when the policy requires it.
  v1::FactReport off;
  off.mutable_test_data()->mutable_collection()->set_state(v1::Collection::ABSENT);
  off.mutable_test_data()->mutable_collection()->set_error("test data is off");
  EXPECT_EQ(Evaluate(off, GoLive("2025-12-15")).status(), v1::NOT_APPLICABLE);
  v1::Policy required = GoLive("2025-12-15");
  required.set_require_application_evidence(true);
  v1::Verdict req = Evaluate(off, required);
  EXPECT_EQ(req.status(), v1::UNKNOWN);
  EXPECT_THAT(Messages(req), HasSubstr("application { test_data: true } is not set"));

  // On, but the database runs on another manager.
  v1::FactReport elsewhere;
  elsewhere.mutable_test_data()->set_enabled(true);
  elsewhere.mutable_test_data()->mutable_collection()->set_state(v1::Collection::ABSENT);
  elsewhere.mutable_test_data()->mutable_collection()->set_error(
      "no postgres container runs on this node");
  v1::Verdict e = Evaluate(elsewhere, GoLive("2025-12-15"));
  EXPECT_EQ(e.status(), v1::NOT_APPLICABLE);
  EXPECT_THAT(Messages(e), HasSubstr("test data: no postgres container runs on this node"));

  // psql failed: UNKNOWN naming it, never PASS.
  v1::FactReport failed;
  failed.mutable_test_data()->set_enabled(true);
  failed.mutable_test_data()->mutable_collection()->set_state(v1::Collection::ERROR);
  failed.mutable_test_data()->mutable_collection()->set_error(
      "docker exec (psql) exited 2: psql: error: connection to server failed");
  v1::Verdict f = Evaluate(failed, GoLive("2025-12-15"));
  EXPECT_EQ(f.status(), v1::UNKNOWN);
  EXPECT_THAT(Messages(f), HasSubstr("docker exec (psql) exited 2"));

  // An older agent whose report has no such fact.
  EXPECT_EQ(Evaluate(v1::FactReport(), GoLive("2025-12-15")).status(), v1::NOT_APPLICABLE);
}

TEST(TestDataChecks, AReportWithATotalButNoDaysIsUnknown) {
  v1::FactReport r = Clean();
  r.mutable_test_data()->mutable_records(0)->clear_by_day();
  v1::Verdict v = Evaluate(r, GoLive("2025-12-15"));
  EXPECT_EQ(v.status(), v1::UNKNOWN);
  EXPECT_THAT(Messages(v), HasSubstr("holds 20 record(s), their days not reported"));
}

}  // namespace
}  // namespace preflight
