// The agent's delivery loop: collect into the spool, stream spooled reports to
// the collector over one mutual-TLS bidirectional stream, delete what is
// acked, reconnect with jittered exponential backoff.
#ifndef PREFLIGHT_AGENT_CLIENT_AGENT_LOOP_H_
#define PREFLIGHT_AGENT_CLIENT_AGENT_LOOP_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/facts/fact_collector.h"
#include "agent/host/host_env.h"
#include "agent/spool/spool.h"
#include "preflight/v1/config.pb.h"
#include "preflight/v1/ingest.grpc.pb.h"

namespace preflight::agent {

// The delay before reconnect attempt `attempt` (0-based): exponential from
// `initial`, capped at `max`, scaled by a random factor in [0.5, 1.0).
absl::Duration Backoff(int attempt, absl::Duration initial, absl::Duration max,
                       std::mt19937_64& rng);

class AgentLoop {
 public:
  AgentLoop(v1::AgentConfig config, HostEnv& env, Spool& spool,
            std::shared_ptr<grpc::Channel> channel);

  // Collects one report into the spool.
  absl::Status CollectIntoSpool();

  // --once: collect, then deliver until every spooled report is acked, retrying
  // with backoff until the config's ack timeout. OK only if all were acked.
  absl::Status RunOnce();

  // Runs until Stop(): collects every interval (and when the collector asks),
  // keeps a stream open and reconnects with backoff.
  void RunForever();

  // Thread-safe; makes RunForever/RunOnce return soon.
  void Stop();

 private:
  enum class Mode { kUntilDrained, kForever };
  // One stream session. Returns the stream's final status; OK when drained
  // (kUntilDrained) or stopped.
  absl::Status Session(Mode mode, absl::Time deadline, absl::Time& next_collect, bool& welcomed);
  bool SleepUnlessStopped(absl::Duration d);  // false when stopped

  v1::AgentConfig config_;
  HostEnv& env_;
  Spool& spool_;
  std::unique_ptr<v1::Ingest::Stub> stub_;
  std::vector<std::unique_ptr<FactCollector>> collectors_;
  CollectOptions options_;
  std::mt19937_64 rng_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool collect_requested_ = false;
  grpc::ClientContext* live_context_ = nullptr;  // for Stop() to cancel
};

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_CLIENT_AGENT_LOOP_H_
