// Certificate revocation, fail closed. The collector reads a CRL (PEM, as
// certs/preflight-certs writes crl.pem), checks that the CA it trusts signed
// it, and refuses every peer whose certificate serial it lists. The file is
// re-read whenever it changes (size or modification time), so
// `preflight-certs revoke` takes effect without a restart. When the CRL is
// configured but cannot be read, parsed or verified, every peer is refused:
// not knowing who is revoked must not let a revoked certificate in.
#ifndef PREFLIGHT_PROTO_WIRE_REVOCATION_H_
#define PREFLIGHT_PROTO_WIRE_REVOCATION_H_

#include <grpcpp/security/auth_context.h>

#include <cstdint>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace preflight {

class RevocationChecker {
 public:
  // An empty crl_file turns checking off (Check is always OK).
  RevocationChecker(std::string crl_file, std::string ca_file);

  // Loads the CRL now. The error names the file and what is wrong with it.
  absl::Status Load();

  // OK unless the peer's certificate is revoked (PERMISSION_DENIED naming the
  // serial) or the CRL is unusable (UNAUTHENTICATED: fail closed).
  absl::Status Check(const grpc::AuthContext& context);
  // The same for one PEM certificate.
  absl::Status CheckPem(absl::string_view pem);

  bool enabled() const { return !crl_file_.empty(); }
  // How many serials the CRL in force lists.
  size_t revoked_count();

 private:
  absl::Status LoadLocked();
  absl::Status ReloadIfChangedLocked();

  const std::string crl_file_;
  const std::string ca_file_;
  std::mutex mu_;
  int64_t mtime_ns_ = -1;
  int64_t size_ = -1;
  absl::Status state_;             // why the CRL is unusable, or OK
  std::set<std::string> revoked_;  // upper-case hex serials
};

// Upper-case hex serial number of a PEM certificate.
absl::StatusOr<std::string> SerialOfPem(absl::string_view pem);

}  // namespace preflight

#endif  // PREFLIGHT_PROTO_WIRE_REVOCATION_H_
