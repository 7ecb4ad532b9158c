#include "agent/facts/test_data.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/facts/mongo_shell.h"
#include "agent/facts/service_container.h"

namespace preflight::agent {

// psql reads the script on its standard input (-f -): backslash commands
// (\gset, \if) work there, not in -c. Over the local socket as the
// container's own superuser: the official image trusts local connections,
// so no password is needed or passed. ON_ERROR_STOP makes any SQL error end
// psql with exit 3, naming the line.
const char kTestDataScript[] =
    "printf '%s\\n' \"$1\" | psql -X -q -A -t -F '\t' -v ON_ERROR_STOP=1 "
    "-U \"${POSTGRES_USER:-postgres}\" -d events -f -";

namespace {

constexpr absl::string_view kPs = "docker ps";
constexpr absl::string_view kExec = "docker exec (psql)";
constexpr absl::string_view kMongoExec = "docker exec (mongo hearth-dev, user-mgnt)";

// The tables read, as the v1.9+ schema names them (schema "app"; "public"
// when a deployment ran the migrations without --schema).
struct Table {
  const char* section;  // the output section of its rows
  const char* name;     // as reported in missing_tables
};
// What one script prints: its tool (named in errors), the name of its
// records' RecordCount and the tables it reads.
struct Dialect {
  absl::string_view tool;
  absl::string_view records;
  std::vector<Table> tables;
};
const Dialect& Postgres() {
  static const auto* kDialect = new Dialect{"psql",
                                            "postgres events: app.events",
                                            {{"events", "app.events"},
                                             {"users", "app.user_credentials"},
                                             {"offices", "app.locations.external_id"},
                                             {"migrations", "app.pgmigrations"}}};
  return *kDialect;
}
// OpenCRVS v1.x's MongoDB: records as FHIR Tasks in hearth-dev, users in
// user-mgnt.
const Dialect& Mongo() {
  static const auto* kDialect = new Dialect{
      "mongo", kMongoRecords, {{"events", "hearth-dev.Task"}, {"users", "user-mgnt.users"}}};
  return *kDialect;
}

std::string SqlList(const std::vector<std::string>& values) {
  std::vector<std::string> quoted;
  for (const std::string& v : values) quoted.push_back(absl::StrCat("'", v, "'"));
  return absl::StrJoin(quoted, ",");
}

// The offices' ids are in locations.external_id, which v1.9 dropped and
// v2.0 added back: the table without it counts as missing.
std::string BuildSql(int statement_timeout_seconds) {
  std::string sql =
      "SELECT coalesce(to_regclass('app.events'), to_regclass('public.events')) AS ev,\n"
      "  coalesce(to_regclass('app.user_credentials'), to_regclass('public.user_credentials')) "
      "AS uc,\n"
      "  (SELECT attrelid::regclass FROM pg_attribute WHERE attrelid = "
      "coalesce(to_regclass('app.locations'), to_regclass('public.locations')) "
      "AND attname = 'external_id' AND NOT attisdropped) AS lo,\n"
      "  coalesce(to_regclass('app.pgmigrations'), to_regclass('public.pgmigrations')) AS mi "
      "\\gset\n";
  // The counts below may be slow on a large database: the server stops any
  // statement past the timeout. (After the lookups above, so that the
  // script's first characters, which key its recorded output in the test
  // fixtures, stay as they were; psql -q prints no "SET".)
  absl::StrAppend(&sql, "SET statement_timeout = '", statement_timeout_seconds, "s';\n");
  // Each section is printed only when its table exists; "@missing" names
  // the ones that do not.
  absl::StrAppend(&sql,
                  "\\if :{?ev}\n\\echo @events\n"
                  "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), count(*) "
                  "FROM :ev GROUP BY 1 ORDER BY 1;\n"
                  "\\else\n\\echo @missing app.events\n\\endif\n");
  absl::StrAppend(&sql, "\\if :{?uc}\n\\echo @users\n",
                  "SELECT username FROM :uc WHERE username IN (", SqlList(SeedUsernames()),
                  ") ORDER BY 1;\n"
                  "\\else\n\\echo @missing app.user_credentials\n\\endif\n");
  absl::StrAppend(&sql, "\\if :{?lo}\n\\echo @offices\n",
                  "SELECT count(*) FROM :lo WHERE external_id IN (", SqlList(SeedOfficeIds()),
                  ");\n"
                  "\\else\n\\echo @missing app.locations.external_id\n\\endif\n");
  absl::StrAppend(&sql,
                  "\\if :{?mi}\n\\echo @migrations\n"
                  "SELECT 'first', name, floor(extract(epoch FROM run_on))::bigint FROM :mi "
                  "ORDER BY run_on, id LIMIT 1;\n"
                  "SELECT 'last', name, floor(extract(epoch FROM run_on))::bigint FROM :mi "
                  "ORDER BY run_on DESC, id DESC LIMIT 1;\n"
                  "\\else\n\\echo @missing app.pgmigrations\n\\endif\n"
                  "\\echo @end\n");
  return sql;
}

bool IsDay(absl::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// A migration name as node-pg-migrate records it: the file name without its
// extension ("1746712582483_create_events_and_actions_tables").
bool IsMigrationName(absl::string_view s) {
  return !s.empty() && s.size() <= 200 && std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

absl::Status ParseSections(absl::string_view out, const Dialect& d, v1::TestDataFact& fact);

bool Missing(const v1::TestDataFact& fact, absl::string_view table) {
  return std::find(fact.missing_tables().begin(), fact.missing_tables().end(), table) !=
         fact.missing_tables().end();
}

class TestDataCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "test_data"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::TestDataFact& fact = *report.mutable_test_data();
    v1::Collection* collection = fact.mutable_collection();
    fact.set_enabled(options.application_test_data);
    if (SourceOff(options.application_test_data, kTestDataOff, *collection)) return collection;
    fact.set_source(std::string(kPs));
    v1::Collection where;
    std::optional<std::string> container =
        LocateServiceContainer(env, where, "postgres", "on the node labelled data1");
    if (!container && where.state() != v1::Collection::ABSENT) {  // docker itself failed
      collection->MergeFrom(where);
      return collection;
    }
    if (container) {
      fact.set_container(container->substr(0, 12));
      fact.set_source(absl::StrCat(kPs, ", docker exec ", fact.container(),
                                   " psql events (app.events, app.user_credentials, "
                                   "app.locations, app.pgmigrations: counts)"));
      std::optional<std::string> out =
          RunInContainer(env, *collection, TestDataArgv(*container),
                         absl::Seconds(kTestDataSqlExecSeconds), kExec, "sh or psql is");
      if (!out) return collection;
      if (absl::Status parsed = ParseTestDataOutput(*out, fact); !parsed.ok()) {
        collection->set_state(v1::Collection::ERROR);
        collection->set_error(absl::StrCat(kExec, ": ", parsed.message()));
        return collection;
      }
      if (!Missing(fact, "app.user_credentials")) {  // OpenCRVS v2: all in Postgres
        collection->set_state(v1::Collection::OK);
        return collection;
      }
    }
    // OpenCRVS v1.x: the users, and the records from before Events v2, are
    // in MongoDB.
    v1::Collection mongo_where;
    std::optional<std::string> mongo = LocateMongoContainer(env, mongo_where);
    if (!mongo && mongo_where.state() != v1::Collection::ABSENT) {
      collection->MergeFrom(mongo_where);
      return collection;
    }
    if (!mongo) {
      if (!container) {
        collection->MergeFrom(where);
        collection->set_error(
            "no records database runs on this node: neither postgres nor mongo1 / mongo2 (OpenCRVS "
            "places them on the node labelled data1)");
        return collection;
      }
      // Postgres without the users' tables here, MongoDB elsewhere: its
      // records are not read, so they are unknown, never "none".
      fact.add_missing_tables(std::string(kMongoTasks));
      collection->set_state(v1::Collection::OK);
      return collection;
    }
    if (!container) {
      // No Postgres on this node: none of its tables is read.
      ResetTestDataFact(fact);
      for (const char* t :
           {"app.user_credentials", "app.locations.external_id", "app.pgmigrations"}) {
        fact.add_missing_tables(t);
      }
    }
    fact.set_mongo_container(mongo->substr(0, 12));
    fact.set_source(absl::StrCat(fact.source(), ", docker exec ", fact.mongo_container(),
                                 " mongo (hearth-dev.Task and Task_history: records per first day; "
                                 "user-mgnt.users: seed usernames)"));
    std::optional<std::string> out =
        RunInContainer(env, *collection, TestDataMongoArgv(*mongo),
                       absl::Seconds(kTestDataMongoExecSeconds), kMongoExec, "sh or mongo is");
    if (!out) return collection;
    absl::StatusOr<std::string> body = MongoBody(*out);
    absl::Status parsed = body.status();
    if (body.ok()) parsed = ParseTestDataMongoOutput(*body, fact);
    if (!parsed.ok()) {
      collection->set_state(v1::Collection::ERROR);
      collection->set_error(absl::StrCat(kMongoExec, ": ", parsed.message()));
      return collection;
    }
    if (!Missing(fact, "user-mgnt.users")) {
      // The seed users were looked for in MongoDB: Postgres's table is not
      // where they are.
      auto* missing = fact.mutable_missing_tables();
      missing->erase(std::remove(missing->begin(), missing->end(), "app.user_credentials"),
                     missing->end());
      fact.set_users_from("mongo user-mgnt.users");
    }
    collection->set_state(v1::Collection::OK);
    return collection;
  }
};

}  // namespace

const std::vector<std::string>& SeedUsernames() {
  // opencrvs-farajaland c6f7c506 src/data-seeding/employees/source/default-employees.csv,
  // column "username", in file order.
  static const auto* kNames = new std::vector<std::string>{
      "c.lungu",    "m.musonda",   "j.campbell", "b.moreau",    "s.jenkins",   "m.owen",
      "e.mayuka",   "k.mweene",    "f.katongo",  "k.bwalya",    "g.phiri",     "m.zulu",
      "b.chimba",   "l.ngandu",    "m.chileshe", "h.katumbi",   "a.tembo",     "m.chikwanda",
      "t.nkhoma",   "k.mwale",     "c.tayali",   "m.mazoka",    "b.kapiri",    "a.simutowe",
      "d.sakala",   "k.simbaya",   "b.chanda",   "e.kavindele", "r.namugala",  "l.haabazoka",
      "f.malwa",    "s.wamunyima", "n.siame",    "m.simbaya",   "k.mukuka",    "m.boloji",
      "z.ngosa",    "k.pande",     "w.shamenda", "p.lungu",     "g.njapau",    "c.kasolo",
      "k.nwale",    "m.nyambose",  "i.wina",     "d.mwamba",    "l.mwanawasa", "h.hichilema",
      "w.chileshe", "t.kaunda",    "t.mwila",    "v.katongo",   "v.mweene",    "k.cwalya"};
  return *kNames;
}

const std::vector<std::string>& SeedOfficeIds() {
  // opencrvs-farajaland c6f7c506 src/data-seeding/locations/source/locations.csv, the
  // "id" of every row of locationType CRVS_OFFICE (the seed stores it as
  // locations.external_id), in file order.
  static const auto* kIds = new std::vector<std::string>{
      "LHUYvwY2Aq1", "Ov8OIeilmwj", "QrJy3W76BGd", "eF8mK8JAMKZ", "TpQfg7EbAul", "Ry6NHyadadA",
      "n2fiap4evma", "DC5stjQ45n3", "TzgPMNl3Jap", "Cyq8mi6tRVM", "Ap0mxDoJJ9s", "XLvNMQSOZM4",
      "xmJJAsGfSTn", "8G4ZpZDYUvh", "HCPPKY6gob2", "iuntV0UV3Tc", "QtRZPH5M1Xd", "nyzHo1A1Asw",
      "IRgUVi3fs82", "wePut0Sstzy", "AJOCBnD3Xkf", "0ezNmREpOaU", "UDqpNVGMrer", "mA4KR1VxavU",
      "QzkChMbyIbN", "obtqn62tOy4", "fbH9vOWOU6m", "CqpIqK3yn9F", "hY7gbtP7ySe", "fcgMXAdx9G8",
      "wFv0Yg7NZRB", "1aSQHqNgAC7", "v2Rra6fSEVQ", "UuRqphlhHVl", "2qFl41sNLjV", "Ctu8zF9OHzl",
      "PmAyxAJkxiJ", "wUMVmI5BRh8", "Hr8IRh1E2JD", "HWGaub52Ztd", "LojIIf94ChZ", "26fEeVVhDIq",
      "eVjED8aCu1H", "FbmOHnKYaXR", "Is9hVLXnGBB", "nXbOqc9PhWF", "vj7uff0LYTH", "ESFqZ8pIx5F",
      "keaBKsoRRCQ", "2AnHTmt9OBG", "hnuKoneNo41", "B2DjIXE16c3", "21rWz5FYrsK", "ktUJrhQR6FE",
      "ecAtpf7ZJ69", "LhCinzvFDJO", "eoPni6JDWYl", "9EjHvIHCtlR", "x3LR9wxW7zO", "JoWcURYxPY8",
      "gAACTP9gyv1", "PqcUDO4lKNE", "fvuP1uRr6YI", "EcFK12BGCSz", "fBDlbuWS5Ix", "plBArp5B1Id",
      "9Z850kEnydx", "OjD8uQO001x", "tSV2ceN59UA", "8JHUdKF0j7e", "8xIZM1JRcor", "G5mSoyPstUe",
      "gN2BR4cXsxj", "GJXke1Mo4iC", "ZRL9OaYsP6i", "ppaX3QjBvKN", "0fAraVNqTIA", "eogrNwwmq6O",
      "X13npgW2zMj", "YqWg21nYCsX", "6h8l7qgATtL", "LkTkx9NIQ0W"};
  return *kIds;
}

const std::string& TestDataSql() {
  static const auto* kSql = new std::string(BuildSql(kTestDataSqlTimeoutSeconds));
  return *kSql;
}

std::string BuildTestDataSql(int statement_timeout_seconds) {
  return BuildSql(statement_timeout_seconds);
}

std::vector<std::string> TestDataArgv(const std::string& container) {
  return {"docker", "exec", container, "sh", "-c", kTestDataScript, "preflight", TestDataSql()};
}

void ResetTestDataFact(v1::TestDataFact& fact) {
  fact.clear_records();
  fact.clear_seed_users();
  fact.clear_missing_tables();
  fact.set_seed_users_expected(static_cast<uint32_t>(SeedUsernames().size()));
  fact.set_seed_offices_expected(static_cast<uint32_t>(SeedOfficeIds().size()));
  fact.set_seed_users_present(0);
  fact.set_seed_offices_present(0);
  fact.clear_last_migration();
  fact.clear_last_migration_unix();
  fact.clear_first_migration_unix();
}

absl::Status ParseTestDataOutput(absl::string_view out, v1::TestDataFact& fact) {
  ResetTestDataFact(fact);
  return ParseSections(out, Postgres(), fact);
}

const std::string& TestDataMongoJs() {
  static const auto* kJs = [] {
    // A record is one FHIR Task id; it was created when its oldest version
    // (Task_history keeps the earlier ones) was last modified. A Task with
    // no such date counts on 0001-01-01: an unknown day is never taken for
    // one after go-live.
    return new std::string(MongoProgram(absl::StrCat(
        "  var hearth = db.getSiblingDB('hearth-dev');\n"
        "  var hearthColls = hearth.getCollectionNames();\n"
        "  if (hearthColls.indexOf('Task') < 0) {\n"
        "    print('@missing hearth-dev.Task');\n"
        "  } else {\n"
        "    print('@events');\n"
        "    var pipeline = [{$project: {_id: 0, id: 1, lastModified: 1}}];\n"
        "    if (hearthColls.indexOf('Task_history') >= 0) {\n"
        "      pipeline.push({$unionWith: {coll: 'Task_history', pipeline: [{$project: {_id: 0, "
        "id: 1, lastModified: 1}}]}});\n"
        "    }\n"
        "    pipeline.push({$group: {_id: '$id', first: {$min: '$lastModified'}}});\n"
        "    pipeline.push({$group: {_id: {$substrBytes: [{$ifNull: [{$toString: '$first'}, "
        "'']}, 0, 10]}, n: {$sum: 1}}});\n"
        "    var days = {};\n"
        "    hearth.Task.aggregate(pipeline, {allowDiskUse: true, maxTimeMS: ",
        kTestDataMongoTimeoutSeconds * 1000,
        "}).forEach(function (r) {\n"
        "      var day = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(r._id) ? r._id : '0001-01-01';\n"
        "      days[day] = (days[day] || 0) + Number(r.n);\n"
        "    });\n"
        "    Object.keys(days).sort().forEach(function (d) { print(d + '\\t' + "
        "days[d].toFixed(0)); });\n"
        "  }\n"
        "  var users = db.getSiblingDB('user-mgnt');\n"
        "  if (users.getCollectionNames().indexOf('users') < 0) {\n"
        "    print('@missing user-mgnt.users');\n"
        "  } else {\n"
        "    print('@users');\n"
        "    users.users.find({username: {$in: ",
        JsStringArray(SeedUsernames()),
        "}}, {_id: 0, username: 1}).sort({username: 1}).forEach(function (u) "
        "{ print(u.username); });\n"
        "  }\n"
        "  print('@end');\n")));
  }();
  return *kJs;
}

std::vector<std::string> TestDataMongoArgv(const std::string& container) {
  return MongoShellArgv(container, TestDataMongoJs());
}

absl::Status ParseTestDataMongoOutput(absl::string_view out, v1::TestDataFact& fact) {
  return ParseSections(out, Mongo(), fact);
}

namespace {

// The sections of `d`'s script, into `fact` (records appended).
absl::Status ParseSections(absl::string_view out, const Dialect& d, v1::TestDataFact& fact) {
  v1::RecordCount* events = nullptr;
  std::string section;
  bool ended = false, offices_read = false;
  std::vector<std::string> seen_sections;
  int line_no = 0;
  // The line itself is never quoted: a hostile or broken database could
  // put a record's text in it.
  auto bad = [&](absl::string_view line, absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(d.tool, "'s output line ", line_no, " (in section ",
                     section.empty() ? "none" : section, "): ", why, " (", line.size(), " bytes)"));
  };
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    ++line_no;
    if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
    if (line.empty()) continue;
    if (ended) return bad(line, "text after @end");
    if (line[0] == '@') {
      std::vector<absl::string_view> f = absl::StrSplit(line.substr(1), absl::MaxSplits(' ', 1));
      section = std::string(f[0]);
      if (section == "end") {
        ended = true;
        continue;
      }
      if (section == "missing") {
        const std::string table = f.size() == 2 ? std::string(f[1]) : "";
        bool known = false;
        for (const Table& t : d.tables) known |= table == t.name;
        if (!known) return bad(line, "not a table this kind reads");
        fact.add_missing_tables(table);
        seen_sections.push_back(table);
        continue;
      }
      if (std::none_of(d.tables.begin(), d.tables.end(),
                       [&](const Table& t) { return section == t.section; })) {
        return bad(line, "not a section the script prints");
      }
      if (std::find(seen_sections.begin(), seen_sections.end(), section) != seen_sections.end()) {
        return bad(line, "section printed twice");
      }
      seen_sections.push_back(section);
      if (section == "events") {
        events = fact.add_records();
        events->set_name(std::string(d.records));
      }
      continue;
    }
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    if (section == "events") {
      uint64_t n = 0;
      if (f.size() != 2 || !IsDay(f[0]) || !absl::SimpleAtoi(f[1], &n)) {
        return bad(line, "not \"YYYY-MM-DD<tab>count\"");
      }
      if (events->by_day_size() > 0 && std::string(f[0]) <= events->by_day().rbegin()->day()) {
        return bad(line, "days out of order");
      }
      events->set_total(events->total() + n);
      if (static_cast<size_t>(events->by_day_size()) < kMaxTestDataDays) {
        v1::DayCount* d = events->add_by_day();
        d->set_day(std::string(f[0]));
        d->set_count(n);
      } else {
        // The newest kept day stands for itself and every later one.
        v1::DayCount* last = events->mutable_by_day(events->by_day_size() - 1);
        last->set_count(last->count() + n);
        events->set_folded_days(events->folded_days() + 1);
      }
    } else if (section == "users") {
      const std::string name(line);
      // Only the names asked for can come back; anything else is not kept.
      if (std::find(SeedUsernames().begin(), SeedUsernames().end(), name) ==
          SeedUsernames().end()) {
        return bad(line, "not a seed username");
      }
      fact.set_seed_users_present(fact.seed_users_present() + 1);
      if (static_cast<size_t>(fact.seed_users_size()) < kMaxSeedUsersListed) {
        fact.add_seed_users(name);
      }
    } else if (section == "offices") {
      uint32_t n = 0;
      if (offices_read || f.size() != 1 || !absl::SimpleAtoi(f[0], &n) ||
          n > SeedOfficeIds().size()) {
        return bad(line, "not one count of seed offices");
      }
      offices_read = true;
      fact.set_seed_offices_present(n);
    } else if (section == "migrations") {
      int64_t when = 0;
      if (f.size() != 3 || (f[0] != "first" && f[0] != "last") || !IsMigrationName(f[1]) ||
          !absl::SimpleAtoi(f[2], &when) || when < 0) {
        return bad(line, "not \"first|last<tab>name<tab>epoch seconds\"");
      }
      if (f[0] == "first") {
        fact.set_first_migration_unix(when);
      } else {
        fact.set_last_migration(std::string(f[1]));
        fact.set_last_migration_unix(when);
      }
    } else {
      return bad(line, "a row before any section");
    }
  }
  if (!ended) {
    return absl::InvalidArgumentError(
        absl::StrCat(d.tool, "'s output ends before @end (", out.size(), " bytes): cut short"));
  }
  for (const Table& t : d.tables) {
    auto seen = [&](absl::string_view s) {
      return std::find(seen_sections.begin(), seen_sections.end(), s) != seen_sections.end();
    };
    if (!seen(t.section) && !seen(t.name)) {
      return absl::InvalidArgumentError(absl::StrCat(d.tool, "'s output has no @", t.section,
                                                     " section (nor @missing ", t.name, ")"));
    }
  }
  if (std::find(seen_sections.begin(), seen_sections.end(), "offices") != seen_sections.end() &&
      !offices_read) {
    return absl::InvalidArgumentError("psql's output has no count after @offices");
  }
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<FactCollector> MakeTestDataCollector() {
  return std::make_unique<TestDataCollector>();
}

}  // namespace preflight::agent
