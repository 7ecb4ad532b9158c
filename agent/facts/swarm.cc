#include "agent/facts/swarm.h"

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace preflight::agent {

const char kSwarmInspectFormat[] =
    "{{.ID}}\t{{.Description.Hostname}}\t{{.Status.Addr}}\t{{.Spec.Role}}\t{{.Status.State}}\t"
    "{{.Spec.Availability}}\t{{if .ManagerStatus}}{{.ManagerStatus.Addr}}{{end}}";

namespace {

constexpr absl::string_view kList = "docker node ls -q";
constexpr absl::string_view kInspect = "docker node inspect";
constexpr size_t kMaxField = 256;  // a hostname is at most 253 bytes

// Docker node ids are 25 lower-case base-36 characters; accept any short
// alphanumeric word so that a future id format still works.
bool LooksLikeId(absl::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// "10.0.0.1:2377" -> "10.0.0.1", "[fd00::1]:2377" -> "fd00::1".
std::string HostOfHostPort(absl::string_view hp) {
  if (absl::ConsumePrefix(&hp, "[")) return std::string(hp.substr(0, hp.find(']')));
  size_t colon = hp.rfind(':');
  if (colon != absl::string_view::npos && hp.find(':') == colon) hp = hp.substr(0, colon);
  return std::string(hp);
}

std::string Field(absl::string_view s) {
  return std::string(absl::StripAsciiWhitespace(s).substr(0, kMaxField));
}

// Fills `collection` for a docker command that could not run or failed, and
// returns it. ABSENT when docker is not there (or, under --root, not
// recorded) or this host is not a swarm manager; ERROR otherwise.
v1::Collection* Failed(v1::Collection* collection, absl::string_view command,
                       const absl::StatusOr<CommandResult>& out) {
  if (!out.ok()) {
    const bool absent = absl::IsNotFound(out.status()) || absl::IsUnavailable(out.status());
    if (!absent) NoteUnreadable(*collection, command, out.status());
    collection->set_state(absent ? v1::Collection::ABSENT : v1::Collection::ERROR);
    collection->set_error(absl::StrCat(command, ": ", out.status().message()));
    return collection;
  }
  std::string err(absl::StripAsciiWhitespace(out->err.substr(0, 300)));
  // "Error response from daemon: This node is not a swarm manager. Use
  // "docker swarm init" or "docker swarm join" ...": workers and hosts
  // outside any swarm. Anything else (no daemon, no access to docker.sock)
  // means a manager may be there that we cannot read.
  const bool not_manager = absl::StrContains(err, "not a swarm manager");
  collection->set_state(not_manager ? v1::Collection::ABSENT : v1::Collection::ERROR);
  if (absl::StrContains(absl::AsciiStrToLower(err), "permission denied")) {
    NoteUnreadable(*collection, command, absl::PermissionDeniedError(err));
  }
  collection->set_error(
      absl::StrCat(command, " exited ", out->exit_code, err.empty() ? "" : ": ", err));
  return collection;
}

class SwarmCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "swarm"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions&, v1::FactReport& report) override {
    v1::SwarmFact& fact = *report.mutable_swarm();
    v1::Collection* collection = fact.mutable_collection();
    fact.set_source(std::string(kList));
    auto ls = env.Run({"docker", "node", "ls", "-q"}, absl::Seconds(15));
    if (!ls.ok() || ls->exit_code != 0) return Failed(collection, kList, ls);
    fact.set_manager(true);
    std::vector<std::string> ids = ParseSwarmNodeIds(ls->out);
    if (ids.empty()) {
      // A manager lists at least itself: an empty answer is not "no nodes".
      collection->set_state(v1::Collection::ERROR);
      collection->set_error(absl::StrCat(kList, " listed no node"));
      return collection;
    }
    fact.set_source(absl::StrCat(kList, ", ", kInspect));
    auto inspect = env.Run(SwarmNodeInspectArgv(ids), absl::Seconds(15));
    if (!inspect.ok() || inspect->exit_code != 0) {
      Failed(collection, kInspect, inspect);
      // This host answered `docker node ls`: it is a manager, and a failure
      // to inspect the nodes it listed is an error, never "absent".
      collection->set_state(v1::Collection::ERROR);
      return collection;
    }
    if (absl::Status parsed = ParseSwarmNodeInspect(inspect->out, fact); !parsed.ok()) {
      collection->set_state(v1::Collection::ERROR);
      collection->set_error(absl::StrCat(kInspect, ": ", parsed.message()));
      return collection;
    }
    collection->set_state(v1::Collection::OK);
    return collection;
  }
};

}  // namespace

std::vector<std::string> ParseSwarmNodeIds(absl::string_view out) {
  std::vector<std::string> ids;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!LooksLikeId(line)) continue;
    if (ids.size() >= kMaxSwarmNodes) break;
    ids.emplace_back(line);
  }
  return ids;
}

std::vector<std::string> SwarmNodeInspectArgv(const std::vector<std::string>& ids) {
  std::vector<std::string> argv = {"docker", "node", "inspect", "--format", kSwarmInspectFormat};
  argv.insert(argv.end(), ids.begin(), ids.end());
  return argv;
}

absl::Status ParseSwarmNodeInspect(absl::string_view out, v1::SwarmFact& fact) {
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    ++line_no;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    if (f.size() < 6) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": ", f.size(),
                                                     " tab-separated fields, want 6 or 7: \"",
                                                     line.substr(0, 100), "\""));
    }
    if (fact.nodes_size() >= static_cast<int>(kMaxSwarmNodes)) break;
    v1::SwarmNode* node = fact.add_nodes();
    node->set_id(Field(f[0]));
    node->set_hostname(Field(f[1]));
    std::string addr = Field(f[2]);
    if ((addr.empty() || addr == "0.0.0.0") && f.size() > 6 && !Field(f[6]).empty()) {
      addr = HostOfHostPort(Field(f[6]));
    }
    node->set_address(addr);
    node->set_role(Field(f[3]));
    node->set_state(Field(f[4]));
    node->set_availability(Field(f[5]));
  }
  return absl::OkStatus();
}

std::unique_ptr<FactCollector> MakeSwarmCollector() { return std::make_unique<SwarmCollector>(); }

}  // namespace preflight::agent
