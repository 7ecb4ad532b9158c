#include "collector/store/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "absl/cleanup/cleanup.h"
#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "collector/store/keys.h"
#include "collector/store/latest_facts.h"
#include "proto/wire/sha256.h"
#include "proto/wire/status.h"

namespace preflight::collector {
namespace {

constexpr char kReports[] = "reports";
constexpr char kLatestFacts[] = "latest_facts";
constexpr char kVerdicts[] = "verdicts";
constexpr char kFactChanges[] = "fact_changes";
constexpr char kTransitions[] = "transitions";
constexpr char kAttestations[] = "attestations";
constexpr char kWaivers[] = "waivers";
constexpr char kAudit[] = "audit";
constexpr char kEvents[] = "events";
constexpr char kState[] = "state";
constexpr char kMarks[] = "marks";
constexpr char kByTime[] = "by_time";
constexpr char kAuditHeadKey[] = "audit_head";  // default family: u64 seq + hash

bool Failing(v1::CheckStatus s) { return s == v1::FAIL || s == v1::UNKNOWN; }

std::string AuditKey(uint64_t seq) {
  std::string k;
  AppendU64(k, seq);
  return k;
}

uint64_t ReadU64(absl::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

// A verdict transition as the event log carries it. A regression: from a
// status that was fine (PASS, WARN, N/A, attested, waived) to FAIL or
// UNKNOWN; a host's first verdicts are not.
v1::Event TransitionEvent(const v1::Transition& t) {
  v1::Event e;
  e.set_kind(v1::Event::TRANSITION);
  e.set_at_unix_ms(t.at_unix_ms());
  e.set_host_id(t.host_id());
  e.set_check_id(t.check_id());
  e.set_from(t.from());
  e.set_to(t.to());
  e.set_regression(t.from() != v1::CHECK_STATUS_UNSPECIFIED && !Failing(t.from()) &&
                   Failing(t.to()));
  e.set_summary(t.summary());
  e.set_actor("collector");
  e.set_dedup_key(absl::StrCat("transition/", t.host_id(), "/", t.check_id(), "/",
                               v1::CheckStatus_Name(t.to()), "/", t.at_unix_ms()));
  return e;
}

// Sets changed_at / failing_since on `now` from `before`, and lists the
// transitions.
std::vector<v1::Transition> CarryHistory(const std::optional<v1::HostVerdicts>& before,
                                         v1::HostVerdicts& now, const v1::FactReport& report,
                                         int64_t at) {
  std::vector<v1::Transition> out;
  for (v1::Verdict& v : *now.mutable_verdicts()) {
    const v1::Verdict* prev = nullptr;
    if (before.has_value()) {
      for (const v1::Verdict& p : before->verdicts()) {
        if (p.check_id() == v.check_id()) prev = &p;
      }
    }
    if (prev != nullptr && prev->status() == v.status()) {
      v.set_changed_at_unix_ms(prev->changed_at_unix_ms());
      v.set_failing_since_unix_ms(prev->failing_since_unix_ms());
      continue;
    }
    v.set_changed_at_unix_ms(at);
    v.set_failing_since_unix_ms(!Failing(v.status()) ? 0
                                : prev != nullptr && Failing(prev->status())
                                    ? prev->failing_since_unix_ms()
                                    : at);
    v1::Transition t;
    t.set_host_id(now.host_id());
    t.set_check_id(v.check_id());
    t.set_from(prev == nullptr ? v1::CHECK_STATUS_UNSPECIFIED : prev->status());
    t.set_to(v.status());
    t.set_at_unix_ms(at);
    t.set_agent_instance(report.agent_instance());
    t.set_sequence(report.sequence());
    if (!v.evidence().empty()) t.set_summary(v.evidence(0).message().substr(0, 300));
    out.push_back(std::move(t));
  }
  return out;
}

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// Whether a report received now replaces the host's latest. Only the
// collector's clock orders reports: within one agent instance the sequence
// does (the spool sends in order), and a report of another instance received
// now is newer than anything received before. The agent's collected_at never
// decides: a clock a year ahead must not pin the host's latest report.
bool IsNewer(const v1::FactReport& report, const v1::HostVerdicts& latest, int64_t received_ms) {
  if (report.agent_instance() == latest.agent_instance()) {
    return report.sequence() > latest.sequence();
  }
  return received_ms >= latest.received_at_unix_ms();
}

// One line of the collector's log (the format of collector_state.cc's Log;
// the store does not depend on the service).
void StoreLog(absl::string_view message) {
  std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                   " preflight-collector: ", message, "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
}

// RocksDB's informational log, warnings and errors only, into the collector's
// log. Never a file in the data directory: RocksDB 7.8 aborts on the next
// line after a write to its LOG file failed (a full disk).
class RocksLogger : public rocksdb::Logger {
 public:
  RocksLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char buf[1024];
    std::vsnprintf(buf, sizeof(buf), format, ap);
    absl::string_view line(buf);
    while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.remove_suffix(1);
    if (!line.empty()) StoreLog(absl::StrCat("rocksdb: ", line));
  }
};

// Background errors (a flush or compaction that failed) put the store in
// error; RocksDB's own recovery is declined (Store::TryRecover reopens).
class HealthListener : public rocksdb::EventListener {
 public:
  explicit HealthListener(Store* store) : store_(store) {}
  const char* Name() const override { return "PreflightHealthListener"; }
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* error) override {
    if (error == nullptr || error->ok()) return;
    const char* what = reason == rocksdb::BackgroundErrorReason::kFlush        ? "a flush"
                       : reason == rocksdb::BackgroundErrorReason::kCompaction ? "a compaction"
                       : reason == rocksdb::BackgroundErrorReason::kManifestWrite
                           ? "a manifest write"
                           : "a write";
    store_->NoteBackgroundError(FromRocksStatus(*error, "store"), what);
  }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status error,
                            bool* auto_recovery) override {
    error.PermitUncheckedError();
    *auto_recovery = false;
  }

 private:
  Store* const store_;
};

// What reopening needs: kRecoveryFreeBytes, plus the write-ahead logs'
// size (DB::Open replays them into new table files).
uint64_t RecoveryNeeds(const std::string& dir) {
  uint64_t needed = Store::kRecoveryFreeBytes;
  if (DIR* d = opendir(dir.c_str())) {
    while (struct dirent* e = readdir(d)) {
      absl::string_view name(e->d_name);
      struct stat st;
      if (absl::EndsWith(name, ".log") &&
          fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        needed += static_cast<uint64_t>(st.st_size);
      }
    }
    closedir(d);
  }
  return needed;
}

uint64_t FreeBytes(const std::string& dir) {
  struct statvfs st;
  if (statvfs(dir.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

std::string Bytes(uint64_t n) {
  if (n >= (uint64_t{1} << 20)) return absl::StrFormat("%.1f MiB", n / 1048576.0);
  if (n >= 1024) return absl::StrFormat("%.1f KiB", n / 1024.0);
  return absl::StrCat(n, " B");
}

}  // namespace

absl::Status FromRocksStatus(const rocksdb::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(what, ": ", status.ToString());
  switch (status.code()) {
    case rocksdb::Status::kNotFound:
      return absl::NotFoundError(message);
    case rocksdb::Status::kCorruption:
      return absl::DataLossError(message);
    case rocksdb::Status::kInvalidArgument:
    case rocksdb::Status::kNotSupported:
      return absl::InvalidArgumentError(message);
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kTryAgain:
      return absl::UnavailableError(message);
    case rocksdb::Status::kIOError:
      if (status.subcode() == rocksdb::Status::kNoSpace) {
        return absl::ResourceExhaustedError(message);
      }
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir) {
  std::unique_ptr<Store> store(new Store());
  store->dir_ = dir;
  absl::WriterMutexLock lock(&store->db_mu_);  // uncontended: no other thread has the store yet
  RETURN_IF_ERROR(store->OpenDb());
  RETURN_IF_ERROR(store->CheckSchema());
  return store;
}

absl::Status Store::OpenDb() {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  options.max_open_files = 512;
  options.keep_log_file_num = 5;
  options.info_log = std::make_shared<RocksLogger>();
  // No hidden reservations on a filling disk: RocksDB would fallocate
  // write_buffer_size * 1.1 (70 MiB) ahead for each new write-ahead log,
  // taking what is left of a nearly full file system while the collector
  // looks healthy. Space is taken as data is written.
  options.allow_fallocate = false;
  // The write-ahead logs, kept until every column family flushed what they
  // hold, stay under 64 MiB (by default 4 x 9 x 64 MiB: a rarely written
  // family such as waivers would keep gigabytes of logs).
  options.max_total_wal_size = 64 << 20;
  // Memory: one budget for the memtables of all families (see
  // kMemtableBudgetBytes); beyond it the family with the oldest data is
  // flushed.
  options.db_write_buffer_size = kMemtableBudgetBytes;
  options.listeners.push_back(std::make_shared<HealthListener>(this));
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(options)},
      {kReports, rocksdb::ColumnFamilyOptions(options)},
      {kLatestFacts, rocksdb::ColumnFamilyOptions(options)},
      {kVerdicts, rocksdb::ColumnFamilyOptions(options)},
      {kFactChanges, rocksdb::ColumnFamilyOptions(options)},
      {kTransitions, rocksdb::ColumnFamilyOptions(options)},
      {kAttestations, rocksdb::ColumnFamilyOptions(options)},
      {kWaivers, rocksdb::ColumnFamilyOptions(options)},
      {kAudit, rocksdb::ColumnFamilyOptions(options)},
      {kEvents, rocksdb::ColumnFamilyOptions(options)},
      {kState, rocksdb::ColumnFamilyOptions(options)},
      {kMarks, rocksdb::ColumnFamilyOptions(options)},
      {kByTime, rocksdb::ColumnFamilyOptions(options)},
  };
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = rocksdb::DB::Open(options, dir_, cfs, &handles, &db);
  if (!s.ok()) return FromRocksStatus(s, absl::StrCat("open store ", dir_));
  db_.reset(db);
  handles_ = std::move(handles);
  reports_ = handles_[1];
  latest_facts_ = handles_[2];
  verdicts_ = handles_[3];
  fact_changes_ = handles_[4];
  transitions_ = handles_[5];
  attestations_ = handles_[6];
  waivers_ = handles_[7];
  audit_ = handles_[8];
  events_ = handles_[9];
  state_ = handles_[10];
  marks_ = handles_[11];
  by_time_ = handles_[12];
  if (absl::Status loaded = LoadEventSeq(); !loaded.ok()) {
    CloseDb();
    return loaded;
  }
  // The head as stored: a write that failed may still have reached the log
  // and been replayed (its entries and head are in one batch).
  std::string head;
  s = db_->Get(rocksdb::ReadOptions(), kAuditHeadKey, &head);
  if (!s.ok() && !s.IsNotFound()) {
    absl::Status failed = FromRocksStatus(s, "read audit head");
    CloseDb();
    return failed;
  }
  absl::MutexLock lock(&audit_mu_);
  if (s.ok() && head.size() >= 8) {
    audit_head_seq_ = ReadU64(head);
    audit_head_hash_ = head.substr(8);
  }
  return absl::OkStatus();
}

void Store::CloseDb() {
  if (db_ == nullptr) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  rocksdb::Status closed = db_->Close();
  if (!closed.ok() && !closed.IsAborted()) {
    StoreLog(absl::StrCat("closing the store: ", closed.ToString()));
  }
  db_.reset();
}

absl::Status Store::Usable() const {
  if (db_ != nullptr) return absl::OkStatus();
  absl::Status health = Health();
  return absl::UnavailableError(
      absl::StrCat("the store is closed to recover from a storage error",
                   health.ok() ? "" : absl::StrCat(" (", health.message(), ")")));
}

Store::~Store() {
  absl::WriterMutexLock lock(&db_mu_);
  CloseDb();
}

absl::Mutex& Store::HostLock(absl::string_view host) {
  return host_locks_[absl::Hash<absl::string_view>()(host) % host_locks_.size()];
}

template <typename T>
absl::StatusOr<std::optional<T>> Store::GetProto(rocksdb::ColumnFamilyHandle* cf,
                                                 absl::string_view key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf, ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<T>();
  if (!s.ok()) return FromRocksStatus(s, "read store");
  T message;
  if (!message.ParseFromString(value)) {
    return absl::DataLossError(absl::StrCat("store: undecodable ", T::descriptor()->name()));
  }
  return std::optional<T>(std::move(message));
}

absl::StatusOr<std::optional<std::string>> Store::GetRaw(rocksdb::ColumnFamilyHandle* cf,
                                                         absl::string_view key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf, ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocksStatus(s, "read store");
  return std::optional<std::string>(std::move(value));
}

absl::StatusOr<Store::Seen> Store::SeenBefore(absl::string_view host, const v1::FactReport& report,
                                              const std::string& digest,
                                              const std::optional<v1::InstanceMark>& mark) {
  if (!mark.has_value() || report.sequence() > mark->sequence()) return Seen::kNo;
  if (report.sequence() == mark->sequence()) {
    return mark->content_sha256() == digest ? Seen::kSame : Seen::kOther;
  }
  // A compacted receipt covering the sequence: the first receipt of the
  // instance at or after it.
  const std::string instance_prefix = MarkKey(host, report.agent_instance());
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), reports_));
  it->Seek(ToSlice(ReportKey(host, report.agent_instance(), report.sequence())));
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "read store"));
  if (!it->Valid() || !it->key().starts_with(ToSlice(instance_prefix))) return Seen::kNo;
  v1::ReportReceipt r;
  if (!r.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
    return absl::DataLossError("store: undecodable ReportReceipt");
  }
  if (r.compacted_count() <= 1 || r.first_sequence() > report.sequence()) return Seen::kNo;
  // The resend of a report carries the time it was collected; a report
  // collected after the newest one the receipt stands for is new content
  // under a sequence already used.
  return report.collected_at_unix_ms() <= r.collected_at_unix_ms() ? Seen::kSame : Seen::kOther;
}

absl::StatusOr<Store::IngestResult> Store::Ingest(absl::string_view host,
                                                  const v1::FactReport& report,
                                                  absl::Time received_at,
                                                  const Evaluator& evaluate) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  const int64_t received_ms = absl::ToUnixMillis(received_at);
  std::string key = ReportKey(host, report.agent_instance(), report.sequence());
  // Encoded once. SHA-256 of the deterministic encoding tells a
  // retransmission (same bytes) from a sequence number reused for new
  // content; the latest facts are cut out of the same bytes.
  const std::string serialized = DeterministicReport(report);
  std::string digest = Sha256(serialized);
  const std::string mark_key = MarkKey(host, report.agent_instance());
  absl::MutexLock lock(&HostLock(host));
  IngestResult result;
  ASSIGN_OR_RETURN(auto stored, GetProto<v1::ReportReceipt>(reports_, key));
  ASSIGN_OR_RETURN(auto mark, GetProto<v1::InstanceMark>(marks_, mark_key));
  Seen seen = Seen::kNo;
  if (stored.has_value()) {
    // A receipt without a digest predates digests: the same key is all we know.
    seen = stored->content_sha256().empty() || stored->content_sha256() == digest ? Seen::kSame
                                                                                  : Seen::kOther;
  } else {
    ASSIGN_OR_RETURN(seen, SeenBefore(host, report, digest, mark));
  }
  if (seen == Seen::kSame) {
    result.duplicate = true;
    return result;
  }

  rocksdb::WriteBatch batch;
  // Transition events numbered in this batch: readable once it is durable
  // (or dropped from the in-flight set if it fails).
  uint64_t event_first = 0;
  size_t event_count = 0;
  struct EventsInFlight {
    Store* store;
    const uint64_t& first;
    const size_t& count;
    ~EventsInFlight() {
      if (count > 0) store->EventsDone(first, count);
    }
  } in_flight{this, event_first, event_count};
  v1::ReportReceipt receipt;  // what idempotence and retention need
  receipt.set_host_id(report.host_id());
  receipt.set_agent_instance(report.agent_instance());
  receipt.set_sequence(report.sequence());
  receipt.set_collected_at_unix_ms(report.collected_at_unix_ms());
  receipt.set_received_at_unix_ms(received_ms);
  receipt.set_content_sha256(digest);
  batch.Put(reports_, key, receipt.SerializeAsString());
  if (stored.has_value()) {
    // Replaced: its index entry goes with it.
    const int64_t was = stored->received_at_unix_ms() != 0 ? stored->received_at_unix_ms()
                                                           : stored->collected_at_unix_ms();
    batch.Delete(by_time_, TimeIndexKey(TimeIndexTag::kReceipt, was, key));
    batch.Delete(by_time_, TimeIndexKey(TimeIndexTag::kCompactedReceipt, was, key));
  }
  batch.Put(by_time_, TimeIndexKey(TimeIndexTag::kReceipt, received_ms, key), "");

  std::string host_key = HostPrefix(host);
  ASSIGN_OR_RETURN(auto latest, GetProto<v1::HostVerdicts>(verdicts_, host_key));
  std::vector<v1::AuditEntry> audit;
  // A sequence this agent instance already used, now with other content, and
  // not merely the next report of a timeline that already went past it: an
  // agent restored from a snapshot or a copied spool. Its report is new and
  // received now, so it becomes the latest and the host's sequence restarts
  // here. (A lower sequence never seen before is an out-of-order arrival: it
  // is kept as history and does not replace the latest.)
  const bool reset = seen == Seen::kOther &&
                     (!latest.has_value() || report.agent_instance() != latest->agent_instance() ||
                      report.sequence() <= latest->sequence());
  if (reset) {
    result.sequence_reset = true;
    v1::AuditEntry e;
    e.set_at_unix_ms(received_ms);
    e.set_actor("collector");
    e.set_action("sequence-reset");
    e.set_subject(std::string(host));
    e.set_detail(absl::StrCat(
        "agent instance ", report.agent_instance(), " sent #", report.sequence(),
        " again with other content",
        latest.has_value() ? absl::StrCat(" after #", latest->sequence()) : "",
        " (restored from a snapshot or a copied spool?); stored as the host's latest report and "
        "the host's sequence continues from #",
        report.sequence()));
    audit.push_back(std::move(e));
  }
  // The instance's newest report: what a resend is compared with once its
  // receipt is compacted. A reset moves it back to where the timeline
  // restarts.
  if (!mark.has_value() || report.sequence() > mark->sequence() || reset) {
    v1::InstanceMark m;
    m.set_host_id(std::string(host));
    m.set_agent_instance(report.agent_instance());
    m.set_sequence(report.sequence());
    m.set_content_sha256(digest);
    m.set_received_at_unix_ms(received_ms);
    batch.Put(marks_, mark_key, m.SerializeAsString());
  }
  if (!latest.has_value() || reset || IsNewer(report, *latest, received_ms)) {
    result.latest = true;
    // Per kind: the latest record when its content changed, a FactChange
    // when it changed beyond its volatile values (latest_facts.h).
    ASSIGN_OR_RETURN(auto header_value, GetRaw(latest_facts_, LatestHeaderKey(host)));
    LatestHeader header;
    if (header_value.has_value()) {
      std::optional<LatestHeader> decoded = DecodeLatestHeader(*header_value);
      if (!decoded.has_value()) {
        return absl::DataLossError(absl::StrCat("store: undecodable latest facts of ", host));
      }
      header = std::move(*decoded);
    }
    ASSIGN_OR_RETURN(SplitFacts split, SplitSerializedReport(serialized));
    for (KindState& k : header.kinds) {
      bool still = false;
      for (const KindContent& c : split.kinds) still |= c.kind == k.kind;
      if (still || !k.present) continue;
      batch.Delete(latest_facts_, LatestKindKey(host, k.kind));
      k.present = false;
      k.content_hash.clear();
      k.history_hash.clear();
    }
    for (KindContent& c : split.kinds) {
      KindState* k = header.Find(c.kind);
      if (k == nullptr) {
        header.kinds.emplace_back();
        k = &header.kinds.back();
        k->kind = c.kind;
      }
      if (!k->present || k->content_hash != c.content_hash) {
        batch.Put(latest_facts_, LatestKindKey(host, c.kind), EncodeKindRecord(c));
      }
      if (!k->present || k->history_hash != c.history_hash) {
        if (!k->change_key.empty()) {
          // Replaced: retention may drop it from now on.
          batch.Put(by_time_,
                    TimeIndexKey(TimeIndexTag::kSupersededChange,
                                 FactChangeTime(k->change_key).value_or(0), k->change_key),
                    "");
        }
        v1::FactChange change;
        change.set_host_id(std::string(host));
        change.set_kind(c.kind);
        change.set_at_unix_ms(received_ms);
        change.set_sequence(report.sequence());
        change.set_content(std::move(c.content));
        k->change_key = FactChangeKey(host, c.kind, received_ms, report.sequence());
        batch.Put(fact_changes_, k->change_key, change.SerializeAsString());
      }
      k->present = true;
      k->content_hash = std::move(c.content_hash);
      k->history_hash = std::move(c.history_hash);
    }
    header.report_header = std::move(split.header);
    batch.Put(latest_facts_, LatestHeaderKey(host), EncodeLatestHeader(header));
    v1::HostVerdicts verdicts = evaluate(report);
    verdicts.set_received_at_unix_ms(received_ms);  // the store's receive time is the one
    const std::vector<v1::Transition> transitions =
        CarryHistory(latest, verdicts, report, received_ms);
    // Every transition is stored; past the hourly cap, not audited one by one.
    size_t to_audit = TransitionsToAudit(host, transitions.size(), received_at, &audit);
    std::vector<v1::Event> events;
    for (const v1::Transition& t : transitions) {
      events.push_back(TransitionEvent(t));
      events.back().set_host_id(std::string(host));
    }
    event_first = AddEvents(&batch, events, received_at);
    event_count = events.size();
    for (const v1::Transition& t : transitions) {
      std::string tkey = host_key;
      AppendString(tkey, t.check_id());
      AppendU64(tkey, static_cast<uint64_t>(t.at_unix_ms()));
      AppendU64(tkey, t.sequence());
      batch.Put(by_time_, TimeIndexKey(TimeIndexTag::kTransition, t.at_unix_ms(), tkey), "");
      batch.Put(transitions_, tkey, t.SerializeAsString());
      if (to_audit == 0) continue;
      --to_audit;
      v1::AuditEntry e;
      e.set_at_unix_ms(verdicts.evaluated_at_unix_ms());
      e.set_actor("collector");
      e.set_action("transition");
      e.set_subject(absl::StrCat(host, " ", t.check_id()));
      e.set_detail(absl::StrCat(
          t.from() == v1::CHECK_STATUS_UNSPECIFIED ? "NONE" : v1::CheckStatus_Name(t.from()),
          " -> ", v1::CheckStatus_Name(t.to()), " (report ", t.sequence(), ")"));
      audit.push_back(std::move(e));
    }
    std::string serialized;
    if (!verdicts.SerializeToString(&serialized)) {
      return absl::InternalError("cannot serialize verdicts");
    }
    batch.Put(verdicts_, host_key, serialized);
  }
  if (!audit.empty()) {
    RETURN_IF_ERROR(WriteWithAudit(&batch, std::move(audit), /*report=*/true));
    return result;
  }
  RETURN_IF_ERROR(SyncedWrite(&batch, "write store", /*report=*/true));
  return result;
}

namespace {
v1::AuditEntry TransitionSummary(absl::string_view host, absl::Time start, uint64_t not_audited,
                                 uint32_t per_hour) {
  v1::AuditEntry e;
  e.set_at_unix_ms(absl::ToUnixMillis(start + absl::Hours(1)));
  e.set_actor("collector");
  e.set_action("transitions-not-audited");
  e.set_subject(std::string(host));
  e.set_detail(absl::StrCat(not_audited, " verdict transition(s) of ", host, " in the hour from ",
                            absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", start, absl::UTCTimeZone()),
                            " were stored but not audited one by one (collector config "
                            "max_audited_transitions_per_hour ",
                            per_hour, "); preflightctl history ", host, " lists them"));
  return e;
}
}  // namespace

size_t Store::TransitionsToAudit(absl::string_view host, size_t count, absl::Time now,
                                 std::vector<v1::AuditEntry>* audit) {
  absl::MutexLock lock(&transition_audit_mu_);
  const uint32_t cap = audited_transitions_per_hour_;
  if (cap == 0) return count;
  auto it = transition_hours_.find(host);
  if (it != transition_hours_.end() && now - it->second.start >= absl::Hours(1)) {
    if (it->second.not_audited > 0) {
      audit->push_back(TransitionSummary(host, it->second.start, it->second.not_audited, cap));
    }
    transition_hours_.erase(it);
    it = transition_hours_.end();
  }
  if (count == 0) return 0;
  if (it == transition_hours_.end()) {
    it = transition_hours_.emplace(std::string(host), TransitionHour{now}).first;
  }
  TransitionHour& hour = it->second;
  const size_t audited = std::min<size_t>(count, cap - std::min(cap, hour.audited));
  hour.audited += static_cast<uint32_t>(audited);
  hour.not_audited += count - audited;
  return audited;
}

void Store::SetAuditedTransitionsPerHour(uint32_t per_hour) {
  absl::MutexLock lock(&transition_audit_mu_);
  audited_transitions_per_hour_ = per_hour;
}

absl::Status Store::FlushTransitionSummaries(absl::Time now) {
  std::vector<v1::AuditEntry> summaries;
  {
    absl::MutexLock lock(&transition_audit_mu_);
    for (auto it = transition_hours_.begin(); it != transition_hours_.end();) {
      if (now - it->second.start < absl::Hours(1)) {
        ++it;
        continue;
      }
      if (it->second.not_audited > 0) {
        summaries.push_back(TransitionSummary(it->first, it->second.start, it->second.not_audited,
                                              audited_transitions_per_hour_));
      }
      transition_hours_.erase(it++);
    }
  }
  if (summaries.empty()) return absl::OkStatus();
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  rocksdb::WriteBatch batch;
  return WriteWithAudit(&batch, std::move(summaries));
}

absl::StatusOr<uint64_t> Store::MemtableBytes() {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  uint64_t total = 0;  // summed over every column family by RocksDB
  if (!db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kSizeAllMemTables, &total)) {
    return absl::InternalError("store: RocksDB gives no memtable size");
  }
  return total;
}

absl::StatusOr<std::optional<v1::HostVerdicts>> Store::LatestVerdicts(absl::string_view host) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  return GetProto<v1::HostVerdicts>(verdicts_, HostPrefix(host));
}

absl::StatusOr<std::optional<v1::FactReport>> Store::LatestFacts(absl::string_view host) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  const std::string prefix = HostPrefix(host);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), latest_facts_));
  std::optional<v1::FactReport> out;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const absl::string_view key(it->key().data(), it->key().size());
    const absl::string_view value(it->value().data(), it->value().size());
    std::optional<std::string> kind = DecodeLatestKind(host, key);
    if (!kind.has_value()) continue;
    if (kind->empty()) {
      std::optional<LatestHeader> header = DecodeLatestHeader(value);
      out.emplace();
      if (!header.has_value() || !out->ParseFromString(header->report_header)) {
        return absl::DataLossError(absl::StrCat("store: undecodable latest facts of ", host));
      }
      continue;
    }
    if (!out.has_value()) {
      return absl::DataLossError(absl::StrCat("store: latest facts of ", host, " without header"));
    }
    RETURN_IF_ERROR(MergeKindRecord(*kind, value, *out));
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "read latest facts"));
  return out;
}

absl::StatusOr<std::vector<std::string>> Store::ReportKeys(absl::string_view host) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  std::string prefix = HostPrefix(host);
  std::vector<std::string> keys;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), reports_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    keys.push_back(it->key().ToString());
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "scan store"));
  return keys;
}

absl::Status Store::WriteWithAudit(void* batch_ptr, std::vector<v1::AuditEntry> entries,
                                   bool report) {
  auto& batch = *static_cast<rocksdb::WriteBatch*>(batch_ptr);
  absl::MutexLock lock(&audit_mu_);
  uint64_t seq = audit_head_seq_;
  std::string hash = audit_head_hash_;
  for (v1::AuditEntry& e : entries) {
    ChainAuditEntry(seq, hash, e);
    seq = e.seq();
    hash = e.hash();
    batch.Put(audit_, AuditKey(seq), e.SerializeAsString());
  }
  std::string head;
  AppendU64(head, seq);
  head += hash;
  batch.Put(kAuditHeadKey, head);
  RETURN_IF_ERROR(SyncedWrite(&batch, "write store", report));
  audit_head_seq_ = seq;
  audit_head_hash_ = hash;
  AnnounceAuditAnchor(seq, hash);  // the head, outside the data directory
  return absl::OkStatus();
}

absl::Status Store::SyncedWrite(rocksdb::WriteBatch* batch, absl::string_view what, bool report) {
  // Nothing reaches RocksDB while in error: it may still hold the log that
  // failed, and the error stays until TryRecover reopens the database.
  RETURN_IF_ERROR(RefuseWrite(report));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  absl::Status written = FromRocksStatus(db_->Write(wo, batch), what);
  if (!written.ok()) NoteError(written, report, "a write");
  return written;
}

absl::Status Store::RefuseWrite(bool report) {
  absl::MutexLock lock(&health_mu_);
  if (health_error_.ok()) return absl::OkStatus();
  if (report) ++episode_refused_;
  return HealthLocked();
}

void Store::NoteBackgroundError(const absl::Status& error, absl::string_view source) {
  NoteError(error, false, source);
}

void Store::NoteError(const absl::Status& error, bool report, absl::string_view source) {
  absl::MutexLock lock(&health_mu_);
  if (report) ++episode_refused_;
  if (!health_error_.ok()) return;
  health_error_ = error;
  if (!episode_open_) {
    episode_open_ = true;
    episode_since_ = absl::Now();
  }
  free_bytes_ = FreeBytes(dir_);
  needed_bytes_ = RecoveryNeeds(dir_);
  // The first retry only after the interval: the cause is rarely gone at once.
  next_recovery_ = absl::Now() + kRecoveryInterval;
  StoreLog(absl::StrCat("storage error in ", source, ": ", error.message(),
                        "; reports are refused (not acked) until it clears"));
}

absl::Status Store::HealthLocked() const {
  if (health_error_.ok()) return absl::OkStatus();
  std::string waiting;
  if (free_bytes_ < needed_bytes_) {
    waiting = absl::StrCat("; recovery waits for ", Bytes(needed_bytes_), " free in ", dir_, " (",
                           Bytes(free_bytes_), " at the last look)");
  }
  return absl::Status(
      health_error_.code(),
      absl::StrCat("storage error since ",
                   absl::FormatTime("%Y-%m-%d %H:%M:%SZ", episode_since_, absl::UTCTimeZone()),
                   " (", episode_refused_, " report deliveries refused): ", health_error_.message(),
                   waiting));
}

absl::Status Store::Health() const {
  absl::MutexLock lock(&health_mu_);
  return HealthLocked();
}

absl::Status Store::TryRecover() {
  absl::Status cause;
  {
    absl::MutexLock lock(&health_mu_);
    if (health_error_.ok()) return absl::OkStatus();
    const absl::Time now = absl::Now();
    if (now < next_recovery_) return absl::OkStatus();
    next_recovery_ = now + kRecoveryInterval;
    free_bytes_ = FreeBytes(dir_);
    needed_bytes_ = RecoveryNeeds(dir_);
    if (free_bytes_ < needed_bytes_) return absl::OkStatus();
    cause = health_error_;
  }
  if (absl::IsDataLoss(cause)) {
    return absl::DataLossError(
        absl::StrCat("the store cannot recover in this process: ", cause.message()));
  }
  absl::WriterMutexLock lock(&db_mu_);
  // Every other call has finished; a new database instance starts a new
  // write-ahead log and replays the synced ones.
  CloseDb();
  if (absl::Status opened = OpenDb(); !opened.ok()) {
    absl::MutexLock health(&health_mu_);
    ++failed_reopens_;
    StoreLog(absl::StrCat("cannot reopen the store (attempt ", failed_reopens_,
                          "): ", opened.message()));
    if (failed_reopens_ >= 5) {
      return absl::UnavailableError(
          absl::StrCat("the store cannot be reopened in this process: ", opened.message()));
    }
    return absl::OkStatus();
  }
  absl::Time since;
  uint64_t refused = 0;
  {
    absl::MutexLock health(&health_mu_);
    failed_reopens_ = 0;
    health_error_ = absl::OkStatus();  // so that the audit entry may be written
    since = episode_since_;
    refused = episode_refused_;
  }
  const absl::Time now = absl::Now();
  v1::AuditEntry entry;
  entry.set_at_unix_ms(absl::ToUnixMillis(now));
  entry.set_actor("collector");
  entry.set_action("storage-recovered");
  entry.set_subject(dir_);
  entry.set_detail(absl::StrCat(
      "storage error from ", absl::FormatTime("%Y-%m-%d %H:%M:%SZ", since, absl::UTCTimeZone()),
      " for ", absl::FormatDuration(absl::Trunc(now - since, absl::Seconds(1))), " (",
      cause.message(), "); ", refused, " report deliveries refused (not acked) meanwhile"));
  rocksdb::WriteBatch batch;
  if (absl::Status audited = WriteWithAudit(&batch, {entry}); !audited.ok()) {
    return absl::OkStatus();  // in error again (logged); the episode goes on
  }
  {
    absl::MutexLock health(&health_mu_);
    episode_open_ = false;
    episode_refused_ = 0;
  }
  StoreLog(absl::StrCat("storage error cleared after ",
                        absl::FormatDuration(absl::Trunc(now - since, absl::Seconds(1))), "; ",
                        refused,
                        " report deliveries were refused meanwhile; storing reports again"));
  return absl::OkStatus();
}

namespace {
v1::AuditEntry EntryOf(const Store::AuditRecord& r, absl::Time now) {
  v1::AuditEntry e;
  e.set_at_unix_ms(absl::ToUnixMillis(now));
  e.set_actor(r.actor);
  e.set_action(r.action);
  e.set_subject(r.subject);
  e.set_detail(r.detail);
  return e;
}

std::string AttestationKey(absl::string_view check, absl::string_view environment) {
  std::string k;
  AppendString(k, check);
  AppendString(k, environment);
  return k;
}

std::string WaiverKey(absl::string_view host, absl::string_view check) {
  std::string k = HostPrefix(host);
  AppendString(k, check);
  return k;
}
}  // namespace

absl::Status Store::Audit(const AuditRecord& record, absl::Time now) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  rocksdb::WriteBatch batch;
  return WriteWithAudit(&batch, {EntryOf(record, now)});
}

absl::StatusOr<std::optional<std::string>> Store::GetMeta(absl::string_view key) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), absl::StrCat("meta/", key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(FromRocksStatus(s, "read store"));
  return std::optional<std::string>(std::move(value));
}

absl::Status Store::PutMeta(absl::string_view key, absl::string_view value,
                            const AuditRecord& record, absl::Time now) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  rocksdb::WriteBatch batch;
  batch.Put(absl::StrCat("meta/", key), ToSlice(value));
  return WriteWithAudit(&batch, {EntryOf(record, now)});
}

absl::Status Store::PutAttestation(const v1::Attestation& attestation, const AuditRecord& record,
                                   absl::Time now) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  rocksdb::WriteBatch batch;
  batch.Put(attestations_, AttestationKey(attestation.check_id(), attestation.environment()),
            attestation.SerializeAsString());
  return WriteWithAudit(&batch, {EntryOf(record, now)});
}

absl::Status Store::PutWaiver(const v1::Waiver& waiver, const AuditRecord& record, absl::Time now) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  rocksdb::WriteBatch batch;
  batch.Put(waivers_, WaiverKey(waiver.host_id(), waiver.check_id()), waiver.SerializeAsString());
  return WriteWithAudit(&batch, {EntryOf(record, now)});
}

absl::StatusOr<std::optional<v1::Attestation>> Store::GetAttestation(
    absl::string_view check, absl::string_view environment) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  return GetProto<v1::Attestation>(attestations_, AttestationKey(check, environment));
}

absl::StatusOr<std::optional<v1::Waiver>> Store::GetWaiver(absl::string_view host,
                                                           absl::string_view check) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  return GetProto<v1::Waiver>(waivers_, WaiverKey(host, check));
}

namespace {
template <typename T>
absl::StatusOr<std::vector<T>> ScanAll(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                       const std::string& prefix) {
  std::vector<T> out;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    T m;
    if (!m.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("store: undecodable ", T::descriptor()->name()));
    }
    out.push_back(std::move(m));
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "scan store"));
  return out;
}
}  // namespace

absl::StatusOr<std::vector<v1::Attestation>> Store::Attestations() {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  return ScanAll<v1::Attestation>(db_.get(), attestations_, "");
}

absl::StatusOr<std::vector<v1::Waiver>> Store::Waivers(absl::string_view host) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  return ScanAll<v1::Waiver>(db_.get(), waivers_, HostPrefix(host));
}

absl::StatusOr<std::vector<v1::Waiver>> Store::AllWaivers() {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  return ScanAll<v1::Waiver>(db_.get(), waivers_, "");
}

absl::StatusOr<std::vector<StoredAuditEntry>> Store::AuditEntries() {
  return AuditEntriesAfter(0, std::numeric_limits<size_t>::max());
}

absl::StatusOr<std::vector<StoredAuditEntry>> Store::AuditEntriesAfter(uint64_t after_seq,
                                                                       size_t limit) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  return ScanAuditEntries(rocksdb::ReadOptions(), after_seq, limit);
}

absl::StatusOr<AuditTrail> Store::ConsistentAuditTrail() {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  // WriteWithAudit writes the entries and the head in one batch and then
  // moves the in-memory head, all under audit_mu_: under that lock the
  // database and the head agree. A snapshot taken there, read after the
  // lock is let go, holds exactly the entries the head records.
  AuditTrail trail;
  const rocksdb::Snapshot* snapshot = nullptr;
  {
    absl::MutexLock lock(&audit_mu_);
    snapshot = db_->GetSnapshot();
    trail.head_seq = audit_head_seq_;
    trail.head_hash = audit_head_hash_;
  }
  rocksdb::ReadOptions at_snapshot;
  at_snapshot.snapshot = snapshot;
  auto entries = ScanAuditEntries(at_snapshot, 0, std::numeric_limits<size_t>::max());
  db_->ReleaseSnapshot(snapshot);
  if (!entries.ok()) return entries.status();
  trail.entries = *std::move(entries);
  return trail;
}

absl::StatusOr<std::vector<StoredAuditEntry>> Store::ScanAuditEntries(
    const rocksdb::ReadOptions& options, uint64_t after_seq, size_t limit) {
  std::vector<StoredAuditEntry> out;
  if (after_seq == std::numeric_limits<uint64_t>::max()) return out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, audit_));
  // Keys are big-endian sequence numbers: seeking is by number.
  for (it->Seek(AuditKey(after_seq + 1)); it->Valid() && out.size() < limit; it->Next()) {
    StoredAuditEntry s;
    s.key_seq = ReadU64(absl::string_view(it->key().data(), it->key().size()));
    if (!s.entry.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      // Kept, so verification names it: an unparseable entry is a modified one.
      s.entry.set_seq(s.key_seq);
      s.entry.set_detail("<undecodable>");
    }
    out.push_back(std::move(s));
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "scan audit"));
  return out;
}

std::pair<uint64_t, std::string> Store::AuditHead() {
  absl::MutexLock lock(&audit_mu_);
  return {audit_head_seq_, audit_head_hash_};
}

absl::StatusOr<std::vector<v1::Transition>> Store::Transitions(absl::string_view host,
                                                               absl::string_view check) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  std::string prefix = HostPrefix(host);
  if (!check.empty()) AppendString(prefix, check);
  ASSIGN_OR_RETURN(auto out, ScanAll<v1::Transition>(db_.get(), transitions_, prefix));
  std::stable_sort(out.begin(), out.end(), [](const v1::Transition& a, const v1::Transition& b) {
    return a.at_unix_ms() < b.at_unix_ms();
  });
  return out;
}

absl::StatusOr<std::vector<v1::FactChange>> Store::FactChanges(absl::string_view host) {
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  return ScanAll<v1::FactChange>(db_.get(), fact_changes_, HostPrefix(host));
}

void Store::SetPruneBatchRecords(uint64_t records) {
  prune_batch_.store(records == 0 ? kDefaultPruneBatch : records);
}

void Store::LockAllHosts() {
  for (absl::Mutex& m : host_locks_) m.Lock();
}

void Store::UnlockAllHosts() {
  for (size_t i = host_locks_.size(); i-- > 0;) host_locks_[i].Unlock();
}

absl::StatusOr<uint64_t> Store::Prune(absl::Time before) {
  absl::MutexLock maintenance(&maintenance_mu_);
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  const int64_t cutoff = absl::ToUnixMillis(before);
  uint64_t budget = prune_batch_.load();
  rocksdb::WriteBatch batch;
  uint64_t dropped = 0;
  // Each tag of the time index, oldest first: the records it names are
  // deleted by key, and the index entries by one range.
  const std::pair<TimeIndexTag, rocksdb::ColumnFamilyHandle*> families[] = {
      {TimeIndexTag::kReceipt, reports_},
      {TimeIndexTag::kCompactedReceipt, reports_},
      {TimeIndexTag::kTransition, transitions_},
      {TimeIndexTag::kSupersededChange, fact_changes_},
  };
  for (const auto& [tag, cf] : families) {
    if (budget == 0) break;
    const std::string lower = TimeIndexBound(tag, 0);
    const std::string upper = TimeIndexBound(tag, cutoff);
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, by_time_));
    std::string last;
    for (it->Seek(lower); it->Valid() && budget > 0; it->Next()) {
      const absl::string_view key(it->key().data(), it->key().size());
      std::optional<TimeIndexEntry> entry = DecodeTimeIndexKey(tag, key);
      if (entry.has_value()) {
        batch.Delete(cf, ToSlice(entry->record_key));
        ++dropped;
        --budget;
      }
      last.assign(key.data(), key.size());
    }
    RETURN_IF_ERROR(FromRocksStatus(it->status(), "read the time index"));
    if (!last.empty()) {
      last.push_back('\0');  // the key right after the last one deleted
      batch.DeleteRange(by_time_, lower, last);
    }
  }
  if (budget > 0) {
    ASSIGN_OR_RETURN(uint64_t events, PruneEvents(cutoff, budget, &batch));
    dropped += events;
  }
  if (dropped == 0) return dropped;
  RETURN_IF_ERROR(SyncedWrite(&batch, "prune store"));
  return dropped;
}

absl::StatusOr<uint64_t> Store::CompactReceipts(absl::Time before) {
  constexpr int64_t kHourMs = 3'600'000;
  absl::MutexLock maintenance(&maintenance_mu_);
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  const int64_t before_ms = absl::ToUnixMillis(before);
  const int64_t cutoff = before_ms - (before_ms % kHourMs + kHourMs) % kHourMs;  // whole hours
  const uint64_t batch_limit = prune_batch_.load();
  // The receipts not compacted yet, from the time index, whole hours only
  // and about batch_limit of them (an hour with more is taken whole).
  struct Group {
    std::string host, instance;
    std::vector<uint64_t> sequences;
    int64_t first_at = 0, last_at = 0;
  };
  std::map<std::tuple<int64_t, std::string, std::string>, Group> groups;
  std::string stop;  // the first index key not taken
  {
    const std::string lower = TimeIndexBound(TimeIndexTag::kReceipt, 0);
    const std::string upper = TimeIndexBound(TimeIndexTag::kReceipt, cutoff);
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, by_time_));
    uint64_t taken = 0;
    int64_t hour = -1;
    std::vector<
        std::pair<std::tuple<int64_t, std::string, std::string>, std::pair<uint64_t, int64_t>>>
        pending;  // the current hour's entries
    auto take_pending = [&] {
      for (auto& [id, seq_at] : pending) {
        Group& g = groups[id];
        if (g.sequences.empty()) {
          g.host = std::get<1>(id);
          g.instance = std::get<2>(id);
          g.first_at = seq_at.second;
        }
        g.sequences.push_back(seq_at.first);
        g.first_at = std::min(g.first_at, seq_at.second);
        g.last_at = std::max(g.last_at, seq_at.second);
      }
      taken += pending.size();
      pending.clear();
    };
    for (it->Seek(lower); it->Valid(); it->Next()) {
      const absl::string_view key(it->key().data(), it->key().size());
      std::optional<TimeIndexEntry> entry = DecodeTimeIndexKey(TimeIndexTag::kReceipt, key);
      std::optional<ReportKeyParts> parts;
      if (entry.has_value()) parts = DecodeReportKey(entry->record_key);
      const int64_t entry_hour = entry.has_value() ? entry->at_ms - entry->at_ms % kHourMs : hour;
      if (entry_hour != hour) {
        if (taken > 0 && taken + pending.size() > batch_limit) {
          stop = TimeIndexBound(TimeIndexTag::kReceipt, hour);
          break;
        }
        take_pending();
        if (taken >= batch_limit) {
          stop = TimeIndexBound(TimeIndexTag::kReceipt, entry_hour);
          break;
        }
        hour = entry_hour;
      }
      if (parts.has_value()) {
        pending.push_back({{hour, parts->host, parts->instance}, {parts->sequence, entry->at_ms}});
      }
    }
    RETURN_IF_ERROR(FromRocksStatus(it->status(), "read the time index"));
    if (stop.empty()) {
      if (taken > 0 && taken + pending.size() > batch_limit) {
        stop = TimeIndexBound(TimeIndexTag::kReceipt, hour);
      } else {
        take_pending();
        stop = upper;
      }
    }
  }
  if (groups.empty()) return 0;
  // Ingests of these hosts wait: a reused sequence may replace a receipt.
  LockAllHosts();
  absl::Cleanup unlock = [this] { UnlockAllHosts(); };
  rocksdb::WriteBatch batch;
  uint64_t removed = 0;
  for (auto& [id, g] : groups) {
    std::sort(g.sequences.begin(), g.sequences.end());
    v1::ReportReceipt out;
    uint64_t count = 0;
    bool first = true;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), reports_));
    const std::string end = ReportKey(g.host, g.instance, g.sequences.back());
    size_t next = 0;
    for (it->Seek(ReportKey(g.host, g.instance, g.sequences.front()));
         it->Valid() && next < g.sequences.size() && it->key().compare(end) <= 0; it->Next()) {
      std::optional<ReportKeyParts> parts =
          DecodeReportKey(absl::string_view(it->key().data(), it->key().size()));
      if (!parts.has_value()) continue;
      while (next < g.sequences.size() && g.sequences[next] < parts->sequence) ++next;
      if (next == g.sequences.size() || g.sequences[next] != parts->sequence) continue;
      v1::ReportReceipt r;
      if (!r.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) continue;
      const uint64_t n = std::max<uint64_t>(1, r.compacted_count());
      const uint64_t first_seq = r.compacted_count() > 1 ? r.first_sequence() : r.sequence();
      const int64_t received =
          r.received_at_unix_ms() != 0 ? r.received_at_unix_ms() : r.collected_at_unix_ms();
      const int64_t first_received =
          r.compacted_count() > 1 ? r.first_received_at_unix_ms() : received;
      if (first) {
        out = r;
        out.set_first_sequence(first_seq);
        out.set_first_received_at_unix_ms(first_received);
        first = false;
      } else {
        out.set_first_sequence(std::min(out.first_sequence(), first_seq));
        out.set_first_received_at_unix_ms(
            std::min(out.first_received_at_unix_ms(), first_received));
        out.set_collected_at_unix_ms(
            std::max(out.collected_at_unix_ms(), r.collected_at_unix_ms()));
        out.set_received_at_unix_ms(std::max(out.received_at_unix_ms(), received));
        // The newest sequence names the receipt and keeps its digest.
        out.set_sequence(r.sequence());
        out.set_content_sha256(r.content_sha256());
      }
      count += n;
      batch.Delete(reports_, it->key());
      ++removed;
    }
    RETURN_IF_ERROR(FromRocksStatus(it->status(), "read store"));
    if (first) continue;  // gone meanwhile
    out.set_compacted_count(count);
    if (out.received_at_unix_ms() == 0) out.set_received_at_unix_ms(g.last_at);
    const std::string key = ReportKey(g.host, g.instance, out.sequence());
    batch.Put(reports_, key, out.SerializeAsString());
    --removed;  // one stays, compacted
    batch.Put(by_time_,
              TimeIndexKey(TimeIndexTag::kCompactedReceipt, out.received_at_unix_ms(), key), "");
  }
  batch.DeleteRange(by_time_, TimeIndexBound(TimeIndexTag::kReceipt, 0), stop);
  RETURN_IF_ERROR(SyncedWrite(&batch, "compact receipts"));
  return removed;
}

absl::StatusOr<uint64_t> Store::PruneAudit(absl::Time before, absl::string_view reason,
                                           absl::Time now) {
  const int64_t cutoff = absl::ToUnixMillis(before);
  absl::ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(Usable());
  rocksdb::WriteBatch batch;
  AuditCheckpoint checkpoint;
  uint64_t dropped = 0;
  {
    // From the oldest entry on, while older than the cutoff, so the trail
    // kept is contiguous. Only the head moves meanwhile, past these entries.
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), audit_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const uint64_t seq = ReadU64(absl::string_view(it->key().data(), it->key().size()));
      v1::AuditEntry e;
      const bool parsed =
          e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()));
      if (parsed && e.at_unix_ms() >= cutoff) break;
      // What is pruned must chain, or pruning would hide the evidence.
      const bool follows = dropped == 0 || (seq == checkpoint.first_kept &&
                                            e.prev_hash() == checkpoint.last_pruned_hash);
      if (!parsed || e.seq() != seq || !follows || AuditHash(e.prev_hash(), e) != e.hash()) {
        return absl::FailedPreconditionError(
            absl::StrCat("audit entry ", seq,
                         " does not verify: the audit trail is not pruned (preflightctl audit "
                         "--verify names what is wrong)"));
      }
      if (dropped == 0) checkpoint.first_pruned = seq;
      checkpoint.first_kept = seq + 1;
      checkpoint.last_pruned_hash = e.hash();
      batch.Delete(audit_, it->key());
      ++dropped;
    }
    RETURN_IF_ERROR(FromRocksStatus(it->status(), "scan audit"));
  }
  if (dropped == 0) return dropped;
  checkpoint.reason = std::string(reason);
  RETURN_IF_ERROR(
      WriteWithAudit(&batch, {AuditCheckpointEntry(checkpoint, absl::ToUnixMillis(now))}));
  return dropped;
}

namespace {

constexpr char kSchemaVersionKey[] = "meta/schema_version";

// One upgrade of the store's layout, from schema `from` to from + 1: its
// changes (Store::CheckSchema) and, in one synced write, the new version and
// the step's audit entry. A future layout change appends a step here and
// raises Store::kSchemaVersion.
struct SchemaUpgrade {
  int from;
  const char* what;
};

const std::vector<SchemaUpgrade>& SchemaUpgrades() {
  static const auto* steps = new std::vector<SchemaUpgrade>{
      {1, "the version marker itself, nothing else changes"},
      {2, "the events and state families (created empty at open)"},
      {3, "latest facts per kind, instance marks and the time index (Store::UpgradeTo4)"},
  };
  return *steps;
}

}  // namespace

absl::Status Store::CheckSchema() {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kSchemaVersionKey, &value);
  if (!s.ok() && !s.IsNotFound()) return FromRocksStatus(s, "read schema version");
  int version = 0;
  if (s.ok()) {
    if (!absl::SimpleAtoi(value, &version) || version < 1) {
      return absl::DataLossError(
          absl::StrCat("store ", dir_, ": unreadable schema version \"", value, "\""));
    }
  } else {
    // No marker: a new store, or one written before the marker (schema 1).
    bool empty = true;
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), h));
      it->SeekToFirst();
      RETURN_IF_ERROR(FromRocksStatus(it->status(), "scan store"));
      if (it->Valid()) {
        empty = false;
        break;
      }
    }
    if (empty) {
      rocksdb::WriteBatch batch;
      batch.Put(kSchemaVersionKey, absl::StrCat(kSchemaVersion));
      return SyncedWrite(&batch, "write schema version");
    }
    version = 1;
  }
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("store ", dir_, ": store schema ", version,
                     " is newer than this collector (supports up to ", kSchemaVersion,
                     "): run a newer collector or restore a backup"));
  }
  for (const SchemaUpgrade& step : SchemaUpgrades()) {
    if (step.from != version) continue;
    if (step.from == 3) RETURN_IF_ERROR(UpgradeTo4());
    rocksdb::WriteBatch batch;
    batch.Put(kSchemaVersionKey, absl::StrCat(step.from + 1));
    const std::string what =
        absl::StrCat("store upgraded from schema ", step.from, " to ", step.from + 1);
    RETURN_IF_ERROR(WriteWithAudit(
        &batch,
        {EntryOf(
            {.actor = "collector", .action = "store-upgraded", .subject = dir_, .detail = what},
            absl::Now())}));
    StoreLog(what);
    version = step.from + 1;
  }
  if (version != kSchemaVersion) {
    return absl::InternalError(absl::StrCat("store ", dir_, ": no upgrade from schema ", version));
  }
  return absl::OkStatus();
}

}  // namespace preflight::collector
