// Fact kind "pam": the PAM stack of the sshd service, with @include and
// include/substack controls followed, in stack order.
#ifndef PREFLIGHT_AGENT_FACTS_PAM_H_
#define PREFLIGHT_AGENT_FACTS_PAM_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// Called for "@include NAME" (type empty: every type) and for rules whose
// control is include/substack (type set): the caller parses /etc/pam.d/NAME
// and appends its rules.
using PamIncludeFn = std::function<void(absl::string_view name, absl::string_view type)>;

// Parses one PAM file into fact.rules (filtered to `only_type` when not
// empty), noting commented-out "@include common-auth" lines.
void ParsePam(absl::string_view content, absl::string_view file, absl::string_view only_type,
              v1::PamFact& fact, const PamIncludeFn& on_include);

// Fills the summary fields (google_authenticator, nullok, common_auth_*,
// unix_password_auth) from fact.rules.
void SummarizePam(v1::PamFact& fact);

std::unique_ptr<FactCollector> MakePamCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_PAM_H_
