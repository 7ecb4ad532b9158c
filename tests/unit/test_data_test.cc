// Test data on production (issue 16, item 15): the "test_data" fact kind
// from psql's output in the Postgres container (recorded in
// tests/fixtures/hosts/opencrvs-production by
// tests/fixtures/make_production_fixture.py, from the real script run by
// PostgreSQL 15's psql against the tables of OpenCRVS v2.0's migrations),
// the opt-in, errors that name the step, hostile outputs (garbage rows, huge
// outputs, psql errors, an older OpenCRVS without the tables: never OK with
// counts it did not read), the bound on days, and no secret anywhere: the
// real script runs here against a stand-in psql, and against a real,
// throwaway PostgreSQL server with v1.9's and v2.0's tables.
#include "agent/facts/test_data.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "agent/facts/fact_collector.h"
#include "agent/facts/service_container.h"
#include "agent/host/rooted_host_env.h"
#include "tests/support/no_secret.h"
#include "tests/support/process.h"
#include "tests/support/real_postgres.h"
#include "tests/support/recording_env.h"
#include "tests/support/temp_dir.h"

namespace preflight {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const std::string kFixture = std::string(PREFLIGHT_FIXTURES) + "/hosts/opencrvs-production";
constexpr char kContainer[] = "5e0c81d2a4f7";

using testing::RecordingEnv;

agent::CollectOptions TestDataOn() {
  agent::CollectOptions o;
  o.application_docker = true;
  o.application_test_data = true;
  return o;
}

v1::FactReport CollectTestData(agent::HostEnv& env, const agent::CollectOptions& options) {
  std::vector<std::unique_ptr<agent::FactCollector>> one;
  one.push_back(agent::MakeTestDataCollector());
  return agent::CollectReport(env, options, one);
}

using testing::ExpectNoSecret;
using testing::Text;

// A root whose `docker ps` lists a postgres container and whose `docker
// exec` prints `out` (exit code, stderr).
std::string RecordPsql(testing::TempDir& root, const std::string& out, int exit_code = 0,
                       const std::string& err = "",
                       const std::string& ps = absl::StrCat(kContainer, "\topencrvs_postgres\n"),
                       int ps_exit = 0, const std::string& ps_err = "") {
  const std::string dir = root.Join(".preflight/commands/");
  const std::string ps_key = agent::RecordedCommandKey(agent::ContainerListArgv());
  testing::WriteFile(dir + ps_key, ps);
  testing::WriteFile(dir + ps_key + ".exit", std::to_string(ps_exit));
  testing::WriteFile(dir + ps_key + ".err", ps_err);
  const std::string key = agent::RecordedCommandKey(agent::TestDataArgv(kContainer));
  testing::WriteFile(dir + key, out);
  testing::WriteFile(dir + key + ".exit", std::to_string(exit_code));
  testing::WriteFile(dir + key + ".err", err);
  return root.path();
}

// psql's output for an OpenCRVS v1.9+ database, as the script prints it.
std::string Output(
    const std::string& events, const std::string& users = "", const std::string& offices = "0\n",
    const std::string& migrations =
        "first\t1746712582483_create_events_and_actions_tables\t1763457123\n"
        "last\t1779261979446_backfill-immediate-correction-to-content\t1768917731\n") {
  return absl::StrCat("@events\n", events, "@users\n", users, "@offices\n", offices,
                      "@migrations\n", migrations, "@end\n");
}

v1::TestDataFact Parse(const std::string& out, absl::Status* status) {
  v1::TestDataFact fact;
  *status = agent::ParseTestDataOutput(out, fact);
  return fact;
}

// --- the fixture -----------------------------------------------------------

TEST(TestData, TheFixtureManagersTestData) {
  RecordingEnv env(kFixture);
  v1::FactReport report = CollectTestData(env, TestDataOn());
  const v1::TestDataFact& fact = report.test_data();
  ASSERT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  EXPECT_TRUE(fact.enabled());
  EXPECT_EQ(fact.container(), kContainer);
  EXPECT_THAT(fact.source(), HasSubstr("docker exec 5e0c81d2a4f7 psql events"));
  EXPECT_THAT(fact.missing_tables(), IsEmpty());
  ASSERT_EQ(fact.records_size(), 1);
  const v1::RecordCount& events = fact.records(0);
  EXPECT_EQ(events.name(), "postgres events: app.events");
  // make_production_fixture.py: 57 test records over 20 days from
  // 2025-11-20, 90 over 30 days from 2025-12-16 (go-live: 2025-12-15).
  EXPECT_EQ(events.total(), 147u);
  ASSERT_EQ(events.by_day_size(), 50);
  EXPECT_EQ(events.by_day(0).day(), "2025-11-21");
  EXPECT_EQ(events.by_day(19).day(), "2025-12-10");
  EXPECT_EQ(events.by_day(20).day(), "2025-12-16");
  EXPECT_EQ(events.by_day(49).day(), "2026-01-14");
  uint64_t before = 0;
  for (const v1::DayCount& d : events.by_day()) {
    if (d.day() < "2025-12-15") before += d.count();
  }
  EXPECT_EQ(before, 57u);
  EXPECT_EQ(events.folded_days(), 0u);
  EXPECT_EQ(fact.seed_users_expected(), agent::SeedUsernames().size());
  EXPECT_EQ(fact.seed_users_present(), 2u);
  EXPECT_THAT(fact.seed_users(), ElementsAre("j.campbell", "k.bwalya"));
  EXPECT_EQ(fact.seed_offices_expected(), agent::SeedOfficeIds().size());
  EXPECT_EQ(fact.seed_offices_present(), 2u);
  EXPECT_EQ(fact.last_migration(), "1779261979446_backfill-immediate-correction-to-content");
  EXPECT_EQ(fact.last_migration_unix(), 1768917731);   // 2026-01-20T14:02:11Z
  EXPECT_EQ(fact.first_migration_unix(), 1763457123);  // 2025-11-18T09:12:03Z
}

TEST(TestData, OffByDefaultAndNothingRuns) {
  agent::CollectOptions defaults;
  EXPECT_FALSE(defaults.application_test_data);
  v1::AgentConfig config;
  EXPECT_FALSE(agent::CollectOptionsFrom(config).application_test_data);
  config.mutable_application()->set_test_data(true);
  EXPECT_TRUE(agent::CollectOptionsFrom(config).application_test_data);

  RecordingEnv env(kFixture);
  v1::FactReport report = CollectTestData(env, defaults);
  EXPECT_EQ(report.test_data().collection().state(), v1::Collection::ABSENT);
  EXPECT_EQ(report.test_data().collection().error(), agent::kTestDataOff);
  EXPECT_FALSE(report.test_data().enabled());
  EXPECT_EQ(report.test_data().records_size(), 0);
  EXPECT_THAT(env.argvs, IsEmpty());
}

TEST(TestData, OneDockerPsAndOneDockerExecPerCollection) {
  RecordingEnv env(kFixture);
  auto collectors = agent::BuiltinCollectors();
  agent::CollectOptions options = TestDataOn();
  options.application_elasticsearch = true;  // shares the docker ps
  v1::FactReport report = agent::CollectReport(env, options, collectors);
  ASSERT_EQ(report.test_data().collection().state(), v1::Collection::OK);
  int ps = 0, exec = 0;
  for (const auto& argv : env.argvs) {
    if (argv == agent::ContainerListArgv()) ++ps;
    if (argv == agent::TestDataArgv(kContainer)) ++exec;
  }
  EXPECT_EQ(ps, 1);
  EXPECT_EQ(exec, 1);
}

// --- parsing ---------------------------------------------------------------

TEST(TestDataParse, AnEmptyDatabaseHasNoRecords) {
  absl::Status st;
  v1::TestDataFact fact = Parse(Output(""), &st);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(fact.records_size(), 1);
  EXPECT_EQ(fact.records(0).total(), 0u);
  EXPECT_EQ(fact.records(0).by_day_size(), 0);
  EXPECT_EQ(fact.seed_users_present(), 0u);
  EXPECT_EQ(fact.seed_offices_present(), 0u);
  EXPECT_THAT(fact.missing_tables(), IsEmpty());
}

TEST(TestDataParse, AnOlderOpenCrvsWithoutTheTablesSaysSo) {
  // OpenCRVS before v1.9: an events database (or none) without these
  // tables. The sections are replaced by @missing lines: nothing counted is
  // taken for zero.
  absl::Status st;
  v1::TestDataFact fact = Parse(
      "@missing app.events\n@missing app.user_credentials\n@missing app.locations.external_id\n"
      "@missing app.pgmigrations\n@end\n",
      &st);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_THAT(fact.missing_tables(), ElementsAre("app.events", "app.user_credentials",
                                                 "app.locations.external_id", "app.pgmigrations"));
  EXPECT_EQ(fact.records_size(), 0);
  EXPECT_EQ(fact.last_migration(), "");

  // Only the migrations table there.
  fact = Parse(
      "@missing app.events\n@missing app.user_credentials\n@missing app.locations.external_id\n"
      "@migrations\nfirst\t1746712582483_x\t1763457123\nlast\t1746712582483_x\t1763457123\n@end\n",
      &st);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(fact.missing_tables_size(), 3);
  EXPECT_EQ(fact.last_migration(), "1746712582483_x");
}

TEST(TestDataParse, DaysAreBoundedAndTheOldestStayExact) {
  std::string rows;
  uint64_t total = 0;
  const absl::CivilDay first(2023, 1, 1);
  for (int i = 0; i < 1000; ++i) {
    absl::CivilDay d = first + i;
    absl::StrAppend(&rows, absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day()), "\t",
                    i + 1, "\n");
    total += i + 1;
  }
  absl::Status st;
  v1::TestDataFact fact = Parse(Output(rows), &st);
  ASSERT_TRUE(st.ok()) << st;
  const v1::RecordCount& r = fact.records(0);
  EXPECT_EQ(r.total(), total);
  ASSERT_EQ(r.by_day_size(), static_cast<int>(agent::kMaxTestDataDays));
  EXPECT_EQ(r.folded_days(), 1000 - agent::kMaxTestDataDays);
  EXPECT_EQ(r.by_day(0).day(), "2023-01-01");
  EXPECT_EQ(r.by_day(0).count(), 1u);
  EXPECT_EQ(r.by_day(398).count(), 399u);
  // The newest kept day: itself (400) and every later day (401..1000).
  uint64_t sum = 0;
  for (const v1::DayCount& d : r.by_day()) sum += d.count();
  EXPECT_EQ(sum, total);
  EXPECT_EQ(r.by_day(399).count(), total - 399u * 400u / 2u);
}

TEST(TestDataParse, HostileOutputsAreRefusedNamingTheLine) {
  struct Case {
    std::string name;
    std::string out;
    std::string error;
  };
  const Case cases[] = {
      {"garbage row", Output("2025-11-20\t3\nhello world\n"), "line 3 (in section events)"},
      {"not a day", Output("2025-13\t3\n"), "not \"YYYY-MM-DD<tab>count\""},
      {"negative count", Output("2025-11-20\t-3\n"), "not \"YYYY-MM-DD<tab>count\""},
      {"count overflows", Output("2025-11-20\t99999999999999999999999\n"),
       "not \"YYYY-MM-DD<tab>count\""},
      {"days out of order", Output("2025-11-21\t1\n2025-11-20\t1\n"), "days out of order"},
      {"a user not asked for", Output("", "k.bwalya\nroot'; DROP TABLE x; --\n"),
       "not a seed username"},
      {"offices not a count", Output("", "", "lots\n"), "not one count of seed offices"},
      {"more offices than asked", Output("", "", "9999\n"), "not one count of seed offices"},
      {"two office counts", Output("", "", "1\n2\n"), "not one count of seed offices"},
      {"migration name with a path", Output("", "", "0\n", "last\t../../etc/passwd\t5\n"),
       "not \"first|last<tab>name<tab>epoch seconds\""},
      {"unknown section", "@records\n@end\n", "not a section the script prints"},
      {"section twice", "@events\n@events\n@end\n", "section printed twice"},
      {"missing an unknown table", "@missing app.secrets\n@end\n", "not a table this kind reads"},
      {"row before any section", "2025-11-20\t3\n@end\n", "a row before any section"},
      {"cut short", "@events\n2025-11-20\t3\n", "ends before @end"},
      {"a section left out", "@events\n@users\n@offices\n0\n@end\n",
       "no @migrations section (nor @missing app.pgmigrations)"},
      {"text after @end", Output("") + "NOTICE: x\n", "text after @end"},
      {"empty", "", "ends before @end (0 bytes)"},
  };
  for (const Case& c : cases) {
    absl::Status st;
    Parse(c.out, &st);
    EXPECT_FALSE(st.ok()) << c.name;
    EXPECT_THAT(std::string(st.message()), HasSubstr(c.error)) << c.name;
  }
}

TEST(TestDataParse, AHugeOutputIsReadWithinItsBound) {
  // A psql run away (or a hostile container) printing megabytes: the
  // parse ends at the first line that is not a day, naming it cut.
  std::string rows(4 << 20, 'x');
  absl::Status st;
  Parse(Output(rows + "\n"), &st);
  EXPECT_FALSE(st.ok());
  EXPECT_LT(st.message().size(), 400u);
}

// --- errors ----------------------------------------------------------------

TEST(TestDataErrors, EachStepIsNamedAndNeverOk) {
  struct Case {
    std::string name;
    std::string out;
    int exit_code;
    std::string err;
    std::string ps;
    int ps_exit;
    std::string ps_err;
    v1::Collection::State state;
    std::string error;
    bool unreadable;
  };
  const std::string ps = absl::StrCat(kContainer, "\topencrvs_postgres\n");
  const Case cases[] = {
      {"no postgres here", "", 0, "",
       "a81be02c9d44\topencrvs_gateway\nb71be02c9d44\topencrvs_postgres-on-update\n", 0, "",
       v1::Collection::ABSENT, "no records database runs on this node: neither postgres nor mongo1",
       false},
      {"docker.sock refuses", "", 0, "", "", 1,
       "permission denied while trying to connect to the Docker daemon socket",
       v1::Collection::ERROR, "docker ps exited 1: permission denied", true},
      {"no events database (before v1.9)", "", 2,
       "psql: error: connection to server on socket "
       "\"/var/run/postgresql/.s.PGSQL.5432\" failed: FATAL:  database \"events\" does not exist",
       ps, 0, "", v1::Collection::ERROR,
       "docker exec (psql) exited 2: psql: error: connection to server", false},
      {"an SQL error", "@events\n", 3, "psql:<stdin>:6: ERROR:  permission denied for table events",
       ps, 0, "", v1::Collection::ERROR, "exited 3: psql:<stdin>:6: ERROR:  permission denied",
       false},
      {"no psql in the image", "", 127, "sh: 1: psql: not found", ps, 0, "", v1::Collection::ERROR,
       "exited 127 (sh or psql is not in the container)", false},
      {"garbage", "<html>", 0, "", ps, 0, "", v1::Collection::ERROR,
       "docker exec (psql): psql's output line 1 (in section none): a row before any section",
       false},
  };
  for (const Case& c : cases) {
    testing::TempDir root;
    RecordPsql(root, c.out, c.exit_code, c.err, c.ps, c.ps_exit, c.ps_err);
    RecordingEnv env(root.path());
    v1::FactReport report = CollectTestData(env, TestDataOn());
    const v1::Collection& col = report.test_data().collection();
    EXPECT_EQ(col.state(), c.state) << c.name << ": " << col.error();
    EXPECT_THAT(col.error(), HasSubstr(c.error)) << c.name;
    EXPECT_EQ(col.unreadable_size() > 0, c.unreadable) << c.name;
  }
  // Docker not installed (under --root: not recorded) while the source is
  // on: not assessed, an ERROR (UNKNOWN), never ABSENT ("runs elsewhere").
  testing::TempDir empty;
  RecordingEnv env(empty.path());
  v1::FactReport report = CollectTestData(env, TestDataOn());
  EXPECT_EQ(report.test_data().collection().state(), v1::Collection::ERROR);
  EXPECT_THAT(report.test_data().collection().error(), HasSubstr("docker ps: "));
  EXPECT_THAT(report.test_data().collection().error(), HasSubstr("docker cannot be run"));
}

// --- secrets ---------------------------------------------------------------

// The real script, run by a real shell: a stand-in `docker` runs the exec'd
// command here (as in the container), a stand-in `psql` records its argv
// and standard input and answers as the real one does. The container's
// planted POSTGRES_PASSWORD must reach nothing: no argv, no input, no report.
TEST(TestDataSecrets, PsqlReadsTheScriptOnItsInputWithNoPassword) {
  testing::TempDir dir;
  const std::string bin = dir.Join("bin");
  ASSERT_EQ(mkdir(bin.c_str(), 0755), 0);
  const std::string log = dir.Join("argv.log");
  const std::string stdin_log = dir.Join("psql.stdin");
  auto script = [&](const std::string& name, const std::string& body) {
    const std::string path = bin + "/" + name;
    testing::WriteFile(path, "#!/bin/sh\n" + body);
    ASSERT_EQ(chmod(path.c_str(), 0755), 0);
  };
  script("docker", absl::StrCat("for a in \"$@\"; do printf '%s\\0' \"$a\" >> '", log,
                                "'; done\n"
                                "if [ \"$1\" = ps ]; then printf '",
                                kContainer,
                                "\\topencrvs_postgres\\n'; exit 0; fi\n"
                                "shift 2\nexec \"$@\"\n"));
  script("psql", absl::StrCat("for a in \"$@\"; do printf '%s\\0' \"$a\" >> '", log,
                              "'; done\ncat > '", stdin_log, "'\nprintf '%s' '",
                              Output("2025-11-20\t4\n", "k.bwalya\n", "1\n"), "'\n"));
  const char* old_path = getenv("PATH");
  const std::string saved_path = old_path ? old_path : "";
  setenv("PATH", absl::StrCat(bin, ":", saved_path).c_str(), 1);
  setenv("POSTGRES_USER", "pgadmin", 1);
  setenv("POSTGRES_PASSWORD", "PlantedPgPw9", 1);

  RecordingEnv env("/");
  v1::FactReport report = CollectTestData(env, TestDataOn());

  setenv("PATH", saved_path.c_str(), 1);
  unsetenv("POSTGRES_USER");
  unsetenv("POSTGRES_PASSWORD");
  ASSERT_EQ(report.test_data().collection().state(), v1::Collection::OK)
      << report.test_data().collection().error();
  EXPECT_EQ(report.test_data().records(0).total(), 4u);
  EXPECT_THAT(report.test_data().seed_users(), ElementsAre("k.bwalya"));

  const std::string argv_log = testing::ReadFile(log);
  // psql as the container's own user, on the events database, the script
  // on its standard input.
  EXPECT_THAT(argv_log, HasSubstr(std::string("-U\0pgadmin\0-d\0events\0-f\0-\0", 26)));
  EXPECT_THAT(argv_log, HasSubstr(std::string("ON_ERROR_STOP=1\0", 16)));
  EXPECT_THAT(argv_log, Not(HasSubstr("PlantedPgPw9")));
  EXPECT_EQ(testing::ReadFile(stdin_log), agent::TestDataSql() + "\n");
  for (const auto& argv : env.argvs) {
    for (const std::string& a : argv) EXPECT_THAT(a, Not(HasSubstr("PlantedPgPw9")));
  }
  ExpectNoSecret(report, {"PlantedPgPw9"});
}

TEST(TestDataSecrets, ErrorsAreMaskedAndNoRecordLeaves) {
  testing::TempDir root;
  RecordPsql(root, "", 2,
             "psql: error: postgres://postgres:SecretPgPw1@localhost/events "
             "password=SecretPgPw2 failed");
  RecordingEnv env(root.path());
  v1::FactReport report = CollectTestData(env, TestDataOn());
  EXPECT_EQ(report.test_data().collection().state(), v1::Collection::ERROR);
  ExpectNoSecret(report, {"SecretPgPw"});

  // A hostile row's text is not quoted in the error.
  testing::TempDir root2;
  RecordPsql(root2, Output("Amina Banda born 2025-11-02 password=SecretPgPw3 " +
                           std::string(500, 'y') + "\n"));
  RecordingEnv env2(root2.path());
  v1::FactReport report2 = CollectTestData(env2, TestDataOn());
  EXPECT_EQ(report2.test_data().collection().state(), v1::Collection::ERROR);
  EXPECT_THAT(report2.test_data().collection().error(), HasSubstr("line 2 (in section events)"));
  ExpectNoSecret(report2, {"SecretPgPw", "Amina", "yyyy"});

  // Only seed usernames are listed, at most kMaxSeedUsersListed.
  std::string users;
  for (const std::string& u : agent::SeedUsernames()) absl::StrAppend(&users, u, "\n");
  absl::Status st;
  v1::TestDataFact fact = Parse(Output("", users), &st);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(fact.seed_users_present(), agent::SeedUsernames().size());
  EXPECT_EQ(fact.seed_users_size(), static_cast<int>(agent::kMaxSeedUsersListed));
}

TEST(TestDataSecrets, TheProductionFixtureLeavesNoSecretWithEverySourceOn) {
  // Every application source on, over a fixture whose services' environment
  // plants APPSECRET values (copied from opencrvs-application), the database
  // password among them: only counts and seed usernames leave.
  RecordingEnv env(kFixture);
  auto collectors = agent::BuiltinCollectors();
  agent::CollectOptions options = TestDataOn();
  options.application_elasticsearch = true;
  options.application_admin_passwords = true;
  v1::FactReport report = agent::CollectReport(env, options, collectors);
  ASSERT_EQ(report.test_data().collection().state(), v1::Collection::OK);
  ExpectNoSecret(report, {"APPSECRET"});
  for (const auto& argv : env.argvs) {
    for (const std::string& a : argv) EXPECT_THAT(a, Not(HasSubstr("APPSECRET")));
  }
}

TEST(TestDataSeed, TheSeedListsAreFarajalands) {
  // default-employees.csv has 54 users; locations.csv 82 CRVS offices.
  EXPECT_EQ(agent::SeedUsernames().size(), 54u);
  EXPECT_EQ(agent::SeedOfficeIds().size(), 82u);
  const std::string& sql = agent::TestDataSql();
  for (const std::string& u : agent::SeedUsernames()) {
    EXPECT_THAT(sql, HasSubstr(absl::StrCat("'", u, "'")));
  }
  for (const std::string& id : agent::SeedOfficeIds()) {
    EXPECT_THAT(sql, HasSubstr(absl::StrCat("'", id, "'")));
  }
}

// --- against a real PostgreSQL ---------------------------------------------

using testing::RealPostgres;

// The agent's real script through a real shell and the real psql, against
// the three layouts it meets: no OpenCRVS tables, v1.9 (app.events, and
// app.locations without external_id), v2.0 (users and office ids).
TEST(TestDataPostgres, TheScriptAgainstARealPostgres) {
  RealPostgres pg;
  ASSERT_TRUE(pg.ok()) << pg.error();
  pg.Psql("postgres", "CREATE DATABASE events");

  testing::TempDir dir;
  const std::string bin = dir.Join("bin");
  ASSERT_EQ(mkdir(bin.c_str(), 0755), 0);
  const std::string docker = bin + "/docker";
  testing::WriteFile(docker,
                     absl::StrCat("#!/bin/sh\nif [ \"$1\" = ps ]; then printf '", kContainer,
                                  "\\topencrvs_postgres\\n'; exit 0; fi\n"
                                  "shift 2\nexec \"$@\"\n"));
  ASSERT_EQ(chmod(docker.c_str(), 0755), 0);
  const char* old_path = getenv("PATH");
  const std::string saved_path = old_path ? old_path : "";
  setenv("PATH", absl::StrCat(bin, ":", saved_path).c_str(), 1);
  setenv("PGHOST", pg.socket_dir().c_str(), 1);
  setenv("POSTGRES_USER", "postgres", 1);
  auto collect = [&] {
    RecordingEnv env("/");
    return CollectTestData(env, TestDataOn());
  };

  v1::FactReport empty = collect();
  ASSERT_EQ(empty.test_data().collection().state(), v1::Collection::OK)
      << empty.test_data().collection().error();
  EXPECT_THAT(empty.test_data().missing_tables(),
              ElementsAre("app.events", "app.user_credentials", "app.locations.external_id",
                          "app.pgmigrations", "hearth-dev.Task"));

  // v1.9: node-pg-migrate's table, the events, locations whose external_id
  // was dropped (migration 1754476355314).
  pg.Psql("events",
          "CREATE SCHEMA app;"
          "CREATE TABLE app.pgmigrations(id serial PRIMARY KEY, name varchar(255) NOT NULL, "
          "run_on timestamp NOT NULL);"
          "INSERT INTO app.pgmigrations(name, run_on) VALUES "
          "('1746712582483_create_events_and_actions_tables', '2025-11-18 09:12:03.5'),"
          "('1754476355314_remove_external_id_from_locations', '2025-11-18 09:12:04'),"
          "('1779261979446_backfill-immediate-correction-to-content', '2026-01-20 14:02:11');"
          "CREATE TABLE app.locations(id uuid PRIMARY KEY DEFAULT gen_random_uuid(), external_id "
          "text UNIQUE, name text NOT NULL);"
          "ALTER TABLE app.locations DROP COLUMN external_id;"
          "CREATE TABLE app.events(id uuid PRIMARY KEY DEFAULT gen_random_uuid(), event_type "
          "text NOT NULL, tracking_id text NOT NULL UNIQUE, created_at timestamptz DEFAULT now() "
          "NOT NULL);"
          "INSERT INTO app.events(event_type, tracking_id, created_at) VALUES "
          "('birth', 'T1', '2025-11-20 23:30:00+00'), ('birth', 'T2', '2025-11-21 00:30:00+01'),"
          "('death', 'T3', '2025-11-21 00:00:00+00'), ('birth', 'T4', '2026-01-02 12:00:00+00');");
  v1::FactReport v19 = collect();
  const v1::TestDataFact& f19 = v19.test_data();
  ASSERT_EQ(f19.collection().state(), v1::Collection::OK) << f19.collection().error();
  // Its users and older records are in MongoDB, which does not run here:
  // not counted, so named missing.
  EXPECT_THAT(f19.missing_tables(),
              ElementsAre("app.user_credentials", "app.locations.external_id", "hearth-dev.Task"));
  ASSERT_EQ(f19.records_size(), 1);
  EXPECT_EQ(f19.records(0).total(), 4u);
  // Days in UTC: 00:30+01 is the 20th.
  ASSERT_EQ(f19.records(0).by_day_size(), 3) << Text(f19);
  EXPECT_EQ(f19.records(0).by_day(0).day(), "2025-11-20");
  EXPECT_EQ(f19.records(0).by_day(0).count(), 2u);
  EXPECT_EQ(f19.records(0).by_day(1).day(), "2025-11-21");
  EXPECT_EQ(f19.records(0).by_day(1).count(), 1u);
  EXPECT_EQ(f19.records(0).by_day(2).day(), "2026-01-02");
  EXPECT_EQ(f19.first_migration_unix(), 1763457123);  // 2025-11-18 09:12:03 (.5 cut)
  EXPECT_EQ(f19.last_migration(), "1779261979446_backfill-immediate-correction-to-content");
  EXPECT_EQ(f19.last_migration_unix(), 1768917731);

  // v2.0: external_id back, users with credentials: two of farajaland's
  // seed users and a country's own, two seed offices and a country's own.
  pg.Psql("events",
          "ALTER TABLE app.locations ADD COLUMN IF NOT EXISTS external_id text UNIQUE;"
          "INSERT INTO app.locations(external_id, name) VALUES ('LHUYvwY2Aq1', 'HQ Office'),"
          "('eF8mK8JAMKZ', 'Central Province Office'), ('CountryOwn01', 'Capital Office');"
          "CREATE TABLE app.users(id uuid PRIMARY KEY DEFAULT gen_random_uuid(), firstname text "
          "NOT NULL, surname text NOT NULL);"
          "CREATE TABLE app.user_credentials(id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
          "user_id uuid NOT NULL REFERENCES app.users(id), username text UNIQUE NOT NULL, "
          "password_hash text NOT NULL, salt text NOT NULL);"
          "WITH u AS (INSERT INTO app.users(firstname, surname) VALUES ('Kalusha', 'Bwalya'), "
          "('Jonathan', 'Campbell'), ('Amina', 'Mwansa') RETURNING id, firstname) "
          "INSERT INTO app.user_credentials(user_id, username, password_hash, salt) "
          "SELECT id, CASE firstname WHEN 'Kalusha' THEN 'k.bwalya' WHEN 'Jonathan' THEN "
          "'j.campbell' ELSE 'a.mwansa' END, 'SecretHash$2a', 'SecretSalt' FROM u;");
  v1::FactReport v2 = collect();
  setenv("PATH", saved_path.c_str(), 1);
  unsetenv("PGHOST");
  unsetenv("POSTGRES_USER");
  const v1::TestDataFact& f2 = v2.test_data();
  ASSERT_EQ(f2.collection().state(), v1::Collection::OK) << f2.collection().error();
  EXPECT_THAT(f2.missing_tables(), IsEmpty());
  EXPECT_EQ(f2.seed_users_present(), 2u);
  EXPECT_THAT(f2.seed_users(), ElementsAre("j.campbell", "k.bwalya"));
  EXPECT_EQ(f2.seed_offices_present(), 2u);
  EXPECT_EQ(f2.records(0).total(), 4u);
  ExpectNoSecret(v2, {"a.mwansa", "Amina", "Campbell", "SecretHash", "SecretSalt", "CountryOwn",
                      "Capital Office"});
}

// A count slower than the agent waits for is stopped by Postgres itself
// (statement_timeout, set by the script), not left running in production
// after the agent killed its docker client: the real script, shell and
// psql, with a table that takes 3 s to read.
TEST(TestDataPostgres, ASlowCountIsStoppedByTheServer) {
  RealPostgres pg;
  ASSERT_TRUE(pg.ok()) << pg.error();
  pg.Psql("postgres", "CREATE DATABASE events");
  pg.Psql("events",
          "CREATE SCHEMA app;"
          "CREATE VIEW app.events AS SELECT now() AS created_at FROM pg_sleep(3);");
  const std::map<std::string, std::string> env = {{"PGHOST", pg.socket_dir()},
                                                  {"POSTGRES_USER", "postgres"}};
  auto run = [&](int timeout_s) {
    return testing::RunProcess(
        {"/bin/sh", "-c", agent::kTestDataScript, "preflight", agent::BuildTestDataSql(timeout_s)},
        absl::Seconds(30), env);
  };
  const absl::Time start = absl::Now();
  testing::RunResult stopped = run(1);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3)) << "the count was not stopped at 1 s";
  EXPECT_EQ(stopped.exit_code, 3) << stopped.out << stopped.err;
  EXPECT_THAT(stopped.err, HasSubstr("canceling statement due to statement timeout"));
  v1::TestDataFact fact;
  EXPECT_FALSE(agent::ParseTestDataOutput(stopped.out, fact).ok()) << stopped.out;
  // Within the limit the same count completes.
  testing::RunResult done = run(10);
  ASSERT_EQ(done.exit_code, 0) << done.err;
  ASSERT_TRUE(agent::ParseTestDataOutput(done.out, fact).ok()) << done.out;
  ASSERT_EQ(fact.records_size(), 1);
  EXPECT_EQ(fact.records(0).total(), 1u);
  // The shipped limit is under the agent's deadline for the exec.
  EXPECT_LT(agent::kTestDataSqlTimeoutSeconds, agent::kTestDataSqlExecSeconds);
  EXPECT_THAT(agent::TestDataSql(),
              HasSubstr(absl::StrCat("statement_timeout = '", agent::kTestDataSqlTimeoutSeconds)));
}

}  // namespace
}  // namespace preflight
