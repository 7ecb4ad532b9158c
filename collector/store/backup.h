// preflight-collector --backup: a consistent copy of the store, taken while
// the collector runs or not.
//
// The running collector holds RocksDB's LOCK on the data directory, so the
// copy is read through a secondary instance (DB::OpenAsSecondary, every table
// file kept open so the primary's compactions cannot pull one away): after
// one TryCatchUpWithPrimary the secondary's view stays fixed, and every write
// of the collector is one WriteBatch (a report with its facts, verdicts and
// audit entries and the audit head), so the view holds whole writes only.
// Every column family is then copied key by key into a fresh RocksDB in the
// output directory, flushed and closed. Not rocksdb::Checkpoint there: on a
// secondary, RocksDB 7.8's CreateCheckpoint does succeed (tried), but it
// links and copies the primary's table files and live write-ahead log by
// name, and a secondary cannot hold off the primary's deletions
// (DisableFileDeletions guards only the instance it is called on), so a
// compaction can race it; the keys the secondary reads come from files it
// holds open. When no collector runs (the lock is free) the store is opened
// normally and copied by rocksdb::Checkpoint (hard links where possible).
//
// Either way the copy is then opened as a Store (which checks its schema
// version) and its audit chain verified before the backup counts as made.
#ifndef PREFLIGHT_COLLECTOR_STORE_BACKUP_H_
#define PREFLIGHT_COLLECTOR_STORE_BACKUP_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace preflight::collector {

struct BackupSummary {
  bool from_running = false;  // through a secondary instance (the collector ran)
  int families = 0;
  uint64_t keys = 0;  // keys copied (0 for a checkpoint: its files were copied)
  uint64_t audit_entries = 0;
  uint64_t audit_head_seq = 0;
  std::string audit_head_hash;  // hex
  double seconds = 0;
  // One line saying all of the above.
  std::string Line(absl::string_view out_dir) const;
};

struct BackupOptions {
  // A progress line every this many keys copied or seconds, whichever first.
  uint64_t progress_keys = 100000;
  double progress_seconds = 5;
  std::function<void(absl::string_view)> progress;  // unset: no progress
};

// Copies the store in `data_dir` into `out_dir` (which must not exist or be
// empty: anything else is refused, FailedPrecondition) and verifies the copy.
absl::StatusOr<BackupSummary> BackupStore(const std::string& data_dir, const std::string& out_dir,
                                          const BackupOptions& options = {});

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_STORE_BACKUP_H_
