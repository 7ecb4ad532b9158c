#include "collector/service/exceptions_upkeep.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"
#include "collector/readiness/exceptions.h"
#include "proto/wire/status.h"

namespace preflight::collector {
namespace {

std::string Until(int64_t unix_ms) {
  return unix_ms == 0 ? std::string("no expiry") : UtcMinute(absl::FromUnixMillis(unix_ms));
}

// The check's verdict on the host's latest facts, evaluated now with
// today's checks (nullopt: no facts, or the host left the inventory).
absl::StatusOr<std::optional<v1::Verdict>> VerdictNow(CollectorState& state,
                                                      const v1::Waiver& waiver, absl::Time now) {
  const v1::InventoryHost* host = state.FindHost(waiver.host_id());
  const Check* check = state.registry.Find(waiver.check_id());
  if (host == nullptr || check == nullptr) return std::nullopt;
  ASSIGN_OR_RETURN(auto facts, state.store->LatestFacts(waiver.host_id()));
  if (!facts.has_value()) return std::nullopt;
  v1::HostVerdicts verdicts = Evaluate(state.registry, *host, state.settings.policy, *facts, now);
  for (v1::Verdict& v : *verdicts.mutable_verdicts()) {
    if (v.check_id() == waiver.check_id()) return std::move(v);
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<UpkeepCounts> UpholdExceptionRules(CollectorState& state, absl::Time now,
                                                  const std::function<void(std::string)>& log) {
  UpkeepCounts counts;
  const v1::Policy& policy = state.settings.policy;
  ASSIGN_OR_RETURN(std::vector<v1::Waiver> waivers, state.store->AllWaivers());
  for (v1::Waiver& w : waivers) {
    if (!InForce(w, now)) continue;
    const std::string subject = absl::StrCat(w.host_id(), " ", w.check_id());
    if (w.accepted_status() == v1::CHECK_STATUS_UNSPECIFIED) {
      ASSIGN_OR_RETURN(std::optional<v1::Verdict> verdict, VerdictNow(state, w, now));
      Store::AuditRecord record;
      if (verdict.has_value() && Waivable(verdict->status())) {
        w.set_accepted_status(verdict->status());
        for (std::string& f : FindingsOf(*verdict)) w.add_accepted_findings(std::move(f));
        record = {"collector", "waiver-bound", subject,
                  absl::StrCat("the waiver by ", w.operator_(), " (", w.reason(),
                               ") predates binding to findings: bound to the verdict on the "
                               "latest facts, ",
                               AcceptedText(w))};
        ++counts.waivers_bound;
      } else {
        w.set_revoked(true);
        w.set_revoked_by("collector");
        w.set_revoked_at_unix_ms(absl::ToUnixMillis(now));
        record = {"collector", "unwaive", subject,
                  absl::StrCat("withdrew the waiver by ", w.operator_(), " (", w.reason(), "): ",
                               verdict.has_value()
                                   ? absl::StrCat("the check is ", StatusName(verdict->status()),
                                                  ", and a waiver may only accept FAIL, UNKNOWN "
                                                  "or WARN")
                                   : std::string("no facts of the host to bind it to"))};
        ++counts.waivers_withdrawn;
      }
      RETURN_IF_ERROR(state.store->PutWaiver(w, record, now));
      log(absl::StrCat(record.action, " ", subject, ": ", record.detail));
      if (w.revoked()) continue;
    }
    const int64_t before = w.expires_at_unix_ms();
    if (CapToPolicy(policy, now, &w)) {
      Store::AuditRecord record{
          "collector", "waiver-limit", subject,
          absl::StrCat("the waiver by ", w.operator_(), " ran until ", Until(before),
                       ", beyond the policy's max_waiver_days (",
                       absl::ToInt64Hours(MaxWaiverLifetime(policy)) / 24, "): now until ",
                       Until(w.expires_at_unix_ms()))};
      RETURN_IF_ERROR(state.store->PutWaiver(w, record, now));
      log(absl::StrCat(record.action, " ", subject, ": ", record.detail));
      ++counts.waivers_capped;
    }
  }
  ASSIGN_OR_RETURN(std::vector<v1::Attestation> attestations, state.store->Attestations());
  for (v1::Attestation& a : attestations) {
    const int64_t before = a.expires_at_unix_ms();
    if (!CapToPolicy(policy, now, &a)) continue;
    const std::string subject = absl::StrCat(a.check_id(), " ", a.environment());
    Store::AuditRecord record{
        "collector", "signoff-limit", subject,
        absl::StrCat("the sign-off by ", a.operator_(), " ran until ", Until(before),
                     ", beyond the policy's max_signoff_days (",
                     absl::ToInt64Hours(MaxSignoffLifetime(policy)) / 24, "): now until ",
                     Until(a.expires_at_unix_ms()))};
    RETURN_IF_ERROR(state.store->PutAttestation(a, record, now));
    log(absl::StrCat(record.action, " ", subject, ": ", record.detail));
    ++counts.signoffs_capped;
  }
  return counts;
}

}  // namespace preflight::collector
