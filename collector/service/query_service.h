// The Query service preflightctl uses: operators and auditors may read;
// agents (host certificates) are refused.
#ifndef PREFLIGHT_COLLECTOR_SERVICE_QUERY_SERVICE_H_
#define PREFLIGHT_COLLECTOR_SERVICE_QUERY_SERVICE_H_

#include "collector/service/collector_state.h"
#include "preflight/v1/query.grpc.pb.h"
#include "proto/wire/identity.h"

namespace preflight::collector {

class QueryService final : public v1::Query::CallbackService {
 public:
  explicit QueryService(CollectorState& state) : state_(state) {}

  grpc::ServerUnaryReactor* GetFleetStatus(grpc::CallbackServerContext* context,
                                           const v1::FleetStatusRequest* request,
                                           v1::FleetStatus* response) override;
  grpc::ServerUnaryReactor* GetHost(grpc::CallbackServerContext* context,
                                    const v1::HostRequest* request,
                                    v1::HostStatus* response) override;
  grpc::ServerUnaryReactor* ListChecks(grpc::CallbackServerContext* context,
                                       const v1::ListChecksRequest* request,
                                       v1::CheckCatalogue* response) override;

 private:
  // OK for operators and auditors; the refusal is logged.
  absl::StatusOr<PeerIdentity> AuthorizeRead(grpc::CallbackServerContext* context,
                                             absl::string_view method);
  absl::StatusOr<v1::HostStatus> HostStatusOf(const v1::InventoryHost& host);

  CollectorState& state_;
};

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_QUERY_SERVICE_H_
