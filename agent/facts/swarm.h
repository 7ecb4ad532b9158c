// Fact kind "swarm": the Docker swarm's nodes as a manager sees them, so that
// the collector can name every server of the swarm that no inventory host
// (and so no agent) accounts for. `docker node ls -q` lists the node ids,
// then one `docker node inspect` reads each node's hostname, address, role,
// state and availability. ABSENT where docker is not installed or this host
// is not a swarm manager (workers, the backup server); ERROR, naming the
// command, when docker answers otherwise. Under --root, recorded command
// outputs stand in (see RootedHostEnv::Run).
#ifndef PREFLIGHT_AGENT_FACTS_SWARM_H_
#define PREFLIGHT_AGENT_FACTS_SWARM_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// At most this many nodes are reported (a swarm has a handful; a hostile or
// broken answer must not swell the report).
inline constexpr size_t kMaxSwarmNodes = 1000;

// The node ids of `docker node ls -q` output, one per line (at most
// kMaxSwarmNodes; anything that is not a plain id is skipped).
std::vector<std::string> ParseSwarmNodeIds(absl::string_view out);

// The --format template SwarmNodeInspectArgv passes: tab-separated ID,
// hostname, Status.Addr, role, state, availability, ManagerStatus.Addr.
extern const char kSwarmInspectFormat[];

// {"docker", "node", "inspect", "--format", kSwarmInspectFormat, ids...}.
std::vector<std::string> SwarmNodeInspectArgv(const std::vector<std::string>& ids);

// Appends one SwarmNode per line of `docker node inspect --format
// kSwarmInspectFormat` output. A manager whose Status.Addr is "0.0.0.0" or
// empty (Docker reports that for some managers) gets the host part of its
// ManagerStatus.Addr. INVALID_ARGUMENT names the first line that does not
// have the fields.
absl::Status ParseSwarmNodeInspect(absl::string_view out, v1::SwarmFact& fact);

std::unique_ptr<FactCollector> MakeSwarmCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_SWARM_H_
