// Exceptions: waivers of a host's check and sign-offs of manual items, and
// the rules that keep them honest.
//
// A waiver accepts one verdict: the check's status on the host when it was
// made (FAIL, UNKNOWN or WARN; a passing check cannot be waived) and its
// findings then (FindingsOf). It applies while the check shows that status
// with no finding beyond those (a closed port keeps it, a new port or
// another account does not); otherwise the check shows its real status and
// names the waiver that did not match. Waivers and sign-offs last at most the
// policy's max_waiver_days / max_signoff_days. Pure functions of their inputs.
#ifndef PREFLIGHT_COLLECTOR_READINESS_EXCEPTIONS_H_
#define PREFLIGHT_COLLECTOR_READINESS_EXCEPTIONS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "preflight/v1/checklist.pb.h"
#include "preflight/v1/config.pb.h"
#include "preflight/v1/query.pb.h"
#include "preflight/v1/verdict.pb.h"

namespace preflight::collector {

// The findings a verdict reports, sorted and unique: the `finding` of each
// evidence line that has one (named by the check's catalogue finding keys,
// "port=27017/tcp"). A verdict with none (a check without finding keys, or
// one UNKNOWN because a fact could not be read) is identified by where its
// problems were seen: "at=<source>" for each line that is not a passing one,
// with line numbers left out, so that an edit above a line does not make a
// new finding. Empty for a verdict that cannot be waived (PASS, ...).
std::vector<std::string> FindingsOf(const v1::Verdict& verdict);

// FAIL, UNKNOWN and WARN can be waived; PASS, NOT_APPLICABLE and the manual
// statuses cannot.
bool Waivable(v1::CheckStatus status);

// Whether `waiver` (in force) accepts a verdict with this status and these
// findings; when not, `why` says what changed ("now UNKNOWN, waived FAIL";
// "new finding port=6379/tcp").
bool WaiverAccepts(const v1::Waiver& waiver, v1::CheckStatus status,
                   const std::vector<std::string>& findings, std::string* why);

// Puts `waiver` (of the result's check and host, not revoked) on `result`,
// whose status and evidence are the host's verdict `verdict`: WAIVED with the
// underlying status when it applies; otherwise the real status, with
// waiver_mismatch and an evidence line naming the waiver and what changed.
void ApplyWaiver(const v1::Waiver& waiver, const v1::Verdict& verdict, absl::Time now,
                 v1::CheckResult* result);

// The policy's limits, with their defaults (90 and 180 days).
absl::Duration MaxWaiverLifetime(const v1::Policy& policy);
absl::Duration MaxSignoffLifetime(const v1::Policy& policy);

// Cuts a waiver or sign-off in force that would last beyond `now` plus the
// policy's maximum (a sign-off without expiry included) to that, recording
// the expiry before and when (capped_*). False when it is within the limit.
bool CapToPolicy(const v1::Policy& policy, absl::Time now, v1::Waiver* waiver);
bool CapToPolicy(const v1::Policy& policy, absl::Time now, v1::Attestation* attestation);

// Whether a waiver of a blocker check on `environment` needs a second
// operator (policy waiver_approval_environments).
bool NeedsApproval(const v1::Policy& policy, const v1::CheckInfo& check,
                   const std::string& environment);

// What a manual item's own evidence on an environment's hosts says against
// its sign-off: one "host: message (source)" line per evidence line of a host
// whose evidence for the item is FAIL (e.g. alert.ssh_login on a backup
// server, which raises no SSH-login alert in OpenCRVS v1.x). `evidence` is
// HostStatus.manual_evidence of each host in the environment, with its host.
struct HostManualEvidence {
  std::string host_id;
  const v1::CheckResult* result;
};
std::vector<std::string> EvidenceAgainst(const std::vector<HostManualEvidence>& evidence);

// "FAIL with port=27017/tcp, port=6379/tcp", as messages and the export
// describe what a waiver accepts.
std::string AcceptedText(const v1::Waiver& waiver);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_READINESS_EXCEPTIONS_H_
