// Check area "time": the clock is kept in step (checklist item 12: the
// one-time codes of SSH's second factor are only accepted within about 30 s).
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collector/checks/check.h"

namespace preflight::collector {
namespace {

v1::Verdict TimeSynchronized(const v1::FactReport& report, const EvalContext& ctx) {
  const v1::TimeFact& t = report.time();
  const std::string source =
      t.sources().empty() ? "timedatectl show" : absl::StrJoin(t.sources(), ", ");
  if (t.collection().state() != v1::Collection::OK) {
    v1::Verdict v = UnusableFact(t.collection(), "the time service", source);
    if (!t.collection().error().empty()) {
      v.mutable_evidence(0)->set_message(
          absl::StrCat("cannot assess the clock: ", t.collection().error()));
    }
    return v;
  }
  const uint64_t max_ms = ctx.params.Uint("max_clock_offset_ms");
  const std::string service = t.service().empty() ? "no time service" : t.service();
  if (!t.ntp_enabled()) {
    return MakeVerdict(
        v1::FAIL,
        {MakeEvidence(absl::StrCat("network time is off (", service, "): the clock drifts freely"),
                      source, "NTP=no", "NTP=yes")});
  }
  if (!t.synchronized()) {
    return MakeVerdict(v1::FAIL, {MakeEvidence(absl::StrCat(service, " is on but not synchronised"),
                                               source, "unsynchronised", "synchronised")});
  }
  if (t.offset_known()) {
    const double ms = std::fabs(t.offset_seconds()) * 1000.0;
    std::string observed = absl::StrFormat("%+.3f s", t.offset_seconds());
    if (ms > static_cast<double>(max_ms)) {
      return MakeVerdict(v1::FAIL,
                         {MakeEvidence(absl::StrCat(service, " is synchronised but the clock is ",
                                                    observed, " off"),
                                       source, observed, absl::StrCat("within ", max_ms, " ms"))});
    }
    return MakeVerdict(v1::PASS,
                       {MakeEvidence(absl::StrCat(service, " is synchronised, ", observed, " off"),
                                     source, observed, absl::StrCat("within ", max_ms, " ms"))});
  }
  return MakeVerdict(v1::PASS, {MakeEvidence(absl::StrCat(service, " is synchronised"), source,
                                             "synchronised", "synchronised")});
}

}  // namespace

void RegisterTimeChecks(CheckRegistry& registry) {
  registry.Bind("time.synchronized", TimeSynchronized);
}

}  // namespace preflight::collector
