// The alert history (issue 16, items 7 and 8): the "alert_history" fact kind
// from Elasticsearch's _msearch answer (recorded in
// tests/fixtures/hosts/opencrvs-application from Elasticsearch's documented
// response shapes, tests/fixtures/make_alert_history_fixture.py), the opt-in,
// errors that name the step, hostile answers, and no secret anywhere: not in
// any argv the agent runs (the Elasticsearch password is expanded inside the
// container: the real script runs here against a stand-in curl), not in the
// report.
#include "agent/facts/alert_history.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/facts/fact_collector.h"
#include "agent/host/rooted_host_env.h"
#include "tests/support/no_secret.h"
#include "tests/support/recording_env.h"
#include "tests/support/temp_dir.h"

namespace preflight {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const std::string kFixture = std::string(PREFLIGHT_FIXTURES) + "/hosts/opencrvs-application";
constexpr char kContainer[] = "3f9c2a7b41d0";

using testing::RecordingEnv;

agent::CollectOptions ElasticsearchOn() {
  agent::CollectOptions o;
  o.application_docker = true;
  o.application_elasticsearch = true;
  return o;
}

v1::FactReport CollectAll(agent::HostEnv& env, const agent::CollectOptions& options) {
  auto collectors = agent::BuiltinCollectors();
  return agent::CollectReport(env, options, collectors);
}

v1::FactReport CollectHistory(agent::HostEnv& env, const agent::CollectOptions& options) {
  std::vector<std::unique_ptr<agent::FactCollector>> one;
  one.push_back(agent::MakeAlertHistoryCollector());
  return agent::CollectReport(env, options, one);
}

const v1::AlertRuleHistory* Rule(const v1::AlertHistoryFact& fact, const std::string& name) {
  for (const v1::AlertRuleHistory& r : fact.rules()) {
    if (r.name() == name) return &r;
  }
  return nullptr;
}

using testing::ExpectNoSecret;
using testing::Text;

// A root whose `docker ps` lists an elasticsearch container and whose
// `docker exec` prints `answer` (exit code, stderr).
std::string RecordSearch(testing::TempDir& root, const std::string& answer, int exit_code = 0,
                         const std::string& err = "",
                         const std::string& ps = absl::StrCat(kContainer,
                                                              "\topencrvs_elasticsearch\n"),
                         int ps_exit = 0, const std::string& ps_err = "") {
  const std::string dir = root.Join(".preflight/commands/");
  const std::string ps_key = agent::RecordedCommandKey(agent::ContainerListArgv());
  testing::WriteFile(dir + ps_key, ps);
  testing::WriteFile(dir + ps_key + ".exit", std::to_string(ps_exit));
  testing::WriteFile(dir + ps_key + ".err", ps_err);
  const std::string key = agent::RecordedCommandKey(agent::SearchArgv(kContainer));
  testing::WriteFile(dir + key, answer);
  testing::WriteFile(dir + key + ".exit", std::to_string(exit_code));
  testing::WriteFile(dir + key + ".err", err);
  return root.path();
}

// One _msearch answer: the alert history response, then ElastAlert's.
std::string Msearch(const std::string& history, const std::string& elastalert) {
  return absl::StrCat("{\"took\":5,\"responses\":[", history, ",", elastalert, "]}");
}
std::string Buckets(const std::string& buckets) {
  return absl::StrCat(
      "{\"took\":1,\"timed_out\":false,\"hits\":{\"total\":{\"value\":0,\"relation\":\"eq\"},"
      "\"hits\":[]},\"aggregations\":{\"rules\":{\"doc_count_error_upper_bound\":0,"
      "\"sum_other_doc_count\":0,\"buckets\":[",
      buckets, "]}},\"status\":200}");
}
constexpr char kNoIndex[] =
    "{\"error\":{\"root_cause\":[{\"type\":\"index_not_found_exception\",\"reason\":\"no such "
    "index [x]\"}],\"type\":\"index_not_found_exception\",\"reason\":\"no such index [x]\"},"
    "\"status\":404}";

// --- the fixture -----------------------------------------------------------

TEST(AlertHistory, TheFixtureManagersHistory) {
  RecordingEnv env(kFixture);
  v1::FactReport report = CollectHistory(env, ElasticsearchOn());
  const v1::AlertHistoryFact& fact = report.alert_history();
  ASSERT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  EXPECT_TRUE(fact.enabled());
  EXPECT_TRUE(fact.history_index());
  EXPECT_TRUE(fact.elastalert_index());
  EXPECT_EQ(fact.container(), kContainer);
  EXPECT_THAT(fact.source(), HasSubstr("docker exec 3f9c2a7b41d0 curl localhost:9200/_msearch"));
  ASSERT_EQ(fact.rules_size(), 3);

  const v1::AlertRuleHistory* ssh = Rule(fact, agent::kSshLoginRule);
  ASSERT_NE(ssh, nullptr);
  EXPECT_EQ(ssh->count(), 3u);
  EXPECT_EQ(ssh->last_fired_unix(), 1765557651);  // 2025-12-12T16:40:51Z
  ASSERT_EQ(ssh->hosts_size(), 2);
  EXPECT_EQ(ssh->hosts(0).host(), "prod-app-01");
  EXPECT_EQ(ssh->hosts(0).count(), 2u);
  EXPECT_EQ(ssh->hosts(0).last_fired_unix(), 1765557651);
  EXPECT_EQ(ssh->hosts(1).host(), "prod-data-01");
  EXPECT_EQ(ssh->hosts(1).last_fired_unix(), 1765440137);  // 2025-12-11T08:02:17Z
  EXPECT_EQ(ssh->elastalert_rule(), "ssh-alert");
  EXPECT_EQ(ssh->sent_count(), 3u);
  EXPECT_EQ(ssh->last_sent_unix(), 1765557660);

  const v1::AlertRuleHistory* root = Rule(fact, agent::kRootDiskRule);
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->count(), 1u);
  ASSERT_EQ(root->hosts_size(), 1);
  EXPECT_EQ(root->hosts(0).host(), "prod-app-01");
  EXPECT_EQ(root->elastalert_rule(), "alert");
  EXPECT_EQ(root->sent_count(), 1u);

  const v1::AlertRuleHistory* data = Rule(fact, agent::kDataDiskRule);
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->count(), 0u);
  EXPECT_EQ(data->last_fired_unix(), 0);
  EXPECT_EQ(data->hosts_size(), 0);
}

TEST(AlertHistory, OffByDefaultAndNothingRuns) {
  agent::CollectOptions defaults;
  EXPECT_FALSE(defaults.application_elasticsearch);
  v1::AgentConfig config;
  EXPECT_FALSE(agent::CollectOptionsFrom(config).application_elasticsearch);
  config.mutable_application()->set_elasticsearch(true);
  EXPECT_TRUE(agent::CollectOptionsFrom(config).application_elasticsearch);

  RecordingEnv env(kFixture);
  v1::FactReport report = CollectHistory(env, defaults);
  EXPECT_EQ(report.alert_history().collection().state(), v1::Collection::ABSENT);
  EXPECT_EQ(report.alert_history().collection().error(), agent::kElasticsearchOff);
  EXPECT_FALSE(report.alert_history().enabled());
  EXPECT_EQ(report.alert_history().rules_size(), 0);
  EXPECT_THAT(env.argvs, IsEmpty());
}

TEST(AlertHistory, OneDockerPsAndOneDockerExecPerCollection) {
  RecordingEnv env(kFixture);
  v1::FactReport report = CollectAll(env, ElasticsearchOn());
  ASSERT_EQ(report.alert_history().collection().state(), v1::Collection::OK);
  int ps = 0, exec = 0;
  for (const auto& argv : env.argvs) {
    if (argv == agent::ContainerListArgv()) ++ps;
    if (argv == agent::SearchArgv(kContainer)) ++exec;
  }
  EXPECT_EQ(ps, 1);
  EXPECT_EQ(exec, 1);
}

// --- parsing ---------------------------------------------------------------

TEST(AlertHistoryParse, NoIndexYetIsNoAlertYet) {
  v1::AlertHistoryFact fact;
  ASSERT_TRUE(agent::ParseAlertSearch(Msearch(kNoIndex, kNoIndex), fact).ok());
  EXPECT_FALSE(fact.history_index());
  EXPECT_FALSE(fact.elastalert_index());
  ASSERT_EQ(fact.rules_size(), 3);
  for (const v1::AlertRuleHistory& r : fact.rules()) {
    EXPECT_EQ(r.count(), 0u) << r.name();
    EXPECT_EQ(r.sent_count(), 0u) << r.name();
  }
}

TEST(AlertHistoryParse, EmptyIndexHasNoBuckets) {
  v1::AlertHistoryFact fact;
  ASSERT_TRUE(agent::ParseAlertSearch(Msearch(Buckets(""), Buckets("")), fact).ok());
  EXPECT_TRUE(fact.history_index());
  EXPECT_TRUE(fact.elastalert_index());
  for (const v1::AlertRuleHistory& r : fact.rules()) EXPECT_EQ(r.count(), 0u) << r.name();
}

TEST(AlertHistoryParse, ElasticsearchErrorsAreNamedAndMasked) {
  struct Case {
    std::string answer;
    std::string error;
  };
  const Case cases[] = {
      {"{\"error\":{\"root_cause\":[],\"type\":\"security_exception\",\"reason\":\"unable to "
       "authenticate user [elastic] password=Hunter2Secret\"},\"status\":401}",
       "Elasticsearch refused: security_exception: unable to authenticate user [elastic] "
       "password=****"},
      {Msearch("{\"error\":{\"type\":\"search_phase_execution_exception\",\"reason\":\"all "
               "shards failed\"},\"status\":400}",
               Buckets("")),
       "kibana-alert-history-default: search_phase_execution_exception: all shards failed"},
      {Msearch(Buckets(""), "{\"error\":\"plain\",\"status\":500}"), "elastalert_status: plain"},
      {"not json", "Elasticsearch's answer is not a JSON object (8 bytes)"},
      {"{\"responses\":[]}", "Elasticsearch's answer is not two _msearch responses"},
      {"{\"responses\":[1,2]}", "Elasticsearch's answer is not two _msearch responses"},
      {Msearch("{\"aggregations\":{}}", Buckets("")),
       "kibana-alert-history-default: the response has no aggregations.rules.buckets"},
  };
  for (const Case& c : cases) {
    v1::AlertHistoryFact fact;
    absl::Status s = agent::ParseAlertSearch(c.answer, fact);
    EXPECT_FALSE(s.ok()) << c.answer;
    EXPECT_EQ(s.message(), c.error) << c.answer;
  }
}

TEST(AlertHistoryParse, HostileAnswersKeepOnlyHostNames) {
  // As if Elasticsearch ignored the _source filter: the user and address of
  // the login, a host field that is not a host name, wrong types, numbers out
  // of range, and more hosts than kept.
  std::string hits;
  for (int i = 0; i < 150; ++i) {
    absl::StrAppend(&hits, i ? "," : "",
                    "{\"_source\":{\"kibana\":{\"alert\":{\"id\":\"query matched\",\"context\":{"
                    "\"__es-query\":{\"hits\":[{\"_source\":{\"host\":{\"name\":\"node-",
                    i,
                    "\"},\"user\":{\"name\":\"UserNameHostile\"},\"source\":{\"ip\":\"203.0."
                    "113.77\"},\"message\":\"Accepted password for UserNameHostile\"}},"
                    "{\"_source\":{\"host\":{\"name\":\"root@203.0.113.78\"}}},"
                    "{\"_source\":{\"host\":{\"name\":7}}},\"junk\"]}}}}},"
                    "\"sort\":[",
                    i == 3 ? "1e300" : "1765000000000", "]}");
  }
  const std::string history = Buckets(absl::StrCat(
      "{\"key\":\"Successful SSH login\",\"doc_count\":-4,\"last\":{\"value\":\"x\"},"
      "\"recent\":{\"hits\":{\"hits\":[",
      hits,
      "]}}},"
      "{\"key\":\"Someone else's rule with UserNameHostile\",\"doc_count\":9},"
      "{\"key\":\"Available disk space in root file system\",\"doc_count\":2,"
      "\"last\":{\"value\":1765000000000},\"recent\":{\"hits\":{\"hits\":[{\"_source\":{"
      "\"kibana\":{\"alert\":{\"id\":\"disk host\",\"context\":{"
      "\"metrics__alert__inventory__threshold\":{\"group\":\"prod 1; rm -rf\","
      "\"reason\":\"UserNameHostile\"}}}}}},{\"_source\":[]},7]}}},"
      "7,\"x\""));
  const std::string elastalert =
      Buckets("{\"key\":\"ssh-alert\",\"doc_count\":1e30,\"last\":{\"value\":-5}}");
  v1::AlertHistoryFact fact;
  ASSERT_TRUE(agent::ParseAlertSearch(Msearch(history, elastalert), fact).ok());
  const v1::AlertRuleHistory* ssh = Rule(fact, agent::kSshLoginRule);
  ASSERT_NE(ssh, nullptr);
  EXPECT_EQ(ssh->count(), 0u);
  EXPECT_EQ(ssh->last_fired_unix(), 0);
  EXPECT_EQ(ssh->hosts_size(), static_cast<int>(agent::kMaxAlertHosts));
  for (const v1::AlertHost& h : ssh->hosts()) EXPECT_TRUE(absl::StartsWith(h.host(), "node-"));
  EXPECT_EQ(ssh->sent_count(), 0u);
  EXPECT_EQ(ssh->last_sent_unix(), 0);
  const v1::AlertRuleHistory* root = Rule(fact, agent::kRootDiskRule);
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->count(), 2u);
  EXPECT_EQ(root->hosts_size(), 0);  // neither "prod 1; rm -rf" nor "disk host" is a host name
  EXPECT_EQ(fact.rules_size(), 3);
  const std::string text = Text(fact);
  for (const char* s : {"UserNameHostile", "203.0.113", "rm -rf", "Someone"}) {
    EXPECT_THAT(text, Not(HasSubstr(s)));
  }
}

TEST(AlertHistoryParse, DeepNestingIsRefusedNotACrash) {
  std::string deep(5000, '[');
  v1::AlertHistoryFact fact;
  EXPECT_FALSE(agent::ParseAlertSearch(deep, fact).ok());
}

TEST(AlertHistoryParse, TheElasticsearchContainer) {
  EXPECT_EQ(
      agent::FindElasticsearchContainer("a1\topencrvs_gateway\nb2c3\topencrvs_elasticsearch\n"),
      "b2c3");
  EXPECT_EQ(agent::FindElasticsearchContainer("b2c3\telasticsearch\n"), "b2c3");
  EXPECT_EQ(agent::FindElasticsearchContainer("a1\topencrvs_elasticsearch_exporter\n"), "");
  // Only hex ids go into the next argv.
  EXPECT_EQ(agent::FindElasticsearchContainer("--privileged\topencrvs_elasticsearch\n"), "");
  EXPECT_EQ(agent::FindElasticsearchContainer(""), "");
}

// --- errors ----------------------------------------------------------------

TEST(AlertHistoryErrors, EachStepIsNamedAndNeverOk) {
  struct Case {
    std::string name;
    std::string answer;
    int exit_code;
    std::string err;
    std::string ps;
    int ps_exit;
    std::string ps_err;
    v1::Collection::State state;
    std::string error;
    bool unreadable;
  };
  const std::string ps = absl::StrCat(kContainer, "\topencrvs_elasticsearch\n");
  const Case cases[] = {
      {"no elasticsearch here", "", 0, "", "a81be02c9d44\topencrvs_gateway\n", 0, "",
       v1::Collection::ABSENT, "no elasticsearch container runs on this node", false},
      {"docker.sock refuses", "", 0, "", "", 1,
       "permission denied while trying to connect to the Docker daemon socket",
       v1::Collection::ERROR, "docker ps exited 1: permission denied", true},
      {"curl cannot connect", "", 7, "curl: (7) Failed to connect to localhost port 9200", ps, 0,
       "", v1::Collection::ERROR,
       "docker exec (curl to Elasticsearch) exited 7: curl: (7) Failed to connect", false},
      {"no curl in the image", "", 127, "sh: 1: curl: not found", ps, 0, "", v1::Collection::ERROR,
       "exited 127 (sh, sed or curl is not in the container)", false},
      {"not json", "<html>", 0, "", ps, 0, "", v1::Collection::ERROR,
       "docker exec (curl to Elasticsearch): Elasticsearch's answer is not a JSON object", false},
      {"wrong password",
       "{\"error\":{\"type\":\"security_exception\",\"reason\":\"unable to authenticate\"},"
       "\"status\":401}",
       0, "", ps, 0, "", v1::Collection::ERROR,
       "Elasticsearch refused: security_exception: unable to authenticate", false},
  };
  for (const Case& c : cases) {
    testing::TempDir root;
    RecordSearch(root, c.answer, c.exit_code, c.err, c.ps, c.ps_exit, c.ps_err);
    RecordingEnv env(root.path());
    v1::FactReport report = CollectHistory(env, ElasticsearchOn());
    const v1::Collection& col = report.alert_history().collection();
    EXPECT_EQ(col.state(), c.state) << c.name << ": " << col.error();
    EXPECT_THAT(col.error(), HasSubstr(c.error)) << c.name;
    EXPECT_EQ(col.unreadable_size() > 0, c.unreadable) << c.name;
  }
  // Docker not installed (under --root: not recorded) while the source is
  // on: not assessed, an ERROR (UNKNOWN), never ABSENT ("runs elsewhere").
  testing::TempDir empty;
  RecordingEnv env(empty.path());
  v1::FactReport report = CollectHistory(env, ElasticsearchOn());
  EXPECT_EQ(report.alert_history().collection().state(), v1::Collection::ERROR);
  EXPECT_THAT(report.alert_history().collection().error(), HasSubstr("docker ps: "));
  EXPECT_THAT(report.alert_history().collection().error(), HasSubstr("docker cannot be run"));
}

// --- secrets ---------------------------------------------------------------

TEST(AlertHistorySecrets, NoArgvTheAgentRunsHoldsASecret) {
  // Every argv of a whole collection with every application source on: the
  // fixture plants secrets (APPSECRET…) in the services' environment,
  // ELASTIC's among them.
  RecordingEnv env(kFixture);
  v1::FactReport report = CollectAll(env, ElasticsearchOn());
  ASSERT_EQ(report.alert_history().collection().state(), v1::Collection::OK);
  bool exec_seen = false;
  for (const auto& argv : env.argvs) {
    for (const std::string& a : argv) {
      EXPECT_THAT(a, Not(HasSubstr("APPSECRET"))) << absl::StrJoin(argv, " ");
    }
    if (argv.size() > 1 && argv[1] == "exec") {
      exec_seen = true;
      // The password is named, to be expanded in the container, never given.
      EXPECT_THAT(argv[5], HasSubstr("\"$ELASTIC_PASSWORD\""));
    }
  }
  EXPECT_TRUE(exec_seen);
}

// The real script, run by a real shell: a stand-in `docker` runs the exec'd
// command here (as in the container), a stand-in `curl` records its argv and
// standard input and answers like Elasticsearch; `sed` is recorded too. The
// planted password must reach curl only on its standard input.
TEST(AlertHistorySecrets, ThePasswordIsExpandedInsideTheContainerAndInNoArgv) {
  testing::TempDir dir;
  const std::string bin = dir.Join("bin");
  ASSERT_EQ(mkdir(bin.c_str(), 0755), 0);
  const std::string log = dir.Join("argv.log");
  const std::string stdin_log = dir.Join("curl.stdin");
  auto script = [&](const std::string& name, const std::string& body) {
    const std::string path = bin + "/" + name;
    testing::WriteFile(path, "#!/bin/sh\n" + body);
    ASSERT_EQ(chmod(path.c_str(), 0755), 0);
  };
  script("docker", absl::StrCat("for a in \"$@\"; do printf '%s\\0' \"$a\" >> '", log,
                                "'; done\n"
                                "if [ \"$1\" = ps ]; then printf '",
                                kContainer,
                                "\\topencrvs_elasticsearch\\n'; exit 0; fi\n"
                                "shift 2\nexec \"$@\"\n"));
  script("curl",
         absl::StrCat("for a in \"$@\"; do printf '%s\\0' \"$a\" >> '", log, "'; done\ncat > '",
                      stdin_log, "'\nprintf '%s' '", Msearch(kNoIndex, kNoIndex), "'\n"));
  script("sed", absl::StrCat("for a in \"$@\"; do printf '%s\\0' \"$a\" >> '", log,
                             "'; done\nexec /bin/sed \"$@\"\n"));
  const std::string password = "Planted\"Pw\\x$(id)9";
  const char* old_path = getenv("PATH");
  const std::string saved_path = old_path ? old_path : "";
  setenv("PATH", absl::StrCat(bin, ":", saved_path).c_str(), 1);
  setenv("ELASTIC_PASSWORD", password.c_str(), 1);

  RecordingEnv env("/");
  v1::FactReport report = CollectHistory(env, ElasticsearchOn());

  setenv("PATH", saved_path.c_str(), 1);
  unsetenv("ELASTIC_PASSWORD");
  ASSERT_EQ(report.alert_history().collection().state(), v1::Collection::OK)
      << report.alert_history().collection().error();
  EXPECT_FALSE(report.alert_history().history_index());

  const std::string argv_log = testing::ReadFile(log);
  EXPECT_THAT(argv_log, HasSubstr("localhost:9200/_msearch"));  // not vacuous
  EXPECT_THAT(argv_log, HasSubstr("-K"));
  EXPECT_THAT(argv_log, Not(HasSubstr("Planted")));
  for (const auto& argv : env.argvs) {
    for (const std::string& a : argv) EXPECT_THAT(a, Not(HasSubstr("Planted")));
  }
  // curl read it, escaped for its config syntax, on its standard input.
  EXPECT_EQ(testing::ReadFile(stdin_log), "user = \"elastic:Planted\\\"Pw\\\\x$(id)9\"\n");
  ExpectNoSecret(report, {"Planted"});
}

TEST(AlertHistorySecrets, TheReportHoldsNoUserAddressOrPassword) {
  // Every personal or secret value a hostile or misconfigured Elasticsearch
  // could put in its answer, in every string it could go to.
  testing::TempDir root;
  const std::string hits =
      "{\"_source\":{\"kibana\":{\"alert\":{\"id\":\"query matched\",\"context\":{\"__es-query\":"
      "{\"hits\":[{\"_source\":{\"host\":{\"name\":\"prod-app-01\"},\"user\":{\"name\":"
      "\"SecretUserAmina\"},\"source\":{\"ip\":\"198.51.100.23\"}}}]}}}},\"password\":"
      "\"SecretPwES\"},\"sort\":[1765000000000]}";
  RecordSearch(root,
               Msearch(Buckets(absl::StrCat("{\"key\":\"Successful SSH login\",\"doc_count\":1,"
                                            "\"recent\":{\"hits\":{\"hits\":[",
                                            hits, "]}}}")),
                       "{\"error\":{\"type\":\"index_not_found_exception\",\"reason\":\"x "
                       "password=SecretPwES2 user SecretUserAmina\"},\"status\":404}"));
  RecordingEnv env(root.path());
  v1::FactReport report = CollectHistory(env, ElasticsearchOn());
  ASSERT_EQ(report.alert_history().collection().state(), v1::Collection::OK);
  EXPECT_THAT(Text(report), HasSubstr("prod-app-01"));
  ExpectNoSecret(report, {"SecretUserAmina", "198.51.100.23", "SecretPwES"});

  // And in an error: stderr and Elasticsearch's reason are masked.
  testing::TempDir root2;
  RecordSearch(root2,
               "{\"error\":{\"type\":\"security_exception\",\"reason\":\"bad "
               "password=SecretPwES3 for https://elastic:SecretPwES4@localhost\"},\"status\":401}",
               0, "curl -u elastic:SecretPwES5");
  RecordingEnv env2(root2.path());
  v1::FactReport report2 = CollectHistory(env2, ElasticsearchOn());
  EXPECT_EQ(report2.alert_history().collection().state(), v1::Collection::ERROR);
  ExpectNoSecret(report2, {"SecretPwES"});
}

}  // namespace
}  // namespace preflight
