// The Query service preflightctl uses: operators and auditors may read;
// only operators may change anything (attest, waive, refresh); agents (host
// certificates) are refused. Every change and every refusal is audited.
// Each handler only hands the call to the query pool, which authorizes,
// answers and finishes it (threading model: collector_state.h).
#ifndef PREFLIGHT_COLLECTOR_SERVICE_QUERY_SERVICE_H_
#define PREFLIGHT_COLLECTOR_SERVICE_QUERY_SERVICE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "collector/service/collector_state.h"
#include "collector/service/ingest_service.h"
#include "collector/service/manager_reports.h"
#include "preflight/v1/query.grpc.pb.h"
#include "proto/wire/identity.h"

namespace preflight::collector {

class QueryService final : public v1::Query::CallbackService {
 public:
  // The query pool's threads start here and are joined (after the calls
  // in hand are answered) when the service goes, after the server.
  QueryService(CollectorState& state, IngestService* ingest)
      : state_(state), ingest_(ingest), pool_(kPoolThreads) {}

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
  // fleet_summary.cc: the fleet verdict and host summaries in pages, and the
  // full fleet status in bounded messages (export).
  grpc::ServerWriteReactor<v1::FleetSummaryPage>* GetFleetSummary(
      grpc::CallbackServerContext* context, const v1::FleetSummaryRequest* request) override;
  grpc::ServerWriteReactor<v1::FleetStatus>* StreamFleetStatus(
      grpc::CallbackServerContext* context, const v1::FleetStatusRequest* request) override;

 private:
  static constexpr int kPoolThreads = 2;
  enum class Access { kRead, kChange };
  using Body = std::function<absl::Status(const PeerIdentity& caller)>;

  // On the query pool: authorizes the caller for `access`, runs `body`, and
  // finishes the call with the status. Returns the call's reactor at once.
  // A caller with max_queries_per_identity calls in hand already is refused
  // at once, on the gRPC thread, without queueing (see Admit).
  grpc::ServerUnaryReactor* OnPool(grpc::CallbackServerContext* context, const char* method,
                                   Access access, Body body);
  // Reads: operators and auditors. Changes: operators only. A refusal is
  // logged and audited (a synced write: query pool only).
  absl::StatusOr<PeerIdentity> Authorize(grpc::CallbackServerContext* context,
                                         absl::string_view method, Access access);
  // `waivers`: the host's, when the caller has them already (fleet status);
  // otherwise they are read.
  absl::StatusOr<v1::HostStatus> HostStatusOf(const v1::InventoryHost& host,
                                              const std::vector<v1::Waiver>* waivers = nullptr);
  // What manual item `check`'s own evidence on `environment`'s hosts says
  // against signing it off (EvidenceAgainst): empty when nothing.
  absl::Status EvidenceAgainstSignoff(const Check& check, const std::string& environment,
                                      std::vector<std::string>* against);

  // A server-streaming call run like OnPool: admitted on the gRPC thread,
  // authorized and computed on the query pool, each message produced on the
  // pool and written one at a time (fleet_summary.cc).
  template <typename Message>
  class PagedCall;
  // From the latest facts of the inventory's managers (hosts with the role
  // "manager": a swarm's nodes and services are listed by its managers
  // only), read once: the swarm nodes no inventory host accounts for
  // (FindUnknownNodes) and production's country configuration against
  // staging's (CompareCountryconfig).
  absl::StatusOr<ManagerReports> FromManagers();
  // Everything of the fleet status but the hosts and what the verdict says
  // (audit head, CRL, certificate and storage warnings), read now.
  void FillFleetHeader(v1::FleetStatus* fleet);
  // The largest GetFleetStatus reply: preflightctl accepts 16 MiB.
  static constexpr size_t kMaxFleetStatusBytes = (16u << 20) - (64u << 10);

  // Counts a call of `caller` (its certificate's identity, else its address)
  // in; false, and nothing counted, when it has max_queries_per_identity in
  // hand already. Leave() counts one out.
  bool Admit(const std::string& caller) ABSL_LOCKS_EXCLUDED(in_hand_mu_);
  void Leave(const std::string& caller) ABSL_LOCKS_EXCLUDED(in_hand_mu_);
  // Logs and (on the pool) audits a refusal by Admit, once per caller per
  // minute.
  void RefuseBusy(const std::string& caller, const std::string& peer, const char* method);

  CollectorState& state_;
  IngestService* ingest_;
  absl::Mutex in_hand_mu_;
  absl::flat_hash_map<std::string, int> in_hand_ ABSL_GUARDED_BY(in_hand_mu_);
  RefusalLimiter busy_refusals_{absl::Minutes(1)};
  // Attest and Waive each read what is in force, then write: one at a time.
  absl::Mutex change_mu_;
  // Last, so it goes first: its destructor answers the calls in hand, which
  // use the members above.
  WorkerPool pool_;
};

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_QUERY_SERVICE_H_
