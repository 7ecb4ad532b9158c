// The Ingest service: one callback-API bidirectional stream per agent.
// Identity comes from the client certificate; the stream is admitted, each
// report evaluated and stored, and every refusal audited on the ingest pool
// (threading model: collector_state.h). A report is acked only after the
// synced write. The next read starts only when the previous report is stored
// (back-pressure).
#ifndef PREFLIGHT_COLLECTOR_SERVICE_INGEST_SERVICE_H_
#define PREFLIGHT_COLLECTOR_SERVICE_INGEST_SERVICE_H_

#include <grpcpp/generic/async_generic_service.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "collector/service/collector_state.h"
#include "preflight/v1/ingest.grpc.pb.h"
#include "proto/wire/revocation.h"

namespace preflight::collector {

class IngestReactor;

// preflight.v1.Ingest/Stream as a generic (raw bytes) callback service,
// registered with ServerBuilder::RegisterCallbackGenericService: the reactor
// parses each message itself (on the ingest pool), so an unparsable one is refused with a reason
// (INVALID_ARGUMENT), logged and audited. On the wire it is the service of
// ingest.proto; agents use its generated stub.
class IngestService final : public grpc::CallbackGenericService {
 public:
  static constexpr char kStreamMethod[] = "/preflight.v1.Ingest/Stream";

  // Applies the settings' report budget to the collector's (which outlives
  // this service: a reload builds a new one).
  explicit IngestService(CollectorState& state) : state_(state) {
    state_.report_budget.SetLimits(state_.settings.config.max_reports_per_minute(),
                                   state_.settings.config.report_burst());
  }

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override;

  // Asks the connected agent of `host` to collect now. False if not
  // connected. Any thread; it only queues a message on the stream.
  bool RequestCollect(const std::string& host, const std::string& requested_by)
      ABSL_LOCKS_EXCLUDED(mu_);
  size_t connected() const ABSL_LOCKS_EXCLUDED(mu_);

  // Main thread, every few seconds: re-reads the CRL if the file changed
  // (or its nextUpdate passed) and, if so, ends every open stream whose
  // certificate it now refuses (PERMISSION_DENIED, audited once per stream).
  // Returns how many streams it ended.
  int EnforceRevocation() ABSL_LOCKS_EXCLUDED(mu_);

  // The client certificate of a host's latest admitted stream since the
  // collector started, as read at the handshake; nullopt if none yet.
  std::optional<CertSummary> CertificateOf(const std::string& host) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class IngestReactor;
  void Register(const std::string& host, IngestReactor* reactor) ABSL_LOCKS_EXCLUDED(mu_);
  void Unregister(const std::string& host, IngestReactor* reactor) ABSL_LOCKS_EXCLUDED(mu_);
  void RecordCertificate(const std::string& host, CertSummary cert) ABSL_LOCKS_EXCLUDED(mu_);

  CollectorState& state_;
  // Taken before any IngestReactor's mutex, never after.
  mutable absl::Mutex mu_;
  std::map<std::string, IngestReactor*> streams_ ABSL_GUARDED_BY(mu_);
  // Every admitted stream not yet done (a host may briefly have two).
  std::set<IngestReactor*> open_ ABSL_GUARDED_BY(mu_);
  // The open streams of each host, oldest first (max_streams_per_host).
  absl::flat_hash_map<std::string, std::vector<IngestReactor*>> per_host_ ABSL_GUARDED_BY(mu_);
  // The CRL EnforceRevocation last judged the open streams by.
  uint64_t enforced_generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool enforced_expired_ ABSL_GUARDED_BY(mu_) = false;
  // CertificateOf.
  absl::flat_hash_map<std::string, CertSummary> certs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_INGEST_SERVICE_H_
