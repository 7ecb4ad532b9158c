// A readiness check: catalogue data plus a pure function of a host's facts,
// the policy and an injected clock, returning a verdict with evidence.
#ifndef PREFLIGHT_COLLECTOR_CHECKS_CHECK_H_
#define PREFLIGHT_COLLECTOR_CHECKS_CHECK_H_

#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "collector/checks/catalogue.h"
#include "collector/checks/params.h"
#include "google/protobuf/message.h"
#include "preflight/v1/config.pb.h"
#include "preflight/v1/facts.pb.h"
#include "preflight/v1/verdict.pb.h"

namespace preflight::collector {

struct EvalContext {
  const v1::InventoryHost& host;
  const v1::Policy& policy;  // the fleet's settings (gating environments, ...)
  absl::Time now;
  // This check's parameters for this host (catalogue defaults merged with the
  // policy's fleet, environment, role and host values).
  const Params& params;
};

// Pure: no I/O, no clock but ctx.now. Fills status and evidence; the engine
// sets the check id.
using EvaluateFn = std::function<v1::Verdict(const v1::FactReport&, const EvalContext&)>;

struct Check {
  v1::CheckInfo info;
  const v1::CheckSpec* spec = nullptr;  // its catalogue entry (null: AddForTest)
  // Null for manual items without host evidence.
  EvaluateFn evaluate;
};

// The checks: catalogue entries with the evaluate functions bound to them.
class CheckRegistry {
 public:
  // Binds `fn` to the catalogue entry `id` (collector/checks/<area>.cc).
  void Bind(absl::string_view id, EvaluateFn fn);
  // Builds the checks, in catalogue order, from `catalogue` (which must
  // outlive the registry) and the bound functions. Fails, naming each, when
  // an automated check has no function, a function has no catalogue entry,
  // or an id is bound twice.
  absl::Status Finalize(const v1::Catalogue& catalogue);

  // Adds a hand-made check with no catalogue entry (engine tests).
  void AddForTest(Check check);

  const std::vector<Check>& all() const { return checks_; }
  const Check* Find(absl::string_view id) const;

 private:
  std::vector<std::pair<std::string, EvaluateFn>> bound_;
  std::vector<Check> checks_;
};

// Binds every built-in check and finalizes against BuiltinCatalogue(). A
// mismatch between the catalogue and the code is a programming error: the
// program refuses to start, printing each one (the unit tests catch it
// first).
void RegisterBuiltinChecks(CheckRegistry& registry);

// Check areas, one file each, binding their functions. Add a new area here
// and in RegisterBuiltinChecks.
void RegisterSshChecks(CheckRegistry& registry);
void RegisterTlsChecks(CheckRegistry& registry);
void RegisterFirewallChecks(CheckRegistry& registry);
void RegisterDiskChecks(CheckRegistry& registry);
void RegisterHistoryChecks(CheckRegistry& registry);
void RegisterLogChecks(CheckRegistry& registry);
void RegisterBackupChecks(CheckRegistry& registry);
void RegisterReleaseChecks(CheckRegistry& registry);
void RegisterAlertChecks(CheckRegistry& registry);
void RegisterTimeChecks(CheckRegistry& registry);
void RegisterApplicationChecks(CheckRegistry& registry);
// The application's databases (items 10 and 15): admin_passwords.cc,
// test_data.cc.
void RegisterAdminPasswordChecks(CheckRegistry& registry);
void RegisterTestDataChecks(CheckRegistry& registry);

// Small helpers for building verdicts.
v1::Evidence MakeEvidence(std::string message, std::string source, std::string observed = "",
                          std::string expected = "");
v1::Verdict MakeVerdict(v1::CheckStatus status, std::vector<v1::Evidence> evidence);
// `evidence` reporting one finding, named by the check's catalogue finding
// keys: Finding(MakeEvidence(...), {{"port", "27017/tcp"}}) sets
// Evidence.finding to "port=27017/tcp". Only on lines that report a problem.
v1::Evidence Finding(v1::Evidence evidence,
                     std::initializer_list<std::pair<absl::string_view, absl::string_view>> keys);
// The more severe of two statuses: FAIL > UNKNOWN > WARN > PASS > others.
v1::CheckStatus Worst(v1::CheckStatus a, v1::CheckStatus b);
// "file:line".
std::string SourceOf(absl::string_view file, uint32_t line);
// "2026-11-26 01:04 UTC", as evidence and reasons print times.
std::string UtcMinute(absl::Time t);
// Whether the inventory gives `host` this role.
bool HasRole(const v1::InventoryHost& host, absl::string_view role);
// UNKNOWN verdict when a fact kind of `report` cannot be relied on: it was not
// gathered, is absent or unreadable, its collection names paths that exist
// but could not be read (Collection.unreadable: the first few are named with
// their errors), or the agent lacked a capability it needs
// (report.privileges: "agent lacked CAP_DAC_READ_SEARCH: ..."). An empty
// verdict (CHECK_STATUS_UNSPECIFIED) when it is usable. `fact` is one of
// report's fact fields (report.authorized_keys()); `what` names it in the
// evidence and `source` is where it is read from. Every check goes through
// this for every fact it depends on.
v1::Verdict UnusableFact(const v1::FactReport& report, const google::protobuf::Message& fact,
                         absl::string_view what, absl::string_view source);
// The part of UnusableFact that looks past the collection's state: read
// errors and missing capabilities only. For a check that judges a fact
// gathered in part (Collection::ERROR) on what was read.
v1::Verdict UnreadableParts(const v1::FactReport& report, const google::protobuf::Message& fact,
                            absl::string_view what, absl::string_view source);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_CHECKS_CHECK_H_
