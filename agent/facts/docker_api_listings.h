// Docker listings from the Engine API instead of the Docker CLI. RunCache
// asks this first for every command of a collection; for the listings below
// it answers from one GET each (the two service commands share one, the two
// node commands another), rendered
// exactly as the Docker CLI renders the same --format, so the fact
// collectors and the recorded fixtures stay as they are:
//
//   docker service ls --format ServiceListArgv's   GET /v1.41/services?status=true
//   docker service inspect --format kServiceInspectFormat ID...  (the same GET)
//   docker node ls -q                              GET /v1.41/nodes
//   docker node inspect --format kSwarmInspectFormat ID...   (the same GET)
//   docker ps --filter label=com.docker.swarm.service.name --format
//     ContainerListArgv's                          GET /v1.41/containers/json?filters=…
//   docker ps --format {{.Names}}\t{{.Ports}}      GET /v1.41/containers/json
//     (ContainerPortsArgv(), the firewall's)
//
// The firewall's listing is rendered as Docker CLI 28 prints it. Docker
// 20.10's CLI prints an IPv6 address unbracketed (":::80->80/tcp" where 28
// prints "[::]:80->80/tcp"); ParseDockerPorts reads both alike, so the
// firewall fact is the same whichever CLI the host has. Likewise the
// inspect's {{json}} strings are written as Go 1.22+ writes them (CLI 28):
// "\b" where 20.10's older Go wrote "\u0008" — the same string once parsed.
//
// Not here: every `docker exec` (agent/facts/docker_api_exec.h runs it).
//
// An error answer of the daemon ("This node is not a swarm manager") becomes
// what the CLI says then: exit code 1, "Error response from daemon: <message>"
// on stderr. When the socket cannot be reached (no daemon, no permission,
// DOCKER_HOST not unix://), or an answer has a shape this does not know, the
// answer is nullopt and the CLI runs as before, with its own evidence.
// tests/unit/docker_api_listings_test.cc compares every rendering with the
// Docker CLI's output against a real dockerd.
#ifndef PREFLIGHT_AGENT_FACTS_DOCKER_API_LISTINGS_H_
#define PREFLIGHT_AGENT_FACTS_DOCKER_API_LISTINGS_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/host/host_env.h"

namespace preflight::agent {

class DockerApiListings {
 public:
  DockerApiListings();
  ~DockerApiListings();

  // The CLI's result for `argv` when it is one of the listings above and the
  // API answered; nullopt otherwise (run the CLI).
  std::optional<CommandResult> Answer(const std::vector<std::string>& argv, HostEnv& host,
                                      absl::Duration timeout);

 private:
  struct Parsed;  // a JSON array of objects (defined in the .cc)
  // A target's answer, and for a 200 its body parsed once for every
  // command rendered from it (`docker node ls -q` and `docker node inspect`
  // share one, the two service commands another).
  struct Fetched {
    std::optional<DockerApiResponse> response;  // nullopt: the API was not reached
    std::unique_ptr<const Parsed> parsed;       // null: not a 200 array of objects
  };

  const Fetched& Get(const std::string& target, HostEnv& host, absl::Duration timeout);
  // One GET per target per collection.
  std::map<std::string, Fetched> gets_;
};

// Renderings of the API's JSON as the CLI prints them; nullopt for JSON of
// an unexpected shape. Exposed for tests.
std::optional<std::string> RenderServiceList(absl::string_view services_json);
std::optional<std::string> RenderNodeIds(absl::string_view nodes_json);
std::optional<std::string> RenderSwarmContainers(absl::string_view containers_json);
std::optional<std::string> RenderContainerPorts(absl::string_view containers_json);
std::optional<std::string> RenderServiceInspect(absl::string_view services_json,
                                                const std::vector<std::string>& refs);
std::optional<std::string> RenderNodeInspect(absl::string_view nodes_json,
                                             const std::vector<std::string>& ids);

// An image reference as `docker service ls` shows it: with a tag, the
// familiar name and tag without the digest ("docker.io/library/nginx:1@sha256:…"
// -> "nginx:1"); otherwise as given.
std::string FamiliarImage(absl::string_view image);

// The CLI's order of names (github.com/fvbommel/sortorder's natural order):
// runs of digits compare as numbers, and sort before other bytes.
bool NaturalLess(absl::string_view a, absl::string_view b);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_DOCKER_API_LISTINGS_H_
