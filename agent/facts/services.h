// Fact kind "services" (checklist items 1 and 6): every swarm service on a
// manager, with its image and version, running against desired replicas, and
// its last update's state, from `docker service ls` and one `docker service
// inspect` (docker_services.h, shared with "app_config"). Off unless the
// agent's config enables application { docker: true }: then ABSENT, saying
// so, and docker is not run. With it on, the errors are release's: ABSENT
// where docker is not installed (or, under --root, not recorded) or this is
// not a swarm manager; ERROR, noted unreadable, when docker.sock refuses the
// agent; ERROR naming the command when the inspect fails.
#ifndef PREFLIGHT_AGENT_FACTS_SERVICES_H_
#define PREFLIGHT_AGENT_FACTS_SERVICES_H_

#include <memory>

#include "agent/facts/docker_services.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// The error of an application fact kind whose source is off.
inline constexpr char kApplicationOff[] =
    "application evidence is off: set application { docker: true } in the agent's config";

// A service as it leaves the host: the image without its digest, the tag,
// the update message masked (MaskSecrets) and cut to 300 bytes.
v1::ServiceState DescribeService(const DockerService& service);

// Reads no other fact. Options: application_docker.
std::unique_ptr<FactCollector> MakeServicesCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_SERVICES_H_
