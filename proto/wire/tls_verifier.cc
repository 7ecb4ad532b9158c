#include "proto/wire/tls_verifier.h"

#include <openssl/pem.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "proto/wire/openssl_ptr.h"

namespace preflight {
namespace {

// Every PEM certificate in `pem`, in order.
std::vector<X509Ptr> ReadCertificates(absl::string_view pem) {
  std::vector<X509Ptr> out;
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return out;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(cert);
  }
  ERR_clear_error();  // the end of the input reads as an error
  return out;
}

std::string NameOf(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || name == nullptr) return "";
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  return MemoryBioContents(bio.get());
}

}  // namespace

std::string TlsRefusal::ToString() const {
  if (subject.empty() && serial.empty()) return absl::StrCat("no client certificate: ", reason);
  return absl::StrCat(reason, " (certificate subject \"", subject, "\", serial ", serial,
                      ", issuer \"", issuer, "\")");
}

absl::StatusOr<ClientChainVerifier> ClientChainVerifier::Create(absl::string_view ca_pem) {
  std::vector<X509Ptr> cas = ReadCertificates(ca_pem);
  if (cas.empty()) return absl::InvalidArgumentError("the CA file holds no PEM certificate");
  std::shared_ptr<X509_STORE> store(X509_STORE_new(), X509_STORE_free);
  if (store == nullptr) return absl::ResourceExhaustedError("out of memory for the CA store");
  for (X509Ptr& ca : cas) {
    if (X509_STORE_add_cert(store.get(), ca.get()) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot use a CA certificate: ", DrainOpenSslErrors()));
    }
  }
  return ClientChainVerifier(std::move(store));
}

absl::Status ClientChainVerifier::Verify(absl::string_view leaf_pem, absl::string_view chain_pem,
                                         TlsRefusal* refusal) const {
  TlsRefusal r;
  auto refuse = [&](std::string reason) {
    r.reason = std::move(reason);
    absl::Status status = absl::UnauthenticatedError(r.ToString());
    if (refusal != nullptr) *refusal = std::move(r);
    return status;
  };
  std::vector<X509Ptr> leaf = ReadCertificates(leaf_pem);
  if (leaf.empty()) {
    return refuse(leaf_pem.empty() ? "the client presented no certificate"
                                   : "the client certificate is not readable");
  }
  X509* cert = leaf.front().get();
  r.subject = NameOf(X509_get_subject_name(cert));
  r.issuer = NameOf(X509_get_issuer_name(cert));
  r.serial = HexSerial(X509_get0_serialNumber(cert));
  // Declared before the context that refers to them, so they outlive it.
  std::vector<X509Ptr> chain = ReadCertificates(chain_pem);

  X509StackPtr untrusted(sk_X509_new_null());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (untrusted == nullptr || ctx == nullptr) {
    return refuse("out of memory while checking the certificate");
  }
  // The chain the peer sent (beyond its leaf) may carry intermediates; they
  // are only candidates, never trusted by themselves.
  for (X509Ptr& c : chain) {
    if (X509_cmp(c.get(), cert) != 0) sk_X509_push(untrusted.get(), c.get());
  }
  if (X509_STORE_CTX_init(ctx.get(), store_.get(), cert, untrusted.get()) != 1) {
    return refuse(absl::StrCat("cannot check the certificate: ", DrainOpenSslErrors()));
  }
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return refuse(X509_verify_cert_error_string(err));
  }
  return absl::OkStatus();
}

}  // namespace preflight
