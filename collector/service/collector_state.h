// What the collector's services share: settings, the check registry, the
// store, the worker pool, the clock and test hooks.
#ifndef PREFLIGHT_COLLECTOR_SERVICE_COLLECTOR_STATE_H_
#define PREFLIGHT_COLLECTOR_SERVICE_COLLECTOR_STATE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/checks/check.h"
#include "collector/config.h"
#include "collector/service/worker_pool.h"
#include "collector/store/store.h"
#include "proto/wire/revocation.h"

namespace preflight::collector {

// Fault injection for durability tests; zero in production.
struct TestHooks {
  absl::Duration hold_before_store;  // after a report is received
  absl::Duration hold_before_ack;    // after it is durably stored
};

struct CollectorState {
  std::string config_path;
  CollectorSettings settings;
  CheckRegistry registry;
  std::unique_ptr<Store> store;
  std::unique_ptr<WorkerPool> pool;
  TestHooks hooks;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Revoked client certificates (tls.crl_file); checking is off when unset.
  std::unique_ptr<RevocationChecker> revocation;

  // The inventory entry of `host`, or nullptr. O(1) once IndexHosts() ran
  // (main does, after loading the settings; 10,000 hosts are expected).
  const v1::InventoryHost* FindHost(absl::string_view host) const;
  void IndexHosts();
  absl::flat_hash_map<std::string, const v1::InventoryHost*> host_index;
};

// One log line on stderr: "<UTC time> preflight-collector: <message>".
void Log(absl::string_view message);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_COLLECTOR_STATE_H_
