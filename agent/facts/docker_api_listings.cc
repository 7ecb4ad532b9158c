#include "agent/facts/docker_api_listings.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/facts/docker_services.h"
#include "agent/facts/firewall.h"
#include "agent/facts/service_container.h"
#include "agent/facts/swarm.h"

namespace preflight::agent {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr char kServicesTarget[] = "/v1.41/services?status=true";
constexpr char kNodesTarget[] = "/v1.41/nodes";
// Running containers with the swarm's service label: ContainerListArgv()'s
// --filter, as the query's JSON ({"label":["com.docker.swarm.service.name"]}).
constexpr char kSwarmContainersTarget[] =
    "/v1.41/containers/json?filters=%7B%22label%22%3A%5B%22com.docker.swarm.service.name%22%5D%7D";
// Every running container: ContainerPortsArgv()'s `docker ps`.
constexpr char kContainersTarget[] = "/v1.41/containers/json";
constexpr size_t kOutputCap = 1 << 20;

std::optional<Value> ParseJson(absl::string_view json) {
  Value value;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &value).ok()) {
    return std::nullopt;
  }
  return value;
}

// The value at `path` under `s` (nullptr when a step is missing or not an
// object).
const Value* At(const Struct& s, std::initializer_list<const char*> path) {
  const Struct* object = &s;
  const Value* value = nullptr;
  for (const char* step : path) {
    if (object == nullptr) return nullptr;
    auto it = object->fields().find(step);
    if (it == object->fields().end()) return nullptr;
    value = &it->second;
    object = value->has_struct_value() ? &value->struct_value() : nullptr;
  }
  return value;
}

// Go's zero values: "" and 0 for a field that is absent (omitempty).
std::string Str(const Struct& s, std::initializer_list<const char*> path) {
  const Value* v = At(s, path);
  return v != nullptr && v->kind_case() == Value::kStringValue ? v->string_value() : "";
}

uint64_t Num(const Struct& s, std::initializer_list<const char*> path) {
  const Value* v = At(s, path);
  if (v == nullptr || v->kind_case() != Value::kNumberValue || !(v->number_value() >= 0)) return 0;
  // A number beyond uint64 (hostile JSON: 1e20) would be undefined to cast.
  if (v->number_value() >= 18446744073709551615.0) return UINT64_MAX;
  return static_cast<uint64_t>(v->number_value());
}

// Present and not JSON null: a Go pointer that is set.
bool Has(const Struct& s, std::initializer_list<const char*> path) {
  const Value* v = At(s, path);
  return v != nullptr && v->kind_case() != Value::kNullValue;
}

// The objects of a JSON array; nullopt when `v` is not an array of objects.
std::optional<std::vector<const Struct*>> Objects(const Value& v) {
  if (v.kind_case() != Value::kListValue) return std::nullopt;
  std::vector<const Struct*> out;
  for (const Value& e : v.list_value().values()) {
    if (!e.has_struct_value()) return std::nullopt;
    out.push_back(&e.struct_value());
  }
  return out;
}

// A JSON array of objects, as every listing answers: the parsed document
// and its elements (pointers into `root`); nullopt when the text is not
// JSON or not such an array.
struct JsonObjects {
  std::unique_ptr<Value> root;
  std::vector<const Struct*> items;
};

std::optional<JsonObjects> ParseObjects(absl::string_view json) {
  auto root = std::make_unique<Value>();
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), root.get()).ok()) {
    return std::nullopt;
  }
  auto items = Objects(*root);
  if (!items.has_value()) return std::nullopt;
  return JsonObjects{std::move(root), *std::move(items)};
}

bool LowerPath(absl::string_view path) {
  return !path.empty() && std::all_of(path.begin(), path.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' || c == '_' || c == '-' ||
           c == '/';
  });
}

bool ValidTag(absl::string_view tag) {
  return !tag.empty() && tag.size() <= 128 && tag[0] != '.' && tag[0] != '-' &&
         std::all_of(tag.begin(), tag.end(), [](char c) {
           return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
         });
}

bool ValidDigest(absl::string_view digest) {
  if (!absl::ConsumePrefix(&digest, "sha256:")) return false;
  return digest.size() == 64 && std::all_of(digest.begin(), digest.end(), [](char c) {
           return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
         });
}

// `docker service ls`'s Replicas column.
std::optional<std::string> Replicas(const Struct& service) {
  if (!Has(service, {"ServiceStatus"})) return std::nullopt;  // the CLI counts tasks then
  const uint64_t running = Num(service, {"ServiceStatus", "RunningTasks"});
  const uint64_t desired = Num(service, {"ServiceStatus", "DesiredTasks"});
  const uint64_t completed = Num(service, {"ServiceStatus", "CompletedTasks"});
  if (Has(service, {"Spec", "Mode", "ReplicatedJob"})) {
    if (!Has(service, {"Spec", "Mode", "ReplicatedJob", "TotalCompletions"})) return std::nullopt;
    return absl::StrCat(running, "/", desired, " (", completed, "/",
                        Num(service, {"Spec", "Mode", "ReplicatedJob", "TotalCompletions"}),
                        " completed)");
  }
  if (Has(service, {"Spec", "Mode", "GlobalJob"})) {
    return absl::StrCat(running, "/", desired, " (", completed, "/", desired + completed,
                        " completed)");
  }
  if (Has(service, {"Spec", "Mode", "Replicated"})) {
    const uint64_t max = Num(service, {"Spec", "TaskTemplate", "Placement", "MaxReplicas"});
    if (max > 0) return absl::StrCat(running, "/", desired, " (max ", max, " per node)");
  }
  return absl::StrCat(running, "/", desired);
}

std::string Mode(const Struct& service) {
  if (Has(service, {"Spec", "Mode", "Global"})) return "global";
  if (Has(service, {"Spec", "Mode", "Replicated"})) return "replicated";
  if (Has(service, {"Spec", "Mode", "ReplicatedJob"})) return "replicated job";
  if (Has(service, {"Spec", "Mode", "GlobalJob"})) return "global job";
  return "";
}

struct PortConfig {
  std::string protocol;
  uint32_t target = 0;
  uint32_t published = 0;
  bool ingress = false;
};

// `docker service ls`'s Ports column: the ingress-published ports, sorted
// by protocol and published port, consecutive ones folded into ranges
// ("*:8000-8002->8000-8002/tcp"); host-mode ports are not shown by the CLI.
std::optional<std::string> Ports(const Struct& service) {
  const Value* list = At(service, {"Endpoint", "Ports"});
  if (list == nullptr || list->kind_case() == Value::kNullValue) return "";
  auto objects = Objects(*list);
  if (!objects.has_value()) return std::nullopt;
  std::vector<PortConfig> ports;
  for (const Struct* p : *objects) {
    ports.push_back({Str(*p, {"Protocol"}), static_cast<uint32_t>(Num(*p, {"TargetPort"})),
                     static_cast<uint32_t>(Num(*p, {"PublishedPort"})),
                     Str(*p, {"PublishMode"}) == "ingress"});
  }
  std::stable_sort(ports.begin(), ports.end(), [](const PortConfig& a, const PortConfig& b) {
    if (a.protocol == b.protocol) return a.published < b.published;
    return a.protocol < b.protocol;
  });
  struct Range {
    uint32_t p_start = 0, p_end = 0, t_start = 0, t_end = 0;
    std::string protocol;
    std::string Text() const {
      std::string pub = p_end > p_start ? absl::StrCat(p_start, "-", p_end) : absl::StrCat(p_start);
      std::string tgt = t_end > t_start ? absl::StrCat(t_start, "-", t_end) : absl::StrCat(t_start);
      return absl::StrCat("*:", pub, "->", tgt, "/", protocol);
    }
  };
  std::vector<std::string> out;
  Range r;
  for (const PortConfig& p : ports) {
    if (!p.ingress) continue;
    const bool is_range = r.t_end != r.t_start;
    const bool overlaps = p.target <= r.t_end;
    // The differences wrap as the CLI's unsigned ones do.
    if (p.protocol != r.protocol || static_cast<uint32_t>(p.published - r.p_end) > 1 ||
        static_cast<uint32_t>(p.target - r.t_end) > 1 || (is_range && overlaps)) {
      if (r.p_start > 0) out.push_back(r.Text());
      r = Range{p.published, p.published, p.target, p.target, p.protocol};
      continue;
    }
    r.p_end = p.published;
    r.t_end = p.target;
  }
  if (r.p_start > 0) out.push_back(r.Text());
  return absl::StrJoin(out, ", ");
}

// Go's net.JoinHostPort: an IPv6 host in brackets.
std::string JoinHostPort(absl::string_view host, absl::string_view port) {
  return absl::StrContains(host, ':') ? absl::StrCat("[", host, "]:", port)
                                      : absl::StrCat(host, ":", port);
}

// A container's published port as the daemon lists it.
struct ContainerPort {
  std::string ip;
  uint16_t private_port = 0;
  uint16_t public_port = 0;
  std::string type;
};

// One entry of the CLI's port groups (formGroup): "80-81/tcp", or with an
// address "0.0.0.0:80-81->80-81/tcp".
std::string PortGroup(absl::string_view key, uint16_t first, uint16_t last) {
  std::vector<absl::string_view> parts = absl::StrSplit(key, '/');
  absl::string_view ip;
  absl::string_view type = parts[0];
  if (parts.size() > 1) {
    ip = parts[0];
    type = parts[1];
  }
  std::string group = first != last ? absl::StrCat(first, "-", last) : absl::StrCat(first);
  if (!ip.empty()) group = absl::StrCat(JoinHostPort(ip, group), "->", group);
  return absl::StrCat(group, "/", type);
}

// A container's Ports column (formatter.DisplayablePorts): sorted by
// private port, address, public port and protocol; ports published on the
// same number grouped per address and protocol into consecutive ranges
// (in the order the groups were first seen), then those published on
// another number ("0.0.0.0:8080->80/tcp"). Exposed ports have no address.
std::optional<std::string> ContainerPorts(const Struct& container) {
  const Value* list = At(container, {"Ports"});
  if (list == nullptr || list->kind_case() == Value::kNullValue) return "";
  auto objects = Objects(*list);
  if (!objects.has_value()) return std::nullopt;
  std::vector<ContainerPort> ports;
  for (const Struct* p : *objects) {
    const uint64_t private_port = Num(*p, {"PrivatePort"});
    const uint64_t public_port = Num(*p, {"PublicPort"});
    // The CLI decodes these as uint16: a larger number is an error there.
    if (private_port > 65535 || public_port > 65535) return std::nullopt;
    ports.push_back({Str(*p, {"IP"}), static_cast<uint16_t>(private_port),
                     static_cast<uint16_t>(public_port), Str(*p, {"Type"})});
  }
  // A total order, so an unstable sort gives the CLI's order too.
  std::sort(ports.begin(), ports.end(), [](const ContainerPort& a, const ContainerPort& b) {
    return std::tie(a.private_port, a.ip, a.public_port, a.type) <
           std::tie(b.private_port, b.ip, b.public_port, b.type);
  });
  struct Group {
    uint16_t first = 0, last = 0;
  };
  std::map<std::string, Group> groups;
  std::vector<std::string> keys;  // in the order the groups were first seen
  std::vector<std::string> result;
  std::vector<std::string> mappings;
  for (const ContainerPort& p : ports) {
    std::string key = p.type;
    if (!p.ip.empty()) {
      if (p.public_port != p.private_port) {
        mappings.push_back(absl::StrCat(JoinHostPort(p.ip, absl::StrCat(p.public_port)), "->",
                                        p.private_port, "/", p.type));
        continue;
      }
      key = absl::StrCat(p.ip, "/", p.type);
    }
    auto [it, added] = groups.try_emplace(key, Group{p.private_port, p.private_port});
    if (added) {
      keys.push_back(key);
      continue;
    }
    if (p.private_port == static_cast<uint16_t>(it->second.last + 1)) {  // wraps as Go's
      it->second.last = p.private_port;
      continue;
    }
    result.push_back(PortGroup(key, it->second.first, it->second.last));
    it->second = Group{p.private_port, p.private_port};
  }
  for (const std::string& key : keys) {
    result.push_back(PortGroup(key, groups[key].first, groups[key].last));
  }
  result.insert(result.end(), mappings.begin(), mappings.end());
  return absl::StrJoin(result, ", ");
}

// A container's Names column: each name without its first character (the
// daemon's "/"); truncated, as `docker ps` is by default, to the first name
// that holds no "/" (the other names are legacy links').
std::optional<std::string> ContainerNames(const Struct& container) {
  const Value* list = At(container, {"Names"});
  std::vector<std::string> names;
  if (list != nullptr && list->kind_case() != Value::kNullValue) {
    if (!list->has_list_value()) return std::nullopt;
    for (const Value& v : list->list_value().values()) {
      // The CLI slices off the first byte; of an empty name it would panic.
      if (v.kind_case() != Value::kStringValue || v.string_value().empty()) return std::nullopt;
      names.push_back(v.string_value().substr(1));
    }
  }
  for (const std::string& name : names) {
    if (!absl::StrContains(name, '/')) return name;
  }
  return absl::StrJoin(names, ",");
}

// A string as the CLI's {{json}} writes it: Go's encoding/json with HTML
// escaping off. Go 1.22 and later (Docker CLI 28) write \b and \f short;
// older Go (Debian's docker.io 20.10) wrote \u0008 and \u000c, the same
// string to any JSON reader. The input is valid UTF-8 (the protobuf JSON
// parser rejects anything else), so no byte is replaced. Not
// wire::AppendJsonQuoted: that one writes JSON for terminals and
// Elasticsearch (DEL and C1 controls escaped); this one must be Go's, byte
// for byte.
std::string GoJsonString(absl::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          absl::StrAppend(&out, "\\u00", absl::Hex(c, absl::kZeroPad2));
        } else if (c == 0xe2 && i + 2 < s.size() && s[i + 1] == '\x80' &&
                   (s[i + 2] == '\xa8' || s[i + 2] == '\xa9')) {
          // U+2028 and U+2029, escaped by Go for JavaScript's sake.
          out += s[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
          i += 2;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

// The service a `docker service inspect` argument names, resolved as the
// daemon does: the full id, else the one service of that name, else the one
// id with that prefix; null when none or several.
const Struct* ResolveService(const std::vector<const Struct*>& services, absl::string_view ref) {
  for (const Struct* s : services) {
    if (Str(*s, {"ID"}) == ref) return s;
  }
  const Struct* found = nullptr;
  int matches = 0;
  for (const Struct* s : services) {
    if (Str(*s, {"Spec", "Name"}) == ref) found = s, ++matches;
  }
  if (matches == 1) return found;
  if (matches > 1 || ref.empty()) return nullptr;
  for (const Struct* s : services) {
    if (absl::StartsWith(Str(*s, {"ID"}), ref)) found = s, ++matches;
  }
  return matches == 1 ? found : nullptr;
}

// The daemon's error answer as the CLI reports it; nullopt when it is not
// one the CLI would only pass on (a version mismatch, say: the CLI
// negotiates, so it runs then).
std::optional<CommandResult> ErrorResult(const DockerApiResponse& response) {
  if (response.status != 503) return std::nullopt;  // not a manager, not in a swarm
  auto json = ParseJson(response.body);
  if (!json.has_value() || !json->has_struct_value()) return std::nullopt;
  const std::string message = Str(json->struct_value(), {"message"});
  if (message.empty()) return std::nullopt;
  CommandResult result;
  result.exit_code = 1;
  result.err = absl::StrCat("Error response from daemon: ", message, "\n");
  return result;
}

// Nodes in `docker node ls`'s order: by hostname, naturally.
void SortNodes(std::vector<const Struct*>& nodes) {
  std::stable_sort(nodes.begin(), nodes.end(), [](const Struct* a, const Struct* b) {
    return NaturalLess(Str(*a, {"Description", "Hostname"}), Str(*b, {"Description", "Hostname"}));
  });
}

}  // namespace

bool NaturalLess(absl::string_view a, absl::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = absl::ascii_isdigit(a[i]), db = absl::ascii_isdigit(b[j]);
    if (da != db) return da;  // digits before anything else
    if (!da) {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i;
      ++j;
      continue;
    }
    // Runs of digits: leading zeros aside, the shorter number is less, then
    // the digits decide, then fewer leading zeros.
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    const size_t za = i, zb = j;
    while (i < a.size() && absl::ascii_isdigit(a[i])) ++i;
    while (j < b.size() && absl::ascii_isdigit(b[j])) ++j;
    if (i - za != j - zb) return i - za < j - zb;
    const absl::string_view na = a.substr(za, i - za), nb = b.substr(zb, j - zb);
    if (na != nb) return na < nb;
    if (za != zb) return za < zb;
  }
  return a.size() < b.size();
}

std::string FamiliarImage(absl::string_view image) {
  absl::string_view name_tag = image;
  if (const size_t at = image.find('@'); at != absl::string_view::npos) {
    if (!ValidDigest(image.substr(at + 1))) return std::string(image);
    name_tag = image.substr(0, at);
  }
  const size_t colon = name_tag.rfind(':');
  const size_t slash = name_tag.rfind('/');
  if (colon == absl::string_view::npos || (slash != absl::string_view::npos && colon < slash)) {
    return std::string(image);  // no tag: shown as it is
  }
  absl::string_view name = name_tag.substr(0, colon);
  absl::string_view tag = name_tag.substr(colon + 1);
  if (!ValidTag(tag)) return std::string(image);
  std::string domain = "docker.io";
  absl::string_view path = name;
  if (const size_t first = name.find('/'); first != absl::string_view::npos) {
    absl::string_view head = name.substr(0, first);
    if (absl::StrContains(head, '.') || absl::StrContains(head, ':') || head == "localhost") {
      domain = std::string(head);
      path = name.substr(first + 1);
    }
  }
  if (!LowerPath(path) || absl::StartsWith(path, "/") || absl::EndsWith(path, "/") ||
      absl::StrContains(path, "//")) {
    return std::string(image);
  }
  if (domain == "index.docker.io") domain = "docker.io";
  std::string familiar;
  if (domain == "docker.io") {
    absl::string_view rest = path;
    if (absl::ConsumePrefix(&rest, "library/") && !absl::StrContains(rest, '/')) path = rest;
    familiar = std::string(path);
  } else {
    familiar = absl::StrCat(domain, "/", path);
  }
  return absl::StrCat(familiar, ":", tag);
}

namespace {

// The renderings of a parsed answer's objects (`items`, in the daemon's
// order); nullopt for objects of an unexpected shape.

std::optional<std::string> ListServices(std::vector<const Struct*> services) {
  std::stable_sort(services.begin(), services.end(), [](const Struct* a, const Struct* b) {
    return NaturalLess(Str(*a, {"Spec", "Name"}), Str(*b, {"Spec", "Name"}));
  });
  std::string out;
  for (const Struct* s : services) {
    auto replicas = Replicas(*s);
    auto ports = Ports(*s);
    if (!replicas.has_value() || !ports.has_value()) return std::nullopt;
    absl::StrAppend(&out, Str(*s, {"ID"}).substr(0, 12), "\t", Str(*s, {"Spec", "Name"}), "\t",
                    Mode(*s), "\t", *replicas, "\t",
                    FamiliarImage(Str(*s, {"Spec", "TaskTemplate", "ContainerSpec", "Image"})),
                    "\t", *ports, "\n");
  }
  return out;
}

std::string ListNodeIds(std::vector<const Struct*> nodes) {
  SortNodes(nodes);
  std::string out;
  for (const Struct* n : nodes) absl::StrAppend(&out, Str(*n, {"ID"}), "\n");
  return out;
}

std::optional<std::string> InspectServices(const std::vector<const Struct*>& services,
                                           const std::vector<std::string>& refs) {
  std::string out;
  for (const std::string& ref : refs) {  // in the order asked, as the CLI prints them
    const Struct* s = ResolveService(services, ref);
    if (s == nullptr) return std::nullopt;  // the CLI's "no such service" then
    absl::StrAppend(&out, Str(*s, {"ID"}), "\t", Str(*s, {"Spec", "Name"}), "\t");
    // {{if .UpdateStatus}}: a pointer, so present (even empty) is true.
    const Value* status = At(*s, {"UpdateStatus"});
    if (status != nullptr && status->kind_case() != Value::kNullValue) {
      absl::StrAppend(&out, Str(*s, {"UpdateStatus", "State"}), "\t",
                      GoJsonString(Str(*s, {"UpdateStatus", "Message"})));
    } else {
      absl::StrAppend(&out, "\t\"\"");
    }
    out += "\t";
    // No ContainerSpec (a plugin service): the CLI's template fails on
    // the nil pointer; that answer is the CLI's to give.
    const Value* spec = At(*s, {"Spec", "TaskTemplate", "ContainerSpec"});
    if (spec == nullptr || !spec->has_struct_value()) return std::nullopt;
    const Value* env = At(*s, {"Spec", "TaskTemplate", "ContainerSpec", "Env"});
    if (env == nullptr || env->kind_case() == Value::kNullValue) {
      out += "null";  // a nil slice
    } else {
      if (!env->has_list_value()) return std::nullopt;
      std::vector<std::string> items;
      for (const Value& v : env->list_value().values()) {
        if (v.kind_case() != Value::kStringValue) return std::nullopt;
        items.push_back(GoJsonString(v.string_value()));
      }
      absl::StrAppend(&out, "[", absl::StrJoin(items, ","), "]");
    }
    out += "\n";
  }
  return out;
}

std::optional<std::string> InspectNodes(const std::vector<const Struct*>& nodes,
                                        const std::vector<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) {
    auto it = std::find_if(nodes.begin(), nodes.end(),
                           [&](const Struct* n) { return Str(*n, {"ID"}) == id; });
    if (it == nodes.end()) return std::nullopt;  // the CLI resolves names and prefixes
    const Struct& n = **it;
    absl::StrAppend(&out, id, "\t", Str(n, {"Description", "Hostname"}), "\t",
                    Str(n, {"Status", "Addr"}), "\t", Str(n, {"Spec", "Role"}), "\t",
                    Str(n, {"Status", "State"}), "\t", Str(n, {"Spec", "Availability"}), "\t",
                    Has(n, {"ManagerStatus"}) ? Str(n, {"ManagerStatus", "Addr"}) : "", "\n");
  }
  return out;
}

std::string ListSwarmContainers(const std::vector<const Struct*>& containers) {
  std::string out;
  for (const Struct* c : containers) {  // the daemon's order, as the CLI keeps it
    absl::StrAppend(&out, Str(*c, {"Id"}).substr(0, 12), "\t",
                    Str(*c, {"Labels", "com.docker.swarm.service.name"}), "\n");
  }
  return out;
}

std::optional<std::string> ListContainerPorts(const std::vector<const Struct*>& containers) {
  std::string out;
  for (const Struct* c : containers) {  // the daemon's order, as the CLI keeps it
    auto names = ContainerNames(*c);
    auto ports = ContainerPorts(*c);
    if (!names.has_value() || !ports.has_value()) return std::nullopt;
    absl::StrAppend(&out, *names, "\t", *ports, "\n");
  }
  return out;
}

}  // namespace

std::optional<std::string> RenderServiceList(absl::string_view services_json) {
  auto services = ParseObjects(services_json);
  if (!services.has_value()) return std::nullopt;
  return ListServices(services->items);
}

std::optional<std::string> RenderNodeIds(absl::string_view nodes_json) {
  auto nodes = ParseObjects(nodes_json);
  if (!nodes.has_value()) return std::nullopt;
  return ListNodeIds(nodes->items);
}

std::optional<std::string> RenderServiceInspect(absl::string_view services_json,
                                                const std::vector<std::string>& refs) {
  auto services = ParseObjects(services_json);
  if (!services.has_value()) return std::nullopt;
  return InspectServices(services->items, refs);
}

std::optional<std::string> RenderNodeInspect(absl::string_view nodes_json,
                                             const std::vector<std::string>& ids) {
  auto nodes = ParseObjects(nodes_json);
  if (!nodes.has_value()) return std::nullopt;
  return InspectNodes(nodes->items, ids);
}

std::optional<std::string> RenderSwarmContainers(absl::string_view containers_json) {
  auto containers = ParseObjects(containers_json);
  if (!containers.has_value()) return std::nullopt;
  return ListSwarmContainers(containers->items);
}

std::optional<std::string> RenderContainerPorts(absl::string_view containers_json) {
  auto containers = ParseObjects(containers_json);
  if (!containers.has_value()) return std::nullopt;
  return ListContainerPorts(containers->items);
}

struct DockerApiListings::Parsed {
  JsonObjects json;
};

DockerApiListings::DockerApiListings() = default;
DockerApiListings::~DockerApiListings() = default;

const DockerApiListings::Fetched& DockerApiListings::Get(const std::string& target, HostEnv& host,
                                                         absl::Duration timeout) {
  auto it = gets_.find(target);
  if (it != gets_.end()) return it->second;
  Fetched fetched;
  if (auto response = host.DockerGet(target, timeout); response.ok()) {
    fetched.response = *std::move(response);
    if (fetched.response->status == 200) {
      if (auto json = ParseObjects(fetched.response->body); json.has_value()) {
        fetched.parsed = std::make_unique<const Parsed>(Parsed{*std::move(json)});
      }
    }
  }
  return gets_.emplace(target, std::move(fetched)).first->second;
}

std::optional<CommandResult> DockerApiListings::Answer(const std::vector<std::string>& argv,
                                                       HostEnv& host, absl::Duration timeout) {
  if (argv.empty() || argv[0] != "docker") return std::nullopt;
  enum class Kind { kServices, kServiceInspect, kNodeIds, kNodeInspect, kContainers, kPorts } kind;
  static const std::vector<std::string> kNodeLs = {"docker", "node", "ls", "-q"};
  static const std::vector<std::string> kInspectPrefix = SwarmNodeInspectArgv({});
  static const std::vector<std::string> kServiceInspectPrefix = ServiceInspectArgv({});
  auto starts_with = [&argv](const std::vector<std::string>& prefix) {
    return argv.size() > prefix.size() && std::equal(prefix.begin(), prefix.end(), argv.begin());
  };
  if (argv == ServiceListArgv()) {
    kind = Kind::kServices;
  } else if (argv == ContainerListArgv()) {
    kind = Kind::kContainers;
  } else if (argv == ContainerPortsArgv()) {
    kind = Kind::kPorts;
  } else if (argv == kNodeLs) {
    kind = Kind::kNodeIds;
  } else if (starts_with(kInspectPrefix)) {
    kind = Kind::kNodeInspect;
  } else if (starts_with(kServiceInspectPrefix)) {
    kind = Kind::kServiceInspect;
  } else {
    return std::nullopt;
  }
  const char* target = kind == Kind::kServices || kind == Kind::kServiceInspect ? kServicesTarget
                       : kind == Kind::kContainers ? kSwarmContainersTarget
                       : kind == Kind::kPorts      ? kContainersTarget
                                                   : kNodesTarget;
  const Fetched& fetched = Get(target, host, timeout);
  if (!fetched.response.has_value()) return std::nullopt;
  if (fetched.response->status != 200) return ErrorResult(*fetched.response);
  if (fetched.parsed == nullptr) return std::nullopt;  // not the array of objects expected
  const std::vector<const Struct*>& items = fetched.parsed->json.items;
  std::optional<std::string> out;
  switch (kind) {
    case Kind::kServices:
      out = ListServices(items);
      break;
    case Kind::kContainers:
      out = ListSwarmContainers(items);
      break;
    case Kind::kServiceInspect:
      out = InspectServices(
          items, std::vector<std::string>(
                     argv.begin() + static_cast<long>(kServiceInspectPrefix.size()), argv.end()));
      break;
    case Kind::kPorts:
      out = ListContainerPorts(items);
      break;
    case Kind::kNodeIds:
      out = ListNodeIds(items);
      break;
    case Kind::kNodeInspect:
      out = InspectNodes(
          items, std::vector<std::string>(argv.begin() + static_cast<long>(kInspectPrefix.size()),
                                          argv.end()));
      break;
  }
  if (!out.has_value()) return std::nullopt;
  CommandResult result;
  result.exit_code = 0;
  result.out = *std::move(out);
  // The CLI's output is capped as every command's is (RunCommand's 1 MiB).
  if (result.out.size() > kOutputCap) result.out.resize(kOutputCap);
  return result;
}

}  // namespace preflight::agent
