// ClientChainVerifier, the collector's own check of a client certificate at
// the TLS handshake, against the reference: `openssl verify -purpose
// sslclient` with the same CA file, for certificates made by certs/ now.
#include "proto/wire/tls_verifier.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/support/pki.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight::testing {
namespace {

class TlsVerifierTest : public ::testing::Test {
 protected:
  TlsVerifierTest()
      : pki_(dir_.Join("pki"), "test.local"), other_(dir_.Join("other"), "test.local") {
    pki_.IssueHost("prod-01");
    pki_.IssueOperator("alice");
    pki_.IssueAuditor("rev");
    other_.IssueHost("prod-01");
  }

  // What `openssl verify` says of `cert`: empty when it verifies, otherwise
  // its output.
  std::string Reference(const std::string& cert) {
    RunResult r =
        RunProcess({"openssl", "verify", "-purpose", "sslclient", "-CAfile", pki_.ca(), cert},
                   absl::Seconds(20));
    return r.exit_code == 0 ? "" : r.out + r.err;
  }

  TempDir dir_;
  TestPki pki_;
  TestPki other_;
};

TEST_F(TlsVerifierTest, AgreesWithOpensslVerify) {
  auto verifier = ClientChainVerifier::Create(ReadFile(pki_.ca()));
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  const std::vector<std::string> certs = {pki_.HostTls("prod-01").cert_file(),
                                          pki_.OperatorTls("alice").cert_file(),
                                          pki_.AuditorTls("rev").cert_file(),
                                          pki_.CollectorTls().cert_file(),
                                          other_.HostTls("prod-01").cert_file(),
                                          pki_.ca(),
                                          other_.ca()};
  int refused = 0;
  for (const std::string& cert : certs) {
    const std::string pem = ReadFile(cert);
    const std::string reference = Reference(cert);
    TlsRefusal refusal;
    absl::Status ours = verifier->Verify(pem, pem, &refusal);
    EXPECT_EQ(ours.ok(), reference.empty())
        << cert << ": ours " << ours << ", openssl " << reference;
    if (!ours.ok()) {
      ++refused;
      // The reason is OpenSSL's own wording, as openssl verify prints it.
      EXPECT_TRUE(absl::StrContains(reference, refusal.reason))
          << reference << " vs " << refusal.reason;
      EXPECT_FALSE(refusal.subject.empty());
      EXPECT_FALSE(refusal.serial.empty());
      EXPECT_TRUE(absl::StrContains(ours.message(), refusal.serial));
    }
  }
  EXPECT_GE(refused, 2);  // the foreign host and the foreign CA at least
}

TEST_F(TlsVerifierTest, NoCertificateOrGarbageIsRefused) {
  auto verifier = ClientChainVerifier::Create(ReadFile(pki_.ca()));
  ASSERT_TRUE(verifier.ok());
  TlsRefusal refusal;
  EXPECT_FALSE(verifier->Verify("", "", &refusal).ok());
  EXPECT_EQ(refusal.reason, "the client presented no certificate");
  EXPECT_FALSE(verifier->Verify("-----BEGIN CERTIFICATE-----\nAAAA\n", "", &refusal).ok());
  EXPECT_EQ(refusal.reason, "the client certificate is not readable");
}

TEST_F(TlsVerifierTest, AnIntermediateSentByThePeerIsNotTrusted) {
  // A foreign CA certificate sent along as "chain" does not make its host
  // certificate trusted: only the CA file is.
  auto verifier = ClientChainVerifier::Create(ReadFile(pki_.ca()));
  ASSERT_TRUE(verifier.ok());
  const std::string leaf = ReadFile(other_.HostTls("prod-01").cert_file());
  EXPECT_FALSE(verifier->Verify(leaf, leaf + ReadFile(other_.ca()), nullptr).ok());
}

TEST(TlsVerifierCreate, CaFileWithoutCertificateIsAnError) {
  EXPECT_FALSE(ClientChainVerifier::Create("not a certificate").ok());
}

}  // namespace
}  // namespace preflight::testing
