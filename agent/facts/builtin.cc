// The one explicit list of fact collectors, and report assembly.
#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "agent/facts/fact_collector.h"
#include "agent/facts/sshd_config.h"

namespace preflight::agent {

std::vector<std::unique_ptr<FactCollector>> BuiltinCollectors() {
  std::vector<std::unique_ptr<FactCollector>> all;
  all.push_back(MakeSshdConfigCollector());
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
  return report;
}

}  // namespace preflight::agent
