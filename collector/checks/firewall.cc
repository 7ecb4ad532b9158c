// Check area "firewall": checklist item 14. Which listening port can the
// internet reach, and why: the filter INPUT path (ufw's chains included) and
// native nftables input chains for ordinary sockets, the DOCKER-USER path for
// ports Docker publishes through its nat chains (which bypass ufw).
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "collector/checks/check.h"

namespace preflight::collector {
namespace {

// Docker swarm's cluster ports: open to any source they are a warning.
const std::set<std::string> kClusterPorts = {"2376/tcp", "2377/tcp", "7946/tcp", "7946/udp",
                                             "4789/udp"};

// A new connection from an arbitrary internet address on an external
// interface.
struct Packet {
  std::string protocol;  // tcp, udp
  uint32_t port = 0;
  bool v6 = false;
};

struct Decision {
  bool decided = false;
  bool accept = false;
  std::string rule;  // the deciding rule's origin and text, or the policy
};

bool PortMatches(const std::string& spec, uint32_t port) {
  size_t colon = spec.find(':');
  uint32_t lo = 0, hi = 0;
  if (colon == std::string::npos) {
    if (!absl::SimpleAtoi(spec, &lo)) return false;  // a service name: unmodelled
    return port == lo;
  }
  if (!absl::SimpleAtoi(spec.substr(0, colon), &lo) ||
      !absl::SimpleAtoi(spec.substr(colon + 1), &hi)) {
    return false;
  }
  return port >= lo && port <= hi;
}

bool IsAnySource(const std::string& s) {
  return s.empty() || s == "0.0.0.0/0" || s == "::/0" || s == "0.0.0.0" || s == "::";
}

bool IsPrivateSource(absl::string_view s) {
  return absl::StartsWith(s, "10.") || absl::StartsWith(s, "192.168.") ||
         absl::StartsWith(s, "172.16.") || absl::StartsWith(s, "127.") ||
         absl::StartsWith(s, "fc") || absl::StartsWith(s, "fd") || absl::StartsWith(s, "fe80") ||
         s == "::1" || s == "::1/128";
}

// Whether a rule applies to the packet. `for_accept`: unmodelled matches are
// assumed to hold for ACCEPT rules and not to hold for DROP rules, so that
// what cannot be modelled errs towards "reachable".
bool RuleMatches(const v1::IptablesRule& r, const Packet& p, bool for_accept) {
  if (!r.protocol().empty() && r.protocol() != "all") {
    bool same = r.protocol() == p.protocol || r.protocol() == (p.protocol == "tcp" ? "6" : "17");
    if (same == r.negated_protocol()) return false;
  }
  if (!IsAnySource(r.source())) {
    // A rule for specific sources matches an arbitrary internet source only
    // when negated over a private range ("! -s 10.0.0.0/8").
    if (!(r.negated_source() && IsPrivateSource(r.source()))) return false;
  } else if (r.negated_source()) {
    return false;
  }
  const std::string& in = r.in_interface();
  if (!in.empty()) {
    bool negated = in[0] == '!';
    std::string name = negated ? in.substr(1) : in;
    bool internal = name == "lo" || absl::StartsWith(name, "docker") ||
                    absl::StartsWith(name, "br-") || absl::StartsWith(name, "veth");
    // The packet arrives on an external interface: "-i lo" and "-i docker0"
    // are not for it, "! -i docker0" is.
    if (!negated && internal) return false;
    if (negated && !internal) return false;
  }
  if (!r.destination().empty() && r.destination() != "0.0.0.0/0" && r.destination() != "::/0") {
    if (!for_accept) return false;
  }
  if (!r.dports().empty()) {
    bool any = false;
    for (const std::string& d : r.dports()) {
      bool negated = !d.empty() && d[0] == '!';
      bool hit = PortMatches(negated ? d.substr(1) : d, p.port);
      if (hit != negated) any = true;
    }
    if (!any) return false;
  }
  if (!r.states().empty()) {
    bool is_new = false, unmodelled = false;
    for (const std::string& s : r.states()) {
      if (s == "NEW") is_new = true;
      if (s == "UNMODELLED") unmodelled = true;
    }
    if (unmodelled) return for_accept;
    if (!is_new) return false;
  }
  return true;
}

class Evaluator {
 public:
  Evaluator(const google::protobuf::RepeatedPtrField<v1::IptablesRule>& rules,
            const google::protobuf::RepeatedPtrField<v1::IptablesChain>& chains)
      : rules_(rules), chains_(chains) {}

  // Walks `table`/`chain`; undecided at the end of a built-in chain means
  // its policy.
  Decision Walk(const std::string& table, const std::string& chain, const Packet& p,
                int depth = 0) const {
    Decision d;
    if (depth > 32) return d;
    for (const v1::IptablesRule& r : rules_) {
      if (r.table() != table || r.chain() != chain || r.v6() != p.v6) continue;
      const std::string& t = r.target();
      bool accept = t == "ACCEPT";
      bool drop = t == "DROP" || t == "REJECT";
      if (!RuleMatches(r, p, /*for_accept=*/!drop)) continue;
      if (accept || drop) {
        return Decision{true, accept, Describe(r)};
      }
      if (t == "RETURN") return d;
      if (t.empty() || t == "LOG" || t == "NFLOG" || t == "MARK" || t == "CONNMARK" ||
          t == "ULOG") {
        continue;
      }
      Decision sub = Walk(table, t, p, depth + 1);
      if (sub.decided) return sub;
    }
    return d;
  }

  // The policy of a built-in chain ("" when unknown).
  std::string Policy(const std::string& table, const std::string& chain, bool v6) const {
    for (const v1::IptablesChain& c : chains_) {
      if (c.table() == table && c.chain() == chain && c.v6() == v6) return c.policy();
    }
    return "";
  }

  static std::string Describe(const v1::IptablesRule& r) {
    return absl::StrCat(r.origin(), " '", r.text(), "'");
  }

 private:
  const google::protobuf::RepeatedPtrField<v1::IptablesRule>& rules_;
  const google::protobuf::RepeatedPtrField<v1::IptablesChain>& chains_;
};

struct Reach {
  bool reachable = false;
  std::string why;
  std::string rule;  // deciding ACCEPT rule, if any
  bool any_source_rule = false;
};

// Whether a ufw rule's port field ("22", "80,443", "60000:61000", "any")
// covers `port`.
bool UfwPortMatches(absl::string_view spec, uint32_t port) {
  if (spec == "any" || spec.empty()) return true;
  for (absl::string_view part : absl::StrSplit(spec, ',')) {
    std::vector<absl::string_view> range = absl::StrSplit(part, ':');
    uint32_t lo = 0, hi = 0;
    if (range.size() == 1 && absl::SimpleAtoi(range[0], &lo) && lo == port) return true;
    if (range.size() == 2 && absl::SimpleAtoi(range[0], &lo) && absl::SimpleAtoi(range[1], &hi) &&
        lo <= port && port <= hi) {
      return true;
    }
  }
  return false;
}

// IPv6 by ufw's configuration, when the ip6tables rules themselves were not
// read: IPV6=no leaves IPv6 unfiltered; otherwise ufw's IPv6 rules
// (user6.rules) in order, then its default incoming policy.
Reach UfwIpv6Path(const v1::UfwState& ufw, const Packet& p) {
  const std::string where = ufw.ipv6_source().empty()
                                ? std::string("IPV6 unset in /etc/default/ufw, ufw's default yes")
                                : absl::StrCat("IPV6=", ufw.ipv6(), " at ", ufw.ipv6_source());
  const std::string note = "ip6tables rules were not read: this is ufw's configuration";
  if (ufw.ipv6() == "no") {
    return Reach{true, absl::StrCat("ufw does not filter IPv6 (", where, "); ", note), "", false};
  }
  for (const v1::UfwRule& r : ufw.rules()) {
    if (!r.v6() || r.direction() != "in") continue;
    if (r.protocol() != "any" && r.protocol() != p.protocol) continue;
    if (!UfwPortMatches(r.port(), p.port)) continue;
    const bool allow = r.action() == "allow" || r.action() == "limit";
    return Reach{allow,
                 absl::StrCat(allow ? "allowed" : "blocked", " by the ufw IPv6 rule at ",
                              r.source(), " (", where, "); ", note),
                 allow ? r.source() : "", allow && r.from() == "::/0"};
  }
  const std::string policy = ufw.default_incoming().empty() ? "DROP" : ufw.default_incoming();
  const bool open = policy == "ACCEPT";
  return Reach{
      open,
      absl::StrCat("ufw's default incoming policy ", policy, " for IPv6 (", where, "); ", note), "",
      false};
}

// INPUT path: iptables filter INPUT, then every native nft input base chain.
Reach InputPath(const v1::FirewallFact& fw, const Packet& p) {
  Reach reach;
  reach.reachable = true;
  std::vector<std::string> passed;
  bool have_iptables = p.v6 ? fw.ip6tables_read() : fw.iptables_read();
  if (have_iptables) {
    Evaluator ev(fw.rules(), fw.chains());
    Decision d = ev.Walk("filter", "INPUT", p);
    std::string policy = ev.Policy("filter", "INPUT", p.v6);
    if (d.decided) {
      if (!d.accept) return Reach{false, absl::StrCat("dropped by ", d.rule), "", false};
      passed.push_back(absl::StrCat("accepted by ", d.rule));
      reach.rule = d.rule;
      reach.any_source_rule = true;
    } else if (policy == "DROP" || policy == "REJECT") {
      return Reach{false, absl::StrCat("INPUT policy ", policy), "", false};
    } else {
      passed.push_back(absl::StrCat("no rule blocks it and the INPUT policy is ",
                                    policy.empty() ? "ACCEPT" : policy));
    }
  }
  // Native nftables input chains (each must let it through).
  for (const v1::IptablesChain& c : fw.nft_chains()) {
    size_t hook = c.chain().find(" hook=input");
    if (hook == std::string::npos) continue;
    if (c.table().rfind("ip6 ", 0) == 0 && !p.v6) continue;
    if (c.table().rfind("ip ", 0) == 0 && p.v6) continue;
    Evaluator ev(fw.nft_rules(), fw.nft_chains());
    std::string name = c.chain().substr(0, hook);
    Packet q = p;
    // nft rules carry v6 only for ip6 tables; inet tables are both.
    if (c.table().rfind("inet ", 0) == 0) q.v6 = false;
    Decision d = ev.Walk(c.table(), name, q);
    if (d.decided && !d.accept) {
      return Reach{false, absl::StrCat("dropped by ", d.rule), "", false};
    }
    if (!d.decided && (c.policy() == "DROP" || c.policy() == "REJECT")) {
      return Reach{false, absl::StrCat("nft chain ", c.table(), " ", name, " policy ", c.policy()),
                   "", false};
    }
    if (d.decided) {
      reach.rule = d.rule;
      reach.any_source_rule = true;
      passed.push_back(absl::StrCat("accepted by ", d.rule));
    } else {
      passed.push_back(absl::StrCat("nft chain ", c.table(), " ", name, " policy accept"));
    }
  }
  if (passed.empty() && !have_iptables && p.v6 && fw.ufw().enabled()) {
    // No ip6tables rules read, no nft chain for IPv6: what ufw's own
    // configuration says it does with IPv6.
    return UfwIpv6Path(fw.ufw(), p);
  }
  if (passed.empty() && !have_iptables) {
    // Nothing was read that could filter it: say which rules are missing
    // instead of leaving the reason empty.
    passed.push_back(p.v6 ? "ip6tables rules were not read (no ip6tables-save output) and no "
                            "nftables chain covers IPv6, so no IPv6 filter is known"
                          : "iptables rules were not read (no iptables-save output) and no "
                            "nftables input chain exists, so no IPv4 filter is known");
  }
  reach.why = absl::StrJoin(passed, "; ");
  return reach;
}

// The Docker path: DNATed before INPUT, then FORWARD -> DOCKER-USER.
Reach DockerPath(const v1::FirewallFact& fw, const v1::DockerPublished& d) {
  Packet p{d.protocol(), d.port(), d.v6()};
  Evaluator ev(fw.rules(), fw.chains());
  Decision user = ev.Walk("filter", "DOCKER-USER", p);
  if (!user.decided) {
    // DOCKER-USER sees the container port after DNAT.
    uint32_t target = 0;
    size_t colon = d.to().rfind(':');
    if (colon != std::string::npos && absl::SimpleAtoi(d.to().substr(colon + 1), &target)) {
      Packet q = p;
      q.port = target;
      user = ev.Walk("filter", "DOCKER-USER", q);
    }
  }
  if (user.decided && !user.accept) {
    return Reach{false,
                 absl::StrCat("published by Docker, but filtered in DOCKER-USER by ", user.rule),
                 "", false};
  }
  return Reach{true,
               absl::StrCat("published by Docker through ", d.chain(), " (", d.origin(),
                            "); bypasses ufw and the INPUT chain, and DOCKER-USER does not "
                            "filter it"),
               "", false};
}

std::set<std::string> AllowedPorts(const EvalContext& ctx) {
  std::set<std::string> allowed = {absl::StrCat(ctx.params.Uint("ssh_port"), "/tcp")};
  for (const std::string& p : ctx.params.List("allowed_ports")) allowed.insert(p);
  return allowed;
}

v1::Verdict PublicExposure(const v1::FactReport& report, const EvalContext& ctx) {
  const v1::FirewallFact& fw = report.firewall();
  v1::Verdict unusable =
      UnusableFact(report, report.sockets(), "listening sockets", "/proc/net/tcp");
  if (unusable.status() != v1::CHECK_STATUS_UNSPECIFIED) return unusable;
  unusable = UnusableFact(report, fw, "firewall rules", "iptables-save, nft, /etc/ufw");
  if (unusable.status() != v1::CHECK_STATUS_UNSPECIFIED) return unusable;
  if (!fw.iptables_read() && !fw.nft_read()) {
    return MakeVerdict(
        v1::UNKNOWN,
        {MakeEvidence("neither iptables-save nor nft could be read, so what Docker publishes "
                      "and what the rules block is unknown",
                      "iptables-save, nft -j list ruleset", "unreadable", "readable")});
  }
  std::set<std::string> allowed = AllowedPorts(ctx);
  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = v1::PASS;
  std::set<std::string> seen;
  auto record = [&](const std::string& port_proto, const std::string& what, const Reach& reach,
                    const std::string& source) {
    if (!reach.reachable) return;
    if (!seen.insert(port_proto + what).second) return;
    if (allowed.count(port_proto)) {
      evidence.push_back(MakeEvidence(absl::StrCat(port_proto, " ", what,
                                                   " is reachable from the internet, as the "
                                                   "policy allows (",
                                                   reach.why, ")"),
                                      source, "allowed", "allowed"));
      return;
    }
    bool cluster = kClusterPorts.count(port_proto) > 0 && reach.any_source_rule;
    if (cluster) {
      status = Worst(status, v1::WARN);
      evidence.push_back(
          Finding(MakeEvidence(absl::StrCat("cluster port ", port_proto, " ", what,
                                            " is open to any source: ", reach.why,
                                            "; restrict it to the swarm nodes' addresses"),
                               source, "open to any source", "swarm nodes only"),
                  {{"port", port_proto}}));
      return;
    }
    status = v1::FAIL;
    evidence.push_back(Finding(
        MakeEvidence(
            absl::StrCat(port_proto, " ", what, " is reachable from the internet: ", reach.why),
            source, "reachable", "not reachable"),
        {{"port", port_proto}}));
  };
  if (!fw.ufw().installed()) {
    // Not a finding by itself: nftables or iptables may do the job.
  } else if (!fw.ufw().enabled()) {
    evidence.push_back(
        MakeEvidence("ufw is installed but inactive", fw.ufw().source(), "inactive", "active"));
  }
  for (const v1::ListeningSocket& s : report.sockets().sockets()) {
    if (s.scope() != v1::PUBLIC && s.scope() != v1::ANY) continue;
    std::string what = absl::StrCat("(", s.process().empty() ? "process unknown" : s.process(),
                                    s.pid() != 0 ? absl::StrCat(" pid ", s.pid()) : "",
                                    ", bound to ", s.address(), ")");
    Packet p{s.protocol(), s.port(), s.v6()};
    record(absl::StrCat(s.port(), "/", s.protocol()), what, InputPath(fw, p), s.source());
    // A socket on :: takes IPv4 too unless bindv6only is set.
    if (s.v6() && s.scope() == v1::ANY && !report.sockets().bindv6only()) {
      Packet v4{s.protocol(), s.port(), false};
      Reach reach = InputPath(fw, v4);
      reach.why = absl::StrCat("over IPv4 (bindv6only is 0): ", reach.why);
      record(absl::StrCat(s.port(), "/", s.protocol()), what + " via IPv4", reach, s.source());
    }
  }
  for (const v1::DockerPublished& d : fw.docker_published()) {
    Reach reach = DockerPath(fw, d);
    std::string what = absl::StrCat("(Docker, to ", d.to(), ")");
    if (!reach.reachable) {
      evidence.push_back(
          MakeEvidence(absl::StrCat(d.port(), "/", d.protocol(), " ", what, " ", reach.why),
                       d.origin(), "filtered", "not reachable"));
      continue;
    }
    record(absl::StrCat(d.port(), "/", d.protocol()), what, reach, d.origin());
  }
  if (status == v1::PASS && evidence.empty()) {
    evidence.push_back(MakeEvidence(
        absl::StrCat("no listening socket or published port is reachable from the internet "
                     "beyond ",
                     absl::StrJoin(allowed, ", ")),
        absl::StrJoin(fw.sources(), ", "), "nothing exposed", "nothing exposed"));
  }
  return MakeVerdict(status, std::move(evidence));
}

}  // namespace

void RegisterFirewallChecks(CheckRegistry& registry) {
  registry.Bind("firewall.public_exposure", PublicExposure);
}

}  // namespace preflight::collector
