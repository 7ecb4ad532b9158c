// The collector's RocksDB store. Column families:
//   reports       ReportKey(host, instance, seq) -> ReportReceipt (one per report;
//                 after the receipt window one per host, instance and hour)
//   marks         MarkKey(host, instance)         -> InstanceMark (newest report)
//   latest_facts  LatestHeaderKey(host)           -> header (latest_facts.h)
//                 LatestKindKey(host, kind)       -> that kind of the newest report
//   verdicts      HostPrefix(host)                -> HostVerdicts (newest per host)
//   fact_changes  FactChangeKey(host, at, kind, seq) -> FactChange (only when changed)
//   transitions   HostPrefix(host) check at seq   -> Transition
//   attestations  check environment               -> Attestation
//   waivers       HostPrefix(host) check          -> Waiver
//   audit         u64 seq                         -> AuditEntry (hash chain)
//   events        u64 seq                         -> Event (time-ordered log, store_events.cc)
//   state         name                            -> bytes (consumers' cursors and outbox)
//   by_time       TimeIndexKey(tag, at, key)      -> "" (keys.h: what retention and
//                 receipt compaction go by, in time order, without reading records)
// The receipts and the marks make ingest idempotent; full facts are kept
// only as the latest (per kind) and as per-kind changes, so a stable host
// costs almost nothing to keep.
// Every ingest is one synced WriteBatch; concurrent ingests on worker threads
// are group-committed by RocksDB.
// Thread-safe. Every method may block on disk (writes are synced), so none
// is called from a gRPC callback thread (collector/service/collector_state.h).
//
// Storage errors (a full disk, an I/O error in a write, a flush or a
// compaction) put the store in error (Health): from then on every write is
// refused with that error, before it reaches RocksDB, and reads still work.
// RocksDB's own recovery is off (its DB::Resume keeps a write-ahead log that
// failed and aborts on the next write to it; its automatic recovery waits for
// 64 MiB free); TryRecover instead closes and reopens the database once
// kRecoveryFreeBytes (plus the logs' size) are free again, which starts a
// new log, and then writes an audit entry saying how long the error lasted
// and how many report deliveries were refused. RocksDB's informational log goes to the collector's
// log (stderr), never to a file in the data directory: appending to that file after it hit a full
// disk aborts the process in RocksDB 7.8.
#ifndef PREFLIGHT_COLLECTOR_STORE_STORE_H_
#define PREFLIGHT_COLLECTOR_STORE_STORE_H_

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/audit/audit_chain.h"
#include "preflight/v1/checklist.pb.h"
#include "preflight/v1/events.pb.h"
#include "preflight/v1/facts.pb.h"
#include "preflight/v1/verdict.pb.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Status;
class WriteBatch;
struct ReadOptions;
}  // namespace rocksdb

namespace preflight::collector {

// The audit trail as of one moment (Store::ConsistentAuditTrail).
struct AuditTrail {
  std::vector<StoredAuditEntry> entries;
  uint64_t head_seq = 0;
  std::string head_hash;
};

// The one place a rocksdb::Status becomes an absl::Status.
absl::Status FromRocksStatus(const rocksdb::Status& status, absl::string_view what);

class Store {
 public:
  // Opens or creates the store in `dir`. The store's layout has a schema
  // version (meta/schema_version in the default family): a new store gets
  // kSchemaVersion; an older one is upgraded in place, each step audited in
  // the same synced write (a store without the key but with data is schema
  // 1, the layout before the key); a newer one is refused
  // (FailedPrecondition), so that an older collector never writes to it.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir);
  // 1: the column families above; 2: plus meta/schema_version; 3: plus the
  // events and state families; 4: latest facts per kind, instance marks, the
  // time index (by_time) and compacted receipts.
  static constexpr int kSchemaVersion = 4;
  ~Store();

  // Free space in the data directory's file system before TryRecover reopens
  // the database after a storage error, besides the size of the write-ahead
  // logs (reopening replays them into table files).
  static constexpr uint64_t kRecoveryFreeBytes = 8 << 20;
  // How often TryRecover tries.
  static constexpr absl::Duration kRecoveryInterval = absl::Seconds(2);

  // The store's health: OK, or the storage error in force (a failed write, a
  // failed flush or compaction: a full disk, an I/O error), saying since when
  // and how many report deliveries were refused meanwhile (an agent's
  // retries of one report count each). While it is not OK every
  // write is refused with it (reads still work). Never touches the disk;
  // cheap; any thread.
  absl::Status Health() const ABSL_LOCKS_EXCLUDED(health_mu_);
  // While in error and at most every kRecoveryInterval: when enough space is
  // free, closes and reopens the database and, once the recovery's audit
  // entry is written, clears the error. OK while healthy, waiting or
  // recovered; an error only when the store cannot be recovered in this
  // process (it is closed and cannot be reopened, or it is corrupt): the
  // caller should then exit non-zero so that the service manager restarts
  // it. Waits for every other call to the store to finish.
  absl::Status TryRecover() ABSL_LOCKS_EXCLUDED(db_mu_, health_mu_, audit_mu_);
  // For the RocksDB event listener (any thread, no lock held).
  void NoteBackgroundError(const absl::Status& error, absl::string_view source)
      ABSL_LOCKS_EXCLUDED(health_mu_);

  struct IngestResult {
    bool duplicate = false;  // (host, instance, sequence) was stored before
    bool latest = false;     // became the host's newest report
    // The agent instance reused a sequence (other content) or went below its
    // latest: stored anyway as the newest, audited as "sequence-reset".
    bool sequence_reset = false;
  };
  using Evaluator = std::function<v1::HostVerdicts(const v1::FactReport&)>;

  // Stores `report`, received at `received_at` by the collector's clock, for
  // `host` unless the same report (host, instance, sequence and content) is
  // already stored. When it is the host's newest report (see IsNewer in
  // store.cc: the collector's clock and the sequence decide, never the
  // agent's collected_at), the host's latest facts and verdicts (from
  // `evaluate`) are replaced in the same synced write. Returns only after the
  // write is durable.
  absl::StatusOr<IngestResult> Ingest(absl::string_view host, const v1::FactReport& report,
                                      absl::Time received_at, const Evaluator& evaluate);

  absl::StatusOr<std::optional<v1::HostVerdicts>> LatestVerdicts(absl::string_view host);
  absl::StatusOr<std::optional<v1::FactReport>> LatestFacts(absl::string_view host);
  // Keys of every stored report of a host, in key order.
  absl::StatusOr<std::vector<std::string>> ReportKeys(absl::string_view host);

  // Audit trail. Each change below is written together with its audit entry
  // in one synced write.
  struct AuditRecord {
    std::string actor, action, subject, detail;
  };
  absl::Status Audit(const AuditRecord& record, absl::Time now);
  // Small named values of the collector itself (e.g. the inventory it last
  // ran with); Put writes the value and its audit entry together.
  absl::StatusOr<std::optional<std::string>> GetMeta(absl::string_view key);
  absl::Status PutMeta(absl::string_view key, absl::string_view value, const AuditRecord& record,
                       absl::Time now);
  absl::Status PutAttestation(const v1::Attestation& attestation, const AuditRecord& record,
                              absl::Time now);
  absl::Status PutWaiver(const v1::Waiver& waiver, const AuditRecord& record, absl::Time now);
  absl::StatusOr<std::optional<v1::Attestation>> GetAttestation(absl::string_view check,
                                                                absl::string_view environment);
  absl::StatusOr<std::vector<v1::Attestation>> Attestations();
  absl::StatusOr<std::optional<v1::Waiver>> GetWaiver(absl::string_view host,
                                                      absl::string_view check);
  absl::StatusOr<std::vector<v1::Waiver>> Waivers(absl::string_view host);
  // Every waiver of every host, in one scan (for the fleet status).
  absl::StatusOr<std::vector<v1::Waiver>> AllWaivers();
  // Every audit entry in key order, and the head the store recorded.
  absl::StatusOr<std::vector<StoredAuditEntry>> AuditEntries();
  // At most `limit` audit entries numbered above `after_seq`, in order: a
  // reader that keeps a cursor (the events file) reads only what is new.
  absl::StatusOr<std::vector<StoredAuditEntry>> AuditEntriesAfter(uint64_t after_seq, size_t limit);
  std::pair<uint64_t, std::string> AuditHead() ABSL_LOCKS_EXCLUDED(audit_mu_);
  // Every audit entry and the head as of one moment: AuditEntries() then
  // AuditHead() beside a busy collector can see an entry appended in between
  // as "removed" (the head ahead of the entries read). For verification.
  absl::StatusOr<AuditTrail> ConsistentAuditTrail() ABSL_LOCKS_EXCLUDED(db_mu_, audit_mu_);

  // History: verdict transitions (check empty: all), oldest first; fact
  // changes of a host, oldest first.
  absl::StatusOr<std::vector<v1::Transition>> Transitions(absl::string_view host,
                                                          absl::string_view check);
  absl::StatusOr<std::vector<v1::FactChange>> FactChanges(absl::string_view host);

  // Retention: drops report receipts, transitions, fact changes and events
  // older than `before` (the newest change of each fact kind stays, so a
  // diff always has a base; the newest event stays, so its numbering goes
  // on). Goes by the time index and the events' numbers, never reading the
  // records: at most the prune batch (SetPruneBatchRecords) per call, the
  // rest in the next call (hourly). The audit trail is pruned by PruneAudit
  // only. Returns how many records went.
  absl::StatusOr<uint64_t> Prune(absl::Time before) ABSL_LOCKS_EXCLUDED(maintenance_mu_);

  // Receipt compaction: the receipts of reports received before `before`
  // (rounded down to the hour) become one receipt per host, agent instance
  // and hour, keyed by the hour's newest sequence and counting the reports
  // (ReportReceipt.compacted_count, first_sequence, first_received_at). The
  // instance marks keep duplicates and reused sequences recognised (see
  // Ingest). Whole hours, at most about the prune batch per call. Returns
  // how many receipts went.
  absl::StatusOr<uint64_t> CompactReceipts(absl::Time before) ABSL_LOCKS_EXCLUDED(maintenance_mu_);

  // RocksDB's memtables of every column family together are flushed to
  // table files beyond this many bytes (RocksDB's own default is 64 MiB per
  // family, 13 families here, kept lower only by the 64 MiB cap on the
  // write-ahead logs: a refresh of 1000 hosts left 83 MB of memtables).
  static constexpr size_t kMemtableBudgetBytes = 32 << 20;
  // The bytes RocksDB's memtables hold now, mutable and being flushed, of
  // every column family.
  absl::StatusOr<uint64_t> MemtableBytes() ABSL_LOCKS_EXCLUDED(db_mu_);

  // Records per Prune / CompactReceipts call at most (default 200000).
  static constexpr uint64_t kDefaultPruneBatch = 200000;
  void SetPruneBatchRecords(uint64_t records);

  // Audit retention: drops the audit entries older than `before` (from the
  // oldest on, up to the first that is not), and in the same synced write
  // appends a checkpoint entry (audit_chain.h) with the first entry kept and
  // the hash of the last one pruned, `reason` saying why ("older than 400
  // days"). The entries to drop must chain (each hash recomputes from its
  // predecessor): a trail that does not is not pruned (FailedPrecondition),
  // so that pruning never hides tampering. Returns how many entries went.
  absl::StatusOr<uint64_t> PruneAudit(absl::Time before, absl::string_view reason, absl::Time now)
      ABSL_LOCKS_EXCLUDED(db_mu_, audit_mu_);

  // Events (store_events.cc): a time-ordered log, each event numbered from 1
  // (Event.seq) and timed by the collector's clock. Ingest appends a
  // TRANSITION event per verdict transition in the same synced write; other
  // producers append with WriteState. Consumers (the notifier, the event
  // file) read it with their own cursor in the state family.
  //
  // The events after `after`, oldest first, at most `limit`; never one
  // behind a write still in flight (so a cursor moved past what was read
  // never skips an event committed later with a lower number).
  absl::StatusOr<std::vector<v1::Event>> EventsAfter(uint64_t after, size_t limit)
      ABSL_LOCKS_EXCLUDED(events_mu_);
  // The number of the newest event readable by EventsAfter.
  uint64_t LastEventSeq() ABSL_LOCKS_EXCLUDED(events_mu_);

  // Small durable state of the collector's own consumers (cursors, the
  // notifier's outbox), not audited: values under `name`.
  absl::StatusOr<std::optional<std::string>> GetState(absl::string_view name);
  // Every (name, value) whose name starts with `prefix`, in name order, at
  // most `limit`.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ScanState(
      absl::string_view prefix, size_t limit);
  // One synced write: puts, erasures, and `events` appended to the log
  // (numbered and timed `now` unless at_unix_ms is set). Together, so that
  // e.g. an outbox entry and the cursor past the events it carries move at
  // once.
  struct StateWrite {
    std::vector<std::pair<std::string, std::string>> put;
    std::vector<std::string> erase;
    std::vector<v1::Event> events;
  };
  absl::Status WriteState(StateWrite write, absl::Time now) ABSL_LOCKS_EXCLUDED(events_mu_);

  // At most `per_hour` verdict transitions of a host are audited one by one
  // per hour (0: all of them, the default until set); the others are stored
  // all the same, and one "transitions-not-audited" entry per host and hour
  // counts them: written with the host's first ingest after the hour, or by
  // FlushTransitionSummaries (hourly, from the collector's prune).
  void SetAuditedTransitionsPerHour(uint32_t per_hour) ABSL_LOCKS_EXCLUDED(transition_audit_mu_);
  // Audits the count of every host whose hour ended before `now`.
  absl::Status FlushTransitionSummaries(absl::Time now)
      ABSL_LOCKS_EXCLUDED(db_mu_, transition_audit_mu_);

 private:
  Store() = default;
  // Opens the database in dir_ and reads the audit head; CloseDb closes it.
  absl::Status OpenDb() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_) ABSL_LOCKS_EXCLUDED(audit_mu_);
  void CloseDb() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  // At Open: marks a new store, upgrades an older one, refuses a newer one.
  absl::Status CheckSchema() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_) ABSL_LOCKS_EXCLUDED(audit_mu_);
  // OK while the database is open (it is closed only while TryRecover
  // reopens it, or when reopening failed).
  absl::Status Usable() const ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  // The audit entries numbered above `after_seq` (at most `limit`) as
  // `options` reads them (a snapshot, or the latest state).
  absl::StatusOr<std::vector<StoredAuditEntry>> ScanAuditEntries(
      const rocksdb::ReadOptions& options, uint64_t after_seq, size_t limit)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  template <typename T>
  absl::StatusOr<std::optional<T>> GetProto(rocksdb::ColumnFamilyHandle* cf, absl::string_view key)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  absl::StatusOr<std::optional<std::string>> GetRaw(rocksdb::ColumnFamilyHandle* cf,
                                                    absl::string_view key)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  // Numbers `events` (consecutively, from the next free number) and adds
  // them to `batch`; the numbers stay in flight (not readable) until
  // EventsDone. Returns the first number (0 when there are none).
  uint64_t AddEvents(rocksdb::WriteBatch* batch, std::vector<v1::Event>& events, absl::Time now)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_) ABSL_LOCKS_EXCLUDED(events_mu_);
  void EventsDone(uint64_t first, size_t count) ABSL_LOCKS_EXCLUDED(events_mu_);
  // At open: the next event number from the newest stored.
  absl::Status LoadEventSeq() ABSL_SHARED_LOCKS_REQUIRED(db_mu_) ABSL_LOCKS_EXCLUDED(events_mu_);
  // Deletes the events older than `cutoff_ms` (by their numbers, a binary
  // search over the log), at most `budget`, keeping the newest event.
  absl::StatusOr<uint64_t> PruneEvents(int64_t cutoff_ms, uint64_t budget,
                                       rocksdb::WriteBatch* batch)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  // Schema 3 -> 4 (store_upgrade.cc): latest facts per kind, marks from the
  // receipts, the time index. Idempotent: writes in chunks, and a rerun after
  // a crash converts what is left.
  absl::Status UpgradeTo4() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  // Whether a report not found by its exact receipt key was stored before:
  // by the instance's mark and a compacted receipt covering its sequence.
  enum class Seen { kNo, kSame, kOther };
  absl::StatusOr<Seen> SeenBefore(absl::string_view host, const v1::FactReport& report,
                                  const std::string& digest,
                                  const std::optional<v1::InstanceMark>& mark)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  // Every host lock, in order (receipt compaction rewrites many hosts).
  void LockAllHosts() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void UnlockAllHosts() ABSL_NO_THREAD_SAFETY_ANALYSIS;

  // The lock that serializes ingests of `host` (one of a fixed set).
  absl::Mutex& HostLock(absl::string_view host);
  // Chains `entries` after the head, adds them (and the new head) to `batch`,
  // writes it synced, and moves the head on success. A host lock may be held.
  // `report`: the batch stores a report (counted when refused).
  absl::Status WriteWithAudit(void* batch, std::vector<v1::AuditEntry> entries, bool report = false)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_) ABSL_LOCKS_EXCLUDED(audit_mu_);
  // One synced write of `batch`, refused while the store is in error; a
  // failure puts the store in error.
  absl::Status SyncedWrite(rocksdb::WriteBatch* batch, absl::string_view what, bool report = false)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_) ABSL_LOCKS_EXCLUDED(health_mu_);
  // The error in force (counting a refused report), or OK.
  absl::Status RefuseWrite(bool report) ABSL_LOCKS_EXCLUDED(health_mu_);
  void NoteError(const absl::Status& error, bool report, absl::string_view source)
      ABSL_LOCKS_EXCLUDED(health_mu_);
  absl::Status HealthLocked() const ABSL_SHARED_LOCKS_REQUIRED(health_mu_);

  // How many of `count` transitions of `host` at `now` to audit one by one;
  // appends to `audit` the summary of the host's previous hour if it ended
  // with transitions not audited. A host lock may be held.
  size_t TransitionsToAudit(absl::string_view host, size_t count, absl::Time now,
                            std::vector<v1::AuditEntry>* audit)
      ABSL_LOCKS_EXCLUDED(transition_audit_mu_);

  std::string dir_;
  // Held shared by every method that uses the database (for its whole
  // call), exclusively by TryRecover to reopen it. Taken before the host
  // locks and audit_mu_.
  mutable absl::Mutex db_mu_;
  std::unique_ptr<rocksdb::DB> db_ ABSL_GUARDED_BY(db_mu_);
  std::vector<rocksdb::ColumnFamilyHandle*> handles_ ABSL_GUARDED_BY(db_mu_);
  rocksdb::ColumnFamilyHandle* reports_ ABSL_GUARDED_BY(db_mu_) = nullptr;
  rocksdb::ColumnFamilyHandle* latest_facts_ ABSL_GUARDED_BY(db_mu_) = nullptr;
  rocksdb::ColumnFamilyHandle* verdicts_ ABSL_GUARDED_BY(db_mu_) = nullptr;
  rocksdb::ColumnFamilyHandle* fact_changes_ ABSL_GUARDED_BY(db_mu_) = nullptr;
  rocksdb::ColumnFamilyHandle* transitions_ ABSL_GUARDED_BY(db_mu_) = nullptr;
  rocksdb::ColumnFamilyHandle* attestations_ ABSL_GUARDED_BY(db_mu_) = nullptr;
  rocksdb::ColumnFamilyHandle* waivers_ ABSL_GUARDED_BY(db_mu_) = nullptr;
  rocksdb::ColumnFamilyHandle* audit_ ABSL_GUARDED_BY(db_mu_) = nullptr;
  rocksdb::ColumnFamilyHandle* events_ ABSL_GUARDED_BY(db_mu_) = nullptr;
  rocksdb::ColumnFamilyHandle* state_ ABSL_GUARDED_BY(db_mu_) = nullptr;
  rocksdb::ColumnFamilyHandle* marks_ ABSL_GUARDED_BY(db_mu_) = nullptr;
  rocksdb::ColumnFamilyHandle* by_time_ ABSL_GUARDED_BY(db_mu_) = nullptr;
  // One Prune or CompactReceipts at a time (taken before db_mu_).
  absl::Mutex maintenance_mu_;
  std::atomic<uint64_t> prune_batch_{kDefaultPruneBatch};
  // Event numbers: the next free one, and those written but not yet
  // durable (a leaf lock).
  absl::Mutex events_mu_;
  uint64_t next_event_seq_ ABSL_GUARDED_BY(events_mu_) = 1;
  std::set<uint64_t> events_in_flight_ ABSL_GUARDED_BY(events_mu_);
  // Ingests of one host are serialized (each reads the host's latest facts
  // and verdicts, then replaces them); taken before audit_mu_.
  std::array<absl::Mutex, 64> host_locks_;
  // The audit chain's head. Held across the synced write that carries new
  // entries, so entries reach the store in chain order.
  absl::Mutex audit_mu_;
  uint64_t audit_head_seq_ ABSL_GUARDED_BY(audit_mu_) = 0;
  std::string audit_head_hash_ ABSL_GUARDED_BY(audit_mu_);
  // Transitions audited per host and hour (a leaf: taken under a host lock,
  // let go before audit_mu_).
  struct TransitionHour {
    absl::Time start;
    uint32_t audited = 0;
    uint64_t not_audited = 0;
  };
  absl::Mutex transition_audit_mu_;
  uint32_t audited_transitions_per_hour_ ABSL_GUARDED_BY(transition_audit_mu_) = 0;
  absl::flat_hash_map<std::string, TransitionHour> transition_hours_
      ABSL_GUARDED_BY(transition_audit_mu_);
  // Storage health (a leaf: nothing is taken under it). An episode starts
  // with the first error and ends when the recovery's audit entry is written.
  mutable absl::Mutex health_mu_;
  absl::Status health_error_ ABSL_GUARDED_BY(health_mu_);  // OK while healthy
  bool episode_open_ ABSL_GUARDED_BY(health_mu_) = false;
  absl::Time episode_since_ ABSL_GUARDED_BY(health_mu_);
  uint64_t episode_refused_ ABSL_GUARDED_BY(health_mu_) = 0;
  absl::Time next_recovery_ ABSL_GUARDED_BY(health_mu_);
  int failed_reopens_ ABSL_GUARDED_BY(health_mu_) = 0;
  // Free and needed space in dir_ at the error or the last recovery attempt.
  uint64_t free_bytes_ ABSL_GUARDED_BY(health_mu_) = 0;
  uint64_t needed_bytes_ ABSL_GUARDED_BY(health_mu_) = kRecoveryFreeBytes;
};

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_STORE_STORE_H_
