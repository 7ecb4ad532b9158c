// A store that lasts a year (issue 15, point 4): it measures and prints,
// asserting nothing.
//   build/tests/store_year_bench [--hosts 1000] [--days 365] [--dir /dev/shm]
// 1. Bytes per host per day, stable and busy host: one host reporting every
//    5 minutes for 4 days (the manager fixture's report; the busy host's
//    logs grow, its disk fills and its clock offset moves on every report),
//    receipts compacted hourly after the 2-day window as the collector does;
//    the growth of the fourth day, after a full RocksDB compaction.
// 2. A year of history for --hosts hosts, written through Store::Ingest with
//    simulated receive times, scaled: one report per host and day (each host
//    changes a fact kind weekly and flips a check monthly); the 23 other
//    compacted receipts per host and day a real year holds are added to the
//    size from part 1's figure. Then Store::Open's time and the RSS of a
//    fresh process that opens it and reads one host, and the cost of each
//    prune run (batch 200000) that drops the oldest 65 days.
#include <rocksdb/db.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "agent/facts/fact_collector.h"
#include "agent/host/rooted_host_env.h"
#include "collector/store/store.h"

namespace {

using preflight::collector::Store;
namespace v1 = preflight::v1;

constexpr int64_t kT0 = 1'800'000'000'000 - 1'800'000'000'000 % 3'600'000;
constexpr int64_t kDayMs = 86'400'000;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Table files only (no logs), after everything is flushed and compacted:
// what the data costs at rest.
uint64_t SettledBytes(const std::string& dir) {
  uint64_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".sst") n += e.file_size();
  }
  return n;
}

// Every family compacted fully (the store closed), then the table files'
// size: the live data, without overwritten records or logs.
uint64_t Settle(const std::string& dir) {
  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok()) return 0;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::Open(rocksdb::DBOptions(), dir, cfs, &handles, &db).ok()) return 0;
  for (auto* h : handles) {
    (void)db->CompactRange(rocksdb::CompactRangeOptions(), h, nullptr, nullptr);
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  return SettledBytes(dir);
}

std::string Status(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return line.substr(std::string(field).size());
  }
  return "?";
}

v1::FactReport Fixture() {
  auto env = preflight::agent::RootedHostEnv::Create(std::string(PREFLIGHT_SOURCE_DIR) +
                                                     "/tests/fixtures/hosts/opencrvs-manager");
  if (!env.ok()) {
    std::fprintf(stderr, "fixture: %s\n", std::string(env.status().message()).c_str());
    exit(1);
  }
  auto collectors = preflight::agent::BuiltinCollectors();
  return preflight::agent::CollectReport(**env, preflight::agent::CollectOptions(), collectors);
}

v1::HostVerdicts Verdicts(const v1::FactReport& r) {
  v1::HostVerdicts v;
  v.set_host_id(r.host_id());
  v.set_agent_instance(r.agent_instance());
  v.set_sequence(r.sequence());
  v1::Verdict* verdict = v.add_verdicts();
  verdict->set_check_id("ssh.root_login_disabled");
  verdict->set_status(r.sshd().directives_size() % 2 == 0 ? v1::PASS : v1::FAIL);
  return v;
}

// The busy host's values that move on every report.
void Busy(v1::FactReport& r, uint64_t seq) {
  v1::LogrotateFact* lr = r.mutable_logrotate();
  if (lr->logs_size() == 0) {
    for (int i = 0; i < 40; ++i) {
      v1::LogFile* log = lr->add_logs();
      log->set_path(absl::StrCat("/var/lib/docker/containers/", i, "/", i, "-json.log"));
      log->set_covered_by("/etc/logrotate.d/docker:1");
    }
  }
  for (v1::LogFile& log : *lr->mutable_logs()) {
    log.set_size_bytes(1'000'000 + seq * 7919);
    log.set_mtime_unix(static_cast<int64_t>(seq) * 300);
  }
  for (v1::Filesystem& fs : *r.mutable_disks()->mutable_filesystems()) {
    fs.set_used_bytes(fs.used_bytes() + seq * 4096);
    fs.set_available_bytes(fs.available_bytes() - seq * 4096);
  }
  r.mutable_time()->set_offset_seconds(0.0001 * static_cast<double>(seq % 13));
}

struct DayFigures {
  double bytes_per_day = 0;
  uint64_t compact_receipts = 0;
  double compact_seconds = 0;
  double ingest_us = 0;
  uint64_t total = 0;
};

DayFigures OneHost(const std::string& dir, const v1::FactReport& base, bool busy) {
  std::filesystem::remove_all(dir);
  auto opened = Store::Open(dir);
  if (!opened.ok()) exit(1);
  std::unique_ptr<Store> store = std::move(*opened);
  DayFigures f;
  uint64_t settled_day3 = 0;
  double ingest_seconds = 0;
  uint64_t ingests = 0;
  for (uint64_t seq = 1; seq <= 12 * 288; ++seq) {
    v1::FactReport r = base;
    r.set_host_id("prod-01");
    r.set_agent_instance("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    r.set_sequence(seq);
    const int64_t at = kT0 + static_cast<int64_t>(seq) * 300'000;
    r.set_collected_at_unix_ms(at);
    if (busy) Busy(r, seq);
    auto start = std::chrono::steady_clock::now();
    if (!store->Ingest("prod-01", r, absl::FromUnixMillis(at), Verdicts).ok()) exit(1);
    ingest_seconds += Seconds(start);
    ++ingests;
    if (at % 3'600'000 == 0) {  // the collector's hourly run
      auto start = std::chrono::steady_clock::now();
      auto n = store->CompactReceipts(absl::FromUnixMillis(at - 2 * kDayMs));
      f.compact_seconds += Seconds(start);
      if (n.ok()) f.compact_receipts += *n;
      (void)store->Prune(absl::FromUnixMillis(at - 400 * kDayMs));
    }
    if (seq == 4 * 288 || seq == 12 * 288) {
      store.reset();
      const uint64_t settled = Settle(dir);
      auto again = Store::Open(dir);
      if (!again.ok()) exit(1);
      store = std::move(*again);
      if (seq == 4 * 288) {
        settled_day3 = settled;
      } else {
        f.bytes_per_day = (static_cast<double>(settled) - static_cast<double>(settled_day3)) / 8;
        f.total = settled;
      }
    }
  }
  f.ingest_us = ingest_seconds / static_cast<double>(ingests) * 1e6;
  return f;
}

int OpenOnly(const std::string& dir) {
  auto start = std::chrono::steady_clock::now();
  auto store = Store::Open(dir);
  const double open_s = Seconds(start);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  start = std::chrono::steady_clock::now();
  auto latest = (*store)->LatestFacts("host-0500");
  const double latest_ms = Seconds(start) * 1e3;
  std::printf("  Store::Open %.3f s; LatestFacts of one host %.2f ms (%s); RSS%s, peak%s\n", open_s,
              latest_ms, latest.ok() && latest->has_value() ? "found" : "missing",
              Status("VmRSS:").c_str(), Status("VmHWM:").c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int hosts = 1000, days = 365, every = 7;
  std::string base_dir = "/dev/shm";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--open-only") return OpenOnly(argv[i + 1]);
    if (flag == "--hosts") (void)absl::SimpleAtoi(argv[i + 1], &hosts);
    if (flag == "--days") (void)absl::SimpleAtoi(argv[i + 1], &days);
    if (flag == "--every") (void)absl::SimpleAtoi(argv[i + 1], &every);
    if (flag == "--dir") base_dir = argv[i + 1];
  }
  std::string tmpl = base_dir + "/store-year-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string root = tmpl;
  const v1::FactReport base = Fixture();
  std::printf("store_year_bench: data under %s; report %zu bytes (manager fixture)\n", root.c_str(),
              base.ByteSizeLong());

  std::printf("1. one host, every 5 minutes, 12 days (receipt window 2 days, hourly runs)\n");
  DayFigures stable = OneHost(root + "/stable", base, false);
  DayFigures busy = OneHost(root + "/busy", base, true);
  for (const auto& [name, f] : {std::pair{"stable", stable}, std::pair{"busy", busy}}) {
    std::printf(
        "  %-6s host: %.1f KiB per day (growth from day 4 to 12, compacted tables; %.0f KiB in "
        "all); ingest %.0f us/report (synced); receipt compaction: %llu receipts in %.3f s "
        "total\n",
        name, f.bytes_per_day / 1024.0, f.total / 1024.0, f.ingest_us,
        static_cast<unsigned long long>(f.compact_receipts), f.compact_seconds);
  }

  std::printf("2. %d hosts x %d days, one report per host every %d days (scaled 1:%d)\n", hosts,
              days, every, 288 * every);
  const std::string year = root + "/year";
  {
    auto opened = Store::Open(year);
    if (!opened.ok()) return 1;
    std::unique_ptr<Store> store = std::move(*opened);
    auto start = std::chrono::steady_clock::now();
    constexpr int kThreads = 4;  // group commit, as the collector's workers do
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int day = 0; day < days; day += every) {
          for (int h = t; h < hosts; h += kThreads) {
            v1::FactReport r = base;
            const std::string host = absl::StrFormat("host-%04d", h);
            r.set_host_id(host);
            r.set_agent_instance("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
            r.set_sequence(static_cast<uint64_t>(day / every) + 1);
            const int64_t at = kT0 + day * kDayMs + h * 60'000;
            r.set_collected_at_unix_ms(at);
            // A new log at every report, a check flipping every month.
            v1::LogFile* log = r.mutable_logrotate()->add_logs();
            log->set_path(absl::StrCat("/var/log/app-", day, ".log"));
            if ((day + h) / 30 % 2 == 1) r.mutable_sshd()->add_directives()->set_keyword("x");
            if (!store->Ingest(host, r, absl::FromUnixMillis(at), Verdicts).ok()) exit(1);
          }
          if (t == 0 && day / every % 10 == 9) {
            std::printf("  ... day %d, %.0f s\n", day + 1, Seconds(start));
            std::fflush(stdout);
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    std::printf("  written in %.1f s (%.0f reports/s)\n", Seconds(start),
                static_cast<double>(hosts) * ((days + every - 1) / every) / Seconds(start));
  }
  const uint64_t year_bytes = Settle(year);
  // What the scaling leaves out: 24 compacted receipts per host and day
  // (key, value and time index entry), less the ones written.
  v1::ReportReceipt sample;
  sample.set_host_id("host-0500");
  sample.set_agent_instance("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  sample.set_sequence(100'000);
  sample.set_collected_at_unix_ms(kT0);
  sample.set_received_at_unix_ms(kT0);
  sample.set_content_sha256(std::string(32, 'x'));
  sample.set_compacted_count(12);
  sample.set_first_sequence(99'989);
  sample.set_first_received_at_unix_ms(kT0);
  const double receipt_bytes =
      static_cast<double>(sample.ByteSizeLong()) + 2 * (2 + 9 + 2 + 32 + 8) + 9;
  const double missing = (24.0 * days - static_cast<double>((days + every - 1) / every)) * hosts;
  std::printf(
      "  on disk: %.1f MiB (%.1f KiB per host per day); the 24 compacted receipts per host and "
      "day a real year holds add at most %.0f MiB uncompressed (%.0f B each)\n",
      year_bytes / 1048576.0, year_bytes / 1024.0 / hosts / days,
      missing * receipt_bytes / 1048576.0, receipt_bytes);

  std::printf("3. start-up with that history (a fresh process)\n");
  std::fflush(stdout);
  if (pid_t pid = fork(); pid == 0) {
    execl("/proc/self/exe", argv[0], "--open-only", year.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  } else {
    int status = 0;
    waitpid(pid, &status, 0);
  }

  std::printf("4. prune runs (batch %llu): the oldest 65 days go\n",
              static_cast<unsigned long long>(Store::kDefaultPruneBatch));
  {
    auto opened = Store::Open(year);
    if (!opened.ok()) return 1;
    std::unique_ptr<Store> store = std::move(*opened);
    const absl::Time before = absl::FromUnixMillis(kT0 + (days - 300) * kDayMs);
    for (int run = 1; run <= 20; ++run) {
      auto start = std::chrono::steady_clock::now();
      auto n = store->Prune(before);
      const double s = Seconds(start);
      if (!n.ok()) return 1;
      std::printf("  run %d: %llu records in %.3f s\n", run, static_cast<unsigned long long>(*n),
                  s);
      if (*n == 0) break;
    }
    auto start = std::chrono::steady_clock::now();
    auto n = store->Prune(before);
    std::printf("  an hourly run with nothing to drop: %.4f s\n", Seconds(start));
    (void)n;
  }
  std::filesystem::remove_all(root);
  return 0;
}
