// The evidence beside the sign-offs of items 7 and 8 (collector/checks/
// alerts.cc) from the alert history a manager's agent reports: last fired
// per host, ElastAlert's emails, a swarm node that never raised the
// SSH-login alert, and what an agent with the source off, or failing, gets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"
#include "tests/support/check_eval.h"

namespace preflight {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kNow = 1'766'000'000;  // 2025-12-17

v1::Verdict Evaluate(const v1::FactReport& report, const std::string& check, v1::Policy policy = {},
                     const std::string& role = "manager") {
  return testing::EvaluateCheck(report, check, policy,
                                testing::TestHost("prod-app-01", "production", role),
                                absl::FromUnixSeconds(kNow));
}

v1::AlertRuleHistory* AddRule(v1::AlertHistoryFact& f, const std::string& name,
                              const std::string& elastalert, uint64_t count, int64_t last,
                              uint64_t sent) {
  v1::AlertRuleHistory* r = f.add_rules();
  r->set_name(name);
  r->set_elastalert_rule(elastalert);
  r->set_count(count);
  r->set_last_fired_unix(last);
  r->set_sent_count(sent);
  r->set_last_sent_unix(sent > 0 ? last + 10 : 0);
  return r;
}

void AddHost(v1::AlertRuleHistory* r, const std::string& host, int64_t last) {
  v1::AlertHost* h = r->add_hosts();
  h->set_host(host);
  h->set_last_fired_unix(last);
  h->set_count(1);
}

// The manager that runs Elasticsearch, in a two-node swarm whose nodes both
// raised the SSH-login alert and whose root disk alert fired and emailed.
v1::FactReport Manager() {
  v1::FactReport r;
  v1::LogrotateFact& logs = *r.mutable_logrotate();
  logs.mutable_collection()->set_state(v1::Collection::OK);
  logs.add_logs()->set_path("/var/log/auth.log");
  r.mutable_release()->mutable_collection()->set_state(v1::Collection::OK);
  r.mutable_release()->add_services("opencrvs_filebeat");
  v1::SwarmFact& swarm = *r.mutable_swarm();
  swarm.mutable_collection()->set_state(v1::Collection::OK);
  swarm.set_manager(true);
  swarm.add_nodes()->set_hostname("prod-app-01");
  swarm.add_nodes()->set_hostname("PROD-DATA-01");
  v1::AlertHistoryFact& f = *r.mutable_alert_history();
  f.mutable_collection()->set_state(v1::Collection::OK);
  f.set_enabled(true);
  f.set_history_index(true);
  f.set_elastalert_index(true);
  v1::AlertRuleHistory* ssh = AddRule(f, "Successful SSH login", "ssh-alert", 3, 1765557651, 3);
  AddHost(ssh, "prod-app-01", 1765557651);
  AddHost(ssh, "prod-data-01", 1765440137);
  v1::AlertRuleHistory* root =
      AddRule(f, "Available disk space in root file system", "alert", 1, 1765279800, 1);
  AddHost(root, "prod-app-01", 1765279800);
  AddRule(f, "Low on available disk space in data partition", "alert", 0, 0, 1);
  return r;
}

TEST(SshLoginAlertHistory, EveryNodeRaisedItAndElastalertSentIt) {
  v1::Verdict v = Evaluate(Manager(), "alert.ssh_login");
  EXPECT_EQ(v.status(), v1::PASS) << testing::EvidenceMessages(v);
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("\"Successful SSH login\" fired 3 time(s), last "
                        "2025-12-12 16:40 UTC"));
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("prod-data-01: last fired 2025-12-11 08:02 UTC"));
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("ElastAlert's rule ssh-alert sent 3 email(s)"));
}

TEST(SshLoginAlertHistory, ANodeThatNeverRaisedItWarnsNamingIt) {
  v1::FactReport r = Manager();
  r.mutable_swarm()->add_nodes()->set_hostname("prod-worker-02");
  v1::Verdict v = Evaluate(r, "alert.ssh_login");
  EXPECT_EQ(v.status(), v1::WARN) << testing::EvidenceMessages(v);
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("swarm node prod-worker-02 never raised the SSH-login alert"));
  EXPECT_THAT(testing::EvidenceMessages(v), Not(HasSubstr("swarm node prod-app-01")));
  bool finding = false;
  for (const v1::Evidence& e : v.evidence()) finding |= e.finding() == "host=prod-worker-02";
  EXPECT_TRUE(finding);
}

TEST(SshLoginAlertHistory, NeverFiredOrNeverEmailedWarns) {
  v1::FactReport never = Manager();
  never.mutable_alert_history()->mutable_rules(0)->clear_hosts();
  never.mutable_alert_history()->mutable_rules(0)->set_count(0);
  v1::Verdict v = Evaluate(never, "alert.ssh_login");
  EXPECT_EQ(v.status(), v1::WARN);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("\"Successful SSH login\" never fired"));

  v1::FactReport silent = Manager();
  silent.mutable_alert_history()->mutable_rules(0)->set_sent_count(0);
  v = Evaluate(silent, "alert.ssh_login");
  EXPECT_EQ(v.status(), v1::WARN);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("ssh-alert never sent an email"));

  v1::FactReport no_elastalert = Manager();
  no_elastalert.mutable_alert_history()->set_elastalert_index(false);
  v = Evaluate(no_elastalert, "alert.ssh_login");
  EXPECT_EQ(v.status(), v1::WARN);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("elastalert_status does not exist"));
}

TEST(SshLoginAlertHistory, SourceOffKeepsTheLogEvidenceUnlessRequired) {
  v1::FactReport r = Manager();
  r.clear_alert_history();
  r.mutable_alert_history()->mutable_collection()->set_state(v1::Collection::ABSENT);
  v1::Verdict v = Evaluate(r, "alert.ssh_login");
  EXPECT_EQ(v.status(), v1::PASS) << testing::EvidenceMessages(v);
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("application { elasticsearch: true } is not set"));
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("/var/log/auth.log"));

  v1::Policy required;
  required.set_require_application_evidence(true);
  v = Evaluate(r, "alert.ssh_login", required);
  EXPECT_EQ(v.status(), v1::UNKNOWN) << testing::EvidenceMessages(v);

  // Gathering failed: UNKNOWN naming why, never PASS.
  v1::FactReport failed = Manager();
  failed.mutable_alert_history()->mutable_collection()->set_state(v1::Collection::ERROR);
  failed.mutable_alert_history()->mutable_collection()->set_error(
      "docker exec (curl to Elasticsearch) exited 7: curl: (7) Failed to connect");
  v = Evaluate(failed, "alert.ssh_login");
  EXPECT_EQ(v.status(), v1::UNKNOWN) << testing::EvidenceMessages(v);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("Failed to connect"));
}

TEST(DiskAlertHistory, ARootDiskAlertThatFiredAndEmailedPasses) {
  v1::Verdict v = Evaluate(Manager(), "alert.disk_tested");
  EXPECT_EQ(v.status(), v1::PASS) << testing::EvidenceMessages(v);
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("\"Available disk space in root file system\" fired 1 "
                        "time(s), last 2025-12-09 11:30 UTC"));
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("prod-app-01: last fired 2025-12-09 11:30 UTC"));
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("\"Low on available disk space in data partition\" never"));
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("ElastAlert's rule alert sent 1 email(s)"));
}

TEST(DiskAlertHistory, NoDiskAlertEverWarns) {
  v1::FactReport r = Manager();
  r.mutable_alert_history()->mutable_rules(1)->set_count(0);
  r.mutable_alert_history()->mutable_rules(1)->clear_hosts();
  v1::Verdict v = Evaluate(r, "alert.disk_tested");
  EXPECT_EQ(v.status(), v1::WARN) << testing::EvidenceMessages(v);

  v1::FactReport empty = Manager();
  empty.mutable_alert_history()->set_history_index(false);
  v = Evaluate(empty, "alert.disk_tested");
  EXPECT_EQ(v.status(), v1::WARN) << testing::EvidenceMessages(v);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("Kibana has written no alert at all"));
}

TEST(DiskAlertHistory, SourceOffIsNotApplicableUnlessThePolicyRequiresIt) {
  v1::FactReport r = Manager();
  r.clear_alert_history();
  r.mutable_alert_history()->mutable_collection()->set_state(v1::Collection::ABSENT);
  v1::Verdict v = Evaluate(r, "alert.disk_tested");
  EXPECT_EQ(v.status(), v1::NOT_APPLICABLE) << testing::EvidenceMessages(v);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("the policy does not require it"));
  v1::Policy required;
  required.set_require_application_evidence(true);
  v = Evaluate(r, "alert.disk_tested", required);
  EXPECT_EQ(v.status(), v1::UNKNOWN) << testing::EvidenceMessages(v);
  // An older agent, without the fact at all: the same.
  v1::FactReport old = Manager();
  old.clear_alert_history();
  EXPECT_EQ(Evaluate(old, "alert.disk_tested").status(), v1::NOT_APPLICABLE);
  // Workers run no Elasticsearch: not applicable whatever the policy.
  EXPECT_EQ(Evaluate(r, "alert.disk_tested", required, "worker").status(), v1::NOT_APPLICABLE);
  // Enabled on a manager where Elasticsearch runs elsewhere: says so.
  v1::FactReport elsewhere = Manager();
  elsewhere.clear_alert_history();
  elsewhere.mutable_alert_history()->set_enabled(true);
  elsewhere.mutable_alert_history()->mutable_collection()->set_state(v1::Collection::ABSENT);
  elsewhere.mutable_alert_history()->mutable_collection()->set_error(
      "no elasticsearch container runs on this node");
  v = Evaluate(elsewhere, "alert.disk_tested", required);
  EXPECT_EQ(v.status(), v1::NOT_APPLICABLE) << testing::EvidenceMessages(v);
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("no elasticsearch container runs on this node"));
}

TEST(DiskAlertHistory, GatheringFailedIsUnknownNeverPass) {
  v1::FactReport r = Manager();
  r.mutable_alert_history()->mutable_collection()->set_state(v1::Collection::ERROR);
  r.mutable_alert_history()->mutable_collection()->set_error(
      "docker exec (curl to Elasticsearch): Elasticsearch refused: security_exception");
  v1::Verdict v = Evaluate(r, "alert.disk_tested");
  EXPECT_EQ(v.status(), v1::UNKNOWN) << testing::EvidenceMessages(v);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("security_exception"));
}

}  // namespace
}  // namespace preflight
