#include "proto/wire/tls.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/pem.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "proto/wire/openssl_ptr.h"
#include "proto/wire/status.h"
#include "proto/wire/textproto.h"

namespace preflight {
namespace {

absl::Status RequireFiles(const v1::TlsFiles& files) {
  if (files.cert_file().empty() || files.key_file().empty() || files.ca_file().empty()) {
    return absl::InvalidArgumentError(
        "TLS needs cert_file, key_file and ca_file (no plaintext mode exists)");
  }
  return absl::OkStatus();
}

std::string OpenSslReason() {
  const unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "";
  const char* reason = ERR_reason_error_string(e);
  return reason == nullptr ? "" : absl::StrCat(" (", reason, ")");
}

}  // namespace

absl::Status CheckTlsFiles(const v1::TlsFiles& files) {
  RETURN_IF_ERROR(RequireFiles(files));
  auto read = [](absl::string_view what, const std::string& path) -> absl::StatusOr<std::string> {
    absl::StatusOr<std::string> data = ReadFileToString(path, 1 << 20);
    if (!data.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " ", path, ": cannot be read: ", data.status().message()));
    }
    if (data->empty()) return absl::InvalidArgumentError(absl::StrCat(what, " ", path, ": empty"));
    return data;
  };
  ASSIGN_OR_RETURN(std::string cert_pem, read("certificate", files.cert_file()));
  ASSIGN_OR_RETURN(std::string key_pem, read("private key", files.key_file()));
  ASSIGN_OR_RETURN(std::string ca_pem, read("CA certificate", files.ca_file()));
  ERR_clear_error();
  BioPtr cert_bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  X509Ptr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("certificate ", files.cert_file(),
                                                   ": not a PEM certificate", OpenSslReason()));
  }
  BioPtr key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  // No passphrase callback: an encrypted key fails here rather than prompt.
  static pem_password_cb* const kNoPassphrase = [](char*, int, int, void*) { return 0; };
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, kNoPassphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "private key ", files.key_file(),
        ": not a PEM private key (or one protected by a passphrase)", OpenSslReason()));
  }
  BioPtr ca_bio(BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())));
  X509Ptr ca(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr));
  if (ca == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("CA certificate ", files.ca_file(),
                                                   ": not a PEM certificate", OpenSslReason()));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("private key ", files.key_file(),
                                                   " does not match the certificate ",
                                                   files.cert_file(), " (a key of another one?)"));
  }
  return absl::OkStatus();
}

namespace {

// gRPC's hook for ClientChainVerifier: synchronous (X509_verify_cert against
// a few certificates in memory is fast), each refusal to the sink.
class HandshakeVerifier : public grpc::experimental::ExternalCertificateVerifier {
 public:
  HandshakeVerifier(ClientChainVerifier verifier, TlsRefusalSink sink)
      : verifier_(std::move(verifier)), sink_(std::move(sink)) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/, grpc::Status* sync_status) override {
    const grpc::string_ref leaf = request->peer_cert();
    const grpc::string_ref chain = request->peer_cert_full_chain();
    TlsRefusal refusal;
    absl::Status verified =
        verifier_.Verify(absl::string_view(leaf.data(), leaf.size()),
                         absl::string_view(chain.data(), chain.size()), &refusal);
    if (verified.ok()) {
      *sync_status = grpc::Status::OK;
    } else {
      if (sink_) sink_(refusal);
      *sync_status =
          grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(verified.message()));
    }
    return true;  // answered synchronously
  }

  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}

 private:
  const ClientChainVerifier verifier_;
  const TlsRefusalSink sink_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const v1::TlsFiles& files, TlsRefusalSink on_refusal) {
  RETURN_IF_ERROR(CheckTlsFiles(files));
  ASSIGN_OR_RETURN(std::string cert, ReadFileToString(files.cert_file()));
  ASSIGN_OR_RETURN(std::string key, ReadFileToString(files.key_file()));
  ASSIGN_OR_RETURN(std::string ca, ReadFileToString(files.ca_file()));
  auto verifier = ClientChainVerifier::Create(ca);
  if (!verifier.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(files.ca_file(), ": ", verifier.status().message()));
  }
  auto provider = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
      ca, std::vector<grpc::experimental::IdentityKeyCertPair>{{key, cert}});
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  // gRPC asks for a certificate but lets HandshakeVerifier judge it (and
  // its absence), so that every refusal is seen, logged and audited.
  options.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  options.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<HandshakeVerifier>(
          *std::move(verifier), std::move(on_refusal)));
  return grpc::experimental::TlsServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const v1::TlsFiles& files) {
  RETURN_IF_ERROR(CheckTlsFiles(files));
  grpc::SslCredentialsOptions options;
  ASSIGN_OR_RETURN(options.pem_cert_chain, ReadFileToString(files.cert_file()));
  ASSIGN_OR_RETURN(options.pem_private_key, ReadFileToString(files.key_file()));
  ASSIGN_OR_RETURN(options.pem_root_certs, ReadFileToString(files.ca_file()));
  return grpc::SslCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& target,
                                                           const v1::TlsFiles& files,
                                                           int max_reconnect_backoff_ms) {
  ASSIGN_OR_RETURN(auto creds, MakeChannelCredentials(files));
  grpc::ChannelArguments args;
  if (!files.server_name().empty()) {
    args.SetSslTargetNameOverride(files.server_name());
  }
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 16 << 20);
  if (max_reconnect_backoff_ms > 0) {
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(1000, max_reconnect_backoff_ms));
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_reconnect_backoff_ms);
  }
  return grpc::CreateCustomChannel(target, creds, args);
}

}  // namespace preflight
