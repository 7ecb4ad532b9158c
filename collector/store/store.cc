#include "collector/store/store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "collector/store/keys.h"
#include "proto/wire/status.h"

namespace preflight::collector {
namespace {

constexpr char kReports[] = "reports";
constexpr char kLatestFacts[] = "latest_facts";
constexpr char kVerdicts[] = "verdicts";

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

bool IsNewer(const v1::FactReport& report, const v1::HostVerdicts& latest) {
  if (report.agent_instance() == latest.agent_instance()) {
    return report.sequence() > latest.sequence();
  }
  return report.collected_at_unix_ms() >= latest.collected_at_unix_ms();
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
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  options.max_open_files = 512;
  options.keep_log_file_num = 5;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(options)},
      {kReports, rocksdb::ColumnFamilyOptions(options)},
      {kLatestFacts, rocksdb::ColumnFamilyOptions(options)},
      {kVerdicts, rocksdb::ColumnFamilyOptions(options)},
  };
  std::unique_ptr<Store> store(new Store());
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, cfs, &store->handles_, &db);
  if (!s.ok()) return FromRocksStatus(s, absl::StrCat("open store ", dir));
  store->db_.reset(db);
  store->reports_ = store->handles_[1];
  store->latest_facts_ = store->handles_[2];
  store->verdicts_ = store->handles_[3];
  return store;
}

Store::~Store() {
  if (db_ == nullptr) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

std::mutex& Store::HostLock(absl::string_view host) {
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

absl::StatusOr<Store::IngestResult> Store::Ingest(absl::string_view host,
                                                  const v1::FactReport& report,
                                                  const Evaluator& evaluate) {
  std::string key = ReportKey(host, report.agent_instance(), report.sequence());
  std::lock_guard<std::mutex> lock(HostLock(host));
  IngestResult result;
  std::string existing;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), reports_, key, &existing);
  if (s.ok()) {
    result.duplicate = true;
    return result;
  }
  if (!s.IsNotFound()) return FromRocksStatus(s, "read store");

  rocksdb::WriteBatch batch;
  std::string value;
  if (!report.SerializeToString(&value)) return absl::InternalError("cannot serialize report");
  batch.Put(reports_, key, value);

  std::string host_key = HostPrefix(host);
  ASSIGN_OR_RETURN(auto latest, GetProto<v1::HostVerdicts>(verdicts_, host_key));
  if (!latest.has_value() || IsNewer(report, *latest)) {
    result.latest = true;
    batch.Put(latest_facts_, host_key, value);
    std::string verdicts;
    if (!evaluate(report).SerializeToString(&verdicts)) {
      return absl::InternalError("cannot serialize verdicts");
    }
    batch.Put(verdicts_, host_key, verdicts);
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  RETURN_IF_ERROR(FromRocksStatus(db_->Write(wo, &batch), "write store"));
  return result;
}

absl::StatusOr<std::optional<v1::HostVerdicts>> Store::LatestVerdicts(absl::string_view host) {
  return GetProto<v1::HostVerdicts>(verdicts_, HostPrefix(host));
}

absl::StatusOr<std::optional<v1::FactReport>> Store::LatestFacts(absl::string_view host) {
  return GetProto<v1::FactReport>(latest_facts_, HostPrefix(host));
}

absl::StatusOr<std::vector<std::string>> Store::ReportKeys(absl::string_view host) {
  std::string prefix = HostPrefix(host);
  std::vector<std::string> keys;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), reports_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    keys.push_back(it->key().ToString());
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "scan store"));
  return keys;
}

}  // namespace preflight::collector
