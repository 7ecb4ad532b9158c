// Check area "application", item 15: evidence beside the sign-off
// data.test_cleared from the test_data fact (agent/facts/test_data.h): on a
// production manager whose agent reads the records database,
//   FAIL  records created before the policy's go_live_date remain (their
//         count, the days, the table), or farajaland's seed users or offices
//         (the demo data set) are still there;
//   UNKNOWN  the policy has no go_live_date while records exist (test
//         records cannot be told apart), a store of records or users was
//         not read (OpenCRVS v1.x keeps users, and the records from before
//         Events v2, in MongoDB: read when mongo1/mongo2 runs on the same
//         node, else unknown here), or the agent could not read it;
//   PASS  none of these.
// The reset marker (when the database was created or last reset, the newest
// migration) is shown as evidence either way.
//
// go_live_date is declared by backup.test_backups_deleted (a parameter is
// declared once); it is resolved here for this host from that declaration,
// so its overrides (per environment, role, host) apply the same to both.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "collector/checks/catalogue.h"
#include "collector/checks/check.h"
#include "collector/checks/not_gathered.h"
#include "collector/checks/params.h"

namespace preflight::collector {
namespace {

constexpr absl::string_view kSource =
    "docker ps, docker exec <postgres> psql events, docker exec <mongo1> mongo (v1.x)";

// The policy's go_live_date for this host ("" when unset).
std::string GoLiveDate(const EvalContext& ctx) {
  const v1::CheckSpec* spec = FindSpec(BuiltinCatalogue(), "backup.test_backups_deleted");
  if (spec == nullptr) return "";
  return ResolveParams(*spec, ctx.policy, ctx.host).Str("go_live_date");
}

bool Missing(const v1::TestDataFact& fact, absl::string_view table) {
  for (const std::string& t : fact.missing_tables()) {
    if (t == table) return true;
  }
  return false;
}

std::string Source(const v1::TestDataFact& fact, absl::string_view table) {
  return absl::StrCat("docker exec ", fact.container(), " psql events: ", table);
}

// OpenCRVS v1.x's MongoDB (the fact's mongo_container).
std::string MongoSource(const v1::TestDataFact& fact, absl::string_view collection) {
  return absl::StrCat("docker exec ", fact.mongo_container(), " mongo ", collection);
}

bool FromMongo(const v1::RecordCount& r) { return absl::StartsWith(r.name(), "mongo "); }

std::string RecordSource(const v1::TestDataFact& fact, const v1::RecordCount& r) {
  return FromMongo(r) ? MongoSource(fact, "hearth-dev: Task, Task_history")
                      : Source(fact, "app.events");
}

std::string Day(int64_t unix) {
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(unix), absl::UTCTimeZone());
}

// The records of `r` created before `go_live` (a YYYY-MM-DD day: strings
// compare as days). `ambiguous` is the count of the newest kept day when it
// also stands for later days (folded) and go-live is after it: some of those
// may predate go-live, some not.
uint64_t Before(const v1::RecordCount& r, const std::string& go_live, uint64_t* ambiguous,
                std::vector<std::string>* days) {
  uint64_t n = 0;
  *ambiguous = 0;
  for (int i = 0; i < r.by_day_size(); ++i) {
    const v1::DayCount& d = r.by_day(i);
    if (d.day() >= go_live) continue;
    const bool folded = r.folded_days() > 0 && i == r.by_day_size() - 1;
    if (folded) {
      *ambiguous = d.count();
      continue;
    }
    n += d.count();
    days->push_back(d.day());
  }
  return n;
}

v1::Verdict TestCleared(const v1::FactReport& report, const EvalContext& ctx) {
  const v1::TestDataFact& fact = report.test_data();
  const v1::Collection& c = fact.collection();
  if (fact.enabled() && c.state() == v1::Collection::ABSENT && c.unreadable().empty()) {
    // The database runs on another node (labelled data1): its agent reports.
    return MakeVerdict(v1::NOT_APPLICABLE,
                       {MakeEvidence(absl::StrCat("test data: ", c.error()), std::string(kSource),
                                     "not on this node")});
  }
  if (v1::Verdict v = NotGathered(report, c, fact.enabled(), fact, "the records database", ctx,
                                  "test_data", kSource);
      v.status() != v1::CHECK_STATUS_UNSPECIFIED) {
    return v;
  }
  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = v1::PASS;
  const std::string go_live = GoLiveDate(ctx);

  // Records created before go-live.
  const bool mongo_records = std::any_of(fact.records().begin(), fact.records().end(), FromMongo);
  if (Missing(fact, "app.events") && !mongo_records) {
    status = v1::UNKNOWN;
    evidence.push_back(MakeEvidence(
        "no table app.events in the database events, and no records read from MongoDB: where "
        "this OpenCRVS keeps its records is unknown",
        Source(fact, "app.events"), "absent", "app.events"));
  }
  if (Missing(fact, "hearth-dev.Task")) {
    status = v1::UNKNOWN;
    evidence.push_back(MakeEvidence(
        fact.mongo_container().empty()
            ? "OpenCRVS v1.x keeps its records from before Events v2 in MongoDB hearth-dev, and "
              "no mongo1 / mongo2 container runs on this node: they are not counted here"
            : "MongoDB has no collection hearth-dev.Task: where this OpenCRVS keeps its records "
              "is unknown",
        fact.mongo_container().empty() ? std::string("docker ps") : MongoSource(fact, "hearth-dev"),
        "not read", "hearth-dev.Task"));
  }
  for (const v1::RecordCount& r : fact.records()) {
    if (r.total() == 0) {
      evidence.push_back(
          MakeEvidence(absl::StrCat(r.name(), " holds no record"), RecordSource(fact, r), "0"));
      continue;
    }
    if (r.by_day_size() == 0) {  // an agent that sent a total without its days
      status = Worst(status, v1::UNKNOWN);
      evidence.push_back(MakeEvidence(
          absl::StrCat(r.name(), " holds ", r.total(), " record(s), their days not reported"),
          RecordSource(fact, r), absl::StrCat(r.total())));
      continue;
    }
    const std::string first = r.by_day(0).day();
    const std::string last = r.by_day(r.by_day_size() - 1).day();
    evidence.push_back(
        MakeEvidence(absl::StrCat(r.name(), " holds ", r.total(), " record(s) created from ", first,
                                  " to ", last, r.folded_days() > 0 ? " or later" : "", " (UTC)"),
                     RecordSource(fact, r), absl::StrCat(r.total())));
    if (go_live.empty()) {
      status = Worst(status, v1::UNKNOWN);
      evidence.push_back(MakeEvidence(
          absl::StrCat("the policy has no go_live_date: records created before go-live (test "
                       "registrations) cannot be told apart; the oldest is from ",
                       first),
          "policy", "", "go_live_date: YYYY-MM-DD"));
      continue;
    }
    uint64_t ambiguous = 0;
    std::vector<std::string> days;
    const uint64_t before = Before(r, go_live, &ambiguous, &days);
    if (before > 0) {
      status = Worst(status, v1::FAIL);
      evidence.push_back(Finding(
          MakeEvidence(absl::StrCat(before, " record(s) created before go-live ", go_live, ", on ",
                                    days.size(), " day(s) from ", days.front(), " to ", days.back(),
                                    ": test registrations remain on production"),
                       RecordSource(fact, r), absl::StrCat(before), "0 before go-live"),
          {{"data", "records"}}));
    }
    if (ambiguous > 0) {
      if (before == 0) status = Worst(status, v1::UNKNOWN);
      evidence.push_back(MakeEvidence(
          absl::StrCat(ambiguous, " record(s) created on ", last, " or later (the agent folds ",
                       "days beyond its bound into the newest it keeps): some may predate go-live ",
                       go_live),
          RecordSource(fact, r), absl::StrCat(ambiguous)));
    }
    if (before == 0 && ambiguous == 0) {
      evidence.push_back(MakeEvidence(absl::StrCat("no record created before go-live ", go_live),
                                      RecordSource(fact, r), "0", "0 before go-live"));
    }
  }

  // The demo data set's users and offices.
  const std::string users_source = fact.users_from().empty() ? Source(fact, "app.user_credentials")
                                                             : MongoSource(fact, "user-mgnt.users");
  if (Missing(fact, "app.user_credentials")) {
    status = Worst(status, v1::UNKNOWN);
    evidence.push_back(MakeEvidence(
        Missing(fact, "user-mgnt.users")
            ? "neither app.user_credentials (OpenCRVS v2) nor MongoDB user-mgnt.users (v1.x): "
              "the seed users cannot be looked for"
            : "no table app.user_credentials, and MongoDB (where OpenCRVS v1.x keeps its users) "
              "is not on this node: the seed users cannot be looked for here",
        Source(fact, "app.user_credentials"), "absent", "app.user_credentials"));
  } else if (fact.seed_users_present() > 0) {
    status = Worst(status, v1::FAIL);
    evidence.push_back(Finding(
        MakeEvidence(
            absl::StrCat(
                fact.seed_users_present(), " of the ", fact.seed_users_expected(),
                " users of farajaland's test data set (default-employees.csv, seeded "
                "with the password \"test\") remain: ",
                absl::StrJoin(fact.seed_users(), ", "),
                fact.seed_users_size() < static_cast<int>(fact.seed_users_present()) ? ", …" : ""),
            users_source, absl::StrCat(fact.seed_users_present()), "0"),
        {{"data", "seed_users"}}));
  } else {
    evidence.push_back(MakeEvidence(absl::StrCat("none of the ", fact.seed_users_expected(),
                                                 " users of farajaland's test data set is there"),
                                    users_source, "0", "0"));
  }
  if (Missing(fact, "app.locations.external_id")) {
    status = Worst(status, v1::UNKNOWN);
    evidence.push_back(MakeEvidence(
        "no column app.locations.external_id (OpenCRVS v1.9 has none; v2.0 keeps the country "
        "configuration's location ids there): the seed offices cannot be looked for",
        Source(fact, "app.locations"), "absent", "app.locations.external_id"));
  } else if (fact.seed_offices_present() > 0) {
    status = Worst(status, v1::FAIL);
    evidence.push_back(Finding(
        MakeEvidence(
            absl::StrCat(fact.seed_offices_present(), " of the ", fact.seed_offices_expected(),
                         " offices of farajaland's test data set (locations.csv "
                         "CRVS_OFFICE ids) remain"),
            Source(fact, "app.locations"), absl::StrCat(fact.seed_offices_present()), "0"),
        {{"data", "seed_offices"}}));
  } else {
    evidence.push_back(MakeEvidence(absl::StrCat("none of the ", fact.seed_offices_expected(),
                                                 " offices of farajaland's test data set is there"),
                                    Source(fact, "app.locations"), "0", "0"));
  }

  // The reset marker.
  if (Missing(fact, "app.pgmigrations") || fact.last_migration().empty()) {
    evidence.push_back(
        MakeEvidence("no migration recorded: when the database was last reset is "
                     "unknown",
                     Source(fact, "app.pgmigrations"), "none"));
  } else {
    const bool reset_after = !go_live.empty() && Day(fact.first_migration_unix()) >= go_live;
    evidence.push_back(MakeEvidence(
        absl::StrCat("reset marker: the database was created (or last reset: a reset runs every "
                     "migration again) on ",
                     UtcMinute(absl::FromUnixSeconds(fact.first_migration_unix())),
                     go_live.empty()
                         ? ""
                         : (reset_after ? absl::StrCat(", on or after go-live ", go_live)
                                        : absl::StrCat(", before go-live ", go_live)),
                     "; newest migration ", fact.last_migration(), " applied ",
                     UtcMinute(absl::FromUnixSeconds(fact.last_migration_unix()))),
        Source(fact, "app.pgmigrations"), Day(fact.first_migration_unix())));
  }
  return MakeVerdict(status, std::move(evidence));
}

}  // namespace

void RegisterTestDataChecks(CheckRegistry& registry) {
  registry.Bind("data.test_cleared", TestCleared);
}

}  // namespace preflight::collector
