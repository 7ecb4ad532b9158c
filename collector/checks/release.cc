// Check area "release": checklist item 6 (latest release deployed).
#include "absl/strings/str_cat.h"
#include "collector/checks/check.h"

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
  auto normal = [](absl::string_view v) {
    return std::string(v.size() > 1 && (v[0] == 'v' || v[0] == 'V') ? v.substr(1) : v);
  };
  bool same = normal(release.version()) == normal(ctx.params.Str("latest_release"));
  return MakeVerdict(same ? v1::PASS : v1::FAIL,
                     {MakeEvidence(same ? what
                                        : absl::StrCat(what, "; the latest release is ",
                                                       ctx.params.Str("latest_release")),
                                   source, release.version(), ctx.params.Str("latest_release"))});
}

}  // namespace

void RegisterReleaseChecks(CheckRegistry& registry) {
  registry.Bind("release.latest", ReleaseLatest);
}

}  // namespace preflight::collector
