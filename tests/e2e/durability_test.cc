// Nothing acked is lost, nothing is stored twice: the collector is SIGKILLed
// at the worst moments and restarted on the same RocksDB directory.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/store/keys.h"
#include "collector/store/store.h"
#include "tests/support/cluster.h"

namespace preflight::testing {
namespace {

int PendingInSpool(const std::string& spool) {
  RunResult r =
      RunProcess({"sh", "-c", "ls " + spool + "/reports | grep -c '\\.pb$'"}, absl::Seconds(10));
  return std::atoi(r.out.c_str());
}

class DurabilityTest : public ::testing::Test {
 protected:
  DurabilityTest() : cluster_(OneManager()) {}

  // Starts the collector with `hook`, runs an agent, SIGKILLs the collector
  // while the hook holds the report, and checks the agent did not get an ack.
  void KillWhileHolding(const std::string& hook, const std::string& log_marker) {
    cluster_.StartCollector({hook, "60000"});
    auto agent = cluster_.StartAgentOnce("prod-01", FixtureRoot("opencrvs-manager"), 8);
    ASSERT_TRUE(WaitFor([&] { return absl::StrContains(cluster_.collector_log(), log_marker); },
                        absl::Seconds(30)))
        << cluster_.collector_log();
    cluster_.StopCollector(SIGKILL);
    int code = agent->Wait(absl::Seconds(60));
    EXPECT_EQ(code, 1) << "the agent must not report success without an ack";
    EXPECT_EQ(PendingInSpool(cluster_.SpoolDir("prod-01")), 1);
  }

  TestCluster cluster_;
};

TEST_F(DurabilityTest, KilledAfterStoreBeforeAckStoresReportOnce) {
  KillWhileHolding("--test-hold-before-ack-ms", "holding the ack");
  // It was durably stored before the kill.
  EXPECT_EQ(StoredSequences(cluster_.data_dir()), (std::map<uint64_t, int>{{1, 1}}));

  cluster_.StartCollector();
  RunResult again = cluster_.AgentOnce("prod-01", FixtureRoot("opencrvs-manager"));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(PendingInSpool(cluster_.SpoolDir("prod-01")), 0);
  EXPECT_TRUE(absl::StrContains(cluster_.collector_log(), "#1 (duplicate)"))
      << cluster_.collector_log();
  cluster_.StopCollector(SIGTERM);
  // The resent #1 is stored once, the new #2 once.
  EXPECT_EQ(StoredSequences(cluster_.data_dir()), (std::map<uint64_t, int>{{1, 1}, {2, 1}}));
}

TEST_F(DurabilityTest, KilledBeforeStoreLosesNothingOnResend) {
  cluster_.StartCollector({"--test-hold-before-store-ms", "60000"});
  auto agent = cluster_.StartAgentOnce("prod-01", FixtureRoot("opencrvs-manager"), 8);
  // The report is in the collector's hands once the agent has connected.
  ASSERT_TRUE(WaitFor(
      [&] {
        return absl::StrContains(ReadFile(cluster_.dir().Join("agent-prod-01/once.err")),
                                 "connected");
      },
      absl::Seconds(30)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  cluster_.StopCollector(SIGKILL);
  EXPECT_EQ(agent->Wait(absl::Seconds(60)), 1);
  EXPECT_EQ(PendingInSpool(cluster_.SpoolDir("prod-01")), 1);
  EXPECT_TRUE(StoredSequences(cluster_.data_dir()).empty());

  cluster_.StartCollector();
  RunResult again = cluster_.AgentOnce("prod-01", FixtureRoot("opencrvs-manager"));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  cluster_.StopCollector(SIGTERM);
  EXPECT_EQ(StoredSequences(cluster_.data_dir()), (std::map<uint64_t, int>{{1, 1}, {2, 1}}));
}

TEST_F(DurabilityTest, AckedReportSurvivesCollectorKill) {
  cluster_.StartCollector();
  RunResult r = cluster_.AgentOnce("prod-01", FixtureRoot("opencrvs-manager"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  cluster_.StopCollector(SIGKILL);  // right after the ack
  EXPECT_EQ(StoredSequences(cluster_.data_dir()), (std::map<uint64_t, int>{{1, 1}}));

  cluster_.StartCollector();
  RunResult host = cluster_.Ctl({"host", "prod-01", "--format", "json"});
  EXPECT_EQ(host.exit_code, 0) << host.out << host.err;
  EXPECT_TRUE(absl::StrContains(host.out, "\"PASS\"")) << host.out;
}

TEST_F(DurabilityTest, AgentKeepsReportsWhileCollectorIsDown) {
  cluster_.StartCollector();
  cluster_.StopCollector(SIGKILL);
  // Two runs while the collector is down: both reports stay spooled.
  EXPECT_EQ(cluster_.AgentOnce("prod-01", FixtureRoot("opencrvs-manager"), 2).exit_code, 1);
  EXPECT_EQ(cluster_.AgentOnce("prod-01", FixtureRoot("opencrvs-manager"), 2).exit_code, 1);
  EXPECT_EQ(PendingInSpool(cluster_.SpoolDir("prod-01")), 2);
  cluster_.StartCollector();
  RunResult r = cluster_.AgentOnce("prod-01", FixtureRoot("opencrvs-manager"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(PendingInSpool(cluster_.SpoolDir("prod-01")), 0);
  cluster_.StopCollector(SIGTERM);
  EXPECT_EQ(StoredSequences(cluster_.data_dir()),
            (std::map<uint64_t, int>{{1, 1}, {2, 1}, {3, 1}}));
}

}  // namespace
}  // namespace preflight::testing
