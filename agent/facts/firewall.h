// Fact kind "firewall": ufw (its files, and `ufw status verbose` when live),
// iptables and ip6tables (iptables-save: filter and nat tables), native
// nftables (`nft -j list ruleset`), and the ports Docker publishes through
// its nat chains, which ufw never sees. Under --root, recorded command
// outputs stand in (see RootedHostEnv::Run).
#ifndef PREFLIGHT_AGENT_FACTS_FIREWALL_H_
#define PREFLIGHT_AGENT_FACTS_FIREWALL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// Parses iptables-save output (any tables) into chains and rules; DNAT rules
// of the nat DOCKER / DOCKER-INGRESS chains also become DockerPublished.
void ParseIptablesSave(absl::string_view output, bool v6, absl::string_view origin,
                       v1::FirewallFact& fact);

// Parses `nft -j list ruleset`: base chains hooked at input/forward (and
// their rules, converted to IptablesRule) of every table except the
// iptables-nft compatibility tables when `skip_iptables_tables`.
void ParseNftJson(absl::string_view json, bool skip_iptables_tables, v1::FirewallFact& fact);

// ufw's own files: ENABLED= from ufw.conf, DEFAULT_INPUT_POLICY from
// /etc/default/ufw, rules from the "### tuple ###" lines of user(6).rules.
void ParseUfwConf(absl::string_view content, absl::string_view file, v1::UfwState& ufw);
void ParseUfwDefaults(absl::string_view content, v1::UfwState& ufw);
void ParseUfwUserRules(absl::string_view content, absl::string_view file, bool v6,
                       v1::UfwState& ufw);

// Ports from `docker ps --format '{{.Names}}\t{{.Ports}}'` or
// `docker service ls --format '{{.Name}}\t{{.Ports}}'` lines, such as
// "traefik\t0.0.0.0:443->443/tcp, :::443->443/tcp" or
// "opencrvs_logstash\t*:12201->12201/tcp, *:12201->12201/udp". Ports already
// known from the nat table are not added twice.
void ParseDockerPorts(absl::string_view output, absl::string_view origin, v1::FirewallFact& fact);

// The firewall kind's container listing: every running container's names
// and published ports, `docker ps --format '{{.Names}}\t{{.Ports}}'`.
std::vector<std::string> ContainerPortsArgv();

std::unique_ptr<FactCollector> MakeFirewallCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_FIREWALL_H_
