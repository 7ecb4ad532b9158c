#include "tests/support/check_eval.h"

#include <gtest/gtest.h>

#include <vector>

#include "absl/strings/str_join.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"

namespace preflight::testing {

v1::InventoryHost TestHost(absl::string_view id, absl::string_view environment,
                           absl::string_view role) {
  v1::InventoryHost host;
  host.set_id(std::string(id));
  host.set_environment(std::string(environment));
  if (!role.empty()) host.add_roles(std::string(role));
  return host;
}

v1::Verdict EvaluateCheck(const v1::FactReport& report, absl::string_view check,
                          const v1::Policy& policy, const v1::InventoryHost& host, absl::Time now) {
  collector::CheckRegistry registry;
  collector::RegisterBuiltinChecks(registry);
  v1::HostVerdicts all =
      collector::Evaluate(registry, host, collector::WithPolicyDefaults(policy), report, now);
  for (const v1::Verdict& v : all.verdicts()) {
    if (v.check_id() == check) return v;
  }
  ADD_FAILURE() << "no " << check << " verdict";
  return {};
}

std::string EvidenceMessages(const v1::Verdict& verdict) {
  std::vector<std::string> lines;
  for (const v1::Evidence& e : verdict.evidence()) lines.push_back(e.message());
  return absl::StrJoin(lines, "\n");
}

}  // namespace preflight::testing
