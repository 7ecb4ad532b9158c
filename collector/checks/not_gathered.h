// The verdict of a check on evidence from the application (AgentConfig
// .application) when that evidence is not there to judge. Shared by the
// application and alerts areas, so every source that is off reads the same.
#ifndef PREFLIGHT_COLLECTOR_CHECKS_NOT_GATHERED_H_
#define PREFLIGHT_COLLECTOR_CHECKS_NOT_GATHERED_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "collector/checks/check.h"

namespace preflight::collector {

// The source is off on this agent (NOT_APPLICABLE, or UNKNOWN when the
// policy's require_application_evidence says an agent must gather it), or
// gathering failed (UNKNOWN, naming why). Unspecified when the fact can be
// judged. `flag` is the field of AgentConfig.application that turns the
// source on, `source` the commands it runs.
inline v1::Verdict NotGathered(
    const v1::FactReport& report, const v1::Collection& collection, bool enabled,
    const google::protobuf::Message& fact, absl::string_view what, const EvalContext& ctx,
    absl::string_view flag = "docker",
    absl::string_view source = "docker service ls, docker service inspect") {
  const bool off = collection.state() == v1::Collection::STATE_UNSPECIFIED ||
                   (!enabled && collection.state() == v1::Collection::ABSENT);
  if (off) {
    const bool required = ctx.policy.require_application_evidence();
    return MakeVerdict(
        required ? v1::UNKNOWN : v1::NOT_APPLICABLE,
        {MakeEvidence(
            absl::StrCat(
                "the agent does not gather application evidence (",
                collection.state() == v1::Collection::STATE_UNSPECIFIED
                    ? "its report has no such fact: an older agent"
                    : absl::StrCat("application { ", flag, ": true } is not set in its config"),
                required ? "), and the policy requires it (require_application_evidence)"
                         : "); the policy does not require it (require_application_evidence)"),
            "agent config", "off", required ? absl::StrCat("application.", flag, " on") : "")});
  }
  if (collection.state() == v1::Collection::ABSENT) {
    // Enabled on a host the inventory calls a manager, yet the source has
    // nothing: the application cannot be seen from here.
    return MakeVerdict(v1::UNKNOWN,
                       {MakeEvidence(absl::StrCat(what, " not found: ",
                                                  collection.error().empty()
                                                      ? std::string("no swarm services listed")
                                                      : collection.error()),
                                     std::string(source), "absent", "listed")});
  }
  return UnusableFact(report, fact, what, source);
}

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_CHECKS_NOT_GATHERED_H_
