// Client certificates refused at the TLS handshake (proto/wire/tls_verifier.h):
// each is logged and written to the audit trail, but a storm of them (a
// scanner, a fleet with a wrong CA) cannot fill either: at most one entry per
// certificate and reason per minute, and at most kMaxPerMinute in all; what
// was held back is counted in the next entry that gets through.
#ifndef PREFLIGHT_COLLECTOR_SERVICE_HANDSHAKE_REFUSALS_H_
#define PREFLIGHT_COLLECTOR_SERVICE_HANDSHAKE_REFUSALS_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/service/collector_state.h"
#include "proto/wire/tls_verifier.h"

namespace preflight::collector {

class HandshakeRefusals {
 public:
  static constexpr int kMaxPerMinute = 30;

  // `state.pool` and `state.store` must outlive every call (the server, which
  // calls, is shut down before they go).
  explicit HandshakeRefusals(CollectorState& state) : state_(state) {}

  // On a gRPC handshake thread: logs now, posts the audit entry to the
  // ingest pool (never touches RocksDB itself).
  void Refused(const TlsRefusal& refusal) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  CollectorState& state_;
  RefusalLimiter per_certificate_{absl::Minutes(1)};
  absl::Mutex mu_;
  absl::Time window_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int in_window_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t held_back_ ABSL_GUARDED_BY(mu_) = 0;  // since the last entry let through
};

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_HANDSHAKE_REFUSALS_H_
