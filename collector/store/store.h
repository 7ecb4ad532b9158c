// The collector's RocksDB store. Column families:
//   reports       ReportKey(host, instance, seq) -> FactReport  (every report once)
//   latest_facts  HostPrefix(host)                -> FactReport  (newest per host)
//   verdicts      HostPrefix(host)                -> HostVerdicts (newest per host)
// Every ingest is one synced WriteBatch; concurrent ingests on worker threads
// are group-committed by RocksDB.
#ifndef PREFLIGHT_COLLECTOR_STORE_STORE_H_
#define PREFLIGHT_COLLECTOR_STORE_STORE_H_

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "preflight/v1/facts.pb.h"
#include "preflight/v1/verdict.pb.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Status;
}  // namespace rocksdb

namespace preflight::collector {

// The one place a rocksdb::Status becomes an absl::Status.
absl::Status FromRocksStatus(const rocksdb::Status& status, absl::string_view what);

class Store {
 public:
  // Opens or creates the store in `dir`.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir);
  ~Store();

  struct IngestResult {
    bool duplicate = false;  // (host, instance, sequence) was stored before
    bool latest = false;     // became the host's newest report
  };
  using Evaluator = std::function<v1::HostVerdicts(const v1::FactReport&)>;

  // Stores `report` for `host` unless (host, instance, sequence) is already
  // stored. When it is the host's newest report, the host's latest facts and
  // verdicts (from `evaluate`) are replaced in the same synced write. Returns
  // only after the write is durable.
  absl::StatusOr<IngestResult> Ingest(absl::string_view host, const v1::FactReport& report,
                                      const Evaluator& evaluate);

  absl::StatusOr<std::optional<v1::HostVerdicts>> LatestVerdicts(absl::string_view host);
  absl::StatusOr<std::optional<v1::FactReport>> LatestFacts(absl::string_view host);
  // Keys of every stored report of a host, in key order.
  absl::StatusOr<std::vector<std::string>> ReportKeys(absl::string_view host);

 private:
  Store() = default;
  template <typename T>
  absl::StatusOr<std::optional<T>> GetProto(rocksdb::ColumnFamilyHandle* cf, absl::string_view key);
  std::mutex& HostLock(absl::string_view host);

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* reports_ = nullptr;
  rocksdb::ColumnFamilyHandle* latest_facts_ = nullptr;
  rocksdb::ColumnFamilyHandle* verdicts_ = nullptr;
  std::array<std::mutex, 64> host_locks_;
};

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_STORE_STORE_H_
