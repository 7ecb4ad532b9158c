// GetFleetSummary and StreamFleetStatus: the fleet for any fleet size.
//
// Both walk the inventory once on the query pool, one host at a time: build
// the host's status (BuildHostStatus, as GetHost does), reduce it to a
// HostSummary, count it into the fleet verdict (FleetVerdict, the rules
// BuildFleetStatus uses) and drop it. GetFleetSummary keeps the summaries
// the filters match (a few hundred bytes each) and writes them in pages;
// StreamFleetStatus builds the full host statuses again, a chunk per
// message, while it writes. The collector never holds every HostStatus of
// the fleet, and no message comes near gRPC's limits.
#include "collector/service/fleet_summary.h"

#include <fnmatch.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/readiness/engine.h"
#include "collector/service/manager_reports.h"
#include "collector/service/query_service.h"
#include "proto/wire/status.h"

namespace preflight::collector {

uint32_t SummaryPageSize(const v1::FleetSummaryRequest& request) {
  if (request.page_size() == 0) return kDefaultSummaryPage;
  return std::min(request.page_size(), kMaxSummaryPage);
}

bool MatchesFilter(const v1::FleetSummaryRequest& request, const v1::HostSummary& host) {
  if (!request.environment().empty() && host.environment() != request.environment()) {
    return false;
  }
  if (!request.role().empty() &&
      std::find(host.roles().begin(), host.roles().end(), request.role()) == host.roles().end()) {
    return false;
  }
  if (request.failing_only() && host.ready()) return false;
  if (!request.host_glob().empty() &&
      fnmatch(request.host_glob().c_str(), host.host_id().c_str(), 0) != 0) {
    return false;
  }
  return true;
}

v1::CheckSummary SummarizeCheck(const v1::CheckInfo& check) {
  v1::CheckSummary out;
  out.set_id(check.id());
  out.set_title(check.title());
  out.set_severity(check.severity());
  out.set_checklist_item(check.checklist_item());
  out.set_manual(check.manual());
  return out;
}

v1::ManualItemSummary SummarizeManualItem(const v1::CheckResult& item) {
  v1::ManualItemSummary out;
  out.set_check_id(item.check().id());
  out.set_environment(item.environment());
  out.set_status(item.status());
  if (item.has_attestation()) {
    const v1::Attestation& a = item.attestation();
    out.set_attested_by(a.operator_());
    out.set_attested_at_unix_ms(a.attested_at_unix_ms());
    out.set_expires_at_unix_ms(a.expires_at_unix_ms());
    out.set_revoked(a.revoked());
    out.set_revoked_by(a.revoked_by());
  }
  return out;
}

template <typename Message>
class QueryService::PagedCall final : public grpc::ServerWriteReactor<Message> {
 public:
  // Fills the next message (on the query pool); *last: none follows.
  using Next = std::function<absl::Status(Message* message, bool* last)>;
  // Once, on the query pool, for an authorized caller: what writes the
  // messages.
  using Begin = std::function<absl::StatusOr<Next>(const PeerIdentity& caller)>;

  // Admits the caller as OnPool does (refused at once with too many calls
  // in hand), then authorizes and begins on the pool.
  PagedCall(QueryService* service, grpc::CallbackServerContext* context, const char* method,
            Begin begin)
      : service_(service) {
    auto id = IdentityFromAuthContext(*context->auth_context(),
                                      service_->state_.settings.config.trust_domain());
    caller_ = id.ok() ? id->ToString() : context->peer();
    if (!service_->Admit(caller_)) {
      service_->RefuseBusy(caller_, context->peer(), method);
      this->Finish(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("too many calls in hand for ", caller_, " (max_queries_per_identity ",
                       service_->state_.settings.config.max_queries_per_identity(),
                       "); try again")));
      return;
    }
    admitted_ = true;
    // `context` stays valid until OnDone, which is after Finish.
    service_->pool_.Post([this, context, method, begin = std::move(begin)] {
      CollectorState& state = service_->state_;
      if (state.hooks.hold_query > absl::ZeroDuration()) absl::SleepFor(state.hooks.hold_query);
      absl::StatusOr<PeerIdentity> id = service_->Authorize(context, method, Access::kRead);
      if (!id.ok()) return Done(id.status());
      absl::StatusOr<Next> next = begin(*id);
      if (!next.ok()) return Done(next.status());
      next_ = std::move(*next);
      Produce();
    });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Done(absl::CancelledError("the client is gone"));
    if (last_) return Done(absl::OkStatus());
    service_->pool_.Post([this] { Produce(); });
  }
  void OnCancel() override { cancelled_ = true; }
  void OnDone() override { delete this; }

 private:
  // On the pool: the next message, written when ready.
  void Produce() {
    if (cancelled_) return Done(absl::CancelledError("cancelled by the client"));
    message_.Clear();
    absl::Status status = next_(&message_, &last_);
    if (!status.ok()) return Done(status);
    this->StartWrite(&message_);
  }
  // Counts the call out (before Finish, as OnPool does: a caller's next call
  // is never refused for this one) and finishes it.
  void Done(const absl::Status& status) {
    if (admitted_) service_->Leave(caller_);
    this->Finish(ToGrpcStatus(status));
  }

  QueryService* service_;
  std::string caller_;
  bool admitted_ = false;
  std::atomic<bool> cancelled_{false};
  Next next_;
  Message message_;
  bool last_ = false;
};

namespace {

// Every waiver, by host, in one scan.
absl::StatusOr<std::shared_ptr<const std::map<std::string, std::vector<v1::Waiver>>>> WaiversByHost(
    Store& store) {
  ASSIGN_OR_RETURN(auto all, store.AllWaivers());
  auto out = std::make_shared<std::map<std::string, std::vector<v1::Waiver>>>();
  for (v1::Waiver& w : all) (*out)[w.host_id()].push_back(std::move(w));
  return out;
}

const std::vector<v1::Waiver>* WaiversOf(
    const std::map<std::string, std::vector<v1::Waiver>>& waivers, const std::string& host) {
  static const std::vector<v1::Waiver> kNone;
  auto it = waivers.find(host);
  return it == waivers.end() ? &kNone : &it->second;
}

}  // namespace

grpc::ServerWriteReactor<v1::FleetSummaryPage>* QueryService::GetFleetSummary(
    grpc::CallbackServerContext* context, const v1::FleetSummaryRequest* request) {
  using Call = PagedCall<v1::FleetSummaryPage>;
  return new Call(
      this, context, "GetFleetSummary",
      [this, request](const PeerIdentity&) -> absl::StatusOr<Call::Next> {
        const v1::Policy& policy = state_.settings.policy;
        ASSIGN_OR_RETURN(auto waivers, WaiversByHost(*state_.store));
        ASSIGN_OR_RETURN(auto attestations, state_.store->Attestations());
        FleetVerdict verdict(policy, kSummaryReasons);
        auto hosts = std::make_shared<std::vector<v1::HostSummary>>();
        for (const v1::InventoryHost& h : state_.settings.inventory.hosts()) {
          ASSIGN_OR_RETURN(v1::HostStatus status, HostStatusOf(h, WaiversOf(*waivers, h.id())));
          v1::HostSummary summary = SummarizeHost(status);
          verdict.AddHost(summary);
          if (MatchesFilter(*request, summary)) hosts->push_back(std::move(summary));
        }
        ASSIGN_OR_RETURN(ManagerReports managers, FromManagers());
        std::vector<v1::UnknownNode>& unknown = managers.unknown_nodes;
        for (const v1::UnknownNode& n : unknown) verdict.AddUnknownNode(n);
        const absl::Time now = state_.clock();
        v1::FleetStatus fleet;  // the header's parts, no host
        verdict.Finish(state_.registry, attestations, now, fleet.mutable_manual_items());
        FillFleetHeader(&fleet);
        auto header = std::make_shared<v1::FleetSummaryHeader>();
        header->set_ready(verdict.ready());
        for (const std::string& r : verdict.reasons()) header->add_reasons(r);
        header->set_reasons_left_out(verdict.reasons_left_out());
        *header->mutable_gating_environments() = policy.gating_environments();
        header->set_staleness_seconds(policy.staleness_seconds());
        header->set_generated_at_unix_ms(absl::ToUnixMillis(now));
        header->set_audit_head(fleet.audit_head());
        header->set_audit_entries(fleet.audit_entries());
        header->set_crl_warning(fleet.crl_warning());
        header->set_storage_error(fleet.storage_error());
        *header->mutable_cert_warnings() = fleet.cert_warnings();
        for (v1::UnknownNode& n : unknown) *header->add_unknown_nodes() = std::move(n);
        *header->mutable_countryconfig() = std::move(managers.countryconfig);
        for (const v1::CheckResult& item : fleet.manual_items()) {
          *header->add_manual_items() = SummarizeManualItem(item);
        }
        for (const Check& c : state_.registry.all()) *header->add_checks() = SummarizeCheck(c.info);
        header->set_total_hosts(static_cast<uint32_t>(state_.settings.inventory.hosts_size()));
        header->set_matched_hosts(static_cast<uint32_t>(hosts->size()));
        const size_t page = SummaryPageSize(*request);
        return
            [hosts, header, page, next = size_t{0}](v1::FleetSummaryPage* out, bool* last) mutable {
              if (next == 0) *out->mutable_header() = *header;
              const size_t end = std::min(next + page, hosts->size());
              for (; next < end; ++next) *out->add_hosts() = std::move((*hosts)[next]);
              *last = next == hosts->size();
              if (next == 0) next = hosts->size();  // an empty list: one page
              out->set_last(*last);
              return absl::OkStatus();
            };
      });
}

grpc::ServerWriteReactor<v1::FleetStatus>* QueryService::StreamFleetStatus(
    grpc::CallbackServerContext* context, const v1::FleetStatusRequest*) {
  using Call = PagedCall<v1::FleetStatus>;
  return new Call(
      this, context, "StreamFleetStatus",
      [this](const PeerIdentity&) -> absl::StatusOr<Call::Next> {
        const v1::Policy& policy = state_.settings.policy;
        ASSIGN_OR_RETURN(auto waivers, WaiversByHost(*state_.store));
        ASSIGN_OR_RETURN(auto attestations, state_.store->Attestations());
        // First pass: the verdict (and the hosts' evidence for manual items).
        FleetVerdict verdict(policy, kStreamReasons);
        for (const v1::InventoryHost& h : state_.settings.inventory.hosts()) {
          ASSIGN_OR_RETURN(v1::HostStatus status, HostStatusOf(h, WaiversOf(*waivers, h.id())));
          verdict.AddHost(SummarizeHost(status), &status.manual_evidence());
        }
        ASSIGN_OR_RETURN(ManagerReports managers, FromManagers());
        std::vector<v1::UnknownNode>& unknown = managers.unknown_nodes;
        for (const v1::UnknownNode& n : unknown) verdict.AddUnknownNode(n);
        const absl::Time now = state_.clock();
        auto header = std::make_shared<v1::FleetStatus>();
        for (v1::UnknownNode& n : unknown) *header->add_unknown_nodes() = std::move(n);
        *header->mutable_countryconfig() = std::move(managers.countryconfig);
        header->set_generated_at_unix_ms(absl::ToUnixMillis(now));
        *header->mutable_gating_environments() = policy.gating_environments();
        header->set_staleness_seconds(policy.staleness_seconds());
        verdict.Finish(state_.registry, attestations, now, header->mutable_manual_items());
        for (const std::string& r : verdict.reasons()) header->add_reasons(r);
        if (verdict.reasons_left_out() > 0) {
          header->add_reasons(absl::StrCat("... and ", verdict.reasons_left_out(),
                                           " more (`preflightctl status` lists every host)"));
        }
        header->set_ready(verdict.ready());
        FillFleetHeader(header.get());
        // Then the hosts again, a chunk per message, as they are written.
        // (A report stored meanwhile shows in its host, not in the verdict
        // above: the verdict is the one at generated_at.)
        return [this, waivers, header, sent_header = false, next = 0](
                   v1::FleetStatus* out, bool* last) mutable -> absl::Status {
          const auto& hosts = state_.settings.inventory.hosts();
          if (!sent_header) {
            *out = *header;
            sent_header = true;
          } else {
            const int end = std::min<int>(next + static_cast<int>(kFleetStatusChunk), hosts.size());
            for (; next < end; ++next) {
              ASSIGN_OR_RETURN(v1::HostStatus status,
                               HostStatusOf(hosts[next], WaiversOf(*waivers, hosts[next].id())));
              // Parameters are for `preflightctl host`, as in GetFleetStatus.
              for (v1::CheckResult& c : *status.mutable_checks()) c.clear_params();
              *out->add_hosts() = std::move(status);
            }
          }
          *last = next == hosts.size();
          return absl::OkStatus();
        };
      });
}

}  // namespace preflight::collector
