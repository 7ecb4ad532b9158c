// Evidence from the application, end to end with real processes: a real
// agent with `application { docker: true }` (and `elasticsearch: true`: the
// alert history beside items 7 and 8) reads the opencrvs-application
// fixture (recorded `docker service ls` / `docker service inspect` under
// --root: one service at 0/1, one whose update paused, ALERT_EMAIL a
// placeholder, SMTP credentials and a Sentry key in the environment), the
// real collector judges it, and preflightctl shows services.healthy FAIL
// naming both services, release.latest comparing every core image, the SMTP
// evidence that blocks `attest smtp.tested` without --despite-evidence —
// and no secret of the environment anywhere the collector can show.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/support/cluster.h"
#include "tests/support/json.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The verdict of `check` in `preflightctl host --format json`'s checks, or
// in its manual evidence; null when absent.
const google::protobuf::Value* Check(const google::protobuf::Value& host, const std::string& id,
                                     const std::string& list) {
  for (const auto& c : Field(host, list).list_value().values()) {
    if (Field(c, "id").string_value() == id) return &c;
  }
  return nullptr;
}

std::string Evidence(const google::protobuf::Value& check) {
  std::string out;
  for (const auto& e : Field(check, "evidence").list_value().values()) {
    absl::StrAppend(&out, Field(e, "message").string_value(), "\n");
  }
  return out;
}

class ApplicationTest : public ::testing::Test {
 protected:
  ApplicationTest() : cluster_(OneManager(), Policy()) {}

  static v1::Policy Policy() {
    v1::Policy policy;
    policy.set_latest_release("v1.9.0");
    return policy;
  }

  // preflight-agent --once over the fixture with the application sources on
  // (the cluster's agent config plus the block the playbook writes).
  RunResult AgentWithApplication() {
    const std::string config = cluster_.AgentConfig("prod-01");
    std::ofstream(config, std::ios::app)
        << "\napplication { docker: true smtp_probe: true elasticsearch: true "
           "admin_passwords: true }\n";
    return RunProcess({PREFLIGHT_AGENT_BIN, "--config", config, "--once", "--root",
                       FixtureRoot("opencrvs-application")},
                      absl::Seconds(60));
  }

  TestCluster cluster_;
};

TEST_F(ApplicationTest, ServicesReleaseAndSmtpEvidenceReachTheOperatorWithoutSecrets) {
  cluster_.StartCollector();
  RunResult agent = AgentWithApplication();
  ASSERT_EQ(agent.exit_code, 0) << agent.err << cluster_.collector_log();

  RunResult host = cluster_.Ctl({"host", "prod-01", "--format", "json"});
  ASSERT_EQ(host.exit_code, 1) << host.err;  // services.healthy fails
  const google::protobuf::Value doc = ParseJson(host.out);

  const google::protobuf::Value* services = Check(doc, "services.healthy", "checks");
  ASSERT_NE(services, nullptr);
  EXPECT_EQ(Field(*services, "status").string_value(), "FAIL");
  const std::string services_evidence = Evidence(*services);
  EXPECT_THAT(services_evidence, HasSubstr("opencrvs_events runs 0 of 1 replicas"));
  EXPECT_THAT(services_evidence, HasSubstr("opencrvs_gateway: the last update ended paused"));
  // The finished migration job (0/1, 1/1 completed) is not a finding.
  EXPECT_THAT(services_evidence, Not(HasSubstr("opencrvs_migration runs")));

  const google::protobuf::Value* release = Check(doc, "release.latest", "checks");
  ASSERT_NE(release, nullptr);
  EXPECT_EQ(Field(*release, "status").string_value(), "PASS") << Evidence(*release);
  EXPECT_THAT(Evidence(*release), HasSubstr("country configuration opencrvs_countryconfig runs "
                                            "ghcr.io/opencrvs/ocrvs-farajaland:v1.9.3"));
  EXPECT_THAT(Evidence(*release), HasSubstr("other OpenCRVS core services compared with v1.9.0"));

  // The evidence beside the sign-offs, in the fleet's manual items.
  RunResult status = cluster_.Ctl({"status", "--full", "--format", "json"});
  const google::protobuf::Value fleet = ParseJson(status.out);
  std::string smtp, sentry, ssh_alert, disk_alert, admin;
  for (const auto& item : Field(fleet, "manual_items").list_value().values()) {
    if (Field(item, "id").string_value() == "smtp.tested") smtp = Evidence(item);
    if (Field(item, "id").string_value() == "sentry.slack") sentry = Evidence(item);
    // Signed off per environment: one item per environment it applies to.
    if (Field(item, "id").string_value() == "alert.ssh_login") ssh_alert += Evidence(item);
    if (Field(item, "id").string_value() == "alert.disk_tested") disk_alert = Evidence(item);
    if (Field(item, "id").string_value() == "admin.password_changed") admin = Evidence(item);
  }
  // The alert history (elasticsearch: true) beside items 7 and 8.
  EXPECT_THAT(ssh_alert, HasSubstr("\"Successful SSH login\" fired 3 time(s)"));
  EXPECT_THAT(ssh_alert, HasSubstr("prod-data-01: last fired 2025-12-11 08:02 UTC"));
  EXPECT_THAT(ssh_alert, HasSubstr("ElastAlert's rule ssh-alert sent 3 email(s)"));
  EXPECT_THAT(disk_alert,
              HasSubstr("\"Available disk space in root file system\" fired 1 time(s)"));
  EXPECT_THAT(smtp, HasSubstr("prod-01 (FAIL): ALERT_EMAIL is alerts@example.com, a placeholder"));
  EXPECT_THAT(smtp, HasSubstr("SMTP smtp.eu.mailgun.org:587"));
  // Reading a fixture, the agent cannot make the handshake, and says so.
  EXPECT_THAT(smtp, HasSubstr("no live SMTP handshake when reading the host from"));
  EXPECT_THAT(sentry, HasSubstr("https://****@o4507.ingest.sentry.io/4507123"));
  // Item 10: the seed's national system admin still has its password
  // (APPSECRETSEEDPW5 in the fixture), compared on the host.
  EXPECT_THAT(admin, HasSubstr("j.campbell (NATIONAL_SYSTEM_ADMIN), active, "
                               "still accepts the default password from countryconfig"));
  EXPECT_THAT(admin, HasSubstr("o.admin (super user), deactivated: the default password"));

  // The SMTP item cannot hold while its evidence fails: attest refuses
  // without --despite-evidence.
  RunResult plain =
      cluster_.Ctl({"attest", "smtp.tested", "--env", "production", "--note", "test mail arrived"});
  EXPECT_EQ(plain.exit_code, 2) << plain.out << plain.err;
  EXPECT_THAT(plain.err, HasSubstr("--despite-evidence"));

  // No secret the fixture's environment holds reaches anything the
  // collector serves: the planted values all contain "APPSECRET".
  RunResult exported = cluster_.Ctl({"export", "--format", "json"});
  RunResult diff = cluster_.Ctl({"diff", "prod-01"});
  for (const RunResult* r : {&host, &status, &exported, &diff}) {
    EXPECT_THAT(r->out, Not(HasSubstr("APPSECRET")));
    EXPECT_THAT(r->err, Not(HasSubstr("APPSECRET")));
    // The stored bcrypt hashes and salts of the fixture's accounts.
    for (const char* h : {"$2a$", "p5xiok2u5X8wB4o3OjoWKu", "lQCcqGRNyrjdOvfwRPJ2tO"}) {
      EXPECT_THAT(r->out, Not(HasSubstr(h)));
    }
  }
  EXPECT_THAT(cluster_.collector_log(), Not(HasSubstr("APPSECRET")));
}

// The same host with the sources off (the default): the application checks
// say so, NOT_APPLICABLE; with the policy requiring the evidence, UNKNOWN
// keeps the fleet from being ready.
TEST_F(ApplicationTest, SourcesOffAreNotApplicableUnlessThePolicyRequiresThem) {
  cluster_.StartCollector();
  RunResult agent = cluster_.AgentOnce("prod-01", FixtureRoot("opencrvs-application"));
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  RunResult host = cluster_.Ctl({"host", "prod-01", "--format", "json"});
  const google::protobuf::Value doc = ParseJson(host.out);
  const google::protobuf::Value* services = Check(doc, "services.healthy", "checks");
  ASSERT_NE(services, nullptr);
  EXPECT_EQ(Field(*services, "status").string_value(), "NOT_APPLICABLE");
  EXPECT_THAT(Evidence(*services), HasSubstr("application { docker: true } is not set"));

  v1::Policy policy = Policy();
  policy.set_require_application_evidence(true);
  cluster_.StopCollector(SIGTERM);
  cluster_.SetPolicy(policy);
  cluster_.StartCollector();
  ASSERT_EQ(cluster_.AgentOnce("prod-01", FixtureRoot("opencrvs-application")).exit_code, 0);
  RunResult required = cluster_.Ctl({"host", "prod-01", "--format", "json"});
  ASSERT_THAT(required.out, HasSubstr("\"checks\"")) << required.err;
  const google::protobuf::Value required_doc = ParseJson(required.out);
  const google::protobuf::Value* unknown = Check(required_doc, "services.healthy", "checks");
  ASSERT_NE(unknown, nullptr);
  EXPECT_EQ(Field(*unknown, "status").string_value(), "UNKNOWN");
  EXPECT_THAT(Evidence(*unknown), HasSubstr("the policy requires it"));
}

}  // namespace
}  // namespace preflight::testing
