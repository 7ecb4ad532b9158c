// The collector's RocksDB store. Column families:
//   reports       ReportKey(host, instance, seq) -> FactReport  (every report once)
//   latest_facts  HostPrefix(host)                -> FactReport  (newest per host)
//   verdicts      HostPrefix(host)                -> HostVerdicts (newest per host)
//   fact_changes  HostPrefix(host) kind at seq    -> FactChange (only when changed)
//   transitions   HostPrefix(host) check at       -> Transition
//   attestations  check environment               -> Attestation
//   waivers       HostPrefix(host) check          -> Waiver
//   audit         u64 seq                         -> AuditEntry (hash chain)
// The reports family keeps a receipt of every report (its header), which is
// what makes ingest idempotent; full facts are kept only as the latest and as
// per-kind changes, so a stable host costs almost nothing to keep.
// Every ingest is one synced WriteBatch; concurrent ingests on worker threads
// are group-committed by RocksDB.
// Thread-safe. Every method may block on disk (writes are synced), so none
// is called from a gRPC callback thread (collector/service/collector_state.h).
#ifndef PREFLIGHT_COLLECTOR_STORE_STORE_H_
#define PREFLIGHT_COLLECTOR_STORE_STORE_H_

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/audit/audit_chain.h"
#include "preflight/v1/checklist.pb.h"
#include "preflight/v1/facts.pb.h"
#include "preflight/v1/verdict.pb.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Status;
class WriteBatch;
}  // namespace rocksdb

namespace preflight::collector {

// The one place a rocksdb::Status becomes an absl::Status.
absl::Status FromRocksStatus(const rocksdb::Status& status, absl::string_view what);

class Store {
 public:
  // Opens or creates the store in `dir`.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir);
  ~Store();

  // The store's health: OK, or the storage error in force (a failed write, a
  // failed flush or compaction: a full disk, an I/O error), saying since when
  // and how many reports were refused meanwhile. While it is not OK every
  // write is refused with it (reads still work). Never touches the disk;
  // cheap; any thread.
  absl::Status Health() const ABSL_LOCKS_EXCLUDED(health_mu_);

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
  std::pair<uint64_t, std::string> AuditHead() ABSL_LOCKS_EXCLUDED(audit_mu_);

  // History: verdict transitions (check empty: all), oldest first; fact
  // changes of a host, oldest first.
  absl::StatusOr<std::vector<v1::Transition>> Transitions(absl::string_view host,
                                                          absl::string_view check);
  absl::StatusOr<std::vector<v1::FactChange>> FactChanges(absl::string_view host);

  // Retention: drops report receipts, transitions and fact changes older
  // than `before` (the newest change of each fact kind stays, so a diff
  // always has a base). The audit trail is never pruned. Returns how many
  // records went.
  absl::StatusOr<uint64_t> Prune(absl::Time before);

 private:
  Store() = default;
  template <typename T>
  absl::StatusOr<std::optional<T>> GetProto(rocksdb::ColumnFamilyHandle* cf, absl::string_view key);
  // The lock that serializes ingests of `host` (one of a fixed set).
  absl::Mutex& HostLock(absl::string_view host);
  // Chains `entries` after the head, adds them (and the new head) to `batch`,
  // writes it synced, and moves the head on success. A host lock may be held.
  absl::Status WriteWithAudit(void* batch, std::vector<v1::AuditEntry> entries)
      ABSL_LOCKS_EXCLUDED(audit_mu_);
  // One synced write of `batch`; its failure puts the store in error
  // (Health), its success after an error clears it.
  absl::Status SyncedWrite(rocksdb::WriteBatch* batch, absl::string_view what)
      ABSL_LOCKS_EXCLUDED(health_mu_);
  void NoteWriteError(const absl::Status& error) ABSL_LOCKS_EXCLUDED(health_mu_);
  void NoteWriteOk() ABSL_LOCKS_EXCLUDED(health_mu_);

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* reports_ = nullptr;
  rocksdb::ColumnFamilyHandle* latest_facts_ = nullptr;
  rocksdb::ColumnFamilyHandle* verdicts_ = nullptr;
  rocksdb::ColumnFamilyHandle* fact_changes_ = nullptr;
  rocksdb::ColumnFamilyHandle* transitions_ = nullptr;
  rocksdb::ColumnFamilyHandle* attestations_ = nullptr;
  rocksdb::ColumnFamilyHandle* waivers_ = nullptr;
  rocksdb::ColumnFamilyHandle* audit_ = nullptr;
  // Ingests of one host are serialized (each reads the host's latest facts
  // and verdicts, then replaces them); taken before audit_mu_.
  std::array<absl::Mutex, 64> host_locks_;
  // The audit chain's head. Held across the synced write that carries new
  // entries, so entries reach the store in chain order.
  absl::Mutex audit_mu_;
  uint64_t audit_head_seq_ ABSL_GUARDED_BY(audit_mu_) = 0;
  std::string audit_head_hash_ ABSL_GUARDED_BY(audit_mu_);
  // Storage health (a leaf: nothing is taken under it).
  mutable absl::Mutex health_mu_;
  absl::Status health_error_ ABSL_GUARDED_BY(health_mu_);  // OK while healthy
  absl::Time health_since_ ABSL_GUARDED_BY(health_mu_);
  uint64_t health_refused_ ABSL_GUARDED_BY(health_mu_) = 0;
};

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_STORE_STORE_H_
