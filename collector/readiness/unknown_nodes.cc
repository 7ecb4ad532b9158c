#include "collector/readiness/unknown_nodes.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace preflight::collector {

namespace {

bool Same(const std::string& a, const std::string& b) {
  return !a.empty() && absl::EqualsIgnoreCase(a, b);
}

// Every name and address the inventory knows its hosts by, lower-cased:
// matching a node is then one lookup per value, not a walk of 10,000 hosts.
absl::flat_hash_set<std::string> KnownNames(const v1::Inventory& inventory) {
  absl::flat_hash_set<std::string> known;
  auto add = [&](const std::string& s) {
    if (!s.empty()) known.insert(absl::AsciiStrToLower(s));
  };
  for (const v1::InventoryHost& h : inventory.hosts()) {
    add(h.id());
    add(h.node_name());
    for (const std::string& a : h.addresses()) add(a);
  }
  return known;
}

}  // namespace

bool SwarmNodeMatches(const v1::SwarmNode& node, const v1::InventoryHost& host) {
  for (const std::string* value : {&node.hostname(), &node.address()}) {
    if (Same(*value, host.id()) || Same(*value, host.node_name())) return true;
    for (const std::string& a : host.addresses()) {
      if (Same(*value, a)) return true;
    }
  }
  return false;
}

std::vector<v1::UnknownNode> FindUnknownNodes(const v1::Inventory& inventory,
                                              const v1::Policy& policy,
                                              const std::vector<SwarmReport>& reports) {
  std::vector<v1::UnknownNode> out;
  std::vector<v1::UnknownNode> unlisted;  // after the nodes
  std::vector<std::string> gating(policy.gating_environments().begin(),
                                  policy.gating_environments().end());
  if (gating.empty()) gating = {"production", "staging", "backup"};
  bool any = false;
  for (const SwarmReport& r : reports) {
    if (r.reporter == nullptr) continue;
    any = any || (r.swarm != nullptr && r.swarm->nodes_size() > 0);
    std::string problem;
    if (r.swarm == nullptr) {
      problem = "its agent sends no swarm fact (an agent older than the swarm fact: upgrade it)";
    } else if (r.swarm->collection().state() == v1::Collection::ERROR) {
      problem = r.swarm->collection().error().empty() ? std::string("the swarm fact is ERROR")
                                                      : r.swarm->collection().error();
      if (!r.swarm->collection().unreadable().empty()) {
        const v1::ReadError& e = r.swarm->collection().unreadable(0);
        absl::StrAppend(&problem, " (", e.path(), ": ", e.error(), ")");
      }
    }
    if (problem.empty()) continue;
    v1::UnknownNode u;
    u.set_role("manager");
    u.set_reported_by(r.reporter->id());
    u.set_environment(r.reporter->environment());
    u.set_gating(std::find(gating.begin(), gating.end(), r.reporter->environment()) !=
                 gating.end());
    u.set_seen_at_unix_ms(r.collected_at_unix_ms);
    u.set_problem(problem.substr(0, 500));
    unlisted.push_back(std::move(u));
  }
  if (!any) return unlisted;
  const absl::flat_hash_set<std::string> known = KnownNames(inventory);
  auto is_known = [&](const std::string& s) {
    return !s.empty() && known.contains(absl::AsciiStrToLower(s));
  };
  for (const SwarmReport& r : reports) {
    if (r.swarm == nullptr || r.reporter == nullptr) continue;
    if (r.swarm->collection().state() != v1::Collection::OK) continue;
    const bool gates =
        std::find(gating.begin(), gating.end(), r.reporter->environment()) != gating.end();
    for (const v1::SwarmNode& n : r.swarm->nodes()) {
      if (is_known(n.hostname()) || is_known(n.address())) continue;
      auto same = std::find_if(out.begin(), out.end(), [&](const v1::UnknownNode& u) {
        return u.problem().empty() && absl::EqualsIgnoreCase(u.hostname(), n.hostname()) &&
               u.address() == n.address();
      });
      if (same != out.end()) {
        if (gates && !same->gating()) {
          same->set_gating(true);
          same->set_reported_by(r.reporter->id());
          same->set_environment(r.reporter->environment());
        }
        continue;
      }
      v1::UnknownNode u;
      u.set_hostname(n.hostname());
      u.set_address(n.address());
      u.set_role(n.role());
      u.set_state(n.state());
      u.set_reported_by(r.reporter->id());
      u.set_environment(r.reporter->environment());
      u.set_gating(gates);
      u.set_seen_at_unix_ms(r.collected_at_unix_ms);
      out.push_back(std::move(u));
    }
  }
  for (v1::UnknownNode& u : unlisted) out.push_back(std::move(u));
  return out;
}

std::string UnknownNodeReason(const v1::UnknownNode& node) {
  if (!node.problem().empty()) {
    return absl::StrCat("manager ", node.reported_by(), " (", node.environment(),
                        ") could not list the swarm's nodes: ", node.problem(),
                        ": a server may be hiding in the swarm (give the agent access to Docker: "
                        "the docker group; README \"No server can hide\")");
  }
  return absl::StrCat("swarm node ", node.hostname().empty() ? "(no hostname)" : node.hostname(),
                      " (", node.address().empty() ? "no address" : node.address(), ", ",
                      node.role().empty() ? "no role" : node.role(), ") reported by ",
                      node.reported_by(), " (", node.environment(),
                      ") matches no inventory host: no agent vouches for it (add it to the "
                      "inventory with node_name or addresses, or remove it from the swarm)");
}

}  // namespace preflight::collector
