// Fact kind "sockets": listening TCP sockets and bound UDP sockets from
// /proc/net/{tcp,tcp6,udp,udp6}, the owning process where /proc/<pid>/fd is
// readable, and the scope of the bound address.
#ifndef PREFLIGHT_AGENT_FACTS_SOCKETS_H_
#define PREFLIGHT_AGENT_FACTS_SOCKETS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// Parses one /proc/net file. `protocol` is "tcp" or "udp"; `v6` for the *6
// files. Only listening TCP sockets (state 0A) and unconnected UDP sockets
// are returned.
std::vector<v1::ListeningSocket> ParseProcNet(absl::string_view content, absl::string_view file,
                                              absl::string_view protocol, bool v6,
                                              std::vector<v1::ParseProblem>& problems);

// Classifies a textual IPv4 or IPv6 address.
v1::AddressScope ScopeOf(absl::string_view address);

std::unique_ptr<FactCollector> MakeSocketsCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_SOCKETS_H_
