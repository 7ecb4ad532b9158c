// A TLS client handshake that returns what the server presents.
#ifndef PREFLIGHT_AGENT_HOST_TLS_PROBE_H_
#define PREFLIGHT_AGENT_HOST_TLS_PROBE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace preflight::agent {

// Connects to `address` ("host:port", IPv4, [IPv6] or a name), performs a TLS
// handshake with SNI `sni` (none when empty) without verifying anything, and
// returns the presented chain as PEM, leaf first. Errors name the address.
absl::StatusOr<std::vector<std::string>> ProbeTlsChain(const std::string& address,
                                                       const std::string& sni,
                                                       absl::Duration timeout);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_HOST_TLS_PROBE_H_
