// The agent's delivery loop: collect into the spool, stream spooled reports to
// the collector over one mutual-TLS bidirectional stream, delete what is
// acked, reconnect with jittered exponential backoff.
//
// Threads: the caller of RunOnce/RunForever collects and writes to the
// stream; during a session one reader thread reads the stream (acks, welcome,
// collect requests); Stop() may come from any thread (main's signal thread).
// They share the fields guarded by mu_; the spool locks inside (taken under
// mu_, never the reverse).
#ifndef PREFLIGHT_AGENT_CLIENT_AGENT_LOOP_H_
#define PREFLIGHT_AGENT_CLIENT_AGENT_LOOP_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
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

// When the collector says to retry: its report budget refuses a report with
// RESOURCE_EXHAUSTED and "... retry in <N>s". Zero for any other status.
absl::Duration RetryAfter(const absl::Status& status);

class AgentLoop {
 public:
  AgentLoop(v1::AgentConfig config, HostEnv& env, Spool& spool,
            std::shared_ptr<grpc::Channel> channel);

  // Collects one report into the spool.
  absl::Status CollectIntoSpool();

  // --once: collect, then deliver until every spooled report is acked, retrying
  // with backoff until the config's ack timeout. OK only if all were acked.
  absl::Status RunOnce() ABSL_LOCKS_EXCLUDED(mu_);

  // Runs until Stop(): collects every interval (and when the collector asks),
  // keeps a stream open and reconnects with backoff.
  void RunForever() ABSL_LOCKS_EXCLUDED(mu_);

  // Thread-safe; makes RunForever/RunOnce return soon.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  enum class Mode { kUntilDrained, kForever };
  // One stream session. Returns the stream's final status; OK when drained
  // (kUntilDrained) or stopped.
  absl::Status Session(Mode mode, absl::Time deadline, absl::Time& next_collect, bool& welcomed)
      ABSL_LOCKS_EXCLUDED(mu_);
  // RunOnce's delivery: sessions until every spooled report is acked or the
  // ack timeout passes.
  absl::Status DeliverOnce() ABSL_LOCKS_EXCLUDED(mu_);
  // After a stream the collector ended with RESOURCE_EXHAUSTED for a message
  // over its size limit: sets aside the report it refused (of `sent`,
  // sequence and message size, those still pending) as .refused, so later
  // reports are not stuck behind it. True when one was set aside.
  bool SetAsideRefused(const grpc::Status& status,
                       const std::vector<std::pair<uint64_t, size_t>>& sent);
  bool SleepUnlessStopped(absl::Duration d) ABSL_LOCKS_EXCLUDED(mu_);  // false when stopped
  bool Stopped() ABSL_LOCKS_EXCLUDED(mu_);

  std::string HintsPath() const;

  // The TLS files (cert_file, key_file, ca_file) as they are on disk now,
  // concatenated; "" if one cannot be read.
  std::string ReadTlsFiles() const;
  // Delivery thread: true when the TLS files differ from those the channel
  // was made with (a renewed certificate, a new CA bundle).
  bool TlsFilesChanged();
  // Delivery thread, between sessions: if the TLS files changed and make a
  // usable pair (the key is the certificate's), a new channel with them
  // replaces the old one, and the new certificate's serial and notAfter are
  // logged. Otherwise the old channel stays (and this is retried later).
  void ReloadTlsIfChanged();

  v1::AgentConfig config_;
  HostEnv& env_;
  Spool& spool_;
  std::unique_ptr<v1::Ingest::Stub> stub_;
  // What ReadTlsFiles gave when the channel was made (delivery thread only).
  std::string tls_loaded_;
  // The files as last found unusable (a certificate without its key yet):
  // not a change to reconnect for until they change again.
  std::string tls_rejected_;
  std::vector<std::unique_ptr<FactCollector>> collectors_;
  CollectOptions options_;
  std::mt19937_64 rng_;
  // Reports the collector refused as too large (delivery thread only).
  std::vector<uint64_t> refused_;

  // absl::Mutex re-evaluates the conditions waited for (Await) whenever it
  // is released, so there is no condition variable to signal.
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool collect_requested_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* live_context_ ABSL_GUARDED_BY(mu_) = nullptr;  // for Stop() to cancel
  // The session's reader thread: the stream has ended; the collector said welcome.
  bool read_done_ ABSL_GUARDED_BY(mu_) = false;
  bool welcomed_ ABSL_GUARDED_BY(mu_) = false;
  // The hostnames the collector's welcome named (the policy's tls_hostnames
  // for this host), kept in <spool>/collector-tls-hostnames across restarts;
  // collected besides the configured ones. Changed: the last report was
  // collected without them.
  std::vector<std::string> collector_tls_hostnames_ ABSL_GUARDED_BY(mu_);
  bool tls_hostnames_changed_ ABSL_GUARDED_BY(mu_) = false;

  // Applies a welcome's names; true when one of them is new to this agent
  // (neither configured nor sent before), so the last report lacks it.
  bool TakeTlsHostnames(const v1::Welcome& welcome) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
};

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_CLIENT_AGENT_LOOP_H_
