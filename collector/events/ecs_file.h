// The event file: the store's event log and audit trail as JSON lines in
// Elastic Common Schema (ECS), for OpenCRVS's Filebeat to ship as they are
// (deploy/filebeat/preflight-events.yml; README "Events for Elasticsearch").
//
// One line per event (Store::EventsAfter) and per audit entry
// (Store::AuditEntries), each stream in its own order, after its own durable
// cursor in the store's state family. A batch is appended with one write,
// fdatasync'ed, and only then are the cursors moved (one synced WriteState):
// at-least-once. A line written again (a crash between the fsync and the
// cursor, a copytruncate that may have lost it) carries the same event.id,
// which Filebeat's ndjson document_id turns into the same Elasticsearch
// document, so the index holds it once.
//
// Rotation: the file is opened O_APPEND|O_CREAT. Before each batch the path
// is stat'ed and reopened when its inode changed or it is gone (logrotate
// `create`); with `copytruncate` O_APPEND keeps writing at the new end, and a
// file shorter than what was written last means it was truncated since: the
// lines of the last kTruncationRewrite are written again, since logrotate's
// copy may have been taken before them.
//
// Errors (a full disk, a missing directory, a path that cannot be opened)
// are logged once per episode as UNAVAILABLE; a partly written batch is cut
// off again; the cursors stay and the batch is retried at the next poll.
// Nothing here ends the process.
#ifndef PREFLIGHT_COLLECTOR_EVENTS_ECS_FILE_H_
#define PREFLIGHT_COLLECTOR_EVENTS_ECS_FILE_H_

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/audit/audit_chain.h"
#include "collector/checks/check.h"
#include "collector/store/store.h"
#include "preflight/v1/config.pb.h"
#include "preflight/v1/events.pb.h"

namespace preflight::collector {

// The ECS version the lines follow (ecs.version).
inline constexpr absl::string_view kEcsVersion = "8.11.0";

// What a line says besides the event itself.
struct EcsContext {
  // preflight.collector and labels.collector: which collector wrote it (its
  // trust domain), so that one Kibana view tells many collectors apart.
  std::string collector;
  // observer.hostname: the machine the collector runs on.
  std::string observer;
  // check id -> catalogue entry (rule.name, rule.category); may be null.
  const CheckRegistry* registry = nullptr;
  // host id -> inventory entry (environment, roles), for events that carry
  // only the host.
  absl::flat_hash_map<std::string, v1::InventoryHost> hosts;
};

// One ECS JSON line (without the newline) for `event` / `audit`, written at
// `now` (event.created). Pure; the test reads them back with a JSON parser.
std::string EcsLineOfEvent(const v1::Event& event, const EcsContext& context, absl::Time now);
std::string EcsLineOfAudit(const StoredAuditEntry& audit, const EcsContext& context,
                           absl::Time now);

class EcsEventFile {
 public:
  using Log = std::function<void(absl::string_view)>;
  using Clock = std::function<absl::Time()>;

  // Lines of at most this many events (and as many audit entries) per batch.
  static constexpr size_t kBatch = 1000;
  // After a truncation (copytruncate) the lines written within this long
  // before it are written again.
  static constexpr absl::Duration kTruncationRewrite = absl::Seconds(10);
  // The state keys of the cursors (decimal numbers).
  static constexpr absl::string_view kEventCursor = "events-file/event-cursor";
  static constexpr absl::string_view kAuditCursor = "events-file/audit-cursor";

  // `path` must not be empty. `store` must outlive this.
  EcsEventFile(Store& store, std::string path, EcsContext context, Clock clock, Log log);
  ~EcsEventFile();  // Stop()
  EcsEventFile(const EcsEventFile&) = delete;
  EcsEventFile& operator=(const EcsEventFile&) = delete;

  // Writes what is new every `poll` on a thread of its own until Stop.
  void Start(absl::Duration poll = absl::Seconds(1)) ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the thread (after the batch in hand); idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // SIGHUP: another path (the next batch opens it; the cursors stay: it
  // continues where the old file ended) and the inventory's hosts.
  void Reconfigure(std::string path, absl::flat_hash_map<std::string, v1::InventoryHost> hosts)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Writes every event and audit entry not yet written, batch after batch.
  // OK once caught up; UNAVAILABLE naming the file when a write failed
  // (logged once per episode; retried by the next call). Not concurrent with
  // itself (the thread calls it; tests call it without Start).
  absl::Status WriteNew() ABSL_LOCKS_EXCLUDED(mu_, write_mu_);

 private:
  // One batch: true in *done when nothing was left.
  absl::Status WriteBatchLocked(bool* done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Opens (or reopens, after rotation) the file; notes a truncation.
  absl::Status EnsureOpenLocked(const std::string& path) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status LoadCursorsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  void Run(absl::Duration poll) ABSL_LOCKS_EXCLUDED(mu_);

  Store& store_;
  const Clock clock_;
  const Log log_;

  absl::Mutex mu_;  // a leaf; never held across a write
  std::string path_ ABSL_GUARDED_BY(mu_);
  EcsContext context_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // started and joined by the owner's thread only

  // The writing side: one WriteNew at a time.
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  int fd_ ABSL_GUARDED_BY(write_mu_) = -1;
  std::string open_path_ ABSL_GUARDED_BY(write_mu_);
  dev_t dev_ ABSL_GUARDED_BY(write_mu_) = 0;
  ino_t ino_ ABSL_GUARDED_BY(write_mu_) = 0;
  // The file's size after our last write (-1: nothing written since open).
  int64_t written_end_ ABSL_GUARDED_BY(write_mu_) = -1;
  bool cursors_loaded_ ABSL_GUARDED_BY(write_mu_) = false;
  uint64_t event_cursor_ ABSL_GUARDED_BY(write_mu_) = 0;  // last event written
  uint64_t audit_cursor_ ABSL_GUARDED_BY(write_mu_) = 0;  // last audit entry written
  // Where recent batches started, to write them again after a truncation.
  struct Mark {
    absl::Time at;
    uint64_t event_cursor = 0, audit_cursor = 0;
  };
  std::deque<Mark> recent_ ABSL_GUARDED_BY(write_mu_);
  bool failing_ ABSL_GUARDED_BY(write_mu_) = false;  // an error episode is logged
};

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_EVENTS_ECS_FILE_H_
