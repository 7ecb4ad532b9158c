// Evidence from the application (issue 16): the "services" and "app_config"
// fact kinds from recorded `docker service ls` / `docker service inspect`
// outputs (tests/fixtures/hosts/opencrvs-application, written by
// tests/fixtures/make_application_fixture.py in Docker 20.10's format), the
// opt-in, one docker run per collection, and no secret of the services'
// environment in anything that leaves the host.
#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/facts/app_config.h"
#include "agent/facts/docker_services.h"
#include "agent/facts/fact_collector.h"
#include "agent/facts/mask.h"
#include "agent/facts/services.h"
#include "agent/facts/tls_certs.h"
#include "agent/host/rooted_host_env.h"
#include "tests/support/process.h"
#include "tests/support/recording_env.h"
#include "tests/support/temp_dir.h"

namespace preflight {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const std::string kFixture = std::string(PREFLIGHT_FIXTURES) + "/hosts/opencrvs-application";
const std::vector<std::string> kListArgv = {"docker", "service", "ls", "--format",
                                            agent::kServiceListFormat};
const std::string kList = absl::StrCat("docker service ls --format ", agent::kServiceListFormat);
const std::string kInspect =
    absl::StrCat("docker service inspect --format ", agent::kServiceInspectFormat);

// The host under a root, counting the commands run, answering the SMTP
// handshake with `smtp_chain` (or UNAVAILABLE when empty) and remembering
// how it was asked.
class TestEnv : public testing::RecordingEnv {
 public:
  using RecordingEnv::RecordingEnv;
  absl::StatusOr<agent::CommandResult> Run(const std::vector<std::string>& argv,
                                           absl::Duration timeout) override {
    ++runs[absl::StrJoin(argv.begin(), argv.begin() + std::min<size_t>(argv.size(), 5), " ")];
    return RecordingEnv::Run(argv, timeout);
  }
  absl::StatusOr<std::vector<std::string>> ProbeSmtpTls(const std::string& address,
                                                        const std::string& sni, bool starttls,
                                                        absl::Duration timeout) override {
    smtp_probes.push_back(absl::StrCat(address, " sni=", sni, starttls ? " starttls" : " tls"));
    if (smtp_chain.empty()) return RecordingEnv::ProbeSmtpTls(address, sni, starttls, timeout);
    return smtp_chain;
  }

  // The first five words of each command run ("docker service ls --format
  // <format>") -> times run.
  std::map<std::string, int> runs;
  std::vector<std::string> smtp_probes;
  std::vector<std::string> smtp_chain;
};

agent::CollectOptions ApplicationOn(bool probe = false) {
  agent::CollectOptions o;
  o.application_docker = true;
  o.application_smtp_probe = probe;
  return o;
}

v1::FactReport CollectAll(agent::HostEnv& env, const agent::CollectOptions& options) {
  auto collectors = agent::BuiltinCollectors();
  return agent::CollectReport(env, options, collectors);
}

const v1::ServiceState* Service(const v1::ServicesFact& fact, const std::string& name) {
  for (const v1::ServiceState& s : fact.services()) {
    if (s.name() == name) return &s;
  }
  return nullptr;
}

std::vector<std::string> Strings(const google::protobuf::RepeatedPtrField<std::string>& r) {
  return std::vector<std::string>(r.begin(), r.end());
}

// The fixture manager's web certificate: opencrvs.example.gov and
// *.opencrvs.example.gov, signed by the fixture CA (not a system one).
std::string FixtureLeaf() {
  return testing::ReadFile(std::string(PREFLIGHT_FIXTURES) +
                           "/hosts/opencrvs-manager/data/traefik/certs/opencrvs.example.gov.crt");
}

// A root whose recorded `docker service ls` prints `ls` (exit code, stderr),
// and whose `docker service inspect` of the services listed prints
// `inspect` with `inspect_exit`.
std::string RecordDocker(testing::TempDir& root, const std::string& ls, int ls_exit,
                         const std::string& ls_err, const std::string& inspect,
                         int inspect_exit = 0, const std::string& inspect_err = "") {
  const std::string dir = root.Join(".preflight/commands/");
  const std::string key = agent::RecordedCommandKey(kListArgv);
  testing::WriteFile(dir + key, ls);
  testing::WriteFile(dir + key + ".exit", std::to_string(ls_exit));
  testing::WriteFile(dir + key + ".err", ls_err);
  std::vector<std::string> problems;
  const std::string ikey =
      agent::RecordedCommandKey(agent::ServiceInspectArgv(agent::ParseServiceList(ls, problems)));
  testing::WriteFile(dir + ikey, inspect);
  testing::WriteFile(dir + ikey + ".exit", std::to_string(inspect_exit));
  testing::WriteFile(dir + ikey + ".err", inspect_err);
  return root.path();
}

// --- parsing ---------------------------------------------------------------

TEST(DockerServicesParse, Replicas) {
  struct Case {
    const char* text;
    bool known;
    uint32_t running, desired;
  } cases[] = {
      {"2/3", true, 2, 3},
      {"0/1 (max 1 per node)", true, 0, 1},
      {"0/1 (1/1 completed)", true, 1, 1},  // a job: its completions count
      {"0/3 (1/3 completed)", true, 1, 3},
      {"3/3", true, 3, 3},
      {"", false, 0, 0},
      {"1/", false, 0, 0},
      {"x/1", false, 0, 0},
      {"-1/2", false, 0, 0},
      {"99999999999/1", false, 0, 0},
      {"0/1 (x/1 completed)", false, 0, 0},
  };
  for (const Case& c : cases) {
    agent::DockerService s;
    agent::ParseReplicas(c.text, s);
    EXPECT_EQ(s.replicas_known, c.known) << c.text;
    EXPECT_EQ(s.running, c.running) << c.text;
    EXPECT_EQ(s.desired, c.desired) << c.text;
  }
}

TEST(DockerServicesParse, ImagesTagsAndCore) {
  EXPECT_EQ(agent::ImageTag("ghcr.io/opencrvs/ocrvs-gateway:v1.9.0@sha256:0123abcd"), "v1.9.0");
  EXPECT_EQ(agent::ImageWithoutDigest("ghcr.io/opencrvs/ocrvs-gateway:v1.9.0@sha256:0123abcd"),
            "ghcr.io/opencrvs/ocrvs-gateway:v1.9.0");
  EXPECT_EQ(agent::ImageTag("localhost:5000/opencrvs/ocrvs-auth"), "latest");
  EXPECT_EQ(agent::ImageTag("traefik"), "latest");
  EXPECT_EQ(agent::ImageTag("mongo:4.4@sha256:ff"), "4.4");
  EXPECT_TRUE(agent::IsOpencrvsImage("ghcr.io/opencrvs/ocrvs-gateway:v1.9.0"));
  EXPECT_TRUE(agent::IsOpencrvsImage("opencrvs/ocrvs-auth:v1.9.0@sha256:ab"));
  EXPECT_TRUE(agent::IsOpencrvsImage("localhost:5000/opencrvs/ocrvs-auth"));
  EXPECT_TRUE(agent::IsOpencrvsImage("docker.io/opencrvs/ocrvs-client:v1.9.0"));
  EXPECT_FALSE(agent::IsOpencrvsImage("ghcr.io/opencrvs/filebeat:8.16.4"));
  EXPECT_FALSE(agent::IsOpencrvsImage("evil/opencrvs/ocrvs-gateway:v1.9.0"));
  EXPECT_FALSE(agent::IsOpencrvsImage("myopencrvs/ocrvs-gateway:v1.9.0"));
  EXPECT_FALSE(agent::IsOpencrvsImage("opencrvs/ocrvs-"));
  EXPECT_FALSE(agent::IsOpencrvsImage("ghcr.io/opencrvs/ocrvs-gateway/extra:v1"));
  EXPECT_TRUE(agent::IsCountryconfigService("opencrvs_countryconfig"));
  EXPECT_FALSE(agent::IsCountryconfigService("opencrvs_countryconfig_old"));
}

TEST(DockerServicesParse, HostileListLinesAreSkippedWithoutTheirText) {
  std::vector<std::string> problems;
  auto services = agent::ParseServiceList(
      "abc123def456\topencrvs_gateway\treplicated\t1/1\tghcr.io/opencrvs/ocrvs-gateway:v1.9.0\r\n"
      "only\ttwo\n"
      "bad id!\tx\treplicated\t1/1\timg\n"
      "abc123def457\tname with space\treplicated\t1/1\timg\n"
      "\n"
      "abc123def458\topencrvs_auth\treplicated\tgarbled\tghcr.io/opencrvs/ocrvs-auth:v1.9.0 "
      "trailing\ttab\n",
      problems);
  ASSERT_EQ(services.size(), 2u);
  EXPECT_EQ(services[0].image, "ghcr.io/opencrvs/ocrvs-gateway:v1.9.0");
  EXPECT_TRUE(services[0].replicas_known);
  EXPECT_EQ(services[1].name, "opencrvs_auth");
  EXPECT_FALSE(services[1].replicas_known);
  EXPECT_EQ(problems.size(), 3u);
  for (const std::string& p : problems) EXPECT_THAT(p, Not(HasSubstr("space")));
}

TEST(DockerServicesParse, AtMost200Services) {
  std::string ls;
  for (int i = 0; i < 250; ++i) absl::StrAppend(&ls, "id", i, "\tsvc", i, "\treplicated\t1/1\tx\n");
  std::vector<std::string> problems;
  EXPECT_EQ(agent::ParseServiceList(ls, problems).size(), agent::kMaxDockerServices);
  EXPECT_THAT(problems, ElementsAre(HasSubstr("more than 200 services")));
}

TEST(DockerServicesParse, InspectKeepsOnlyTheVariablesItNeeds) {
  std::vector<std::string> problems;
  std::vector<agent::DockerService> services = agent::ParseServiceList(
      "aaaaaaaaaaaa\ts1\treplicated\t1/1\ti\n"
      "bbbbbbbbbbbb\ts2\treplicated\t1/1\ti\n"
      "cccccccccccc\ts3\treplicated\t1/1\ti\n"
      "dddddddddddd\ts4\treplicated\t1/1\ti\n"
      "eeeeeeeeeeee\ts5\treplicated\t1/1\ti\n",
      problems);
  ASSERT_EQ(services.size(), 5u);
  // A huge environment: thousands of variables and a 1 MiB value.
  std::string huge = "[";
  for (int i = 0; i < 5000; ++i) absl::StrAppend(&huge, "\"VAR", i, "=value", i, "\",");
  absl::StrAppend(&huge, "\"BIG=", std::string(1 << 20, 'x'), "\",");
  absl::StrAppend(&huge, "\"SENTRY_DSN=", std::string(10000, 'd'), "\",");
  absl::StrAppend(&huge, "\"SMTP_HOST=mail.example.org\"]");
  const std::string inspect = absl::StrCat(
      // Never updated: the {{else}} branch.
      "aaaaaaaaaaaa0000000000000\ts1\t\t\"\"\t[\"SMTP_PASSWORD=LeakMe1\",\"SMTP_USERNAME=\","
      "\"MONGO_URL=mongodb://u:LeakMe2@m/db\",\"NOVALUE\",\"SMTP_PORT=25\"]\n",
      "bbbbbbbbbbbb0000000000000\ts2\tpaused\t\"update paused \\u003ctask\\u003e\\tx\"\t", huge,
      "\n",
      // Broken JSON: skipped, its text not repeated.
      "cccccccccccc0000000000000\ts3\tcompleted\t\"ok\"\t[\"SMTP_PASSWORD=LeakMe3\"\n",
      // A message that is not a JSON string; env null.
      "dddddddddddd0000000000000\ts4\tcompleted\tLeakMe4\tnull\n",
      // Not listed; too few fields.
      "zzzzzzzzzzzz0000000000000\tother\t\t\"\"\tnull\n", "garbled LeakMe5\n");
  agent::ParseServiceInspect(inspect, services, problems);
  EXPECT_TRUE(services[0].inspected);
  EXPECT_EQ(services[0].update_state, "");
  EXPECT_EQ(services[0].update_message, "");
  EXPECT_EQ(services[0].env,
            (std::map<std::string, std::string>{{"SMTP_PASSWORD", std::string(agent::kMasked)},
                                                {"SMTP_PORT", "25"}}));
  EXPECT_TRUE(services[1].inspected);
  EXPECT_EQ(services[1].update_state, "paused");
  EXPECT_EQ(services[1].update_message, "update paused <task>\tx");
  ASSERT_EQ(services[1].env.size(), 2u);
  EXPECT_EQ(services[1].env["SMTP_HOST"], "mail.example.org");
  EXPECT_EQ(services[1].env["SENTRY_DSN"].size(), 4096u);
  EXPECT_FALSE(services[2].inspected);
  EXPECT_TRUE(services[2].env.empty());
  EXPECT_TRUE(services[3].inspected);
  EXPECT_TRUE(services[3].env.empty());
  EXPECT_FALSE(services[4].inspected);
  EXPECT_EQ(problems.size(), 4u) << absl::StrJoin(problems, "\n");
  for (const std::string& p : problems) EXPECT_THAT(p, Not(HasSubstr("LeakMe")));
}

// --- the opt-in and one run per collection -------------------------------

TEST(ApplicationEvidence, OffByDefaultAndDockerIsNotAsked) {
  agent::CollectOptions defaults;
  EXPECT_FALSE(defaults.application_docker);
  EXPECT_FALSE(defaults.application_smtp_probe);
  v1::AgentConfig config;
  EXPECT_FALSE(agent::CollectOptionsFrom(config).application_docker);
  config.mutable_application()->set_docker(true);
  config.mutable_application()->set_smtp_probe(true);
  EXPECT_TRUE(agent::CollectOptionsFrom(config).application_docker);
  EXPECT_TRUE(agent::CollectOptionsFrom(config).application_smtp_probe);

  // The fixture's recorded outputs would make both kinds OK.
  TestEnv env(kFixture);
  v1::FactReport report = CollectAll(env, defaults);
  EXPECT_EQ(report.services().collection().state(), v1::Collection::ABSENT);
  EXPECT_EQ(report.services().collection().error(), agent::kApplicationOff);
  EXPECT_FALSE(report.services().enabled());
  EXPECT_EQ(report.services().services_size(), 0);
  EXPECT_EQ(report.app_config().collection().state(), v1::Collection::ABSENT);
  EXPECT_EQ(report.app_config().collection().error(), agent::kApplicationOff);
  EXPECT_FALSE(report.app_config().has_smtp());
  // The environment is never read: no inspect. The list runs once, for the
  // release and firewall kinds (images and published ports), as it always has.
  EXPECT_EQ(env.runs.count(kInspect), 0u);
  EXPECT_EQ(env.runs[kList], 1);
  EXPECT_THAT(env.smtp_probes, IsEmpty());
}

TEST(ApplicationEvidence, DockerRunsOncePerCollectionForBothKinds) {
  TestEnv env(kFixture);
  v1::FactReport report = CollectAll(env, ApplicationOn());
  EXPECT_EQ(report.services().collection().state(), v1::Collection::OK)
      << report.services().collection().error();
  EXPECT_EQ(report.app_config().collection().state(), v1::Collection::OK)
      << report.app_config().collection().error();
  EXPECT_EQ(env.runs[kInspect], 1);
  // One `docker service ls` for the three kinds that read it (issue 16
  // point 8: it used to run three times, in three formats).
  EXPECT_EQ(env.runs[kList], 1);
  EXPECT_EQ(report.release().collection().state(), v1::Collection::OK)
      << report.release().collection().error();
  EXPECT_EQ(report.release().version(), "v1.9.0");
  EXPECT_THAT(Strings(report.firewall().sources()), Contains("docker service ls"));
  bool https_published = false;
  for (const v1::DockerPublished& d : report.firewall().docker_published()) {
    https_published |= d.port() == 443 && d.protocol() == "tcp";
  }
  EXPECT_TRUE(https_published) << "traefik's *:443->443/tcp in the shared list";
  // A second collection asks again.
  CollectAll(env, ApplicationOn());
  EXPECT_EQ(env.runs[kInspect], 2);
}

// --- the fixture's facts ---------------------------------------------------

TEST(ApplicationEvidence, ServicesOfTheFixtureManager) {
  TestEnv env(kFixture);
  const v1::ServicesFact fact = CollectAll(env, ApplicationOn()).services();
  ASSERT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  EXPECT_TRUE(fact.enabled());
  EXPECT_EQ(fact.source(), "docker service ls, docker service inspect");
  EXPECT_EQ(fact.services_size(), 14);

  const v1::ServiceState* gateway = Service(fact, "opencrvs_gateway");
  ASSERT_NE(gateway, nullptr);
  EXPECT_EQ(gateway->image(), "ghcr.io/opencrvs/ocrvs-gateway:v1.9.0");
  EXPECT_EQ(gateway->version(), "v1.9.0");
  EXPECT_EQ(gateway->mode(), "replicated");
  EXPECT_TRUE(gateway->core());
  EXPECT_FALSE(gateway->countryconfig());
  EXPECT_EQ(gateway->update_state(), "paused");
  EXPECT_THAT(gateway->update_message(),
              HasSubstr("update paused due to failure or early termination of task"));
  EXPECT_THAT(gateway->update_message(), HasSubstr(agent::kMasked));
  EXPECT_LE(gateway->update_message().size(), 300u);

  const v1::ServiceState* events = Service(fact, "opencrvs_events");
  ASSERT_NE(events, nullptr);
  EXPECT_TRUE(events->replicas_known());
  EXPECT_EQ(events->running(), 0u);
  EXPECT_EQ(events->desired(), 1u);
  EXPECT_EQ(events->update_state(), "");

  const v1::ServiceState* migration = Service(fact, "opencrvs_migration");
  ASSERT_NE(migration, nullptr);
  EXPECT_EQ(migration->mode(), "replicated-job");
  EXPECT_EQ(migration->running(), 1u);
  EXPECT_EQ(migration->desired(), 1u);

  const v1::ServiceState* country = Service(fact, "opencrvs_countryconfig");
  ASSERT_NE(country, nullptr);
  EXPECT_TRUE(country->countryconfig());
  EXPECT_FALSE(country->core());
  EXPECT_EQ(country->version(), "v1.9.3");
  EXPECT_EQ(country->update_state(), "completed");

  const v1::ServiceState* filebeat = Service(fact, "opencrvs_filebeat");
  ASSERT_NE(filebeat, nullptr);
  EXPECT_EQ(filebeat->mode(), "global");
  EXPECT_FALSE(filebeat->core());
  const v1::ServiceState* elastic = Service(fact, "opencrvs_elasticsearch");
  ASSERT_NE(elastic, nullptr);
  EXPECT_EQ(elastic->running(), 1u);
  EXPECT_EQ(elastic->desired(), 1u);
}

TEST(ApplicationEvidence, SmtpAndSentryOfTheFixtureManager) {
  TestEnv env(kFixture);
  const v1::AppConfigFact fact = CollectAll(env, ApplicationOn()).app_config();
  ASSERT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  const v1::SmtpEvidence& smtp = fact.smtp();
  EXPECT_TRUE(smtp.configured());
  EXPECT_EQ(smtp.host(), "smtp.eu.mailgun.org");
  EXPECT_EQ(smtp.port(), 587u);
  EXPECT_EQ(smtp.secure(), "false");
  EXPECT_TRUE(smtp.username_set());
  EXPECT_TRUE(smtp.password_set());
  EXPECT_EQ(smtp.sender(), "noreply@crvs.farajaland.gov");
  EXPECT_FALSE(smtp.sender_placeholder());
  EXPECT_EQ(smtp.alert_email(), "alerts@example.com");
  EXPECT_TRUE(smtp.alert_email_placeholder());
  EXPECT_THAT(Strings(smtp.services()), ElementsAre("opencrvs_countryconfig"));
  EXPECT_THAT(Strings(smtp.conflicts()), IsEmpty());
  EXPECT_FALSE(smtp.probed());  // the probe is off

  const v1::SentryEvidence& sentry = fact.sentry();
  EXPECT_TRUE(sentry.present());
  EXPECT_THAT(Strings(sentry.services_with()), ElementsAre("opencrvs_auth", "opencrvs_gateway"));
  EXPECT_THAT(Strings(sentry.services_without()),
              ElementsAre("opencrvs_base", "opencrvs_client", "opencrvs_login", "opencrvs_events",
                          "opencrvs_documents", "opencrvs_migration"));
  EXPECT_TRUE(sentry.well_formed());
  EXPECT_TRUE(sentry.consistent());
  EXPECT_THAT(Strings(sentry.dsns()), ElementsAre("https://****@o4507.ingest.sentry.io/4507123"));
  EXPECT_EQ(sentry.problem(), "");
}

TEST(ApplicationEvidence, SmtpProbeUnderRootSaysWhyItDidNotHappen) {
  TestEnv env(kFixture);
  const v1::SmtpEvidence smtp = CollectAll(env, ApplicationOn(true)).app_config().smtp();
  EXPECT_TRUE(smtp.probed());
  EXPECT_EQ(smtp.probe_mode(), "starttls");
  // Under --root no handshake happens; the reason says so.
  EXPECT_THAT(smtp.probe_error(), HasSubstr("SMTP handshake"));
  EXPECT_THAT(env.smtp_probes, ElementsAre("smtp.eu.mailgun.org:587 sni=smtp.eu.mailgun.org "
                                           "starttls"));
}

// The probe's certificate, described as the tls kind describes its own: the
// fixture leaf is not trusted by the system store and does not name the
// fixture's SMTP host; one SMTP host it does name matches, wildcard included.
TEST(ApplicationEvidence, SmtpProbeCertificateAndName) {
  TestEnv env(kFixture);
  env.smtp_chain = {FixtureLeaf()};
  const v1::SmtpEvidence smtp = CollectAll(env, ApplicationOn(true)).app_config().smtp();
  EXPECT_TRUE(smtp.probed());
  EXPECT_EQ(smtp.probe_error(), "");
  EXPECT_THAT(Strings(smtp.certificate().dns_names()),
              ElementsAre("opencrvs.example.gov", "*.opencrvs.example.gov"));
  EXPECT_FALSE(smtp.certificate().chain_verified());
  EXPECT_EQ(smtp.certificate().sni(), "smtp.eu.mailgun.org");
  EXPECT_FALSE(smtp.name_matches());
  EXPECT_TRUE(agent::CertificateNames(smtp.certificate(), "mail.opencrvs.example.gov"));
  EXPECT_TRUE(agent::CertificateNames(smtp.certificate(), "OPENCRVS.example.gov."));
  EXPECT_FALSE(agent::CertificateNames(smtp.certificate(), "a.mail.opencrvs.example.gov"));
  EXPECT_FALSE(agent::CertificateNames(smtp.certificate(), "example.gov"));
}

// An SMTP_HOST that is an IP literal (an internal relay) is matched as a
// client matches it: against the certificate's IP addresses, never a DNS
// name spelling the address. The certificate is made by openssl at test
// time, and the addresses read are those `openssl x509 -ext
// subjectAltName` prints.
TEST(ApplicationEvidence, SmtpProbeMatchesAnIpLiteralHostByIpAddress) {
  testing::TempDir dir;
  testing::RunResult made = testing::RunProcess(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-days", "30", "-subj", "/CN=relay", "-addext",
       "subjectAltName=IP:10.0.0.5,IP:2001:db8::1,DNS:10.0.0.6,DNS:mail.example.gov", "-keyout",
       dir.Join("key.pem"), "-out", dir.Join("cert.pem")},
      absl::Seconds(30));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string pem = testing::ReadFile(dir.Join("cert.pem"));
  const v1::CertificateInfo cert = agent::DescribeChain({pem}, "smtp://relay", "", absl::Now());

  testing::RunResult sans = testing::RunProcess(
      {"openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", dir.Join("cert.pem")},
      absl::Seconds(30));
  ASSERT_EQ(sans.exit_code, 0) << sans.err;
  // openssl writes "IP Address:2001:DB8:0:0:0:0:0:1": compared as addresses.
  std::vector<std::string> reference;
  for (absl::string_view entry : absl::StrSplit(sans.out, absl::ByAnyChar(",\n"))) {
    entry = absl::StripAsciiWhitespace(entry);
    if (absl::ConsumePrefix(&entry, "IP Address:")) reference.emplace_back(entry);
  }
  ASSERT_EQ(reference.size(), 2u) << sans.out;
  ASSERT_EQ(cert.ip_addresses_size(), 2) << cert.DebugString();
  for (const std::string& ip : reference) {
    EXPECT_TRUE(agent::CertificateNames(cert, ip)) << ip << " as openssl spells it";
  }
  EXPECT_TRUE(agent::CertificateNames(cert, "10.0.0.5"));
  EXPECT_TRUE(agent::CertificateNames(cert, "[2001:db8::1]"));
  EXPECT_TRUE(agent::CertificateNames(cert, "mail.example.gov"));
  // A DNS name spelling an address names no address; an address the
  // certificate does not list is not named.
  EXPECT_FALSE(agent::CertificateNames(cert, "10.0.0.6"));
  EXPECT_FALSE(agent::CertificateNames(cert, "10.0.0.7"));
  EXPECT_FALSE(agent::CertificateNames(cert, "2001:db8::2"));
}

// --- SMTP and Sentry rules -------------------------------------------------

agent::DockerService Svc(const std::string& name, const std::string& image,
                         std::map<std::string, std::string> env) {
  agent::DockerService s;
  s.name = name;
  s.image = image;
  s.inspected = true;
  s.env = std::move(env);
  return s;
}

TEST(AppConfigRules, PlaceholderAddresses) {
  for (const char* a : {"", "  ", "alerts@example.com", "a@EXAMPLE.ORG", "a@mail.example.net",
                        "x@foo.example", "x@y.test", "x@y.invalid", "x@localhost", "x@y.localhost",
                        "x@example.com.", "noatsign.test"}) {
    EXPECT_TRUE(agent::IsPlaceholderEmail(a)) << a;
  }
  for (const char* a : {"alerts@farajaland.gov", "x@example.com.gov", "x@myexample.com",
                        "x@test.org", "x@examples.com"}) {
    EXPECT_FALSE(agent::IsPlaceholderEmail(a)) << a;
  }
}

TEST(AppConfigRules, SmtpConflictsAndTheCountryConfigurationFirst) {
  std::vector<agent::DockerService> services = {
      Svc("opencrvs_notification", "ghcr.io/opencrvs/ocrvs-notification:v1.9.0",
          {{"SMTP_HOST", "mail2.example.gov"}, {"SMTP_PORT", "587"}}),
      Svc("opencrvs_countryconfig", "ghcr.io/opencrvs/ocrvs-farajaland:v1.9.3",
          {{"SMTP_HOST", "mail.farajaland.gov"},
           {"SMTP_PORT", "465"},
           {"SMTP_PASSWORD", std::string(agent::kMasked)},
           {"ALERT_EMAIL", "ops@farajaland.gov"}}),
      Svc("opencrvs_other", "x", {{"ALERT_EMAIL", "ops@farajaland.gov"}, {"SMTP_PORT", "99999"}}),
  };
  v1::SmtpEvidence smtp = agent::SmtpFromServices(services);
  EXPECT_TRUE(smtp.configured());
  EXPECT_EQ(smtp.host(), "mail.farajaland.gov");
  EXPECT_EQ(smtp.port(), 465u);
  EXPECT_FALSE(smtp.username_set());
  EXPECT_TRUE(smtp.password_set());
  EXPECT_EQ(smtp.sender(), "");
  EXPECT_TRUE(smtp.sender_placeholder());
  EXPECT_FALSE(smtp.alert_email_placeholder());
  EXPECT_THAT(Strings(smtp.services()),
              ElementsAre("opencrvs_countryconfig", "opencrvs_notification"));
  EXPECT_THAT(Strings(smtp.conflicts()),
              ElementsAre("opencrvs_notification: SMTP_HOST differs (mail2.example.gov)",
                          "opencrvs_notification: SMTP_PORT differs (587)",
                          "opencrvs_other: SMTP_PORT differs (99999)"));

  // Nothing set: not configured, no port, placeholders.
  smtp = agent::SmtpFromServices({Svc("a", "x", {})});
  EXPECT_FALSE(smtp.configured());
  EXPECT_EQ(smtp.port(), 0u);
  EXPECT_TRUE(smtp.alert_email_placeholder());
  // A host without a port is not configured; an unparsable port is 0.
  smtp = agent::SmtpFromServices({Svc("a", "x", {{"SMTP_HOST", "m.gov"}, {"SMTP_PORT", "x"}})});
  EXPECT_TRUE(smtp.configured());
  EXPECT_EQ(smtp.port(), 0u);
  smtp = agent::SmtpFromServices({Svc("a", "x", {{"SMTP_HOST", "m.gov"}})});
  EXPECT_FALSE(smtp.configured());
}

TEST(AppConfigRules, SmtpProbeModeFollowsPortAndSecure) {
  // A root with SMTP on 465, then SMTP_SECURE=true on 2525.
  for (const auto& [port, secure, mode] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"465", "false", "tls"}, {"2525", "true", "tls"}, {"25", "", "starttls"}}) {
    testing::TempDir root;
    RecordDocker(root, "aaaaaaaaaaaa\topencrvs_countryconfig\treplicated\t1/1\tc:v1\n", 0, "",
                 absl::StrCat("aaaaaaaaaaaa\topencrvs_countryconfig\t\t\"\"\t[\"SMTP_HOST=m.gov\","
                              "\"SMTP_PORT=",
                              port, "\",\"SMTP_SECURE=", secure, "\"]\n"));
    TestEnv env(root.path());
    v1::FactReport report;
    agent::MakeAppConfigCollector()->Collect(env, ApplicationOn(true), report);
    EXPECT_EQ(report.app_config().smtp().probe_mode(), mode) << port << " " << secure;
    EXPECT_THAT(env.smtp_probes, ElementsAre(absl::StrCat("m.gov:", port, " sni=m.gov ",
                                                          mode == "tls" ? "tls" : "starttls")));
  }
}

TEST(AppConfigRules, SmtpProbeAddressOfAnIpLiteral) {
  // SMTP_HOST as a name, an IPv4 literal, an IPv6 literal bare and written
  // bracketed as in a URL: the address has one pair of brackets for IPv6,
  // the SNI none.
  for (const auto& [host, probed] : std::vector<std::pair<std::string, std::string>>{
           {"m.gov", "m.gov:587 sni=m.gov"},
           {"10.0.0.5", "10.0.0.5:587 sni=10.0.0.5"},
           {"2001:db8::1", "[2001:db8::1]:587 sni=2001:db8::1"},
           {"[2001:db8::1]", "[2001:db8::1]:587 sni=2001:db8::1"},
           {"[::1]", "[::1]:587 sni=::1"}}) {
    testing::TempDir root;
    RecordDocker(root, "aaaaaaaaaaaa\topencrvs_countryconfig\treplicated\t1/1\tc:v1\n", 0, "",
                 absl::StrCat("aaaaaaaaaaaa\topencrvs_countryconfig\t\t\"\"\t[\"SMTP_HOST=", host,
                              "\",\"SMTP_PORT=587\"]\n"));
    TestEnv env(root.path());
    v1::FactReport report;
    agent::MakeAppConfigCollector()->Collect(env, ApplicationOn(true), report);
    EXPECT_EQ(report.app_config().smtp().host(), host);
    EXPECT_THAT(env.smtp_probes, ElementsAre(absl::StrCat(probed, " starttls"))) << host;
  }
}

TEST(AppConfigRules, SentryDsns) {
  EXPECT_TRUE(agent::CheckDsn("https://abc@o1.ingest.sentry.io/42").ok());
  EXPECT_TRUE(agent::CheckDsn("http://abc:def@sentry.local:9000/path/7").ok());
  EXPECT_FALSE(agent::CheckDsn("ftp://abc@o1.ingest.sentry.io/42").ok());
  EXPECT_FALSE(agent::CheckDsn("https://o1.ingest.sentry.io/42").ok());
  EXPECT_FALSE(agent::CheckDsn("https://@o1.ingest.sentry.io/42").ok());
  EXPECT_FALSE(agent::CheckDsn("https://abc@/42").ok());
  EXPECT_FALSE(agent::CheckDsn("https://abc@o1.ingest.sentry.io").ok());
  EXPECT_FALSE(agent::CheckDsn("https://abc@o1.ingest.sentry.io/project").ok());
  EXPECT_FALSE(agent::CheckDsn("abc").ok());

  std::vector<agent::DockerService> services = {
      Svc("opencrvs_auth", "ghcr.io/opencrvs/ocrvs-auth:v1",
          {{"SENTRY_DSN", "https://KEYONE@o1.ingest.sentry.io/42"}}),
      Svc("opencrvs_gateway", "ghcr.io/opencrvs/ocrvs-gateway:v1",
          {{"SENTRY_DSN", "https://KEYTWO:SECRETTWO@o1.ingest.sentry.io/notanumber"}}),
      Svc("opencrvs_client", "ghcr.io/opencrvs/ocrvs-client:v1", {}),
      Svc("opencrvs_countryconfig", "ghcr.io/opencrvs/ocrvs-farajaland:v1", {}),
      Svc("opencrvs_traefik", "traefik:v2.11", {}),
  };
  v1::SentryEvidence sentry = agent::SentryFromServices(services);
  EXPECT_TRUE(sentry.present());
  EXPECT_FALSE(sentry.well_formed());
  EXPECT_FALSE(sentry.consistent());
  EXPECT_THAT(Strings(sentry.services_without()), ElementsAre("opencrvs_client"));
  EXPECT_THAT(Strings(sentry.dsns()), ElementsAre("https://****@o1.ingest.sentry.io/42",
                                                  "https://****@o1.ingest.sentry.io/notanumber"));
  EXPECT_EQ(sentry.problem(),
            "opencrvs_gateway: SENTRY_DSN https://****@o1.ingest.sentry.io/notanumber: the "
            "project id is not a number");
  std::string text;
  google::protobuf::TextFormat::PrintToString(sentry, &text);
  EXPECT_THAT(text, Not(HasSubstr("KEY")));
  EXPECT_THAT(text, Not(HasSubstr("SECRETTWO")));

  sentry = agent::SentryFromServices({Svc("opencrvs_auth", "ghcr.io/opencrvs/ocrvs-auth:v1", {})});
  EXPECT_FALSE(sentry.present());
  EXPECT_FALSE(sentry.well_formed());
  EXPECT_FALSE(sentry.consistent());
}

TEST(AppConfigRules, MaskDsn) {
  EXPECT_EQ(agent::MaskDsn("https://k3y@o1.ingest.sentry.io/42"),
            "https://****@o1.ingest.sentry.io/42");
  EXPECT_EQ(agent::MaskDsn("https://k3y:s3cret@o1.ingest.sentry.io:443/sub/42"),
            "https://****@o1.ingest.sentry.io:443/sub/42");
  EXPECT_EQ(agent::MaskDsn("https://o1.ingest.sentry.io/0123456789abcdef0123456789abcdef/42"),
            "https://o1.ingest.sentry.io/****/42");
  EXPECT_EQ(agent::MaskDsn("https://k3y:s3cret/42"), "https://k3y:****/42");
  EXPECT_EQ(agent::MaskDsn("https://o1.ingest.sentry.io/42?sentry_key=abc"),
            "https://o1.ingest.sentry.io/42?****");
  EXPECT_EQ(agent::MaskDsn("0123456789abcdef@o1.ingest.sentry.io/42"), "****");
  EXPECT_EQ(agent::MaskDsn(""), "****");
  EXPECT_LE(agent::MaskDsn(absl::StrCat("https://", std::string(1000, 'h'), "/1")).size(), 300u);
}

// --- errors: UNKNOWN with a reason, never PASS ------------------------------

TEST(ApplicationErrors, DockerRefusesOrIsNotThere) {
  struct Case {
    std::string err;
    v1::Collection::State state;
    bool unreadable;
  } cases[] = {
      {"permission denied while trying to connect to the Docker daemon socket at "
       "unix:///var/run/docker.sock: Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.41/services\": "
       "dial unix /var/run/docker.sock: connect: permission denied\n",
       v1::Collection::ERROR, true},
      {"Error response from daemon: This node is not a swarm manager. Use \"docker swarm init\" "
       "or \"docker swarm join\" to connect this node to swarm and try again.\n",
       v1::Collection::ABSENT, false},
      {"Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon "
       "running?\n",
       v1::Collection::ERROR, false},
  };
  for (const Case& c : cases) {
    testing::TempDir root;
    RecordDocker(root, "", 1, c.err, "");
    TestEnv env(root.path());
    v1::FactReport report = CollectAll(env, ApplicationOn());
    for (const v1::Collection* collection :
         {&report.services().collection(), &report.app_config().collection()}) {
      EXPECT_EQ(collection->state(), c.state) << c.err;
      EXPECT_THAT(collection->error(), HasSubstr("docker service ls exited 1: "));
      EXPECT_EQ(collection->unreadable_size(), c.unreadable ? 1 : 0) << c.err;
      if (c.unreadable) {
        EXPECT_EQ(collection->unreadable(0).path(), "docker service ls");
      }
    }
    EXPECT_EQ(env.runs.count(kInspect), 0u);
  }
}

TEST(ApplicationErrors, NotRecordedIsAbsentAnUnreadableRecordingIsAnError) {
  testing::TempDir empty;
  TestEnv env(empty.path());
  v1::FactReport report = CollectAll(env, ApplicationOn());
  EXPECT_EQ(report.services().collection().state(), v1::Collection::ABSENT);
  EXPECT_THAT(report.services().collection().error(), HasSubstr("no output is recorded"));
  EXPECT_EQ(report.app_config().collection().state(), v1::Collection::ABSENT);

  testing::TempDir broken;
  testing::MakeDirs(broken.Join(".preflight/commands/" + agent::RecordedCommandKey(kListArgv)));
  TestEnv env2(broken.path());
  report = CollectAll(env2, ApplicationOn());
  EXPECT_EQ(report.services().collection().state(), v1::Collection::ERROR);
  ASSERT_EQ(report.services().collection().unreadable_size(), 1);
  EXPECT_EQ(report.services().collection().unreadable(0).path(), "docker service ls");
}

TEST(ApplicationErrors, AFailedInspectIsAnErrorNamingTheCommand) {
  testing::TempDir root;
  RecordDocker(root, "aaaaaaaaaaaa\topencrvs_gateway\treplicated\t1/1\tg:v1\n", 0, "", "", 1,
               "Error: no such service: aaaaaaaaaaaa token=LeakMeToken\n");
  TestEnv env(root.path());
  v1::FactReport report = CollectAll(env, ApplicationOn());
  for (const v1::Collection* c :
       {&report.services().collection(), &report.app_config().collection()}) {
    EXPECT_EQ(c->state(), v1::Collection::ERROR);
    EXPECT_THAT(c->error(), HasSubstr("docker service inspect exited 1: Error: no such service"));
    EXPECT_THAT(c->error(), Not(HasSubstr("LeakMeToken")));
  }
  // The services listed are still shown.
  EXPECT_EQ(report.services().services_size(), 1);
}

TEST(ApplicationErrors, NothingDescribedOrGarbledOutput) {
  testing::TempDir root;
  RecordDocker(root, "aaaaaaaaaaaa\topencrvs_gateway\treplicated\t1/1\tg:v1\n", 0, "", "garbage\n");
  TestEnv env(root.path());
  v1::FactReport report = CollectAll(env, ApplicationOn());
  EXPECT_EQ(report.services().collection().state(), v1::Collection::ERROR);
  EXPECT_THAT(report.services().collection().error(),
              HasSubstr("docker service inspect described none of the 1 services listed"));

  testing::TempDir partial;
  RecordDocker(partial,
               "aaaaaaaaaaaa\tone\treplicated\t1/1\tg:v1\nbbbbbbbbbbbb\ttwo\treplicated\t1/1\tg\n",
               0, "", "aaaaaaaaaaaa\tone\t\t\"\"\tnull\nbbbbbbbbbbbb\ttwo\t\t\"\"\t[broken\n");
  TestEnv env2(partial.path());
  report = CollectAll(env2, ApplicationOn());
  // The replicas are known; the environment of one service is not.
  EXPECT_EQ(report.services().collection().state(), v1::Collection::OK);
  EXPECT_EQ(report.app_config().collection().state(), v1::Collection::ERROR);
  EXPECT_THAT(report.app_config().collection().error(),
              HasSubstr("described 1 of the 2 services listed"));

  testing::TempDir garbled;
  RecordDocker(garbled, "not a service line\n", 0, "", "");
  TestEnv env3(garbled.path());
  report = CollectAll(env3, ApplicationOn());
  EXPECT_EQ(report.services().collection().state(), v1::Collection::ERROR);
  testing::TempDir none;
  RecordDocker(none, "", 0, "", "");
  TestEnv env4(none.path());
  report = CollectAll(env4, ApplicationOn());
  EXPECT_EQ(report.services().collection().state(), v1::Collection::ABSENT);
  EXPECT_EQ(report.services().collection().error(), "docker service ls lists no service");
}

// --- nothing secret leaves the host ------------------------------------------

void ExpectNoSecret(const v1::FactReport& report, const std::vector<std::string>& secrets) {
  const std::string wire = report.SerializeAsString();
  std::string text;
  google::protobuf::TextFormat::PrintToString(report, &text);
  for (const std::string& secret : secrets) {
    EXPECT_FALSE(absl::StrContains(wire, secret)) << secret << " in the serialized report";
    EXPECT_FALSE(absl::StrContains(text, secret)) << secret << " in:\n" << text;
  }
}

TEST(ApplicationSecrets, NoSecretOfTheEnvironmentLeavesTheHost) {
  // Every secret planted in the fixture (tests/fixtures/make_application_fixture.py)
  // carries APPSECRET; these are its parts a masker could leave behind.
  std::vector<std::string> secrets = {
      "APPSECRET",          "APPSECRETSMTPPASS9f", "APPSECRETSMTPUSER",
      "APPSECRETSENTRYKEY", "0123456789abcd",      "APPSECRETSENTRYSECRET",
      "APPSECRETMONGO4kT",  "APPSECRETELASTIC7xQ", "APPSECRETGHTOKEN55",
      "APPSECRETTOKEN66",   "APPSECRETREDIS2",     "APPSECRETPG1",
      "APPSECRETINFOBIP31", "APPSECRETMINIO8",     "APPSECRETSUPERUSER4",
      "mg.farajaland.gov"};  // the SMTP username's domain: only "set" leaves
  // The default administrator passwords (item 10): the seed's password
  // (APPSECRETSEEDPW5) and the stored bcrypt salts and hashes.
  for (const char* s : {"p5xiok2u5X8wB4o3OjoWKu", "md.4nkNJe", "lQCcqGRNyrjdOvfwRPJ2tO", "$2a$"}) {
    secrets.push_back(s);
  }
  for (bool probe : {false, true}) {
    TestEnv env(kFixture);
    if (probe) env.smtp_chain = {FixtureLeaf()};
    agent::CollectOptions options = ApplicationOn(probe);
    options.application_admin_passwords = true;
    v1::FactReport report = CollectAll(env, options);
    ASSERT_EQ(report.services().collection().state(), v1::Collection::OK);
    ASSERT_EQ(report.app_config().collection().state(), v1::Collection::OK);
    ASSERT_EQ(report.admin_passwords().collection().state(), v1::Collection::OK)
        << report.admin_passwords().collection().error();
    ASSERT_TRUE(report.admin_passwords().accounts(0).default_accepted());
    // Not vacuous: the evidence is there.
    std::string text;
    google::protobuf::TextFormat::PrintToString(report, &text);
    EXPECT_THAT(text, HasSubstr("smtp.eu.mailgun.org"));
    EXPECT_THAT(text, HasSubstr("o4507.ingest.sentry.io/4507123"));
    EXPECT_THAT(text, HasSubstr("update paused due to failure"));
    ExpectNoSecret(report, secrets);
  }
}

TEST(ApplicationSecrets, HostileValuesAreMaskedWhereverTheyAppear) {
  testing::TempDir root;
  RecordDocker(
      root,
      "aaaaaaaaaaaa\topencrvs_countryconfig\treplicated\t1/1\tghcr.io/opencrvs/ocrvs-x:v1\n"
      "bbbbbbbbbbbb\topencrvs_gateway\treplicated\t1/1\tghcr.io/opencrvs/ocrvs-gateway:v1\n",
      0, "",
      "aaaaaaaaaaaa\topencrvs_countryconfig\tpaused\t\"failed: password=HostileA "
      "mongodb://u:HostileB@mongo1/x Authorization: Bearer HostileC\"\t"
      "[\"SMTP_HOST=smtp.x.gov\",\"SMTP_PORT=587\",\"ALERT_EMAIL=ops@x.gov\","
      "\"SENDER_EMAIL_ADDRESS=https://u:HostileE@x.gov\","
      "\"SENTRY_DSN=HostileFkeyNoScheme@o1.ingest.sentry.io/1\"]\n"
      "bbbbbbbbbbbb\topencrvs_gateway\t\t\"\"\t[\"SMTP_HOST=u:HostileG@smtp.y.gov\","
      "\"SENTRY_DSN=https://o1.ingest.sentry.io/HostileHkeyInThePath000/1\","
      "\"SMTP_SECURE=--password=HostileI\"]\n");
  TestEnv env(root.path());
  v1::FactReport report = CollectAll(env, ApplicationOn(true));
  ASSERT_EQ(report.app_config().collection().state(), v1::Collection::OK);
  EXPECT_FALSE(report.app_config().sentry().well_formed());
  ExpectNoSecret(report, {"Hostile"});
}

}  // namespace
}  // namespace preflight
