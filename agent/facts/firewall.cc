#include "agent/facts/firewall.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/facts/docker_services.h"

namespace preflight::agent {
namespace {

constexpr size_t kMaxRules = 50'000;
using google::protobuf::Value;

// Splits an iptables-save rule line into words, honouring double quotes.
std::vector<std::string> Words(absl::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, any = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '\\' && quoted && i + 1 < line.size()) {
      cur.push_back(line[++i]);
      continue;
    }
    if (c == '"') {
      quoted = !quoted;
      any = true;
      continue;
    }
    if (!quoted && (c == ' ' || c == '\t')) {
      if (any || !cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      any = false;
      continue;
    }
    cur.push_back(c);
  }
  if (any || !cur.empty()) out.push_back(std::move(cur));
  return out;
}

void Problem(v1::FirewallFact& fact, absl::string_view file, uint32_t line, std::string msg) {
  v1::ParseProblem* p = fact.add_problems();
  p->set_file(std::string(file));
  p->set_line(line);
  p->set_message(std::move(msg));
}

const Value* Get(const Value& v, const std::string& key) {
  if (!v.has_struct_value()) return nullptr;
  auto it = v.struct_value().fields().find(key);
  return it == v.struct_value().fields().end() ? nullptr : &it->second;
}

std::string Scalar(const Value& v) {
  if (v.has_string_value()) return v.string_value();
  if (v.has_number_value()) {
    // nft prints ports and prefix lengths as integers; anything else (a
    // fraction, 1e30, NaN from a hostile file) is shown as the number it is,
    // never cast out of range.
    const double d = v.number_value();
    if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.0e15) {
      return absl::StrCat(static_cast<int64_t>(d));
    }
    return absl::StrCat(d);
  }
  if (v.has_bool_value()) return v.bool_value() ? "true" : "false";
  return "";
}

// nft right-hand values: 22, "ssh", {"set": [...]}, {"range": [a, b]},
// {"prefix": {"addr": .., "len": ..}}.
std::vector<std::string> NftValues(const Value& v) {
  std::vector<std::string> out;
  if (const Value* set = Get(v, "set"); set != nullptr && set->has_list_value()) {
    for (const Value& e : set->list_value().values()) {
      for (std::string& s : NftValues(e)) out.push_back(std::move(s));
    }
  } else if (const Value* range = Get(v, "range");
             range != nullptr && range->list_value().values_size() == 2) {
    out.push_back(absl::StrCat(Scalar(range->list_value().values(0)), ":",
                               Scalar(range->list_value().values(1))));
  } else if (const Value* prefix = Get(v, "prefix"); prefix != nullptr) {
    const Value* addr = Get(*prefix, "addr");
    const Value* len = Get(*prefix, "len");
    if (addr != nullptr && len != nullptr) {
      out.push_back(absl::StrCat(Scalar(*addr), "/", Scalar(*len)));
    }
  } else if (v.has_list_value()) {
    for (const Value& e : v.list_value().values()) {
      for (std::string& s : NftValues(e)) out.push_back(std::move(s));
    }
  } else {
    std::string s = Scalar(v);
    if (!s.empty()) out.push_back(s);
  }
  return out;
}

}  // namespace

void ParseIptablesSave(absl::string_view output, bool v6, absl::string_view origin,
                       v1::FirewallFact& fact) {
  std::string table;
  uint32_t line_no = 0;
  for (absl::string_view raw : absl::StrSplit(output, '\n')) {
    ++line_no;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line[0] == '#' || line == "COMMIT") continue;
    if (line[0] == '*') {
      table = std::string(line.substr(1));
      continue;
    }
    if (line[0] == ':') {
      std::vector<absl::string_view> w = absl::StrSplit(line.substr(1), ' ', absl::SkipEmpty());
      if (w.size() < 2) {
        Problem(fact, origin, line_no, "malformed chain line");
        continue;
      }
      v1::IptablesChain* c = fact.add_chains();
      c->set_table(table);
      c->set_chain(std::string(w[0]));
      c->set_v6(v6);
      c->set_policy(std::string(w[1]));
      continue;
    }
    if (!absl::StartsWith(line, "-A ")) {
      Problem(fact, origin, line_no, "unrecognised iptables-save line");
      continue;
    }
    if (static_cast<size_t>(fact.rules_size()) >= kMaxRules) {
      Problem(fact, origin, line_no, "too many rules; rest ignored");
      break;
    }
    std::vector<std::string> w = Words(line);
    v1::IptablesRule r;
    r.set_table(table);
    r.set_v6(v6);
    r.set_text(std::string(line));
    r.set_origin(absl::StrCat(origin, ":", line_no));
    bool negate = false;
    for (size_t i = 0; i < w.size(); ++i) {
      const std::string& a = w[i];
      auto next = [&]() -> std::string { return i + 1 < w.size() ? w[++i] : std::string(); };
      if (a == "!") {
        negate = true;
        continue;
      }
      if (a == "-A") {
        r.set_chain(next());
      } else if (a == "-p" || a == "--protocol") {
        r.set_protocol(absl::AsciiStrToLower(next()));
        r.set_negated_protocol(negate);
      } else if (a == "-s" || a == "--source") {
        r.set_source(next());
        r.set_negated_source(negate);
      } else if (a == "-d" || a == "--destination") {
        r.set_destination((negate ? "!" : "") + next());
      } else if (a == "-i" || a == "--in-interface") {
        r.set_in_interface((negate ? "!" : "") + next());
      } else if (a == "--dport" || a == "--destination-port") {
        r.add_dports((negate ? "!" : "") + next());
      } else if (a == "--dports" || a == "--destination-ports") {
        std::string list = next();
        for (absl::string_view p : absl::StrSplit(list, ',', absl::SkipEmpty())) {
          r.add_dports((negate ? "!" : "") + std::string(p));
        }
      } else if (a == "--ctstate" || a == "--state") {
        for (absl::string_view s : absl::StrSplit(next(), ',', absl::SkipEmpty())) {
          r.add_states(std::string(s));
        }
      } else if (a == "-j" || a == "--jump" || a == "-g" || a == "--goto") {
        r.set_target(next());
      } else if (a == "--to-destination") {
        r.set_to_destination(next());
      }
      negate = false;
    }
    if (r.table() == "nat" && r.target() == "DNAT" &&
        (r.chain() == "DOCKER" || r.chain() == "DOCKER-INGRESS")) {
      for (const std::string& p : r.dports()) {
        uint32_t port = 0;
        if (!absl::SimpleAtoi(p, &port)) continue;
        std::string protocol = r.protocol().empty() ? "tcp" : r.protocol();
        bool known = false;
        for (const v1::DockerPublished& d : fact.docker_published()) {
          known |= d.port() == port && d.protocol() == protocol && d.v6() == v6 &&
                   d.chain() == r.chain();
        }
        if (known) continue;
        v1::DockerPublished* d = fact.add_docker_published();
        d->set_protocol(r.protocol().empty() ? "tcp" : r.protocol());
        d->set_port(port);
        d->set_to(r.to_destination());
        d->set_chain(r.chain());
        d->set_v6(v6);
        d->set_origin(r.origin());
      }
    }
    *fact.add_rules() = std::move(r);
  }
}

void ParseNftJson(absl::string_view json, bool skip_iptables_tables, v1::FirewallFact& fact) {
  Value root;
  auto st = google::protobuf::util::JsonStringToMessage(std::string(json), &root);
  if (!st.ok()) {
    Problem(fact, "nft -j list ruleset", 0, absl::StrCat("not JSON: ", st.ToString()));
    return;
  }
  const Value* items = Get(root, "nftables");
  if (items == nullptr || !items->has_list_value()) {
    Problem(fact, "nft -j list ruleset", 0, "no \"nftables\" array");
    return;
  }
  auto skipped = [&](const std::string& family, const std::string& table) {
    if (!skip_iptables_tables) return false;
    if (family != "ip" && family != "ip6") return false;
    return table == "filter" || table == "nat" || table == "mangle" || table == "raw" ||
           table == "security";
  };
  // Base chains first: their hook decides whether their rules matter.
  std::set<std::string> wanted;  // family/table/chain of input or forward base chains
  for (const Value& item : items->list_value().values()) {
    const Value* chain = Get(item, "chain");
    if (chain == nullptr) continue;
    std::string family = Get(*chain, "family") ? Scalar(*Get(*chain, "family")) : "";
    std::string table = Get(*chain, "table") ? Scalar(*Get(*chain, "table")) : "";
    std::string name = Get(*chain, "name") ? Scalar(*Get(*chain, "name")) : "";
    if (skipped(family, table)) continue;
    const Value* hook = Get(*chain, "hook");
    std::string key = absl::StrCat(family, "/", table, "/", name);
    v1::IptablesChain* c = fact.add_nft_chains();
    c->set_table(absl::StrCat(family, " ", table));
    c->set_chain(name);
    c->set_v6(family == "ip6");
    c->set_policy(hook == nullptr ? "-"
                                  : (Get(*chain, "policy")
                                         ? absl::AsciiStrToUpper(Scalar(*Get(*chain, "policy")))
                                         : "ACCEPT"));
    if (hook != nullptr) {
      c->set_chain(absl::StrCat(name, " hook=", Scalar(*hook)));
    }
    wanted.insert(key);
  }
  uint32_t index = 0;
  for (const Value& item : items->list_value().values()) {
    const Value* rule = Get(item, "rule");
    if (rule == nullptr) continue;
    ++index;
    std::string family = Get(*rule, "family") ? Scalar(*Get(*rule, "family")) : "";
    std::string table = Get(*rule, "table") ? Scalar(*Get(*rule, "table")) : "";
    std::string chain = Get(*rule, "chain") ? Scalar(*Get(*rule, "chain")) : "";
    if (skipped(family, table)) continue;
    if (static_cast<size_t>(fact.nft_rules_size()) >= kMaxRules) break;
    v1::IptablesRule r;
    r.set_table(absl::StrCat(family, " ", table));
    r.set_chain(chain);
    r.set_v6(family == "ip6");
    r.set_origin(absl::StrCat("nft rule #", index, " in ", family, " ", table, " ", chain));
    std::vector<std::string> text;
    const Value* expr = Get(*rule, "expr");
    if (expr != nullptr) {
      for (const Value& e : expr->list_value().values()) {
        if (const Value* m = Get(e, "match"); m != nullptr) {
          const Value* left = Get(*m, "left");
          const Value* right = Get(*m, "right");
          std::string op = Get(*m, "op") ? Scalar(*Get(*m, "op")) : "==";
          bool neg = op == "!=";
          if (left == nullptr || right == nullptr) continue;
          std::vector<std::string> values = NftValues(*right);
          if (const Value* payload = Get(*left, "payload"); payload != nullptr) {
            std::string proto = Get(*payload, "protocol") ? Scalar(*Get(*payload, "protocol")) : "";
            std::string field = Get(*payload, "field") ? Scalar(*Get(*payload, "field")) : "";
            if (field == "dport") {
              if (proto == "tcp" || proto == "udp") r.set_protocol(proto);
              for (const std::string& v : values) r.add_dports((neg ? "!" : "") + v);
            } else if (field == "saddr") {
              r.set_source(values.empty() ? "" : values[0]);
              r.set_negated_source(neg);
            } else if (field == "daddr") {
              r.set_destination((neg ? "!" : "") + (values.empty() ? "" : values[0]));
            }
            text.push_back(
                absl::StrCat(proto, " ", field, " ", op, " ", absl::StrJoin(values, ",")));
          } else if (const Value* meta = Get(*left, "meta"); meta != nullptr) {
            std::string key = Get(*meta, "key") ? Scalar(*Get(*meta, "key")) : "";
            if (key == "iifname" || key == "iif") {
              r.set_in_interface((neg ? "!" : "") + (values.empty() ? "" : values[0]));
            } else if (key == "l4proto") {
              r.set_protocol(values.empty() ? "" : values[0]);
              r.set_negated_protocol(neg);
            }
            text.push_back(absl::StrCat("meta ", key, " ", op, " ", absl::StrJoin(values, ",")));
          } else if (const Value* ct = Get(*left, "ct"); ct != nullptr) {
            for (const std::string& v : values) r.add_states(absl::AsciiStrToUpper(v));
            text.push_back(absl::StrCat("ct state ", absl::StrJoin(values, ",")));
          } else {
            text.push_back("(other match)");
            r.add_states("UNMODELLED");
          }
        } else if (Get(e, "accept") != nullptr) {
          r.set_target("ACCEPT");
        } else if (Get(e, "drop") != nullptr) {
          r.set_target("DROP");
        } else if (Get(e, "reject") != nullptr) {
          r.set_target("REJECT");
        } else if (const Value* j = Get(e, "jump"); j != nullptr) {
          r.set_target(Get(*j, "target") ? Scalar(*Get(*j, "target")) : "");
        } else if (const Value* g = Get(e, "goto"); g != nullptr) {
          r.set_target(Get(*g, "target") ? Scalar(*Get(*g, "target")) : "");
        } else if (Get(e, "return") != nullptr) {
          r.set_target("RETURN");
        }
      }
    }
    r.set_text(absl::StrJoin(text, " ") + (r.target().empty() ? "" : " " + r.target()));
    *fact.add_nft_rules() = std::move(r);
  }
}

void ParseUfwConf(absl::string_view content, absl::string_view file, v1::UfwState& ufw) {
  ufw.set_installed(true);
  uint32_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (absl::ConsumePrefix(&line, "ENABLED=")) {
      ufw.set_enabled(absl::AsciiStrToLower(absl::StripAsciiWhitespace(line)) == "yes");
      ufw.set_source(absl::StrCat(file, ":", line_no));
    }
  }
}

void ParseUfwDefaults(absl::string_view content, v1::UfwState& ufw) {
  uint32_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (absl::ConsumePrefix(&line, "DEFAULT_INPUT_POLICY=")) {
      std::string v(line);
      v.erase(std::remove(v.begin(), v.end(), '"'), v.end());
      ufw.set_default_incoming(v);
    } else if (absl::ConsumePrefix(&line, "IPV6=")) {
      std::string v(line);
      v.erase(std::remove(v.begin(), v.end(), '"'), v.end());
      ufw.set_ipv6(absl::AsciiStrToLower(v));
      ufw.set_ipv6_source(absl::StrCat("/etc/default/ufw:", line_no));
    }
  }
}

void ParseUfwUserRules(absl::string_view content, absl::string_view file, bool v6,
                       v1::UfwState& ufw) {
  uint32_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_no;
    absl::string_view rest = absl::StripAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&rest, "### tuple ###")) continue;
    // action proto dport dst sport src [dapp sapp] direction
    std::vector<absl::string_view> w = absl::StrSplit(rest, ' ', absl::SkipEmpty());
    if (w.size() < 7) continue;
    v1::UfwRule* r = ufw.add_rules();
    r->set_action(std::string(w[0]));
    r->set_protocol(std::string(w[1]));
    r->set_port(std::string(w[2]));
    r->set_from(std::string(w[5]));
    std::string dir(w.back());
    r->set_direction(absl::StartsWith(dir, "out") ? "out" : "in");
    r->set_v6(v6);
    r->set_source(absl::StrCat(file, ":", line_no));
  }
}

// Ports listed per published range at most: a range wider than this (a
// mistake, or 1-65535) is noted as a problem rather than grown into a fact
// of tens of thousands of entries.
constexpr uint32_t kMaxDockerRangePorts = 1024;

void ParseDockerPorts(absl::string_view output, absl::string_view origin, v1::FirewallFact& fact) {
  uint32_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    ++line_no;
    size_t tab = line.find('\t');
    std::string name(tab == absl::string_view::npos ? "" : line.substr(0, tab));
    absl::string_view ports = tab == absl::string_view::npos ? line : line.substr(tab + 1);
    for (absl::string_view p : absl::StrSplit(ports, ',', absl::SkipEmpty())) {
      p = absl::StripAsciiWhitespace(p);
      size_t arrow = p.find("->");
      if (arrow == absl::string_view::npos) continue;  // exposed, not published
      absl::string_view published = p.substr(0, arrow);
      absl::string_view target = p.substr(arrow + 2);
      size_t slash = target.find('/');
      std::string protocol(slash == absl::string_view::npos ? "tcp" : target.substr(slash + 1));
      size_t colon = published.rfind(':');
      std::string host_ip(colon == absl::string_view::npos ? "" : published.substr(0, colon));
      absl::string_view port_text =
          colon == absl::string_view::npos ? published : published.substr(colon + 1);
      // A range ("8000-8002->8000-8002/tcp") publishes every port of it.
      const size_t dash = port_text.find('-');
      uint32_t first = 0, last = 0;
      if (!absl::SimpleAtoi(port_text.substr(0, dash), &first) || first > 65535) continue;
      last = first;
      if (dash != absl::string_view::npos &&
          (!absl::SimpleAtoi(port_text.substr(dash + 1), &last) || last < first || last > 65535)) {
        continue;
      }
      if (host_ip == "127.0.0.1" || host_ip == "[::1]" || host_ip == "::1") continue;
      bool v6 = absl::StartsWith(host_ip, "::") || absl::StartsWith(host_ip, "[");
      if (last - first >= kMaxDockerRangePorts) {
        Problem(fact, origin, line_no,
                absl::StrCat("published range ", first, "-", last, "/", protocol,
                             " lists only its first ", kMaxDockerRangePorts, " ports"));
        last = first + kMaxDockerRangePorts - 1;
      }
      for (uint32_t port = first; port <= last; ++port) {
        bool known = false;
        for (const v1::DockerPublished& d : fact.docker_published()) {
          known |= d.port() == port && d.protocol() == protocol && d.v6() == v6;
        }
        if (known) continue;
        v1::DockerPublished* d = fact.add_docker_published();
        d->set_protocol(protocol);
        d->set_port(port);
        d->set_to(absl::StrCat(name, " ", target.substr(0, slash)));
        d->set_chain(host_ip == "*" ? "DOCKER-INGRESS" : "DOCKER");
        d->set_v6(v6);
        d->set_origin(absl::StrCat(origin, ":", line_no));
      }
    }
  }
}

std::vector<std::string> ContainerPortsArgv() {
  return {"docker", "ps", "--format", "{{.Names}}\t{{.Ports}}"};
}

namespace {

class FirewallCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "firewall"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::FirewallFact& fact = *report.mutable_firewall();
    v1::Collection* collection = fact.mutable_collection();
    v1::UfwState& ufw = *fact.mutable_ufw();
    auto conf = env.ReadFile("/etc/ufw/ufw.conf", options.max_file_bytes);
    NoteUnreadable(*collection, "/etc/ufw/ufw.conf", conf.status());
    if (conf.ok()) {
      fact.add_sources("/etc/ufw/ufw.conf");
      ParseUfwConf(conf->content, "/etc/ufw/ufw.conf", ufw);
      if (auto d = env.ReadFile("/etc/default/ufw", options.max_file_bytes); d.ok()) {
        fact.add_sources("/etc/default/ufw");
        ParseUfwDefaults(d->content, ufw);
      } else {
        NoteUnreadable(*collection, "/etc/default/ufw", d.status());
      }
      for (auto [path, v6] :
           {std::pair{"/etc/ufw/user.rules", false}, std::pair{"/etc/ufw/user6.rules", true}}) {
        if (auto r = env.ReadFile(path, options.max_file_bytes); r.ok()) {
          fact.add_sources(path);
          ParseUfwUserRules(r->content, path, v6, ufw);
        } else {
          NoteUnreadable(*collection, path, r.status());
        }
      }
      // The running state beats the file (a v2 task ends with ufw disabled).
      if (auto status = env.Run({"ufw", "status", "verbose"}, absl::Seconds(10));
          status.ok() && status->exit_code == 0) {
        fact.add_sources("ufw status verbose");
        if (absl::StrContains(status->out, "Status: inactive")) {
          ufw.set_enabled(false);
          ufw.set_source("ufw status verbose");
        } else if (absl::StrContains(status->out, "Status: active")) {
          ufw.set_enabled(true);
          ufw.set_source("ufw status verbose");
        }
      }
    }
    for (auto [cmd, legacy, v6] : {std::tuple{"iptables-save", "iptables-legacy-save", false},
                                   std::tuple{"ip6tables-save", "ip6tables-legacy-save", true}}) {
      auto out = env.Run({cmd}, absl::Seconds(15));
      // Not installed, or (--root) not recorded: the check says which rules
      // were not read. Any other failure to run it is a read error.
      if (!out.ok() && !absl::IsUnavailable(out.status())) {
        NoteUnreadable(*collection, cmd, out.status());
      }
      if (!out.ok() || out->exit_code != 0) {
        Problem(fact, cmd, 0,
                out.ok() ? absl::StrCat("exited ", out->exit_code, ": ", out->err.substr(0, 200))
                         : std::string(out.status().message()));
        continue;
      }
      fact.add_sources(cmd);
      if (v6) {
        fact.set_ip6tables_read(true);
      } else {
        fact.set_iptables_read(true);
      }
      ParseIptablesSave(out->out, v6, cmd, fact);
      // With the nft backend selected, rules may still sit in the legacy
      // tables (an old Docker or script): both apply to packets.
      auto old = env.Run({legacy}, absl::Seconds(15));
      if (old.ok() && old->exit_code == 0 && old->out != out->out &&
          absl::StrContains(old->out, "\n-A ")) {
        fact.add_sources(legacy);
        ParseIptablesSave(old->out, v6, legacy, fact);
      }
    }
    auto nft = env.Run({"nft", "-j", "list", "ruleset"}, absl::Seconds(15));
    if (!nft.ok() && !absl::IsUnavailable(nft.status())) {
      NoteUnreadable(*collection, "nft -j list ruleset", nft.status());
    }
    if (nft.ok() && nft->exit_code == 0) {
      fact.add_sources("nft -j list ruleset");
      fact.set_nft_read(true);
      ParseNftJson(nft->out, fact.iptables_read(), fact);
    } else {
      Problem(
          fact, "nft -j list ruleset", 0,
          nft.ok() ? absl::StrCat("exited ", nft->exit_code) : std::string(nft.status().message()));
    }
    // Docker's own view, when docker answers (ports not seen in the nat table).
    // `docker service ls` is the argv the "release" and "services" kinds run
    // too (one run per collection); its name and ports columns are read.
    if (auto ls = env.Run(ServiceListArgv(), absl::Seconds(15)); ls.ok() && ls->exit_code == 0) {
      fact.add_sources("docker service ls");
      ParseDockerPorts(ServiceNamesAndPorts(ls->out), "docker service ls", fact);
    }
    if (auto ps = env.Run(ContainerPortsArgv(), absl::Seconds(15)); ps.ok() && ps->exit_code == 0) {
      fact.add_sources("docker ps");
      ParseDockerPorts(ps->out, "docker ps", fact);
    }
    if (!fact.iptables_read() && !fact.nft_read() && !ufw.installed()) {
      collection->set_state(v1::Collection::ERROR);
      collection->set_error("no firewall state readable: no iptables-save, no nft, no ufw files");
      return collection;
    }
    collection->set_state(v1::Collection::OK);
    return collection;
  }
};

}  // namespace

std::unique_ptr<FactCollector> MakeFirewallCollector() {
  return std::make_unique<FirewallCollector>();
}

}  // namespace preflight::agent
