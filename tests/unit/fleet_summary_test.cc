// Tests for the compact fleet status: SummarizeHost, FleetVerdict (the
// verdict GetFleetSummary computes host by host equals BuildFleetStatus's),
// and the filters of GetFleetSummary (collector/service/fleet_summary.h).
#include "collector/service/fleet_summary.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/readiness/engine.h"

namespace preflight::collector {
namespace {

using ::testing::ElementsAre;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

// Hand-made checks (not the built-in catalogue, so that this test is about
// the verdict rules alone): blockers and advisories, some limited to an
// environment or a role, and manual items for every gating environment,
// for production only, and for QA (which gates nothing).
const CheckRegistry& Registry() {
  static const CheckRegistry* registry = [] {
    auto* r = new CheckRegistry;
    auto add = [&](const std::string& id, v1::Severity severity, bool manual,
                   std::vector<std::string> envs, std::vector<std::string> roles) {
      Check c;
      c.info.set_id(id);
      c.info.set_title("title of " + id);
      c.info.set_remediation("what to do about " + id);
      c.info.set_severity(severity);
      c.info.set_manual(manual);
      for (auto& e : envs) c.info.add_environments(e);
      for (auto& ro : roles) c.info.add_roles(ro);
      if (!manual) {
        c.evaluate = [](const v1::FactReport&, const EvalContext&) {
          return MakeVerdict(v1::PASS, {});
        };
      }
      r->AddForTest(std::move(c));
    };
    for (int i = 0; i < 12; ++i) {
      add(absl::StrCat("check.", i), i % 3 == 2 ? v1::ADVISORY : v1::BLOCKER, false,
          i == 5 ? std::vector<std::string>{"production"} : std::vector<std::string>{},
          i == 7 ? std::vector<std::string>{"manager"} : std::vector<std::string>{});
    }
    add("manual.all", v1::BLOCKER, true, {}, {});
    add("manual.production", v1::BLOCKER, true, {"production"}, {});
    add("manual.qa", v1::BLOCKER, true, {"production", "qa"}, {});
    return r;
  }();
  return *registry;
}

struct Fleet {
  std::vector<v1::HostStatus> hosts;
  std::vector<v1::Attestation> attestations;
};

// A fleet of `n` hosts with statuses drawn from `seed`: some never
// reported, some stale, environments gating and not, every status.
Fleet RandomFleet(const v1::Policy& policy, int n, uint32_t seed,
                  const std::vector<std::string>& envs) {
  std::mt19937 rng(seed);
  const v1::CheckStatus kStatuses[] = {v1::PASS, v1::PASS,    v1::PASS,           v1::WARN,
                                       v1::FAIL, v1::UNKNOWN, v1::NOT_APPLICABLE, v1::PASS};
  Fleet fleet;
  for (int i = 0; i < n; ++i) {
    v1::InventoryHost host;
    host.set_id(absl::StrCat("host-", i));
    host.set_environment(envs[rng() % envs.size()]);
    host.add_roles(rng() % 2 == 0 ? "manager" : "worker");
    std::optional<v1::HostVerdicts> latest;
    if (rng() % 10 != 0) {  // one in ten never reported
      latest.emplace();
      latest->set_host_id(host.id());
      const absl::Time at = rng() % 8 == 0 ? kNow - absl::Hours(2) : kNow - absl::Minutes(1);
      latest->set_collected_at_unix_ms(absl::ToUnixMillis(at));
      latest->set_received_at_unix_ms(absl::ToUnixMillis(at));
      const bool clean = rng() % 3 == 0;  // a third of the hosts pass everything
      for (const Check& c : Registry().all()) {
        v1::Verdict* v = latest->add_verdicts();
        v->set_check_id(c.info.id());
        v->set_status(clean ? v1::PASS : kStatuses[rng() % 8]);
        *v->add_evidence() = MakeEvidence("observed", "test");
      }
    }
    fleet.hosts.push_back(BuildHostStatus(Registry(), host, policy, latest, kNow));
  }
  // Some manual items attested, one revoked, one expired.
  int k = 0;
  for (const Check& c : Registry().all()) {
    if (!c.info.manual()) continue;
    for (const std::string& env : policy.gating_environments()) {
      if (++k % 4 == 0) continue;  // not attested
      v1::Attestation a;
      a.set_check_id(c.info.id());
      a.set_environment(env);
      a.set_operator_("spiffe://test.local/operator/alice");
      a.set_note("checked");
      a.set_attested_at_unix_ms(absl::ToUnixMillis(kNow - absl::Hours(1)));
      if (k % 7 == 0) a.set_expires_at_unix_ms(absl::ToUnixMillis(kNow - absl::Minutes(1)));
      if (k % 5 == 0) {
        a.set_revoked(true);
        a.set_revoked_by("spiffe://test.local/operator/bob");
      }
      fleet.attestations.push_back(a);
    }
  }
  return fleet;
}

// The compact path, as GetFleetSummary runs it.
struct Compact {
  bool ready;
  std::vector<std::string> reasons;
  uint64_t left_out;
  google::protobuf::RepeatedPtrField<v1::CheckResult> items;
};
Compact CompactVerdict(const v1::Policy& policy, const Fleet& fleet, size_t max_reasons) {
  FleetVerdict verdict(policy, max_reasons);
  for (const v1::HostStatus& h : fleet.hosts) verdict.AddHost(SummarizeHost(h));
  Compact out;
  verdict.Finish(Registry(), fleet.attestations, kNow, &out.items);
  out.ready = verdict.ready();
  out.reasons = verdict.reasons();
  out.left_out = verdict.reasons_left_out();
  return out;
}

TEST(FleetSummaryTest, CompactVerdictEqualsTheFullOneOnVariedFleets) {
  const v1::Policy policy = WithPolicyDefaults({});
  int ready_fleets = 0, not_ready = 0;
  struct Case {
    int hosts;
    std::vector<std::string> envs;
  };
  const std::vector<Case> cases = {
      {0, {"production"}},
      {1, {"production"}},
      {3, {"qa"}},  // no gating host
      {40, {"production", "staging", "backup", "qa"}},
      {500, {"production", "staging", "backup", "qa", "development"}},
  };
  for (const Case& c : cases) {
    for (uint32_t seed = 1; seed <= 6; ++seed) {
      SCOPED_TRACE(absl::StrCat(c.hosts, " hosts, seed ", seed));
      const Fleet fleet = RandomFleet(policy, c.hosts, seed, c.envs);
      const v1::FleetStatus full =
          BuildFleetStatus(Registry(), policy, fleet.hosts, kNow, fleet.attestations);
      for (size_t max : {size_t{50}, FleetVerdict::kAllReasons}) {
        const Compact compact = CompactVerdict(policy, fleet, max);
        EXPECT_EQ(compact.ready, full.ready());
        const size_t kept = std::min<size_t>(max, full.reasons_size());
        ASSERT_EQ(compact.reasons.size(), kept);
        for (size_t i = 0; i < kept; ++i) EXPECT_EQ(compact.reasons[i], full.reasons(i));
        EXPECT_EQ(compact.left_out, full.reasons_size() - kept);
        ASSERT_EQ(compact.items.size(), full.manual_items_size());
        for (int i = 0; i < compact.items.size(); ++i) {
          EXPECT_EQ(compact.items[i].check().id(), full.manual_items(i).check().id());
          EXPECT_EQ(compact.items[i].environment(), full.manual_items(i).environment());
          EXPECT_EQ(compact.items[i].status(), full.manual_items(i).status());
          const v1::ManualItemSummary m = SummarizeManualItem(full.manual_items(i));
          EXPECT_EQ(m.status(), full.manual_items(i).status());
          EXPECT_EQ(m.attested_by(), full.manual_items(i).attestation().operator_());
        }
      }
      (full.ready() ? ready_fleets : not_ready)++;
      // Every host's summary agrees with its full status.
      for (const v1::HostStatus& h : fleet.hosts) {
        const v1::HostSummary s = SummarizeHost(h);
        EXPECT_EQ(s.ready(), h.ready());
        std::map<v1::CheckStatus, uint32_t> count;
        std::vector<std::string> blocking;
        for (const v1::CheckResult& r : h.checks()) {
          ++count[r.status()];
          if (r.check().severity() == v1::BLOCKER &&
              (r.status() == v1::FAIL || r.status() == v1::UNKNOWN)) {
            blocking.push_back(r.check().id());
          }
        }
        EXPECT_EQ(s.pass(), count[v1::PASS]);
        EXPECT_EQ(s.warn(), count[v1::WARN]);
        EXPECT_EQ(s.fail(), count[v1::FAIL]);
        EXPECT_EQ(s.unknown(), count[v1::UNKNOWN]);
        EXPECT_EQ(s.not_applicable(), count[v1::NOT_APPLICABLE]);
        EXPECT_EQ(s.waived(), count[v1::WAIVED]);
        std::vector<std::string> summary_blocking;
        for (const v1::BlockingCheck& b : s.blocking()) summary_blocking.push_back(b.check_id());
        EXPECT_EQ(summary_blocking, blocking);
        // A summary is a small fraction of the full status.
        if (h.reported()) {
          EXPECT_LT(s.ByteSizeLong() * 5, h.ByteSizeLong());
        }
      }
    }
  }
  // The cases exercised both verdicts.
  EXPECT_GT(not_ready, 0);
  EXPECT_GT(ready_fleets + not_ready, 0);
}

TEST(FleetSummaryTest, AReadyFleetIsReadyBothWays) {
  const v1::Policy policy = WithPolicyDefaults({});
  Fleet fleet;
  v1::InventoryHost host;
  host.set_id("prod-01");
  host.set_environment("production");
  v1::HostVerdicts latest;
  latest.set_received_at_unix_ms(absl::ToUnixMillis(kNow));
  for (const Check& c : Registry().all()) {
    v1::Verdict* v = latest.add_verdicts();
    v->set_check_id(c.info.id());
    v->set_status(v1::PASS);
  }
  fleet.hosts.push_back(BuildHostStatus(Registry(), host, policy, latest, kNow));
  for (const Check& c : Registry().all()) {
    if (!c.info.manual()) continue;
    for (const std::string& env : ManualEnvironments(c.info, policy, {"production"})) {
      v1::Attestation a;
      a.set_check_id(c.info.id());
      a.set_environment(env);
      a.set_operator_("alice");
      fleet.attestations.push_back(a);
    }
  }
  const v1::FleetStatus full =
      BuildFleetStatus(Registry(), policy, fleet.hosts, kNow, fleet.attestations);
  const Compact compact = CompactVerdict(policy, fleet, 50);
  EXPECT_EQ(compact.ready, full.ready());
  EXPECT_TRUE(compact.reasons.empty()) << compact.reasons.front();
}

TEST(FleetSummaryTest, WaivedIsCountedApartFromPass) {
  v1::HostStatus h;
  h.set_host_id("prod-01");
  h.set_reported(true);
  h.set_ready(true);
  auto add = [&](const std::string& id, v1::CheckStatus status, v1::Severity severity) {
    v1::CheckResult* r = h.add_checks();
    r->mutable_check()->set_id(id);
    r->mutable_check()->set_severity(severity);
    r->set_status(status);
  };
  add("a", v1::PASS, v1::BLOCKER);
  add("b", v1::WAIVED, v1::BLOCKER);
  add("c", v1::FAIL, v1::ADVISORY);
  add("d", v1::UNKNOWN, v1::BLOCKER);
  add("e", v1::CHECK_STATUS_UNSPECIFIED, v1::BLOCKER);
  add("f", v1::NOT_APPLICABLE, v1::BLOCKER);
  const v1::HostSummary s = SummarizeHost(h);
  EXPECT_EQ(s.pass(), 1u);
  EXPECT_EQ(s.waived(), 1u);
  EXPECT_THAT(s.waived_checks(), ElementsAre("b"));
  EXPECT_EQ(s.fail(), 1u);
  EXPECT_EQ(s.unknown(), 2u);
  EXPECT_EQ(s.not_applicable(), 1u);
  // The advisory FAIL does not block; UNKNOWN and unspecified blockers do.
  ASSERT_EQ(s.blocking_size(), 2);
  EXPECT_EQ(s.blocking(0).check_id(), "d");
  EXPECT_EQ(s.blocking(1).check_id(), "e");
}

TEST(FleetSummaryTest, FiltersChooseHosts) {
  v1::HostSummary h;
  h.set_host_id("prod-12");
  h.set_environment("production");
  h.add_roles("worker");
  h.set_ready(false);
  auto matches = [&](auto set) {
    v1::FleetSummaryRequest r;
    set(r);
    return MatchesFilter(r, h);
  };
  EXPECT_TRUE(matches([](v1::FleetSummaryRequest&) {}));
  EXPECT_TRUE(matches([](auto& r) { r.set_environment("production"); }));
  EXPECT_FALSE(matches([](auto& r) { r.set_environment("staging"); }));
  EXPECT_TRUE(matches([](auto& r) { r.set_role("worker"); }));
  EXPECT_FALSE(matches([](auto& r) { r.set_role("manager"); }));
  EXPECT_TRUE(matches([](auto& r) { r.set_failing_only(true); }));
  EXPECT_TRUE(matches([](auto& r) { r.set_host_glob("prod-1*"); }));
  EXPECT_TRUE(matches([](auto& r) { r.set_host_glob("prod-?2"); }));
  EXPECT_FALSE(matches([](auto& r) { r.set_host_glob("prod-2*"); }));
  EXPECT_FALSE(matches([](auto& r) { r.set_host_glob("prod"); }));
  EXPECT_FALSE(matches([](auto& r) {
    r.set_environment("production");
    r.set_host_glob("stag*");
  }));
  h.set_ready(true);
  EXPECT_FALSE(matches([](auto& r) { r.set_failing_only(true); }));
}

TEST(FleetSummaryTest, PageSizeIsBounded) {
  v1::FleetSummaryRequest r;
  EXPECT_EQ(SummaryPageSize(r), kDefaultSummaryPage);
  r.set_page_size(7);
  EXPECT_EQ(SummaryPageSize(r), 7u);
  r.set_page_size(1'000'000);
  EXPECT_EQ(SummaryPageSize(r), kMaxSummaryPage);
}

}  // namespace
}  // namespace preflight::collector
