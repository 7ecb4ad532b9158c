#include "agent/facts/docker_services.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/facts/fact_collector.h"
#include "agent/facts/mask.h"

namespace preflight::agent {

const char kServiceListFormat[] =
    "{{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}";
const char kServiceInspectFormat[] =
    "{{.ID}}\t{{.Spec.Name}}\t{{if .UpdateStatus}}{{.UpdateStatus.State}}\t"
    "{{json .UpdateStatus.Message}}{{else}}\t\"\"{{end}}\t"
    "{{json .Spec.TaskTemplate.ContainerSpec.Env}}";

const char* const kKeptEnvironment[8] = {"SMTP_HOST",     "SMTP_PORT",     "SMTP_SECURE",
                                         "SMTP_USERNAME", "SMTP_PASSWORD", "SENDER_EMAIL_ADDRESS",
                                         "ALERT_EMAIL",   "SENTRY_DSN"};

namespace {

constexpr absl::string_view kList = "docker service ls";
constexpr absl::string_view kInspect = "docker service inspect";
constexpr size_t kMaxField = 512;
constexpr size_t kMaxProblems = 20;
constexpr size_t kMaxValue = 4096;  // one kept variable's value

void Problem(std::vector<std::string>& problems, std::string message) {
  if (problems.size() < kMaxProblems) problems.push_back(std::move(message));
}

std::string Field(absl::string_view s) {
  return std::string(absl::StripAsciiWhitespace(s).substr(0, kMaxField));
}

// Docker ids are lower-case base-36 words; accept any short alphanumeric one.
bool LooksLikeId(absl::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); });
}

// Service names: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 63 bytes in docker.
bool LooksLikeName(absl::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

bool Kept(absl::string_view name) {
  for (const char* k : kKeptEnvironment) {
    if (name == k) return true;
  }
  return false;
}

// A JSON string ("…", as docker's {{json}} prints it) to its value.
absl::StatusOr<std::string> JsonString(absl::string_view json) {
  google::protobuf::Value v;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &v);
  if (!status.ok() || v.kind_case() != google::protobuf::Value::kStringValue) {
    return absl::InvalidArgumentError("not a JSON string");
  }
  return std::move(*v.mutable_string_value());
}

// The container environment (a JSON array of "NAME=value", or null) to the
// kept variables. The parsed document is cleared before it goes.
absl::Status ParseEnv(absl::string_view json, std::map<std::string, std::string>& env) {
  json = absl::StripAsciiWhitespace(json);
  if (json == "null" || json == "[]") return absl::OkStatus();
  google::protobuf::ListValue list;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &list);
  if (!status.ok()) return absl::InvalidArgumentError("the environment is not a JSON array");
  for (google::protobuf::Value& v : *list.mutable_values()) {
    if (v.kind_case() != google::protobuf::Value::kStringValue) continue;
    absl::string_view entry = v.string_value();
    size_t eq = entry.find('=');
    if (eq == absl::string_view::npos) continue;  // NAME alone: unset in the container
    absl::string_view name = entry.substr(0, eq);
    if (!Kept(name)) continue;
    absl::string_view value = entry.substr(eq + 1);
    if (name == "SMTP_USERNAME" || name == "SMTP_PASSWORD") {
      // Only whether it is set.
      if (value.empty()) {
        env.erase(std::string(name));
      } else {
        env[std::string(name)] = std::string(kMasked);
      }
      continue;
    }
    env[std::string(name)] = std::string(value.substr(0, kMaxValue));
  }
  list.Clear();
  return absl::OkStatus();
}

// Fills the result for a docker command that could not run or failed: ABSENT
// when docker is not there (or, under --root, not recorded) or this host is
// not a swarm manager; ERROR otherwise, with the socket's "permission denied"
// noted as unreadable (an agent without access to docker.sock sees no
// services, which is not "none deployed").
void Failed(DockerServices& result, absl::string_view command,
            const absl::StatusOr<CommandResult>& out) {
  if (!out.ok()) {
    const bool absent = absl::IsNotFound(out.status()) || absl::IsUnavailable(out.status());
    if (!absent) {
      result.unreadable_command = std::string(command);
      result.unreadable_status = out.status();
    }
    result.state = absent ? v1::Collection::ABSENT : v1::Collection::ERROR;
    result.error = absl::StrCat(command, ": ", out.status().message());
    return;
  }
  std::string err = MaskSecrets(absl::StripAsciiWhitespace(out->err.substr(0, 300)));
  result.state = absl::StrContains(err, "not a swarm manager") ? v1::Collection::ABSENT
                                                               : v1::Collection::ERROR;
  if (absl::StrContains(absl::AsciiStrToLower(err), "permission denied")) {
    result.state = v1::Collection::ERROR;
    result.unreadable_command = std::string(command);
    result.unreadable_status = absl::PermissionDeniedError(err);
  }
  result.error = absl::StrCat(command, " exited ", out->exit_code, err.empty() ? "" : ": ", err);
}

}  // namespace

std::vector<DockerService> ParseServiceList(absl::string_view out,
                                            std::vector<std::string>& problems) {
  std::vector<DockerService> services;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    ++line_no;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    // The ports column may be missing (an older format) or empty.
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits('\t', 5));
    if (f.size() < 5 || !LooksLikeId(absl::StripAsciiWhitespace(f[0])) ||
        !LooksLikeName(absl::StripAsciiWhitespace(f[1]))) {
      Problem(problems, absl::StrCat(kList, " line ", line_no,
                                     ": not an id, a name, a mode, replicas and an image"));
      continue;
    }
    if (services.size() >= kMaxDockerServices) {
      Problem(problems, absl::StrCat(kList, ": more than ", kMaxDockerServices,
                                     " services; the rest are not read"));
      break;
    }
    DockerService s;
    s.id = Field(f[0]);
    s.name = Field(f[1]);
    s.mode = Field(f[2]).substr(0, 32);
    ParseReplicas(absl::StripAsciiWhitespace(f[3]), s);
    s.image = Field(f[4]);
    if (f.size() == 6) s.ports = Field(f[5]).substr(0, 1024);
    services.push_back(std::move(s));
  }
  return services;
}

void ParseReplicas(absl::string_view replicas, DockerService& service) {
  service.replicas_known = false;
  auto pair = [](absl::string_view s, uint32_t& a, uint32_t& b) {
    std::vector<absl::string_view> p = absl::StrSplit(s, absl::MaxSplits('/', 1));
    return p.size() == 2 && absl::SimpleAtoi(p[0], &a) && absl::SimpleAtoi(p[1], &b);
  };
  absl::string_view head = replicas.substr(0, replicas.find(' '));
  uint32_t running = 0, desired = 0;
  if (!pair(head, running, desired)) return;
  // Jobs: "0/1 (1/1 completed)": what counts is the completions.
  absl::string_view rest = absl::StripAsciiWhitespace(replicas.substr(head.size()));
  if (absl::ConsumePrefix(&rest, "(") && absl::ConsumeSuffix(&rest, " completed)")) {
    if (!pair(rest, running, desired)) return;
  }
  service.running = running;
  service.desired = desired;
  service.replicas_known = true;
}

void ParseServiceInspect(absl::string_view out, std::vector<DockerService>& services,
                         std::vector<std::string>& problems) {
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    ++line_no;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits('\t', 4));
    absl::string_view id = f.empty() ? "" : absl::StripAsciiWhitespace(f[0]);
    if (f.size() != 5 || !LooksLikeId(id)) {
      // Never the line itself: it may hold the environment.
      Problem(problems, absl::StrCat(kInspect, " line ", line_no,
                                     ": not an id, a name, an update state, a message and an "
                                     "environment"));
      continue;
    }
    auto it = std::find_if(services.begin(), services.end(), [&](const DockerService& s) {
      return s.id == id || (id.size() >= 12 && absl::StartsWith(id, s.id)) ||
             (s.id.size() >= 12 && absl::StartsWith(s.id, id));
    });
    if (it == services.end()) {
      Problem(problems, absl::StrCat(kInspect, " line ", line_no, ": service ", id,
                                     " was not listed by ", kList));
      continue;
    }
    if (it->inspected) continue;
    it->update_state = Field(f[2]).substr(0, 32);
    absl::StatusOr<std::string> message = JsonString(absl::StripAsciiWhitespace(f[3]));
    if (!message.ok()) {
      Problem(problems, absl::StrCat(kInspect, " line ", line_no, " (", it->name,
                                     "): the update message is not a JSON string"));
    } else {
      it->update_message = std::move(*message);
    }
    if (absl::Status env = ParseEnv(f[4], it->env); !env.ok()) {
      it->env.clear();
      Problem(problems,
              absl::StrCat(kInspect, " line ", line_no, " (", it->name, "): ", env.message()));
      continue;  // not inspected: its environment is unknown
    }
    it->inspected = true;
  }
}

std::vector<std::string> ServiceListArgv() {
  return {"docker", "service", "ls", "--format", kServiceListFormat};
}

std::string ServiceNamesAndPorts(absl::string_view service_ls_out) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(service_ls_out, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits('\t', 5));
    if (f.size() != 6) continue;
    absl::StrAppend(&out, f[1], "\t", f[5], "\n");
  }
  return out;
}

std::vector<std::string> ServiceInspectArgv(const std::vector<DockerService>& services) {
  std::vector<std::string> argv = {"docker", "service", "inspect", "--format",
                                   kServiceInspectFormat};
  for (const DockerService& s : services) argv.push_back(s.id);
  return argv;
}

DockerServices ReadDockerServices(HostEnv& env) {
  DockerServices result;
  result.source = std::string(kList);
  auto ls = env.Run(ServiceListArgv(), absl::Seconds(15));
  if (!ls.ok() || ls->exit_code != 0) {
    Failed(result, kList, ls);
    return result;
  }
  result.services = ParseServiceList(ls->out, result.problems);
  if (result.services.empty()) {
    // A manager with nothing deployed; but lines docker printed that did not
    // parse are not "nothing".
    result.state = result.problems.empty() ? v1::Collection::ABSENT : v1::Collection::ERROR;
    result.error = result.problems.empty() ? absl::StrCat(kList, " lists no service")
                                           : result.problems.front();
    return result;
  }
  result.source = absl::StrCat(kList, ", ", kInspect);
  auto inspect = env.Run(ServiceInspectArgv(result.services), absl::Seconds(30));
  if (!inspect.ok() || inspect->exit_code != 0) {
    Failed(result, kInspect, inspect);
    // This host listed its services: it is a manager, and a failure to
    // inspect them is an error, never "absent".
    result.state = v1::Collection::ERROR;
    return result;
  }
  ParseServiceInspect(inspect->out, result.services, result.problems);
  size_t missing = 0;
  for (const DockerService& s : result.services) {
    if (!s.inspected) ++missing;
  }
  if (missing == result.services.size()) {
    result.state = v1::Collection::ERROR;
    result.error = absl::StrCat(kInspect, " described none of the ", result.services.size(),
                                " services listed");
    return result;
  }
  if (missing > 0) {
    Problem(result.problems, absl::StrCat(kInspect, " described ", result.services.size() - missing,
                                          " of the ", result.services.size(), " services listed"));
  }
  result.state = v1::Collection::OK;
  return result;
}

void ApplyTo(const DockerServices& services, v1::Collection& collection) {
  collection.set_state(services.state);
  if (!services.error.empty()) collection.set_error(services.error);
  if (!services.unreadable_command.empty()) {
    NoteUnreadable(collection, services.unreadable_command, services.unreadable_status);
  }
}

std::string ImageWithoutDigest(absl::string_view image) {
  return std::string(image.substr(0, image.find('@')));
}

std::string ImageTag(absl::string_view image) {
  size_t at = image.find('@');
  if (at != absl::string_view::npos) image = image.substr(0, at);
  size_t slash = image.rfind('/');
  size_t colon = image.rfind(':');
  if (colon == absl::string_view::npos || (slash != absl::string_view::npos && colon < slash)) {
    return "latest";  // docker's implicit tag
  }
  return std::string(image.substr(colon + 1));
}

bool IsOpencrvsImage(absl::string_view image) {
  absl::string_view path = image.substr(0, image.find('@'));
  size_t slash = path.rfind('/');
  size_t colon = path.rfind(':');
  if (colon != absl::string_view::npos && (slash == absl::string_view::npos || colon > slash)) {
    path = path.substr(0, colon);
  }
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  // A first component with a '.' or a ':' (or "localhost") is a registry;
  // otherwise the reference is on Docker Hub and that component is its
  // namespace ("evil/opencrvs/ocrvs-x" is evil's).
  if (parts.size() == 3 && (absl::StrContains(parts[0], '.') || absl::StrContains(parts[0], ':') ||
                            parts[0] == "localhost")) {
    parts.erase(parts.begin());
  }
  return parts.size() == 2 && parts[0] == "opencrvs" && absl::StartsWith(parts[1], "ocrvs-") &&
         parts[1].size() > 6;
}

bool IsCountryconfigService(absl::string_view name) {
  return absl::EndsWith(name, "countryconfig");
}

bool IsCoreService(const DockerService& service) {
  return IsOpencrvsImage(service.image) && !IsCountryconfigService(service.name);
}

}  // namespace preflight::agent
