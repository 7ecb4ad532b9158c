#include "agent/facts/sshd_effective.h"

#include <arpa/inet.h>
#include <fnmatch.h>

#include <cstring>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace preflight::agent {
namespace {

enum class Kind {
  kSingle,      // first value wins; one argument
  kSingleList,  // first line wins; all its arguments
  kAccumulate,  // every line adds its arguments
};

struct KeywordSpec {
  const char* name;
  Kind kind;
  const char* default_value;  // space-separated for lists; "" for none
};

// Defaults are OpenSSH 9.2's (Debian 12) compiled-in values.
const KeywordSpec kKeywords[] = {
    {"permitrootlogin", Kind::kSingle, "prohibit-password"},
    {"passwordauthentication", Kind::kSingle, "yes"},
    {"kbdinteractiveauthentication", Kind::kSingle, "yes"},
    {"pubkeyauthentication", Kind::kSingle, "yes"},
    {"permitemptypasswords", Kind::kSingle, "no"},
    {"usepam", Kind::kSingle, "no"},
    {"authenticationmethods", Kind::kSingleList, "any"},
    {"authorizedkeysfile", Kind::kSingleList, ".ssh/authorized_keys .ssh/authorized_keys2"},
    {"authorizedkeyscommand", Kind::kSingleList, "none"},
    {"authorizedkeyscommanduser", Kind::kSingle, "none"},
    {"hostbasedauthentication", Kind::kSingle, "no"},
    {"gssapiauthentication", Kind::kSingle, "no"},
    {"kerberosauthentication", Kind::kSingle, "no"},
    {"maxauthtries", Kind::kSingle, "6"},
    {"requiredrsasize", Kind::kSingle, "1024"},
    {"x11forwarding", Kind::kSingle, "no"},
    {"allowtcpforwarding", Kind::kSingle, "yes"},
    {"permittunnel", Kind::kSingle, "no"},
    {"allowusers", Kind::kAccumulate, ""},
    {"denyusers", Kind::kAccumulate, ""},
    {"allowgroups", Kind::kAccumulate, ""},
    {"denygroups", Kind::kAccumulate, ""},
    {"port", Kind::kAccumulate, "22"},
};

const KeywordSpec* FindSpec(absl::string_view keyword) {
  for (const KeywordSpec& k : kKeywords) {
    if (keyword == k.name) return &k;
  }
  return nullptr;
}

bool Wildcard(absl::string_view s, absl::string_view pattern, bool case_insensitive) {
  std::string str(s), pat(pattern);
  if (case_insensitive) {
    absl::AsciiStrToLower(&str);
    absl::AsciiStrToLower(&pat);
  }
  // OpenSSH patterns know only * and ?; escape fnmatch's other specials.
  std::string escaped;
  for (char c : pat) {
    if (c == '[' || c == ']' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  return fnmatch(escaped.c_str(), str.c_str(), 0) == 0;
}

// Returns 1 match, 0 no match, -1 error.
int MatchCidr(absl::string_view addr, absl::string_view cidr) {
  size_t slash = cidr.find('/');
  std::string net(cidr.substr(0, slash));
  int bits = -1;
  if (slash != absl::string_view::npos && !absl::SimpleAtoi(cidr.substr(slash + 1), &bits)) {
    return -1;
  }
  unsigned char a[16], n[16];
  int len = 0;
  std::string addr_s(addr);
  if (inet_pton(AF_INET, net.c_str(), n) == 1) {
    len = 4;
    if (inet_pton(AF_INET, addr_s.c_str(), a) != 1) return 0;
  } else if (inet_pton(AF_INET6, net.c_str(), n) == 1) {
    len = 16;
    if (inet_pton(AF_INET6, addr_s.c_str(), a) != 1) return 0;
  } else {
    return -1;
  }
  if (bits < 0) bits = len * 8;
  if (bits > len * 8) return -1;
  for (int i = 0; i < len && bits > 0; ++i, bits -= 8) {
    unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
    if ((a[i] & mask) != (n[i] & mask)) return 0;
  }
  return 1;
}

}  // namespace

const std::vector<std::string>& TrackedSshdKeywords() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> v;
    for (const KeywordSpec& k : kKeywords) v.emplace_back(k.name);
    return v;
  }();
  return kNames;
}

std::string CanonicalSshdKeyword(absl::string_view keyword) {
  std::string k = absl::AsciiStrToLower(keyword);
  if (k == "challengeresponseauthentication") return "kbdinteractiveauthentication";
  return k;
}

bool MatchPatternList(absl::string_view s, absl::string_view list, bool case_insensitive) {
  bool positive = false;
  for (absl::string_view p : absl::StrSplit(list, ',')) {
    bool negate = !p.empty() && p[0] == '!';
    if (negate) p.remove_prefix(1);
    if (Wildcard(s, p, case_insensitive)) {
      if (negate) return false;
      positive = true;
    }
  }
  return positive;
}

bool MatchAddressList(absl::string_view addr, absl::string_view list) {
  bool positive = false;
  for (absl::string_view p : absl::StrSplit(list, ',')) {
    bool negate = !p.empty() && p[0] == '!';
    if (negate) p.remove_prefix(1);
    bool hit =
        p.find('/') != absl::string_view::npos ? MatchCidr(addr, p) == 1 : Wildcard(addr, p, true);
    if (hit) {
      if (negate) return false;
      positive = true;
    }
  }
  return positive;
}

bool SshdMatchApplies(absl::string_view criteria, const ConnectionSpec& spec, std::string* error) {
  // sshd accepts "User=root" as well as "User root".
  std::vector<std::string> words;
  for (absl::string_view w : absl::StrSplit(criteria, ' ', absl::SkipEmpty())) {
    size_t eq = w.find('=');
    if (eq != absl::string_view::npos && eq > 0) {
      words.emplace_back(w.substr(0, eq));
      if (eq + 1 < w.size()) words.emplace_back(w.substr(eq + 1));
    } else {
      words.emplace_back(w);
    }
  }
  if (words.empty()) {
    *error = "Match without criteria";
    return false;
  }
  bool result = true;
  for (size_t i = 0; i < words.size(); ++i) {
    std::string attr = absl::AsciiStrToLower(words[i]);
    if (attr == "all") {
      if (words.size() != 1) {
        *error = "'all' cannot be combined with other Match attributes";
        return false;
      }
      return true;
    }
    if (i + 1 >= words.size()) {
      *error = absl::StrCat("Match attribute '", words[i], "' needs an argument");
      return false;
    }
    const std::string& arg = words[++i];
    if (attr == "user") {
      if (!MatchPatternList(spec.user, arg, false)) result = false;
    } else if (attr == "group") {
      bool any = false;
      for (const std::string& g : spec.groups) {
        // A negated group the user is in fails the match.
        bool negated_hit = false;
        for (absl::string_view p : absl::StrSplit(arg, ',')) {
          if (!p.empty() && p[0] == '!' && Wildcard(g, p.substr(1), false)) negated_hit = true;
        }
        if (negated_hit) {
          any = false;
          break;
        }
        if (MatchPatternList(g, arg, false)) any = true;
      }
      if (!any) result = false;
    } else if (attr == "host") {
      if (!MatchPatternList(spec.host, arg, true)) result = false;
    } else if (attr == "address") {
      if (!MatchAddressList(spec.addr, arg)) result = false;
    } else if (attr == "localaddress") {
      if (!MatchAddressList(spec.laddr, arg)) result = false;
    } else if (attr == "localport") {
      uint32_t port = 0;
      if (!absl::SimpleAtoi(arg, &port)) {
        *error = absl::StrCat("invalid LocalPort '", arg, "'");
        return false;
      }
      if (port != spec.lport) result = false;
    } else if (attr == "rdomain") {
      if (!MatchPatternList("default", arg, false)) result = false;
    } else {
      *error = absl::StrCat("unsupported Match attribute '", words[i - 1], "'");
      return false;
    }
  }
  return result;
}

std::string NormalizeSshdValue(absl::string_view keyword, absl::string_view value) {
  std::string v(value);
  const KeywordSpec* spec = FindSpec(keyword);
  if (spec != nullptr && spec->kind == Kind::kSingle && keyword != "authorizedkeyscommanduser") {
    absl::AsciiStrToLower(&v);
  }
  if (keyword == "permitrootlogin" && v == "without-password") v = "prohibit-password";
  if (keyword == "allowtcpforwarding" && v == "all") v = "yes";
  return v;
}

SshdEvaluator::SshdEvaluator(const v1::SshdConfigFact& fact) : fact_(fact) {
  for (const KeywordSpec& k : kKeywords) index_[k.name];
  for (const v1::SshdDirective& d : fact.directives()) {
    if (d.args_size() == 0) continue;
    auto it = index_.find(CanonicalSshdKeyword(d.keyword()));
    if (it != index_.end()) it->second.push_back(&d);
  }
}

// sshd expands a leading ~ in AuthorizedKeysFile when it reads its
// configuration, as its own user: root.
static std::string TildeExpand(absl::string_view keyword, const std::string& v) {
  if (keyword != "authorizedkeysfile" || v.empty() || v[0] != '~') return v;
  if (v == "~") return "/root";
  if (v[1] == '/') return absl::StrCat("/root", v.substr(1));
  size_t slash = v.find('/');
  return absl::StrCat("/home/",
                      v.substr(1, slash == std::string::npos ? std::string::npos : slash - 1),
                      slash == std::string::npos ? "" : v.substr(slash));
}

v1::SshdEffective SshdEvaluator::Compute(const ConnectionSpec& spec) const {
  v1::SshdEffective out;
  out.set_user(spec.user);
  out.set_host(spec.host);
  out.set_addr(spec.addr);
  out.set_local_port(spec.lport);

  // A block matches when its criteria match and so does the block around
  // the Include that read it (parents always come first).
  std::vector<bool> matches(static_cast<size_t>(fact_.match_blocks_size()) + 1, false);
  matches[0] = true;  // the global section
  for (int i = 0; i < fact_.match_blocks_size(); ++i) {
    const v1::SshdMatchBlock& b = fact_.match_blocks(i);
    size_t parent = b.parent();
    std::string error;
    bool hit = (parent < static_cast<size_t>(i) + 1 && matches[parent]) &&
               SshdMatchApplies(b.criteria(), spec, &error);
    matches[static_cast<size_t>(i) + 1] = hit;
    if (hit) out.add_matched_blocks(static_cast<uint32_t>(i) + 1);
  }

  for (const KeywordSpec& k : kKeywords) {
    // Global first, then matched blocks; a matched block's value overrides.
    const v1::SshdDirective* global = nullptr;
    const v1::SshdDirective* matched = nullptr;
    std::vector<const v1::SshdDirective*> accumulated_global, accumulated_match;
    for (const v1::SshdDirective* d : index_.at(k.name)) {
      size_t block = d->match_block();
      if (block >= matches.size() || !matches[block]) continue;
      bool in_match = block != 0;
      if (k.kind == Kind::kAccumulate) {
        (in_match ? accumulated_match : accumulated_global).push_back(d);
      } else if (in_match) {
        if (matched == nullptr) matched = d;
      } else if (global == nullptr) {
        global = d;
      }
    }
    v1::SshdSetting* setting = out.add_settings();
    setting->set_keyword(k.name);
    auto add_default = [&] {
      for (absl::string_view v : absl::StrSplit(k.default_value, ' ', absl::SkipEmpty())) {
        setting->add_values(std::string(v));
      }
      setting->set_source("default");
    };
    if (k.kind == Kind::kAccumulate) {
      const auto& list = accumulated_match.empty() ? accumulated_global : accumulated_match;
      if (list.empty()) {
        add_default();
        continue;
      }
      std::vector<std::string> sources;
      for (const v1::SshdDirective* d : list) {
        for (const std::string& a : d->args()) {
          for (absl::string_view v : absl::StrSplit(a, ' ', absl::SkipEmpty())) {
            setting->add_values(std::string(v));
          }
        }
        sources.push_back(absl::StrCat(d->file(), ":", d->line()));
      }
      setting->set_source(absl::StrJoin(sources, ", "));
      continue;
    }
    const v1::SshdDirective* d = matched != nullptr ? matched : global;
    if (d == nullptr) {
      add_default();
      continue;
    }
    if (k.kind == Kind::kSingle) {
      setting->add_values(NormalizeSshdValue(k.name, d->args(0)));
    } else if (!d->raw_args().empty() && absl::AsciiStrToLower(d->args(0)) != "none") {
      setting->add_values(d->raw_args());  // kept verbatim, as sshd does
    } else {
      for (const std::string& a : d->args()) setting->add_values(TildeExpand(k.name, a));
    }
    setting->set_source(absl::StrCat(d->file(), ":", d->line()));
  }
  return out;
}

v1::SshdEffective ComputeSshdEffective(const v1::SshdConfigFact& fact, const ConnectionSpec& spec) {
  return SshdEvaluator(fact).Compute(spec);
}

}  // namespace preflight::agent
