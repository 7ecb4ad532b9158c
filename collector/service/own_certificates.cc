// The collector's own certificates' expiry (own_certificates.h).
#include "collector/service/own_certificates.h"

#include "absl/strings/str_cat.h"
#include "proto/wire/textproto.h"

namespace preflight::collector {

std::vector<OwnCertificateWarning> OwnCertificateExpiries(const v1::TlsFiles& tls, absl::Time now,
                                                          absl::Duration ahead) {
  std::vector<OwnCertificateWarning> out;
  auto each = [&](const std::string& file, const std::string& what, const std::string& todo) {
    auto pem = ReadFileToString(file);
    if (!pem.ok()) {
      out.push_back({absl::StrCat("cannot read ", what, " ", file, ": ", pem.status().message()),
                     file, CertSummary{}});
      return;
    }
    for (const CertSummary& c : SummariesOfPem(*pem)) {
      std::string w =
          CertExpiryWarning(absl::StrCat(what, " ", file, " ", c.subject), c, now, todo, ahead);
      if (!w.empty()) out.push_back({std::move(w), file, c});
    }
  };
  each(tls.cert_file(), "the collector's certificate",
       "renew it with `preflight-certs renew collector.pem` and restart the collector");
  each(tls.ca_file(), "the CA certificate",
       "every certificate it issued stops working then; roll over to a new CA "
       "(`preflight-certs rollover`, certs/README.md)");
  return out;
}

std::vector<std::string> OwnCertificateWarnings(const v1::TlsFiles& tls, absl::Time now) {
  std::vector<std::string> out;
  for (OwnCertificateWarning& w : OwnCertificateExpiries(tls, now)) {
    out.push_back(std::move(w.warning));
  }
  return out;
}

}  // namespace preflight::collector
