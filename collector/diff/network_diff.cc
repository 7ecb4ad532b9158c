// [sockets] [firewall] Ports and rules: a listening socket by protocol,
// address and port (its process id and inode change on every restart and
// are not shown); ufw, iptables and nft rules as written, by table and chain;
// chain policies; the ports Docker publishes past ufw.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/diff/renderer.h"

namespace preflight::collector::diff {
namespace {

std::string Endpoint(const v1::ListeningSocket& s) {
  return absl::StrCat(s.protocol(), s.v6() ? "6 [" : " ", s.address(), s.v6() ? "]:" : ":",
                      s.port());
}

std::string Scope(v1::AddressScope scope) {
  switch (scope) {
    case v1::LOOPBACK:
      return "loopback only";
    case v1::PRIVATE:
      return "private address";
    case v1::PUBLIC:
      return "public address";
    case v1::ANY:
      return "every interface";
    default:
      return "scope unknown";
  }
}

std::string Process(const v1::ListeningSocket& s) {
  return s.process().empty() ? "process unknown" : absl::StrCat("by ", s.process());
}

std::string Socket(const v1::ListeningSocket& s) {
  return absl::StrCat(Endpoint(s), " (", Scope(s.scope()), ") ", Process(s), " (", s.source(), ")");
}

std::string UfwRule(const v1::UfwRule& r) {
  return absl::StrCat(r.action(), " ", r.direction(), " ", r.protocol(), " port ", r.port(),
                      " from ", r.from(), r.v6() ? " (v6)" : "");
}

std::string ChainName(absl::string_view tool, const v1::IptablesChain& c) {
  return absl::StrCat(tool, c.v6() && tool == "iptables" ? " (v6)" : "", " ", c.table(), " ",
                      c.chain());
}

void ChainLines(absl::string_view tool,
                const google::protobuf::RepeatedPtrField<v1::IptablesChain>& before,
                const google::protobuf::RepeatedPtrField<v1::IptablesChain>& after, Lines& out) {
  KeyedDiff(
      before, after,
      [](const v1::IptablesChain& c) {
        return absl::StrCat(c.table(), "\n", c.chain(), "\n", c.v6());
      },
      [&](const v1::IptablesChain& c) {
        out.push_back(
            absl::StrCat("added: chain ", ChainName(tool, c), " policy ", OrNone(c.policy())));
      },
      [&](const v1::IptablesChain& c) {
        out.push_back(absl::StrCat("removed: chain ", ChainName(tool, c)));
      },
      [&](const v1::IptablesChain& a, const v1::IptablesChain& b) {
        if (a.policy() == b.policy()) return;
        out.push_back(absl::StrCat("changed: ", ChainName(tool, b), " policy ",
                                   Arrow(OrNone(a.policy()), OrNone(b.policy()))));
      });
}

void RuleLines(absl::string_view tool,
               const google::protobuf::RepeatedPtrField<v1::IptablesRule>& before,
               const google::protobuf::RepeatedPtrField<v1::IptablesRule>& after, Lines& out) {
  auto name = [&](const v1::IptablesRule& r) {
    return absl::StrCat(tool, r.v6() && tool == "iptables" ? " (v6)" : "", " ", r.table(), " ",
                        r.chain(), ": ", r.text(), r.origin().empty() ? "" : " (", r.origin(),
                        r.origin().empty() ? "" : ")");
  };
  KeyedDiff(
      before, after,
      [](const v1::IptablesRule& r) {
        return absl::StrCat(r.table(), "\n", r.chain(), "\n", r.v6(), "\n", r.text());
      },
      [&](const v1::IptablesRule& r) { out.push_back(absl::StrCat("added: rule ", name(r))); },
      [&](const v1::IptablesRule& r) { out.push_back(absl::StrCat("removed: rule ", name(r))); },
      [](const v1::IptablesRule&, const v1::IptablesRule&) {});
}

}  // namespace

void RenderSockets(const v1::SocketsFact& before, const v1::SocketsFact& after, Lines& out) {
  CollectionLines(before.collection(), after.collection(), out);
  KeyedDiff(
      before.sockets(), after.sockets(), [](const v1::ListeningSocket& s) { return Endpoint(s); },
      [&](const v1::ListeningSocket& s) {
        out.push_back(absl::StrCat("added: listening ", Socket(s)));
      },
      [&](const v1::ListeningSocket& s) {
        out.push_back(absl::StrCat("removed: listening ", Socket(s)));
      },
      [&](const v1::ListeningSocket& a, const v1::ListeningSocket& b) {
        if (a.process() == b.process()) return;
        out.push_back(absl::StrCat("changed: ", Endpoint(b), " process ",
                                   Arrow(OrNone(a.process()), OrNone(b.process())), " (",
                                   b.source(), ")"));
      });
  if (before.bindv6only() != after.bindv6only()) {
    out.push_back(absl::StrCat(
        "changed: net.ipv6.bindv6only ",
        Arrow(YesNo(before.bindv6only()), YesNo(after.bindv6only())),
        after.bindv6only() ? " (:: no longer accepts IPv4)" : " (:: accepts IPv4 too)"));
  }
  ProblemLines(before.problems(), after.problems(), out);
}

void RenderFirewall(const v1::FirewallFact& before, const v1::FirewallFact& after, Lines& out) {
  CollectionLines(before.collection(), after.collection(), out);
  const v1::UfwState &ua = before.ufw(), &ub = after.ufw();
  for (const std::string& c : ScalarChanges(ua, ub, {"source", "ipv6_source"})) {
    const bool ipv6 = absl::StartsWith(c, "ipv6 ");
    const std::string& where = ipv6 ? ub.ipv6_source() : ub.source();
    out.push_back(absl::StrCat("changed: ufw ", c, where.empty() ? "" : " (", where,
                               where.empty() ? "" : ")"));
  }
  KeyedDiff(
      ua.rules(), ub.rules(), [](const v1::UfwRule& r) { return UfwRule(r); },
      [&](const v1::UfwRule& r) {
        out.push_back(absl::StrCat("added: ufw rule ", UfwRule(r), " (", r.source(), ")"));
      },
      [&](const v1::UfwRule& r) {
        out.push_back(absl::StrCat("removed: ufw rule ", UfwRule(r), " (", r.source(), ")"));
      },
      [](const v1::UfwRule&, const v1::UfwRule&) {});
  for (const std::string& c : ScalarChanges(before, after)) {
    out.push_back(absl::StrCat("changed: ", c));  // iptables_read, ip6tables_read, nft_read
  }
  ChainLines("iptables", before.chains(), after.chains(), out);
  RuleLines("iptables", before.rules(), after.rules(), out);
  ChainLines("nft", before.nft_chains(), after.nft_chains(), out);
  RuleLines("nft", before.nft_rules(), after.nft_rules(), out);
  auto published = [](const v1::DockerPublished& p) {
    return absl::StrCat(p.protocol(), p.v6() ? "6" : "", " port ", p.port(), " → ", p.to(), " (",
                        p.chain(), p.origin().empty() ? "" : ", ", p.origin(), ")");
  };
  KeyedDiff(
      before.docker_published(), after.docker_published(),
      [](const v1::DockerPublished& p) {
        return absl::StrCat(p.protocol(), "\n", p.port(), "\n", p.v6(), "\n", p.chain(), "\n",
                            p.to());
      },
      [&](const v1::DockerPublished& p) {
        out.push_back(
            absl::StrCat("added: Docker publishes ", published(p), ", past ufw's INPUT rules"));
      },
      [&](const v1::DockerPublished& p) {
        out.push_back(absl::StrCat("removed: Docker publishes ", published(p)));
      },
      [](const v1::DockerPublished&, const v1::DockerPublished&) {});
  SetLines("source", before.sources(), after.sources(), out);
  ProblemLines(before.problems(), after.problems(), out);
}

}  // namespace preflight::collector::diff
