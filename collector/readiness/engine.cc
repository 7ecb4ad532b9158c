#include "collector/readiness/engine.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/readiness/exceptions.h"
#include "collector/readiness/unknown_nodes.h"

namespace preflight::collector {
namespace {

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool BlocksReadiness(v1::CheckStatus status) {
  return status == v1::FAIL || status == v1::UNKNOWN || status == v1::PENDING ||
         status == v1::CHECK_STATUS_UNSPECIFIED;
}

}  // namespace

std::string StatusName(v1::CheckStatus status) {
  switch (status) {
    case v1::PASS:
      return "PASS";
    case v1::WARN:
      return "WARN";
    case v1::FAIL:
      return "FAIL";
    case v1::UNKNOWN:
      return "UNKNOWN";
    case v1::NOT_APPLICABLE:
      return "NOT_APPLICABLE";
    case v1::PENDING:
      return "PENDING";
    case v1::ATTESTED:
      return "ATTESTED";
    case v1::WAIVED:
      return "WAIVED";
    default:
      return "UNKNOWN";
  }
}

std::string SeverityName(v1::Severity severity) {
  return severity == v1::ADVISORY ? "advisory" : "blocker";
}

v1::Policy WithPolicyDefaults(v1::Policy policy) {
  // The fleet's own settings. Check parameters have their defaults in the
  // catalogue and are resolved per host (ResolveParams).
  if (policy.gating_environments().empty()) {
    for (const char* env : {"production", "staging", "backup"}) {
      policy.add_gating_environments(env);
    }
  }
  if (policy.staleness_seconds() == 0) policy.set_staleness_seconds(900);
  return policy;
}

Params ParamsFor(const Check& check, const v1::Policy& policy, const v1::InventoryHost& host) {
  return check.spec == nullptr ? Params() : ResolveParams(*check.spec, policy, host);
}

bool Applies(const v1::CheckInfo& check, const v1::InventoryHost& host, std::string* reason) {
  if (!check.environments().empty() && !Contains(check.environments(), host.environment())) {
    if (reason != nullptr) {
      *reason = absl::StrCat("applies to environments ", absl::StrJoin(check.environments(), ", "),
                             "; this host is ", host.environment());
    }
    return false;
  }
  if (!check.roles().empty()) {
    bool any = std::any_of(host.roles().begin(), host.roles().end(),
                           [&](const std::string& r) { return Contains(check.roles(), r); });
    if (!any) {
      if (reason != nullptr) {
        *reason = absl::StrCat("applies to roles ", absl::StrJoin(check.roles(), ", "),
                               "; this host has ",
                               host.roles().empty() ? "none" : absl::StrJoin(host.roles(), ", "));
      }
      return false;
    }
  }
  return true;
}

v1::HostVerdicts Evaluate(const CheckRegistry& registry, const v1::InventoryHost& host,
                          const v1::Policy& policy, const v1::FactReport& report, absl::Time now) {
  v1::HostVerdicts out;
  out.set_host_id(host.id());
  out.set_agent_instance(report.agent_instance());
  out.set_sequence(report.sequence());
  out.set_collected_at_unix_ms(report.collected_at_unix_ms());
  out.set_received_at_unix_ms(absl::ToUnixMillis(now));
  out.set_evaluated_at_unix_ms(absl::ToUnixMillis(now));
  for (const v1::MissingPrivilege& m : report.privileges().missing()) {
    if (m.evidence_only()) continue;
    out.add_collected_without(absl::StrCat(m.fact(), ": lacks ", m.capability(), ": ", m.why()));
  }
  for (const Check& check : registry.all()) {
    if (!check.evaluate) continue;
    v1::Verdict verdict;
    std::string reason;
    if (!Applies(check.info, host, &reason)) {
      verdict.set_status(v1::NOT_APPLICABLE);
      *verdict.add_evidence() = MakeEvidence(reason, "inventory");
    } else {
      const Params params = ParamsFor(check, policy, host);
      EvalContext ctx{host, policy, now, params};
      verdict = check.evaluate(report, ctx);
    }
    verdict.set_check_id(check.info.id());
    *out.add_verdicts() = std::move(verdict);
  }
  return out;
}

v1::HostStatus BuildHostStatus(const CheckRegistry& registry, const v1::InventoryHost& host,
                               const v1::Policy& policy,
                               const std::optional<v1::HostVerdicts>& latest, absl::Time now,
                               const std::vector<v1::Waiver>& waivers) {
  v1::HostStatus status;
  status.set_host_id(host.id());
  status.set_environment(host.environment());
  *status.mutable_roles() = host.roles();
  status.set_gating(Contains(policy.gating_environments(), host.environment()));
  status.set_reported(latest.has_value());
  if (latest.has_value()) {
    status.set_last_report_unix_ms(latest->collected_at_unix_ms());
    status.set_agent_instance(latest->agent_instance());
    status.set_sequence(latest->sequence());
    *status.mutable_collected_without() = latest->collected_without();
    // The collector's clock decides: when the report arrived, never the
    // agent's own collected_at (a clock running ahead would keep a host
    // fresh for ever). Verdicts stored before receive times existed fall
    // back to collected_at.
    absl::Time last =
        absl::FromUnixMillis(latest->received_at_unix_ms() != 0 ? latest->received_at_unix_ms()
                                                                : latest->collected_at_unix_ms());
    status.set_stale(now - last > absl::Seconds(policy.staleness_seconds()));
  } else {
    status.set_stale(true);
  }
  bool ready = status.reported() && !status.stale();
  for (const Check& check : registry.all()) {
    const v1::Verdict* found = nullptr;
    if (latest.has_value()) {
      for (const v1::Verdict& v : latest->verdicts()) {
        if (v.check_id() == check.info.id()) found = &v;
      }
    }
    if (check.info.manual()) {  // signed off fleet-wide, see BuildFleetStatus
      if (found != nullptr && found->status() != v1::NOT_APPLICABLE) {
        v1::CheckResult* evidence = status.add_manual_evidence();
        *evidence->mutable_check() = check.info;
        evidence->set_status(found->status());
        *evidence->mutable_evidence() = found->evidence();
      }
      continue;
    }
    v1::CheckResult* result = status.add_checks();
    *result->mutable_check() = check.info;
    if (Applies(check.info, host, nullptr)) {
      const Params params = ParamsFor(check, policy, host);
      for (const v1::EffectiveParam& p : params.effective()) *result->add_params() = p;
    }
    if (found != nullptr) {
      result->set_status(found->status());
      *result->mutable_evidence() = found->evidence();
      result->set_last_changed_at_unix_ms(found->changed_at_unix_ms());
      result->set_first_failed_at_unix_ms(found->failing_since_unix_ms());
      for (const v1::Waiver& w : waivers) {
        if (w.check_id() != check.info.id() || w.revoked()) continue;
        ApplyWaiver(w, *found, now, result);
      }
    } else {
      result->set_status(v1::UNKNOWN);
      *result->add_evidence() = MakeEvidence(
          latest.has_value() ? "not evaluated yet: the next report will" : "no report received",
          "collector");
    }
    if (check.info.severity() == v1::BLOCKER && BlocksReadiness(result->status())) ready = false;
  }
  status.set_ready(ready);
  return status;
}

v1::HostSummary SummarizeHost(const v1::HostStatus& host) {
  v1::HostSummary out;
  out.set_host_id(host.host_id());
  out.set_environment(host.environment());
  *out.mutable_roles() = host.roles();
  out.set_reported(host.reported());
  out.set_last_report_unix_ms(host.last_report_unix_ms());
  out.set_stale(host.stale());
  out.set_gating(host.gating());
  out.set_ready(host.ready());
  out.set_collected_without(static_cast<uint32_t>(host.collected_without_size()));
  out.set_cert_warning(host.cert_warning());
  for (const v1::CheckResult& c : host.checks()) {
    switch (c.status()) {
      case v1::PASS:
        out.set_pass(out.pass() + 1);
        break;
      case v1::WARN:
        out.set_warn(out.warn() + 1);
        break;
      case v1::FAIL:
        out.set_fail(out.fail() + 1);
        break;
      case v1::NOT_APPLICABLE:
        out.set_not_applicable(out.not_applicable() + 1);
        break;
      case v1::WAIVED:
        out.set_waived(out.waived() + 1);
        out.add_waived_checks(c.check().id());
        break;
      case v1::PENDING:
      case v1::ATTESTED:
        out.set_other(out.other() + 1);
        break;
      default:  // UNKNOWN, unspecified: never a pass
        out.set_unknown(out.unknown() + 1);
        break;
    }
    if (c.check().severity() == v1::BLOCKER && BlocksReadiness(c.status())) {
      v1::BlockingCheck* b = out.add_blocking();
      b->set_check_id(c.check().id());
      b->set_status(c.status());
    }
  }
  return out;
}

FleetVerdict::FleetVerdict(const v1::Policy& policy, size_t max_reasons)
    : policy_(policy), max_reasons_(max_reasons) {}

void FleetVerdict::NotReady(std::string reason) {
  ready_ = false;
  if (reasons_.size() < max_reasons_) {
    reasons_.push_back(std::move(reason));
  } else {
    ++reasons_left_out_;
  }
}

void FleetVerdict::AddHost(const v1::HostSummary& h,
                           const google::protobuf::RepeatedPtrField<v1::CheckResult>* manual) {
  if (std::find(present_.begin(), present_.end(), h.environment()) == present_.end()) {
    present_.push_back(h.environment());
  }
  if (manual != nullptr) {
    for (const v1::CheckResult& r : *manual) {
      manual_evidence_.push_back({h.host_id(), h.environment(), r});
    }
  }
  if (!h.gating()) return;
  ++gating_hosts_;
  if (!h.reported()) {
    NotReady(absl::StrCat(h.host_id(), ": has never reported (no agent vouches for it)"));
    return;
  }
  if (h.stale()) {
    NotReady(absl::StrCat(h.host_id(), ": no report for over ", policy_.staleness_seconds(),
                          "s (stale)"));
  }
  for (const v1::BlockingCheck& b : h.blocking()) {
    NotReady(absl::StrCat(h.host_id(), ": ", b.check_id(), " is ", StatusName(b.status())));
  }
}

void FleetVerdict::AddUnknownNode(const v1::UnknownNode& node) {
  if (node.gating()) NotReady(UnknownNodeReason(node));
}

void FleetVerdict::Finish(const CheckRegistry& registry,
                          const std::vector<v1::Attestation>& attestations, absl::Time now,
                          google::protobuf::RepeatedPtrField<v1::CheckResult>* items) {
  if (gating_hosts_ == 0) {
    NotReady(absl::StrCat("no inventory host is in a gating environment (",
                          absl::StrJoin(policy_.gating_environments(), ", "), ")"));
  }
  for (const Check& check : registry.all()) {
    if (!check.info.manual()) continue;
    for (const std::string& env : ManualEnvironments(check.info, policy_, present_)) {
      v1::CheckResult* item = items->Add();
      *item->mutable_check() = check.info;
      item->set_environment(env);
      const v1::Attestation* last = nullptr;
      for (const v1::Attestation& a : attestations) {
        if (a.check_id() == check.info.id() && a.environment() == env) last = &a;
      }
      if (last != nullptr) *item->mutable_attestation() = *last;
      if (last != nullptr && InForce(*last, now)) {
        item->set_status(v1::ATTESTED);
        *item->add_evidence() = MakeEvidence(
            absl::StrCat(
                "attested by ", last->operator_(), " on ",
                UtcMinute(absl::FromUnixMillis(last->attested_at_unix_ms())), ": ", last->note(),
                last->expires_at_unix_ms() == 0
                    ? std::string()
                    : absl::StrCat(" (until ",
                                   UtcMinute(absl::FromUnixMillis(last->expires_at_unix_ms())),
                                   ")")),
            last->evidence_url().empty() ? "attestation" : last->evidence_url());
      } else {
        item->set_status(v1::PENDING);
        std::string why = "not attested";
        if (last != nullptr && last->revoked()) {
          why = absl::StrCat("attestation by ", last->operator_(), " revoked by ",
                             last->revoked_by());
        } else if (last != nullptr) {
          why = absl::StrCat("attestation by ", last->operator_(), " expired at ",
                             UtcMinute(absl::FromUnixMillis(last->expires_at_unix_ms())));
        }
        *item->add_evidence() = MakeEvidence(why, "collector");
        NotReady(absl::StrCat(check.info.id(), " (", env, ") is PENDING: ", why));
      }
      for (const ManualEvidence& m : manual_evidence_) {
        if (m.environment != env || m.result.check().id() != check.info.id()) continue;
        for (const v1::Evidence& e : m.result.evidence()) {
          v1::Evidence* copy = item->add_evidence();
          *copy = e;
          copy->set_message(
              absl::StrCat(m.host_id, " (", StatusName(m.result.status()), "): ", e.message()));
        }
      }
    }
  }
}

v1::FleetStatus BuildFleetStatus(const CheckRegistry& registry, const v1::Policy& policy,
                                 std::vector<v1::HostStatus> hosts, absl::Time now,
                                 const std::vector<v1::Attestation>& attestations,
                                 const std::vector<v1::UnknownNode>& unknown_nodes) {
  v1::FleetStatus fleet;
  fleet.set_generated_at_unix_ms(absl::ToUnixMillis(now));
  *fleet.mutable_gating_environments() = policy.gating_environments();
  fleet.set_staleness_seconds(policy.staleness_seconds());
  FleetVerdict verdict(policy);
  for (const v1::HostStatus& h : hosts) verdict.AddHost(SummarizeHost(h), &h.manual_evidence());
  for (const v1::UnknownNode& n : unknown_nodes) {
    verdict.AddUnknownNode(n);
    *fleet.add_unknown_nodes() = n;
  }
  verdict.Finish(registry, attestations, now, fleet.mutable_manual_items());
  for (const std::string& r : verdict.reasons()) fleet.add_reasons(r);
  for (v1::HostStatus& h : hosts) {
    // Parameters are for `preflightctl host`; the fleet view stays small.
    for (v1::CheckResult& c : *h.mutable_checks()) c.clear_params();
    *fleet.add_hosts() = std::move(h);
  }
  fleet.set_ready(verdict.ready());
  return fleet;
}

bool InForce(const v1::Waiver& waiver, absl::Time now) {
  return !waiver.revoked() && absl::FromUnixMillis(waiver.expires_at_unix_ms()) > now;
}

bool InForce(const v1::Attestation& attestation, absl::Time now) {
  return !attestation.revoked() && (attestation.expires_at_unix_ms() == 0 ||
                                    absl::FromUnixMillis(attestation.expires_at_unix_ms()) > now);
}

std::vector<std::string> ManualEnvironments(const v1::CheckInfo& check, const v1::Policy& policy,
                                            const std::vector<std::string>& present) {
  std::vector<std::string> out;
  if (check.environments().empty()) {
    out.assign(policy.gating_environments().begin(), policy.gating_environments().end());
    return out;
  }
  // Gating environments first, in the policy's order, then the others the
  // inventory has, in the item's order.
  for (const std::string& env : policy.gating_environments()) {
    if (Contains(check.environments(), env)) out.push_back(env);
  }
  for (const std::string& env : check.environments()) {
    if (std::find(out.begin(), out.end(), env) == out.end() &&
        std::find(present.begin(), present.end(), env) != present.end()) {
      out.push_back(env);
    }
  }
  return out;
}

std::vector<std::string> InventoryEnvironments(const v1::Inventory& inventory) {
  std::vector<std::string> out;
  for (const v1::InventoryHost& h : inventory.hosts()) {
    if (std::find(out.begin(), out.end(), h.environment()) == out.end()) {
      out.push_back(h.environment());
    }
  }
  return out;
}

}  // namespace preflight::collector
