// The Ingest service: one callback-API bidirectional stream per agent.
// Identity comes from the client certificate; each report is evaluated and
// stored on the worker pool, and acked only after the synced write. The next
// read starts only when the previous report is stored (back-pressure).
#ifndef PREFLIGHT_COLLECTOR_SERVICE_INGEST_SERVICE_H_
#define PREFLIGHT_COLLECTOR_SERVICE_INGEST_SERVICE_H_

#include <map>
#include <mutex>
#include <string>

#include "collector/service/collector_state.h"
#include "preflight/v1/ingest.grpc.pb.h"

namespace preflight::collector {

class IngestReactor;

class IngestService final : public v1::Ingest::CallbackService {
 public:
  explicit IngestService(CollectorState& state) : state_(state) {}

  grpc::ServerBidiReactor<v1::AgentMessage, v1::CollectorMessage>* Stream(
      grpc::CallbackServerContext* context) override;

  // Asks the connected agent of `host` to collect now. False if not connected.
  bool RequestCollect(const std::string& host, const std::string& requested_by);
  size_t connected() const;

 private:
  friend class IngestReactor;
  void Register(const std::string& host, IngestReactor* reactor);
  void Unregister(const std::string& host, IngestReactor* reactor);

  CollectorState& state_;
  mutable std::mutex mu_;
  std::map<std::string, IngestReactor*> streams_;
};

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_INGEST_SERVICE_H_
