#include "proto/wire/revocation.h"

#include <grpc/grpc_security_constants.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <ctime>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "proto/wire/openssl_ptr.h"
#include "proto/wire/textproto.h"

namespace preflight {
namespace {

// Marks a refusal that concerns the CRL as a whole (IsCrlStateRefusal).
constexpr absl::string_view kCrlStatePayload = "preflight/crl-state";

absl::Status CrlStateRefusal(absl::Status status) {
  status.SetPayload(kCrlStatePayload, absl::Cord("1"));
  return status;
}

// An ASN1_TIME as absl::Time; `otherwise` when it is absent or unreadable.
absl::Time FromAsn1(const ASN1_TIME* t, absl::Time otherwise) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return otherwise;
  return absl::FromTimeT(timegm(&tm));
}

}  // namespace

absl::StatusOr<std::string> SerialOfPem(absl::string_view pem) {
  BioPtr bio = MemoryBio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) return absl::InvalidArgumentError("not a PEM certificate");
  return HexSerial(X509_get0_serialNumber(cert.get()));
}

absl::StatusOr<std::string> SerialOfPeer(const grpc::AuthContext& context) {
  std::vector<grpc::string_ref> pems = context.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pems.empty()) return absl::UnauthenticatedError("no client certificate presented");
  auto serial = SerialOfPem(absl::string_view(pems[0].data(), pems[0].size()));
  if (!serial.ok() || serial->empty()) {
    return absl::UnauthenticatedError("unreadable client certificate");
  }
  return serial;
}

std::vector<CertSummary> SummariesOfPem(absl::string_view pem) {
  std::vector<CertSummary> out;
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return out;
  while (X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509Ptr cert(raw);
    CertSummary s;
    s.serial = HexSerial(X509_get0_serialNumber(cert.get()));
    BioPtr name(BIO_new(BIO_s_mem()));
    if (name != nullptr) {
      X509_NAME_print_ex(name.get(), X509_get_subject_name(cert.get()), 0, XN_FLAG_RFC2253);
      s.subject = MemoryBioContents(name.get());
    }
    // Unreadable: as if expired, so that it is named.
    s.not_after = FromAsn1(X509_get0_notAfter(cert.get()), absl::InfinitePast());
    out.push_back(std::move(s));
  }
  ERR_clear_error();  // the end of the input reads as an error
  return out;
}

absl::StatusOr<CertSummary> SummaryOfPeer(const grpc::AuthContext& context) {
  std::vector<grpc::string_ref> pems = context.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pems.empty()) return absl::UnauthenticatedError("no client certificate presented");
  std::vector<CertSummary> certs =
      SummariesOfPem(absl::string_view(pems[0].data(), pems[0].size()));
  if (certs.empty()) return absl::UnauthenticatedError("unreadable client certificate");
  return certs.front();
}

std::string CertExpiryWarning(absl::string_view what, const CertSummary& cert, absl::Time now,
                              absl::string_view todo, absl::Duration ahead) {
  const absl::Duration left = cert.not_after - now;
  if (left > ahead) return "";
  const std::string when = FormatCrlTime(cert.not_after);
  if (left <= absl::ZeroDuration()) {
    return absl::StrCat(what, " (serial ", cert.serial, ") expired on ", when, ": ", todo);
  }
  const int64_t days = absl::ToInt64Hours(left) / 24;
  return absl::StrCat(
      what, " (serial ", cert.serial, ") expires on ", when, " (in ",
      days > 0 ? absl::StrCat(days, " day(s)") : absl::StrCat(absl::ToInt64Hours(left), " hour(s)"),
      "): ", todo);
}

bool IsCrlStateRefusal(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kCrlStatePayload).has_value();
}

std::string FormatCrlTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

std::string CrlWarning(const CrlState& state, absl::Duration ahead) {
  if (!state.enabled) return "";
  if (!state.usable.ok()) {
    return absl::StrCat("the CRL cannot be used (", state.usable.message(),
                        "): every certificate is refused until it can");
  }
  if (state.next_update == absl::InfiniteFuture()) return "";
  const std::string when = FormatCrlTime(state.next_update);
  if (state.expired) {
    return absl::StrCat("the CRL ", state.file, " expired on ", when,
                        ": every certificate is refused (revocation state unknown); re-sign it "
                        "with `certs/preflight-certs crl` and deploy it");
  }
  const absl::Duration left = state.next_update - state.now;
  if (left > ahead) return "";
  const int64_t days = absl::ToInt64Hours(left) / 24;
  return absl::StrCat(
      "the CRL ", state.file, " expires on ", when, " (in ",
      days > 0 ? absl::StrCat(days, " day(s)") : absl::StrCat(absl::ToInt64Hours(left), " hour(s)"),
      "): from then on every certificate, operators' too, is refused; re-sign it with "
      "`certs/preflight-certs crl` and deploy it before then");
}

RevocationChecker::RevocationChecker(std::string crl_file, std::string ca_file, Clock clock)
    : crl_file_(std::move(crl_file)), ca_file_(std::move(ca_file)), clock_(std::move(clock)) {}

absl::Status RevocationChecker::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  return LoadLocked();
}

absl::Status RevocationChecker::LoadLocked() {
  ++generation_;
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
    // A nextUpdate that is present but unreadable counts as already past.
    const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
    next_update_ = next == nullptr ? absl::InfiniteFuture() : FromAsn1(next, absl::InfinitePast());
    last_update_ = FromAsn1(X509_CRL_get0_lastUpdate(crl.get()), absl::InfinitePast());
    revoked_ = std::move(revoked);
    return absl::OkStatus();
  }();
  return state_;
}

absl::Status RevocationChecker::ReloadIfChangedLocked() {
  struct stat st {};
  if (stat(crl_file_.c_str(), &st) != 0) {
    if (mtime_ns_ != -1 || state_.ok()) ++generation_;
    state_ = absl::UnavailableError(absl::StrCat("CRL ", crl_file_, ": cannot stat it"));
    mtime_ns_ = -1;
    return state_;
  }
  const int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (mtime != mtime_ns_ || st.st_size != size_) return LoadLocked();
  return state_;
}

absl::Status RevocationChecker::CheckSerialLocked(const std::string& serial) {
  if (!state_.ok()) {
    return CrlStateRefusal(absl::UnauthenticatedError(
        absl::StrCat("revocation cannot be checked (", state_.message(),
                     "): refusing every certificate until the CRL is usable again")));
  }
  if (clock_() >= next_update_) {
    return CrlStateRefusal(absl::PermissionDeniedError(absl::StrCat(
        "the CRL expired on ", FormatCrlTime(next_update_),
        ": revocation state unknown; re-sign it with `certs/preflight-certs crl` and deploy it to ",
        crl_file_)));
  }
  if (revoked_.count(serial)) {
    return absl::PermissionDeniedError(
        absl::StrCat("certificate serial ", serial, " is revoked (", crl_file_, ")"));
  }
  return absl::OkStatus();
}

absl::Status RevocationChecker::CheckSerial(const std::string& serial) {
  if (!enabled()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  ReloadIfChangedLocked().IgnoreError();
  return CheckSerialLocked(serial);
}

absl::Status RevocationChecker::CheckSerialAsLoaded(const std::string& serial) {
  if (!enabled()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  return CheckSerialLocked(serial);
}

absl::Status RevocationChecker::CheckPem(absl::string_view pem) {
  if (!enabled()) return absl::OkStatus();
  auto serial = SerialOfPem(pem);
  if (!serial.ok() || serial->empty()) {
    return absl::UnauthenticatedError("unreadable client certificate");
  }
  return CheckSerial(*serial);
}

absl::Status RevocationChecker::Check(const grpc::AuthContext& context) {
  if (!enabled()) return absl::OkStatus();
  auto serial = SerialOfPeer(context);
  if (!serial.ok()) return serial.status();
  return CheckSerial(*serial);
}

CrlState RevocationChecker::StateLocked() {
  CrlState s;
  s.enabled = enabled();
  s.file = crl_file_;
  s.now = clock_();
  if (!s.enabled) return s;
  s.usable = state_;
  s.last_update = last_update_;
  s.next_update = next_update_;
  s.expired = state_.ok() && s.now >= next_update_;
  s.revoked = revoked_.size();
  s.generation = generation_;
  return s;
}

CrlState RevocationChecker::Refresh() {
  std::lock_guard<std::mutex> lock(mu_);
  if (enabled()) ReloadIfChangedLocked().IgnoreError();
  return StateLocked();
}

CrlState RevocationChecker::State() {
  std::lock_guard<std::mutex> lock(mu_);
  return StateLocked();
}

size_t RevocationChecker::revoked_count() {
  std::lock_guard<std::mutex> lock(mu_);
  return revoked_.size();
}

}  // namespace preflight
