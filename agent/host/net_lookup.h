// Name resolution and interface addresses of the running system, for the
// live HostEnv. Numeric addresses only ("10.0.1.10", "2001:db8::1").
#ifndef PREFLIGHT_AGENT_HOST_NET_LOOKUP_H_
#define PREFLIGHT_AGENT_HOST_NET_LOOKUP_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace preflight::agent {

// getaddrinfo(name) as any program on the host would resolve it (nsswitch:
// /etc/hosts, then DNS), sorted and without duplicates. NOT_FOUND when the
// name does not resolve, UNAVAILABLE when the resolver fails; the message
// is gai_strerror's.
absl::StatusOr<std::vector<std::string>> ResolveHostName(const std::string& name);

// Every address of this host's interfaces (getifaddrs), loopback included.
absl::StatusOr<std::vector<std::string>> InterfaceAddresses();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_HOST_NET_LOOKUP_H_
