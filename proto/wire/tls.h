// gRPC credentials for mutual TLS from a TlsFiles config. There is no
// plaintext mode: every program talks TLS with client certificates.
#ifndef PREFLIGHT_PROTO_WIRE_TLS_H_
#define PREFLIGHT_PROTO_WIRE_TLS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "preflight/v1/config.pb.h"
#include "proto/wire/tls_verifier.h"

namespace preflight {

// Checks the files before any connection is tried, so that a local mistake is
// told as one (INVALID_ARGUMENT, naming the file and what is wrong with it)
// and not as a handshake failure: each of cert_file, key_file and ca_file
// set, readable and not empty; the certificate and the CA in PEM; the key in
// PEM without a passphrase; and the key the one of the certificate
// (X509_check_private_key). The two functions below start with it.
absl::Status CheckTlsFiles(const v1::TlsFiles& files);

// Server side: presents cert/key, requires a client certificate chaining to
// ca_file (checked by ClientChainVerifier, tls_verifier.h); each one refused
// at the handshake, or its absence, goes to `on_refusal` (if set) on a gRPC
// thread.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const v1::TlsFiles& files, TlsRefusalSink on_refusal = nullptr);

// Client side: presents cert/key and verifies the server against ca_file.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const v1::TlsFiles& files);

// A channel to `target` with the credentials above (and the server name
// override when set), with keepalive so a dead peer is noticed.
// `max_reconnect_backoff_ms` > 0 caps gRPC's own wait between connection
// attempts (default up to 120 s): after failed attempts the channel fails
// every call at once until that wait is over, whatever the caller's retry
// policy; the agent caps it at its max_backoff_seconds.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& target,
                                                           const v1::TlsFiles& files,
                                                           int max_reconnect_backoff_ms = 0);

}  // namespace preflight

#endif  // PREFLIGHT_PROTO_WIRE_TLS_H_
