// The Query service preflightctl uses: operators and auditors may read;
// only operators may change anything (attest, waive, refresh); agents (host
// certificates) are refused. Every change and every refusal is audited.
#ifndef PREFLIGHT_COLLECTOR_SERVICE_QUERY_SERVICE_H_
#define PREFLIGHT_COLLECTOR_SERVICE_QUERY_SERVICE_H_

#include "collector/service/collector_state.h"
#include "collector/service/ingest_service.h"
#include "preflight/v1/query.grpc.pb.h"
#include "proto/wire/identity.h"

namespace preflight::collector {

class QueryService final : public v1::Query::CallbackService {
 public:
  QueryService(CollectorState& state, IngestService* ingest) : state_(state), ingest_(ingest) {}

  grpc::ServerUnaryReactor* GetFleetStatus(grpc::CallbackServerContext* context,
                                           const v1::FleetStatusRequest* request,
                                           v1::FleetStatus* response) override;
  grpc::ServerUnaryReactor* GetHost(grpc::CallbackServerContext* context,
                                    const v1::HostRequest* request,
                                    v1::HostStatus* response) override;
  grpc::ServerUnaryReactor* ListChecks(grpc::CallbackServerContext* context,
                                       const v1::ListChecksRequest* request,
                                       v1::CheckCatalogue* response) override;
  grpc::ServerUnaryReactor* Attest(grpc::CallbackServerContext* context,
                                   const v1::AttestRequest* request,
                                   v1::Attestation* response) override;
  grpc::ServerUnaryReactor* Waive(grpc::CallbackServerContext* context,
                                  const v1::WaiveRequest* request, v1::Waiver* response) override;
  grpc::ServerUnaryReactor* History(grpc::CallbackServerContext* context,
                                    const v1::HistoryRequest* request,
                                    v1::HistoryResponse* response) override;
  grpc::ServerUnaryReactor* Diff(grpc::CallbackServerContext* context,
                                 const v1::DiffRequest* request,
                                 v1::DiffResponse* response) override;
  grpc::ServerUnaryReactor* Audit(grpc::CallbackServerContext* context,
                                  const v1::AuditRequest* request,
                                  v1::AuditResponse* response) override;
  grpc::ServerUnaryReactor* Refresh(grpc::CallbackServerContext* context,
                                    const v1::RefreshRequest* request,
                                    v1::RefreshResponse* response) override;

 private:
  // OK for operators and auditors; the refusal is logged.
  absl::StatusOr<PeerIdentity> AuthorizeRead(grpc::CallbackServerContext* context,
                                             absl::string_view method);
  // OK for operators only; the refusal is logged and audited.
  absl::StatusOr<PeerIdentity> AuthorizeChange(grpc::CallbackServerContext* context,
                                               absl::string_view method);
  absl::StatusOr<PeerIdentity> Authorize(grpc::CallbackServerContext* context,
                                         absl::string_view method, bool change);
  // `waivers`: the host's, when the caller has them already (fleet status);
  // otherwise they are read.
  absl::StatusOr<v1::HostStatus> HostStatusOf(const v1::InventoryHost& host,
                                              const std::vector<v1::Waiver>* waivers = nullptr);

  CollectorState& state_;
  IngestService* ingest_;
};

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_QUERY_SERVICE_H_
