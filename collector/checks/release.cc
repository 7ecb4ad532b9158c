// Check area "release": checklist item 6 (latest release deployed).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/checks/check.h"
#include "collector/checks/release_version.h"

namespace preflight::collector {
namespace {

v1::Verdict ReleaseLatest(const v1::FactReport& report, const EvalContext& ctx) {
  const v1::ReleaseFact& release = report.release();
  const std::string source =
      release.source().empty() ? std::string("docker service ls") : release.source();
  if (release.collection().state() != v1::Collection::OK) {
    // A manager with no opencrvs_base service, or docker not answering: we
    // cannot tell what is deployed.
    return MakeVerdict(v1::UNKNOWN,
                       {MakeEvidence(absl::StrCat("cannot read the deployed version: ",
                                                  release.collection().error().empty()
                                                      ? std::string("release facts not gathered")
                                                      : release.collection().error()),
                                     source, "", ctx.params.Str("latest_release"))});
  }
  if (v1::Verdict unread = UnreadableParts(report, release, "the swarm's services", source);
      unread.status() != v1::CHECK_STATUS_UNSPECIFIED) {
    return unread;
  }
  const std::string what = absl::StrCat(release.service(), " runs ", release.image(), " (version ",
                                        release.version(), ")");
  if (ctx.params.Str("latest_release").empty()) {
    return MakeVerdict(
        v1::UNKNOWN,
        {MakeEvidence(absl::StrCat(what, "; the policy names no latest_release to compare with"),
                      source, release.version(), "policy latest_release set")});
  }
  const std::string& latest = ctx.params.Str("latest_release");
  bool same = SameVersion(release.version(), latest);
  std::vector<v1::Evidence> evidence;
  evidence.push_back(
      MakeEvidence(same ? what : absl::StrCat(what, "; the latest release is ", latest), source,
                   release.version(), latest));
  // With application evidence on, every OpenCRVS core image is compared, not
  // only opencrvs_base's: a half-finished deploy leaves some services on the
  // old release. The country's own configuration has its own version: shown
  // here, and production's compared with staging's over the fleet
  // (readiness/countryconfig_versions.h: a fact of two hosts).
  const v1::ServicesFact& services = report.services();
  if (services.collection().state() == v1::Collection::OK) {
    int core = 0;
    for (const v1::ServiceState& s : services.services()) {
      if (s.countryconfig()) {
        evidence.push_back(
            MakeEvidence(absl::StrCat("country configuration ", s.name(), " runs ", s.image(),
                                      " (version ", s.version(), "; the country's own release)"),
                         "docker service ls", s.version()));
      }
      if (!s.core() || s.countryconfig() || s.name() == release.service()) continue;
      ++core;
      if (SameVersion(s.version(), latest)) continue;
      same = false;
      evidence.push_back(Finding(
          MakeEvidence(absl::StrCat(s.name(), " runs ", s.image(), ", not release ", latest),
                       "docker service ls", s.version(), latest),
          {{"service", s.name()}}));
    }
    evidence.push_back(
        MakeEvidence(absl::StrCat(core, " other OpenCRVS core services compared with ", latest),
                     "docker service ls"));
  }
  return MakeVerdict(same ? v1::PASS : v1::FAIL, std::move(evidence));
}

}  // namespace

void RegisterReleaseChecks(CheckRegistry& registry) {
  registry.Bind("release.latest", ReleaseLatest);
}

}  // namespace preflight::collector
