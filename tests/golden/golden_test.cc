// Golden scenarios: every fake host root under tests/fixtures/hosts is
// collected (as the agent would with --root) and evaluated (as the collector
// would); facts and verdicts are compared with tests/fixtures/golden/.
// PREFLIGHT_UPDATE_GOLDEN=1 rewrites the golden files; review the diff.
#include "tests/support/golden.h"

#include <dirent.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "agent/facts/fact_collector.h"
#include "agent/host/rooted_host_env.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"
#include "tests/support/temp_dir.h"

namespace preflight::testing {
namespace {

std::vector<std::string> FixtureNames() {
  std::vector<std::string> names;
  std::string dir = std::string(PREFLIGHT_FIXTURES) + "/hosts";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, FactsAndVerdictsMatch) {
  const std::string name = GetParam();
  GoldenScenario scenario = RunScenario(name);
  std::string facts_text, verdicts_text;
  google::protobuf::TextFormat::PrintToString(scenario.facts, &facts_text);
  google::protobuf::TextFormat::PrintToString(scenario.verdicts, &verdicts_text);
  std::string golden = std::string(PREFLIGHT_FIXTURES) + "/golden/" + name;
  if (std::getenv("PREFLIGHT_UPDATE_GOLDEN") != nullptr) {
    WriteFile(golden + ".facts.textproto", facts_text);
    WriteFile(golden + ".verdicts.textproto", verdicts_text);
    GTEST_SKIP() << "golden files rewritten for " << name;
  }
  v1::FactReport want_facts;
  v1::HostVerdicts want_verdicts;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(ReadFile(golden + ".facts.textproto"),
                                                            &want_facts))
      << "missing or broken " << golden << ".facts.textproto (PREFLIGHT_UPDATE_GOLDEN=1 makes it)";
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      ReadFile(golden + ".verdicts.textproto"), &want_verdicts))
      << "missing or broken " << golden << ".verdicts.textproto";
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(want_facts, scenario.facts)) << name << " facts:\n" << diff;
  diff.clear();
  EXPECT_TRUE(differ.Compare(want_verdicts, scenario.verdicts)) << name << " verdicts:\n" << diff;
}

TEST_P(GoldenTest, NoSecretLeavesTheHost) {
  GoldenScenario scenario = RunScenario(GetParam());
  std::string wire;
  ASSERT_TRUE(scenario.facts.SerializeToString(&wire));
  // The OTP seed in every fixture's ~/.google_authenticator, and the fake
  // password hashes of the shadow files.
  EXPECT_FALSE(absl::StrContains(wire, "FIXTURESECRETDONOTSEND"));
  EXPECT_FALSE(absl::StrContains(wire, "THIS.IS.NOT.A.REAL.HASH"));
  // The exported passwords and tokens in history-secrets' history files.
  EXPECT_FALSE(absl::StrContains(wire, "HistSecret"));
  // opencrvs-application's planted application secrets (services'
  // environment, the employee seed's admin password APPSECRETSEEDPW5) and
  // the bcrypt hashes the user database holds.
  EXPECT_FALSE(absl::StrContains(wire, "APPSECRET"));
  EXPECT_FALSE(absl::StrContains(wire, "$2a$"));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GoldenTest, ::testing::ValuesIn(FixtureNames()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace preflight::testing
