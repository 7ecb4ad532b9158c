// "No server can hide": the swarm nodes that managers report and that no
// inventory host accounts for. A pure function of the inventory, the policy
// and the managers' latest swarm facts; the query service reads those facts
// and the fleet verdict counts the result (FleetVerdict::AddUnknownNode).
#ifndef PREFLIGHT_COLLECTOR_READINESS_UNKNOWN_NODES_H_
#define PREFLIGHT_COLLECTOR_READINESS_UNKNOWN_NODES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "preflight/v1/config.pb.h"
#include "preflight/v1/facts.pb.h"
#include "preflight/v1/query.pb.h"

namespace preflight::collector {

// The matching rule (README, "No server can hide"): a swarm node is the
// inventory host whose id, node_name or one of whose addresses equals the
// node's hostname or its address. Compared without regard to ASCII case:
// host names are case-insensitive (RFC 4343) and Docker reports each node's
// own hostname as that node spells it, which the inventory need not copy.
// Empty values never match.
bool SwarmNodeMatches(const v1::SwarmNode& node, const v1::InventoryHost& host);

// One manager's latest report's swarm fact, as its agent reported it; null
// when that report carries none (an agent older than the fact).
struct SwarmReport {
  const v1::InventoryHost* reporter = nullptr;
  const v1::SwarmFact* swarm = nullptr;
  int64_t collected_at_unix_ms = 0;
};

// Every node of the reports (OK swarm facts) that matches no inventory
// host, once per (hostname, address) however many managers list it: the
// first reporter names it, and it is gating when any of its reporters is in
// a gating environment of `policy` (defaults filled in). Reporters in
// inventory order give a stable list.
//
// A manager whose nodes could not be listed — its swarm fact is ERROR (no
// access to the Docker socket) or missing — is an entry too, with `problem`
// saying why and no hostname: a server may hide behind it, so on a gating
// environment it keeps the fleet NOT READY like an unknown node. ABSENT
// (Docker says this host is not a swarm manager, or there is no Docker) is
// not: there is no swarm there to list.
std::vector<v1::UnknownNode> FindUnknownNodes(const v1::Inventory& inventory,
                                              const v1::Policy& policy,
                                              const std::vector<SwarmReport>& reports);

// The fleet verdict's reason for a gating unknown node: names the node, its
// address and the manager that reported it, and what to do (for a manager
// whose nodes could not be listed: which, why, and what to do).
std::string UnknownNodeReason(const v1::UnknownNode& node);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_READINESS_UNKNOWN_NODES_H_
