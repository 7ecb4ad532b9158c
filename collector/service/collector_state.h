// What the collector's services share: settings, the check registry, the
// store, the worker pool, the clock and test hooks.
//
// THREADING MODEL of preflight-collector (the contract; code in this
// directory, store/ and audit/ keeps it, and clang's -Wthread-safety checks
// the locking part: deploy/ci-clang.sh builds with -Werror=thread-safety).
//
// Threads
//   main         loads the configuration, opens the store, audits config
//                changes, starts the gRPC server, then waits for SIGTERM or
//                SIGINT, pruning history hourly (Store::Prune), and every 2 s:
//                Store::TryRecover (a storage error clears by reopening the
//                database), the health (log, grpc.health.v1, health_file) and
//                the listener: if gRPC gave it up (listener.h), main shuts the
//                server down and builds a new one on the same port. On a
//                signal: Server::Shutdown + Wait (every call finishes, which
//                needs the pools below), then the ingest pool and the store go.
//   gRPC         gRPC's own threads (pollers, handshakers and the callback
//                executor; gRPC sizes them). A handshake's client certificate
//                is judged there (proto/wire/tls_verifier.h); a refusal is
//                logged there and its audit entry posted to the ingest pool
//                (HandshakeRefusals). They run IngestService::Stream (the reactor's
//                constructor), the reactions (OnReadDone, OnWriteDone,
//                OnCancel, OnDone) and the QueryService handlers. A reaction
//                is fast: it changes the reactor's state under its mutex,
//                starts the next gRPC operation, or posts work to a pool (a
//                message read is posted as its bytes, not parsed there). It never touches
//                RocksDB (no read, no synced write, no audit entry), never
//                evaluates checks, never builds the fleet status, never
//                reads a file (the CRL) and never sleeps.
//   ingest pool  CollectorState::pool, worker_threads of them (default 4
//                per core, DefaultWorkerThreads in config.h: a worker mostly
//                waits for its synced write, and the writes that wait
//                together are group-committed by RocksDB, one sync for all).
//                Admits a stream (identity, revocation: the CRL may be
//                re-read; inventory), audits refusals, parses each message
//                read (so a refresh of thousands queues bytes, not parsed
//                reports), evaluates and stores a report (Store::Ingest: one
//                synced write), then acks it and
//                starts the next read from that thread. One report per
//                stream at a time, so a stream never holds more than one
//                worker.
//   query pool   owned by QueryService (2 threads). Every Query RPC runs
//                there whole: authorization (a refusal is audited, a synced
//                write), store reads and scans, attestations and waivers
//                (synced write + audit entry), the fleet status, audit
//                verification, refresh (it queues a collect request on each
//                agent's stream); the reply is finished from there
//                (ServerUnaryReactor::Finish may be called from any thread).
//                A pool of its own, so that an operator's fleet build never
//                delays an agent's ack, nor a backlog of reports a query.
//   RocksDB      its own flush and compaction threads.
//
// Shared state and its locks (all absl::Mutex, none recursive; a lock
// higher in this list may be held while taking one lower, never the
// reverse)
//   IngestService::mu_     which reactor streams for which host
//                          (RequestCollect sends to a reactor holding it).
//   IngestReactor::mu_     one stream's outgoing queue and life: writes in
//                          flight, tasks in flight, finishing. StartRead,
//                          StartWrite and Finish are called holding it: gRPC
//                          never runs a reaction inline from those calls
//                          (read and write reactions are not inlineable; a
//                          finished call's OnDone is scheduled, not run), so
//                          a plain mutex suffices. OnDone takes it once
//                          before deleting the reactor, so a worker that
//                          called Finish has let go of it first. Nothing is
//                          posted to a pool while it is held.
//   QueryService::change_mu_  one attestation or waiver change at a time
//                          (each reads what is in force, then writes).
//   Store::db_mu_          held shared by every store call, exclusively by
//                          Store::TryRecover while it reopens the database;
//                          taken before the host locks and audit_mu_.
//   Store host locks       one ingest per host at a time (the host's latest
//                          facts and verdicts are read, then replaced).
//   Store::audit_mu_       the audit chain's head; held across the synced
//                          write of any batch carrying audit entries, so the
//                          chain is written in order.
//   WorkerPool::mu_        a pool's queue (a leaf: nothing is taken under it).
//   RevocationChecker, RefusalLimiter, HandshakeRefusals, Store::health_mu_,
//                          the gRPC log hook's (listener.cc): leaves.
//   ReportBudget (CollectorState::report_budget): a leaf; RequestCollect grants a
//                          credit holding IngestService::mu_, the ingest
//                          pool takes a token before Store::Ingest.
//   Store::transition_audit_mu_  a leaf, taken under a host lock and let go
//                          before audit_mu_.
//   CollectorState         written by main before the server starts and
//                          read-only afterwards, so unlocked: config_path,
//                          settings, registry, host_index, hooks. `clock`
//                          must be callable from any thread. `store`,
//                          `revocation`, `crl_refusals` and `report_budget`
//                          lock inside.
//
// Revocation reaches open streams: every report and every query checks the
// peer's serial against the CRL in force (re-read when the file changed),
// and main calls IngestService::EnforceRevocation every few seconds, which
// re-reads a changed CRL and cancels the open streams it now refuses.
#ifndef PREFLIGHT_COLLECTOR_SERVICE_COLLECTOR_STATE_H_
#define PREFLIGHT_COLLECTOR_SERVICE_COLLECTOR_STATE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/checks/check.h"
#include "collector/config.h"
#include "collector/service/report_budget.h"
#include "collector/service/worker_pool.h"
#include "collector/store/store.h"
#include "proto/wire/revocation.h"

namespace preflight::collector {

// Fault injection for durability tests; zero in production.
struct TestHooks {
  absl::Duration hold_before_store;  // after a report is received
  absl::Duration hold_before_ack;    // after it is durably stored
  absl::Duration hold_query;         // before a preflightctl call is answered
};

// At most one pass per key per `window`: refusals for an expired or unusable
// CRL refuse everybody, and each would be a log line and a synced audit
// entry, so they are logged and audited once per identity per window.
class RefusalLimiter {
 public:
  explicit RefusalLimiter(absl::Duration window) : window_(window) {}
  // True if `key` has not passed within the window before `now`; then
  // `suppressed` (if set) is how many refusals were not let through since.
  bool Allow(const std::string& key, absl::Time now, int64_t* suppressed = nullptr)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    absl::Time last;
    int64_t suppressed = 0;
  };
  const absl::Duration window_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> seen_ ABSL_GUARDED_BY(mu_);
};

struct CollectorState {
  std::string config_path;
  CollectorSettings settings;
  CheckRegistry registry;
  std::unique_ptr<Store> store;
  // The ingest pool (see above); it must outlive the gRPC server.
  std::unique_ptr<WorkerPool> pool;
  TestHooks hooks;
  // Called from every thread; absl::Now() unless a test fixes the time.
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Revoked client certificates (tls.crl_file); checking is off when unset.
  std::unique_ptr<RevocationChecker> revocation;
  // Refusals because of the CRL's state (expired, unusable): one log line and
  // audit entry per identity per minute.
  RefusalLimiter crl_refusals{absl::Minutes(1)};
  // Reports per host (collector config max_reports_per_minute, report_burst;
  // IngestService applies them); RequestCollect grants a host a credit. Here
  // and not in IngestService, so that a reload keeps what each host spent.
  ReportBudget report_budget{0, 0};

  // The CRL in force (never reads the file; any thread), e.g. for a health
  // check: CrlWarning(CrlStateNow()) is empty while all is well.
  CrlState CrlStateNow() const;

  // The inventory entry of `host`, or nullptr. O(1) once IndexHosts() ran
  // (main does, after loading the settings; 10,000 hosts are expected).
  const v1::InventoryHost* FindHost(absl::string_view host) const;
  void IndexHosts();
  // The errors for a host that FindHost() does not know (NOT_FOUND) and a
  // check id that the registry does not know (INVALID_ARGUMENT), each with
  // "did you mean ...?" when an inventory host or a check id is near: every
  // Query call that takes a host or a check answers with these.
  absl::Status UnknownHost(absl::string_view host) const;
  absl::Status UnknownCheck(absl::string_view check) const;
  absl::flat_hash_map<std::string, const v1::InventoryHost*> host_index;
};

// One log line on stderr: "<UTC time> preflight-collector: <message>".
void Log(absl::string_view message);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_COLLECTOR_STATE_H_
