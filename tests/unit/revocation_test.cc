// proto/wire/revocation.h against CRLs made by certs/ (openssl ca): a CRL past
// its nextUpdate fails closed, the warning from a week before, and what the
// collector's watch of the file relies on (generation, checks as loaded).
#include "proto/wire/revocation.h"

#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "tests/support/pki.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight {
namespace {

class RevocationTest : public ::testing::Test {
 protected:
  RevocationTest() : pki_(tmp_.Join("pki"), "test.local") {
    pki_.IssueOperator("alice");
    pki_.IssueHost("web-1");
  }

  std::string Pem(const std::string& file) { return testing::ReadFile(file); }
  std::string Alice() { return Pem(pki_.OperatorTls("alice").cert_file()); }

  testing::TempDir tmp_;
  testing::TestPki pki_;
};

// Seconds are what a CRL holds.
absl::Time Whole(absl::Time t) { return absl::FromUnixSeconds(absl::ToUnixSeconds(t)); }

TEST_F(RevocationTest, CrlPastNextUpdateRefusesEveryCertificate) {
  const absl::Time now = Whole(absl::Now());
  const absl::Time next = now - absl::Hours(1);
  pki_.ResignCrlValid(now - absl::Hours(30), next);
  RevocationChecker checker(pki_.crl(), pki_.ca());
  ASSERT_TRUE(checker.Load().ok()) << "an expired CRL still loads, to say why nobody gets in";
  for (const std::string& cert :
       {pki_.OperatorTls("alice").cert_file(), pki_.HostTls("web-1").cert_file()}) {
    absl::Status s = checker.CheckPem(Pem(cert));
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
    EXPECT_TRUE(IsCrlStateRefusal(s)) << s;
    const std::string date = absl::FormatTime("%Y-%m-%d %H:%M:%S", next, absl::UTCTimeZone());
    EXPECT_TRUE(absl::StrContains(s.message(), "the CRL expired on " + date)) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), "revocation state unknown")) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), "certs/preflight-certs crl")) << s;
  }
  CrlState state = checker.State();
  EXPECT_TRUE(state.expired);
  EXPECT_EQ(state.next_update, next);
  EXPECT_EQ(state.last_update, now - absl::Hours(30));
  EXPECT_TRUE(absl::StrContains(CrlWarning(state), "every certificate is refused"))
      << CrlWarning(state);

  // Re-signed: the file changed, so the next check reads it and lets in.
  pki_.ResignCrl(30);
  EXPECT_TRUE(checker.CheckPem(Alice()).ok());
  EXPECT_FALSE(checker.State().expired);
}

TEST_F(RevocationTest, ExpiryFollowsTheClockAndWarnsAWeekAhead) {
  pki_.ResignCrl(10);
  absl::Time now = absl::Now();
  RevocationChecker checker(pki_.crl(), pki_.ca(), [&now] { return now; });
  ASSERT_TRUE(checker.Load().ok());
  const absl::Time next = checker.State().next_update;
  // certs/ signs it for 10 days from now (give or take the seconds it took).
  EXPECT_LT(absl::AbsDuration(next - (now + absl::Hours(240))), absl::Minutes(1));

  EXPECT_TRUE(checker.CheckPem(Alice()).ok());
  EXPECT_EQ(CrlWarning(checker.State()), "") << "10 days left: no warning yet";

  now = next - absl::Hours(3 * 24 + 1);
  EXPECT_TRUE(checker.CheckPem(Alice()).ok());
  const std::string warning = CrlWarning(checker.State());
  const std::string date = absl::FormatTime("%Y-%m-%d %H:%M:%S", next, absl::UTCTimeZone());
  EXPECT_TRUE(absl::StrContains(warning, "expires on " + date)) << warning;
  EXPECT_TRUE(absl::StrContains(warning, "in 3 day(s)")) << warning;

  now = next;
  absl::Status s = checker.CheckPem(Alice());
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_TRUE(IsCrlStateRefusal(s));
  EXPECT_TRUE(checker.State().expired);
}

TEST_F(RevocationTest, RevokedIsAVerdictOnOneCertificateNotOnTheCrl) {
  RevocationChecker checker(pki_.crl(), pki_.ca());
  ASSERT_TRUE(checker.Load().ok());
  const uint64_t before = checker.State().generation;
  const std::string web1 = Pem(pki_.HostTls("web-1").cert_file());
  auto serial = SerialOfPem(web1);
  ASSERT_TRUE(serial.ok());
  pki_.Revoke(pki_.HostTls("web-1").cert_file());

  // As loaded, nothing changed: the file is not read.
  EXPECT_TRUE(checker.CheckSerialAsLoaded(*serial).ok());
  EXPECT_EQ(checker.State().generation, before);
  // Refresh reads the changed file.
  CrlState state = checker.Refresh();
  EXPECT_NE(state.generation, before);
  EXPECT_EQ(state.revoked, 1u);
  absl::Status s = checker.CheckSerialAsLoaded(*serial);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(IsCrlStateRefusal(s)) << "only this certificate is refused";
  EXPECT_TRUE(absl::StrContains(s.message(), *serial)) << s;
  EXPECT_TRUE(checker.CheckPem(Alice()).ok());
  // Unchanged file: the same generation.
  EXPECT_EQ(checker.Refresh().generation, state.generation);

  // A CRL that cannot be read refuses everybody, as a CRL-wide refusal.
  testing::WriteFile(pki_.crl(), "not a CRL");
  absl::Status unusable = checker.CheckPem(Alice());
  EXPECT_EQ(unusable.code(), absl::StatusCode::kUnauthenticated) << unusable;
  EXPECT_TRUE(IsCrlStateRefusal(unusable));
  EXPECT_FALSE(checker.State().usable.ok());
  EXPECT_TRUE(absl::StrContains(CrlWarning(checker.State()), "cannot be used"));
}

TEST(CrlWarning, NothingWithoutACrl) {
  RevocationChecker off("", "ca.pem");
  EXPECT_EQ(CrlWarning(off.State()), "");
  EXPECT_TRUE(off.CheckSerial("01").ok());
}

}  // namespace
}  // namespace preflight
