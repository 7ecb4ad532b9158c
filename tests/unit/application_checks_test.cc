// The application checks (collector/checks/application.cc) and release.latest
// over every core image, on facts as the agent derives them on a manager:
// services below their replicas or with a failed update, SMTP placeholders
// and handshakes, SENTRY_DSN, and what an agent with the source off gets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_join.h"
#include "collector/checks/check.h"
#include "collector/diff/fact_diff.h"
#include "collector/readiness/engine.h"
#include "tests/support/check_eval.h"

namespace preflight {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1'800'000'000;

v1::Verdict Evaluate(const v1::FactReport& report, const std::string& check, v1::Policy policy = {},
                     const std::string& role = "manager") {
  return testing::EvaluateCheck(report, check, policy,
                                testing::TestHost("prod-01", "production", role),
                                absl::FromUnixSeconds(kNow));
}

v1::ServiceState Service(const std::string& name, const std::string& version, uint32_t running,
                         uint32_t desired, const std::string& update_state = "") {
  v1::ServiceState s;
  s.set_name(name);
  // The country configuration's image is under ghcr.io/opencrvs too
  // (ocrvs-farajaland): core by its path, but it has its own version.
  const bool countryconfig = name == "opencrvs_countryconfig";
  s.set_image("ghcr.io/opencrvs/ocrvs-" +
              (countryconfig ? std::string("farajaland") : name.substr(9)) + ":" + version);
  s.set_version(version);
  s.set_mode("replicated");
  s.set_replicas_known(true);
  s.set_running(running);
  s.set_desired(desired);
  s.set_update_state(update_state);
  s.set_core(true);
  s.set_countryconfig(countryconfig);
  return s;
}

// A manager whose agent gathered application evidence: every service well.
v1::FactReport HealthyManager() {
  v1::FactReport r;
  r.mutable_release()->mutable_collection()->set_state(v1::Collection::OK);
  r.mutable_release()->set_service("opencrvs_base");
  r.mutable_release()->set_image("ghcr.io/opencrvs/ocrvs-base:v1.9.0");
  r.mutable_release()->set_version("v1.9.0");
  v1::ServicesFact& s = *r.mutable_services();
  s.mutable_collection()->set_state(v1::Collection::OK);
  s.set_enabled(true);
  *s.add_services() = Service("opencrvs_base", "v1.9.0", 1, 1);
  *s.add_services() = Service("opencrvs_gateway", "v1.9.0", 2, 2);
  *s.add_services() = Service("opencrvs_countryconfig", "v1.9.2", 1, 1, "completed");
  v1::AppConfigFact& a = *r.mutable_app_config();
  a.mutable_collection()->set_state(v1::Collection::OK);
  v1::SmtpEvidence& smtp = *a.mutable_smtp();
  smtp.set_configured(true);
  smtp.set_host("smtp.gov.example-country.org");
  smtp.set_port(587);
  smtp.set_username_set(true);
  smtp.set_password_set(true);
  smtp.set_sender("noreply@crvs.gov.fj");
  smtp.set_alert_email("alerts@crvs.gov.fj");
  smtp.add_services("opencrvs_countryconfig");
  v1::SentryEvidence& sentry = *a.mutable_sentry();
  sentry.set_present(true);
  sentry.set_well_formed(true);
  sentry.set_consistent(true);
  sentry.add_dsns("https://****@o1.ingest.sentry.io/42");
  sentry.add_services_with("opencrvs_gateway");
  return r;
}

TEST(ServicesHealthy, PassesWhenEveryServiceRunsItsReplicas) {
  v1::Verdict v = Evaluate(HealthyManager(), "services.healthy");
  EXPECT_EQ(v.status(), v1::PASS) << testing::EvidenceMessages(v);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("3 of 3 services at their desired replicas"));
}

TEST(ServicesHealthy, FailsBelowReplicasOrOnAFailedUpdateNamingTheService) {
  v1::FactReport r = HealthyManager();
  r.mutable_services()->mutable_services(1)->set_running(1);
  v1::ServiceState& cc = *r.mutable_services()->mutable_services(2);
  cc.set_update_state("rollback_completed");
  cc.set_update_message("update rolled back due to failure or early termination of task");
  v1::Verdict v = Evaluate(r, "services.healthy");
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("opencrvs_gateway runs 1 of 2 replicas"));
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("opencrvs_countryconfig: the last update ended "
                        "rollback_completed: update rolled back"));
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("1 of 3 services"));
  int findings = 0;
  for (const v1::Evidence& e : v.evidence()) findings += e.finding().empty() ? 0 : 1;
  EXPECT_EQ(findings, 2);

  // A finished job runs 0 of 1 by design: not a finding.
  v1::FactReport job = HealthyManager();
  v1::ServiceState& j = *job.mutable_services()->add_services();
  j = Service("opencrvs_data-seed", "v1.9.0", 0, 1);
  j.set_mode("replicated-job");
  EXPECT_EQ(Evaluate(job, "services.healthy").status(), v1::PASS);
}

TEST(ServicesHealthy, SourceOffIsNotApplicableUnlessThePolicyRequiresIt) {
  v1::FactReport r;
  r.mutable_services()->mutable_collection()->set_state(v1::Collection::ABSENT);
  r.mutable_services()->set_enabled(false);
  v1::Verdict off = Evaluate(r, "services.healthy");
  EXPECT_EQ(off.status(), v1::NOT_APPLICABLE);
  EXPECT_THAT(testing::EvidenceMessages(off), HasSubstr("application { docker: true } is not set"));
  v1::Policy policy;
  policy.set_require_application_evidence(true);
  v1::Verdict required = Evaluate(r, "services.healthy", policy);
  EXPECT_EQ(required.status(), v1::UNKNOWN);
  EXPECT_THAT(testing::EvidenceMessages(required), HasSubstr("the policy requires it"));
  // An agent older than the fact: the same.
  EXPECT_EQ(Evaluate(v1::FactReport(), "services.healthy", policy).status(), v1::UNKNOWN);
  EXPECT_EQ(Evaluate(v1::FactReport(), "services.healthy").status(), v1::NOT_APPLICABLE);
}

TEST(ServicesHealthy, DockerRefusingTheAgentIsUnknownNeverPass) {
  v1::FactReport r;
  v1::ServicesFact& s = *r.mutable_services();
  s.set_enabled(true);
  s.mutable_collection()->set_state(v1::Collection::ERROR);
  s.mutable_collection()->set_error("docker service ls exited 1");
  v1::ReadError* e = s.mutable_collection()->add_unreadable();
  e->set_path("docker service ls");
  e->set_error("PERMISSION_DENIED: permission denied while trying to connect to the Docker daemon");
  v1::Verdict v = Evaluate(r, "services.healthy");
  EXPECT_EQ(v.status(), v1::UNKNOWN);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("docker service ls exited 1"));
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("permission denied"));
  // Enabled, yet no services on a manager: cannot be seen, not healthy.
  s.mutable_collection()->Clear();
  s.mutable_collection()->set_state(v1::Collection::ABSENT);
  s.mutable_collection()->set_error("docker service ls: This node is not a swarm manager.");
  EXPECT_EQ(Evaluate(r, "services.healthy").status(), v1::UNKNOWN);
  // Not a manager: not this check's host.
  EXPECT_EQ(Evaluate(r, "services.healthy", {}, "worker").status(), v1::NOT_APPLICABLE);
}

TEST(ReleaseLatest, EveryCoreImageIsTheAdoptedRelease) {
  v1::Policy policy;
  policy.set_latest_release("v1.9.0");
  v1::Verdict pass = Evaluate(HealthyManager(), "release.latest", policy);
  EXPECT_EQ(pass.status(), v1::PASS) << testing::EvidenceMessages(pass);
  EXPECT_THAT(testing::EvidenceMessages(pass),
              HasSubstr("country configuration opencrvs_countryconfig runs "
                        "ghcr.io/opencrvs/ocrvs-farajaland:v1.9.2 (version v1.9.2"));
  EXPECT_THAT(testing::EvidenceMessages(pass),
              HasSubstr("1 other OpenCRVS core services compared with v1.9.0"));

  // opencrvs_base was updated, the gateway was not: a half-finished deploy.
  v1::FactReport r = HealthyManager();
  *r.mutable_services()->mutable_services(1) = Service("opencrvs_gateway", "v1.8.1", 2, 2);
  v1::Verdict fail = Evaluate(r, "release.latest", policy);
  EXPECT_EQ(fail.status(), v1::FAIL);
  EXPECT_THAT(testing::EvidenceMessages(fail),
              HasSubstr("opencrvs_gateway runs ghcr.io/opencrvs/ocrvs-gateway:"
                        "v1.8.1, not release v1.9.0"));
}

TEST(SmtpEvidence, PlaceholdersAndAFailedHandshakeFail) {
  v1::FactReport r = HealthyManager();
  v1::Verdict v = Evaluate(r, "smtp.tested");
  EXPECT_EQ(v.status(), v1::PASS) << testing::EvidenceMessages(v);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("SMTP smtp.gov.example-country.org:587"));
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("no live handshake"));

  v1::SmtpEvidence& smtp = *r.mutable_app_config()->mutable_smtp();
  smtp.set_alert_email("alerts@example.com");
  smtp.set_alert_email_placeholder(true);
  v = Evaluate(r, "smtp.tested");
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("ALERT_EMAIL is alerts@example.com, a placeholder: alerts "
                        "are silently dropped"));

  v1::FactReport probed = HealthyManager();
  v1::SmtpEvidence& p = *probed.mutable_app_config()->mutable_smtp();
  p.set_probed(true);
  p.set_probe_mode("starttls");
  p.set_probe_error("server does not offer STARTTLS");
  v = Evaluate(probed, "smtp.tested");
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("starttls handshake with smtp.gov.example-country.org:587 "
                        "from this manager failed: server does not offer STARTTLS"));

  p.clear_probe_error();
  p.mutable_certificate()->set_subject("CN=smtp.gov.example-country.org");
  p.mutable_certificate()->set_chain_verified(true);
  p.mutable_certificate()->set_not_after_unix(kNow + 86400 * 60);
  p.set_name_matches(true);
  EXPECT_EQ(Evaluate(probed, "smtp.tested").status(), v1::PASS);
  p.mutable_certificate()->set_not_after_unix(kNow - 1);  // expired
  EXPECT_EQ(Evaluate(probed, "smtp.tested").status(), v1::FAIL);
  p.mutable_certificate()->set_not_after_unix(kNow + 86400 * 60);
  p.set_name_matches(false);
  v = Evaluate(probed, "smtp.tested");
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(testing::EvidenceMessages(v),
              HasSubstr("does not name smtp.gov.example-country.org"));

  v1::FactReport none = HealthyManager();
  none.mutable_app_config()->mutable_smtp()->Clear();
  v = Evaluate(none, "smtp.tested");
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("no service sets SMTP_HOST and SMTP_PORT"));
}

TEST(SentryEvidence, AbsentOrMalformedFailsDifferentProjectsWarn) {
  v1::FactReport r = HealthyManager();
  v1::Verdict v = Evaluate(r, "sentry.slack");
  EXPECT_EQ(v.status(), v1::PASS) << testing::EvidenceMessages(v);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("https://****@o1.ingest.sentry.io/42"));
  v1::SentryEvidence& s = *r.mutable_app_config()->mutable_sentry();
  s.set_consistent(false);
  s.add_dsns("https://****@o1.ingest.sentry.io/43");
  EXPECT_EQ(Evaluate(r, "sentry.slack").status(), v1::WARN);
  s.set_well_formed(false);
  s.set_problem("https://****@ has no host");
  EXPECT_EQ(Evaluate(r, "sentry.slack").status(), v1::FAIL);
  s.Clear();
  v = Evaluate(r, "sentry.slack");
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(testing::EvidenceMessages(v), HasSubstr("no service sets SENTRY_DSN"));
}

// What changed in the swarm's services reads as services, by name.
TEST(ServicesDiff, ByNameInTheFactsOwnWords) {
  const v1::ServicesFact before = HealthyManager().services();
  v1::ServicesFact after = before;
  after.mutable_services(1)->set_running(0);
  *after.add_services() = Service("opencrvs_search", "v1.9.0", 1, 1);
  after.mutable_services()->DeleteSubrange(0, 1);
  EXPECT_TRUE(collector::HasFactRenderer("services"));
  EXPECT_THAT(
      collector::RenderFactDiff("services", before.SerializeAsString(), after.SerializeAsString()),
      ::testing::UnorderedElementsAre(
          "removed: service opencrvs_base (ghcr.io/opencrvs/ocrvs-base:v1.9.0, 1/1)",
          "changed: service opencrvs_gateway: running 2 → 0",
          "added: service opencrvs_search (ghcr.io/opencrvs/ocrvs-search:v1.9.0, 1/1)"));
}

}  // namespace
}  // namespace preflight
