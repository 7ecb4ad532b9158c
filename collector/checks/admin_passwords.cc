// Check area "application", item 10: evidence beside the sign-off
// admin.password_changed from the admin_passwords fact (whether the default
// administrator passwords still work, compared on the host: the agent sends
// a yes/no per account, never a password or hash).
//   - an active account that still accepts its default password FAILs,
//     naming the account and where the default came from;
//   - a deactivated one that does WARNs (reactivating it reopens it);
//   - an account whose hash could not be compared, a seeded national system
//     administrator not found in the database (deleted, renamed, or missed
//     by the lookup: the server cannot tell), and seed rows skipped are
//     UNKNOWN: never a PASS that was not checked;
//   - PASS-evidence only when the deployed seed was read and at least one
//     national system administrator was compared, and none accepts its
//     default (the sign-off stays: length and the password manager are not
//     visible from here).
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/checks/check.h"
#include "collector/checks/not_gathered.h"

namespace preflight::collector {
namespace {

constexpr absl::string_view kSource =
    "docker exec countryconfig cat default-employees.csv, docker exec postgres psql events (v2) "
    "or docker exec mongo1 mongo user-mgnt (v1.x)";

// Statuses in which OpenCRVS refuses a login: the password does not open
// the account today. "setup completed" is the initial setup's row once its
// password is gone.
bool Closed(absl::string_view status) {
  return status == "deactivated" || status == "disabled" || status == "setup completed";
}

constexpr absl::string_view kAdminRole = "NATIONAL_SYSTEM_ADMIN";

std::string Name(const v1::DefaultPasswordAccount& a) {
  return absl::StrCat(a.username(), " (", a.role(), ")");
}

v1::Verdict AdminPasswordEvidence(const v1::FactReport& report, const EvalContext& ctx) {
  const v1::AdminPasswordsFact& fact = report.admin_passwords();
  const v1::Collection& c = fact.collection();
  if (fact.enabled() && c.state() == v1::Collection::ABSENT) {
    // The user database runs on another node (labelled data1): its agent
    // reports it.
    return MakeVerdict(v1::NOT_APPLICABLE,
                       {MakeEvidence(absl::StrCat("default passwords: ", c.error()),
                                     std::string(kSource), "not on this node")});
  }
  if (v1::Verdict v = NotGathered(report, c, fact.enabled(), fact, "the user database", ctx,
                                  "admin_passwords", kSource);
      v.status() != v1::CHECK_STATUS_UNSPECIFIED) {
    return v;
  }
  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = v1::PASS;
  evidence.push_back(MakeEvidence(absl::StrCat("default passwords from ", fact.defaults()),
                                  fact.source(), fact.database()));
  int checked = 0, accepting = 0, admins_checked = 0;
  for (const v1::DefaultPasswordAccount& a : fact.accounts()) {
    const bool admin = a.role() == kAdminRole;
    if (!a.found()) {
      if (admin) {
        // OpenCRVS deactivates users, it does not delete them: a seeded
        // administrator missing is a lookup that may have missed it.
        status = Worst(status, v1::UNKNOWN);
        evidence.push_back(Finding(
            MakeEvidence(absl::StrCat(Name(a),
                                      " is not in the user database: deleted, renamed, or missed "
                                      "by the lookup; its password was not compared"),
                         fact.database(), "absent", "compared"),
            {{"account", a.username()}}));
      } else {
        evidence.push_back(MakeEvidence(absl::StrCat(Name(a), " is not in the user database"),
                                        fact.database(), "absent"));
      }
      continue;
    }
    if (!a.problem().empty()) {
      status = Worst(status, v1::UNKNOWN);
      evidence.push_back(Finding(
          MakeEvidence(absl::StrCat(Name(a), ", ", a.status(), ": not compared: ", a.problem()),
                       fact.database(), "not compared", "compared"),
          {{"account", a.username()}}));
      continue;
    }
    if (a.scheme().empty()) {
      // Nothing stored to compare with (the initial setup is completed).
      evidence.push_back(
          MakeEvidence(absl::StrCat(Name(a), ": ", a.status(), ", no password stored any more"),
                       fact.database(), a.status()));
      continue;
    }
    ++checked;
    if (admin) ++admins_checked;
    if (!a.default_accepted()) {
      evidence.push_back(
          MakeEvidence(absl::StrCat(Name(a), ", ", a.status(), ": the default password from ",
                                    a.default_from(), " is no longer accepted (", a.scheme(), ")"),
                       fact.database(), "changed", "changed"));
      continue;
    }
    ++accepting;
    if (Closed(a.status())) {
      status = Worst(status, v1::WARN);
      evidence.push_back(
          Finding(MakeEvidence(absl::StrCat(Name(a), " is ", a.status(),
                                            " but still accepts the default password from ",
                                            a.default_from(), ": reactivating it reopens it"),
                               fact.database(), "default accepted", "changed"),
                  {{"account", a.username()}}));
      continue;
    }
    status = v1::FAIL;
    evidence.push_back(Finding(
        MakeEvidence(absl::StrCat(Name(a), ", ", a.status(),
                                  ", still accepts the default password from ", a.default_from(),
                                  ": anyone who read the country configuration can log in"),
                     fact.database(), "default accepted", "changed"),
        {{"account", a.username()}}));
  }
  for (const v1::ParseProblem& p : fact.problems()) {
    // A seed row skipped is an account nobody compared.
    status = Worst(status, v1::UNKNOWN);
    evidence.push_back(MakeEvidence(
        absl::StrCat("employee seed ", p.file(), p.line() > 0 ? absl::StrCat(":", p.line()) : "",
                     ": ", p.message()),
        "docker exec countryconfig cat default-employees.csv", "skipped"));
  }
  if (v1::Verdict unread = UnreadableParts(report, fact, "the user database", kSource);
      unread.status() != v1::CHECK_STATUS_UNSPECIFIED) {
    status = Worst(status, v1::UNKNOWN);
    for (const v1::Evidence& e : unread.evidence()) evidence.push_back(e);
  }
  if (status == v1::PASS && absl::StartsWith(fact.defaults(), "documented")) {
    // The deployed seed was not read: the country's own administrators may
    // exist under other names than the documented ones. Not a PASS.
    status = v1::UNKNOWN;
    evidence.push_back(
        MakeEvidence("the deployed employee seed was not read: the country's own national system "
                     "administrators were not compared",
                     std::string(kSource), "seed not read", "seed read"));
  } else if (status == v1::PASS && admins_checked == 0) {
    status = v1::UNKNOWN;
    evidence.push_back(MakeEvidence(
        "no national system administrator's password was compared (the seed lists none, or "
        "none has a stored password)",
        fact.database(), "0 compared", "at least 1"));
  }
  evidence.insert(evidence.begin() + 1,
                  MakeEvidence(absl::StrCat(accepting, " of ", checked,
                                            " seeded administrator account(s) still accept "
                                            "their default password"),
                               fact.database(), absl::StrCat(accepting), "0"));
  return MakeVerdict(status, std::move(evidence));
}

}  // namespace

void RegisterAdminPasswordChecks(CheckRegistry& registry) {
  registry.Bind("admin.password_changed", AdminPasswordEvidence);
}

}  // namespace preflight::collector
