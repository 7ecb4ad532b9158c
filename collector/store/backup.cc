#include "collector/store/backup.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <system_error>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "collector/audit/audit_chain.h"
#include "collector/store/store.h"
#include "proto/wire/status.h"

namespace preflight::collector {
namespace {

namespace fs = std::filesystem;

// A database and its column family handles, closed on destruction.
struct OpenDb {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<std::string> names;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  ~OpenDb() {
    if (db == nullptr) return;
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    db->Close().PermitUncheckedError();
  }
};

std::vector<rocksdb::ColumnFamilyDescriptor> Descriptors(const std::vector<std::string>& names) {
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const std::string& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  return cfs;
}

// The output directory, created if missing; refused unless empty.
absl::Status PrepareOutDir(const std::string& out_dir) {
  std::error_code ec;
  if (fs::exists(out_dir, ec)) {
    if (!fs::is_directory(out_dir, ec)) {
      return absl::FailedPreconditionError(absl::StrCat(out_dir, " exists and is not a directory"));
    }
    if (!fs::is_empty(out_dir, ec)) {
      return absl::FailedPreconditionError(
          absl::StrCat(out_dir, " is not empty: a backup goes into a new or empty directory"));
    }
    return absl::OkStatus();
  }
  if (!fs::create_directories(out_dir, ec) && ec) {
    return absl::UnavailableError(absl::StrCat("cannot create ", out_dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

bool LockHeld(const rocksdb::Status& s) {
  // "lock hold by current process" or "While lock file: ...: Resource
  // temporarily unavailable" (another process).
  const std::string m = s.ToString();
  return s.IsIOError() &&
         (m.find("lock") != std::string::npos || m.find("LOCK") != std::string::npos);
}

// Every family of `from` into a fresh database at `out_dir`.
absl::Status LogicalCopy(OpenDb& from, const std::string& out_dir, const BackupOptions& options,
                         BackupSummary& summary) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  o.allow_fallocate = false;
  OpenDb to;
  to.names = from.names;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, out_dir, Descriptors(to.names), &to.handles, &db);
  if (!s.ok()) return FromRocksStatus(s, absl::StrCat("create ", out_dir));
  to.db.reset(db);
  const absl::Time start = absl::Now();
  absl::Time next_progress = start + absl::Seconds(options.progress_seconds);
  uint64_t next_keys = options.progress_keys;
  for (size_t i = 0; i < from.handles.size(); ++i) {
    std::unique_ptr<rocksdb::Iterator> it(
        from.db->NewIterator(rocksdb::ReadOptions(), from.handles[i]));
    rocksdb::WriteBatch batch;
    auto write = [&]() -> absl::Status {
      if (batch.Count() == 0) return absl::OkStatus();
      RETURN_IF_ERROR(FromRocksStatus(to.db->Write(rocksdb::WriteOptions(), &batch),
                                      absl::StrCat("write ", out_dir)));
      batch.Clear();
      return absl::OkStatus();
    };
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      batch.Put(to.handles[i], it->key(), it->value());
      ++summary.keys;
      if (batch.GetDataSize() >= (4 << 20)) RETURN_IF_ERROR(write());
      if (options.progress && (summary.keys >= next_keys || absl::Now() >= next_progress)) {
        options.progress(absl::StrFormat("backup: %d keys copied (family %s), %.0f s", summary.keys,
                                         from.names[i],
                                         absl::ToDoubleSeconds(absl::Now() - start)));
        next_keys = summary.keys + options.progress_keys;
        next_progress = absl::Now() + absl::Seconds(options.progress_seconds);
      }
    }
    RETURN_IF_ERROR(FromRocksStatus(it->status(), absl::StrCat("read family ", from.names[i])));
    RETURN_IF_ERROR(write());
  }
  rocksdb::FlushOptions fo;
  fo.wait = true;
  RETURN_IF_ERROR(FromRocksStatus(to.db->Flush(fo, to.handles), absl::StrCat("flush ", out_dir)));
  RETURN_IF_ERROR(FromRocksStatus(to.db->SyncWAL(), absl::StrCat("sync ", out_dir)));
  return absl::OkStatus();
}

}  // namespace

std::string BackupSummary::Line(absl::string_view out_dir) const {
  return absl::StrFormat(
      "backup %s: %s, %d column families, %s, audit chain verified (%d entries, head seq %d hash "
      "%s), took %.1f s",
      out_dir, from_running ? "taken from the running collector" : "store not in use", families,
      from_running ? absl::StrCat(keys, " keys copied") : std::string("checkpoint of its files"),
      audit_entries, audit_head_seq, audit_head_hash, seconds);
}

absl::StatusOr<BackupSummary> BackupStore(const std::string& data_dir, const std::string& out_dir,
                                          const BackupOptions& options) {
  const absl::Time start = absl::Now();
  BackupSummary summary;
  RETURN_IF_ERROR(PrepareOutDir(out_dir));
  OpenDb from;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), data_dir, &from.names);
  if (!s.ok()) return FromRocksStatus(s, absl::StrCat("read store ", data_dir));
  summary.families = static_cast<int>(from.names.size());
  rocksdb::Options o;
  o.create_if_missing = false;
  rocksdb::DB* db = nullptr;
  s = rocksdb::DB::Open(o, data_dir, Descriptors(from.names), &from.handles, &db);
  if (s.ok()) {
    from.db.reset(db);
    // Not in use: a checkpoint, into a directory that must not exist yet.
    std::error_code ec;
    fs::remove(out_dir, ec);
    rocksdb::Checkpoint* cp = nullptr;
    RETURN_IF_ERROR(FromRocksStatus(rocksdb::Checkpoint::Create(from.db.get(), &cp), "checkpoint"));
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(cp);
    RETURN_IF_ERROR(FromRocksStatus(checkpoint->CreateCheckpoint(out_dir),
                                    absl::StrCat("checkpoint into ", out_dir)));
  } else if (LockHeld(s)) {
    // The collector runs: a secondary instance with a scratch directory of
    // its own (its info log and nothing else), removed afterwards.
    summary.from_running = true;
    std::string scratch = (fs::temp_directory_path() / "preflight-backup-XXXXXX").string();
    if (mkdtemp(scratch.data()) == nullptr) {
      return absl::UnavailableError("cannot create a scratch directory for the secondary instance");
    }
    absl::Cleanup remove_scratch = [&scratch] {
      std::error_code ec;
      fs::remove_all(scratch, ec);
    };
    rocksdb::Options so;
    so.max_open_files = -1;  // every table file open: the primary may delete them meanwhile
    s = rocksdb::DB::OpenAsSecondary(so, data_dir, scratch, Descriptors(from.names), &from.handles,
                                     &db);
    if (!s.ok()) return FromRocksStatus(s, absl::StrCat("open ", data_dir, " as a secondary"));
    from.db.reset(db);
    RETURN_IF_ERROR(
        FromRocksStatus(from.db->TryCatchUpWithPrimary(), "catch up with the collector"));
    RETURN_IF_ERROR(LogicalCopy(from, out_dir, options, summary));
  } else {
    return FromRocksStatus(s, absl::StrCat("open store ", data_dir));
  }
  // The copy as the collector would open it, and its audit chain.
  auto copy = Store::Open(out_dir);
  if (!copy.ok()) {
    return absl::DataLossError(
        absl::StrCat("the copy in ", out_dir, " does not open: ", copy.status().message()));
  }
  ASSIGN_OR_RETURN(auto entries, (*copy)->AuditEntries());
  auto [head_seq, head_hash] = (*copy)->AuditHead();
  AuditVerification v = VerifyAuditChain(entries, head_seq, head_hash);
  if (!v.ok) {
    return absl::DataLossError(absl::StrCat("the copy in ", out_dir, " fails audit verification: ",
                                            v.problems.empty() ? "" : v.problems.front()));
  }
  summary.audit_entries = entries.size();
  summary.audit_head_seq = head_seq;
  summary.audit_head_hash = HexOf(head_hash);
  summary.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return summary;
}

}  // namespace preflight::collector
