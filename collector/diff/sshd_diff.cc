// [sshd] What changed in the sshd configuration: the effective value per
// login user first ("PermitRootLogin for root: no (sshd_config:32) → yes
// (sshd_config.d/99-debug.conf:1)"), then the lines as written (keyword, Match
// block, file:line), Match blocks, files read, and sshd -T disagreements.
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/diff/renderer.h"

namespace preflight::collector::diff {
namespace {

// sshd_config(5) spelling of the keywords the agent stores lower-cased.
std::string KeywordName(absl::string_view lower) {
  static const auto* const kNames = [] {
    auto* m = new std::map<std::string, std::string, std::less<>>();
    for (const char* name : {"AcceptEnv",
                             "AddressFamily",
                             "AllowAgentForwarding",
                             "AllowGroups",
                             "AllowStreamLocalForwarding",
                             "AllowTcpForwarding",
                             "AllowUsers",
                             "AuthenticationMethods",
                             "AuthorizedKeysCommand",
                             "AuthorizedKeysCommandUser",
                             "AuthorizedKeysFile",
                             "AuthorizedPrincipalsFile",
                             "Banner",
                             "ChallengeResponseAuthentication",
                             "ChrootDirectory",
                             "Ciphers",
                             "ClientAliveCountMax",
                             "ClientAliveInterval",
                             "Compression",
                             "DenyGroups",
                             "DenyUsers",
                             "DisableForwarding",
                             "ForceCommand",
                             "GatewayPorts",
                             "GSSAPIAuthentication",
                             "HostbasedAuthentication",
                             "HostKey",
                             "HostKeyAlgorithms",
                             "Include",
                             "KbdInteractiveAuthentication",
                             "KerberosAuthentication",
                             "KexAlgorithms",
                             "ListenAddress",
                             "LoginGraceTime",
                             "LogLevel",
                             "MACs",
                             "Match",
                             "MaxAuthTries",
                             "MaxSessions",
                             "MaxStartups",
                             "PasswordAuthentication",
                             "PermitEmptyPasswords",
                             "PermitOpen",
                             "PermitRootLogin",
                             "PermitTTY",
                             "PermitTunnel",
                             "PermitUserEnvironment",
                             "Port",
                             "PrintLastLog",
                             "PrintMotd",
                             "PubkeyAcceptedAlgorithms",
                             "PubkeyAcceptedKeyTypes",
                             "PubkeyAuthentication",
                             "RequiredRSASize",
                             "Subsystem",
                             "SyslogFacility",
                             "TCPKeepAlive",
                             "TrustedUserCAKeys",
                             "UseDNS",
                             "UsePAM",
                             "X11Forwarding"}) {
      m->emplace(absl::AsciiStrToLower(name), name);
    }
    return m;
  }();
  auto it = kNames->find(lower);
  return it == kNames->end() ? std::string(lower) : it->second;
}

// Paths under the main file's directory are shown relative to it, as sshd's
// own messages and the issue do: "sshd_config.d/99-debug.conf:1".
class Paths {
 public:
  explicit Paths(const v1::SshdConfigFact& fact) {
    const std::string& main = fact.main_file().empty() ? kDefault : fact.main_file();
    const size_t slash = main.rfind('/');
    if (slash != std::string::npos) dir_ = main.substr(0, slash + 1);
  }
  std::string Short(absl::string_view path) const {
    if (!dir_.empty() && absl::StartsWith(path, dir_)) return std::string(path.substr(dir_.size()));
    return std::string(path);
  }

 private:
  static constexpr char kDefault[] = "/etc/ssh/sshd_config";
  std::string dir_;
};

std::string Args(const v1::SshdDirective& d) {
  return d.raw_args().empty() ? absl::StrJoin(d.args(), " ") : d.raw_args();
}

// " (Match User alice)" for a directive inside a Match block.
std::string Context(const v1::SshdConfigFact& fact, uint32_t block) {
  if (block == 0 || block > static_cast<uint32_t>(fact.match_blocks_size())) return "";
  return absl::StrCat(" (Match ", fact.match_blocks(static_cast<int>(block) - 1).criteria(), ")");
}

std::string Source(const Paths& paths, const v1::SshdSetting& s) {
  return s.source().empty() ? "unset" : paths.Short(s.source());
}

// "alice", or "alice from 10.0.0.1" when the fact holds several connections
// of one user.
std::string Who(const v1::SshdConfigFact& fact, const v1::SshdEffective& e) {
  int n = 0;
  for (const v1::SshdEffective& x : fact.effective()) n += x.user() == e.user();
  return n <= 1 ? e.user() : absl::StrCat(e.user(), " from ", e.addr());
}

void EffectiveLines(const v1::SshdConfigFact& before, const v1::SshdConfigFact& after, Lines& out) {
  const Paths pb(before), pa(after);
  // One line per distinct change, naming every user it applies to.
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::string>> users;  // change text -> users
  std::map<std::string, std::string> keyword_of;
  auto note = [&](const std::string& keyword, const std::string& change, const std::string& who) {
    if (!users.count(change)) {
      order.push_back(change);
      keyword_of[change] = keyword;
    }
    users[change].push_back(who);
  };
  KeyedDiff(
      before.effective(), after.effective(),
      [](const v1::SshdEffective& e) {
        return absl::StrCat(e.user(), "\n", e.host(), "\n", e.addr(), "\n", e.local_port());
      },
      [&](const v1::SshdEffective& e) {
        if (!before.effective().empty()) {
          out.push_back(absl::StrCat("added: effective settings for ", Who(after, e)));
        }
      },
      [&](const v1::SshdEffective& e) {
        out.push_back(absl::StrCat("removed: effective settings for ", Who(before, e)));
      },
      [&](const v1::SshdEffective& a, const v1::SshdEffective& b) {
        std::map<std::string, const v1::SshdSetting*> old, now;
        for (const v1::SshdSetting& s : a.settings()) old.emplace(s.keyword(), &s);
        for (const v1::SshdSetting& s : b.settings()) now.emplace(s.keyword(), &s);
        std::set<std::string> keywords;
        for (const auto& [k, s] : old) keywords.insert(k);
        for (const auto& [k, s] : now) keywords.insert(k);
        for (const std::string& k : keywords) {
          // PermitRootLogin is computed for everyone but applies to root only.
          if (k == "permitrootlogin" && b.user() != "root") continue;
          const v1::SshdSetting* x = old.count(k) ? old[k] : nullptr;
          const v1::SshdSetting* y = now.count(k) ? now[k] : nullptr;
          const std::string xv = x == nullptr ? "(unset)" : absl::StrJoin(x->values(), " ");
          const std::string yv = y == nullptr ? "(unset)" : absl::StrJoin(y->values(), " ");
          const std::string xs = x == nullptr ? "" : Source(pb, *x);
          const std::string ys = y == nullptr ? "" : Source(pa, *y);
          // A value that stays, from a line that moved within its file, is no change.
          const bool same_file = xs.substr(0, xs.rfind(':')) == ys.substr(0, ys.rfind(':'));
          if (xv == yv && same_file) continue;
          note(k,
               Arrow(x == nullptr ? xv : absl::StrCat(OrNone(xv), " (", xs, ")"),
                     y == nullptr ? yv : absl::StrCat(OrNone(yv), " (", ys, ")")),
               Who(after, b));
        }
      });
  for (const std::string& change : order) {
    out.push_back(absl::StrCat(KeywordName(keyword_of[change]), " for ",
                               absl::StrJoin(users[change], ", "), ": ", change));
  }
}

void DirectiveLines(const v1::SshdConfigFact& before, const v1::SshdConfigFact& after, Lines& out) {
  const Paths pb(before), pa(after);
  // Pairs by (file, Match block, keyword); the Match block is named by its
  // criteria, which need the fact the directive belongs to.
  // Match lines are directives too; the Match blocks have their own lines.
  google::protobuf::RepeatedPtrField<v1::SshdDirective> a, b;
  for (const v1::SshdDirective& d : before.directives()) {
    if (d.keyword() != "match") *a.Add() = d;
  }
  for (const v1::SshdDirective& d : after.directives()) {
    if (d.keyword() != "match") *b.Add() = d;
  }
  std::map<const v1::SshdDirective*, std::string> keys;
  for (const auto& [fact, directives] : {std::pair{&before, &a}, std::pair{&after, &b}}) {
    for (const v1::SshdDirective& d : *directives) {
      keys[&d] = absl::StrCat(d.file(), "\n", Context(*fact, d.match_block()), "\n", d.keyword());
    }
  }
  KeyedDiff(
      a, b, [&](const v1::SshdDirective& d) { return keys[&d]; },
      [&](const v1::SshdDirective& d) {
        out.push_back(absl::StrCat("added: ", KeywordName(d.keyword()), " ", Args(d), " at ",
                                   pa.Short(d.file()), ":", d.line(),
                                   Context(after, d.match_block())));
      },
      [&](const v1::SshdDirective& d) {
        out.push_back(absl::StrCat("removed: ", KeywordName(d.keyword()), " ", Args(d), " at ",
                                   pb.Short(d.file()), ":", d.line(),
                                   Context(before, d.match_block())));
      },
      [&](const v1::SshdDirective& x, const v1::SshdDirective& y) {
        if (Args(x) == Args(y)) return;
        out.push_back(absl::StrCat("changed: ", KeywordName(y.keyword()), " ",
                                   Arrow(Args(x), Args(y)), " at ", pa.Short(y.file()), ":",
                                   y.line(), Context(after, y.match_block())));
      });
}

}  // namespace

void RenderSshd(const v1::SshdConfigFact& before, const v1::SshdConfigFact& after, Lines& out) {
  CollectionLines(before.collection(), after.collection(), out);
  if (before.main_file() != after.main_file()) {
    out.push_back(absl::StrCat("changed: main file ",
                               Arrow(OrNone(before.main_file()), OrNone(after.main_file()))));
  }
  EffectiveLines(before, after, out);
  DirectiveLines(before, after, out);
  const Paths pb(before), pa(after);
  KeyedDiff(
      before.match_blocks(), after.match_blocks(),
      [](const v1::SshdMatchBlock& m) { return absl::StrCat(m.file(), "\n", m.criteria()); },
      [&](const v1::SshdMatchBlock& m) {
        out.push_back(
            absl::StrCat("added: Match ", m.criteria(), " at ", pa.Short(m.file()), ":", m.line()));
      },
      [&](const v1::SshdMatchBlock& m) {
        out.push_back(absl::StrCat("removed: Match ", m.criteria(), " at ", pb.Short(m.file()), ":",
                                   m.line()));
      },
      [](const v1::SshdMatchBlock&, const v1::SshdMatchBlock&) {});
  SetLines("file read:", before.files(), after.files(), out);
  ProblemLines(before.problems(), after.problems(), out);
  // sshd -T, the oracle: whether it ran, and where it disagrees with us.
  for (const std::string& c : ScalarChanges(before.oracle(), after.oracle())) {
    out.push_back(absl::StrCat("changed: sshd -T ", c));
  }
  auto oracle_diff = [](const v1::SshdOracleDiff& d) {
    return absl::StrCat("sshd -T disagrees for ", d.user(), " on ", KeywordName(d.keyword()),
                        ": ours ", OrNone(d.ours()), ", sshd ", OrNone(d.sshd()));
  };
  KeyedDiff(
      before.oracle().diffs(), after.oracle().diffs(),
      [&](const v1::SshdOracleDiff& d) { return oracle_diff(d); },
      [&](const v1::SshdOracleDiff& d) { out.push_back(absl::StrCat("added: ", oracle_diff(d))); },
      [&](const v1::SshdOracleDiff& d) {
        out.push_back(absl::StrCat("removed: ", oracle_diff(d)));
      },
      [](const v1::SshdOracleDiff&, const v1::SshdOracleDiff&) {});
  SetLines("sshd -T error:", before.oracle().errors(), after.oracle().errors(), out);
}

}  // namespace preflight::collector::diff
