// The store's event log and its consumers' state (store.h: "Events").
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/store/keys.h"
#include "collector/store/store.h"
#include "proto/wire/status.h"

namespace preflight::collector {
namespace {

rocksdb::Slice Slice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

std::string EventKey(uint64_t seq) {
  std::string key;
  AppendU64(key, seq);
  return key;
}

uint64_t EventSeqOf(const rocksdb::Slice& key) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < key.size(); ++i) v = (v << 8) | static_cast<uint8_t>(key[i]);
  return v;
}

}  // namespace

absl::Status Store::LoadEventSeq() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
  it->SeekToLast();
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "read the event log"));
  absl::MutexLock lock(&events_mu_);
  next_event_seq_ = it->Valid() ? EventSeqOf(it->key()) + 1 : 1;
  events_in_flight_.clear();
  return absl::OkStatus();
}

uint64_t Store::AddEvents(rocksdb::WriteBatch* batch, std::vector<v1::Event>& events,
                          absl::Time now) {
  if (events.empty()) return 0;
  absl::MutexLock lock(&events_mu_);
  const uint64_t first = next_event_seq_;
  for (v1::Event& e : events) {
    const uint64_t seq = next_event_seq_++;
    e.set_seq(seq);
    if (e.at_unix_ms() == 0) e.set_at_unix_ms(absl::ToUnixMillis(now));
    batch->Put(events_, EventKey(seq), e.SerializeAsString());
    events_in_flight_.insert(seq);
  }
  return first;
}

void Store::EventsDone(uint64_t first, size_t count) {
  absl::MutexLock lock(&events_mu_);
  for (size_t i = 0; i < count; ++i) events_in_flight_.erase(first + i);
}

uint64_t Store::LastEventSeq() {
  absl::MutexLock lock(&events_mu_);
  // Everything below the oldest write in flight is durable (or was never
  // written: a failed write leaves a gap, which readers skip).
  if (!events_in_flight_.empty()) return *events_in_flight_.begin() - 1;
  return next_event_seq_ - 1;
}

absl::StatusOr<std::vector<v1::Event>> Store::EventsAfter(uint64_t after, size_t limit) {
  const uint64_t last = LastEventSeq();
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  std::vector<v1::Event> out;
  if (after >= last) return out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
  for (it->Seek(EventKey(after + 1)); it->Valid() && out.size() < limit; it->Next()) {
    if (EventSeqOf(it->key()) > last) break;
    v1::Event e;
    if (!e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("store: undecodable event #", EventSeqOf(it->key())));
    }
    out.push_back(std::move(e));
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "read the event log"));
  return out;
}

absl::StatusOr<uint64_t> Store::PruneEvents(int64_t cutoff_ms, uint64_t budget,
                                            rocksdb::WriteBatch* batch) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
  it->SeekToFirst();
  if (!it->Valid()) {
    RETURN_IF_ERROR(FromRocksStatus(it->status(), "read the event log"));
    return 0;
  }
  const uint64_t first = EventSeqOf(it->key());
  it->SeekToLast();
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "read the event log"));
  if (!it->Valid()) return 0;
  const uint64_t last = EventSeqOf(it->key());
  // Events are numbered in the order they are written, and timed then: the
  // first one at or after the cutoff, by a binary search over the numbers
  // (a few events read, never the log).
  uint64_t lo = first, hi = last;  // the newest event always stays
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    it->Seek(EventKey(mid));
    if (!it->Valid()) {
      hi = mid;
      continue;
    }
    const uint64_t seq = EventSeqOf(it->key());
    v1::Event e;
    if (!e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("store: undecodable event #", seq));
    }
    if (seq < hi && e.at_unix_ms() < cutoff_ms) {
      lo = seq + 1;
    } else {
      hi = mid;
    }
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "read the event log"));
  const uint64_t end = std::min(lo, first + budget);
  if (end <= first) return 0;
  batch->DeleteRange(events_, EventKey(first), EventKey(end));
  return end - first;
}

absl::StatusOr<std::optional<std::string>> Store::GetState(absl::string_view name) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), state_, Slice(name), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(FromRocksStatus(s, "read collector state"));
  return std::optional<std::string>(std::move(value));
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Store::ScanState(
    absl::string_view prefix, size_t limit) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), state_));
  for (it->Seek(Slice(prefix));
       it->Valid() && out.size() < limit && it->key().starts_with(Slice(prefix)); it->Next()) {
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "read collector state"));
  return out;
}

absl::Status Store::WriteState(StateWrite write, absl::Time now) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  rocksdb::WriteBatch batch;
  for (const auto& [name, value] : write.put) batch.Put(state_, Slice(name), Slice(value));
  for (const std::string& name : write.erase) batch.Delete(state_, Slice(name));
  const uint64_t first = AddEvents(&batch, write.events, now);
  absl::Status written = SyncedWrite(&batch, "write collector state");
  EventsDone(first, write.events.size());
  return written;
}

}  // namespace preflight::collector
