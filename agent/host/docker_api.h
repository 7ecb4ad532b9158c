// The Docker Engine API over its unix socket: one HTTP/1.1 request per
// connection, for the read-only listings the agent makes on every collection
// of a swarm manager, and the `docker exec` of the application sources. A run of the Docker CLI
// costs 30-50 ms of CPU and about 38 MB of RSS (it is a Go program started for one request); a GET
// here costs well under a millisecond and no process (README, "The agent
// stays light").
#ifndef PREFLIGHT_AGENT_HOST_DOCKER_API_H_
#define PREFLIGHT_AGENT_HOST_DOCKER_API_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/host/host_env.h"

namespace preflight::agent {

// The socket the Docker CLI would use: the path of DOCKER_HOST when it is
// "unix://PATH", else /var/run/docker.sock. nullopt when DOCKER_HOST names
// another transport (tcp://, ssh://): then only the CLI knows how to reach
// the daemon.
std::optional<std::string> DockerSocketPath();

// GET `target` ("/v1.41/services?status=true") from the daemon at
// `socket_path`. The whole exchange ends by `timeout`; the body is capped at
// `max_bytes`. UNAVAILABLE when the socket cannot be reached (absent,
// refused, permission denied: the error says which), DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED beyond the cap, DATA_LOSS for a response that is not
// well-formed HTTP/1.1.
absl::StatusOr<DockerApiResponse> DockerApiGet(const std::string& socket_path,
                                               absl::string_view target, absl::Duration timeout,
                                               size_t max_bytes);

// One request of `method` ("GET", "POST") with a JSON `body` (sent with its
// Content-Length when not empty), read to the end of the connection: the
// daemon closes it after a plain answer (Connection: close) and after the
// raw stream of a started exec. Errors as DockerApiGet's.
absl::StatusOr<DockerApiResponse> DockerApiRequest(const std::string& socket_path,
                                                   absl::string_view method,
                                                   absl::string_view target, absl::string_view body,
                                                   absl::Duration timeout, size_t max_bytes);

// Parses a complete HTTP/1.1 response (status line, headers, body with
// Content-Length, chunked, or up to the end). Exposed for tests.
absl::StatusOr<DockerApiResponse> ParseHttpResponse(absl::string_view raw, size_t max_bytes);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_HOST_DOCKER_API_H_
