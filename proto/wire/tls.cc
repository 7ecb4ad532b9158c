#include "proto/wire/tls.h"

#include <grpcpp/create_channel.h>

#include "absl/strings/str_cat.h"
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

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const v1::TlsFiles& files) {
  RETURN_IF_ERROR(RequireFiles(files));
  ASSIGN_OR_RETURN(std::string cert, ReadFileToString(files.cert_file()));
  ASSIGN_OR_RETURN(std::string key, ReadFileToString(files.key_file()));
  ASSIGN_OR_RETURN(std::string ca, ReadFileToString(files.ca_file()));
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = ca;
  options.pem_key_cert_pairs.push_back({key, cert});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const v1::TlsFiles& files) {
  RETURN_IF_ERROR(RequireFiles(files));
  grpc::SslCredentialsOptions options;
  ASSIGN_OR_RETURN(options.pem_cert_chain, ReadFileToString(files.cert_file()));
  ASSIGN_OR_RETURN(options.pem_private_key, ReadFileToString(files.key_file()));
  ASSIGN_OR_RETURN(options.pem_root_certs, ReadFileToString(files.ca_file()));
  return grpc::SslCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& target,
                                                           const v1::TlsFiles& files) {
  ASSIGN_OR_RETURN(auto creds, MakeChannelCredentials(files));
  grpc::ChannelArguments args;
  if (!files.server_name().empty()) {
    args.SetSslTargetNameOverride(files.server_name());
  }
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 16 << 20);
  return grpc::CreateCustomChannel(target, creds, args);
}

}  // namespace preflight
