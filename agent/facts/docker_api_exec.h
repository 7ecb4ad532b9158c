// `docker exec` through the Docker Engine API instead of the Docker CLI.
// The application sources (alert_history, admin_passwords, test_data) run a
// command inside a database container each collection; forked, the CLI
// costs about 35 ms of CPU and 23 MiB of RSS a run (a Go program started
// for one exec), a few times the command itself. RunCache asks this for
// every command after the listings (docker_api_listings.h) and it does what
// the CLI does for `docker exec CONTAINER CMD...` (no options):
//
//   POST /v1.41/containers/CONTAINER/exec  {"AttachStdout":true,
//        "AttachStderr":true,"Cmd":[CMD...]}            -> 201 {"Id":EXEC}
//   POST /v1.41/exec/EXEC/start {"Detach":false,"Tty":false}
//        -> 200, then the raw stream (8-byte frame headers: 1 stdout,
//           2 stderr) until the command ends and the daemon closes it
//   GET  /v1.41/exec/EXEC/json                          -> "ExitCode"
//
// so its result is the CLI's: the same standard output and error (each
// capped at 1 MiB as RunCommand caps them), and the command's exit code. A
// command that cannot be started (not in the container) gets the runtime's
// message on its output and exit 126 or 127 from the daemon, as with the
// CLI. The daemon's refusal to create the exec (no such container, not
// running) is what the CLI prints then: "Error response from daemon:
// <message>" on standard error, exit 1. Past the timeout the result is
// timed_out (the command may go on in the container, as when the CLI is
// killed). nullopt (and the CLI runs, with its own evidence) for any other
// argv, when the socket cannot be reached (no daemon, no permission,
// DOCKER_HOST not unix://, --root) or an answer has a shape this does not
// know. tests/unit/docker_api_exec_test.cc compares it with the CLI on a real
// dockerd.
#ifndef PREFLIGHT_AGENT_FACTS_DOCKER_API_EXEC_H_
#define PREFLIGHT_AGENT_FACTS_DOCKER_API_EXEC_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/host/host_env.h"

namespace preflight::agent {

// The CLI's result for `argv` when it is `docker exec CONTAINER CMD...` and
// the API ran it; nullopt otherwise (run the CLI).
std::optional<CommandResult> DockerApiExec(const std::vector<std::string>& argv, HostEnv& host,
                                           absl::Duration timeout);

// Splits the raw stream of a started exec (without a TTY) into standard
// output and error, each capped at `cap` bytes. False when it is not such a
// stream (a frame of another kind, or cut inside a frame). Exposed for tests.
bool DemuxExecStream(absl::string_view raw, size_t cap, std::string& out, std::string& err);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_DOCKER_API_EXEC_H_
