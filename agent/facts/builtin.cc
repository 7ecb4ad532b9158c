// The one explicit list of fact collectors, and report assembly.
#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "agent/facts/accounts.h"
#include "agent/facts/authorized_keys.h"
#include "agent/facts/backups.h"
#include "agent/facts/disks.h"
#include "agent/facts/fact_collector.h"
#include "agent/facts/firewall.h"
#include "agent/facts/logrotate.h"
#include "agent/facts/pam.h"
#include "agent/facts/release.h"
#include "agent/facts/shell_history.h"
#include "agent/facts/sockets.h"
#include "agent/facts/sshd_config.h"
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
  return o;
}

std::vector<std::unique_ptr<FactCollector>> BuiltinCollectors() {
  std::vector<std::unique_ptr<FactCollector>> all;
  // Order matters: sshd evaluates Match for the accounts found first, and
  // authorized_keys reads the files sshd's effective settings name.
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
  return all;
}

v1::FactReport CollectReport(HostEnv& env, const CollectOptions& options,
                             const std::vector<std::unique_ptr<FactCollector>>& collectors) {
  v1::FactReport report;
  report.set_collected_at_unix_ms(absl::ToUnixMillis(absl::Now()));
  report.set_root(env.root());
  if (auto hostname = env.ReadFile("/etc/hostname", 4096); hostname.ok()) {
    report.set_hostname(std::string(absl::StripAsciiWhitespace(hostname->content)));
  }
  for (const auto& collector : collectors) {
    absl::Time start = absl::Now();
    v1::Collection* collection = collector->Collect(env, options, report);
    collection->set_duration_us(absl::ToInt64Microseconds(absl::Now() - start));
  }
  // Host files may hold any bytes; the report must stay parseable.
  SanitizeUtf8(report);
  return report;
}

}  // namespace preflight::agent
