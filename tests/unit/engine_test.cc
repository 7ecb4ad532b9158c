// Tests for collector/readiness/engine: applicability, evaluation, host and
// fleet status.
#include "collector/readiness/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace preflight::collector {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

v1::InventoryHost Host(const std::string& id, const std::string& env,
                       std::vector<std::string> roles = {}) {
  v1::InventoryHost h;
  h.set_id(id);
  h.set_environment(env);
  for (auto& r : roles) h.add_roles(r);
  return h;
}

v1::CheckInfo Info(const std::string& id, v1::Severity severity,
                   std::vector<std::string> environments = {},
                   std::vector<std::string> roles = {}) {
  v1::CheckInfo info;
  info.set_id(id);
  info.set_title("title of " + id);
  info.set_severity(severity);
  for (auto& e : environments) info.add_environments(e);
  for (auto& r : roles) info.add_roles(r);
  return info;
}

Check Automated(v1::CheckInfo info, v1::CheckStatus status, int* calls = nullptr) {
  Check c;
  c.info = std::move(info);
  c.evaluate = [status, calls](const v1::FactReport&, const EvalContext&) {
    if (calls != nullptr) ++*calls;
    return MakeVerdict(status, {MakeEvidence("evaluated", "test")});
  };
  return c;
}

Check Manual(const std::string& id) {
  Check c;
  c.info = Info(id, v1::BLOCKER);
  c.info.set_manual(true);
  return c;
}

// Stored verdicts as the store would hold them after a report at `collected`.
v1::HostVerdicts Verdicts(const std::string& host, absl::Time collected,
                          std::vector<std::pair<std::string, v1::CheckStatus>> statuses) {
  v1::HostVerdicts v;
  v.set_host_id(host);
  v.set_agent_instance("0123456789abcdef0123456789abcdef");
  v.set_sequence(7);
  v.set_collected_at_unix_ms(absl::ToUnixMillis(collected));
  v.set_received_at_unix_ms(absl::ToUnixMillis(collected));
  v.set_evaluated_at_unix_ms(absl::ToUnixMillis(collected));
  for (auto& [id, status] : statuses) {
    v1::Verdict* verdict = v.add_verdicts();
    verdict->set_check_id(id);
    verdict->set_status(status);
    *verdict->add_evidence() = MakeEvidence("stored evidence for " + id, "file:1");
  }
  return v;
}

const v1::CheckResult* FindCheck(const v1::HostStatus& s, const std::string& id) {
  for (const auto& c : s.checks()) {
    if (c.check().id() == id) return &c;
  }
  return nullptr;
}

// ------------------------------------------------------------ policy defaults

TEST(WithPolicyDefaults, FillsGatingAndStaleness) {
  v1::Policy p = WithPolicyDefaults(v1::Policy());
  EXPECT_THAT(p.gating_environments(), ElementsAre("production", "staging", "backup"));
  EXPECT_EQ(p.staleness_seconds(), 900u);
}

TEST(WithPolicyDefaults, KeepsGivenValues) {
  v1::Policy in;
  in.add_gating_environments("production");
  in.set_staleness_seconds(60);
  v1::Policy p = WithPolicyDefaults(in);
  EXPECT_THAT(p.gating_environments(), ElementsAre("production"));
  EXPECT_EQ(p.staleness_seconds(), 60u);
}

// ------------------------------------------------------------------- Applies

TEST(Applies, EmptyListsApplyEverywhere) {
  std::string reason = "untouched";
  EXPECT_TRUE(Applies(Info("c", v1::BLOCKER), Host("h", "qa"), &reason));
  EXPECT_TRUE(Applies(Info("c", v1::BLOCKER), Host("h", "production", {"manager"}), nullptr));
}

TEST(Applies, Environments) {
  v1::CheckInfo prod_only = Info("c", v1::BLOCKER, {"production", "staging"});
  std::string reason;
  EXPECT_TRUE(Applies(prod_only, Host("h", "staging"), &reason));
  EXPECT_FALSE(Applies(prod_only, Host("h", "qa"), &reason));
  EXPECT_THAT(reason, HasSubstr("production"));
  EXPECT_THAT(reason, HasSubstr("qa"));
  EXPECT_FALSE(Applies(prod_only, Host("h", "qa"), nullptr));
}

TEST(Applies, Roles) {
  v1::CheckInfo backup_only = Info("c", v1::BLOCKER, {}, {"backup"});
  std::string reason;
  EXPECT_TRUE(Applies(backup_only, Host("h", "production", {"manager", "backup"}), &reason));
  EXPECT_FALSE(Applies(backup_only, Host("h", "production", {"manager", "worker"}), &reason));
  EXPECT_THAT(reason, HasSubstr("backup"));
  EXPECT_THAT(reason, HasSubstr("manager"));
  EXPECT_FALSE(Applies(backup_only, Host("h", "production"), &reason));
  EXPECT_THAT(reason, HasSubstr("none"));
}

TEST(Applies, EnvironmentAndRoleBothNeeded) {
  v1::CheckInfo info = Info("c", v1::BLOCKER, {"production"}, {"backup"});
  EXPECT_TRUE(Applies(info, Host("h", "production", {"backup"}), nullptr));
  EXPECT_FALSE(Applies(info, Host("h", "staging", {"backup"}), nullptr));
  EXPECT_FALSE(Applies(info, Host("h", "production", {"manager"}), nullptr));
}

// ------------------------------------------------------------------ Evaluate

TEST(Evaluate, NotApplicableWithReasonAndOthersEvaluated) {
  CheckRegistry registry;
  int prod_calls = 0;
  int all_calls = 0;
  registry.AddForTest(
      Automated(Info("prod.only", v1::BLOCKER, {"production"}), v1::PASS, &prod_calls));
  registry.AddForTest(Automated(Info("everywhere", v1::ADVISORY), v1::FAIL, &all_calls));
  registry.AddForTest(Manual("manual.item"));

  v1::FactReport report;
  report.set_agent_instance("0123456789abcdef0123456789abcdef");
  report.set_sequence(42);
  report.set_collected_at_unix_ms(1'699'999'000'000);
  v1::HostVerdicts out =
      Evaluate(registry, Host("qa-01", "qa"), WithPolicyDefaults({}), report, kNow);

  EXPECT_EQ(out.host_id(), "qa-01");
  EXPECT_EQ(out.agent_instance(), report.agent_instance());
  EXPECT_EQ(out.sequence(), 42u);
  EXPECT_EQ(out.collected_at_unix_ms(), report.collected_at_unix_ms());
  EXPECT_EQ(out.evaluated_at_unix_ms(), absl::ToUnixMillis(kNow));
  EXPECT_EQ(out.received_at_unix_ms(), absl::ToUnixMillis(kNow));

  // Manual checks have no verdict here.
  ASSERT_EQ(out.verdicts_size(), 2) << out.DebugString();
  const v1::Verdict& na = out.verdicts(0);
  EXPECT_EQ(na.check_id(), "prod.only");
  EXPECT_EQ(na.status(), v1::NOT_APPLICABLE);
  ASSERT_GE(na.evidence_size(), 1);
  EXPECT_THAT(na.evidence(0).message(), HasSubstr("production"));
  EXPECT_THAT(na.evidence(0).message(), HasSubstr("qa"));
  EXPECT_EQ(prod_calls, 0);

  const v1::Verdict& ev = out.verdicts(1);
  EXPECT_EQ(ev.check_id(), "everywhere");
  EXPECT_EQ(ev.status(), v1::FAIL);
  EXPECT_EQ(all_calls, 1);
}

TEST(Evaluate, EngineSetsTheCheckIdAndPassesContext) {
  CheckRegistry registry;
  Check c;
  c.info = Info("ctx.check", v1::BLOCKER);
  std::string seen_host;
  absl::Time seen_now;
  c.evaluate = [&](const v1::FactReport&, const EvalContext& ctx) {
    seen_host = ctx.host.id();
    seen_now = ctx.now;
    v1::Verdict v;
    v.set_check_id("wrong id");
    v.set_status(v1::WARN);
    return v;
  };
  registry.AddForTest(std::move(c));
  v1::HostVerdicts out =
      Evaluate(registry, Host("prod-01", "production"), WithPolicyDefaults({}), {}, kNow);
  ASSERT_EQ(out.verdicts_size(), 1);
  EXPECT_EQ(out.verdicts(0).check_id(), "ctx.check");
  EXPECT_EQ(out.verdicts(0).status(), v1::WARN);
  EXPECT_EQ(seen_host, "prod-01");
  EXPECT_EQ(seen_now, kNow);
}

// ----------------------------------------------------------- BuildHostStatus

class HostStatusTest : public ::testing::Test {
 protected:
  HostStatusTest() {
    registry_.AddForTest(Automated(Info("blocker.a", v1::BLOCKER), v1::PASS));
    registry_.AddForTest(Automated(Info("advisory.b", v1::ADVISORY), v1::PASS));
    registry_.AddForTest(Manual("manual.c"));
    policy_ = WithPolicyDefaults({});
  }

  v1::HostStatus Status(const v1::InventoryHost& host, std::optional<v1::HostVerdicts> latest,
                        absl::Time now = kNow) {
    return BuildHostStatus(registry_, host, policy_, latest, now);
  }

  CheckRegistry registry_;
  v1::Policy policy_;
};

TEST_F(HostStatusTest, NeverReported) {
  v1::HostStatus s = Status(Host("prod-01", "production", {"manager"}), std::nullopt);
  EXPECT_EQ(s.host_id(), "prod-01");
  EXPECT_EQ(s.environment(), "production");
  EXPECT_THAT(s.roles(), ElementsAre("manager"));
  EXPECT_TRUE(s.gating());
  EXPECT_FALSE(s.reported());
  EXPECT_TRUE(s.stale());
  EXPECT_FALSE(s.ready());
  EXPECT_EQ(s.last_report_unix_ms(), 0);
  // Every automated check, none of the manual ones.
  ASSERT_EQ(s.checks_size(), 2);
  for (const auto& c : s.checks()) {
    EXPECT_EQ(c.status(), v1::UNKNOWN) << c.check().id();
    ASSERT_GE(c.evidence_size(), 1);
    EXPECT_THAT(c.evidence(0).message(), HasSubstr("no report received"));
  }
  EXPECT_EQ(FindCheck(s, "manual.c"), nullptr);
  EXPECT_EQ(FindCheck(s, "blocker.a")->check().title(), "title of blocker.a");
}

TEST_F(HostStatusTest, FreshAllPassIsReady) {
  absl::Time collected = kNow - absl::Seconds(30);
  v1::HostStatus s =
      Status(Host("prod-01", "production"),
             Verdicts("prod-01", collected, {{"blocker.a", v1::PASS}, {"advisory.b", v1::PASS}}));
  EXPECT_TRUE(s.reported());
  EXPECT_FALSE(s.stale());
  EXPECT_TRUE(s.ready());
  EXPECT_EQ(s.last_report_unix_ms(), absl::ToUnixMillis(collected));
  EXPECT_EQ(s.sequence(), 7u);
  EXPECT_EQ(s.agent_instance(), "0123456789abcdef0123456789abcdef");
  const v1::CheckResult* a = FindCheck(s, "blocker.a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->status(), v1::PASS);
  ASSERT_EQ(a->evidence_size(), 1);
  EXPECT_EQ(a->evidence(0).message(), "stored evidence for blocker.a");
}

TEST_F(HostStatusTest, AFutureCollectedAtDoesNotKeepAHostFresh) {
  // The agent's clock runs a year ahead; the report arrived an hour ago.
  auto latest = Verdicts("prod-01", kNow + absl::Hours(24 * 365), {{"blocker.a", v1::PASS}});
  latest.set_received_at_unix_ms(absl::ToUnixMillis(kNow - absl::Hours(1)));
  v1::HostStatus s = Status(Host("prod-01", "production"), latest, kNow);
  EXPECT_TRUE(s.stale());
  EXPECT_FALSE(s.ready());
}

TEST_F(HostStatusTest, StaleAfterStalenessWindow) {
  const absl::Duration window = absl::Seconds(policy_.staleness_seconds());
  absl::Time collected = kNow;
  auto latest = Verdicts("prod-01", collected, {{"blocker.a", v1::PASS}, {"advisory.b", v1::PASS}});
  v1::HostStatus at_edge = Status(Host("prod-01", "production"), latest, collected + window);
  EXPECT_FALSE(at_edge.stale());
  EXPECT_TRUE(at_edge.ready());
  v1::HostStatus after =
      Status(Host("prod-01", "production"), latest, collected + window + absl::Seconds(1));
  EXPECT_TRUE(after.stale());
  EXPECT_FALSE(after.ready());
  EXPECT_TRUE(after.reported());
}

TEST_F(HostStatusTest, ReceivedLaterThanCollectedCountsForStaleness) {
  const absl::Duration window = absl::Seconds(policy_.staleness_seconds());
  auto latest =
      Verdicts("prod-01", kNow - 2 * window, {{"blocker.a", v1::PASS}, {"advisory.b", v1::PASS}});
  // Delivered from the spool just now.
  latest.set_received_at_unix_ms(absl::ToUnixMillis(kNow - absl::Seconds(1)));
  v1::HostStatus s = Status(Host("prod-01", "production"), latest);
  EXPECT_FALSE(s.stale());
}

struct ReadyCase {
  std::string name;
  v1::CheckStatus blocker;
  v1::CheckStatus advisory;
  bool ready;
};
void PrintTo(const ReadyCase& c, std::ostream* os) { *os << c.name; }

class HostReadinessTest : public HostStatusTest, public ::testing::WithParamInterface<ReadyCase> {};

TEST_P(HostReadinessTest, Ready) {
  const ReadyCase& c = GetParam();
  v1::HostStatus s =
      Status(Host("prod-01", "production"),
             Verdicts("prod-01", kNow, {{"blocker.a", c.blocker}, {"advisory.b", c.advisory}}));
  EXPECT_EQ(s.ready(), c.ready);
  EXPECT_EQ(FindCheck(s, "blocker.a")->status(), c.blocker);
  EXPECT_EQ(FindCheck(s, "advisory.b")->status(), c.advisory);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HostReadinessTest,
    ::testing::Values(ReadyCase{"AllPass", v1::PASS, v1::PASS, true},
                      ReadyCase{"BlockerFail", v1::FAIL, v1::PASS, false},
                      ReadyCase{"BlockerUnknown", v1::UNKNOWN, v1::PASS, false},
                      ReadyCase{"BlockerWarn", v1::WARN, v1::PASS, true},
                      ReadyCase{"BlockerNotApplicable", v1::NOT_APPLICABLE, v1::PASS, true},
                      ReadyCase{"BlockerWaived", v1::WAIVED, v1::PASS, true},
                      ReadyCase{"AdvisoryFail", v1::PASS, v1::FAIL, true},
                      ReadyCase{"AdvisoryUnknown", v1::PASS, v1::UNKNOWN, true},
                      ReadyCase{"AdvisoryWarn", v1::PASS, v1::WARN, true}),
    [](const ::testing::TestParamInfo<ReadyCase>& info) { return info.param.name; });

TEST_F(HostStatusTest, BlockerMissingFromReportIsUnknownAndNotReady) {
  v1::HostStatus s =
      Status(Host("prod-01", "production"), Verdicts("prod-01", kNow, {{"advisory.b", v1::PASS}}));
  const v1::CheckResult* a = FindCheck(s, "blocker.a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->status(), v1::UNKNOWN);
  EXPECT_FALSE(s.ready());
}

TEST_F(HostStatusTest, NonGatingEnvironment) {
  v1::HostStatus s = Status(Host("qa-01", "qa"), std::nullopt);
  EXPECT_FALSE(s.gating());
}

// ---------------------------------------------------------- BuildFleetStatus

class FleetTest : public HostStatusTest {
 protected:
  v1::HostStatus Ready(const std::string& id, const std::string& env) {
    return Status(Host(id, env),
                  Verdicts(id, kNow, {{"blocker.a", v1::PASS}, {"advisory.b", v1::PASS}}));
  }
  v1::HostStatus Failing(const std::string& id, const std::string& env) {
    return Status(Host(id, env),
                  Verdicts(id, kNow, {{"blocker.a", v1::FAIL}, {"advisory.b", v1::PASS}}));
  }
  v1::FleetStatus Fleet(std::vector<v1::HostStatus> hosts) {
    return BuildFleetStatus(registry_, policy_, std::move(hosts), kNow);
  }
};

class FleetNoManualTest : public FleetTest {
 protected:
  FleetNoManualTest() {
    registry_ = CheckRegistry();
    registry_.AddForTest(Automated(Info("blocker.a", v1::BLOCKER), v1::PASS));
    registry_.AddForTest(Automated(Info("advisory.b", v1::ADVISORY), v1::PASS));
  }
};

TEST_F(FleetNoManualTest, ReadyWhenEveryGatingHostIsReady) {
  v1::FleetStatus f = Fleet(
      {Ready("prod-01", "production"), Ready("stage-01", "staging"), Ready("backup-01", "backup")});
  EXPECT_TRUE(f.ready());
  EXPECT_THAT(f.reasons(), IsEmpty());
  ASSERT_EQ(f.hosts_size(), 3);
  EXPECT_EQ(f.hosts(0).host_id(), "prod-01");
  EXPECT_EQ(f.hosts(2).host_id(), "backup-01");
  EXPECT_THAT(f.gating_environments(), ElementsAre("production", "staging", "backup"));
  EXPECT_EQ(f.staleness_seconds(), 900u);
  EXPECT_EQ(f.generated_at_unix_ms(), absl::ToUnixMillis(kNow));
  EXPECT_THAT(f.manual_items(), IsEmpty());
}

TEST_F(FleetNoManualTest, OneGatingHostFailingBlocks) {
  v1::FleetStatus f = Fleet({Ready("prod-01", "production"), Failing("stage-01", "staging")});
  EXPECT_FALSE(f.ready());
  ASSERT_FALSE(f.reasons().empty());
  EXPECT_THAT(f.reasons(0), HasSubstr("stage-01"));
  EXPECT_THAT(f.reasons(0), HasSubstr("blocker.a"));
}

TEST_F(FleetNoManualTest, GatingHostNeverReportedBlocks) {
  v1::FleetStatus f =
      Fleet({Ready("prod-01", "production"), Status(Host("prod-02", "production"), std::nullopt)});
  EXPECT_FALSE(f.ready());
  ASSERT_FALSE(f.reasons().empty());
  EXPECT_THAT(f.reasons(0), HasSubstr("prod-02"));
}

TEST_F(FleetNoManualTest, StaleGatingHostBlocks) {
  v1::HostStatus stale = Status(Host("prod-02", "production"),
                                Verdicts("prod-02", kNow - absl::Hours(2),
                                         {{"blocker.a", v1::PASS}, {"advisory.b", v1::PASS}}));
  ASSERT_TRUE(stale.stale());
  v1::FleetStatus f = Fleet({Ready("prod-01", "production"), stale});
  EXPECT_FALSE(f.ready());
  ASSERT_FALSE(f.reasons().empty());
  EXPECT_THAT(f.reasons(0), HasSubstr("prod-02"));
  EXPECT_THAT(f.reasons(0), HasSubstr("stale"));
}

TEST_F(FleetNoManualTest, NonGatingHostDoesNotBlock) {
  v1::FleetStatus f = Fleet({Ready("prod-01", "production"), Failing("qa-01", "qa"),
                             Status(Host("dev-01", "development"), std::nullopt)});
  EXPECT_TRUE(f.ready()) << f.DebugString();
  EXPECT_EQ(f.hosts_size(), 3);  // still listed
}

TEST_F(FleetNoManualTest, AdvisoryFailureDoesNotBlock) {
  v1::HostStatus h =
      Status(Host("prod-01", "production"),
             Verdicts("prod-01", kNow, {{"blocker.a", v1::PASS}, {"advisory.b", v1::FAIL}}));
  EXPECT_TRUE(Fleet({h}).ready());
}

TEST_F(FleetNoManualTest, ZeroGatingHostsIsNotReady) {
  v1::FleetStatus f = Fleet({Ready("qa-01", "qa")});
  EXPECT_FALSE(f.ready());
  ASSERT_FALSE(f.reasons().empty());
  EXPECT_THAT(f.reasons(0), HasSubstr("gating"));
  v1::FleetStatus empty = Fleet({});
  EXPECT_FALSE(empty.ready());
  EXPECT_FALSE(empty.reasons().empty());
}

TEST_F(FleetTest, ManualItemPendingMakesFleetNotReady) {
  v1::FleetStatus f = Fleet({Ready("prod-01", "production")});
  EXPECT_FALSE(f.ready());
  // A manual item naming no environment is signed off in each gating one.
  ASSERT_EQ(f.manual_items_size(), 3);
  EXPECT_EQ(f.manual_items(0).check().id(), "manual.c");
  EXPECT_EQ(f.manual_items(0).environment(), "production");
  EXPECT_EQ(f.manual_items(1).environment(), "staging");
  EXPECT_EQ(f.manual_items(2).environment(), "backup");
  EXPECT_EQ(f.manual_items(0).status(), v1::PENDING);
  EXPECT_TRUE(f.manual_items(0).check().manual());
  bool named = false;
  for (const auto& r : f.reasons()) named |= r.find("manual.c") != std::string::npos;
  EXPECT_TRUE(named) << f.DebugString();
}

TEST(StatusNames, AsPrinted) {
  EXPECT_EQ(StatusName(v1::PASS), "PASS");
  EXPECT_EQ(StatusName(v1::FAIL), "FAIL");
  EXPECT_EQ(StatusName(v1::NOT_APPLICABLE), "NOT_APPLICABLE");
  EXPECT_EQ(StatusName(v1::PENDING), "PENDING");
  EXPECT_EQ(SeverityName(v1::BLOCKER), "blocker");
  EXPECT_EQ(SeverityName(v1::ADVISORY), "advisory");
}

}  // namespace
}  // namespace preflight::collector
