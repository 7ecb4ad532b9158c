// SHA-256 of a byte string, as the 32 raw bytes: the one digest the collector
// uses for the audit chain, report fingerprints, per-kind content hashes and
// the TLS files' fingerprints in the audit trail. Callers cut or encode it.
#ifndef PREFLIGHT_PROTO_WIRE_SHA256_H_
#define PREFLIGHT_PROTO_WIRE_SHA256_H_

#include <openssl/sha.h>

#include <string>

#include "absl/strings/string_view.h"

namespace preflight {

inline std::string Sha256(absl::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

}  // namespace preflight

#endif  // PREFLIGHT_PROTO_WIRE_SHA256_H_
