#include "proto/wire/server_transport.h"

#include <openssl/ssl.h>

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

}  // namespace preflight
