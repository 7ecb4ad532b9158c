// Fact kind "release": the deployed OpenCRVS version, the image tag of the
// opencrvs_base swarm service (`docker service ls`), as the deploy scripts
// read it.
#ifndef PREFLIGHT_AGENT_FACTS_RELEASE_H_
#define PREFLIGHT_AGENT_FACTS_RELEASE_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// Fills version/image/service and the list of service names from `docker
// service ls --format kServiceListFormat` output (ServiceListArgv(), shared
// with the "services" and "firewall" kinds; lines of only '{{.Name}}\t
// {{.Image}}' are read too); false when there is no opencrvs_base service.
bool ParseReleaseFromServices(absl::string_view out, v1::ReleaseFact& fact);

std::unique_ptr<FactCollector> MakeReleaseCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_RELEASE_H_
