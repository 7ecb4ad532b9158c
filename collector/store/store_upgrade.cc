// Store schema 3 -> 4 (store.h, Store::UpgradeTo4): the latest facts of
// each host split per kind (latest_facts.h), a mark per (host, agent
// instance) from its newest receipt, and the time index (keys.h, by_time)
// for the receipts, transitions and replaced fact changes already stored.
// Written in chunks; every step is idempotent (index entries and marks are
// recomputed the same, a host's latest facts are converted once: its old
// whole-report key is deleted with the conversion), so a rerun after a crash
// finishes the job, and the version moves to 4 only after the last chunk.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "collector/store/keys.h"
#include "collector/store/latest_facts.h"
#include "collector/store/store.h"
#include "proto/wire/status.h"

namespace preflight::collector {
namespace {

constexpr size_t kChunkRecords = 50'000;

}  // namespace

absl::Status Store::UpgradeTo4() {
  rocksdb::WriteBatch chunk;
  size_t in_chunk = 0;
  auto flush = [&](bool force) ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_) -> absl::Status {
    if (in_chunk == 0 || (!force && in_chunk < kChunkRecords)) return absl::OkStatus();
    RETURN_IF_ERROR(SyncedWrite(&chunk, "upgrade store to schema 4"));
    chunk.Clear();
    in_chunk = 0;
    return absl::OkStatus();
  };
  auto slice = [](const std::string& s) { return rocksdb::Slice(s); };

  // Receipts: an index entry each; the newest per (host, instance) is its mark.
  {
    std::map<std::string, v1::InstanceMark> marks;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), reports_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const absl::string_view key(it->key().data(), it->key().size());
      std::optional<ReportKeyParts> parts = DecodeReportKey(key);
      v1::ReportReceipt r;
      if (!parts.has_value() ||
          !r.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        continue;  // not a receipt this layout knows: left alone
      }
      const int64_t at =
          r.received_at_unix_ms() != 0 ? r.received_at_unix_ms() : r.collected_at_unix_ms();
      chunk.Put(by_time_,
                slice(TimeIndexKey(r.compacted_count() > 1 ? TimeIndexTag::kCompactedReceipt
                                                           : TimeIndexTag::kReceipt,
                                   at, key)),
                "");
      ++in_chunk;
      v1::InstanceMark& m = marks[MarkKey(parts->host, parts->instance)];
      if (m.agent_instance().empty() || parts->sequence >= m.sequence()) {
        m.set_host_id(parts->host);
        m.set_agent_instance(parts->instance);
        m.set_sequence(parts->sequence);
        m.set_content_sha256(r.content_sha256());
        m.set_received_at_unix_ms(at);
      }
      RETURN_IF_ERROR(flush(false));
    }
    RETURN_IF_ERROR(FromRocksStatus(it->status(), "upgrade store: read receipts"));
    for (const auto& [key, mark] : marks) {
      chunk.Put(marks_, slice(key), mark.SerializeAsString());
      ++in_chunk;
      RETURN_IF_ERROR(flush(false));
    }
  }
  // Transitions: an index entry each.
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), transitions_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      v1::Transition t;
      if (!t.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) continue;
      chunk.Put(by_time_,
                slice(TimeIndexKey(TimeIndexTag::kTransition, t.at_unix_ms(),
                                   absl::string_view(it->key().data(), it->key().size()))),
                "");
      ++in_chunk;
      RETURN_IF_ERROR(flush(false));
    }
    RETURN_IF_ERROR(FromRocksStatus(it->status(), "upgrade store: read transitions"));
  }
  // Fact changes: every one but the newest of its (host, kind) is replaced.
  std::map<std::string, std::map<std::string, std::string>> newest;  // host -> kind -> key
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), fact_changes_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      v1::FactChange c;
      if (!c.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) continue;
      std::string key = it->key().ToString();
      std::string& kept = newest[c.host_id()][c.kind()];
      if (!kept.empty()) {  // keys sort by time within a host: this one is newer
        chunk.Put(by_time_,
                  slice(TimeIndexKey(TimeIndexTag::kSupersededChange,
                                     FactChangeTime(kept).value_or(0), kept)),
                  "");
        ++in_chunk;
      }
      kept = std::move(key);
      RETURN_IF_ERROR(flush(false));
    }
    RETURN_IF_ERROR(FromRocksStatus(it->status(), "upgrade store: read fact changes"));
  }
  // Latest facts: each whole report becomes a header and its kinds.
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), latest_facts_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::optional<std::string> host =
          DecodeHostKey(absl::string_view(it->key().data(), it->key().size()));
      if (!host.has_value()) continue;  // already per kind
      v1::FactReport report;
      if (!report.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        return absl::DataLossError(
            absl::StrCat("upgrade store: undecodable latest facts of ", *host));
      }
      ASSIGN_OR_RETURN(SplitFacts split, SplitReport(report));
      LatestHeader header;
      const auto& changes = newest[*host];
      for (KindContent& c : split.kinds) {
        KindState k;
        k.kind = c.kind;
        k.present = true;
        k.content_hash = c.content_hash;
        k.history_hash = c.history_hash;
        if (auto found = changes.find(c.kind); found != changes.end()) k.change_key = found->second;
        chunk.Put(latest_facts_, slice(LatestKindKey(*host, c.kind)), EncodeKindRecord(c));
        header.kinds.push_back(std::move(k));
      }
      // Kinds with a change but not in the latest report keep their newest change.
      for (const auto& [kind, key] : changes) {
        if (header.Find(kind) == nullptr) {
          KindState gone;
          gone.kind = kind;
          gone.change_key = key;
          header.kinds.push_back(std::move(gone));
        }
      }
      header.report_header = std::move(split.header);
      chunk.Put(latest_facts_, slice(LatestHeaderKey(*host)), EncodeLatestHeader(header));
      chunk.Delete(latest_facts_, it->key());
      in_chunk += 2 + split.kinds.size();
      RETURN_IF_ERROR(flush(false));
    }
    RETURN_IF_ERROR(FromRocksStatus(it->status(), "upgrade store: read latest facts"));
  }
  return flush(true);
}

}  // namespace preflight::collector
