// Evaluating one check on a report, as the collector does, for the tests of
// the check areas: the built-in checks and catalogue, a host of the
// inventory, the policy with its defaults, a fixed time.
#ifndef PREFLIGHT_TESTS_SUPPORT_CHECK_EVAL_H_
#define PREFLIGHT_TESTS_SUPPORT_CHECK_EVAL_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "preflight/v1/config.pb.h"
#include "preflight/v1/facts.pb.h"
#include "preflight/v1/verdict.pb.h"

namespace preflight::testing {

// An inventory host: `id` in `environment`, with `role` (none when empty).
v1::InventoryHost TestHost(absl::string_view id, absl::string_view environment,
                           absl::string_view role);

// The verdict of `check` for `host` on `report` at `now`, with every
// built-in check registered and `policy` completed by its defaults. A test
// failure (and an empty verdict) when the check gave none.
v1::Verdict EvaluateCheck(const v1::FactReport& report, absl::string_view check,
                          const v1::Policy& policy, const v1::InventoryHost& host, absl::Time now);

// The verdict's evidence messages, one per line.
std::string EvidenceMessages(const v1::Verdict& verdict);

}  // namespace preflight::testing

#endif  // PREFLIGHT_TESTS_SUPPORT_CHECK_EVAL_H_
