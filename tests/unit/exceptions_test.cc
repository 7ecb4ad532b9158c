// Tests for collector/readiness/exceptions: findings, waivers bound to the
// verdict they accepted, lifetime limits, approval, evidence against a
// sign-off; and that real checks name their findings with the keys their
// catalogue entry declares.
#include "collector/readiness/exceptions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "collector/checks/catalogue.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"

namespace preflight::collector {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

v1::Verdict VerdictOf(v1::CheckStatus status, std::vector<v1::Evidence> evidence) {
  v1::Verdict v = MakeVerdict(status, std::move(evidence));
  v.set_check_id("firewall.public_exposure");
  return v;
}

v1::Evidence Port(const std::string& port) {
  return Finding(MakeEvidence(port + " (mongod) is reachable from the internet", "/proc/net/tcp",
                              "reachable", "not reachable"),
                 {{"port", port}});
}

v1::Waiver WaiverOn(const v1::Verdict& verdict) {
  v1::Waiver w;
  w.set_check_id(verdict.check_id());
  w.set_host_id("prod-01");
  w.set_operator_("spiffe://t/operator/alice");
  w.set_reason("behind the provider's firewall");
  w.set_created_at_unix_ms(absl::ToUnixMillis(kNow));
  w.set_expires_at_unix_ms(absl::ToUnixMillis(kNow + absl::Hours(24 * 30)));
  w.set_accepted_status(verdict.status());
  for (const std::string& f : FindingsOf(verdict)) w.add_accepted_findings(f);
  return w;
}

v1::CheckResult Apply(const v1::Waiver& w, const v1::Verdict& v, absl::Time now = kNow) {
  v1::CheckResult r;
  r.set_status(v.status());
  *r.mutable_evidence() = v.evidence();
  ApplyWaiver(w, v, now, &r);
  return r;
}

TEST(FindingsOf, KeyedLinesSortedAndUnique) {
  v1::Verdict v = VerdictOf(v1::FAIL, {Port("6379/tcp"), Port("27017/tcp"), Port("6379/tcp")});
  EXPECT_THAT(FindingsOf(v), ElementsAre("port=27017/tcp", "port=6379/tcp"));
}

TEST(FindingsOf, WithoutKeysWhereTheProblemWasSeenWithoutLineNumbers) {
  v1::Verdict a = VerdictOf(
      v1::FAIL, {MakeEvidence("rotation missing", "/etc/logrotate.d/app:12", "none", "weekly"),
                 MakeEvidence("fine", "/etc/logrotate.conf:3", "weekly", "weekly")});
  v1::Verdict b = VerdictOf(
      v1::FAIL, {MakeEvidence("rotation missing", "/etc/logrotate.d/app:14", "none", "weekly")});
  EXPECT_THAT(FindingsOf(a), ElementsAre("at=/etc/logrotate.d/app"));
  EXPECT_EQ(FindingsOf(a), FindingsOf(b));  // an edit above the line is no new finding
  // An address keeps its port.
  v1::Verdict c =
      VerdictOf(v1::UNKNOWN, {MakeEvidence("handshake failed", "10.0.0.1:443", "", "a cert")});
  EXPECT_THAT(FindingsOf(c), ElementsAre("at=10.0.0.1:443"));
}

TEST(FindingsOf, PassingVerdictHasNone) {
  EXPECT_THAT(FindingsOf(VerdictOf(v1::PASS, {Port("27017/tcp")})), IsEmpty());
}

TEST(Waivable, FailUnknownWarnOnly) {
  for (v1::CheckStatus s : {v1::FAIL, v1::UNKNOWN, v1::WARN}) EXPECT_TRUE(Waivable(s));
  for (v1::CheckStatus s : {v1::PASS, v1::NOT_APPLICABLE, v1::PENDING, v1::ATTESTED, v1::WAIVED,
                            v1::CHECK_STATUS_UNSPECIFIED}) {
    EXPECT_FALSE(Waivable(s)) << StatusName(s);
  }
}

TEST(ApplyWaiver, AppliesToTheFindingsItAccepted) {
  v1::Verdict v = VerdictOf(v1::FAIL, {Port("27017/tcp")});
  v1::CheckResult r = Apply(WaiverOn(v), v);
  EXPECT_EQ(r.status(), v1::WAIVED);
  EXPECT_EQ(r.underlying_status(), v1::FAIL);
  EXPECT_EQ(r.waiver_mismatch(), "");
}

TEST(ApplyWaiver, AClosedPortKeepsIt) {
  v1::Verdict two = VerdictOf(v1::FAIL, {Port("27017/tcp"), Port("9200/tcp")});
  v1::Verdict one = VerdictOf(v1::FAIL, {Port("9200/tcp")});
  EXPECT_EQ(Apply(WaiverOn(two), one).status(), v1::WAIVED);
}

TEST(ApplyWaiver, ANewPortShowsTheRealStatusAndNamesTheWaiver) {
  v1::Verdict then = VerdictOf(v1::FAIL, {Port("27017/tcp")});
  v1::Verdict now = VerdictOf(v1::FAIL, {Port("27017/tcp"), Port("6379/tcp")});
  v1::CheckResult r = Apply(WaiverOn(then), now);
  EXPECT_EQ(r.status(), v1::FAIL);
  EXPECT_EQ(r.underlying_status(), v1::CHECK_STATUS_UNSPECIFIED);
  EXPECT_THAT(r.waiver_mismatch(), HasSubstr("spiffe://t/operator/alice"));
  EXPECT_THAT(r.waiver_mismatch(), HasSubstr("new finding port=6379/tcp"));
  EXPECT_THAT(r.waiver_mismatch(), HasSubstr("accepted port=27017/tcp"));
  // Every view of the check shows it: the evidence names the waiver too.
  EXPECT_EQ(r.evidence(r.evidence_size() - 1).message(), r.waiver_mismatch());
  EXPECT_EQ(r.waiver().reason(), "behind the provider's firewall");
}

TEST(ApplyWaiver, AnotherStatusDoesNotMatch) {
  v1::Verdict then = VerdictOf(v1::WARN, {Port("2377/tcp")});
  v1::Verdict now = VerdictOf(v1::FAIL, {Port("2377/tcp")});
  v1::CheckResult r = Apply(WaiverOn(then), now);
  EXPECT_EQ(r.status(), v1::FAIL);
  EXPECT_THAT(r.waiver_mismatch(), HasSubstr("now FAIL; the waiver accepted WARN"));
}

TEST(ApplyWaiver, PassingCheckIsLeftAlone) {
  v1::Verdict then = VerdictOf(v1::FAIL, {Port("27017/tcp")});
  v1::Verdict now = VerdictOf(v1::PASS, {MakeEvidence("nothing exposed", "ss", "none", "none")});
  v1::CheckResult r = Apply(WaiverOn(then), now);
  EXPECT_EQ(r.status(), v1::PASS);
  EXPECT_EQ(r.waiver_mismatch(), "");
  EXPECT_TRUE(r.has_waiver());  // shown for the record
}

TEST(ApplyWaiver, ExpiredOrUnboundOrAwaitingApprovalDoesNotApply) {
  v1::Verdict v = VerdictOf(v1::FAIL, {Port("27017/tcp")});
  EXPECT_EQ(Apply(WaiverOn(v), v, kNow + absl::Hours(24 * 31)).status(), v1::FAIL);

  v1::Waiver legacy = WaiverOn(v);
  legacy.clear_accepted_status();
  legacy.clear_accepted_findings();
  v1::CheckResult r = Apply(legacy, v);
  EXPECT_EQ(r.status(), v1::FAIL);
  EXPECT_THAT(r.waiver_mismatch(), HasSubstr("waive it again"));

  v1::Waiver pending = WaiverOn(v);
  pending.set_awaiting_approval(true);
  r = Apply(pending, v);
  EXPECT_EQ(r.status(), v1::FAIL);
  EXPECT_THAT(r.waiver_mismatch(), HasSubstr("--approve"));
}

TEST(Limits, DefaultsAndPolicy) {
  v1::Policy p;
  EXPECT_EQ(MaxWaiverLifetime(p), absl::Hours(24 * 90));
  EXPECT_EQ(MaxSignoffLifetime(p), absl::Hours(24 * 180));
  p.set_max_waiver_days(14);
  p.set_max_signoff_days(30);
  EXPECT_EQ(MaxWaiverLifetime(p), absl::Hours(24 * 14));
  EXPECT_EQ(MaxSignoffLifetime(p), absl::Hours(24 * 30));
}

TEST(CapToPolicy, LongWaiverIsCutFromTheDayTheLimitStarts) {
  v1::Waiver w = WaiverOn(VerdictOf(v1::FAIL, {Port("27017/tcp")}));
  const int64_t before = absl::ToUnixMillis(kNow + absl::Hours(24 * 5000));
  w.set_expires_at_unix_ms(before);
  const absl::Time start = kNow + absl::Hours(1);
  ASSERT_TRUE(CapToPolicy(v1::Policy(), start, &w));
  EXPECT_EQ(w.expires_at_unix_ms(), absl::ToUnixMillis(start + absl::Hours(24 * 90)));
  EXPECT_EQ(w.capped_from_unix_ms(), before);
  EXPECT_EQ(w.capped_at_unix_ms(), absl::ToUnixMillis(start));
  // Once cut it stays within the limit: later starts change nothing.
  EXPECT_FALSE(CapToPolicy(v1::Policy(), start + absl::Hours(48), &w));
}

TEST(CapToPolicy, OpenEndedSignoffGetsTheMaximum) {
  v1::Attestation a;
  a.set_check_id("smtp.tested");
  a.set_attested_at_unix_ms(absl::ToUnixMillis(kNow - absl::Hours(24 * 400)));
  ASSERT_TRUE(CapToPolicy(v1::Policy(), kNow, &a));
  EXPECT_EQ(a.expires_at_unix_ms(), absl::ToUnixMillis(kNow + absl::Hours(24 * 180)));
  EXPECT_EQ(a.capped_from_unix_ms(), 0);
  v1::Attestation short_one = a;
  short_one.set_expires_at_unix_ms(absl::ToUnixMillis(kNow + absl::Hours(24)));
  EXPECT_FALSE(CapToPolicy(v1::Policy(), kNow, &short_one));
  v1::Attestation revoked = a;
  revoked.set_expires_at_unix_ms(0);
  revoked.set_revoked(true);
  EXPECT_FALSE(CapToPolicy(v1::Policy(), kNow, &revoked));
}

TEST(NeedsApproval, BlockersOnListedEnvironmentsOnly) {
  v1::Policy p;
  v1::CheckInfo blocker;
  blocker.set_severity(v1::BLOCKER);
  v1::CheckInfo advisory;
  advisory.set_severity(v1::ADVISORY);
  EXPECT_FALSE(NeedsApproval(p, blocker, "production"));  // off by default
  p.add_waiver_approval_environments("production");
  EXPECT_TRUE(NeedsApproval(p, blocker, "production"));
  EXPECT_FALSE(NeedsApproval(p, blocker, "staging"));
  EXPECT_FALSE(NeedsApproval(p, advisory, "production"));
}

TEST(EvidenceAgainst, FailingHostEvidenceOnly) {
  v1::CheckResult backup;
  backup.set_status(v1::FAIL);
  *backup.add_evidence() =
      MakeEvidence("no SSH-login alert is raised on backup servers in OpenCRVS v1.x",
                   "/etc/filebeat", "no alert", "alert on login");
  v1::CheckResult manager;
  manager.set_status(v1::PASS);
  *manager.add_evidence() = MakeEvidence("auth.log shipped", "/etc/filebeat", "ok", "ok");
  EXPECT_THAT(EvidenceAgainst({{"backup-1", &backup}, {"manager-1", &manager}}),
              ElementsAre("backup-1: no SSH-login alert is raised on backup servers in OpenCRVS "
                          "v1.x (/etc/filebeat)"));
}

// Real checks: every finding a check reports uses only the keys its
// catalogue entry declares, and a check that declares keys reports them.
TEST(FindingKeys, RealChecksUseTheirDeclaredKeys) {
  CheckRegistry registry;
  RegisterBuiltinChecks(registry);
  v1::Policy policy = WithPolicyDefaults(v1::Policy());
  v1::InventoryHost host;
  host.set_id("prod-01");
  host.set_environment("production");
  host.add_roles("manager");
  v1::FactReport report;
  // A public MongoDB and a root login through a key, a deny-listed key.
  report.mutable_sockets()->mutable_collection()->set_state(v1::Collection::OK);
  v1::ListeningSocket* s = report.mutable_sockets()->add_sockets();
  s->set_protocol("tcp");
  s->set_port(27017);
  s->set_address("0.0.0.0");
  s->set_scope(v1::ANY);
  s->set_process("mongod");
  s->set_source("/proc/net/tcp:3");
  v1::FirewallFact* fw = report.mutable_firewall();
  fw->mutable_collection()->set_state(v1::Collection::OK);
  fw->set_iptables_read(true);
  v1::HostVerdicts verdicts = Evaluate(registry, host, policy, report, kNow);
  const v1::Verdict* exposure = nullptr;
  for (const v1::Verdict& v : verdicts.verdicts()) {
    if (v.check_id() == "firewall.public_exposure") exposure = &v;
  }
  ASSERT_NE(exposure, nullptr);
  ASSERT_EQ(exposure->status(), v1::FAIL) << exposure->DebugString();
  EXPECT_THAT(FindingsOf(*exposure), ElementsAre("port=27017/tcp"));

  for (const v1::Verdict& v : verdicts.verdicts()) {
    const Check* check = registry.Find(v.check_id());
    ASSERT_NE(check, nullptr);
    std::set<std::string> declared;
    if (check->spec != nullptr) {
      declared.insert(check->spec->finding_keys().begin(), check->spec->finding_keys().end());
    }
    for (const v1::Evidence& e : v.evidence()) {
      if (e.finding().empty()) continue;
      for (absl::string_view kv : absl::StrSplit(e.finding(), ' ')) {
        std::string key(kv.substr(0, kv.find('=')));
        EXPECT_TRUE(declared.count(key)) << v.check_id() << " uses undeclared key " << key;
      }
    }
  }
}

}  // namespace
}  // namespace preflight::collector
