// The notifier over a real store (RocksDB in a temporary directory) and a
// real HTTPS listener (tests/notify/https_peer.py), with an injected clock:
// bursts, dedup, quiet hours, retries and giving up, the audit of channels.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "collector/notify/notifier.h"
#include "tests/notify/peers.h"
#include "tests/support/json.h"
#include "tests/support/pki.h"
#include "tests/support/temp_dir.h"

namespace preflight::collector::notify {
namespace {

using preflight::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

class NotifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_dir_ = new TempDir();
    pki_ = new preflight::testing::TestPki(pki_dir_->Join("pki"), "example.org");
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete pki_dir_;
  }

  void SetUp() override {
    auto store = Store::Open(dir_.Join("store"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  void StartPeer(int status = 200) {
    peer_ = preflight::testing::StartHttpsPeer(dir_.Join("https"), pki_->CollectorTls().cert_file(),
                                               pki_->CollectorTls().key_file(), status);
    config_.clear_webhook();
    v1::WebhookChannel* w = config_.add_webhook();
    w->set_name("ops");
    w->set_url(absl::StrCat("https://localhost:", peer_->port(), "/hook/secret"));
    w->set_ca_file(pki_->ca());
  }

  std::unique_ptr<Notifier> Make() {
    NotifierOptions o;
    o.clock = [this] { return now_; };
    o.log = [this](absl::string_view line) { log_.push_back(std::string(line)); };
    o.gating_environments = {"production"};
    o.io_timeout = absl::Seconds(10);
    o.retry_base = absl::Seconds(10);
    EXPECT_TRUE(Notifier::Validate(config_).ok()) << Notifier::Validate(config_);
    return std::make_unique<Notifier>(store_.get(), config_, o);
  }

  // A regression of `check` on web-1 at `at`.
  void Regress(absl::Time at, const std::string& check, const std::string& key = "",
               bool blocker = false) {
    v1::Event e;
    e.set_kind(v1::Event::TRANSITION);
    e.set_at_unix_ms(absl::ToUnixMillis(at));
    e.set_host_id("web-1");
    e.set_environment("production");
    e.set_check_id(check);
    e.set_from(v1::PASS);
    e.set_to(v1::FAIL);
    e.set_regression(true);
    e.set_blocker(blocker);
    e.set_summary(absl::StrCat(check, " failed on web-1"));
    e.set_dedup_key(key.empty() ? absl::StrCat("transition/web-1/", check, "/", e.at_unix_ms())
                                : key);
    Store::StateWrite w;
    w.events = {e};
    ASSERT_TRUE(store_->WriteState(std::move(w), at).ok());
  }
  void NotARegression(absl::Time at) {
    v1::Event e;
    e.set_kind(v1::Event::HOST_FRESH);
    e.set_at_unix_ms(absl::ToUnixMillis(at));
    e.set_host_id("web-2");
    e.set_summary("web-2 reports again");
    Store::StateWrite w;
    w.events = {e};
    ASSERT_TRUE(store_->WriteState(std::move(w), at).ok());
  }

  // The texts the listener received.
  std::vector<std::string> Texts() {
    std::vector<std::string> out;
    for (const std::string& r : peer_->Received()) {
      auto req = preflight::testing::ParseJson(r);
      auto body =
          preflight::testing::ParseJson(preflight::testing::Field(req, "body").string_value());
      out.push_back(preflight::testing::Field(body, "text").string_value());
    }
    return out;
  }
  std::vector<std::string> Ids() {
    std::vector<std::string> out;
    for (const std::string& r : peer_->Received()) {
      auto req = preflight::testing::ParseJson(r);
      out.push_back(
          preflight::testing::Field(preflight::testing::Field(req, "headers"), "Idempotency-Key")
              .string_value());
    }
    return out;
  }

  static TempDir* pki_dir_;
  static preflight::testing::TestPki* pki_;
  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<preflight::testing::Peer> peer_;
  v1::Notifications config_;
  absl::Time now_ = absl::FromCivil(absl::CivilSecond(2026, 12, 1, 12, 0, 0), absl::UTCTimeZone());
  std::vector<std::string> log_;
};
TempDir* NotifierTest::pki_dir_ = nullptr;
preflight::testing::TestPki* NotifierTest::pki_ = nullptr;

TEST_F(NotifierTest, OneMessagePerBurstAndDedupWithinTheWindow) {
  StartPeer();
  config_.set_burst_seconds(60);
  config_.set_dedup_seconds(3600);
  auto notifier = Make();
  const absl::Time t0 = now_;
  Regress(t0, "ssh.root_login", "flap/ssh");
  NotARegression(t0 + absl::Seconds(5));
  Regress(t0 + absl::Seconds(10), "tls.expiry");
  Regress(t0 + absl::Seconds(50), "disk.free");
  Regress(t0 + absl::Seconds(70), "time.sync");  // after the burst

  now_ = t0 + absl::Seconds(30);  // the burst is still open
  ASSERT_TRUE(notifier->RunOnce().ok());
  EXPECT_TRUE(peer_->Received().empty());

  now_ = t0 + absl::Seconds(61);
  auto wake = notifier->RunOnce();
  ASSERT_TRUE(wake.ok()) << wake.status();
  std::vector<std::string> texts = Texts();
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_THAT(texts[0], HasSubstr("3 regressions"));
  EXPECT_THAT(texts[0], HasSubstr("ssh.root_login failed on web-1"));
  EXPECT_THAT(texts[0], HasSubstr("tls.expiry failed on web-1"));
  EXPECT_THAT(texts[0], HasSubstr("disk.free failed on web-1"));
  EXPECT_THAT(texts[0], HasSubstr("PASS -> FAIL"));
  EXPECT_THAT(texts[0], Not(HasSubstr("time.sync")));
  EXPECT_THAT(texts[0], Not(HasSubstr("web-2")));
  EXPECT_EQ(Ids()[0], "preflight-1-4");  // events #1 to #4 (#2 is not a regression)
  // The next burst (time.sync at t0+70) is due at t0+130.
  EXPECT_EQ(*wake, t0 + absl::Seconds(130));
  EXPECT_EQ(*notifier->Pending(), 0u);

  // The same occurrence again (a flapping check) within the hour: dropped.
  Regress(t0 + absl::Seconds(100), "ssh.root_login", "flap/ssh");
  now_ = t0 + absl::Seconds(200);
  ASSERT_TRUE(notifier->RunOnce().ok());
  texts = Texts();
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_THAT(texts[1], HasSubstr("1 regression"));
  EXPECT_THAT(texts[1], HasSubstr("time.sync"));
  EXPECT_THAT(texts[1], Not(HasSubstr("ssh.root_login")));
  EXPECT_THAT(log_, ::testing::Contains(HasSubstr("1 deduplicated")));

  // After the window the key is notified again.
  Regress(t0 + absl::Seconds(3700), "ssh.root_login", "flap/ssh");
  now_ = t0 + absl::Seconds(3800);
  ASSERT_TRUE(notifier->RunOnce().ok());
  texts = Texts();
  ASSERT_EQ(texts.size(), 3u);
  EXPECT_THAT(texts[2], HasSubstr("ssh.root_login"));
  EXPECT_EQ(*notifier->Cursor(), store_->LastEventSeq());
}

TEST_F(NotifierTest, QuietHoursHoldMessagesUntilTheirEndUnlessUrgent) {
  StartPeer();
  config_.set_burst_seconds(60);
  config_.set_quiet_hours("22:00-07:00");
  config_.set_quiet_hours_tz("Africa/Kampala");  // UTC+3
  auto notifier = Make();
  auto local = [](int d, int h, int m) {
    absl::TimeZone tz;
    EXPECT_TRUE(absl::LoadTimeZone("Africa/Kampala", &tz));
    return absl::FromCivil(absl::CivilMinute(2026, 12, d, h, m), tz);
  };
  Regress(local(1, 23, 0), "ssh.root_login");
  Regress(local(2, 2, 0), "tls.expiry");
  now_ = local(1, 23, 30);
  auto wake = notifier->RunOnce();
  ASSERT_TRUE(wake.ok());
  EXPECT_EQ(*wake, local(2, 7, 0));
  now_ = local(2, 6, 59);
  ASSERT_TRUE(notifier->RunOnce().ok());
  EXPECT_TRUE(peer_->Received().empty());
  now_ = local(2, 7, 1);
  ASSERT_TRUE(notifier->RunOnce().ok());
  std::vector<std::string> texts = Texts();
  ASSERT_EQ(texts.size(), 1u);  // the night's regressions in one message
  EXPECT_THAT(texts[0], HasSubstr("2 regressions"));

  // A blocker regressing in a gating environment goes at night when asked.
  config_.set_urgent_in_quiet_hours(true);
  auto urgent = Make();
  Regress(local(2, 23, 0), "backup.recent", "", /*blocker=*/true);
  now_ = local(2, 23, 0) + absl::Seconds(30);  // its burst is still open
  ASSERT_TRUE(urgent->RunOnce().ok());
  EXPECT_EQ(peer_->Received().size(), 1u);
  now_ = local(2, 23, 2);
  ASSERT_TRUE(urgent->RunOnce().ok());
  texts = Texts();
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_THAT(texts[1], HasSubstr("backup.recent"));
  EXPECT_THAT(texts[1], HasSubstr("[blocker]"));
}

// A message that failed before the quiet hours began is not retried during
// them: the retry waits for their end like a new message.
TEST_F(NotifierTest, RetriesWaitForTheEndOfQuietHours) {
  StartPeer(503);
  config_.set_burst_seconds(60);
  config_.set_quiet_hours("22:00-07:00");
  auto notifier = Make();
  auto utc = [](int d, int h, int m) {
    return absl::FromCivil(absl::CivilMinute(2026, 12, d, h, m), absl::UTCTimeZone());
  };
  Regress(utc(1, 21, 50), "ssh.root_login");
  now_ = utc(1, 21, 52);
  ASSERT_TRUE(notifier->RunOnce().ok());  // attempt 1 fails (503)
  ASSERT_EQ(peer_->Received().size(), 1u);
  ASSERT_EQ(*notifier->Pending(), 1u);
  now_ = utc(1, 22, 5);  // the backoff (10 s) is long over, but it is night
  auto wake = notifier->RunOnce();
  ASSERT_TRUE(wake.ok()) << wake.status();
  EXPECT_EQ(peer_->Received().size(), 1u);
  EXPECT_EQ(*wake, utc(2, 7, 0));
  now_ = utc(2, 3, 0);
  ASSERT_TRUE(notifier->RunOnce().ok());
  EXPECT_EQ(peer_->Received().size(), 1u);
  now_ = utc(2, 7, 1);
  ASSERT_TRUE(notifier->RunOnce().ok());  // attempt 2, in the morning
  EXPECT_EQ(peer_->Received().size(), 2u);
  EXPECT_EQ(*notifier->Pending(), 1u);
}

TEST_F(NotifierTest, RetriesWithBackoffThenGivesUpAndAudits) {
  StartPeer(503);
  config_.set_burst_seconds(1);
  config_.set_max_attempts(3);
  auto notifier = Make();
  Regress(now_ - absl::Seconds(5), "ssh.root_login");
  ASSERT_TRUE(notifier->RunOnce().ok());  // attempt 1
  EXPECT_EQ(peer_->Received().size(), 1u);
  EXPECT_EQ(*notifier->Pending(), 1u);
  now_ += absl::Seconds(9);
  ASSERT_TRUE(notifier->RunOnce().ok());  // backing off: 10 s
  EXPECT_EQ(peer_->Received().size(), 1u);
  now_ += absl::Seconds(1);
  ASSERT_TRUE(notifier->RunOnce().ok());  // attempt 2, then 20 s
  EXPECT_EQ(peer_->Received().size(), 2u);
  now_ += absl::Seconds(19);
  ASSERT_TRUE(notifier->RunOnce().ok());
  EXPECT_EQ(peer_->Received().size(), 2u);
  now_ += absl::Seconds(1);
  ASSERT_TRUE(notifier->RunOnce().ok());  // attempt 3: given up
  EXPECT_EQ(peer_->Received().size(), 3u);
  EXPECT_EQ(*notifier->Pending(), 0u);
  std::vector<std::string> ids = Ids();
  EXPECT_EQ(ids[0], ids[1]);
  EXPECT_EQ(ids[1], ids[2]);
  auto audit = store_->AuditEntries();
  ASSERT_TRUE(audit.ok());
  bool given_up = false;
  for (const auto& e : *audit) {
    if (e.entry.action() == "notification-given-up") {
      given_up = true;
      EXPECT_EQ(e.entry.subject(), absl::StrCat(ids[0], " via webhook:ops"));
      EXPECT_THAT(e.entry.detail(), HasSubstr("3 attempts"));
      EXPECT_THAT(e.entry.detail(), HasSubstr("503"));
      EXPECT_THAT(e.entry.detail(), Not(HasSubstr("secret")));
    }
  }
  EXPECT_TRUE(given_up);
  EXPECT_THAT(log_, ::testing::Contains(HasSubstr("(attempt 2 of 3)")));
}

TEST_F(NotifierTest, ChannelsAreAuditedWhenTheyChangeWithoutSecrets) {
  StartPeer();
  auto count = [&] {
    auto entries = store_->AuditEntries();
    EXPECT_TRUE(entries.ok());
    int n = 0;
    for (const auto& e : entries.value_or(std::vector<StoredAuditEntry>{})) {
      n += e.entry.action() == "notifications";
    }
    return n;
  };
  ASSERT_TRUE(Make()->AuditConfiguration().ok());
  EXPECT_EQ(count(), 1);
  ASSERT_TRUE(Make()->AuditConfiguration().ok());
  EXPECT_EQ(count(), 1);  // unchanged
  config_.set_dedup_seconds(600);
  ASSERT_TRUE(Make()->AuditConfiguration().ok());
  EXPECT_EQ(count(), 2);
  auto entries = store_->AuditEntries();
  ASSERT_TRUE(entries.ok());
  for (const auto& e : *entries) EXPECT_THAT(e.entry.detail(), Not(HasSubstr("secret")));
}

}  // namespace
}  // namespace preflight::collector::notify
