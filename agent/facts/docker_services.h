// The swarm's services as one manager sees them: the shared source of the
// "services" and "app_config" fact kinds (AgentConfig.application.docker).
//
// Two commands, each run once per collection:
//   docker service ls --format kServiceListFormat   (ServiceListArgv())
//   docker service inspect --format kServiceInspectFormat <every id listed>
// Both collectors call ReadDockerServices; CollectReport runs every collector
// against a RunCache (run_cache.h), so the second call reads the first one's
// command outputs instead of forking docker again. The "release" and
// "firewall" kinds read the same `docker service ls` (ServiceListArgv():
// one argv, so one run) for the images and the published ports, also when
// the application sources are off.
//
// The services' environment stays in agent memory: only the variables the
// app_config collector derives its evidence from are kept
// (kKeptEnvironment), the rest is dropped while parsing, and nothing here is
// put in a report as is.
#ifndef PREFLIGHT_AGENT_FACTS_DOCKER_SERVICES_H_
#define PREFLIGHT_AGENT_FACTS_DOCKER_SERVICES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/host/host_env.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::agent {

// At most this many services are read (OpenCRVS runs about 30).
inline constexpr size_t kMaxDockerServices = 200;

// The --format of `docker service ls`: ID, name, mode, replicas, image,
// published ports ("*:443->443/tcp, *:80->80/tcp"; empty when none).
extern const char kServiceListFormat[];
// {"docker", "service", "ls", "--format", kServiceListFormat}: the one argv
// every kind reading the swarm's services runs.
std::vector<std::string> ServiceListArgv();
// The "name<TAB>ports" lines of ServiceListArgv()'s output (the firewall's
// view of what the swarm publishes); lines of another shape are skipped.
std::string ServiceNamesAndPorts(absl::string_view service_ls_out);
// The --format of `docker service inspect`: per service one line of ID, name,
// UpdateStatus.State, UpdateStatus.Message as a JSON string, and the
// container environment as a JSON array ("null" when none). A service never
// updated has no UpdateStatus: the {{if}} prints an empty state and "".
extern const char kServiceInspectFormat[];

// The environment variables kept from the services' environment: SMTP_HOST,
// SMTP_PORT, SMTP_SECURE, SENDER_EMAIL_ADDRESS, ALERT_EMAIL, SENTRY_DSN as
// written; SMTP_USERNAME and SMTP_PASSWORD only as "set" (their value is
// replaced by kMasked as parsed, and empty ones are dropped).
extern const char* const kKeptEnvironment[8];

struct DockerService {
  std::string id;
  std::string name;
  std::string mode;   // replicated, global, replicated-job, global-job
  std::string image;  // as listed, with any @digest
  std::string ports;  // as listed: "*:443->443/tcp, *:80->80/tcp"
  bool replicas_known = false;
  uint32_t running = 0;                    // jobs: completed
  uint32_t desired = 0;                    // jobs: completions wanted
  bool inspected = false;                  // the inspect printed a line for this id
  std::string update_state;                // "" when never updated
  std::string update_message;              // raw: mask before it leaves the host
  std::map<std::string, std::string> env;  // kKeptEnvironment only
};

struct DockerServices {
  // OK, ABSENT (docker not here / not recorded, not a swarm manager) or
  // ERROR (docker refused, a failed inspect, unparsable output).
  v1::Collection::State state = v1::Collection::OK;
  std::string error;
  // Set when docker exists but could not be read (permission denied on the
  // socket, an unreadable recorded output): NoteUnreadable(command, status).
  std::string unreadable_command;
  absl::Status unreadable_status;
  std::string source;                   // the commands run
  std::vector<DockerService> services;  // in `docker service ls` order
  // Lines skipped while parsing, by line number and field: never their text
  // (it may hold the environment).
  std::vector<std::string> problems;
};

// Runs the two commands (the inspect only when ls listed services) and
// parses them. Never fails: problems go into the result's state and error.
DockerServices ReadDockerServices(HostEnv& env);

// Copies state, error and any unreadable entry into `collection`.
void ApplyTo(const DockerServices& services, v1::Collection& collection);

// Parses `docker service ls --format kServiceListFormat` output: one service
// per line with five tab-separated fields (at most kMaxDockerServices).
// Lines without them are skipped with a problem.
std::vector<DockerService> ParseServiceList(absl::string_view out,
                                            std::vector<std::string>& problems);

// Fills running/desired/replicas_known from docker's REPLICAS column:
// "2/3", "0/1 (max 1 per node)"; global services print "3/3" too. For jobs,
// "0/1 (1/1 completed)", running/desired are the completions (1/1): a job
// that finished runs no task, and that is its healthy state. Anything else
// leaves replicas_known false.
void ParseReplicas(absl::string_view replicas, DockerService& service);

// Parses `docker service inspect --format kServiceInspectFormat` output into
// the services of the same id. Lines whose id is not listed, or that do not
// have the fields, or whose JSON does not parse, are skipped with a problem.
void ParseServiceInspect(absl::string_view out, std::vector<DockerService>& services,
                         std::vector<std::string>& problems);

// {"docker", "service", "inspect", "--format", kServiceInspectFormat, ids...}.
std::vector<std::string> ServiceInspectArgv(const std::vector<DockerService>& services);

// "ghcr.io/opencrvs/ocrvs-base:v1.9.0@sha256:…" -> "ghcr.io/opencrvs/ocrvs-base:v1.9.0".
std::string ImageWithoutDigest(absl::string_view image);

// The tag of an image reference: "ghcr.io/opencrvs/ocrvs-base:v1.9.0@sha256:..."
// -> "v1.9.0". A ':' after the last '/' starts the tag (a registry port
// comes before it); "latest" when there is none (docker's implicit tag).
std::string ImageTag(absl::string_view image);

// An OpenCRVS core image: its repository path is opencrvs/ocrvs-* (on any
// registry: "ghcr.io/opencrvs/ocrvs-gateway", "opencrvs/ocrvs-auth").
bool IsOpencrvsImage(absl::string_view image);

// The country configuration service: its name ends with "countryconfig"
// (OpenCRVS deploys it as opencrvs_countryconfig). Its image is the
// country's own (…/ocrvs-farajaland), with the country's version.
bool IsCountryconfigService(absl::string_view name);

// A core service: an OpenCRVS image that is not the country configuration.
bool IsCoreService(const DockerService& service);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_DOCKER_SERVICES_H_
