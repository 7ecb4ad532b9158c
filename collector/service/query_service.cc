#include "collector/service/query_service.h"

#include "absl/strings/str_cat.h"
#include "collector/readiness/engine.h"
#include "proto/wire/status.h"

namespace preflight::collector {

absl::StatusOr<PeerIdentity> QueryService::AuthorizeRead(grpc::CallbackServerContext* context,
                                                         absl::string_view method) {
  auto id =
      IdentityFromAuthContext(*context->auth_context(), state_.settings.config.trust_domain());
  absl::Status refusal;
  if (!id.ok()) {
    refusal = id.status();
  } else if (id->kind != PeerIdentity::Kind::kOperator &&
             id->kind != PeerIdentity::Kind::kAuditor) {
    refusal = absl::PermissionDeniedError(
        absl::StrCat(id->ToString(), " may not call ", method,
                     ": only operators and auditors may query the collector"));
  }
  if (!refusal.ok()) {
    Log(absl::StrCat("refused ", context->peer(), " ", method, ": ", refusal.message()));
    return refusal;
  }
  return id;
}

absl::StatusOr<v1::HostStatus> QueryService::HostStatusOf(const v1::InventoryHost& host) {
  ASSIGN_OR_RETURN(auto latest, state_.store->LatestVerdicts(host.id()));
  return BuildHostStatus(state_.registry, host, state_.settings.policy, latest, state_.clock());
}

grpc::ServerUnaryReactor* QueryService::GetFleetStatus(grpc::CallbackServerContext* context,
                                                       const v1::FleetStatusRequest*,
                                                       v1::FleetStatus* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status status = AuthorizeRead(context, "GetFleetStatus").status();
  if (status.ok()) {
    std::vector<v1::HostStatus> hosts;
    for (const v1::InventoryHost& h : state_.settings.inventory.hosts()) {
      auto hs = HostStatusOf(h);
      if (!hs.ok()) {
        status = hs.status();
        break;
      }
      hosts.push_back(std::move(*hs));
    }
    if (status.ok()) {
      *response = BuildFleetStatus(state_.registry, state_.settings.policy, std::move(hosts),
                                   state_.clock());
    }
  }
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* QueryService::GetHost(grpc::CallbackServerContext* context,
                                                const v1::HostRequest* request,
                                                v1::HostStatus* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status status = AuthorizeRead(context, "GetHost").status();
  if (status.ok()) {
    const v1::InventoryHost* host = state_.FindHost(request->host_id());
    if (host == nullptr) {
      status = absl::NotFoundError(
          absl::StrCat("host '", request->host_id(), "' is not in the inventory"));
    } else {
      auto hs = HostStatusOf(*host);
      status = hs.status();
      if (hs.ok()) *response = std::move(*hs);
    }
  }
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* QueryService::ListChecks(grpc::CallbackServerContext* context,
                                                   const v1::ListChecksRequest*,
                                                   v1::CheckCatalogue* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status status = AuthorizeRead(context, "ListChecks").status();
  if (status.ok()) {
    for (const Check& c : state_.registry.all()) *response->add_checks() = c.info;
  }
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace preflight::collector
