// The operator's checklist below the services: the audit hash chain (against
// `openssl dgst -sha256`), history and fact-change storage on a real RocksDB,
// and how waivers and attestations change statuses in the engine.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "collector/audit/audit_chain.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"
#include "collector/store/fact_diff.h"
#include "collector/store/store.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight::collector {
namespace {

using testing::ReadFile;
using testing::RunProcess;
using testing::TempDir;
using testing::WriteFile;

std::vector<StoredAuditEntry> Chain(int n) {
  std::vector<StoredAuditEntry> out;
  uint64_t seq = 0;
  std::string hash;
  for (int i = 1; i <= n; ++i) {
    v1::AuditEntry e;
    e.set_at_unix_ms(1'700'000'000'000 + i);
    e.set_actor("operator/alice");
    e.set_action(i % 2 ? "attest" : "waive");
    e.set_subject(absl::StrCat("check.", i));
    e.set_detail(absl::StrCat("note ", i));
    ChainAuditEntry(seq, hash, e);
    seq = e.seq();
    hash = e.hash();
    out.push_back({seq, e});
  }
  return out;
}

TEST(AuditChain, HashIsSha256OfPreviousHashAndCanonicalEncoding) {
  TempDir tmp;
  auto chain = Chain(3);
  for (const StoredAuditEntry& s : chain) {
    std::string path = tmp.Join(absl::StrCat("entry", s.key_seq));
    WriteFile(path, s.entry.prev_hash() + CanonicalAuditEncoding(s.entry));
    testing::RunResult r =
        RunProcess({"openssl", "dgst", "-sha256", "-r", path}, absl::Seconds(10));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.substr(0, 64), HexOf(s.entry.hash())) << s.key_seq;
  }
  EXPECT_EQ(chain[1].entry.prev_hash(), chain[0].entry.hash());
  EXPECT_TRUE(chain[0].entry.prev_hash().empty());
}

TEST(AuditChain, VerifyNamesModifiedRemovedReorderedEntries) {
  auto chain = Chain(6);
  const auto head = std::make_pair(chain.back().key_seq, chain.back().entry.hash());
  EXPECT_TRUE(VerifyAuditChain(chain, head.first, head.second).ok);

  auto modified = chain;
  modified[2].entry.set_detail("note 3, edited");
  auto v = VerifyAuditChain(modified, head.first, head.second);
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(absl::StrContains(absl::StrJoin(v.problems, "\n"), "entry 3: modified"))
      << absl::StrJoin(v.problems, "\n");

  auto removed = chain;
  removed.erase(removed.begin() + 1);
  v = VerifyAuditChain(removed, head.first, head.second);
  EXPECT_TRUE(absl::StrContains(absl::StrJoin(v.problems, "\n"), "entry 2: removed"))
      << absl::StrJoin(v.problems, "\n");

  auto reordered = chain;
  std::swap(reordered[3].entry, reordered[4].entry);
  v = VerifyAuditChain(reordered, head.first, head.second);
  EXPECT_TRUE(absl::StrContains(absl::StrJoin(v.problems, "\n"), "entry 4: reordered"))
      << absl::StrJoin(v.problems, "\n");

  auto truncated = chain;
  truncated.pop_back();
  v = VerifyAuditChain(truncated, head.first, head.second);
  EXPECT_TRUE(absl::StrContains(absl::StrJoin(v.problems, "\n"), "entries 6 to 6: removed"))
      << absl::StrJoin(v.problems, "\n");
}

v1::FactReport Report(uint64_t seq, int64_t at_ms, bool root_locked) {
  v1::FactReport r;
  r.set_host_id("prod-01");
  r.set_agent_instance("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  r.set_sequence(seq);
  r.set_collected_at_unix_ms(at_ms);
  r.mutable_accounts()->mutable_collection()->set_state(v1::Collection::OK);
  r.mutable_accounts()->mutable_collection()->set_duration_us(seq * 7);  // varies, ignored
  v1::Account* root = r.mutable_accounts()->add_accounts();
  root->set_name("root");
  root->set_password(root_locked ? v1::PASSWORD_LOCKED : v1::PASSWORD_SET);
  r.mutable_disks()->mutable_collection()->set_state(v1::Collection::OK);
  return r;
}

class HistoryStoreTest : public ::testing::Test {
 protected:
  HistoryStoreTest() {
    auto s = Store::Open(tmp_.Join("db"));
    EXPECT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  // A stand-in evaluator: one check that fails while root's password is set.
  Store::Evaluator Eval() {
    return [](const v1::FactReport& r) {
      v1::HostVerdicts hv;
      hv.set_host_id("prod-01");
      hv.set_evaluated_at_unix_ms(r.collected_at_unix_ms());
      v1::Verdict* v = hv.add_verdicts();
      v->set_check_id("ssh.root_login_disabled");
      bool locked = r.accounts().accounts(0).password() == v1::PASSWORD_LOCKED;
      v->set_status(locked ? v1::PASS : v1::FAIL);
      *v->add_evidence() = MakeEvidence(locked ? "locked" : "root password set", "/etc/shadow:1");
      return hv;
    };
  }

  TempDir tmp_;
  std::unique_ptr<Store> store_;
};

TEST_F(HistoryStoreTest, StableHostStoresFactsOnceAndTransitionsOnlyOnChange) {
  const int64_t t0 = 1'700'000'000'000;
  for (uint64_t seq = 1; seq <= 50; ++seq) {
    ASSERT_TRUE(store_
                    ->Ingest("prod-01", Report(seq, t0 + seq * 300'000, false),
                             absl::FromUnixMillis(t0 + seq * 300'000), Eval())
                    .ok());
  }
  auto changes = store_->FactChanges("prod-01");
  ASSERT_TRUE(changes.ok());
  EXPECT_EQ(changes->size(), 2u);  // accounts and disks, once each
  auto transitions = store_->Transitions("prod-01", "");
  ASSERT_TRUE(transitions.ok());
  ASSERT_EQ(transitions->size(), 1u);  // NONE -> FAIL
  EXPECT_EQ((*transitions)[0].to(), v1::FAIL);

  // Fixed: one fact change (accounts), one transition, and the verdict keeps
  // when it started failing until then.
  auto latest = store_->LatestVerdicts("prod-01");
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->verdicts(0).failing_since_unix_ms(), t0 + 300'000);
  ASSERT_TRUE(store_
                  ->Ingest("prod-01", Report(51, t0 + 51 * 300'000, true),
                           absl::FromUnixMillis(t0 + 51 * 300'000), Eval())
                  .ok());
  changes = store_->FactChanges("prod-01");
  ASSERT_EQ(changes->size(), 3u);
  EXPECT_EQ(changes->back().kind(), "accounts");
  transitions = store_->Transitions("prod-01", "ssh.root_login_disabled");
  ASSERT_EQ(transitions->size(), 2u);
  EXPECT_EQ((*transitions)[1].from(), v1::FAIL);
  EXPECT_EQ((*transitions)[1].to(), v1::PASS);
  EXPECT_EQ((*transitions)[1].at_unix_ms(), t0 + 51 * 300'000);
  latest = store_->LatestVerdicts("prod-01");
  EXPECT_EQ((*latest)->verdicts(0).failing_since_unix_ms(), 0);
  EXPECT_EQ((*latest)->verdicts(0).changed_at_unix_ms(), t0 + 51 * 300'000);

  // The diff is readable: the password state, nothing else.
  std::vector<const v1::FactChange*> accounts;
  for (const v1::FactChange& c : *changes) {
    if (c.kind() == "accounts") accounts.push_back(&c);
  }
  ASSERT_EQ(accounts.size(), 2u);
  std::vector<std::string> diff =
      DiffFactContent("accounts", accounts[0]->content(), accounts[1]->content());
  EXPECT_EQ(absl::StrJoin(diff, "\n"), "-   password: PASSWORD_SET\n+   password: PASSWORD_LOCKED");

  // Transitions are in the audit chain, which verifies after a reopen.
  auto entries = store_->AuditEntries();
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->size(), 2u);
  store_.reset();
  auto reopened = Store::Open(tmp_.Join("db"));
  ASSERT_TRUE(reopened.ok());
  store_ = std::move(*reopened);
  auto [seq, hash] = store_->AuditHead();
  EXPECT_EQ(seq, 2u);
  EXPECT_TRUE(VerifyAuditChain(*store_->AuditEntries(), seq, hash).ok);

  // Retention: old transitions and receipts go, the newest fact change of
  // each kind stays.
  auto pruned = store_->Prune(absl::FromUnixMillis(t0 + 52 * 300'000));
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(store_->FactChanges("prod-01")->size(), 2u);
  EXPECT_TRUE(store_->Transitions("prod-01", "")->empty());
  EXPECT_TRUE(store_->ReportKeys("prod-01")->empty());
  EXPECT_EQ(store_->AuditEntries()->size(), 2u);  // never pruned
}

TEST(ChecklistEngine, WaiversAndAttestationsExpire) {
  CheckRegistry registry;
  RegisterBuiltinChecks(registry);
  v1::Policy policy = WithPolicyDefaults(v1::Policy());
  v1::InventoryHost host;
  host.set_id("prod-01");
  host.set_environment("production");
  host.add_roles("manager");
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  v1::HostVerdicts hv;
  hv.set_host_id("prod-01");
  hv.set_collected_at_unix_ms(absl::ToUnixMillis(now));
  v1::Verdict* v = hv.add_verdicts();
  v->set_check_id("ssh.root_login_disabled");
  v->set_status(v1::FAIL);
  v1::Waiver w;
  w.set_check_id("ssh.root_login_disabled");
  w.set_host_id("prod-01");
  w.set_operator_("operator/alice");
  w.set_reason("console only");
  w.set_expires_at_unix_ms(absl::ToUnixMillis(now + absl::Hours(1)));
  w.set_accepted_status(v1::FAIL);  // the verdict it was made on (no findings)

  auto result = [&](const v1::HostStatus& s) {
    for (const auto& c : s.checks()) {
      if (c.check().id() == "ssh.root_login_disabled") return c;
    }
    return v1::CheckResult();
  };
  v1::CheckResult waived = result(BuildHostStatus(registry, host, policy, hv, now, {w}));
  EXPECT_EQ(waived.status(), v1::WAIVED);
  EXPECT_EQ(waived.underlying_status(), v1::FAIL);
  EXPECT_EQ(waived.waiver().reason(), "console only");
  v1::CheckResult expired =
      result(BuildHostStatus(registry, host, policy, hv, now + absl::Hours(2), {w}));
  EXPECT_EQ(expired.status(), v1::FAIL);
  EXPECT_EQ(expired.waiver().reason(), "console only");  // shown, no longer in force

  v1::Attestation a;
  a.set_check_id("smtp.tested");
  a.set_environment("production");
  a.set_operator_("operator/alice");
  a.set_note("mail arrived");
  a.set_attested_at_unix_ms(absl::ToUnixMillis(now));
  a.set_expires_at_unix_ms(absl::ToUnixMillis(now + absl::Hours(1)));
  auto item = [&](absl::Time at) {
    v1::FleetStatus f = BuildFleetStatus(registry, policy, {}, at, {a});
    for (const auto& m : f.manual_items()) {
      if (m.check().id() == "smtp.tested" && m.environment() == "production") return m;
    }
    return v1::CheckResult();
  };
  EXPECT_EQ(item(now).status(), v1::ATTESTED);
  v1::CheckResult lapsed = item(now + absl::Hours(2));
  EXPECT_EQ(lapsed.status(), v1::PENDING);
  EXPECT_TRUE(absl::StrContains(lapsed.evidence(0).message(), "expired at"))
      << lapsed.DebugString();
  // Manual items are signed off per environment they name that gates the
  // fleet, and per other named environment the inventory has (item 1 names
  // backup, QA, staging and production; item 9 QA and production).
  EXPECT_EQ(ManualEnvironments(registry.Find("pipelines.green")->info, policy),
            (std::vector<std::string>{"production", "staging", "backup"}));
  EXPECT_EQ(ManualEnvironments(registry.Find("pipelines.green")->info, policy, {"qa"}),
            (std::vector<std::string>{"production", "staging", "backup", "qa"}));
  EXPECT_EQ(ManualEnvironments(registry.Find("sentry.slack")->info, policy),
            (std::vector<std::string>{"production"}));
  EXPECT_EQ(ManualEnvironments(registry.Find("sentry.slack")->info, policy, {"production", "qa"}),
            (std::vector<std::string>{"production", "qa"}));
}

}  // namespace
}  // namespace preflight::collector
