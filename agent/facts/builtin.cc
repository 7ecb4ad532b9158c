// The one explicit list of fact collectors, and report assembly.
#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "agent/facts/accounts.h"
#include "agent/facts/authorized_keys.h"
#include "agent/facts/fact_collector.h"
#include "agent/facts/pam.h"
#include "agent/facts/sshd_config.h"
#include "agent/facts/utf8.h"

namespace preflight::agent {

std::vector<std::unique_ptr<FactCollector>> BuiltinCollectors() {
  std::vector<std::unique_ptr<FactCollector>> all;
  // Order matters: sshd evaluates Match for the accounts found first, and
  // authorized_keys reads the files sshd's effective settings name.
  all.push_back(MakeAccountsCollector());
  all.push_back(MakeSshdConfigCollector());
  all.push_back(MakePamCollector());
  all.push_back(MakeAuthorizedKeysCollector());
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
