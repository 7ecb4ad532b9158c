// The notification clients against real peers: aiosmtpd with STARTTLS and
// AUTH, a Python HTTPS listener and CONNECT proxy (tests/notify/), with
// certificates made by preflight-certs for the test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/notify/smtp_client.h"
#include "collector/notify/webhook_client.h"
#include "tests/notify/peers.h"
#include "tests/support/json.h"
#include "tests/support/pki.h"
#include "tests/support/temp_dir.h"

namespace preflight::collector::notify {
namespace {

using preflight::testing::Peer;
using preflight::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

class NotifyClientsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_dir_ = new TempDir();
    pki_ = new preflight::testing::TestPki(pki_dir_->Join("pki"), "example.org");
    pki_->IssueHost("web-1");  // a certificate that does not name localhost
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete pki_dir_;
  }
  std::string Cert() { return pki_->CollectorTls().cert_file(); }
  std::string Key() { return pki_->CollectorTls().key_file(); }

  v1::SmtpChannel Smtp(const Peer& peer, const std::string& password) {
    v1::SmtpChannel c;
    c.set_host("localhost");
    c.set_port(peer.port());
    c.set_user("alerts");
    const std::string file = dir_.Join("smtp-password");
    preflight::testing::WriteFile(file, password + "\n", 0600);
    c.set_password_file(file);
    c.set_from("preflight@opencrvs.example");
    c.add_to("ops@opencrvs.example");
    c.add_to("security@opencrvs.example");
    c.set_ca_file(pki_->ca());
    return c;
  }

  static TempDir* pki_dir_;
  static preflight::testing::TestPki* pki_;
  TempDir dir_;
};
TempDir* NotifyClientsTest::pki_dir_ = nullptr;
preflight::testing::TestPki* NotifyClientsTest::pki_ = nullptr;

TEST_F(NotifyClientsTest, SmtpSendsOverStartTlsWithAuthPlain) {
  auto peer = preflight::testing::StartSmtpPeer(dir_.Join("smtp"), Cert(), Key(), "alerts",
                                                "correct horse");
  SmtpClient client(Smtp(*peer, "correct horse"), absl::Seconds(10));
  const absl::Time date = absl::FromUnixSeconds(1796000000);
  ASSERT_TRUE(client
                  .Send({"preflight-7-9", "[preflight] 2 regressions: web-1",
                         "first line\n.a line that starts with a dot\nlast line"},
                        date)
                  .ok());
  std::vector<std::string> got = peer->Received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_THAT(got[0], HasSubstr("X-Test-Tls: yes"));
  EXPECT_THAT(got[0], HasSubstr("X-Test-Envelope-From: preflight@opencrvs.example"));
  EXPECT_THAT(got[0],
              HasSubstr("X-Test-Envelope-To: ops@opencrvs.example,security@opencrvs.example"));
  EXPECT_THAT(got[0], HasSubstr("Message-ID: <preflight-7-9@preflight>"));
  EXPECT_THAT(got[0], HasSubstr("X-Preflight-Message-Id: preflight-7-9"));
  EXPECT_THAT(got[0], HasSubstr("Subject: [preflight] 2 regressions: web-1"));
  EXPECT_THAT(got[0], HasSubstr("Date: Mon, 30 Nov 2026 00:53:20 +0000"));
  // The server undoes the dot-stuffing: the line arrives as written.
  EXPECT_THAT(got[0], HasSubstr("\r\n.a line that starts with a dot\r\nlast line\r\n"));
}

TEST_F(NotifyClientsTest, SmtpWrongPasswordIsAnErrorThatDoesNotShowIt) {
  auto peer = preflight::testing::StartSmtpPeer(dir_.Join("smtp"), Cert(), Key(), "alerts",
                                                "correct horse");
  SmtpClient client(Smtp(*peer, "battery staple"), absl::Seconds(10));
  absl::Status sent = client.Send({"preflight-1-1", "s", "b"}, absl::Now());
  ASSERT_FALSE(sent.ok());
  EXPECT_THAT(std::string(sent.message()), HasSubstr("AUTH PLAIN as alerts: 535"));
  EXPECT_THAT(std::string(sent.message()), Not(HasSubstr("battery")));
  EXPECT_TRUE(peer->Received().empty());
}

TEST_F(NotifyClientsTest, SmtpWithoutStartTlsSendsNothingUnlessPlaintextIsAllowed) {
  auto peer = preflight::testing::StartSmtpPeer(dir_.Join("smtp"), "", "", "", "", true);
  v1::SmtpChannel c = Smtp(*peer, "unused");
  c.clear_user();
  c.set_host("127.0.0.1");
  absl::Status refused =
      SmtpClient(c, absl::Seconds(10)).Send({"preflight-1-1", "s", "b"}, absl::Now());
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_THAT(std::string(refused.message()), HasSubstr("does not offer STARTTLS"));
  EXPECT_TRUE(peer->Received().empty());

  c.set_allow_plaintext(true);
  ASSERT_TRUE(SmtpClient(c, absl::Seconds(10)).Send({"preflight-1-1", "s", "b"}, absl::Now()).ok());
  std::vector<std::string> got = peer->Received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_THAT(got[0], HasSubstr("X-Test-Tls: no"));
}

TEST_F(NotifyClientsTest, SmtpVerifiesTheServerCertificate) {
  // A certificate from our CA, but a host's: client authentication only, no
  // DNS name.
  auto wrong_name =
      preflight::testing::StartSmtpPeer(dir_.Join("smtp1"), pki_->HostTls("web-1").cert_file(),
                                        pki_->HostTls("web-1").key_file(), "alerts", "pw");
  absl::Status sent =
      SmtpClient(Smtp(*wrong_name, "pw"), absl::Seconds(10)).Send({"i", "s", "b"}, absl::Now());
  ASSERT_FALSE(sent.ok());
  EXPECT_THAT(std::string(sent.message()), HasSubstr("TLS with"));
  EXPECT_THAT(std::string(sent.message()), HasSubstr("certificate verify failed"));
  // The right name, but the system store does not know our CA.
  auto unknown_ca =
      preflight::testing::StartSmtpPeer(dir_.Join("smtp2"), Cert(), Key(), "alerts", "pw");
  v1::SmtpChannel c = Smtp(*unknown_ca, "pw");
  c.clear_ca_file();
  sent = SmtpClient(c, absl::Seconds(10)).Send({"i", "s", "b"}, absl::Now());
  ASSERT_FALSE(sent.ok());
  EXPECT_THAT(std::string(sent.message()), HasSubstr("certificate verify failed"));
  EXPECT_TRUE(wrong_name->Received().empty());
  EXPECT_TRUE(unknown_ca->Received().empty());
}

TEST_F(NotifyClientsTest, SmtpTimesOutOnASilentServer) {
  // A listening socket that never greets: the python peer is not needed.
  auto peer = std::make_unique<Peer>(dir_.Join("silent"), "https_peer.py",
                                     std::vector<std::string>{"proxy", "--log", dir_.Join("log")});
  v1::SmtpChannel c = Smtp(*peer, "pw");
  const absl::Time start = absl::Now();
  absl::Status sent = SmtpClient(c, absl::Seconds(1)).Send({"i", "s", "b"}, absl::Now());
  EXPECT_EQ(sent.code(), absl::StatusCode::kDeadlineExceeded) << sent;
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(NotifyClientsTest, WebhookPostsSlackJsonWithTheMessageId) {
  auto peer = preflight::testing::StartHttpsPeer(dir_.Join("https"), Cert(), Key());
  v1::WebhookChannel w;
  w.set_name("ops-slack");
  w.set_url(absl::StrCat("https://localhost:", peer->port(), "/services/T000/B000/secretpath"));
  w.set_ca_file(pki_->ca());
  WebhookClient client(w, "", absl::Seconds(10));
  ASSERT_TRUE(client.Send("preflight-3-4", "web-1: \"ssh\" FAIL\n\tsecond line \\ done").ok());
  std::vector<std::string> got = peer->Received();
  ASSERT_EQ(got.size(), 1u);
  auto req = preflight::testing::ParseJson(got[0]);
  EXPECT_EQ(preflight::testing::Field(req, "path").string_value(),
            "/services/T000/B000/secretpath");
  const auto& headers = preflight::testing::Field(req, "headers");
  EXPECT_EQ(preflight::testing::Field(headers, "Idempotency-Key").string_value(), "preflight-3-4");
  EXPECT_EQ(preflight::testing::Field(headers, "X-Preflight-Message-Id").string_value(),
            "preflight-3-4");
  EXPECT_EQ(preflight::testing::Field(headers, "Content-Type").string_value(), "application/json");
  auto body = preflight::testing::ParseJson(preflight::testing::Field(req, "body").string_value());
  EXPECT_EQ(preflight::testing::Field(body, "text").string_value(),
            "web-1: \"ssh\" FAIL\n\tsecond line \\ done");
}

TEST_F(NotifyClientsTest, WebhookGoesThroughTheProxyTunnel) {
  auto peer = preflight::testing::StartHttpsPeer(dir_.Join("https"), Cert(), Key());
  auto proxy = preflight::testing::StartProxyPeer(dir_.Join("proxy"));
  v1::WebhookChannel w;
  w.set_name("ops");
  w.set_url(absl::StrCat("https://127.0.0.1:", peer->port(), "/hook"));
  w.set_ca_file(pki_->ca());
  WebhookClient client(w, absl::StrCat("http://127.0.0.1:", proxy->port()), absl::Seconds(10));
  ASSERT_TRUE(client.Send("preflight-5-5", "through the proxy").ok());
  EXPECT_EQ(preflight::testing::ReadFile(proxy->out_dir() + "/log"),
            absl::StrCat("CONNECT 127.0.0.1:", peer->port(), "\n"));
  ASSERT_EQ(peer->Received().size(), 1u);
  EXPECT_THAT(peer->Received()[0], HasSubstr("through the proxy"));
}

TEST_F(NotifyClientsTest, WebhookErrorsNameTheStatusButNotTheSecretPath) {
  auto peer = preflight::testing::StartHttpsPeer(dir_.Join("https"), Cert(), Key(), 503);
  v1::WebhookChannel w;
  w.set_name("ops");
  w.set_url(absl::StrCat("https://localhost:", peer->port(), "/T000/secretpath"));
  w.set_ca_file(pki_->ca());
  absl::Status sent = WebhookClient(w, "", absl::Seconds(10)).Send("id", "x");
  ASSERT_FALSE(sent.ok());
  EXPECT_THAT(std::string(sent.message()), HasSubstr("webhook ops"));
  EXPECT_THAT(std::string(sent.message()), HasSubstr("503"));
  EXPECT_THAT(std::string(sent.message()), Not(HasSubstr("secretpath")));
  // The system store does not know our CA: nothing is posted.
  auto other = preflight::testing::StartHttpsPeer(dir_.Join("https2"), Cert(), Key());
  w.set_url(absl::StrCat("https://localhost:", other->port(), "/T000/secretpath"));
  w.clear_ca_file();
  sent = WebhookClient(w, "", absl::Seconds(10)).Send("id", "x");
  EXPECT_THAT(std::string(sent.message()), HasSubstr("certificate verify failed"));
  EXPECT_TRUE(other->Received().empty());
}

TEST_F(NotifyClientsTest, ConfigurationMistakesNameTheField) {
  v1::WebhookChannel w;
  w.set_name("ops");
  w.set_url("http://hooks.example/secret");
  EXPECT_THAT(WebhookClient::Validate(w, "").message(),
              HasSubstr("notifications.webhook ops: url"));
  w.set_url("https://hooks.example/secret");
  EXPECT_TRUE(WebhookClient::Validate(w, "").ok());
  EXPECT_THAT(WebhookClient::Validate(w, "https://proxy:3128").message(),
              HasSubstr("notifications.https_proxy"));
  v1::SmtpChannel s;
  s.set_host("smtp.example");
  s.set_from("a@example");
  EXPECT_THAT(SmtpClient::Validate(s).message(), HasSubstr("notifications.smtp.to"));
  s.add_to("b@example");
  s.set_user("u");
  EXPECT_THAT(SmtpClient::Validate(s).message(), HasSubstr("password_file"));
}

}  // namespace
}  // namespace preflight::collector::notify
