// The collector's own check of a client certificate at the TLS handshake.
//
// gRPC's SslServerCredentials refuses a certificate from another CA (or an
// expired one) inside the handshake and logs only "Handshake failed", with no
// peer and nothing the collector can audit. So the server asks for a client
// certificate without letting gRPC judge it, and this verifier does the
// judging: the chain must lead to one of the CA certificates in ca_file, as
// OpenSSL's X509_verify_cert sees it for a TLS client (purpose sslclient,
// validity at the current time). Every refusal is handed to a sink with what
// the certificate says about itself (subject, serial, issuer) and the reason;
// gRPC 1.51 does not expose the peer address to a verifier.
#ifndef PREFLIGHT_PROTO_WIRE_TLS_VERIFIER_H_
#define PREFLIGHT_PROTO_WIRE_TLS_VERIFIER_H_

#include <openssl/x509.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace preflight {

// A client certificate refused at the handshake.
struct TlsRefusal {
  std::string subject;  // RFC 2253, "" when no certificate was presented
  std::string serial;   // upper-case hex
  std::string issuer;   // RFC 2253
  std::string reason;   // e.g. "unable to get local issuer certificate"
  // One line for a log or an audit entry.
  std::string ToString() const;
};

// Called on a gRPC handshake thread: it must be fast and must not block on
// disk (post the audit elsewhere).
using TlsRefusalSink = std::function<void(const TlsRefusal&)>;

// Checks PEM client certificates against a CA bundle. Thread-safe.
class ClientChainVerifier {
 public:
  // `ca_pem`: one or more CA certificates.
  static absl::StatusOr<ClientChainVerifier> Create(absl::string_view ca_pem);

  // OK when `leaf_pem` (with `chain_pem`: the peer's full chain, the leaf
  // first or not at all) chains to a CA of the bundle; otherwise a refusal
  // saying why and naming the certificate.
  absl::Status Verify(absl::string_view leaf_pem, absl::string_view chain_pem,
                      TlsRefusal* refusal) const;

 private:
  explicit ClientChainVerifier(std::shared_ptr<X509_STORE> store) : store_(std::move(store)) {}
  // The CA certificates, parsed once; shared by every handshake (OpenSSL
  // locks a store inside, as it does for an SSL_CTX's).
  std::shared_ptr<X509_STORE> store_;
};

}  // namespace preflight

#endif  // PREFLIGHT_PROTO_WIRE_TLS_VERIFIER_H_
