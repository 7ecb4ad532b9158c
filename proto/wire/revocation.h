// Certificate revocation, fail closed. The collector reads a CRL (PEM, as
// certs/preflight-certs writes crl.pem), checks that the CA it trusts signed
// it, and refuses every peer whose certificate serial it lists. The file is
// re-read whenever it changes (size or modification time), so
// `preflight-certs revoke` takes effect without a restart. When the CRL is
// configured but cannot be read, parsed or verified, every peer is refused:
// not knowing who is revoked must not let a revoked certificate in. The same
// holds once the CRL is past its nextUpdate: nobody's revocation state is
// known then, so every certificate is refused (operators' too) until the CRL
// is re-signed; ExpiryWarning says so from a week before.
#ifndef PREFLIGHT_PROTO_WIRE_REVOCATION_H_
#define PREFLIGHT_PROTO_WIRE_REVOCATION_H_

#include <grpcpp/security/auth_context.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace preflight {

// From this long before the CRL's nextUpdate, ExpiryWarning is not empty.
inline constexpr absl::Duration kCrlWarningAhead = absl::Hours(7 * 24);

// The CRL in force, for logs, `preflightctl status` and health checks.
struct CrlState {
  bool enabled = false;  // a CRL is configured
  std::string file;      // its path
  absl::Status usable;   // why it cannot be used (unreadable, foreign...), or OK
  absl::Time last_update = absl::InfinitePast();    // thisUpdate of the CRL loaded
  absl::Time next_update = absl::InfiniteFuture();  // nextUpdate; infinite if it has none
  bool expired = false;                             // next_update <= now, as of `now`
  absl::Time now;                                   // when this state was taken
  size_t revoked = 0;                               // serials listed
  uint64_t generation = 0;                          // changes whenever the file is (re)loaded
};

class RevocationChecker {
 public:
  using Clock = std::function<absl::Time()>;

  // An empty crl_file turns checking off (Check is always OK). `clock` tells
  // whether the CRL is past its nextUpdate.
  RevocationChecker(
      std::string crl_file, std::string ca_file, Clock clock = [] { return absl::Now(); });

  // Loads the CRL now. The error names the file and what is wrong with it.
  // A CRL past its nextUpdate loads (OK); Check then refuses everybody.
  absl::Status Load();

  // OK unless the peer's certificate is revoked (PERMISSION_DENIED naming the
  // serial), the CRL is past its nextUpdate (PERMISSION_DENIED "the CRL
  // expired on ...") or unusable (UNAUTHENTICATED). The last two fail closed
  // for every certificate and carry IsCrlStateRefusal. The CRL is re-read
  // first if the file changed.
  absl::Status Check(const grpc::AuthContext& context);
  // The same for one PEM certificate, or for a serial (SerialOf*).
  absl::Status CheckPem(absl::string_view pem);
  absl::Status CheckSerial(const std::string& serial);
  // The same against the CRL as loaded: never touches the file.
  absl::Status CheckSerialAsLoaded(const std::string& serial);

  // Re-reads the CRL if the file changed, then returns the state in force.
  CrlState Refresh();
  // The state in force; never touches the file (any thread).
  CrlState State();

  bool enabled() const { return !crl_file_.empty(); }
  const std::string& crl_file() const { return crl_file_; }
  // How many serials the CRL in force lists.
  size_t revoked_count();

 private:
  absl::Status LoadLocked();
  absl::Status ReloadIfChangedLocked();
  absl::Status CheckSerialLocked(const std::string& serial);
  CrlState StateLocked();

  const std::string crl_file_;
  const std::string ca_file_;
  const Clock clock_;
  std::mutex mu_;  // a leaf: nothing else is locked under it
  int64_t mtime_ns_ = -1;
  int64_t size_ = -1;
  absl::Status state_;             // why the CRL is unusable, or OK
  std::set<std::string> revoked_;  // upper-case hex serials
  absl::Time last_update_ = absl::InfinitePast();
  absl::Time next_update_ = absl::InfiniteFuture();
  uint64_t generation_ = 0;
};

// Whether a refusal from RevocationChecker concerns the CRL as a whole
// (expired or unusable: every certificate is refused), not one certificate.
bool IsCrlStateRefusal(const absl::Status& status);

// For operators: empty while the CRL is usable and more than `ahead` from its
// nextUpdate; otherwise one line naming the date, what happens then (or
// now) and how to re-sign it.
std::string CrlWarning(const CrlState& state, absl::Duration ahead = kCrlWarningAhead);

// "2026-12-06 09:15:52 UTC".
std::string FormatCrlTime(absl::Time t);

// What a certificate says about itself, for expiry warnings.
struct CertSummary {
  std::string serial;   // upper-case hex
  std::string subject;  // RFC 2253
  absl::Time not_after = absl::InfinitePast();
};

// Certificates expiring within this are named in `preflightctl status`.
inline constexpr absl::Duration kCertWarningAhead = absl::Hours(30 * 24);

// Every certificate in `pem` (one, or a CA bundle), in order.
std::vector<CertSummary> SummariesOfPem(absl::string_view pem);
// The peer certificate of a TLS connection.
absl::StatusOr<CertSummary> SummaryOfPeer(const grpc::AuthContext& context);

// Empty while `cert` is valid for longer than `ahead` from `now`; otherwise
// one line: "<what> (serial S) expires on DATE (in N days): <todo>", or
// "... expired on DATE ...".
std::string CertExpiryWarning(absl::string_view what, const CertSummary& cert, absl::Time now,
                              absl::string_view todo, absl::Duration ahead = kCertWarningAhead);

// Upper-case hex serial number of a PEM certificate.
absl::StatusOr<std::string> SerialOfPem(absl::string_view pem);
// The same for the peer certificate of a TLS connection.
absl::StatusOr<std::string> SerialOfPeer(const grpc::AuthContext& context);

}  // namespace preflight

#endif  // PREFLIGHT_PROTO_WIRE_REVOCATION_H_
