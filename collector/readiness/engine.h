// The readiness engine: evaluates a host's checks from its facts, and turns
// stored verdicts into host and fleet status (staleness, the fleet verdict).
// Pure functions of their inputs and an injected clock.
#ifndef PREFLIGHT_COLLECTOR_READINESS_ENGINE_H_
#define PREFLIGHT_COLLECTOR_READINESS_ENGINE_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "collector/checks/check.h"
#include "preflight/v1/checklist.pb.h"
#include "preflight/v1/config.pb.h"
#include "preflight/v1/query.pb.h"
#include "preflight/v1/verdict.pb.h"

namespace preflight::collector {

// Policy with the fleet's defaults filled in: gating production, staging and
// backup; staleness 900 s. (Check parameters default in the catalogue.)
v1::Policy WithPolicyDefaults(v1::Policy policy);

// `check`'s parameters for `host` (none for a check without a catalogue
// entry).
Params ParamsFor(const Check& check, const v1::Policy& policy, const v1::InventoryHost& host);

// Whether `check` applies to `host`; when not, `reason` says why.
bool Applies(const v1::CheckInfo& check, const v1::InventoryHost& host, std::string* reason);

// Evaluates every automated check of the registry against `report`.
v1::HostVerdicts Evaluate(const CheckRegistry& registry, const v1::InventoryHost& host,
                          const v1::Policy& policy, const v1::FactReport& report, absl::Time now);

// A host's status from its latest stored verdicts (nullopt: never reported).
v1::HostStatus BuildHostStatus(const CheckRegistry& registry, const v1::InventoryHost& host,
                               const v1::Policy& policy,
                               const std::optional<v1::HostVerdicts>& latest, absl::Time now,
                               const std::vector<v1::Waiver>& waivers = {});

// The fleet verdict over the given host statuses: READY only when every host
// of a gating environment is ready (reported, not stale, no blocker FAIL,
// UNKNOWN or PENDING), there is at least one such host, and every manual item
// is ATTESTED or WAIVED.
// `unknown_nodes` (FindUnknownNodes) are listed, and a gating one keeps the
// fleet from being ready.
v1::FleetStatus BuildFleetStatus(const CheckRegistry& registry, const v1::Policy& policy,
                                 std::vector<v1::HostStatus> hosts, absl::Time now,
                                 const std::vector<v1::Attestation>& attestations = {},
                                 const std::vector<v1::UnknownNode>& unknown_nodes = {});

// What `preflightctl status` lists of a host, and all the fleet verdict
// reads of it: counts by status (WAIVED apart from PASS), the blocker checks
// that keep it from being ready, staleness.
v1::HostSummary SummarizeHost(const v1::HostStatus& host);

// The fleet verdict, one host at a time, so that a caller need not hold every
// HostStatus of a large fleet: BuildFleetStatus and the paged summary
// (GetFleetSummary) both decide through it, with the same rules.
class FleetVerdict {
 public:
  static constexpr size_t kAllReasons = std::numeric_limits<size_t>::max();

  // `policy` with its defaults filled in. Keeps the first `max_reasons`
  // reasons and counts the rest (reasons_left_out).
  explicit FleetVerdict(const v1::Policy& policy, size_t max_reasons = kAllReasons);

  // Counts `host` in; hosts in inventory order. `manual_evidence` (may be
  // null): the host's evidence for manual items, copied into the manual
  // items' evidence by Finish.
  void AddHost(
      const v1::HostSummary& host,
      const google::protobuf::RepeatedPtrField<v1::CheckResult>* manual_evidence = nullptr);
  // A swarm node no inventory host accounts for (FindUnknownNodes): not
  // ready while one is reported by a manager of a gating environment.
  void AddUnknownNode(const v1::UnknownNode& node);
  // After the last host: appends one item per manual check and environment
  // signed off (ATTESTED, or PENDING with why) to `items`, and completes the
  // verdict.
  void Finish(const CheckRegistry& registry, const std::vector<v1::Attestation>& attestations,
              absl::Time now, google::protobuf::RepeatedPtrField<v1::CheckResult>* items);

  bool ready() const { return ready_; }
  // Why not ready, most important first (at most max_reasons).
  const std::vector<std::string>& reasons() const { return reasons_; }
  uint64_t reasons_left_out() const { return reasons_left_out_; }

 private:
  struct ManualEvidence {
    std::string host_id;
    std::string environment;
    v1::CheckResult result;
  };
  void NotReady(std::string reason);

  const v1::Policy& policy_;
  size_t max_reasons_;
  bool ready_ = true;
  int gating_hosts_ = 0;
  std::vector<std::string> reasons_;
  uint64_t reasons_left_out_ = 0;
  std::vector<std::string> present_;  // environments with hosts, in order
  std::vector<ManualEvidence> manual_evidence_;
};

// Whether a waiver / attestation is in force at `now` (not revoked, not
// expired).
bool InForce(const v1::Waiver& waiver, absl::Time now);
bool InForce(const v1::Attestation& attestation, absl::Time now);
// The environments a manual item is signed off for, as the checklist words
// it: each environment the item names that gates the fleet or has hosts in
// the inventory (`present`; item 1 names QA, which gates nothing by default
// but needs its sign-off once QA servers exist); every gating environment
// when it names none.
std::vector<std::string> ManualEnvironments(const v1::CheckInfo& check, const v1::Policy& policy,
                                            const std::vector<std::string>& present = {});
// The environments the inventory's hosts are in.
std::vector<std::string> InventoryEnvironments(const v1::Inventory& inventory);

// "PASS", "FAIL", ... and "blocker"/"advisory", as the CLI and JSON print them.
std::string StatusName(v1::CheckStatus status);
std::string SeverityName(v1::Severity severity);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_READINESS_ENGINE_H_
