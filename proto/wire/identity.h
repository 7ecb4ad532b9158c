// Peer identity: the single URI SAN of a certificate, in SPIFFE form
// spiffe://<trust-domain>/<kind>/<name>.
#ifndef PREFLIGHT_PROTO_WIRE_IDENTITY_H_
#define PREFLIGHT_PROTO_WIRE_IDENTITY_H_

#include <grpcpp/security/auth_context.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace preflight {

struct PeerIdentity {
  enum class Kind { kHost, kOperator, kAuditor, kCollector };
  Kind kind = Kind::kHost;
  std::string trust_domain;
  std::string name;  // host id, operator or auditor name; empty for kCollector

  // "host/prod-01", "operator/alice", ...
  std::string ToString() const;
};

absl::string_view KindName(PeerIdentity::Kind kind);

// Parses "spiffe://td/host/prod-01". Names are 1..63 characters of
// [A-Za-z0-9._-] starting with a letter or digit.
absl::StatusOr<PeerIdentity> ParseSpiffeId(absl::string_view uri);

// The identity of a PEM certificate: it must carry exactly one URI SAN, and
// that URI must be a valid SPIFFE id.
absl::StatusOr<PeerIdentity> IdentityFromPem(absl::string_view pem);

// The identity of the authenticated peer of a gRPC call (mutual TLS), checked
// against the expected trust domain. UNAUTHENTICATED when there is no client
// certificate or it names another trust domain.
absl::StatusOr<PeerIdentity> IdentityFromAuthContext(const grpc::AuthContext& context,
                                                     absl::string_view trust_domain);

}  // namespace preflight

#endif  // PREFLIGHT_PROTO_WIRE_IDENTITY_H_
