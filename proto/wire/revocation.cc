#include "proto/wire/revocation.h"

#include <grpc/grpc_security_constants.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "proto/wire/openssl_ptr.h"
#include "proto/wire/textproto.h"

namespace preflight {
absl::StatusOr<std::string> SerialOfPem(absl::string_view pem) {
  BioPtr bio = MemoryBio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) return absl::InvalidArgumentError("not a PEM certificate");
  return HexSerial(X509_get0_serialNumber(cert.get()));
}

RevocationChecker::RevocationChecker(std::string crl_file, std::string ca_file)
    : crl_file_(std::move(crl_file)), ca_file_(std::move(ca_file)) {}

absl::Status RevocationChecker::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  return LoadLocked();
}

absl::Status RevocationChecker::LoadLocked() {
  struct stat st {};
  if (stat(crl_file_.c_str(), &st) != 0) {
    state_ = absl::UnavailableError(absl::StrCat("CRL ", crl_file_, ": cannot stat it"));
    return state_;
  }
  mtime_ns_ = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  size_ = st.st_size;
  state_ = [&]() -> absl::Status {
    auto crl_pem = ReadFileToString(crl_file_, 64 << 20);
    if (!crl_pem.ok()) return crl_pem.status();
    BioPtr bio = MemoryBio(*crl_pem);
    X509CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    if (crl == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("CRL ", crl_file_, ": not a PEM X509 CRL"));
    }
    // The CRL must be signed by a CA of the bundle peers chain to.
    auto ca_pem = ReadFileToString(ca_file_, 16 << 20);
    if (!ca_pem.ok()) return ca_pem.status();
    BioPtr ca_bio = MemoryBio(*ca_pem);
    bool verified = false;
    while (true) {
      X509Ptr ca(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr));
      if (ca == nullptr) break;
      if (X509_NAME_cmp(X509_get_subject_name(ca.get()), X509_CRL_get_issuer(crl.get())) != 0) {
        continue;
      }
      EVP_PKEY* key = X509_get0_pubkey(ca.get());
      if (key != nullptr && X509_CRL_verify(crl.get(), key) == 1) verified = true;
    }
    if (!verified) {
      return absl::PermissionDeniedError(
          absl::StrCat("CRL ", crl_file_, ": not signed by a CA in ", ca_file_));
    }
    std::set<std::string> revoked;
    STACK_OF(X509_REVOKED)* list = X509_CRL_get_REVOKED(crl.get());
    for (int i = 0; list != nullptr && i < sk_X509_REVOKED_num(list); ++i) {
      revoked.insert(HexSerial(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(list, i))));
    }
    revoked_ = std::move(revoked);
    return absl::OkStatus();
  }();
  return state_;
}

absl::Status RevocationChecker::ReloadIfChangedLocked() {
  struct stat st {};
  if (stat(crl_file_.c_str(), &st) != 0) {
    state_ = absl::UnavailableError(absl::StrCat("CRL ", crl_file_, ": cannot stat it"));
    mtime_ns_ = -1;
    return state_;
  }
  const int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (mtime != mtime_ns_ || st.st_size != size_) return LoadLocked();
  return state_;
}

absl::Status RevocationChecker::CheckPem(absl::string_view pem) {
  if (!enabled()) return absl::OkStatus();
  auto serial = SerialOfPem(pem);
  if (!serial.ok()) return absl::UnauthenticatedError("unreadable client certificate");
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status usable = ReloadIfChangedLocked();
  if (!usable.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("revocation cannot be checked (", usable.message(),
                     "): refusing every certificate until the CRL is usable again"));
  }
  if (revoked_.count(*serial)) {
    return absl::PermissionDeniedError(
        absl::StrCat("certificate serial ", *serial, " is revoked (", crl_file_, ")"));
  }
  return absl::OkStatus();
}

absl::Status RevocationChecker::Check(const grpc::AuthContext& context) {
  if (!enabled()) return absl::OkStatus();
  std::vector<grpc::string_ref> pems = context.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pems.empty()) return absl::UnauthenticatedError("no client certificate presented");
  return CheckPem(absl::string_view(pems[0].data(), pems[0].size()));
}

size_t RevocationChecker::revoked_count() {
  std::lock_guard<std::mutex> lock(mu_);
  return revoked_.size();
}

}  // namespace preflight
