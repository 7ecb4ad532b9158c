// Finding the container of an OpenCRVS swarm service on this node, and
// running one command inside it: shared by the fact kinds that read the
// application's own stores (alert_history: Elasticsearch; admin_passwords
// and test_data: the user and record databases). Each of them runs the same
// `docker ps` argv, so within one collection the RunCache runs it once.
//
// Only the argv built here reaches `docker exec`: the container id is
// checked to be hex, and every secret a command needs is expanded by a
// shell INSIDE the container from the container's own environment, never
// passed in an argv.
#ifndef PREFLIGHT_AGENT_FACTS_SERVICE_CONTAINER_H_
#define PREFLIGHT_AGENT_FACTS_SERVICE_CONTAINER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/host/host_env.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::agent {

// The --format of `docker ps`: container id, swarm service name.
extern const char kContainerListFormat[];

// {"docker", "ps", "--filter", "label=com.docker.swarm.service.name",
//  "--format", kContainerListFormat}.
std::vector<std::string> ContainerListArgv();

// The id of the running container of the service named `service` or
// "<stack>_<service>" in `docker ps --format kContainerListFormat` output;
// empty when none (ids that are not hex are skipped).
std::string FindServiceContainer(absl::string_view docker_ps_out, absl::string_view service);

// Runs ContainerListArgv() and finds `service`'s container. On success
// returns its id. Otherwise fills `collection` and returns nullopt:
//   ABSENT  no container of `service` runs here: `where` says where OpenCRVS
//           places it ("on the node labelled data1");
//   ERROR   `docker ps` failed, or docker cannot be run at all (not
//           installed, or not recorded under --root: the source is on, so
//           that is "not assessed", not "elsewhere"); permission denied is
//           also noted unreadable.
std::optional<std::string> LocateServiceContainer(HostEnv& env, v1::Collection& collection,
                                                  absl::string_view service,
                                                  absl::string_view where);

// Runs `argv` (a `docker exec` built by the caller) with `timeout`. On exit 0
// returns its output. Otherwise fills `collection` with ERROR naming `step`
// (e.g. "docker exec (psql)"), the exit code or timeout, a hint for 127
// (`missing` names the programs the script needs) and the masked, cut
// standard error; returns nullopt.
std::optional<std::string> RunInContainer(HostEnv& env, v1::Collection& collection,
                                          const std::vector<std::string>& argv,
                                          absl::Duration timeout, absl::string_view step,
                                          absl::string_view missing);

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string CutUtf8(std::string s, size_t max);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_SERVICE_CONTAINER_H_
