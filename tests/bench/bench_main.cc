// Benchmarks: they measure and print; they assert nothing.
//   build/tests/preflight_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/facts/fact_collector.h"
#include "agent/facts/sshd_config.h"
#include "agent/host/rooted_host_env.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"
#include "collector/service/fleet_summary.h"
#include "collector/store/keys.h"
#include "collector/store/store.h"

namespace {

std::string SampleSshdConfig(int lines) {
  std::string out = "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n";
  for (int i = 0; i < lines; ++i) {
    absl::StrAppend(&out, "# comment ", i, "\nAcceptEnv LANG_", i, " \"LC_", i, " x\"\n");
  }
  absl::StrAppend(&out, "Match User provision\n  AuthenticationMethods publickey\nMatch all\n");
  return out;
}

void BM_ParseSshdConfig(benchmark::State& state) {
  std::string config = SampleSshdConfig(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    preflight::v1::SshdConfigFact fact;
    preflight::agent::ParseSshdConfig(config, "/etc/ssh/sshd_config", fact);
    benchmark::DoNotOptimize(fact);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * config.size()));
}
BENCHMARK(BM_ParseSshdConfig)->Arg(10)->Arg(1000);

void BM_CollectReportFixture(benchmark::State& state) {
  auto env = preflight::agent::RootedHostEnv::Create(std::string(PREFLIGHT_SOURCE_DIR) +
                                                     "/tests/fixtures/hosts/opencrvs-manager");
  auto collectors = preflight::agent::BuiltinCollectors();
  preflight::agent::CollectOptions options;
  for (auto _ : state) {
    auto report = preflight::agent::CollectReport(**env, options, collectors);
    benchmark::DoNotOptimize(report);
  }
}
BENCHMARK(BM_CollectReportFixture);

void BM_ReportKey(benchmark::State& state) {
  uint64_t seq = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        preflight::collector::ReportKey("prod-01", "0123456789abcdef0123456789abcdef", ++seq));
  }
}
BENCHMARK(BM_ReportKey);

// One synced ingest per iteration (evaluation included), from `threads`
// threads: RocksDB group-commits concurrent synced writes.
void BM_StoreIngestSynced(benchmark::State& state) {
  static std::unique_ptr<preflight::collector::Store> store;
  static std::string dir;
  static preflight::collector::CheckRegistry registry;
  if (state.thread_index() == 0) {
    char tmpl[] = "/tmp/preflight-bench-XXXXXX";
    dir = mkdtemp(tmpl);
    store = std::move(*preflight::collector::Store::Open(dir));
    if (registry.all().empty()) preflight::collector::RegisterBuiltinChecks(registry);
  }
  preflight::v1::InventoryHost host;
  host.set_id(absl::StrCat("host-", state.thread_index()));
  host.set_environment("production");
  preflight::v1::Policy policy = preflight::collector::WithPolicyDefaults({});
  preflight::v1::FactReport report;
  report.set_agent_instance("0123456789abcdef0123456789abcdef");
  preflight::agent::ParseSshdConfig(SampleSshdConfig(20), "/etc/ssh/sshd_config",
                                    *report.mutable_sshd());
  report.mutable_sshd()->mutable_collection()->set_state(preflight::v1::Collection::OK);
  uint64_t seq = 0;
  for (auto _ : state) {
    report.set_sequence(++seq);
    report.set_collected_at_unix_ms(static_cast<int64_t>(seq));
    auto r =
        store->Ingest(host.id(), report, absl::Now(), [&](const preflight::v1::FactReport& rep) {
          return preflight::collector::Evaluate(registry, host, policy, rep, absl::Now());
        });
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  if (state.thread_index() == 0) {
    store.reset();
    std::string cmd = "rm -rf " + dir;
    (void)system(cmd.c_str());
  }
}
BENCHMARK(BM_StoreIngestSynced)->Threads(1)->Threads(8)->UseRealTime();

// A store with a stored evaluation for each of `hosts` hosts, as the fleet
// benchmarks read it.
struct StoredFleet {
  explicit StoredFleet(int hosts) {
    namespace c = preflight::collector;
    char tmpl[] = "/tmp/preflight-bench-XXXXXX";
    dir = mkdtemp(tmpl);
    store = std::move(*c::Store::Open(dir));
    c::RegisterBuiltinChecks(registry);
    policy = c::WithPolicyDefaults({});
    preflight::v1::FactReport report;
    report.set_agent_instance("0123456789abcdef0123456789abcdef");
    report.set_sequence(1);
    report.set_collected_at_unix_ms(absl::ToUnixMillis(absl::Now()));
    preflight::agent::ParseSshdConfig(SampleSshdConfig(20), "/etc/ssh/sshd_config",
                                      *report.mutable_sshd());
    report.mutable_sshd()->mutable_collection()->set_state(preflight::v1::Collection::OK);
    for (int i = 0; i < hosts; ++i) {
      preflight::v1::InventoryHost* h = inventory.add_hosts();
      h->set_id(absl::StrCat("host-", i));
      h->set_environment(i % 10 == 0 ? "staging" : "production");
      h->add_roles(i % 3 == 0 ? "manager" : "worker");
      (void)store->Ingest(h->id(), report, absl::Now(), [&](const preflight::v1::FactReport& rep) {
        return c::Evaluate(registry, *h, policy, rep, absl::Now());
      });
    }
  }
  ~StoredFleet() {
    store.reset();
    std::string cmd = "rm -rf " + dir;
    (void)system(cmd.c_str());
  }

  std::string dir;
  std::unique_ptr<preflight::collector::Store> store;
  preflight::collector::CheckRegistry registry;
  preflight::v1::Policy policy;
  preflight::v1::Inventory inventory;
};

// What GetFleetStatus does for a fleet of state.range(0) hosts, each with a
// stored evaluation: every waiver in one scan, per host the latest verdicts
// from RocksDB and the host status, then the fleet verdict with attestations.
// "bytes": the reply's size (over 16 MiB from about 1,900 hosts:
// GetFleetStatus then refuses with FAILED_PRECONDITION).
void BM_FleetStatus(benchmark::State& state) {
  namespace c = preflight::collector;
  const int hosts = static_cast<int>(state.range(0));
  StoredFleet fleet(hosts);
  size_t bytes = 0;
  for (auto _ : state) {
    std::vector<preflight::v1::HostStatus> statuses;
    statuses.reserve(hosts);
    const absl::Time now = absl::Now();
    auto waivers = fleet.store->AllWaivers();  // one scan, as QueryService does
    for (const preflight::v1::InventoryHost& h : fleet.inventory.hosts()) {
      auto latest = fleet.store->LatestVerdicts(h.id());
      statuses.push_back(c::BuildHostStatus(fleet.registry, h, fleet.policy, *latest, now, {}));
    }
    benchmark::DoNotOptimize(waivers);
    auto attestations = fleet.store->Attestations();
    auto status =
        c::BuildFleetStatus(fleet.registry, fleet.policy, std::move(statuses), now, *attestations);
    bytes = status.ByteSizeLong();
    benchmark::DoNotOptimize(status);
  }
  state.counters["hosts"] = hosts;
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_FleetStatus)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(3);

// What GetFleetSummary does (`preflightctl status`): per host the status,
// reduced to a summary and dropped, the verdict counted host by host; then
// the pages of 500 summaries. "bytes": every page together; "max_page":
// the largest message.
void BM_FleetSummary(benchmark::State& state) {
  namespace c = preflight::collector;
  const int hosts = static_cast<int>(state.range(0));
  StoredFleet fleet(hosts);
  size_t bytes = 0, max_page = 0;
  for (auto _ : state) {
    const absl::Time now = absl::Now();
    auto waivers = fleet.store->AllWaivers();
    benchmark::DoNotOptimize(waivers);
    auto attestations = fleet.store->Attestations();
    c::FleetVerdict verdict(fleet.policy, c::kSummaryReasons);
    std::vector<preflight::v1::HostSummary> summaries;
    for (const preflight::v1::InventoryHost& h : fleet.inventory.hosts()) {
      auto latest = fleet.store->LatestVerdicts(h.id());
      preflight::v1::HostSummary s =
          c::SummarizeHost(c::BuildHostStatus(fleet.registry, h, fleet.policy, *latest, now, {}));
      verdict.AddHost(s);
      summaries.push_back(std::move(s));
    }
    preflight::v1::FleetSummaryPage page;
    google::protobuf::RepeatedPtrField<preflight::v1::CheckResult> items;
    verdict.Finish(fleet.registry, *attestations, now, &items);
    for (const preflight::v1::CheckResult& item : items) {
      *page.mutable_header()->add_manual_items() = c::SummarizeManualItem(item);
    }
    for (const c::Check& check : fleet.registry.all()) {
      *page.mutable_header()->add_checks() = c::SummarizeCheck(check.info);
    }
    for (const std::string& r : verdict.reasons()) page.mutable_header()->add_reasons(r);
    bytes = 0;
    max_page = 0;
    for (size_t i = 0; i < summaries.size(); ++i) {
      *page.add_hosts() = std::move(summaries[i]);
      if (page.hosts_size() == static_cast<int>(c::kDefaultSummaryPage) ||
          i + 1 == summaries.size()) {
        bytes += page.ByteSizeLong();
        max_page = std::max(max_page, page.ByteSizeLong());
        page.Clear();
      }
    }
  }
  state.counters["hosts"] = hosts;
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["max_page"] = static_cast<double>(max_page);
}
BENCHMARK(BM_FleetSummary)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
