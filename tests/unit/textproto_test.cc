// Tests for proto/wire/textproto (text-format loading with file:line:col
// errors) and collector/config (LoadCollectorSettings).
#include "proto/wire/textproto.h"

#include <gmock/gmock.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/config.h"
#include "preflight/v1/config.pb.h"
#include "tests/support/pki.h"
#include "tests/support/temp_dir.h"

namespace preflight {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Where protobuf's own parser places the first error, 0-based as its
// ErrorCollector reports it.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string&) override {
    if (line_ < 0) {
      line_ = line;
      column_ = column;
    }
  }
  int line_ = -1;
  int column_ = -1;
};

std::pair<int, int> RawErrorPosition(const std::string& text, google::protobuf::Message* m) {
  FirstError errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.ParseFromString(text, m);
  return {errors.line_, errors.column_};
}

// ----------------------------------------------------------- ParseTextProto

TEST(ParseTextProto, Valid) {
  v1::CollectorConfig c;
  absl::Status s = ParseTextProto(
      "listen: \"0.0.0.0:7443\"\n# comment\ntls { cert_file: \"a.pem\" }\nworker_threads: 4\n",
      "collector.textproto", &c);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(c.listen(), "0.0.0.0:7443");
  EXPECT_EQ(c.tls().cert_file(), "a.pem");
  EXPECT_EQ(c.worker_threads(), 4u);
}

TEST(ParseTextProto, UnknownFieldOnLineThreeNamesLineAndColumn) {
  const std::string text =
      "listen: \"127.0.0.1:7443\"\n"
      "data_dir: \"/var/lib/x\"\n"
      "   bogus_field: 1\n"
      "worker_threads: 2\n";
  v1::CollectorConfig c;
  absl::Status s = ParseTextProto(text, "/etc/preflight/collector.textproto", &c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  // The same position protobuf gives, made 1-based.
  v1::CollectorConfig scratch;
  auto [line0, col0] = RawErrorPosition(text, &scratch);
  ASSERT_EQ(line0 + 1, 3);
  EXPECT_THAT(std::string(s.message()),
              StartsWith(absl::StrCat("/etc/preflight/collector.textproto:", line0 + 1, ":",
                                      col0 + 1, ": ")));
  EXPECT_THAT(s.message(), HasSubstr("bogus_field"));
}

TEST(ParseTextProto, SyntaxErrorNamesLine) {
  const std::string text = "listen: \"x\"\ntls {\n  cert_file: \"a.pem\"\n";  // unclosed
  v1::CollectorConfig c;
  absl::Status s = ParseTextProto(text, "c.textproto", &c);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), StartsWith("c.textproto:"));
}

TEST(ParseTextProto, WrongTypeNamesLineAndColumn) {
  const std::string text = "listen: \"x\"\nworker_threads: \"many\"\n";
  v1::CollectorConfig c;
  absl::Status s = ParseTextProto(text, "c.textproto", &c);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), StartsWith("c.textproto:2:"));
}

// ------------------------------------------------------- LoadTextProtoFile

TEST(LoadTextProtoFile, MissingFileIsNotFoundNamingThePath) {
  testing::TempDir tmp;
  const std::string path = tmp.Join("nope/collector.textproto");
  v1::CollectorConfig c;
  absl::Status s = LoadTextProtoFile(path, &c);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(s.message(), HasSubstr(path));
}

TEST(LoadTextProtoFile, ErrorsNameTheFile) {
  testing::TempDir tmp;
  const std::string path = tmp.Join("collector.textproto");
  testing::WriteFile(path, "listen: \"x\"\nnot_a_field: true\n");
  v1::CollectorConfig c;
  absl::Status s = LoadTextProtoFile(path, &c);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), StartsWith(path + ":2:"));
}

TEST(LoadTextProtoFile, DirectoryIsAnError) {
  testing::TempDir tmp;
  testing::MakeDirs(tmp.Join("inventory.d"));
  v1::Inventory inv;
  EXPECT_FALSE(LoadTextProtoFile(tmp.Join("inventory.d"), &inv).ok());
}

TEST(LoadTextProtoFile, Loads) {
  testing::TempDir tmp;
  const std::string path = tmp.Join("inventory.textproto");
  testing::WriteFile(path, "hosts { id: \"prod-01\" environment: \"production\" }\n");
  v1::Inventory inv;
  ASSERT_TRUE(LoadTextProtoFile(path, &inv).ok());
  ASSERT_EQ(inv.hosts_size(), 1);
  EXPECT_EQ(inv.hosts(0).id(), "prod-01");
}

TEST(ReadFileToString, CapIsEnforced) {
  testing::TempDir tmp;
  testing::WriteFile(tmp.Join("f"), std::string(200'000, 'x'));
  auto small = ReadFileToString(tmp.Join("f"), 1000);
  EXPECT_FALSE(small.ok());
  auto all = ReadFileToString(tmp.Join("f"), 200'000);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 200'000u);
}

// -------------------------------------------------------- ResolveRelativeTo

TEST(ResolveRelativeTo, Cases) {
  EXPECT_EQ(ResolveRelativeTo("certs/a.pem", "/etc/preflight/collector.textproto"),
            "/etc/preflight/certs/a.pem");
  EXPECT_EQ(ResolveRelativeTo("a.pem", "/c.textproto"), "/a.pem");
  EXPECT_EQ(ResolveRelativeTo("../pki/ca.pem", "/etc/preflight/c.textproto"),
            "/etc/preflight/../pki/ca.pem");
  EXPECT_EQ(ResolveRelativeTo("/abs/a.pem", "/etc/preflight/c.textproto"), "/abs/a.pem");
  EXPECT_EQ(ResolveRelativeTo("", "/etc/preflight/c.textproto"), "");
  EXPECT_EQ(ResolveRelativeTo("a.pem", "c.textproto"), "a.pem");
  EXPECT_EQ(ResolveRelativeTo("a.pem", "conf/c.textproto"), "conf/a.pem");
}

// ---------------------------------------------------- LoadCollectorSettings

class CollectorSettingsTest : public ::testing::Test {
 protected:
  std::string WriteConfig(absl::string_view body) {
    testing::WriteFile(path_, body);
    return path_;
  }

  testing::TempDir tmp_;
  const std::string dir_ = tmp_.Join("etc");
  const std::string path_ = dir_ + "/collector.textproto";
  // Real files made by certs/: the loader reads them and matches the key.
  testing::TestPki pki_{dir_ + "/pki", "test.local"};
  const std::string kTls =
      absl::StrCat("tls { cert_file: \"pki/collector.pem\" key_file: \"pki/collector.key\" ",
                   "ca_file: \"", pki_.ca(), "\" }\n");
};

TEST_F(CollectorSettingsTest, ValidFileWithDefaults) {
  WriteConfig(absl::StrCat("trust_domain: \"test.local\"\n", kTls,
                           "inventory { hosts { id: \"prod-01\" environment: \"production\" "
                           "roles: \"manager\" } }\n"));
  auto s = collector::LoadCollectorSettings(path_);
  ASSERT_TRUE(s.ok()) << s.status();
  const v1::CollectorConfig& c = s->config;
  EXPECT_EQ(c.tls().cert_file(), dir_ + "/pki/collector.pem");
  EXPECT_EQ(c.tls().key_file(), dir_ + "/pki/collector.key");
  EXPECT_EQ(c.tls().ca_file(), pki_.ca());
  EXPECT_EQ(c.listen(), "127.0.0.1:7443");
  EXPECT_EQ(c.worker_threads(), collector::DefaultWorkerThreads());
  EXPECT_EQ(c.trust_domain(), "test.local");
  EXPECT_FALSE(c.data_dir().empty());
  EXPECT_GT(c.max_report_bytes(), 0u);
  EXPECT_THAT(s->policy.gating_environments(), ElementsAre("production", "staging", "backup"));
  EXPECT_EQ(s->policy.staleness_seconds(), 900u);
  ASSERT_EQ(s->inventory.hosts_size(), 1);
  EXPECT_EQ(s->inventory.hosts(0).id(), "prod-01");
  EXPECT_THAT(s->inventory.hosts(0).roles(), ElementsAre("manager"));
}

TEST_F(CollectorSettingsTest, ExplicitValuesAndRelativeDataDir) {
  WriteConfig(
      absl::StrCat("trust_domain: \"test.local\"\n", kTls,
                   "listen: \"0.0.0.0:9443\"\nworker_threads: 6\ndata_dir: \"data\"\n"
                   "policy { gating_environments: \"production\" staleness_seconds: 60 }\n"));
  auto s = collector::LoadCollectorSettings(path_);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->config.listen(), "0.0.0.0:9443");
  EXPECT_EQ(s->config.worker_threads(), 6u);
  EXPECT_EQ(s->config.data_dir(), dir_ + "/data");
  EXPECT_THAT(s->policy.gating_environments(), ElementsAre("production"));
  EXPECT_EQ(s->policy.staleness_seconds(), 60u);
}

TEST_F(CollectorSettingsTest, InventoryFileIsMerged) {
  testing::WriteFile(dir_ + "/inventory.textproto",
                     "hosts { id: \"stage-01\" environment: \"staging\" }\n"
                     "hosts { id: \"backup-01\" environment: \"backup\" roles: \"backup\" }\n");
  WriteConfig(
      absl::StrCat("trust_domain: \"test.local\"\n", kTls,
                   "inventory_file: \"inventory.textproto\"\n"
                   "inventory { hosts { id: \"prod-01\" environment: \"production\" } }\n"));
  auto s = collector::LoadCollectorSettings(path_);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->config.inventory_file(), dir_ + "/inventory.textproto");
  std::vector<std::string> ids;
  for (const auto& h : s->inventory.hosts()) ids.push_back(h.id());
  EXPECT_THAT(ids, ElementsAre("prod-01", "stage-01", "backup-01"));
}

TEST_F(CollectorSettingsTest, PolicyFileIsMerged) {
  testing::WriteFile(dir_ + "/policy.textproto", "staleness_seconds: 120\n");
  WriteConfig(
      absl::StrCat("trust_domain: \"test.local\"\n", kTls, "policy_file: \"policy.textproto\"\n"));
  auto s = collector::LoadCollectorSettings(path_);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->policy.staleness_seconds(), 120u);
  EXPECT_THAT(s->policy.gating_environments(), ElementsAre("production", "staging", "backup"));
}

TEST_F(CollectorSettingsTest, DuplicateHostAcrossInlineAndFileIsAnError) {
  testing::WriteFile(dir_ + "/inventory.textproto",
                     "hosts { id: \"prod-01\" environment: \"production\" }\n");
  WriteConfig(
      absl::StrCat("trust_domain: \"test.local\"\n", kTls,
                   "inventory_file: \"inventory.textproto\"\n"
                   "inventory { hosts { id: \"prod-01\" environment: \"production\" } }\n"));
  auto s = collector::LoadCollectorSettings(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("'prod-01'"));
  EXPECT_THAT(s.status().message(), HasSubstr(path_));
}

TEST_F(CollectorSettingsTest, DuplicateHostInlineIsAnError) {
  WriteConfig(absl::StrCat("trust_domain: \"test.local\"\n", kTls,
                           "inventory { hosts { id: \"a-1\" environment: \"qa\" }\n"
                           "            hosts { id: \"a-1\" environment: \"qa\" } }\n"));
  auto s = collector::LoadCollectorSettings(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("a-1"));
}

TEST_F(CollectorSettingsTest, BudgetAndRetentionDefaults) {
  WriteConfig(absl::StrCat("trust_domain: \"test.local\"\n", kTls));
  auto s = collector::LoadCollectorSettings(path_);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->config.max_reports_per_minute(), 12u);
  EXPECT_EQ(s->config.report_burst(), 1000u);
  EXPECT_EQ(s->config.max_audited_transitions_per_hour(), 60u);
  EXPECT_EQ(s->config.audit_retention_days(), 0u);  // kept forever
}

TEST_F(CollectorSettingsTest, AbsurdBudgetAndRetentionAreErrorsNamingTheLine) {
  WriteConfig(absl::StrCat("trust_domain: \"test.local\"\n", kTls,
                           "max_reports_per_minute: 100000\n"
                           "report_burst: 5000000\n"
                           "max_audited_transitions_per_hour: 9000000\n"
                           "audit_retention_days: 1\n"));
  auto s = collector::LoadCollectorSettings(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  for (const char* field :
       {"max_reports_per_minute 100000", "report_burst 5000000",
        "max_audited_transitions_per_hour 9000000", "audit_retention_days 1 is under 7"}) {
    EXPECT_THAT(s.status().message(), HasSubstr(field));
  }
  // Each where it is set (lines 3 to 6).
  for (int line = 3; line <= 6; ++line) {
    EXPECT_THAT(s.status().message(), HasSubstr(absl::StrCat(path_, ":", line, ":")));
  }
}

TEST_F(CollectorSettingsTest, MissingTrustDomainIsAnError) {
  WriteConfig(kTls);
  auto s = collector::LoadCollectorSettings(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("trust_domain"));
  EXPECT_THAT(s.status().message(), HasSubstr(path_));
}

TEST_F(CollectorSettingsTest, MissingTlsIsAnError) {
  WriteConfig("trust_domain: \"test.local\"\n");
  auto s = collector::LoadCollectorSettings(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("tls"));
}

TEST_F(CollectorSettingsTest, HostWithoutEnvironmentOrWithBadIdIsAnError) {
  WriteConfig(absl::StrCat("trust_domain: \"test.local\"\n", kTls,
                           "inventory { hosts { id: \"prod-01\" } }\n"));
  auto s = collector::LoadCollectorSettings(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("environment"));

  WriteConfig(absl::StrCat("trust_domain: \"test.local\"\n", kTls,
                           "inventory { hosts { id: \"prod/01\" environment: \"qa\" } }\n"));
  s = collector::LoadCollectorSettings(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("prod/01"));
}

TEST_F(CollectorSettingsTest, MissingInventoryFileIsNotFoundNamingIt) {
  WriteConfig(absl::StrCat("trust_domain: \"test.local\"\n", kTls,
                           "inventory_file: \"missing.textproto\"\n"));
  auto s = collector::LoadCollectorSettings(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.status().message(), HasSubstr(dir_ + "/missing.textproto"));
}

TEST_F(CollectorSettingsTest, SyntaxErrorInInventoryFileNamesThatFile) {
  testing::WriteFile(dir_ + "/inventory.textproto", "hosts { id: \"x\" colour: \"red\" }\n");
  WriteConfig(absl::StrCat("trust_domain: \"test.local\"\n", kTls,
                           "inventory_file: \"inventory.textproto\"\n"));
  auto s = collector::LoadCollectorSettings(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), StartsWith(dir_ + "/inventory.textproto:1:"));
}

// --- strict validation: one test per class of mistake ----------------------

class PolicyValidationTest : public CollectorSettingsTest {
 protected:
  // Loads a config with this inventory and policy file; returns the error.
  std::string Error(absl::string_view inventory, absl::string_view policy) {
    testing::WriteFile(dir_ + "/inventory.textproto", inventory);
    testing::WriteFile(dir_ + "/policy.textproto", policy);
    WriteConfig(absl::StrCat("trust_domain: \"test.local\"\n", kTls,
                             "inventory_file: \"inventory.textproto\"\n"
                             "policy_file: \"policy.textproto\"\n"));
    auto s = collector::LoadCollectorSettings(path_);
    return s.ok() ? "" : std::string(s.status().message());
  }
  std::string Inv() const { return dir_ + "/inventory.textproto"; }
  std::string Pol() const { return dir_ + "/policy.textproto"; }
  static constexpr char kHosts[] =
      "hosts { id: \"prod-01\" environment: \"production\" roles: \"manager\" }\n"
      "hosts { id: \"stage-01\" environment: \"staging\" roles: \"manager\" }\n";
};

TEST_F(PolicyValidationTest, AValidPolicyWithOverridesLoads) {
  EXPECT_EQ(Error(kHosts,
                  "tls_hostnames: \"opencrvs.gov.xx\"\n"
                  "override { environment: \"staging\" set { tls_hostnames: "
                  "\"staging.opencrvs.gov.xx\" } }\n"
                  "override { host: \"prod-01\" set { disk_warn_percent: 60 } }\n"),
            "");
}

TEST_F(PolicyValidationTest, MisspelledEnvironmentInTheInventory) {
  std::string e = Error("hosts { id: \"prod-01\" environment: \"prodution\" }\n", "");
  EXPECT_THAT(e, HasSubstr(Inv() + ":1:23: host prod-01: environment 'prodution' is not "
                                   "declared; did you mean production?"));
}

TEST_F(PolicyValidationTest, MisspelledRoleInTheInventory) {
  std::string e = Error(
      "hosts { id: \"prod-01\" environment: \"production\" roles: \"worker\" roles: \"mangr\" }\n",
      "");
  EXPECT_THAT(e, HasSubstr(Inv() + ":1:65: host prod-01: role 'mangr' is not declared; did "
                                   "you mean manager?"));
}

TEST_F(PolicyValidationTest, MisspelledGatingEnvironment) {
  std::string e =
      Error(kHosts, "gating_environments: \"production\"\ngating_environments: \"stagin\"\n");
  EXPECT_THAT(
      e, HasSubstr(Pol() + ":2:1: environment 'stagin' is not declared; did you mean staging?"));
}

TEST_F(PolicyValidationTest, DeclaredEnvironmentsAndRolesAreAccepted) {
  EXPECT_EQ(Error("hosts { id: \"dr-01\" environment: \"disaster-recovery\" roles: \"mirror\" }\n",
                  "environments: \"disaster-recovery\"\nroles: \"mirror\"\n"
                  "gating_environments: \"disaster-recovery\"\n"),
            "");
}

TEST_F(PolicyValidationTest, DatesMustBeRfc3339) {
  EXPECT_THAT(Error(kHosts, "go_live_date: \"01-12-2026\"\n"),
              HasSubstr(Pol() + ":1:1: go_live_date is \"01-12-2026\": not an RFC 3339 date"));
  EXPECT_THAT(Error(kHosts, "go_live_date: \"2026-02-30\"\n"), HasSubstr("not an RFC 3339 date"));
  EXPECT_EQ(Error(kHosts, "go_live_date: \"2026-12-01\"\n"), "");
}

TEST_F(PolicyValidationTest, PercentagesInRangeAndWarnBelowFail) {
  EXPECT_THAT(Error(kHosts, "disk_fail_percent: 170\n"),
              HasSubstr(Pol() + ":1:1: disk_fail_percent is 170, outside 1..100 percent"));
  std::string e = Error(kHosts, "disk_warn_percent: 80\ndisk_fail_percent: 70\n");
  EXPECT_THAT(e, HasSubstr("disk_warn_percent (80 from " + Pol() +
                           ":1:1) must be below disk_fail_percent (70 from " + Pol() + ":2:1)"));
  // Per host too: an override can break the ordering for one host only.
  e = Error(kHosts, "override { host: \"stage-01\" set { disk_warn_percent: 75 } }\n");
  EXPECT_THAT(e, HasSubstr("must be below disk_fail_percent (70 from default) for host stage-01"));
  EXPECT_THAT(e, Not(HasSubstr("prod-01")));
  EXPECT_THAT(Error(kHosts, "tls_warn_days: 5\ntls_fail_days: 7\n"),
              HasSubstr("tls_warn_days (5 from " + Pol() + ":1:1) must be above tls_fail_days"));
}

TEST_F(PolicyValidationTest, UnknownParameterNamesSuggestTheRightOne) {
  std::string e = Error(kHosts, "tls_hostname: \"x.gov\"\n");
  EXPECT_THAT(e, HasSubstr(Pol() + ":1:13:"));
  EXPECT_THAT(e, HasSubstr("has no field named \"tls_hostname\"; did you mean tls_hostnames?"));
}

TEST_F(PolicyValidationTest, OverridesNeedOneDeclaredSelectorAndOnlyParameters) {
  EXPECT_THAT(
      Error(kHosts,
            "override { environment: \"staging\" role: \"manager\" set { "
            "ssh_port: 2222 } }\n"),
      HasSubstr(Pol() + ":1:1: an override names exactly one of environment, role or host"));
  EXPECT_THAT(Error(kHosts, "override { role: \"mangr\" set { ssh_port: 2222 } }\n"),
              HasSubstr(Pol() + ":1:12: role 'mangr' is not declared; did you mean manager?"));
  EXPECT_THAT(Error(kHosts, "override { host: \"prod-1\" set { ssh_port: 2222 } }\n"),
              HasSubstr("host 'prod-1' is not in the inventory; did you mean prod-01?"));
  EXPECT_THAT(
      Error(kHosts, "override { environment: \"staging\" set { staleness_seconds: 60 } }\n"),
      HasSubstr(Pol() + ":1:41: staleness_seconds is a fleet setting, not a check "
                        "parameter"));
  EXPECT_THAT(
      Error(kHosts, "override { environment: \"staging\" set { allowed_ports: \"443\" } }\n"),
      HasSubstr("allowed_ports entry \"443\" is not PORT/tcp or PORT/udp"));
}

TEST_F(PolicyValidationTest, ASettingMadeInlineAndInTheFileIsAnError) {
  testing::WriteFile(dir_ + "/policy.textproto", "tls_hostnames: \"b.gov\"\n");
  WriteConfig(absl::StrCat("trust_domain: \"test.local\"\n", kTls,
                           "policy_file: \"policy.textproto\"\n"
                           "policy { tls_hostnames: \"a.gov\" }\n"));
  auto s = collector::LoadCollectorSettings(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(),
              HasSubstr(Pol() + ":1:1: tls_hostnames is also set at " + path_ + ":4:10"));
}

TEST_F(PolicyValidationTest, ZeroIsAValue) {
  testing::WriteFile(dir_ + "/policy.textproto", "tls_fail_days: 0\n");
  WriteConfig(
      absl::StrCat("trust_domain: \"test.local\"\n", kTls, "policy_file: \"policy.textproto\"\n"));
  auto s = collector::LoadCollectorSettings(path_);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(s->policy.has_tls_fail_days());
  EXPECT_EQ(s->policy.tls_fail_days(), 0u);
  EXPECT_EQ(s->policy.locations().at("tls_fail_days"), Pol() + ":1:1");
}

TEST_F(PolicyValidationTest, TlsFilesMustBeReadableAndTheKeyMustMatch) {
  WriteConfig(absl::StrCat("trust_domain: \"test.local\"\n",
                           "tls { cert_file: \"pki/collector.pem\"\n"
                           "      key_file: \"pki/missing.key\"\n"
                           "      ca_file: \"pki/ca.pem\" }\n"));
  auto s = collector::LoadCollectorSettings(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(),
              HasSubstr(path_ + ":3:7: cannot read " + dir_ + "/pki/missing.key"));
  // Another certificate's key.
  pki_.IssueOperator("alice");
  WriteConfig(absl::StrCat("trust_domain: \"test.local\"\n",
                           "tls { cert_file: \"pki/collector.pem\"\n"
                           "      key_file: \"",
                           pki_.OperatorTls("alice").key_file(),
                           "\"\n"
                           "      ca_file: \"pki/ca.pem\" }\n"));
  s = collector::LoadCollectorSettings(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(),
              HasSubstr(path_ + ":3:7: " + pki_.OperatorTls("alice").key_file() +
                        " does not match the certificate " + dir_ + "/pki/collector.pem"));
}

TEST_F(PolicyValidationTest, EveryErrorIsReportedAtOnce) {
  std::string e = Error("hosts { id: \"prod-01\" environment: \"prodution\" }\n",
                        "gating_environments: \"stagin\"\ngo_live_date: \"01-12-2026\"\n");
  EXPECT_THAT(e, HasSubstr("prodution"));
  EXPECT_THAT(e, HasSubstr("stagin"));
  EXPECT_THAT(e, HasSubstr("01-12-2026"));
}

TEST_F(CollectorSettingsTest, MissingConfigIsNotFound) {
  auto s = collector::LoadCollectorSettings(tmp_.Join("absent.textproto"));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace preflight
