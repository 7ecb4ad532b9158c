// Fact kind "tls": the certificates the web entry point serves or stores
// (checklist item 3). Sources: Traefik's ACME store (acme.json), static
// certificate files (*.crt, *.pem, *.cert) in the configured directories, and,
// on a live host, a TLS handshake with SNI for every configured hostname.
// Each certificate is described (names, issuer, validity, key, fingerprint,
// chain verification); private keys are never decoded, parsed or reported.
#ifndef PREFLIGHT_AGENT_FACTS_TLS_CERTS_H_
#define PREFLIGHT_AGENT_FACTS_TLS_CERTS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/facts/fact_collector.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::agent {

// Parses a Traefik v2 acme.json: an object of resolver name -> {"Account":
// ..., "Certificates": [{"domain": {"main", "sans"}, "certificate": <base64
// PEM chain>, "key": ..., "Store": ...}]}. Returns each certificate's PEM
// chain and appends a matching origin "resolver=<name> main=<domain>" to
// `origins` (the caller prefixes the file path). The "key" fields are never
// read. An empty document (Traefik creates acme.json empty) has no
// certificates. INVALID_ARGUMENT when the document is not a JSON object.
// Entries that cannot be used (bad base64, no PEM certificate, anything
// holding a private key) are skipped; when `problems` is given, one message
// per skipped entry is appended to it.
absl::StatusOr<std::vector<std::string>> ParseAcmeJson(
    absl::string_view json, std::vector<std::string>* origins,
    std::vector<std::string>* problems = nullptr);

// Describes the first certificate of the PEM input (one or more strings, each
// a certificate, a chain or a bundle; the first certificate is the leaf, the
// rest are taken as the presented intermediates). Input holding a private key
// is ignored. Verification (X509_verify_cert, purpose TLS server, at `now`)
// runs against the system default store and, when that fails and
// `extra_ca_file` is given, against the system store plus that file:
//   chain_verified && verify_error.empty()   trusted by the system store;
//   chain_verified && !verify_error.empty()  trusted only via extra_ca_file
//                                            (verify_error: the system
//                                            store's reason);
//   !chain_verified                          verify_error says why.
// The leaf's own validity dates do not affect chain_verified (the check
// judges them against its clock); expired intermediates do. chain_length is
// 0 and verify_error set when no certificate could be parsed.
v1::CertificateInfo DescribeChain(const std::vector<std::string>& pem_chain_or_bundle,
                                  absl::string_view origin, const std::string& extra_ca_file,
                                  absl::Time now);

// Reads no other fact. Options: tls_hostnames,
// tls_probe_address, tls_acme_file, tls_cert_dirs, tls_ca_file.
std::unique_ptr<FactCollector> MakeTlsCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_TLS_CERTS_H_
