// Fact kind "test_data" (checklist item 15): registrations per creation day,
// the test data set's seed users and offices still present, and the reset
// marker (the migrations' run times), as counts. Off unless the agent's
// config enables application { test_data: true }.
//
// Where OpenCRVS keeps them (v1.9 and later, opencrvs-core
// packages/migration/src/migrations/events/*.sql, run by node-pg-migrate
// with --schema=app into the Postgres database "events"):
//   app.events            one row per record (birth, death, ...), created_at
//                         (v1.9+)
//   app.user_credentials  username per user account (v2.0+; before, users
//                         are in MongoDB user-mgnt)
//   app.locations         offices and facilities; external_id is the id of
//                         the country configuration's locations.csv (v2.0+:
//                         v1.9 dropped the column)
//   app.pgmigrations      node-pg-migrate's table: name, run_on per migration
// (public.<table> is read when app.<table> is not there.) OpenCRVS v1.x
// keeps its users (user-mgnt.users) and its records from before Events v2
// (FHIR Tasks in hearth-dev) in MongoDB: when app.user_credentials is not
// there, or only mongo1/mongo2 runs on this node, one `mongo` in that
// container (mongo_shell.h; TestDataMongoJs) counts them too. A store that
// is not read is listed in TestDataFact.missing_tables ("hearth-dev.Task"
// when MongoDB runs on another node) so the check says UNKNOWN, never PASS.
//
// The test data set, on a production server: the seed of the reference
// country configuration, opencrvs-farajaland (commit c6f7c506, 2026-07-01):
// the usernames of src/data-seeding/employees/source/default-employees.csv
// (kSeedUsernames; every one seeded with the password "test") and the
// CRVS_OFFICE ids of src/data-seeding/locations/source/locations.csv
// (kSeedOfficeIds). A country's production seed replaces both with its own
// staff and offices, so any of them on production is the demo data set left
// behind. Records are not marked as test records: the collector compares
// their creation days with the policy's go_live_date.
//
// Two commands, each run once per collection:
//   docker ps --filter label=com.docker.swarm.service.name --format kContainerListFormat
//     finds the container of the swarm service named *_postgres on this
//     node (OpenCRVS places it on the node labelled data1); none: ABSENT.
//   docker exec <container> sh -c kTestDataScript preflight <kTestDataSql>
//     one psql inside the container, over its local socket as the
//     container's own POSTGRES_USER (the official image trusts local
//     connections: no password anywhere), reading the script on its
//     standard input. Counts only come back: records per UTC day, the seed
//     usernames found (at most kMaxSeedUsersListed kept), the number of seed
//     offices found, and the first and newest migration. No record, name or
//     identifier of a person.
// Days are bounded (kMaxTestDataDays): beyond, the newest kept day also
// counts every later day (RecordCount.folded_days), so the oldest days, where
// test records sit, stay exact.
#ifndef PREFLIGHT_AGENT_FACTS_TEST_DATA_H_
#define PREFLIGHT_AGENT_FACTS_TEST_DATA_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// The error of the test_data kind when its source is off.
inline constexpr char kTestDataOff[] =
    "test data is off: set application { test_data: true } in the agent's config";

// Days of records kept per table, and seed usernames listed.
inline constexpr size_t kMaxTestDataDays = 400;
inline constexpr size_t kMaxSeedUsersListed = 20;

// farajaland's seed (see the top of this file).
extern const std::vector<std::string>& SeedUsernames();
extern const std::vector<std::string>& SeedOfficeIds();

// The shell script run inside the container ($1 is the psql script).
extern const char kTestDataScript[];
// The psql script: its output is sections of tab-separated rows, each
// after a line "@<section>", ending with "@end".
const std::string& TestDataSql();
// How long the agent waits for the docker exec of the psql script.
inline constexpr int kTestDataSqlExecSeconds = 60;
// How long Postgres may work on one statement of it (statement_timeout),
// under the exec's deadline: killing the docker client does not stop psql
// in the container, so when the agent gives up on a slow count the server
// must stop it too (psql then exits 3 and the fact is an ERROR with its
// message).
inline constexpr int kTestDataSqlTimeoutSeconds = 50;
static_assert(kTestDataSqlTimeoutSeconds < kTestDataSqlExecSeconds);
// TestDataSql() with another statement timeout (tests).
std::string BuildTestDataSql(int statement_timeout_seconds);

// {"docker", "exec", container, "sh", "-c", kTestDataScript, "preflight",
//  TestDataSql()}.
std::vector<std::string> TestDataArgv(const std::string& container);

// OpenCRVS v1.x's MongoDB (mongo_shell.h): the JavaScript printing the same
// sections — "@events" (hearth-dev Task ids per first day, UTC) and "@users"
// (seed usernames in user-mgnt.users), "@missing hearth-dev.Task" /
// "@missing user-mgnt.users" when a collection is not there — then "@end".
const std::string& TestDataMongoJs();
// How long the agent waits for the docker exec of the mongo script.
inline constexpr int kTestDataMongoExecSeconds = 120;
// How long MongoDB may work on the records count (maxTimeMS on the
// aggregation), under the exec's deadline: killing the docker client does
// not stop what it started in the container, so when the agent gives up on
// a slow count the server must stop it too, instead of running on in the
// production database while the next report starts another one.
inline constexpr int kTestDataMongoTimeoutSeconds = 100;
static_assert(kTestDataMongoTimeoutSeconds < kTestDataMongoExecSeconds);
// MongoShellArgv(container, TestDataMongoJs()).
std::vector<std::string> TestDataMongoArgv(const std::string& container);
// The RecordCount name of MongoDB's records, and the table named missing
// when they are not read.
inline constexpr char kMongoRecords[] = "mongo hearth-dev: Task";
inline constexpr char kMongoTasks[] = "hearth-dev.Task";

// Clears what the parsers fill and sets the seed sizes.
void ResetTestDataFact(v1::TestDataFact& fact);

// Parses psql's output into fact.records, seed_*, last_migration*,
// first_migration_unix and missing_tables. INVALID_ARGUMENT naming the line
// when the output is not what TestDataSql() prints (a row that does not
// parse, a section missing, no "@end": cut short).
absl::Status ParseTestDataOutput(absl::string_view out, v1::TestDataFact& fact);
// Parses TestDataMongoJs()'s rows (after MongoBody) into `fact`: its
// records are appended, the seed users set; nothing is cleared first.
absl::Status ParseTestDataMongoOutput(absl::string_view out, v1::TestDataFact& fact);

// Reads no other fact. Options: application_test_data.
std::unique_ptr<FactCollector> MakeTestDataCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_TEST_DATA_H_
