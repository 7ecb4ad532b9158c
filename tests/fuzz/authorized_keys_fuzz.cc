// Fuzz target: an authorized_keys file through ParseAuthorizedKeys, and the
// same bytes as an AuthorizedKeysFile pattern through ExpandAuthorizedKeysFile.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "agent/facts/authorized_keys.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace v1 = preflight::v1;
  using preflight::agent::DescribePublicKey;
  using preflight::agent::ExpandAuthorizedKeysFile;
  using preflight::agent::ParseAuthorizedKeys;

  const absl::string_view content(reinterpret_cast<const char*>(data), size);
  v1::AuthorizedKeysFact fact;
  ParseAuthorizedKeys(content, "/home/alice/.ssh/authorized_keys", "alice", false, fact);
  for (const v1::AuthorizedKey& k : fact.keys()) {
    PREFLIGHT_FUZZ_CHECK(k.line() >= 1);
    PREFLIGHT_FUZZ_CHECK(absl::StartsWith(k.fingerprint(), "SHA256:"));
    PREFLIGHT_FUZZ_CHECK(k.fingerprint().size() == 7 + 43);
    PREFLIGHT_FUZZ_CHECK(!k.type().empty());
  }
  for (const v1::ParseProblem& p : fact.problems()) PREFLIGHT_FUZZ_CHECK(!p.message().empty());

  // The whole input as one base64 blob of each type.
  for (absl::string_view type : {"ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-dss"}) {
    auto info = DescribePublicKey(type, content);
    if (info.ok()) PREFLIGHT_FUZZ_CHECK(info->type == type);
  }

  std::string path = ExpandAuthorizedKeysFile(content, "alice", "/home/alice", 1001);
  PREFLIGHT_FUZZ_CHECK(!path.empty() && path[0] == '/');
  return 0;
}
