// At least once, never twice beyond the window: a notifier process over a
// real store, sending to a real SMTP server (aiosmtpd, STARTTLS, AUTH), is
// SIGKILLed after the server accepted a message and before the outbox
// marked it sent. After a restart every regression has been notified, the
// one message in flight at the kill arrived twice with the same Message-ID,
// and nothing else twice.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <memory>
#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/store/store.h"
#include "tests/notify/peers.h"
#include "tests/support/cluster.h"
#include "tests/support/pki.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight::testing {
namespace {

using ::testing::HasSubstr;

std::string MessageId(const std::string& mail) {
  std::smatch m;
  return std::regex_search(mail, m, std::regex("Message-ID: <([^>]+)>")) ? m[1].str() : "";
}

TEST(NotifyE2eTest, KilledBetweenSendAndMarkSentResendsOnlyTheMessageInFlight) {
  TempDir dir;
  TestPki pki(dir.Join("pki"), "example.org");
  auto smtp = StartSmtpPeer(dir.Join("smtp"), pki.CollectorTls().cert_file(),
                            pki.CollectorTls().key_file(), "alerts", "pw-in-a-file");
  WriteFile(dir.Join("password"), "pw-in-a-file\n", 0600);
  WriteFile(dir.Join("notifications.textproto"),
            absl::StrCat("smtp { host: \"localhost\" port: ", smtp->port(),
                         " user: \"alerts\" password_file: \"", dir.Join("password"),
                         "\" from: \"preflight@opencrvs.example\" to: \"ops@opencrvs.example\""
                         " ca_file: \"",
                         pki.ca(), "\" }\nburst_seconds: 1\n"));

  // Five regressions, two seconds apart from now on (one burst each), and
  // events that are not regressions between them.
  const int kRegressions = 5;
  {
    auto store = collector::Store::Open(dir.Join("store"));
    ASSERT_TRUE(store.ok()) << store.status();
    const absl::Time start = absl::Now();
    for (int i = 0; i < kRegressions; ++i) {
      v1::Event r;
      r.set_kind(i % 2 == 0 ? v1::Event::TRANSITION : v1::Event::HOST_STALE);
      r.set_at_unix_ms(absl::ToUnixMillis(start + absl::Seconds(2 * i)));
      r.set_host_id(absl::StrCat("web-", i));
      r.set_regression(true);
      r.set_summary(absl::StrCat("regression number ", i));
      r.set_dedup_key(absl::StrCat("e2e/", i));
      v1::Event quiet;
      quiet.set_kind(v1::Event::HOST_FRESH);
      quiet.set_at_unix_ms(r.at_unix_ms());
      quiet.set_summary("not a regression");
      collector::Store::StateWrite w;
      w.events = {r, quiet};
      ASSERT_TRUE((*store)->WriteState(std::move(w), start).ok());
    }
  }

  const std::vector<std::string> argv = {PREFLIGHT_NOTIFY_RUNNER, dir.Join("store"),
                                         dir.Join("notifications.textproto")};
  std::vector<std::string> held = argv;
  held.insert(held.end(), {"--hold-after-send", "3"});
  auto first = Process::Start(held, dir.Join("run1.out"), dir.Join("run1.err"));
  std::string in_flight;
  ASSERT_TRUE(WaitFor(
      [&] {
        std::smatch m;
        const std::string err = ReadFile(dir.Join("run1.err"));
        if (!std::regex_search(err, m, std::regex("HOLD (\\S+)"))) return false;
        in_flight = m[1].str();
        return true;
      },
      absl::Seconds(60)))
      << ReadFile(dir.Join("run1.err"));
  first->Signal(SIGKILL);
  EXPECT_EQ(first->Wait(absl::Seconds(10)), 128 + SIGKILL);
  ASSERT_EQ(smtp->Received().size(), 3u);
  EXPECT_EQ(MessageId(smtp->Received()[2]), absl::StrCat(in_flight, "@preflight"));

  std::vector<std::string> until_idle = argv;
  until_idle.push_back("--until-idle");
  RunResult second = RunProcess(until_idle, absl::Seconds(60));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_THAT(second.err, HasSubstr(absl::StrCat("sent ", in_flight, " via smtp (attempt 1")));

  std::map<std::string, int> copies;
  std::string all;
  for (const std::string& mail : smtp->Received()) {
    ++copies[MessageId(mail)];
    all += mail;
    EXPECT_THAT(mail, HasSubstr("X-Test-Tls: yes"));
  }
  for (const auto& [id, n] : copies) {
    EXPECT_FALSE(id.empty());
    EXPECT_EQ(n, id == absl::StrCat(in_flight, "@preflight") ? 2 : 1) << id;
  }
  EXPECT_EQ(copies.count(absl::StrCat(in_flight, "@preflight")), 1u);
  for (int i = 0; i < kRegressions; ++i) {
    EXPECT_THAT(all, HasSubstr(absl::StrCat("regression number ", i))) << i;
  }
  EXPECT_THAT(all, ::testing::Not(HasSubstr("not a regression")));
  EXPECT_THAT(all + second.err + ReadFile(dir.Join("run1.err")),
              ::testing::Not(HasSubstr("pw-in-a-file")));
}

// Through a real collector: an agent's second report turns a passing check
// into a failure (root login allowed in a drop-in); Store::Ingest appends the
// regression and the collector's notifier posts it to the webhook.
TEST(NotifyE2eTest, ACollectorPostsARegressionToTheWebhook) {
  TestCluster cluster(OneManager());
  auto https = StartHttpsPeer(cluster.dir().Join("https"), cluster.pki().CollectorTls().cert_file(),
                              cluster.pki().CollectorTls().key_file());
  v1::CollectorConfig extra;
  v1::Notifications* n = extra.mutable_notifications();
  n->set_burst_seconds(1);
  v1::WebhookChannel* w = n->add_webhook();
  w->set_name("ops");
  w->set_url(absl::StrCat("https://localhost:", https->port(), "/hook/secret"));
  w->set_ca_file(cluster.pki().ca());
  cluster.SetCollectorConfig(extra);
  cluster.StartCollector();
  const std::string root = cluster.dir().Join("root");
  CopyTree(FixtureRoot("opencrvs-manager"), root);
  RunResult first = cluster.AgentOnce("prod-01", root);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  WriteFile(root + "/etc/ssh/sshd_config.d/99-debug.conf", "PermitRootLogin yes\n");
  RunResult second = cluster.AgentOnce("prod-01", root);
  ASSERT_EQ(second.exit_code, 0) << second.err;

  ASSERT_TRUE(WaitFor([&] { return !https->Received().empty(); }, absl::Seconds(30)))
      << cluster.collector_log();
  const std::string post = https->Received()[0];
  EXPECT_THAT(post, HasSubstr("prod-01"));
  EXPECT_THAT(post, HasSubstr("-> FAIL"));
  EXPECT_THAT(post, HasSubstr("\"Idempotency-Key\": \"preflight-"));
  // The collector logs "sent" once it has read the webhook's answer, which
  // may be a moment after the peer has the post (a loaded CI machine).
  EXPECT_TRUE(WaitFor(
      [&] { return absl::StrContains(cluster.collector_log(), "notifications: sent preflight-"); },
      absl::Seconds(30)))
      << cluster.collector_log();
  EXPECT_THAT(cluster.collector_log(), ::testing::Not(HasSubstr("/hook/secret")));
  bool audited = false;
  for (const auto& e : cluster.AuditEntries()) {
    if (e.struct_value().fields().at("action").string_value() == "notifications") audited = true;
  }
  EXPECT_TRUE(audited);
}

}  // namespace
}  // namespace preflight::testing
