// The one explicit list of fact collectors, the order they run in, and report
// assembly.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "agent/facts/accounts.h"
#include "agent/facts/admin_passwords.h"
#include "agent/facts/alert_history.h"
#include "agent/facts/app_config.h"
#include "agent/facts/authorized_keys.h"
#include "agent/facts/backups.h"
#include "agent/facts/disks.h"
#include "agent/facts/fact_collector.h"
#include "agent/facts/firewall.h"
#include "agent/facts/logrotate.h"
#include "agent/facts/pam.h"
#include "agent/facts/release.h"
#include "agent/facts/run_cache.h"
#include "agent/facts/services.h"
#include "agent/facts/shell_history.h"
#include "agent/facts/sockets.h"
#include "agent/facts/sshd_config.h"
#include "agent/facts/swarm.h"
#include "agent/facts/test_data.h"
#include "agent/facts/time.h"
#include "agent/facts/tls_certs.h"
#include "agent/facts/utf8.h"

namespace preflight::agent {

CollectOptions CollectOptionsFrom(const v1::AgentConfig& config) {
  CollectOptions o;
  if (config.max_file_bytes() > 0) o.max_file_bytes = config.max_file_bytes();
  o.tls_hostnames.assign(config.tls_hostnames().begin(), config.tls_hostnames().end());
  if (!config.tls_probe_address().empty()) o.tls_probe_address = config.tls_probe_address();
  if (!config.tls_acme_file().empty()) o.tls_acme_file = config.tls_acme_file();
  if (!config.tls_cert_dirs().empty()) {
    o.tls_cert_dirs.assign(config.tls_cert_dirs().begin(), config.tls_cert_dirs().end());
  }
  o.tls_ca_file = config.tls_ca_file();
  if (!config.backup_dir().empty()) o.backup_dir = config.backup_dir();
  if (!config.restore_log().empty()) o.restore_log = config.restore_log();
  o.application_docker = config.application().docker();
  o.application_smtp_probe = config.application().smtp_probe();
  o.application_elasticsearch = config.application().elasticsearch();
  o.application_admin_passwords = config.application().admin_passwords();
  o.application_test_data = config.application().test_data();
  return o;
}

bool NoteUnreadable(v1::Collection& collection, absl::string_view path,
                    const absl::Status& status) {
  if (status.ok() || absl::IsNotFound(status)) return false;
  for (const v1::ReadError& e : collection.unreadable()) {
    if (e.path() == path) return true;
  }
  // A hostile tree (thousands of unreadable entries) must not swell the
  // report: the first ones name the problem well enough.
  constexpr int kMaxUnreadable = 100;
  if (collection.unreadable_size() >= kMaxUnreadable) return true;
  v1::ReadError* e = collection.add_unreadable();
  e->set_path(std::string(path));
  e->set_error(absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message()));
  return true;
}

bool SourceOff(bool enabled, absl::string_view off_error, v1::Collection& collection) {
  if (enabled) return false;
  collection.set_state(v1::Collection::ABSENT);
  collection.set_error(std::string(off_error));
  return true;
}

std::vector<std::unique_ptr<FactCollector>> BuiltinCollectors() {
  std::vector<std::unique_ptr<FactCollector>> all;
  all.push_back(MakeAccountsCollector());
  all.push_back(MakeSshdConfigCollector());
  all.push_back(MakePamCollector());
  all.push_back(MakeAuthorizedKeysCollector());
  all.push_back(MakeSocketsCollector());
  all.push_back(MakeFirewallCollector());
  all.push_back(MakeTlsCollector());
  all.push_back(MakeDisksCollector());
  all.push_back(MakeShellHistoryCollector());
  all.push_back(MakeLogrotateCollector());
  all.push_back(MakeBackupsCollector());
  all.push_back(MakeReleaseCollector());
  all.push_back(MakeTimeCollector());
  all.push_back(MakeSwarmCollector());
  all.push_back(MakeServicesCollector());
  all.push_back(MakeAppConfigCollector());
  all.push_back(MakeAlertHistoryCollector());
  all.push_back(MakeAdminPasswordsCollector());
  all.push_back(MakeTestDataCollector());
  return all;
}

absl::StatusOr<std::vector<FactCollector*>> RunOrder(
    const std::vector<std::unique_ptr<FactCollector>>& collectors) {
  std::map<absl::string_view, const FactCollector*> by_kind;
  for (const auto& c : collectors) {
    if (!by_kind.emplace(c->name(), c.get()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("fact kind '", c->name(), "' is collected twice"));
    }
  }
  for (const auto& c : collectors) {
    for (absl::string_view kind : c->reads()) {
      if (!by_kind.count(kind)) {
        return absl::InvalidArgumentError(absl::StrCat("fact collector '", c->name(), "' reads '",
                                                       kind, "', which no collector collects"));
      }
    }
  }
  // Repeatedly the first collector, in the given order, whose kinds are all
  // collected: stable, and n is a dozen.
  std::vector<FactCollector*> order;
  std::set<absl::string_view> done;
  while (order.size() < collectors.size()) {
    FactCollector* next = nullptr;
    for (const auto& c : collectors) {
      if (done.count(c->name())) continue;
      std::vector<absl::string_view> reads = c->reads();
      if (std::all_of(reads.begin(), reads.end(),
                      [&](absl::string_view k) { return done.count(k) > 0; })) {
        next = c.get();
        break;
      }
    }
    if (next == nullptr) {
      // Every collector left waits for another one left: walk the waits from
      // the first until a kind repeats, and name that cycle.
      std::vector<absl::string_view> path;
      const FactCollector* at = nullptr;
      for (const auto& c : collectors) {
        if (!done.count(c->name())) at = at == nullptr ? c.get() : at;
      }
      while (std::find(path.begin(), path.end(), at->name()) == path.end()) {
        path.push_back(at->name());
        for (absl::string_view k : at->reads()) {
          if (!done.count(k)) {
            at = by_kind[k];
            break;
          }
        }
      }
      path.erase(path.begin(), std::find(path.begin(), path.end(), at->name()));
      path.push_back(at->name());
      return absl::InvalidArgumentError(
          absl::StrCat("fact collectors read each other: ", absl::StrJoin(path, " reads ")));
    }
    order.push_back(next);
    done.insert(next->name());
  }
  return order;
}

v1::FactReport CollectReport(HostEnv& env, const CollectOptions& options,
                             const std::vector<std::unique_ptr<FactCollector>>& collectors) {
  absl::StatusOr<std::vector<FactCollector*>> order = RunOrder(collectors);
  if (!order.ok()) {
    std::fprintf(stderr, "preflight: %s\n", std::string(order.status().message()).c_str());
    std::abort();
  }
  // One run of each command per collection, shared by the kinds that read it.
  RunCache cached(env);
  v1::FactReport report;
  report.set_collected_at_unix_ms(absl::ToUnixMillis(absl::Now()));
  report.set_root(env.root());
  if (auto hostname = env.ReadFile("/etc/hostname", 4096); hostname.ok()) {
    report.set_hostname(std::string(absl::StripAsciiWhitespace(hostname->content)));
  }
  for (FactCollector* collector : *order) {
    absl::Time start = absl::Now();
    v1::Collection* collection = collector->Collect(cached, options, report);
    collection->set_duration_us(absl::ToInt64Microseconds(absl::Now() - start));
  }
  // Host files may hold any bytes; the report must stay parseable.
  SanitizeUtf8(report);
  return report;
}

}  // namespace preflight::agent
