// The privileges the agent collects with, judged by its effective
// capabilities, never by uid 0: a dedicated user granted exactly the
// capabilities below collects as well as root, and root with capabilities
// dropped does not. Each fact kind names what it needs; what the agent lacks
// goes on the report (FactReport.privileges), where the collector makes the
// checks on those kinds UNKNOWN, and into a loud warning at start.
#ifndef PREFLIGHT_AGENT_FACTS_PRIVILEGES_H_
#define PREFLIGHT_AGENT_FACTS_PRIVILEGES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/host/host_env.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::agent {

// Linux capability numbers (linux/capability.h) the facts need.
inline constexpr int kCapDacOverride = 1;
inline constexpr int kCapDacReadSearch = 2;
inline constexpr int kCapNetAdmin = 12;
inline constexpr int kCapNetRaw = 13;
inline constexpr int kCapSysPtrace = 19;

// "CAP_DAC_READ_SEARCH" for 2; "CAP_<n>" for numbers not named here.
std::string CapabilityName(int cap);

// The effective capability set of this process, from the CapEff line of
// /proc/self/status (the real /proc, whatever --root says).
absl::StatusOr<uint64_t> EffectiveCapabilities();

// Whether the capability set `effective` lets the agent read files it does
// not own (CAP_DAC_READ_SEARCH, or CAP_DAC_OVERRIDE which implies it).
bool CanReadAnyFile(uint64_t effective);

// What each fact kind needs, judged against `effective`. `live` adds the
// needs of commands and /proc (an image is only read). `docker_socket`:
// whether the docker socket exists but this process may not connect to it
// (release and Docker's published ports come from `docker`).
v1::CollectionPrivileges JudgePrivileges(uint64_t effective, uint32_t euid, bool live,
                                         bool docker_socket_denied);

// JudgePrivileges for this process reading `env`. When the capabilities
// cannot be read, every need counts as missing (fail closed) and `checked`
// stays false.
v1::CollectionPrivileges CurrentPrivileges(const HostEnv& env);

// The loud start-up warning, one line each: empty when nothing is missing.
std::vector<std::string> PrivilegeWarning(const v1::CollectionPrivileges& privileges);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_PRIVILEGES_H_
