// The effective sshd configuration for one connection, computed the way sshd
// computes it: compiled-in defaults, the global section with the first value
// winning, then every Match block that matches the connection (again first
// value wins), overriding the global value. Pure; no host access.
#ifndef PREFLIGHT_AGENT_FACTS_SSHD_EFFECTIVE_H_
#define PREFLIGHT_AGENT_FACTS_SSHD_EFFECTIVE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::agent {

// What sshd knows about a connection when it evaluates Match.
struct ConnectionSpec {
  std::string user;
  std::vector<std::string> groups;  // every group the user is in
  std::string host;                 // remote host name (or address)
  std::string addr;                 // remote address
  std::string laddr;                // local address
  uint32_t lport = 22;
};

// The keywords computed (lower-case canonical names), in output order.
const std::vector<std::string>& TrackedSshdKeywords();

// Canonical keyword for an alias (challengeresponseauthentication ->
// kbdinteractiveauthentication); other keywords unchanged.
std::string CanonicalSshdKeyword(absl::string_view keyword);

// Whether the arguments of a Match line match the connection. Sets *error
// (and returns false) for a malformed line.
bool SshdMatchApplies(absl::string_view criteria, const ConnectionSpec& spec, std::string* error);

// OpenSSH's pattern-list matching: comma-separated wildcard patterns (* ?),
// '!' negates; a negated match fails the whole list.
bool MatchPatternList(absl::string_view s, absl::string_view list, bool case_insensitive);
// Address list matching: patterns or CIDR (IPv4/IPv6), '!' negates.
bool MatchAddressList(absl::string_view addr, absl::string_view list);

// Computes effective settings for many connections of one configuration:
// the directives are indexed by keyword once. `fact` must outlive it.
class SshdEvaluator {
 public:
  explicit SshdEvaluator(const v1::SshdConfigFact& fact);
  // The effective settings of every tracked keyword for `spec`.
  v1::SshdEffective Compute(const ConnectionSpec& spec) const;

 private:
  const v1::SshdConfigFact& fact_;
  std::map<std::string, std::vector<const v1::SshdDirective*>> index_;
};

// SshdEvaluator(fact).Compute(spec).
v1::SshdEffective ComputeSshdEffective(const v1::SshdConfigFact& fact, const ConnectionSpec& spec);

// Normalises a value the way `sshd -T` prints it, for comparison
// (lower-case yes/no style values; without-password == prohibit-password).
std::string NormalizeSshdValue(absl::string_view keyword, absl::string_view value);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_SSHD_EFFECTIVE_H_
