// OpenCRVS v1.x's MongoDB, read by the agent (issue 16, items 10 and 15):
// agent/facts/mongo_shell.h and the admin_passwords / test_data paths that
// use it. MongoDB is not in Debian, so the whole path runs with stand-ins
// that are as real as this machine allows: a stand-in `docker` runs each
// exec'd command here with a real /bin/sh (as it runs in the container), a
// stand-in `mongo` checks how the shell is started (the password must
// arrive on its standard input, as the legacy shell's prompt reads it) and
// runs the agent's JavaScript with Node.js against documents in a JSON file
// (tests/fixtures/mongo/legacy_shell_shim.js: the shell calls and
// aggregation operators the scripts use, with MongoDB's documented
// semantics, nothing else). Expected verdicts come from an independent
// bcrypt (python3-bcrypt) and hashlib, and expected day counts are computed
// here from the documents the test writes.
#include "agent/facts/mongo_shell.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/facts/admin_passwords.h"
#include "agent/facts/fact_collector.h"
#include "agent/facts/run_cache.h"
#include "agent/facts/test_data.h"
#include "proto/wire/json_quote.h"
#include "tests/support/no_secret.h"
#include "tests/support/process.h"
#include "tests/support/real_dockerd.h"
#include "tests/support/recording_env.h"
#include "tests/support/reference_hashes.h"
#include "tests/support/temp_dir.h"

namespace preflight {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RecordingEnv;

constexpr char kMongo[] = "7c1f3a9e5b20";
constexpr char kPostgres[] = "5d2e8c41a9f7";
constexpr char kCountryconfig[] = "9b7e1c3d5f20";
const std::string kShim = std::string(PREFLIGHT_FIXTURES) + "/mongo/legacy_shell_shim.js";
// The root account, as the container's environment holds it: quotes, a
// dollar and a space, so any unquoted expansion would show.
constexpr char kRootUser[] = "opencrvs-admin";
constexpr char kRootPassword[] = "Mg'pw \"$HOME\" 9z";

using testing::ExpectNoSecret;
using testing::Text;

std::string Json(absl::string_view s) { return wire::JsonQuoted(s); }

// --- the framing -------------------------------------------------------------

TEST(MongoBody, WhatPrecedesBeginIsNotRead) {
  auto body = agent::MongoBody(
      "Enter password: \n{\"t\":{\"$date\":\"2026-01-01\"},\"msg\":\"warning\"}\n\n@begin\n"
      "schema\tt\tf\nend\n");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, "schema\tt\tf\nend\n");
  // The prompt has no newline of its own: "@begin" follows the empty line
  // the preamble prints.
  body = agent::MongoBody("Enter password: \n@begin\r\nrow\n");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, "row\n");
}

TEST(MongoBody, NoBeginOrAnExceptionIsAnErrorThatShowsNoRow) {
  const std::string rows = "user\tj.campbell\t$2a$10$hashhashhash\n";
  auto none = agent::MongoBody(rows);
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(),
              HasSubstr(absl::StrCat("no @begin line (", rows.size(), " bytes of other output)")));
  EXPECT_THAT(none.status().message(), Not(HasSubstr("hash")));

  auto error = agent::MongoBody(
      "@begin\nschema\tt\tf\n@error\tError: command find requires authentication "
      "mongodb://root:Hunter2Secret@localhost " +
      std::string(600, 'x') + "\n");
  ASSERT_FALSE(error.ok());
  EXPECT_THAT(error.status().message(),
              HasSubstr("mongo: Error: command find requires authentication"));
  EXPECT_THAT(error.status().message(), Not(HasSubstr("Hunter2Secret")));
  EXPECT_LT(error.status().message().size(), 320u);
}

TEST(MongoShell, TheArgvHoldsNoSecretAndTheUsernamesAreJsonStrings) {
  const std::vector<std::string> argv = agent::AdminMongoArgv(kMongo, {"j.campbell", "o.admin"});
  ASSERT_EQ(argv.size(), 8u);
  EXPECT_EQ(argv[2], kMongo);
  EXPECT_EQ(argv[5], agent::kMongoShellScript);
  EXPECT_THAT(argv[7], HasSubstr("{username: {$in: [\"j.campbell\", \"o.admin\"]}}"));
  for (const std::string& a : argv) {
    EXPECT_THAT(a, Not(HasSubstr(kRootPassword)));
  }
  // The script takes the password from the container's environment, inside
  // the container, and pipes it: never "--password <value>", never "-p".
  EXPECT_THAT(agent::kMongoShellScript, HasSubstr("printf '%s\\n' \"${MONGO_INITDB_ROOT_PASSWORD"));
  EXPECT_THAT(agent::kMongoShellScript, Not(HasSubstr("--password \"")));
  EXPECT_THAT(agent::kMongoShellScript, Not(HasSubstr("--password=")));
}

// --- the stand-in host ---------------------------------------------------------

class MongoStandIn : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(testing::RunProcess({"node", "--version"}, absl::Seconds(30)).exit_code, 0)
        << "Node.js runs the agent's JavaScript here: deploy/install-deps.sh installs nodejs";
    bin_ = dir_.Join("bin");
    ASSERT_EQ(mkdir(bin_.c_str(), 0755), 0);
    Script("docker", absl::StrCat("if [ \"$1\" = ps ]; then cat '", dir_.Join("ps.txt"),
                                  "'; exit 0; fi\n"
                                  "if [ \"$1\" = exec ] && [ \"$3\" = cat ]; then exec cat '",
                                  dir_.Join("seed.csv"),
                                  "'; fi\n"
                                  "shift 2\nexec \"$@\"\n"));
    // The legacy shell: the prompt on stderr, one line of stdin as the
    // password when --password comes without a value; the server refuses
    // a password other than its own (mongod.password).
    Script("mongo",
           absl::StrCat("for a in \"$@\"; do printf '%s\\0' \"$a\" >> '", dir_.Join("mongo.argv"),
                        "'; done\n"
                        "auth=no\nfor a in \"$@\"; do [ \"$a\" = --password ] && auth=yes; done\n"
                        "if [ $auth = yes ]; then\n"
                        "  printf 'Enter password: ' >&2\n"
                        "  IFS= read -r pw || true\n"
                        "  printf '%s' \"$pw\" > '",
                        dir_.Join("mongo.stdin"),
                        "'\n"
                        "  if [ \"$pw\" != \"$(cat '",
                        dir_.Join("mongod.password"),
                        "')\" ]; then echo 'Error: Authentication failed.' >&2; "
                        "echo 'exception: login failed' >&2; exit 1; fi\n"
                        "fi\n"
                        "js=\nwhile [ $# -gt 0 ]; do\n"
                        "  if [ \"$1\" = --eval ]; then js=$2; shift; fi\n  shift\ndone\n"
                        "exec node '",
                        kShim, "' '", dir_.Join("data.json"), "' \"$js\"\n"));
    // psql for a v1.9 events database: no user tables (admin), the v1.9
    // sections (test data, "-f -").
    Script("psql", absl::StrCat("cat > /dev/null\n"
                                "for a in \"$@\"; do [ \"$a\" = -f ] && exec cat '",
                                dir_.Join("psql-test-data.txt"),
                                "'; done\n"
                                "printf 'schema\\tf\\tf\\nend\\n'\n"));
    testing::WriteFile(dir_.Join("mongod.password"), kRootPassword);
    const char* path = getenv("PATH");
    saved_path_ = path ? path : "";
    setenv("PATH", absl::StrCat(bin_, ":", saved_path_).c_str(), 1);
    setenv("MONGO_INITDB_ROOT_USERNAME", kRootUser, 1);
    setenv("MONGO_INITDB_ROOT_PASSWORD", kRootPassword, 1);
  }
  void TearDown() override {
    setenv("PATH", saved_path_.c_str(), 1);
    unsetenv("MONGO_INITDB_ROOT_USERNAME");
    unsetenv("MONGO_INITDB_ROOT_PASSWORD");
  }

  void Script(const std::string& name, const std::string& body) {
    const std::string path = bin_ + "/" + name;
    testing::WriteFile(path, "#!/bin/sh\n" + body);
    ASSERT_EQ(chmod(path.c_str(), 0755), 0);
  }
  void Containers(const std::vector<std::pair<std::string, std::string>>& list) {
    std::string ps;
    for (const auto& [id, service] : list) absl::StrAppend(&ps, id, "\t", service, "\n");
    testing::WriteFile(dir_.Join("ps.txt"), ps);
  }
  void Data(const std::string& json) { testing::WriteFile(dir_.Join("data.json"), json); }
  std::vector<std::string> MongoArgv() {
    std::vector<std::string> argv =
        absl::StrSplit(testing::ReadFile(dir_.Join("mongo.argv")), '\0', absl::SkipEmpty());
    return argv;
  }

  v1::FactReport Collect(std::unique_ptr<agent::FactCollector> collector) {
    agent::CollectOptions o;
    o.application_docker = true;
    o.application_admin_passwords = true;
    o.application_test_data = true;
    std::vector<std::unique_ptr<agent::FactCollector>> one;
    one.push_back(std::move(collector));
    RecordingEnv env("/");
    return agent::CollectReport(env, o, one);
  }

  testing::TempDir dir_;
  std::string bin_;
  std::string saved_path_;
};

// A user document of user-mgnt.users (packages/user-mgnt/src/model/user.ts).
std::string UserDoc(const std::string& username, const std::string& role, const std::string& status,
                    const std::string& hash, const std::string& old_hash = "",
                    const std::string& salt = "") {
  return absl::StrCat("{\"username\": ", Json(username), ", \"role\": ", Json(role),
                      ", \"status\": ", Json(status), ", \"passwordHash\": ", Json(hash),
                      ", \"oldPasswordHash\": ", Json(old_hash),
                      ", \"salt\": ", Json(salt.empty() ? hash.substr(0, 29) : salt),
                      ", \"name\": [{\"given\": [\"Secret\"], \"family\": \"Person\"}], "
                      "\"emailForNotification\": \"someone@example.org\"}");
}

const v1::DefaultPasswordAccount* Account(const v1::AdminPasswordsFact& fact,
                                          const std::string& username) {
  for (const v1::DefaultPasswordAccount& a : fact.accounts()) {
    if (a.username() == username) return &a;
  }
  return nullptr;
}

// --- item 10: the users of OpenCRVS v1.x --------------------------------------

TEST_F(MongoStandIn, DefaultPasswordsAreComparedWithUserMgntsHashes) {
  Containers({{kCountryconfig, "opencrvs_countryconfig"}, {kMongo, "opencrvs_mongo1"}});
  testing::WriteFile(
      dir_.Join("seed.csv"),
      "primaryOfficeId,givenNames,familyName,role,mobile,username,email,password\n"
      "CRVS_OFFICE_JWMRGwDBXK,Jonathan,Campbell,NATIONAL_SYSTEM_ADMIN,0921681112,j.campbell,"
      "a@example.org,test\n"
      "CRVS_OFFICE_JWMRGwDBXK,Kim,Changed,NATIONAL_SYSTEM_ADMIN,0921681113,k.changed,"
      "b@example.org,test\n"
      "CRVS_OFFICE_JWMRGwDBXK,Old,Scheme,NATIONAL_SYSTEM_ADMIN,0921681114,s.old,c@example.org,"
      "test\n"
      "CRVS_OFFICE_JWMRGwDBXK,Miss,Ing,NATIONAL_SYSTEM_ADMIN,0921681115,m.missing,d@example.org,"
      "test\n");
  const std::string test_hash = testing::ReferenceBcrypt("test", "2a", 4);
  const std::string changed_hash = testing::ReferenceBcrypt("Rotated-Pw-42", "2a", 4);
  const std::string super_hash = testing::ReferenceBcrypt("password", "2a", 4);
  const std::string old_salt = "$2a$10$saltsaltsaltsaltsaltsa";
  const std::string old_hash = testing::ReferenceSha512(old_salt, "test");
  Data(absl::StrCat("{\"dbs\": {\"user-mgnt\": {\"users\": [",
                    UserDoc("j.campbell", "NATIONAL_SYSTEM_ADMIN", "active", test_hash), ", ",
                    UserDoc("k.changed", "NATIONAL_SYSTEM_ADMIN", "active", changed_hash), ", ",
                    UserDoc("s.old", "NATIONAL_SYSTEM_ADMIN", "active", "", old_hash, old_salt),
                    ", ", UserDoc("o.admin", "NATIONAL_SYSTEM_ADMIN", "deactivated", super_hash),
                    ", ", UserDoc("x.other", "NATIONAL_SYSTEM_ADMIN", "active", test_hash),
                    "]}}}"));

  v1::FactReport report = Collect(agent::MakeAdminPasswordsCollector());
  const v1::AdminPasswordsFact& fact = report.admin_passwords();
  ASSERT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  EXPECT_EQ(fact.database(), "mongo user-mgnt.users");
  EXPECT_EQ(fact.container(), kMongo);
  EXPECT_THAT(fact.source(), HasSubstr(absl::StrCat("docker exec ", kMongo, " mongo user-mgnt")));
  EXPECT_THAT(fact.source(), Not(HasSubstr("psql")));

  const v1::DefaultPasswordAccount* j = Account(fact, "j.campbell");
  ASSERT_NE(j, nullptr) << Text(fact);
  EXPECT_TRUE(j->found());
  EXPECT_EQ(j->status(), "active");
  EXPECT_EQ(j->scheme(), "bcrypt");
  EXPECT_TRUE(j->default_accepted());
  EXPECT_FALSE(Account(fact, "k.changed")->default_accepted());
  EXPECT_EQ(Account(fact, "s.old")->scheme(), "sha512 (before OpenCRVS v1.4)");
  EXPECT_TRUE(Account(fact, "s.old")->default_accepted());
  EXPECT_FALSE(Account(fact, "m.missing")->found());
  const v1::DefaultPasswordAccount* super = Account(fact, "o.admin");
  ASSERT_NE(super, nullptr);
  EXPECT_EQ(super->status(), "deactivated");
  EXPECT_TRUE(super->default_accepted());
  EXPECT_EQ(Account(fact, "x.other"), nullptr);
  EXPECT_EQ(Account(fact, "system_initialisation"), nullptr);  // v2's only

  // The password reached the shell's prompt, on its standard input; no
  // argv holds it; the root user and the auth database are the container's.
  EXPECT_EQ(testing::ReadFile(dir_.Join("mongo.stdin")), kRootPassword);
  const std::vector<std::string> argv = MongoArgv();
  for (const std::string& a : argv) EXPECT_THAT(a, Not(HasSubstr(kRootPassword)));
  EXPECT_THAT(argv, ::testing::Contains(kRootUser));
  EXPECT_THAT(argv, ::testing::Contains("--password"));
  EXPECT_THAT(argv, ::testing::Contains("--norc"));
  ExpectNoSecret(report, {test_hash, changed_hash, super_hash, old_hash, old_salt, kRootPassword,
                          "Rotated-Pw-42", "someone@example.org", "Secret"});
}

TEST_F(MongoStandIn, V19PostgresWithoutUsersSendsTheLookupToMongo) {
  Containers({{kPostgres, "opencrvs_postgres"}, {kMongo, "opencrvs_mongo1"}});
  const std::string test_hash = testing::ReferenceBcrypt("test", "2b", 4);
  Data(absl::StrCat("{\"dbs\": {\"user-mgnt\": {\"users\": [",
                    UserDoc("j.campbell", "NATIONAL_SYSTEM_ADMIN", "active", test_hash), "]}}}"));
  v1::FactReport report = Collect(agent::MakeAdminPasswordsCollector());
  const v1::AdminPasswordsFact& fact = report.admin_passwords();
  ASSERT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  EXPECT_EQ(fact.database(), "mongo user-mgnt.users");
  // Both databases were asked, and the source says so.
  EXPECT_THAT(fact.source(), HasSubstr(absl::StrCat("docker exec ", kPostgres, " psql events")));
  EXPECT_THAT(fact.source(), HasSubstr(absl::StrCat("docker exec ", kMongo, " mongo")));
  // No countryconfig here: the documented default stands in.
  EXPECT_THAT(fact.defaults(), HasSubstr("documented seed defaults"));
  ASSERT_NE(Account(fact, "j.campbell"), nullptr);
  EXPECT_TRUE(Account(fact, "j.campbell")->default_accepted());
  ASSERT_NE(Account(fact, "o.admin"), nullptr);
  EXPECT_FALSE(Account(fact, "o.admin")->found());
}

TEST_F(MongoStandIn, ErrorsNameTheStepAndNeverPass) {
  Containers({{kMongo, "opencrvs_mongo2"}});
  Data("{\"dbs\": {\"user-mgnt\": {\"users\": []}}}");
  // The root password in the container's environment is not the server's.
  testing::WriteFile(dir_.Join("mongod.password"), "another one");
  v1::FactReport refused = Collect(agent::MakeAdminPasswordsCollector());
  EXPECT_EQ(refused.admin_passwords().collection().state(), v1::Collection::ERROR);
  EXPECT_THAT(refused.admin_passwords().collection().error(),
              HasSubstr("docker exec (mongo user-mgnt) exited 1: Enter password: Error: "
                        "Authentication failed."));
  EXPECT_EQ(refused.admin_passwords().accounts_size(), 0);
  ExpectNoSecret(refused, {kRootPassword});

  // The server throws (not authorized): the exception, masked.
  testing::WriteFile(dir_.Join("mongod.password"), kRootPassword);
  Data(
      "{\"error\": \"MongoServerError: not authorized on user-mgnt (mongodb://root:"
      "UriSecret99@mongo1)\", \"dbs\": {}}");
  v1::FactReport thrown = Collect(agent::MakeAdminPasswordsCollector());
  EXPECT_EQ(thrown.admin_passwords().collection().state(), v1::Collection::ERROR);
  EXPECT_THAT(thrown.admin_passwords().collection().error(),
              HasSubstr("docker exec (mongo user-mgnt): mongo: Error: MongoServerError: not "
                        "authorized on user-mgnt"));
  ExpectNoSecret(thrown, {"UriSecret99"});

  // A MongoDB without user-mgnt: not OpenCRVS's user database, not "none".
  Data("{\"dbs\": {\"admin\": {\"system.users\": []}}}");
  v1::FactReport other = Collect(agent::MakeAdminPasswordsCollector());
  EXPECT_EQ(other.admin_passwords().collection().state(), v1::Collection::ERROR);
  EXPECT_THAT(other.admin_passwords().collection().error(),
              HasSubstr("MongoDB has no collection user-mgnt.users"));
}

TEST_F(MongoStandIn, WithoutRootCredentialsTheShellIsNotAskedToAuthenticate) {
  unsetenv("MONGO_INITDB_ROOT_USERNAME");
  unsetenv("MONGO_INITDB_ROOT_PASSWORD");
  Containers({{kMongo, "opencrvs_mongo1"}});
  Data("{\"dbs\": {\"user-mgnt\": {\"users\": []}}}");
  v1::FactReport report = Collect(agent::MakeAdminPasswordsCollector());
  ASSERT_EQ(report.admin_passwords().collection().state(), v1::Collection::OK)
      << report.admin_passwords().collection().error();
  EXPECT_THAT(MongoArgv(), Not(::testing::Contains("--password")));
  EXPECT_THAT(MongoArgv(), Not(::testing::Contains("--username")));
  EXPECT_FALSE(Account(report.admin_passwords(), "o.admin")->found());
}

// --- item 15: the records and users of OpenCRVS v1.x ----------------------------

TEST_F(MongoStandIn, TestDataCountsTasksByTheirFirstDayAndTheSeedUsers) {
  Containers({{kPostgres, "opencrvs_postgres"}, {kMongo, "opencrvs_mongo1"}});
  testing::WriteFile(dir_.Join("psql-test-data.txt"),
                     "@events\n2026-01-05\t2\n@missing app.user_credentials\n"
                     "@missing app.locations.external_id\n@migrations\n"
                     "first\t1746712582483_create_events_and_actions_tables\t1763457123\n"
                     "last\t1754476355314_remove_external_id_from_locations\t1763457124\n@end\n");
  // Tasks: the current version in Task, earlier ones in Task_history; a
  // record was created when its oldest version was. One Task without a
  // date; one history-only id (its Task was deleted).
  struct Version {
    std::string id;
    std::string last_modified;  // "" = none
    bool history;
  };
  const std::vector<Version> versions = {
      {"t1", "2025-10-02T09:00:00.000Z", false}, {"t1", "2025-09-30T23:59:59.000Z", true},
      {"t1", "2025-10-01T08:00:00.000Z", true},  {"t2", "2025-09-30T10:00:00.000Z", false},
      {"t3", "2026-02-01T00:00:00.000Z", false}, {"t4", "", false},
      {"t5", "2025-12-31T12:00:00.000Z", true},  {"t6", "2026-02-01T13:00:00.000Z", false},
  };
  std::string task, history;
  std::map<std::string, std::string> first;  // id -> oldest day ("" none)
  for (const Version& v : versions) {
    std::string doc = absl::StrCat(
        "{\"id\": ", Json(v.id), ", \"resourceType\": \"Task\"",
        v.last_modified.empty() ? "" : absl::StrCat(", \"lastModified\": ", Json(v.last_modified)),
        ", \"focus\": {\"reference\": \"Composition/secret-ref\"}}");
    std::string& list = v.history ? history : task;
    absl::StrAppend(&list, list.empty() ? "" : ", ", doc);
    const std::string day = v.last_modified.substr(0, 10);
    auto it = first.find(v.id);
    if (it == first.end()) {
      first[v.id] = day;
    } else if (!day.empty() && (it->second.empty() || day < it->second)) {
      it->second = day;
    }
  }
  std::map<std::string, uint64_t> expected;  // day -> records
  for (const auto& [id, day] : first) ++expected[day.empty() ? "0001-01-01" : day];
  Data(absl::StrCat(
      "{\"dbs\": {\"hearth-dev\": {\"Task\": [", task, "], \"Task_history\": [", history,
      "], \"Patient\": [{\"name\": \"Secret Person\"}]}, \"user-mgnt\": {\"users\": [",
      UserDoc("k.bwalya", "FIELD_AGENT", "active", "$2a$10$x"), ", ",
      UserDoc("j.campbell", "NATIONAL_SYSTEM_ADMIN", "active", "$2a$10$x"), ", ",
      UserDoc("a.country", "REGISTRATION_AGENT", "active", "$2a$10$x"), "]}}}"));

  const std::string calls = dir_.Join("calls.log");
  setenv("PREFLIGHT_SHIM_CALLS", calls.c_str(), 1);
  v1::FactReport report = Collect(agent::MakeTestDataCollector());
  unsetenv("PREFLIGHT_SHIM_CALLS");
  const v1::TestDataFact& fact = report.test_data();
  ASSERT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  EXPECT_EQ(fact.container(), kPostgres);
  EXPECT_EQ(fact.mongo_container(), kMongo);
  EXPECT_EQ(fact.users_from(), "mongo user-mgnt.users");
  // The users were looked for in MongoDB: no longer missing; the offices
  // (v1.9 has no external_id) still are.
  EXPECT_THAT(fact.missing_tables(), ElementsAre("app.locations.external_id"));
  EXPECT_EQ(fact.seed_users_present(), 2u);
  EXPECT_THAT(fact.seed_users(), ElementsAre("j.campbell", "k.bwalya"));
  ASSERT_EQ(fact.records_size(), 2) << Text(fact);
  EXPECT_EQ(fact.records(0).name(), "postgres events: app.events");
  const v1::RecordCount& tasks = fact.records(1);
  EXPECT_EQ(tasks.name(), agent::kMongoRecords);
  EXPECT_EQ(tasks.total(), first.size());
  ASSERT_EQ(static_cast<size_t>(tasks.by_day_size()), expected.size()) << Text(tasks);
  size_t i = 0;
  for (const auto& [day, n] : expected) {
    EXPECT_EQ(tasks.by_day(i).day(), day);
    EXPECT_EQ(tasks.by_day(i).count(), n) << day;
    ++i;
  }
  EXPECT_THAT(fact.source(), HasSubstr(absl::StrCat("docker exec ", kMongo, " mongo")));
  // Counts only: the collections read, nothing of a record or person.
  EXPECT_EQ(testing::ReadFile(calls), "aggregate hearth-dev.Task\nfind user-mgnt.users");
  ExpectNoSecret(
      report, {"secret-ref", "Secret Person", "someone@example.org", "a.country", kRootPassword});
}

TEST_F(MongoStandIn, TestDataWithoutMongoHereOrWithoutTasksIsNotNone) {
  testing::WriteFile(dir_.Join("psql-test-data.txt"),
                     "@events\n@missing app.user_credentials\n"
                     "@missing app.locations.external_id\n@missing app.pgmigrations\n@end\n");
  // v1.9's Postgres here, MongoDB on another node.
  Containers({{kPostgres, "opencrvs_postgres"}});
  v1::FactReport elsewhere = Collect(agent::MakeTestDataCollector());
  ASSERT_EQ(elsewhere.test_data().collection().state(), v1::Collection::OK);
  EXPECT_THAT(elsewhere.test_data().missing_tables(), ::testing::Contains("hearth-dev.Task"));
  EXPECT_THAT(elsewhere.test_data().missing_tables(), ::testing::Contains("app.user_credentials"));

  // Only MongoDB here (no Postgres), with no Task collection and no users:
  // every store not read is named.
  Containers({{kMongo, "opencrvs_mongo1"}});
  Data("{\"dbs\": {\"hearth-dev\": {\"Patient\": []}}}");
  v1::FactReport bare = Collect(agent::MakeTestDataCollector());
  const v1::TestDataFact& fact = bare.test_data();
  ASSERT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  EXPECT_THAT(fact.missing_tables(),
              ElementsAre("app.user_credentials", "app.locations.external_id", "app.pgmigrations",
                          "hearth-dev.Task", "user-mgnt.users"));
  EXPECT_EQ(fact.records_size(), 0);
  EXPECT_EQ(fact.users_from(), "");

  // Neither database here: ABSENT, naming both.
  Containers({{kCountryconfig, "opencrvs_countryconfig"}});
  v1::FactReport none = Collect(agent::MakeTestDataCollector());
  EXPECT_EQ(none.test_data().collection().state(), v1::Collection::ABSENT);
  EXPECT_THAT(none.test_data().collection().error(),
              HasSubstr("neither postgres nor mongo1 / mongo2"));
}

// A records count slower than the agent waits for: the aggregation carries
// a server-side limit (maxTimeMS) under the exec's deadline, so MongoDB
// stops it rather than running on in production; the fact is an ERROR that
// says so, never a count.
TEST_F(MongoStandIn, ASlowRecordsCountIsStoppedByTheServerAndIsAnError) {
  Containers({{kMongo, "opencrvs_mongo1"}});
  const std::string docs =
      "\"Task\": [{\"id\": \"t1\", \"lastModified\": \"2026-01-02T00:00:00Z\"}]";
  // Within the limit: counted.
  Data(absl::StrCat("{\"aggregate_ms\": ", (agent::kTestDataMongoTimeoutSeconds - 1) * 1000,
                    ", \"dbs\": {\"hearth-dev\": {", docs, "}}}"));
  v1::FactReport quick = Collect(agent::MakeTestDataCollector());
  ASSERT_EQ(quick.test_data().collection().state(), v1::Collection::OK)
      << quick.test_data().collection().error();
  ASSERT_EQ(quick.test_data().records_size(), 1);
  EXPECT_EQ(quick.test_data().records(0).total(), 1u);
  // An hour's aggregation: stopped at the limit.
  Data(absl::StrCat("{\"aggregate_ms\": 3600000, \"dbs\": {\"hearth-dev\": {", docs, "}}}"));
  v1::FactReport slow = Collect(agent::MakeTestDataCollector());
  const v1::Collection& c = slow.test_data().collection();
  EXPECT_EQ(c.state(), v1::Collection::ERROR);
  EXPECT_THAT(c.error(), HasSubstr("operation exceeded time limit")) << c.error();
  EXPECT_EQ(slow.test_data().records_size(), 0);
  // The limit is the server's, under the agent's own deadline for the exec.
  EXPECT_LT(agent::kTestDataMongoTimeoutSeconds, agent::kTestDataMongoExecSeconds);
}

// --- a real container -------------------------------------------------------------

// The one assumption no stand-in above can show: a `docker exec` shell sees
// the root account the container was started with (its Config.Env), and
// the agent's script, run by a real busybox sh through the real daemon's
// exec API, pipes that password to the shell's input byte for byte, quotes
// and all, with the password in nothing the agent sends. The `mongo` here
// is a stand-in that records its argv and answers only to the container's
// own password; the JavaScript is run by the Node.js tests above.
constexpr char kContainerMongo[] =
    "#!/bin/sh\n"
    "auth=no\nfor a in \"$@\"; do [ \"$a\" = --password ] && auth=yes; done\n"
    "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > /mongo.argv\n"
    "if [ $auth = yes ]; then\n"
    "  printf 'Enter password: ' >&2\n  IFS= read -r pw\n"
    "  [ \"$pw\" = \"$MONGO_INITDB_ROOT_PASSWORD\" ] || "
    "{ echo 'Error: Authentication failed.' >&2; exit 1; }\n"
    "fi\n"
    "printf '\\n@begin\\nschema\\tt\\tf\\nuser\\tj.campbell\\tNATIONAL_SYSTEM_ADMIN\\tactive"
    "\\t%s\\t%s\\nend\\n' \"$PF_HASH\" \"$PF_HASH\"\n";

class MongoInARealContainer : public testing::RealDockerdTest {};

TEST_F(MongoInARealContainer, TheRootPasswordGoesFromTheContainersEnvironmentToTheShellsInput) {
  ASSERT_TRUE(dockerd_.ImportBusybox("preflight-test/busybox:1")) << dockerd_.error();
  const std::string hash = testing::ReferenceBcrypt("test", "2a", 4);
  testing::RunResult run = dockerd_.Docker(
      {"run", "-d", "--name", "pfmongo", "--network", "none", "--label",
       "com.docker.swarm.service.name=opencrvs_mongo1", "-e",
       absl::StrCat("MONGO_INITDB_ROOT_USERNAME=", kRootUser), "-e",
       absl::StrCat("MONGO_INITDB_ROOT_PASSWORD=", kRootPassword), "-e",
       absl::StrCat("PF_HASH=", hash), "preflight-test/busybox:1", "/bin/sleep", "600"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string id(absl::StripAsciiWhitespace(run.out));
  testing::RunResult put =
      dockerd_.Docker({"exec", "pfmongo", "sh", "-c",
                       "printf '%s' \"$1\" > /bin/mongo && /bin/busybox chmod 755 /bin/mongo",
                       "preflight", kContainerMongo});
  ASSERT_EQ(put.exit_code, 0) << put.err;

  agent::CollectOptions o;
  o.application_docker = true;
  o.application_admin_passwords = true;
  std::vector<std::unique_ptr<agent::FactCollector>> one;
  one.push_back(agent::MakeAdminPasswordsCollector());
  RecordingEnv host("/");
  agent::RunCache cache(host);
  v1::FactReport report = agent::CollectReport(cache, o, one);
  const v1::AdminPasswordsFact& fact = report.admin_passwords();
  ASSERT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  EXPECT_EQ(fact.container(), id.substr(0, 12));
  EXPECT_EQ(fact.database(), "mongo user-mgnt.users");
  ASSERT_NE(Account(fact, "j.campbell"), nullptr);
  EXPECT_TRUE(Account(fact, "j.campbell")->default_accepted());

  // The shell got the user name as an argument and the password on its
  // input (else the stand-in refuses, as mongod would).
  testing::RunResult argv =
      dockerd_.Docker({"exec", "pfmongo", "/bin/busybox", "cat", "/mongo.argv"});
  ASSERT_EQ(argv.exit_code, 0) << argv.err;
  EXPECT_THAT(argv.out, HasSubstr(absl::StrCat("--username\n", kRootUser, "\n--password\n")));
  EXPECT_THAT(argv.out, Not(HasSubstr(kRootPassword)));
  // Nothing the agent ran or posted (the exec went through the Engine API)
  // holds it.
  EXPECT_FALSE(host.posts.empty());
  for (const auto& [target, body] : host.posts) {
    EXPECT_THAT(body, Not(HasSubstr("Mg'pw"))) << target;
  }
  for (const auto& a : host.argvs) {
    EXPECT_THAT(absl::StrJoin(a, " "), Not(HasSubstr("Mg'pw")));
  }
  ExpectNoSecret(report, {hash, kRootPassword});
  EXPECT_EQ(dockerd_.Docker({"rm", "-f", "pfmongo"}).exit_code, 0);
}

TEST(MongoTestDataParse, HostileRowsAreRefused) {
  for (const char* out :
       {"@events\nnot a day\t3\n@users\n@end\n", "@events\n@users\nsomeone.else\n@end\n",
        "@events\n@users\n", "@events\n@offices\n0\n@users\n@end\n", "@events\n@end\n"}) {
    v1::TestDataFact fact;
    EXPECT_FALSE(agent::ParseTestDataMongoOutput(out, fact).ok()) << out;
  }
  v1::TestDataFact fact;
  ASSERT_TRUE(agent::ParseTestDataMongoOutput("@events\n0001-01-01\t2\n2025-01-01\t1\n@users\n"
                                              "c.lungu\n@end\n",
                                              fact)
                  .ok());
  ASSERT_EQ(fact.records_size(), 1);
  EXPECT_EQ(fact.records(0).total(), 3u);
  EXPECT_EQ(fact.seed_users_present(), 1u);
}

}  // namespace
}  // namespace preflight
