// The readiness engine: evaluates a host's checks from its facts, and turns
// stored verdicts into host and fleet status (staleness, the fleet verdict).
// Pure functions of their inputs and an injected clock.
#ifndef PREFLIGHT_COLLECTOR_READINESS_ENGINE_H_
#define PREFLIGHT_COLLECTOR_READINESS_ENGINE_H_

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
v1::FleetStatus BuildFleetStatus(const CheckRegistry& registry, const v1::Policy& policy,
                                 std::vector<v1::HostStatus> hosts, absl::Time now,
                                 const std::vector<v1::Attestation>& attestations = {});

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
