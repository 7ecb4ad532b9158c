// Tests for proto/wire/identity: SPIFFE ids and certificate identities, with
// certificates made at test time by certs/preflight-certs and openssl.
#include "proto/wire/identity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "proto/wire/revocation.h"
#include "tests/support/pki.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight {
namespace {

using ::testing::HasSubstr;

// ------------------------------------------------------------- ParseSpiffeId

struct ValidCase {
  std::string uri;
  PeerIdentity::Kind kind;
  std::string trust_domain;
  std::string name;
  std::string to_string;
};
void PrintTo(const ValidCase& c, std::ostream* os) { *os << c.uri; }

class ParseSpiffeIdValidTest : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ParseSpiffeIdValidTest, Parses) {
  const ValidCase& c = GetParam();
  auto id = ParseSpiffeId(c.uri);
  ASSERT_TRUE(id.ok()) << c.uri << ": " << id.status();
  EXPECT_EQ(id->kind, c.kind);
  EXPECT_EQ(id->trust_domain, c.trust_domain);
  EXPECT_EQ(id->name, c.name);
  EXPECT_EQ(id->ToString(), c.to_string);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseSpiffeIdValidTest,
    ::testing::Values(
        ValidCase{"spiffe://opencrvs.example.org/host/prod-01", PeerIdentity::Kind::kHost,
                  "opencrvs.example.org", "prod-01", "host/prod-01"},
        ValidCase{"spiffe://td/operator/alice", PeerIdentity::Kind::kOperator, "td", "alice",
                  "operator/alice"},
        ValidCase{"spiffe://td/auditor/Bob_2.x", PeerIdentity::Kind::kAuditor, "td", "Bob_2.x",
                  "auditor/Bob_2.x"},
        ValidCase{"spiffe://gov-x.test/collector", PeerIdentity::Kind::kCollector, "gov-x.test", "",
                  "collector"},
        ValidCase{"spiffe://td/host/" + std::string(63, 'a'), PeerIdentity::Kind::kHost, "td",
                  std::string(63, 'a'), "host/" + std::string(63, 'a')},
        ValidCase{"spiffe://td/host/1", PeerIdentity::Kind::kHost, "td", "1", "host/1"}));

class ParseSpiffeIdInvalidTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ParseSpiffeIdInvalidTest, Refused) {
  auto id = ParseSpiffeId(GetParam());
  ASSERT_FALSE(id.ok()) << GetParam() << " parsed as " << id->ToString();
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Scheme, ParseSpiffeIdInvalidTest,
                         ::testing::Values("https://td/host/x", "spiffe:/td/host/x",
                                           "SPIFFE://td/host/x", "td/host/x", "", "spiffe://"));
INSTANTIATE_TEST_SUITE_P(Kind, ParseSpiffeIdInvalidTest,
                         ::testing::Values("spiffe://td/admin/x", "spiffe://td/Host/x",
                                           "spiffe://td/hosts/x", "spiffe://td/collector/x",
                                           "spiffe://td/host", "spiffe://td/operator",
                                           "spiffe://td//x"));
INSTANTIATE_TEST_SUITE_P(Name, ParseSpiffeIdInvalidTest,
                         ::testing::Values("spiffe://td/host/",
                                           "spiffe://td/host/" + std::string(64, 'a'),
                                           "spiffe://td/host/a/b", "spiffe://td/host/x/",
                                           "spiffe://td/host/.hidden", "spiffe://td/host/-x",
                                           "spiffe://td/host/_x", "spiffe://td/host/a b",
                                           "spiffe://td/host/a@b", "spiffe://td/operator/a:b"));
INSTANTIATE_TEST_SUITE_P(TrustDomain, ParseSpiffeIdInvalidTest,
                         ::testing::Values("spiffe://Example.org/host/x", "spiffe:///host/x",
                                           "spiffe://td_x/host/x", "spiffe://td:8443/host/x",
                                           "spiffe://user@td/host/x"));

// ---------------------------------------------------------- IdentityFromPem

class IdentityFromPemTest : public ::testing::Test {
 protected:
  static constexpr char kTrustDomain[] = "test.local";

  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    pki_ = new testing::TestPki(dir_->Join("pki"), kTrustDomain);
    pki_->IssueHost("prod-01");
    pki_->IssueOperator("alice");
    pki_->IssueAuditor("carol");
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete dir_;
    pki_ = nullptr;
    dir_ = nullptr;
  }

  // A self-signed certificate made with the openssl CLI; `san` may be empty.
  static std::string SelfSigned(const std::string& stem, const std::string& san) {
    std::vector<std::string> argv = {"openssl",
                                     "req",
                                     "-x509",
                                     "-newkey",
                                     "ec",
                                     "-pkeyopt",
                                     "ec_paramgen_curve:P-256",
                                     "-nodes",
                                     "-days",
                                     "1",
                                     "-subj",
                                     "/CN=" + stem,
                                     "-keyout",
                                     dir_->Join(stem + ".key"),
                                     "-out",
                                     dir_->Join(stem + ".pem")};
    if (!san.empty()) {
      argv.push_back("-addext");
      argv.push_back("subjectAltName=" + san);
    }
    testing::RunResult r = testing::RunProcess(argv, absl::Seconds(30));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return testing::ReadFile(dir_->Join(stem + ".pem"));
  }

  static testing::TempDir* dir_;
  static testing::TestPki* pki_;
};

testing::TempDir* IdentityFromPemTest::dir_ = nullptr;
testing::TestPki* IdentityFromPemTest::pki_ = nullptr;

TEST_F(IdentityFromPemTest, HostCertificate) {
  std::string pem = testing::ReadFile(pki_->HostTls("prod-01").cert_file());
  ASSERT_FALSE(pem.empty());
  auto id = IdentityFromPem(pem);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->kind, PeerIdentity::Kind::kHost);
  EXPECT_EQ(id->trust_domain, kTrustDomain);
  EXPECT_EQ(id->name, "prod-01");
}

TEST_F(IdentityFromPemTest, OperatorCertificate) {
  auto id = IdentityFromPem(testing::ReadFile(pki_->OperatorTls("alice").cert_file()));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->kind, PeerIdentity::Kind::kOperator);
  EXPECT_EQ(id->trust_domain, kTrustDomain);
  EXPECT_EQ(id->name, "alice");
}

TEST_F(IdentityFromPemTest, AuditorCertificate) {
  auto id = IdentityFromPem(testing::ReadFile(pki_->AuditorTls("carol").cert_file()));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->kind, PeerIdentity::Kind::kAuditor);
  EXPECT_EQ(id->name, "carol");
}

TEST_F(IdentityFromPemTest, CollectorCertificate) {
  auto id = IdentityFromPem(testing::ReadFile(pki_->CollectorTls().cert_file()));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->kind, PeerIdentity::Kind::kCollector);
  EXPECT_EQ(id->trust_domain, kTrustDomain);
}

TEST_F(IdentityFromPemTest, SingleSpiffeUriFromOpenssl) {
  // Control for the refusals below: the same recipe with one URI is accepted.
  std::string pem = SelfSigned("one", "URI:spiffe://a/host/x,DNS:x.example.org");
  auto id = IdentityFromPem(pem);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->trust_domain, "a");
  EXPECT_EQ(id->name, "x");
}

TEST_F(IdentityFromPemTest, TwoUriSansAreRefused) {
  std::string pem = SelfSigned("two", "URI:spiffe://a/host/x,URI:spiffe://a/host/y");
  ASSERT_FALSE(pem.empty());
  auto id = IdentityFromPem(pem);
  ASSERT_FALSE(id.ok()) << "accepted as " << id->ToString();
  EXPECT_THAT(id.status().message(), HasSubstr("exactly one URI SAN"));
}

TEST_F(IdentityFromPemTest, NoSanIsRefused) {
  std::string pem = SelfSigned("none", "");
  ASSERT_FALSE(pem.empty());
  auto id = IdentityFromPem(pem);
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(id.status().message(), HasSubstr("exactly one URI SAN"));
}

TEST_F(IdentityFromPemTest, DnsOnlySanIsRefused) {
  auto id = IdentityFromPem(SelfSigned("dns", "DNS:prod-01.example.org"));
  EXPECT_FALSE(id.ok());
}

TEST_F(IdentityFromPemTest, NonSpiffeUriIsRefused) {
  auto id = IdentityFromPem(SelfSigned("https", "URI:https://a/host/x"));
  EXPECT_FALSE(id.ok());
}

TEST_F(IdentityFromPemTest, GarbageIsRefused) {
  EXPECT_FALSE(IdentityFromPem("").ok());
  EXPECT_FALSE(
      IdentityFromPem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").ok());
  // A private key is not a certificate.
  EXPECT_FALSE(IdentityFromPem(testing::ReadFile(pki_->HostTls("prod-01").key_file())).ok());
}

}  // namespace
}  // namespace preflight

// Revocation (proto/wire/revocation.h) against CRLs made by certs/.
namespace preflight {
namespace {

TEST(Revocation, RevokedSerialsAndForeignCrls) {
  testing::TempDir tmp;
  testing::TestPki pki(tmp.Join("pki"), "test.local");
  pki.IssueOperator("alice");
  pki.IssueOperator("mallory");
  pki.Revoke(pki.OperatorTls("mallory").cert_file());
  RevocationChecker checker(pki.crl(), pki.ca());
  ASSERT_TRUE(checker.Load().ok());
  EXPECT_EQ(checker.revoked_count(), 1u);
  EXPECT_TRUE(checker.CheckPem(testing::ReadFile(pki.OperatorTls("alice").cert_file())).ok());
  absl::Status revoked =
      checker.CheckPem(testing::ReadFile(pki.OperatorTls("mallory").cert_file()));
  EXPECT_EQ(revoked.code(), absl::StatusCode::kPermissionDenied);
  // The serial named is the one openssl prints for the certificate.
  testing::RunResult serial = testing::RunProcess(
      {"openssl", "x509", "-noout", "-serial", "-in", pki.OperatorTls("mallory").cert_file()},
      absl::Seconds(10));
  ASSERT_EQ(serial.exit_code, 0);
  std::string hex(absl::StripAsciiWhitespace(serial.out.substr(serial.out.find('=') + 1)));
  EXPECT_TRUE(absl::StrContains(revoked.message(), hex)) << revoked << " vs " << hex;

  // A CRL signed by another CA is not trusted: fail closed.
  testing::TestPki other(tmp.Join("other"), "test.local");
  RevocationChecker foreign(other.crl(), pki.ca());
  EXPECT_FALSE(foreign.Load().ok());
  absl::Status closed = foreign.CheckPem(testing::ReadFile(pki.OperatorTls("alice").cert_file()));
  EXPECT_EQ(closed.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(closed.message(), "not signed by a CA")) << closed;
  // No CRL configured: checking is off.
  EXPECT_TRUE(RevocationChecker("", pki.ca()).CheckPem("anything").ok());
}

}  // namespace
}  // namespace preflight
