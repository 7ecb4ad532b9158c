#include "tests/support/pki.h"

#include <gtest/gtest.h>

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
