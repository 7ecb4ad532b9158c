#include "collector/service/query_service.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/audit/audit_chain.h"
#include "collector/diff/fact_diff.h"
#include "collector/readiness/engine.h"
#include "collector/readiness/exceptions.h"
#include "collector/service/manager_reports.h"
#include "collector/service/own_certificates.h"
#include "proto/wire/revocation.h"
#include "proto/wire/status.h"
#include "proto/wire/textproto.h"

namespace preflight::collector {

absl::StatusOr<PeerIdentity> QueryService::Authorize(grpc::CallbackServerContext* context,
                                                     absl::string_view method, Access access) {
  auto id =
      IdentityFromAuthContext(*context->auth_context(), state_.settings.config.trust_domain());
  absl::Status refusal;
  bool crl_state = false;  // refused for the CRL's state, not the caller's
  if (!id.ok()) {
    refusal = id.status();
  } else if (absl::Status revoked = state_.revocation
                                        ? state_.revocation->Check(*context->auth_context())
                                        : absl::OkStatus();
             !revoked.ok()) {
    refusal = absl::Status(revoked.code(), absl::StrCat(id->ToString(), ": ", revoked.message()));
    crl_state = IsCrlStateRefusal(revoked);
  } else if (access == Access::kChange && id->kind != PeerIdentity::Kind::kOperator) {
    refusal = absl::PermissionDeniedError(
        absl::StrCat(id->ToString(), " may not call ", method,
                     ": only operators may change the checklist (auditors read, agents report)"));
  } else if (id->kind != PeerIdentity::Kind::kOperator &&
             id->kind != PeerIdentity::Kind::kAuditor) {
    refusal = absl::PermissionDeniedError(
        absl::StrCat(id->ToString(), " may not call ", method,
                     ": only operators and auditors may query the collector"));
  }
  if (!refusal.ok()) {
    // A CRL past its nextUpdate (or unusable) refuses everybody: logged and
    // audited once per identity per minute.
    const std::string actor = id.ok() ? id->ToString() : context->peer();
    int64_t suppressed = 0;
    if (crl_state && !state_.crl_refusals.Allow(actor, state_.clock(), &suppressed)) {
      return refusal;
    }
    const std::string detail =
        suppressed == 0 ? std::string(refusal.message())
                        : absl::StrCat(refusal.message(), " (and ", suppressed, " refusal(s) of ",
                                       actor, " not logged in the minute before)");
    Log(absl::StrCat("refused ", context->peer(), " ", method, ": ", detail));
    absl::Status audited =
        state_.store->Audit({actor, "denied", std::string(method), detail}, state_.clock());
    if (!audited.ok()) Log(absl::StrCat("cannot audit a refusal: ", audited.message()));
    return refusal;
  }
  return id;
}

bool QueryService::Admit(const std::string& caller) {
  absl::MutexLock lock(&in_hand_mu_);
  int& n = in_hand_[caller];
  if (n >= static_cast<int>(state_.settings.config.max_queries_per_identity())) {
    if (n == 0) in_hand_.erase(caller);
    return false;
  }
  ++n;
  return true;
}

void QueryService::Leave(const std::string& caller) {
  absl::MutexLock lock(&in_hand_mu_);
  auto it = in_hand_.find(caller);
  if (it != in_hand_.end() && --it->second <= 0) in_hand_.erase(it);
}

void QueryService::RefuseBusy(const std::string& caller, const std::string& peer,
                              const char* method) {
  int64_t suppressed = 0;
  if (!busy_refusals_.Allow(caller, state_.clock(), &suppressed)) return;
  std::string detail = absl::StrCat(
      caller, " has ", state_.settings.config.max_queries_per_identity(),
      " calls in hand already (max_queries_per_identity); refused at once, not queued");
  if (suppressed > 0) {
    absl::StrAppend(&detail, " (and ", suppressed, " refusal(s) not logged in the minute before)");
  }
  Log(absl::StrCat("refused ", peer, " ", method, ": ", detail));
  // The audit entry is a synced write: not on the gRPC thread.
  pool_.Post([this, caller, method, detail] {
    absl::Status audited =
        state_.store->Audit({caller, "refused", std::string(method), detail}, state_.clock());
    if (!audited.ok()) Log(absl::StrCat("cannot audit a refusal: ", audited.message()));
  });
}

grpc::ServerUnaryReactor* QueryService::OnPool(grpc::CallbackServerContext* context,
                                               const char* method, Access access, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Counted by certificate identity: one operator's script in a loop must
  // not queue the pool up for the others. Authorization proper runs on the
  // pool (it may audit).
  auto id =
      IdentityFromAuthContext(*context->auth_context(), state_.settings.config.trust_domain());
  std::string caller = id.ok() ? id->ToString() : context->peer();
  if (!Admit(caller)) {
    RefuseBusy(caller, context->peer(), method);
    reactor->Finish(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("too many calls in hand for ", caller, " (max_queries_per_identity ",
                     state_.settings.config.max_queries_per_identity(), "); try again")));
    return reactor;
  }
  // `context` and the request and response `body` holds stay valid until
  // the reactor is done, which is after Finish.
  pool_.Post(
      [this, context, reactor, method, access, body = std::move(body), caller = std::move(caller)] {
        if (state_.hooks.hold_query > absl::ZeroDuration()) absl::SleepFor(state_.hooks.hold_query);
        absl::StatusOr<PeerIdentity> id = Authorize(context, method, access);
        absl::Status status = id.ok() ? body(*id) : id.status();
        Leave(caller);
        reactor->Finish(ToGrpcStatus(status));
      });
  return reactor;
}

absl::StatusOr<v1::HostStatus> QueryService::HostStatusOf(const v1::InventoryHost& host,
                                                          const std::vector<v1::Waiver>* waivers) {
  ASSIGN_OR_RETURN(auto latest, state_.store->LatestVerdicts(host.id()));
  std::vector<v1::Waiver> own;
  if (waivers == nullptr) {
    ASSIGN_OR_RETURN(own, state_.store->Waivers(host.id()));
    waivers = &own;
  }
  v1::HostStatus status = BuildHostStatus(state_.registry, host, state_.settings.policy, latest,
                                          state_.clock(), *waivers);
  if (std::optional<CertSummary> cert =
          ingest_ != nullptr ? ingest_->CertificateOf(host.id()) : std::nullopt) {
    status.set_cert_serial(cert->serial);
    status.set_cert_not_after_unix_ms(absl::ToUnixMillis(cert->not_after));
    status.set_cert_warning(CertExpiryWarning(
        absl::StrCat("the certificate of host ", host.id()), *cert, state_.clock(),
        absl::StrCat(
            "renew it with `preflight-certs renew hosts/", host.id(),
            ".pem` and install it on the host (the agent picks it up when it reconnects)")));
  }
  return status;
}

absl::StatusOr<ManagerReports> QueryService::FromManagers() {
  return ReadManagerReports(*state_.store, state_.settings.inventory, state_.settings.policy,
                            state_.clock());
}

void QueryService::FillFleetHeader(v1::FleetStatus* fleet) {
  auto [seq, hash] = state_.store->AuditHead();
  fleet->set_audit_entries(seq);
  fleet->set_audit_head(hash);
  // From a week before the CRL's nextUpdate: nobody is locked out by surprise.
  fleet->set_crl_warning(CrlWarning(state_.CrlStateNow()));
  // From 30 days before the collector's or the CA's certificate expires.
  for (std::string& w : OwnCertificateWarnings(state_.settings.config.tls(), state_.clock())) {
    fleet->add_cert_warnings(std::move(w));
  }
  // Reads work while writes fail: say that reports are not stored.
  if (absl::Status health = state_.store->Health(); !health.ok()) {
    fleet->set_storage_error(std::string(health.message()));
  }
}

namespace {

absl::Status TooLargeForOneReply(size_t hosts, size_t bytes) {
  return absl::FailedPreconditionError(absl::StrFormat(
      "the full status of %d hosts is %.1f MB, over the 16 MiB reply limit: use `preflightctl "
      "status` (a summary per host, any fleet size), `preflightctl host HOST` for one host's "
      "checks and evidence, or `preflightctl export` (streamed)",
      hosts, static_cast<double>(bytes) / 1e6));
}

}  // namespace

grpc::ServerUnaryReactor* QueryService::GetFleetStatus(grpc::CallbackServerContext* context,
                                                       const v1::FleetStatusRequest*,
                                                       v1::FleetStatus* response) {
  return OnPool(context, "GetFleetStatus", Access::kRead, [this, response](const PeerIdentity&) {
    absl::Status status;
    std::vector<v1::HostStatus> hosts;
    // One scan for every waiver instead of one iterator per host.
    std::map<std::string, std::vector<v1::Waiver>> waivers;
    auto all = state_.store->AllWaivers();
    if (!all.ok()) status = all.status();
    if (all.ok()) {
      for (v1::Waiver& w : *all) waivers[w.host_id()].push_back(std::move(w));
    }
    static const std::vector<v1::Waiver> kNone;
    // A reply over the client's limit would fail as an opaque transport
    // error: past the limit, hosts are only measured (memory stays bounded)
    // and the call says how large the reply would be.
    size_t bytes = 0;
    for (const v1::InventoryHost& h : state_.settings.inventory.hosts()) {
      if (!status.ok()) break;
      auto it = waivers.find(h.id());
      auto hs = HostStatusOf(h, it == waivers.end() ? &kNone : &it->second);
      if (!hs.ok()) {
        status = hs.status();
        break;
      }
      for (v1::CheckResult& c : *hs->mutable_checks()) c.clear_params();
      bytes += hs->ByteSizeLong();
      if (bytes > kMaxFleetStatusBytes) {
        std::vector<v1::HostStatus>().swap(hosts);
      } else {
        hosts.push_back(std::move(*hs));
      }
    }
    if (status.ok() && bytes > kMaxFleetStatusBytes) {
      return TooLargeForOneReply(state_.settings.inventory.hosts_size(), bytes);
    }
    auto attestations = state_.store->Attestations();
    if (status.ok()) status = attestations.status();
    auto managers = FromManagers();
    if (status.ok()) status = managers.status();
    if (status.ok()) {
      *response = BuildFleetStatus(state_.registry, state_.settings.policy, std::move(hosts),
                                   state_.clock(), *attestations, managers->unknown_nodes);
      *response->mutable_countryconfig() = std::move(managers->countryconfig);
      FillFleetHeader(response);
      if (size_t total = response->ByteSizeLong(); total > kMaxFleetStatusBytes) {
        response->Clear();
        return TooLargeForOneReply(state_.settings.inventory.hosts_size(), total);
      }
    }
    return status;
  });
}

grpc::ServerUnaryReactor* QueryService::GetHost(grpc::CallbackServerContext* context,
                                                const v1::HostRequest* request,
                                                v1::HostStatus* response) {
  return OnPool(context, "GetHost", Access::kRead,
                [this, request, response](const PeerIdentity&) -> absl::Status {
                  const v1::InventoryHost* host = state_.FindHost(request->host_id());
                  if (host == nullptr) return state_.UnknownHost(request->host_id());
                  ASSIGN_OR_RETURN(*response, HostStatusOf(*host));
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* QueryService::ListChecks(grpc::CallbackServerContext* context,
                                                   const v1::ListChecksRequest*,
                                                   v1::CheckCatalogue* response) {
  return OnPool(context, "ListChecks", Access::kRead, [this, response](const PeerIdentity&) {
    for (const Check& c : state_.registry.all()) *response->add_checks() = c.info;
    *response->mutable_catalogue() = BuiltinCatalogue();
    return absl::OkStatus();
  });
}

namespace {

std::string Until(int64_t unix_ms) {
  return unix_ms == 0 ? std::string("no expiry") : UtcMinute(absl::FromUnixMillis(unix_ms));
}

}  // namespace

absl::Status QueryService::EvidenceAgainstSignoff(const Check& check,
                                                  const std::string& environment,
                                                  std::vector<std::string>* against) {
  // The item's verdict on each host of the environment, as the fleet view
  // shows it beside the sign-off.
  std::vector<std::pair<std::string, v1::CheckResult>> results;
  for (const v1::InventoryHost& h : state_.settings.inventory.hosts()) {
    if (h.environment() != environment) continue;
    ASSIGN_OR_RETURN(auto latest, state_.store->LatestVerdicts(h.id()));
    if (!latest.has_value()) continue;
    for (const v1::Verdict& v : latest->verdicts()) {
      if (v.check_id() != check.info.id()) continue;
      v1::CheckResult r;
      r.set_status(v.status());
      *r.mutable_evidence() = v.evidence();
      results.emplace_back(h.id(), std::move(r));
    }
  }
  std::vector<HostManualEvidence> evidence;
  for (const auto& [host, result] : results) evidence.push_back({host, &result});
  *against = EvidenceAgainst(evidence);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* QueryService::Attest(grpc::CallbackServerContext* context,
                                               const v1::AttestRequest* request,
                                               v1::Attestation* response) {
  return OnPool(
      context, "Attest", Access::kChange,
      [this, request, response](const PeerIdentity& id) -> absl::Status {
        const Check* check = state_.registry.Find(request->check_id());
        if (check == nullptr) return state_.UnknownCheck(request->check_id());
        if (!check->info.manual()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "'", request->check_id(), "' is not a manual item (preflightctl checks lists them)"));
        }
        std::vector<std::string> envs = ManualEnvironments(
            check->info, state_.settings.policy, InventoryEnvironments(state_.settings.inventory));
        if (std::find(envs.begin(), envs.end(), request->environment()) == envs.end()) {
          return absl::InvalidArgumentError(absl::StrCat(request->check_id(), " is signed off for ",
                                                         absl::StrJoin(envs, ", "), ", not '",
                                                         request->environment(), "'"));
        }
        absl::MutexLock lock(&change_mu_);
        const absl::Time now = state_.clock();
        ASSIGN_OR_RETURN(auto current,
                         state_.store->GetAttestation(request->check_id(), request->environment()));
        v1::Attestation a;
        Store::AuditRecord record;
        if (request->revoke()) {
          if (!current.has_value() || !InForce(*current, now)) {
            return absl::FailedPreconditionError(
                absl::StrCat("no attestation of ", request->check_id(), " for ",
                             request->environment(), " is in force"));
          }
          a = *current;
          a.set_revoked(true);
          a.set_revoked_by(id.ToString());
          a.set_revoked_at_unix_ms(absl::ToUnixMillis(now));
          record = {id.ToString(), "revoke",
                    absl::StrCat(request->check_id(), " ", request->environment()),
                    absl::StrCat("withdrew the attestation by ", current->operator_(), " of ",
                                 Until(current->attested_at_unix_ms()))};
        } else {
          if (request->note().empty()) {
            return absl::InvalidArgumentError(
                "an attestation needs a note (--note): what was checked");
          }
          const absl::Duration max = MaxSignoffLifetime(state_.settings.policy);
          if (absl::Seconds(static_cast<double>(request->expires_seconds())) > max) {
            return absl::InvalidArgumentError(absl::StrCat(
                "a sign-off lasts at most ", absl::ToInt64Hours(max) / 24,
                " days (policy max_signoff_days); ask for less with --expires, or raise the limit "
                "in the policy"));
          }
          // What the item's own evidence says on this environment's hosts.
          std::vector<std::string> against;
          RETURN_IF_ERROR(EvidenceAgainstSignoff(*check, request->environment(), &against));
          if (!against.empty() && !request->despite_evidence()) {
            return absl::FailedPreconditionError(absl::StrCat(
                request->check_id(), " cannot hold on ", request->environment(),
                " by preflight's own evidence: ", absl::StrJoin(against, "; "),
                ". Sign off with --despite-evidence if the team accepts that; the export "
                "shows it."));
          }
          if (!against.empty()) {
            a.set_despite_evidence(true);
            for (std::string& line : against) a.add_evidence_against(std::move(line));
          }
          a.set_check_id(request->check_id());
          a.set_environment(request->environment());
          a.set_operator_(id.ToString());
          a.set_note(request->note().substr(0, 2000));
          a.set_evidence_url(request->evidence_url().substr(0, 2000));
          a.set_attested_at_unix_ms(absl::ToUnixMillis(now));
          // No --expires: the longest the policy allows. Nothing lasts for ever.
          a.set_expires_at_unix_ms(absl::ToUnixMillis(
              now + (request->expires_seconds() > 0
                         ? absl::Seconds(static_cast<int64_t>(request->expires_seconds()))
                         : MaxSignoffLifetime(state_.settings.policy))));
          record = {id.ToString(), "attest",
                    absl::StrCat(request->check_id(), " ", request->environment()),
                    absl::StrCat(a.note(), a.evidence_url().empty() ? "" : " evidence: ",
                                 a.evidence_url(), "; until ", Until(a.expires_at_unix_ms()),
                                 a.despite_evidence()
                                     ? absl::StrCat("; DESPITE EVIDENCE: ",
                                                    absl::StrJoin(a.evidence_against(), "; "))
                                     : "")};
        }
        RETURN_IF_ERROR(state_.store->PutAttestation(a, record, now));
        Log(absl::StrCat(record.action, " ", record.subject, " by ", record.actor));
        *response = std::move(a);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QueryService::Waive(grpc::CallbackServerContext* context,
                                              const v1::WaiveRequest* request,
                                              v1::Waiver* response) {
  return OnPool(
      context, "Waive", Access::kChange,
      [this, request, response](const PeerIdentity& id) -> absl::Status {
        const Check* check = state_.registry.Find(request->check_id());
        if (check == nullptr) return state_.UnknownCheck(request->check_id());
        if (check->info.manual()) {
          return absl::InvalidArgumentError(
              absl::StrCat("'", request->check_id(),
                           "' is not an agent check (manual items are attested, not waived)"));
        }
        const v1::InventoryHost* host = state_.FindHost(request->host_id());
        if (host == nullptr) return state_.UnknownHost(request->host_id());
        if (request->revoke() && request->approve()) {
          return absl::InvalidArgumentError("--revoke and --approve cannot be given together");
        }
        absl::MutexLock lock(&change_mu_);
        const absl::Time now = state_.clock();
        ASSIGN_OR_RETURN(auto current,
                         state_.store->GetWaiver(request->host_id(), request->check_id()));
        v1::Waiver w;
        Store::AuditRecord record;
        const std::string subject = absl::StrCat(request->host_id(), " ", request->check_id());
        if (request->approve()) {
          if (!current.has_value() || !InForce(*current, now) || !current->awaiting_approval()) {
            return absl::FailedPreconditionError(
                absl::StrCat("no waiver of ", subject, " awaits approval"));
          }
          if (current->operator_() == id.ToString()) {
            return absl::FailedPreconditionError(absl::StrCat(
                "a waiver of a blocker on ", host->environment(),
                " needs a second operator: ", id.ToString(), " made it and cannot approve it"));
          }
          w = *current;
          w.set_awaiting_approval(false);
          w.set_approved_by(id.ToString());
          w.set_approved_at_unix_ms(absl::ToUnixMillis(now));
          record = {id.ToString(), "approve", subject,
                    absl::StrCat("approved the waiver by ", current->operator_(), " of ",
                                 AcceptedText(*current), ": ", current->reason(), "; until ",
                                 Until(current->expires_at_unix_ms()))};
        } else if (request->revoke()) {
          if (!current.has_value() || !InForce(*current, now)) {
            return absl::FailedPreconditionError(
                absl::StrCat("no waiver of ", subject, " is in force"));
          }
          w = *current;
          w.set_revoked(true);
          w.set_revoked_by(id.ToString());
          w.set_revoked_at_unix_ms(absl::ToUnixMillis(now));
          record = {id.ToString(), "unwaive", subject,
                    absl::StrCat("withdrew the waiver by ", current->operator_())};
        } else {
          if (request->reason().empty()) {
            return absl::InvalidArgumentError("a waiver needs a reason (--reason)");
          }
          if (request->expires_seconds() == 0) {
            return absl::InvalidArgumentError("a waiver needs an expiry (--expires, e.g. 30d)");
          }
          const absl::Duration max = MaxWaiverLifetime(state_.settings.policy);
          if (absl::Seconds(static_cast<double>(request->expires_seconds())) > max) {
            return absl::InvalidArgumentError(absl::StrCat(
                "a waiver lasts at most ", absl::ToInt64Hours(max) / 24,
                " days (policy max_waiver_days); ask for less with --expires, or raise the limit "
                "in the policy"));
          }
          // Bound to the verdict it accepts: its status and findings now.
          ASSIGN_OR_RETURN(auto latest, state_.store->LatestVerdicts(request->host_id()));
          const v1::Verdict* verdict = nullptr;
          if (latest.has_value()) {
            for (const v1::Verdict& v : latest->verdicts()) {
              if (v.check_id() == request->check_id()) verdict = &v;
            }
          }
          if (verdict == nullptr) {
            return absl::FailedPreconditionError(
                absl::StrCat(request->check_id(), " has no verdict on ", request->host_id(),
                             " yet (no report): there is nothing to waive"));
          }
          if (!Waivable(verdict->status())) {
            return absl::FailedPreconditionError(absl::StrCat(
                request->check_id(), " is ", StatusName(verdict->status()), " on ",
                request->host_id(),
                ": only FAIL, UNKNOWN or WARN can be waived (a waiver on a passing check would "
                "hide its next failure)"));
          }
          w.set_check_id(request->check_id());
          w.set_host_id(request->host_id());
          w.set_reason(request->reason().substr(0, 2000));
          w.set_operator_(id.ToString());
          w.set_created_at_unix_ms(absl::ToUnixMillis(now));
          w.set_expires_at_unix_ms(absl::ToUnixMillis(
              now + absl::Seconds(static_cast<int64_t>(request->expires_seconds()))));
          w.set_accepted_status(verdict->status());
          for (std::string& f : FindingsOf(*verdict)) w.add_accepted_findings(std::move(f));
          w.set_awaiting_approval(
              NeedsApproval(state_.settings.policy, check->info, host->environment()));
          record = {
              id.ToString(), "waive", subject,
              absl::StrCat(w.reason(), "; accepts ", AcceptedText(w), "; until ",
                           Until(w.expires_at_unix_ms()),
                           w.awaiting_approval() ? "; awaits a second operator's approval" : "")};
        }
        RETURN_IF_ERROR(state_.store->PutWaiver(w, record, now));
        Log(absl::StrCat(record.action, " ", record.subject, " by ", record.actor));
        *response = std::move(w);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QueryService::History(grpc::CallbackServerContext* context,
                                                const v1::HistoryRequest* request,
                                                v1::HistoryResponse* response) {
  return OnPool(
      context, "History", Access::kRead,
      [this, request, response](const PeerIdentity&) -> absl::Status {
        if (state_.FindHost(request->host_id()) == nullptr) {
          return state_.UnknownHost(request->host_id());
        }
        if (!request->check_id().empty() && state_.registry.Find(request->check_id()) == nullptr) {
          return state_.UnknownCheck(request->check_id());
        }
        ASSIGN_OR_RETURN(auto transitions,
                         state_.store->Transitions(request->host_id(), request->check_id()));
        for (auto& t : transitions) *response->add_transitions() = std::move(t);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QueryService::Diff(grpc::CallbackServerContext* context,
                                             const v1::DiffRequest* request,
                                             v1::DiffResponse* response) {
  return OnPool(
      context, "Diff", Access::kRead,
      [this, request, response](const PeerIdentity&) -> absl::Status {
        if (state_.FindHost(request->host_id()) == nullptr) {
          return state_.UnknownHost(request->host_id());
        }
        ASSIGN_OR_RETURN(auto changes, state_.store->FactChanges(request->host_id()));
        const int64_t to =
            request->to_unix_ms() == 0 ? absl::ToUnixMillis(state_.clock()) : request->to_unix_ms();
        // Per kind: the content in force at `from` (the first stored when 0) and
        // at `to`.
        std::map<std::string, const v1::FactChange*> at_from, at_to;
        for (const v1::FactChange& c : changes) {  // oldest first
          if (c.at_unix_ms() <= to) at_to[c.kind()] = &c;
          if (request->from_unix_ms() == 0) {
            if (!at_from.count(c.kind())) at_from[c.kind()] = &c;
          } else if (c.at_unix_ms() <= request->from_unix_ms()) {
            at_from[c.kind()] = &c;
          }
        }
        for (const auto& [kind, newer] : at_to) {
          auto it = at_from.find(kind);
          const v1::FactChange* older = it == at_from.end() ? nullptr : it->second;
          if (older == newer) continue;
          v1::FactDiff* d = response->add_changes();
          d->set_kind(kind);
          d->set_from_unix_ms(older == nullptr ? 0 : older->at_unix_ms());
          d->set_to_unix_ms(newer->at_unix_ms());
          for (std::string& line : RenderFactDiff(
                   kind, older == nullptr ? std::string() : older->content(), newer->content())) {
            d->add_lines(std::move(line));
          }
          if (d->lines().empty()) response->mutable_changes()->RemoveLast();
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QueryService::Audit(grpc::CallbackServerContext* context,
                                              const v1::AuditRequest* request,
                                              v1::AuditResponse* response) {
  return OnPool(context, "Audit", Access::kRead,
                [this, request, response](const PeerIdentity&) -> absl::Status {
                  // Entries and head as of one moment: an entry appended
                  // while this reads is not a removed one.
                  ASSIGN_OR_RETURN(AuditTrail trail, state_.store->ConsistentAuditTrail());
                  std::vector<StoredAuditEntry>& entries = trail.entries;
                  response->set_head_hash(trail.head_hash);
                  response->set_total(entries.size());
                  if (request->verify()) {
                    AuditVerification v =
                        VerifyAuditChain(entries, trail.head_seq, trail.head_hash);
                    response->set_verified(v.ok);
                    for (std::string& p : v.problems) response->add_problems(std::move(p));
                  }
                  for (StoredAuditEntry& s : entries) {
                    if (s.entry.at_unix_ms() < request->since_unix_ms()) continue;
                    *response->add_entries() = std::move(s.entry);
                  }
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* QueryService::Refresh(grpc::CallbackServerContext* context,
                                                const v1::RefreshRequest* request,
                                                v1::RefreshResponse* response) {
  return OnPool(
      context, "Refresh", Access::kChange,
      [this, request, response](const PeerIdentity& id) -> absl::Status {
        std::vector<std::string> hosts;
        if (!request->host_id().empty()) {
          if (state_.FindHost(request->host_id()) == nullptr) {
            return state_.UnknownHost(request->host_id());
          }
          hosts.push_back(request->host_id());
        } else {
          for (const v1::InventoryHost& h : state_.settings.inventory.hosts())
            hosts.push_back(h.id());
        }
        const absl::Time now = state_.clock();
        response->set_requested_at_unix_ms(absl::ToUnixMillis(now));
        for (const std::string& h : hosts) {
          if (ingest_ != nullptr && ingest_->RequestCollect(h, id.ToString())) {
            response->add_requested(h);
          } else {
            response->add_not_connected(h);
          }
        }
        return state_.store->Audit(
            {id.ToString(), "refresh",
             request->host_id().empty() ? "all hosts" : request->host_id(),
             absl::StrCat("asked ", absl::StrJoin(response->requested(), ", "),
                          response->not_connected().empty()
                              ? ""
                              : absl::StrCat("; not connected: ",
                                             absl::StrJoin(response->not_connected(), ", ")))},
            now);
      });
}

}  // namespace preflight::collector
