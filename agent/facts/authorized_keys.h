// Fact kind "authorized_keys": every key that can open an SSH session, from
// every file sshd would read (AuthorizedKeysFile per account), plus keys left
// in the homes of accounts that no longer exist. Keys are described (type,
// bits, SHA256 fingerprint as ssh-keygen -lf prints it, comment, options);
// there is nothing secret in a public key, but nothing else is sent.
#ifndef PREFLIGHT_AGENT_FACTS_AUTHORIZED_KEYS_H_
#define PREFLIGHT_AGENT_FACTS_AUTHORIZED_KEYS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

struct PublicKeyInfo {
  std::string type;  // as in the blob: ssh-rsa, ssh-ed25519, ...
  uint32_t bits = 0;
  std::string fingerprint;  // "SHA256:<base64 without padding>"
  std::string label;        // ssh-keygen's name: RSA, ECDSA, ED25519, DSA, ECDSA-SK, ED25519-SK
};

// Decodes a base64 public key blob of the given type. INVALID_ARGUMENT when
// the base64 or the blob is malformed or its embedded type differs.
absl::StatusOr<PublicKeyInfo> DescribePublicKey(absl::string_view type, absl::string_view base64);

// Parses an authorized_keys file: each key line becomes an AuthorizedKey
// (account, file, line, options, managed block); other non-comment lines
// become ParseProblems.
void ParseAuthorizedKeys(absl::string_view content, absl::string_view file,
                         absl::string_view account, bool orphan, v1::AuthorizedKeysFact& fact);

// Expands an AuthorizedKeysFile pattern as sshd does: %h home, %u user,
// %U uid, %% a percent sign; a relative result is taken under the home.
std::string ExpandAuthorizedKeysFile(absl::string_view pattern, absl::string_view user,
                                     absl::string_view home, uint32_t uid);

// Reads the accounts and sshd facts (its reads()).
std::unique_ptr<FactCollector> MakeAuthorizedKeysCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_AUTHORIZED_KEYS_H_
