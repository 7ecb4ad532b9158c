#include "collector/readiness/exceptions.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"

namespace preflight::collector {
namespace {

constexpr uint32_t kDefaultMaxWaiverDays = 90;
constexpr uint32_t kDefaultMaxSignoffDays = 180;

// "/etc/ssh/sshd_config:32" -> "/etc/ssh/sshd_config": a line number is not
// part of a finding's identity (an edit above it moves it). Only tokens
// that are absolute paths lose their ":N" ("10.0.0.1:443" keeps its port).
std::string WithoutLineNumbers(const std::string& source) {
  std::vector<std::string> tokens = absl::StrSplit(source, ' ');
  for (std::string& t : tokens) {
    if (t.empty() || t[0] != '/') continue;
    // A trailing "," or ")" stays.
    size_t end = t.size();
    while (end > 0 && (t[end - 1] == ',' || t[end - 1] == ')')) --end;
    size_t colon = t.rfind(':', end);
    if (colon == std::string::npos || colon + 1 >= end) continue;
    bool digits = std::all_of(t.begin() + colon + 1, t.begin() + end,
                              [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (digits) t.erase(colon, end - colon);
  }
  return absl::StrJoin(tokens, " ");
}

bool PassingLine(const v1::Evidence& e) {
  return !e.observed().empty() && e.observed() == e.expected();
}

std::string Day(int64_t unix_ms) { return UtcMinute(absl::FromUnixMillis(unix_ms)); }

}  // namespace

std::vector<std::string> FindingsOf(const v1::Verdict& verdict) {
  std::set<std::string> keyed, located;
  if (!Waivable(verdict.status())) return {};
  for (const v1::Evidence& e : verdict.evidence()) {
    if (!e.finding().empty()) {
      keyed.insert(e.finding());
    } else if (!PassingLine(e)) {
      located.insert(
          absl::StrCat("at=", e.source().empty() ? "(no source)" : WithoutLineNumbers(e.source())));
    }
  }
  const std::set<std::string>& out = keyed.empty() ? located : keyed;
  return std::vector<std::string>(out.begin(), out.end());
}

bool Waivable(v1::CheckStatus status) {
  return status == v1::FAIL || status == v1::UNKNOWN || status == v1::WARN;
}

bool WaiverAccepts(const v1::Waiver& waiver, v1::CheckStatus status,
                   const std::vector<std::string>& findings, std::string* why) {
  if (waiver.accepted_status() == v1::CHECK_STATUS_UNSPECIFIED) {
    *why =
        "it was made before waivers were bound to findings; waive it again to accept the "
        "findings of today";
    return false;
  }
  if (status != waiver.accepted_status()) {
    *why = absl::StrCat("the check is now ", StatusName(status), "; the waiver accepted ",
                        StatusName(waiver.accepted_status()));
    return false;
  }
  std::vector<std::string> added;
  for (const std::string& f : findings) {
    if (std::find(waiver.accepted_findings().begin(), waiver.accepted_findings().end(), f) ==
        waiver.accepted_findings().end()) {
      added.push_back(f);
    }
  }
  if (!added.empty()) {
    *why = absl::StrCat(added.size() == 1 ? "new finding " : "new findings ",
                        absl::StrJoin(added, ", "), " (the waiver accepted ",
                        waiver.accepted_findings().empty()
                            ? std::string("none")
                            : absl::StrJoin(waiver.accepted_findings(), ", "),
                        ")");
    return false;
  }
  return true;
}

void ApplyWaiver(const v1::Waiver& waiver, const v1::Verdict& verdict, absl::Time now,
                 v1::CheckResult* result) {
  *result->mutable_waiver() = waiver;
  // An expired waiver is shown for the record; a passing check has nothing
  // to waive.
  if (!InForce(waiver, now) || !Waivable(verdict.status())) return;
  std::string why;
  if (waiver.awaiting_approval()) {
    why = absl::StrCat("it awaits a second operator's approval (preflightctl waive ",
                       waiver.check_id(), " --host ", waiver.host_id(), " --approve)");
  } else if (WaiverAccepts(waiver, verdict.status(), FindingsOf(verdict), &why)) {
    result->set_underlying_status(verdict.status());
    result->set_status(v1::WAIVED);
    return;
  }
  result->set_waiver_mismatch(absl::StrCat("the waiver by ", waiver.operator_(), " (until ",
                                           Day(waiver.expires_at_unix_ms()),
                                           ") does not apply: ", why));
  *result->add_evidence() = MakeEvidence(result->waiver_mismatch(), "waiver");
}

absl::Duration MaxWaiverLifetime(const v1::Policy& policy) {
  return absl::Hours(24) *
         (policy.has_max_waiver_days() ? policy.max_waiver_days() : kDefaultMaxWaiverDays);
}

absl::Duration MaxSignoffLifetime(const v1::Policy& policy) {
  return absl::Hours(24) *
         (policy.has_max_signoff_days() ? policy.max_signoff_days() : kDefaultMaxSignoffDays);
}

bool CapToPolicy(const v1::Policy& policy, absl::Time now, v1::Waiver* waiver) {
  if (!InForce(*waiver, now)) return false;
  const int64_t limit = absl::ToUnixMillis(now + MaxWaiverLifetime(policy));
  if (waiver->expires_at_unix_ms() <= limit) return false;
  waiver->set_capped_from_unix_ms(waiver->expires_at_unix_ms());
  waiver->set_capped_at_unix_ms(absl::ToUnixMillis(now));
  waiver->set_expires_at_unix_ms(limit);
  return true;
}

bool CapToPolicy(const v1::Policy& policy, absl::Time now, v1::Attestation* attestation) {
  if (!InForce(*attestation, now)) return false;
  const int64_t limit = absl::ToUnixMillis(now + MaxSignoffLifetime(policy));
  if (attestation->expires_at_unix_ms() != 0 && attestation->expires_at_unix_ms() <= limit) {
    return false;
  }
  attestation->set_capped_from_unix_ms(attestation->expires_at_unix_ms());
  attestation->set_capped_at_unix_ms(absl::ToUnixMillis(now));
  attestation->set_expires_at_unix_ms(limit);
  return true;
}

bool NeedsApproval(const v1::Policy& policy, const v1::CheckInfo& check,
                   const std::string& environment) {
  if (check.severity() != v1::BLOCKER) return false;
  const auto& envs = policy.waiver_approval_environments();
  return std::find(envs.begin(), envs.end(), environment) != envs.end();
}

std::vector<std::string> EvidenceAgainst(const std::vector<HostManualEvidence>& evidence) {
  std::vector<std::string> out;
  for (const HostManualEvidence& h : evidence) {
    if (h.result == nullptr || h.result->status() != v1::FAIL) continue;
    for (const v1::Evidence& e : h.result->evidence()) {
      if (PassingLine(e)) continue;
      out.push_back(absl::StrCat(h.host_id, ": ", e.message(),
                                 e.source().empty() ? "" : absl::StrCat(" (", e.source(), ")")));
    }
  }
  return out;
}

std::string AcceptedText(const v1::Waiver& waiver) {
  if (waiver.accepted_status() == v1::CHECK_STATUS_UNSPECIFIED) return "(not bound)";
  return absl::StrCat(
      StatusName(waiver.accepted_status()),
      waiver.accepted_findings().empty()
          ? std::string()
          : absl::StrCat(" with ", absl::StrJoin(waiver.accepted_findings(), ", ")));
}

}  // namespace preflight::collector
