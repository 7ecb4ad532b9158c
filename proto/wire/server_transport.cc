#include "proto/wire/server_transport.h"

#include <openssl/ssl.h>
#include <stdlib.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace preflight {
namespace {

// CRYPTO_EX_new: `parent` is the SSL object being created.
void OnSslNew(void* parent, void* /*ptr*/, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
              void* /*argp*/) {
  if (parent != nullptr) SSL_set_mode(static_cast<SSL*>(parent), SSL_MODE_RELEASE_BUFFERS);
}

}  // namespace

bool ReleaseIdleTlsBuffers() {
  // Registered once: every registration adds a callback to every SSL_new.
  static const bool registered = SSL_get_ex_new_index(0, nullptr, OnSslNew, nullptr, nullptr) >= 0;
  return registered;
}

std::string BoundTcpReadBuffers() {
  constexpr char kVariable[] = "GRPC_EXPERIMENTS";
  constexpr char kOff[] = "-tcp_read_chunks";
  const char* set = getenv(kVariable);
  std::string value = set == nullptr ? "" : set;
  if (!absl::StrContains(value, "tcp_read_chunks")) {
    value = value.empty() ? kOff : absl::StrCat(value, ",", kOff);
    setenv(kVariable, value.c_str(), 1);
  }
  return value;
}

}  // namespace preflight
