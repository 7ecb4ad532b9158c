// time.synchronized: the time fact from timedatectl and chronyc output, and
// the check's verdicts (the goldens cover realistic fixture hosts).
#include "agent/facts/time.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/host/rooted_host_env.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"
#include "tests/support/check_eval.h"
#include "tests/support/temp_dir.h"

namespace preflight {
namespace {

using ::testing::HasSubstr;

TEST(TimeFact, ParsesTimedatectl) {
  v1::TimeFact f;
  EXPECT_TRUE(agent::ParseTimedatectl("Timezone=UTC\nNTP=yes\nNTPSynchronized=no\n", f));
  EXPECT_TRUE(f.ntp_enabled());
  EXPECT_FALSE(f.synchronized());
  v1::TimeFact none;
  EXPECT_FALSE(agent::ParseTimedatectl("garbage\n", none));
}

TEST(TimeFact, ParsesChronyTracking) {
  v1::TimeFact f;
  EXPECT_TRUE(agent::ParseChronyTracking(
      "A29FC801,162.159.200.1,3,1767225600.1,-0.250000000,0.1,0.1,-12.3,0.001,0.01,0.01,0.001,"
      "1024.5,Normal\n",
      f));
  EXPECT_TRUE(f.synchronized());
  EXPECT_TRUE(f.offset_known());
  EXPECT_DOUBLE_EQ(f.offset_seconds(), -0.25);
  v1::TimeFact unsynced;
  EXPECT_TRUE(agent::ParseChronyTracking(
      "00000000,,0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,Not synchronised\n", unsynced));
  EXPECT_FALSE(unsynced.synchronized());
  v1::TimeFact bad;
  EXPECT_FALSE(agent::ParseChronyTracking("a,b,c\n", bad));
  EXPECT_FALSE(agent::ParseChronyTracking("1,2,3,4,nan,6,7,8,9,10,11,12,13,Normal\n", bad));
}

v1::Verdict Evaluate(const v1::FactReport& report, v1::Policy policy = {}) {
  return testing::EvaluateCheck(report, "time.synchronized", policy,
                                testing::TestHost("prod-01", "production", ""),
                                absl::FromUnixSeconds(1'700'000'000));
}

TEST(TimeCheck, NoTimeServiceIsUnknownNeverPass) {
  testing::TempDir root;
  auto env = agent::RootedHostEnv::Create(root.path());
  ASSERT_TRUE(env.ok());
  v1::FactReport report;
  agent::MakeTimeCollector()->Collect(**env, agent::CollectOptions(), report);
  EXPECT_EQ(report.time().collection().state(), v1::Collection::ABSENT);
  v1::Verdict v = Evaluate(report);
  EXPECT_EQ(v.status(), v1::UNKNOWN);
  EXPECT_THAT(v.evidence(0).message(), HasSubstr("no time service answered"));
}

TEST(TimeCheck, OffsetThresholdComesFromThePolicy) {
  v1::FactReport report;
  v1::TimeFact& t = *report.mutable_time();
  t.mutable_collection()->set_state(v1::Collection::OK);
  t.set_service("chrony");
  t.set_ntp_enabled(true);
  t.set_synchronized(true);
  t.set_offset_known(true);
  t.set_offset_seconds(1.5);
  EXPECT_EQ(Evaluate(report).status(), v1::PASS);  // default 2000 ms
  v1::Policy strict;
  strict.set_max_clock_offset_ms(1000);
  v1::Verdict v = Evaluate(report, strict);
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_EQ(v.evidence(0).expected(), "within 1000 ms");
}

TEST(TimeCheck, AnAgentClockAheadOfTheCollectorIsAFinding) {
  v1::FactReport report;
  v1::TimeFact& t = *report.mutable_time();
  t.mutable_collection()->set_state(v1::Collection::OK);
  t.set_ntp_enabled(true);
  t.set_synchronized(true);
  // The collector receives at 1'700'000'000 s; the report claims a year on.
  report.set_collected_at_unix_ms((1'700'000'000LL + 365 * 86400) * 1000);
  v1::Verdict v = Evaluate(report);
  EXPECT_EQ(v.status(), v1::FAIL);
  ASSERT_EQ(v.evidence_size(), 2);
  EXPECT_THAT(v.evidence(1).message(), HasSubstr("the agent's clock runs 31536000 s ahead"));
  // A minute ahead is within the skew; behind (a spooled report) is normal.
  report.set_collected_at_unix_ms((1'700'000'000LL + 60) * 1000);
  EXPECT_EQ(Evaluate(report).status(), v1::PASS);
  report.set_collected_at_unix_ms((1'700'000'000LL - 86400) * 1000);
  EXPECT_EQ(Evaluate(report).status(), v1::PASS);
}

}  // namespace
}  // namespace preflight
