// Check area "time": the clock is kept in step (checklist item 12: the
// one-time codes of SSH's second factor are only accepted within about 30 s).
#include "absl/time/time.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collector/checks/check.h"

namespace preflight::collector {
namespace {

// What the host's time service says.
v1::Verdict ServiceVerdict(const v1::FactReport& report, const EvalContext& ctx) {
  const v1::TimeFact& t = report.time();
  const std::string source =
      t.sources().empty() ? "timedatectl show" : absl::StrJoin(t.sources(), ", ");
  if (v1::Verdict v = UnusableFact(report, t, "the time service", source);
      v.status() != v1::CHECK_STATUS_UNSPECIFIED) {
    if (t.collection().state() != v1::Collection::OK && !t.collection().error().empty()) {
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

// How far an agent's collected_at may run ahead of the collector's receive
// time before its clock counts as wrong (a report never arrives before it
// was collected).
constexpr absl::Duration kAheadSkew = absl::Minutes(2);

// The agent's clock as the collector sees it: a report stamped later than it
// arrived was stamped by a clock running ahead.
std::vector<v1::Evidence> AgentClockAhead(const v1::FactReport& report, const EvalContext& ctx) {
  const absl::Time collected = absl::FromUnixMillis(report.collected_at_unix_ms());
  if (report.collected_at_unix_ms() == 0 || collected <= ctx.now + kAheadSkew) return {};
  const int64_t ahead = absl::ToInt64Seconds(collected - ctx.now);
  return {MakeEvidence(absl::StrCat("the agent's clock runs ", ahead,
                                    " s ahead of the collector's: the report "
                                    "says it was collected at ",
                                    UtcMinute(collected), " but arrived at ", UtcMinute(ctx.now)),
                       "collected_at vs the collector's receive time",
                       absl::StrCat("+", ahead, " s"),
                       absl::StrCat("within ", absl::ToInt64Seconds(kAheadSkew), " s"))};
}

v1::Verdict TimeSynchronized(const v1::FactReport& report, const EvalContext& ctx) {
  v1::Verdict v = ServiceVerdict(report, ctx);
  for (v1::Evidence& e : AgentClockAhead(report, ctx)) {
    v.set_status(Worst(v.status(), v1::FAIL));
    *v.add_evidence() = std::move(e);
  }
  return v;
}

}  // namespace

void RegisterTimeChecks(CheckRegistry& registry) {
  registry.Bind("time.synchronized", TimeSynchronized);
}

}  // namespace preflight::collector
