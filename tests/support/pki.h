// A deployment PKI made at test time with certs/preflight-certs.
#ifndef PREFLIGHT_TESTS_SUPPORT_PKI_H_
#define PREFLIGHT_TESTS_SUPPORT_PKI_H_

#include <string>

#include "absl/time/time.h"
#include "preflight/v1/config.pb.h"

namespace preflight::testing {

class TestPki {
 public:
  // Creates a CA for `trust_domain` in `dir` and a collector certificate for
  // localhost/127.0.0.1. Aborts the test on failure.
  TestPki(std::string dir, std::string trust_domain);

  void IssueHost(const std::string& id);
  void IssueOperator(const std::string& name);
  void IssueAuditor(const std::string& name);
  // preflight-certs revoke: revokes the certificate and rewrites crl.pem.
  void Revoke(const std::string& cert_file);
  // preflight-certs crl --crl-days N: re-signs crl.pem, valid N days.
  void ResignCrl(int days);
  // Re-signs crl.pem (openssl ca -gencrl, as preflight-certs does) with the
  // given thisUpdate and nextUpdate, which may be in the past.
  void ResignCrlValid(absl::Time this_update, absl::Time next_update);

  const std::string& dir() const { return dir_; }
  std::string ca() const { return dir_ + "/ca.pem"; }
  std::string crl() const { return dir_ + "/crl.pem"; }
  v1::TlsFiles CollectorTls() const;
  v1::TlsFiles HostTls(const std::string& id) const;
  v1::TlsFiles OperatorTls(const std::string& name) const;
  v1::TlsFiles AuditorTls(const std::string& name) const;

 private:
  void Run(const std::vector<std::string>& args);
  std::string dir_;
};

}  // namespace preflight::testing

#endif  // PREFLIGHT_TESTS_SUPPORT_PKI_H_
