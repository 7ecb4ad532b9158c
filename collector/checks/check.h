// A readiness check: catalogue data plus a pure function of a host's facts,
// the policy and an injected clock, returning a verdict with evidence.
#ifndef PREFLIGHT_COLLECTOR_CHECKS_CHECK_H_
#define PREFLIGHT_COLLECTOR_CHECKS_CHECK_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "preflight/v1/config.pb.h"
#include "preflight/v1/facts.pb.h"
#include "preflight/v1/verdict.pb.h"

namespace preflight::collector {

struct EvalContext {
  const v1::InventoryHost& host;
  const v1::Policy& policy;
  absl::Time now;
};

struct Check {
  v1::CheckInfo info;
  // Pure: no I/O, no clock but ctx.now. Fills status and evidence; the engine
  // sets the check id. Manual checks have no evaluate function.
  std::function<v1::Verdict(const v1::FactReport&, const EvalContext&)> evaluate;
};

class CheckRegistry {
 public:
  // Adds a check; ids must be unique (a duplicate is a programming error and
  // aborts at start-up).
  void Add(Check check);
  const std::vector<Check>& all() const { return checks_; }
  const Check* Find(absl::string_view id) const;

 private:
  std::vector<Check> checks_;
};

// The one explicit list of check areas. Add a new area here.
void RegisterBuiltinChecks(CheckRegistry& registry);

// Check areas, one file each.
void RegisterSshChecks(CheckRegistry& registry);
void RegisterTlsChecks(CheckRegistry& registry);
void RegisterFirewallChecks(CheckRegistry& registry);
void RegisterDiskChecks(CheckRegistry& registry);
void RegisterHistoryChecks(CheckRegistry& registry);
void RegisterLogChecks(CheckRegistry& registry);
void RegisterBackupChecks(CheckRegistry& registry);
void RegisterReleaseChecks(CheckRegistry& registry);
void RegisterAlertChecks(CheckRegistry& registry);
void RegisterManualChecks(CheckRegistry& registry);

// Small helpers for building verdicts.
v1::Evidence MakeEvidence(std::string message, std::string source, std::string observed = "",
                          std::string expected = "");
v1::Verdict MakeVerdict(v1::CheckStatus status, std::vector<v1::Evidence> evidence);
// The more severe of two statuses: FAIL > UNKNOWN > WARN > PASS > others.
v1::CheckStatus Worst(v1::CheckStatus a, v1::CheckStatus b);
// "file:line".
std::string SourceOf(absl::string_view file, uint32_t line);
// "2026-11-26 01:04 UTC", as evidence and reasons print times.
std::string UtcMinute(absl::Time t);
// Whether the inventory gives `host` this role.
bool HasRole(const v1::InventoryHost& host, absl::string_view role);
// UNKNOWN verdict for a fact kind that was not gathered or not readable;
// nullopt-like empty status (CHECK_STATUS_UNSPECIFIED) when it is usable.
v1::Verdict UnusableFact(const v1::Collection& collection, absl::string_view what,
                         absl::string_view source);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_CHECKS_CHECK_H_
