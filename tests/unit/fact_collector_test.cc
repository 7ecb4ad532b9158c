// Tests for agent/facts/builtin.cc: fact collectors run in the order their
// declared reads() need, whatever order they are listed in.
#include "agent/facts/fact_collector.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "agent/host/rooted_host_env.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Collects nothing; says what it reads.
class FakeCollector : public FactCollector {
 public:
  FakeCollector(std::string name, std::vector<std::string> reads)
      : name_(std::move(name)), reads_(std::move(reads)) {}
  absl::string_view name() const override { return name_; }
  std::vector<absl::string_view> reads() const override {
    return std::vector<absl::string_view>(reads_.begin(), reads_.end());
  }
  v1::Collection* Collect(HostEnv&, const CollectOptions&, v1::FactReport& report) override {
    return report.mutable_accounts()->mutable_collection();
  }

 private:
  std::string name_;
  std::vector<std::string> reads_;
};

std::vector<std::unique_ptr<FactCollector>> Fakes(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& spec) {
  std::vector<std::unique_ptr<FactCollector>> all;
  for (const auto& [name, reads] : spec)
    all.push_back(std::make_unique<FakeCollector>(name, reads));
  return all;
}

std::vector<std::string> Names(const std::vector<FactCollector*>& order) {
  std::vector<std::string> names;
  for (const FactCollector* c : order) names.emplace_back(c->name());
  return names;
}

TEST(RunOrderTest, ReadersRunAfterWhatTheyReadOtherwiseInListOrder) {
  auto collectors = Fakes({{"keys", {"accounts", "sshd"}},
                           {"disks", {}},
                           {"sshd", {"accounts"}},
                           {"history", {"accounts"}},
                           {"accounts", {}}});
  auto order = RunOrder(collectors);
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_THAT(Names(*order), ElementsAre("disks", "accounts", "sshd", "keys", "history"));
}

TEST(RunOrderTest, ACycleIsNamed) {
  auto order = RunOrder(Fakes({{"disks", {}}, {"a", {"b"}}, {"b", {"c"}}, {"c", {"a"}}}));
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(order.status().message(), "fact collectors read each other: a reads b reads c reads a");
  order = RunOrder(Fakes({{"self", {"self"}}}));
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.status().message(), "fact collectors read each other: self reads self");
}

TEST(RunOrderTest, AKindNobodyCollectsOrTwoCollectorsOfOneKind) {
  auto order = RunOrder(Fakes({{"sshd", {"accounts"}}}));
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.status().message(),
            "fact collector 'sshd' reads 'accounts', which no collector collects");
  order = RunOrder(Fakes({{"sshd", {}}, {"sshd", {}}}));
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.status().message(), "fact kind 'sshd' is collected twice");
}

TEST(RunOrderTest, CollectReportRefusesLoudly) {
  auto env = RootedHostEnv::Create(std::string(PREFLIGHT_FIXTURES) + "/hosts/opencrvs-manager");
  ASSERT_TRUE(env.ok()) << env.status();
  auto broken = Fakes({{"sshd", {"accounts"}}});
  EXPECT_DEATH(CollectReport(**env, CollectOptions(), broken),
               HasSubstr("reads 'accounts', which no collector collects"));
}

TEST(RunOrderTest, EveryBuiltinCollectorRunsAfterWhatItReads) {
  auto collectors = BuiltinCollectors();
  auto order = RunOrder(collectors);
  ASSERT_TRUE(order.ok()) << order.status();
  std::vector<std::string> names = Names(*order);
  for (const FactCollector* c : *order) {
    auto at = std::find(names.begin(), names.end(), c->name());
    for (absl::string_view kind : c->reads()) {
      EXPECT_LT(std::find(names.begin(), names.end(), kind), at) << c->name() << " reads " << kind;
    }
  }
}

// The declarations are complete: listed backwards, the builtin collectors
// still produce the same report.
TEST(RunOrderTest, TheBuiltinListBackwardsGivesTheSameReport) {
  for (const char* fixture : {"opencrvs-manager", "removed-user", "history-secrets"}) {
    auto env = RootedHostEnv::Create(std::string(PREFLIGHT_FIXTURES) + "/hosts/" + fixture);
    ASSERT_TRUE(env.ok()) << env.status();
    auto forwards = BuiltinCollectors();
    auto backwards = BuiltinCollectors();
    std::reverse(backwards.begin(), backwards.end());
    v1::FactReport a = CollectReport(**env, CollectOptions(), forwards);
    v1::FactReport b = CollectReport(**env, CollectOptions(), backwards);
    EXPECT_GT(a.accounts().accounts_size(), 0) << fixture;
    EXPECT_GT(a.authorized_keys().keys_size(), 0) << fixture;
    google::protobuf::util::MessageDifferencer diff;
    diff.IgnoreField(v1::FactReport::descriptor()->FindFieldByName("collected_at_unix_ms"));
    diff.IgnoreField(v1::Collection::descriptor()->FindFieldByName("duration_us"));
    std::string differences;
    diff.ReportDifferencesToString(&differences);
    EXPECT_TRUE(diff.Compare(a, b)) << fixture << ":\n" << differences;
  }
}

}  // namespace
}  // namespace preflight::agent
