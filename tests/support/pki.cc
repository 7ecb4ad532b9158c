#include "tests/support/pki.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "tests/support/process.h"

namespace preflight::testing {

TestPki::TestPki(std::string dir, std::string trust_domain) : dir_(std::move(dir)) {
  Run({"init", "--trust-domain", trust_domain});
  Run({"collector"});
}

void TestPki::Run(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {PREFLIGHT_CERTS_TOOL, "--dir", dir_};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = RunProcess(argv, absl::Seconds(60));
  ASSERT_EQ(r.exit_code, 0) << "preflight-certs " << args[0] << " failed: " << r.err;
}

void TestPki::IssueHost(const std::string& id) { Run({"host", id}); }
void TestPki::IssueOperator(const std::string& name) { Run({"operator", name}); }
void TestPki::IssueAuditor(const std::string& name) { Run({"auditor", name}); }
void TestPki::Revoke(const std::string& cert_file) { Run({"revoke", cert_file}); }
void TestPki::ResignCrl(int days) { Run({"crl", "--crl-days", std::to_string(days)}); }

void TestPki::ResignCrlValid(absl::Time this_update, absl::Time next_update) {
  auto asn1 = [](absl::Time t) {
    return absl::FormatTime("%Y%m%d%H%M%SZ", t, absl::UTCTimeZone());
  };
  const std::string tmp = dir_ + "/crl.pem.new";
  RunResult r = RunProcess(
      {"openssl", "ca", "-batch", "-config", dir_ + "/openssl.cnf", "-gencrl", "-crl_lastupdate",
       asn1(this_update), "-crl_nextupdate", asn1(next_update), "-md", "sha256", "-out", tmp},
      absl::Seconds(60), {{"PREFLIGHT_CA_DIR", dir_}});
  ASSERT_EQ(r.exit_code, 0) << "openssl ca -gencrl failed: " << r.err;
  ASSERT_EQ(std::rename(tmp.c_str(), crl().c_str()), 0) << crl();
}

namespace {
v1::TlsFiles Files(const std::string& dir, const std::string& stem) {
  v1::TlsFiles f;
  f.set_cert_file(dir + "/" + stem + ".pem");
  f.set_key_file(dir + "/" + stem + ".key");
  f.set_ca_file(dir + "/ca.pem");
  return f;
}
}  // namespace

v1::TlsFiles TestPki::CollectorTls() const { return Files(dir_, "collector"); }
v1::TlsFiles TestPki::HostTls(const std::string& id) const { return Files(dir_, "hosts/" + id); }
v1::TlsFiles TestPki::OperatorTls(const std::string& name) const {
  return Files(dir_, "operators/" + name);
}
v1::TlsFiles TestPki::AuditorTls(const std::string& name) const {
  return Files(dir_, "auditors/" + name);
}

}  // namespace preflight::testing
