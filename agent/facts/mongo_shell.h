// Reading OpenCRVS v1.x's MongoDB from the manager: one `mongo --eval` run
// inside the swarm service's own container (service mongo1, or mongo2 on a
// production replica set; image mongo:4.4, whose only shell is the legacy
// `mongo`). Shared by the fact kinds that read users (admin_passwords:
// user-mgnt.users) and records (test_data: hearth-dev.Task).
//
// Authentication: OpenCRVS starts mongod with --auth and gives the container
// its root account as MONGO_INITDB_ROOT_USERNAME / MONGO_INITDB_ROOT_PASSWORD
// (infrastructure docker-compose.deploy.yml, from the MONGODB_ADMIN_USER /
// MONGODB_ADMIN_PASSWORD secrets). The script expands both INSIDE the
// container: the password goes to the shell's password prompt on its
// standard input (`--password` without a value reads one line from stdin),
// so it is in no argv, on the host or in the container; the user name is an
// argv of the shell in the container. Without those variables the shell
// connects without authentication.
//
// Output framing: the JavaScript prints an empty line, "@begin", its rows,
// and its own last row; anything before "@begin" (a prompt, a warning of the
// shell) is ignored. A JavaScript exception is caught and printed as
// "@error\t<message>" (the message masked and cut by MongoBody).
//
// Written from MongoDB 4.4's documented shell behaviour and OpenCRVS v1.9's
// sources; MongoDB is not in Debian, so the tests run the script with a
// stand-in `mongo` (tests/unit/mongo_shell_test.cc), not a real server.
#ifndef PREFLIGHT_AGENT_FACTS_MONGO_SHELL_H_
#define PREFLIGHT_AGENT_FACTS_MONGO_SHELL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/host/host_env.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::agent {

// The shell script run in the mongo container: $1 is the JavaScript.
extern const char kMongoShellScript[];
// A whole JavaScript program around `body` (statements printing rows):
// reads allowed on a secondary (mongo2), the empty line and "@begin", then
// `body` in a try whose catch prints "@error\t<message>" on one line.
std::string MongoProgram(absl::string_view body);
// `values` as a JavaScript array of string literals (JSON quoting).
std::string JsStringArray(const std::vector<std::string>& values);

// {"docker", "exec", container, "sh", "-c", kMongoShellScript, "preflight", js}.
std::vector<std::string> MongoShellArgv(const std::string& container, const std::string& js);

// The swarm service names of OpenCRVS's MongoDB, in the order looked for.
const std::vector<std::string>& MongoServices();

// Finds this node's MongoDB container (MongoServices(), in order) through
// LocateServiceContainer (one shared `docker ps`). nullopt with `collection`
// filled as LocateServiceContainer fills it.
std::optional<std::string> LocateMongoContainer(HostEnv& env, v1::Collection& collection);

// The rows after the "@begin" line of `out`. An "@error" row, or no
// "@begin", is an error whose message holds no row content beyond the
// masked, cut exception message.
absl::StatusOr<std::string> MongoBody(absl::string_view out);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_MONGO_SHELL_H_
