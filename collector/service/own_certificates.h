// The collector's own certificate and the CA(s) it trusts, as their expiry
// concerns operators: `preflightctl status` lists the warnings
// (FleetStatus.cert_warnings) and the event watch (event_watch.h) turns each
// certificate entering the window into one PKI_EXPIRING event.
#ifndef PREFLIGHT_COLLECTOR_SERVICE_OWN_CERTIFICATES_H_
#define PREFLIGHT_COLLECTOR_SERVICE_OWN_CERTIFICATES_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "preflight/v1/config.pb.h"
#include "proto/wire/revocation.h"

namespace preflight::collector {

struct OwnCertificateWarning {
  std::string warning;  // one line: what, when, what to do (or why unreadable)
  std::string file;     // tls.cert_file or tls.ca_file
  // The certificate; empty serial when the file could not be read.
  CertSummary cert;
};

// The certificates of tls.cert_file and tls.ca_file (every one of a bundle),
// read now, that expire within `ahead` of `now` (or expired), and each file
// that cannot be read.
std::vector<OwnCertificateWarning> OwnCertificateExpiries(const v1::TlsFiles& tls, absl::Time now,
                                                          absl::Duration ahead = kCertWarningAhead);

// Their lines, for FleetStatus.cert_warnings (30 days ahead).
std::vector<std::string> OwnCertificateWarnings(const v1::TlsFiles& tls, absl::Time now);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_OWN_CERTIFICATES_H_
