// Owning pointers for OpenSSL objects, and the few helpers every reader of
// certificates needs: one copy for the wire library (identity, revocation) and
// the agent (TLS facts, the TLS probe). Header only; link OpenSSL::SSL for the
// SSL types, OpenSSL::Crypto for the rest.
#ifndef PREFLIGHT_PROTO_WIRE_OPENSSL_PTR_H_
#define PREFLIGHT_PROTO_WIRE_OPENSSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <climits>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace preflight {

// Calls `Free` on a non-null pointer (unique_ptr never passes null).
template <auto Free>
struct OpenSslFree {
  void operator()(auto* p) const { Free(p); }
};

using BioPtr = std::unique_ptr<BIO, OpenSslFree<&BIO_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslFree<&BN_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<&EVP_PKEY_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslFree<&GENERAL_NAMES_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslFree<&SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OpenSslFree<&SSL_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OpenSslFree<&X509_CRL_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslFree<&X509_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslFree<&X509_STORE_CTX_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslFree<&X509_STORE_free>>;

// sk_X509_free and OPENSSL_free are macros, so they get their own deleters.
struct X509StackFree {
  void operator()(STACK_OF(X509) * p) const { sk_X509_free(p); }  // not the certificates
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;
struct OpenSslStringFree {
  void operator()(char* p) const { OPENSSL_free(p); }
};
using OpenSslStringPtr = std::unique_ptr<char, OpenSslStringFree>;

// A read-only memory BIO over `data` (which must outlive it); null when
// `data` is too large for OpenSSL or memory is short.
inline BioPtr MemoryBio(absl::string_view data) {
  if (data.size() > static_cast<size_t>(INT_MAX)) return nullptr;
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// What a memory BIO holds (BIO_s_mem), as a string.
inline std::string MemoryBioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 && data != nullptr ? std::string(data, static_cast<size_t>(len)) : "";
}

// Upper-case hex of a serial number, as `openssl x509 -serial` prints it
// (without its "serial=" prefix); empty when it cannot be converted.
inline std::string HexSerial(const ASN1_INTEGER* serial) {
  if (serial == nullptr) return "";
  BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (bn == nullptr) return "";
  OpenSslStringPtr hex(BN_bn2hex(bn.get()));
  return hex != nullptr ? std::string(hex.get()) : "";
}

// Empties this thread's OpenSSL error queue into one line: the reasons,
// oldest first, separated by "; ".
inline std::string DrainOpenSslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    if (!out.empty()) out += "; ";
    if (const char* reason = ERR_reason_error_string(e); reason != nullptr) {
      out += reason;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof(buf));
      out += buf;
    }
  }
  return out;
}

}  // namespace preflight

#endif  // PREFLIGHT_PROTO_WIRE_OPENSSL_PTR_H_
