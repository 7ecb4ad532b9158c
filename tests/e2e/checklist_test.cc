// The operator's checklist end to end (issue 5/8 of the operator's
// checklist): real collector, agents and preflightctl processes over mutual
// TLS. Sign-offs with expiry and revocation, waivers, roles, verdict history,
// fact diffs, refresh --wait, exports, and an audit chain that notices when
// its RocksDB entries are edited behind the collector's back.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "collector/audit/audit_chain.h"
#include "collector/readiness/engine.h"
#include "preflight/v1/checklist.pb.h"
#include "tests/support/cluster.h"
#include "tests/support/json.h"

namespace preflight::testing {
namespace {

v1::Inventory ProdAndStaging() {
  v1::Inventory inv;
  auto* prod = inv.add_hosts();
  prod->set_id("prod-01");
  prod->set_environment("production");
  prod->add_roles("manager");
  auto* staging = inv.add_hosts();
  staging->set_id("staging");
  staging->set_environment("staging");
  staging->add_roles("manager");
  return inv;
}

// Every (manual check, environment) the default policy asks to sign off.
std::vector<std::pair<std::string, std::string>> ManualItems(const std::string& status_json) {
  std::vector<std::pair<std::string, std::string>> out;
  const google::protobuf::Value status = ParseJson(status_json);
  for (const auto& item : Field(status, "manual_items").list_value().values()) {
    out.emplace_back(Field(item, "id").string_value(), Field(item, "environment").string_value());
  }
  return out;
}

class ChecklistTest : public ::testing::Test {
 protected:
  ChecklistTest() : cluster_(ProdAndStaging()) { cluster_.pki().IssueAuditor("bob"); }

  void ReportBoth(const std::string& prod_fixture) {
    ASSERT_EQ(cluster_.AgentOnce("prod-01", FixtureRoot(prod_fixture)).exit_code, 0);
    ASSERT_EQ(cluster_.AgentOnce("staging", FixtureRoot("staging-restore")).exit_code, 0);
  }

  TestCluster cluster_;
};

TEST_F(ChecklistTest, SignOffsWaiversHistoryAuditAndExports) {
  cluster_.StartCollector();
  ReportBoth("root-unlocked");

  // Manual items are PENDING; staging's restore evidence sits beside its item.
  // The full document (status --full) carries each manual item's evidence.
  RunResult status = cluster_.Ctl({"status", "--full", "--format", "json"});
  EXPECT_EQ(status.exit_code, 1) << status.out;
  auto items = ManualItems(status.out);
  // 6 production-only, pipelines.green for production, staging and backup
  // (the checklist's item 1 names all three; QA has no host here), the
  // restore on staging, SSH login alerts in each gating environment.
  ASSERT_EQ(items.size(), 13u) << status.out;
  EXPECT_TRUE(absl::StrContains(status.out, "staging (WARN): last restore logged")) << status.out;
  EXPECT_TRUE(absl::StrContains(status.out, "backup.restore_verified")) << status.out;
  EXPECT_FALSE(absl::StrContains(status.out, "RestoreSecretMongo42"));

  // Auditors read but change nothing; the refusal is audited.
  RunResult denied =
      cluster_.CtlAs(cluster_.pki().AuditorTls("bob"),
                     {"attest", "smtp.tested", "--env", "production", "--note", "x"});
  EXPECT_EQ(denied.exit_code, 3);
  EXPECT_TRUE(absl::StrContains(denied.err, "only operators")) << denied.err;
  EXPECT_EQ(cluster_.CtlAs(cluster_.pki().AuditorTls("bob"), {"status"}).exit_code, 1);
  // Agents report and do nothing else.
  RunResult agent_query = cluster_.CtlAs(cluster_.pki().HostTls("prod-01"), {"status"});
  EXPECT_EQ(agent_query.exit_code, 3);
  EXPECT_TRUE(absl::StrContains(agent_query.err, "only operators and auditors")) << agent_query.err;
  // Usage errors name what is missing.
  RunResult no_note = cluster_.Ctl({"attest", "smtp.tested", "--env", "production"});
  EXPECT_EQ(no_note.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(no_note.err, "--note")) << no_note.err;
  RunResult wrong_env =
      cluster_.Ctl({"attest", "backup.restore_verified", "--env", "production", "--note", "x"});
  EXPECT_EQ(wrong_env.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(wrong_env.err, "signed off for staging")) << wrong_env.err;

  // Sign everything off (SMTP below, for three seconds).
  for (const auto& [check, env] : items) {
    std::vector<std::string> args = {
        "attest",     check,
        "--env",      env,
        "--note",     absl::StrCat("checked ", check, " on ", env),
        "--evidence", "https://github.com/country/infra/actions/runs/1"};
    if (check == "smtp.tested") continue;  // signed off last, for three seconds
    RunResult r = cluster_.Ctl(args);
    ASSERT_EQ(r.exit_code, 0) << check << " " << env << ": " << r.err;
    EXPECT_TRUE(absl::StrContains(r.out, "by operator/alice")) << r.out;
  }
  // prod-01's root login FAILs; waive it with who, why, until.
  RunResult waive =
      cluster_.Ctl({"waive", "ssh.root_login_disabled", "--host", "prod-01", "--reason",
                    "console-only root, closed next sprint", "--expires", "1d"});
  ASSERT_EQ(waive.exit_code, 0) << waive.err;
  RunResult host = cluster_.Ctl({"host", "prod-01", "--format", "json"});
  EXPECT_TRUE(absl::StrContains(host.out, "WAIVED")) << host.out;
  EXPECT_TRUE(absl::StrContains(host.out, "console-only root")) << host.out;
  RunResult host_table = cluster_.Ctl({"host", "prod-01"});
  EXPECT_TRUE(absl::StrContains(host_table.out, "WAIVED (FAIL beneath) by operator/alice"))
      << host_table.out;
  EXPECT_TRUE(absl::StrContains(host_table.out, "failing since")) << host_table.out;
  ASSERT_EQ(cluster_
                .Ctl({"attest", "smtp.tested", "--env", "production", "--note", "test mail arrived",
                      "--expires", "3s"})
                .exit_code,
            0);
  RunResult ready = cluster_.Ctl({"status"});
  EXPECT_EQ(ready.exit_code, 0) << ready.out;

  // The SMTP sign-off expires: PENDING again, saying so.
  absl::SleepFor(absl::Milliseconds(3500));
  RunResult expired = cluster_.Ctl({"status", "--format", "json"});
  EXPECT_EQ(expired.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(expired.out,
                                "smtp.tested (production) is PENDING: attestation by "
                                "operator/alice expired at"))
      << expired.out;
  ASSERT_EQ(
      cluster_.Ctl({"attest", "smtp.tested", "--env", "production", "--note", "again"}).exit_code,
      0);
  EXPECT_EQ(cluster_.Ctl({"status"}).exit_code, 0);
  // Revoked: PENDING, naming who withdrew it.
  ASSERT_EQ(
      cluster_.Ctl({"attest", "github.ownership", "--env", "production", "--revoke"}).exit_code, 0);
  RunResult revoked = cluster_.Ctl({"status", "--format", "json"});
  EXPECT_EQ(revoked.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(revoked.out, "revoked by operator/alice")) << revoked.out;
  ASSERT_EQ(cluster_
                .Ctl({"attest", "github.ownership", "--env", "production", "--note",
                      "vendor owners removed"})
                .exit_code,
            0);

  // prod-01 is fixed: history shows when it failed and when it passed.
  ASSERT_EQ(cluster_.AgentOnce("prod-01", FixtureRoot("opencrvs-manager")).exit_code, 0);
  RunResult history = cluster_.Ctl(
      {"history", "prod-01", "--check", "ssh.root_login_disabled", "--format", "json"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  const google::protobuf::Value parsed = ParseJson(history.out);
  const auto& transitions = Field(parsed, "transitions").list_value().values();
  ASSERT_EQ(transitions.size(), 2u) << history.out;
  EXPECT_EQ(Field(transitions[0], "from").string_value(), "NONE");
  EXPECT_EQ(Field(transitions[0], "to").string_value(), "FAIL");
  EXPECT_EQ(Field(transitions[1], "from").string_value(), "FAIL");
  EXPECT_EQ(Field(transitions[1], "to").string_value(), "PASS");
  EXPECT_LE(Field(transitions[0], "at_unix_ms").number_value(),
            Field(transitions[1], "at_unix_ms").number_value());
  RunResult table = cluster_.Ctl({"history", "prod-01"});
  EXPECT_TRUE(absl::StrContains(table.out, "ssh.root_login_disabled  FAIL -> PASS")) << table.out;
  // Fact changes: root's password got locked.
  RunResult diff = cluster_.Ctl({"diff", "prod-01"});
  ASSERT_EQ(diff.exit_code, 0) << diff.err;
  EXPECT_TRUE(absl::StrContains(diff.out, "== accounts")) << diff.out;
  EXPECT_TRUE(absl::StrContains(diff.out, "PASSWORD_LOCKED")) << diff.out;
  EXPECT_FALSE(absl::StrContains(diff.out, "== sshd")) << diff.out;  // unchanged kinds omitted

  // The audit trail has every change and refusal, and verifies.
  RunResult audit = cluster_.Ctl({"audit", "--verify"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  for (const char* want :
       {"chain verified", "attest smtp.tested production by operator/alice",
        "revoke github.ownership production", "waive prod-01 ssh.root_login_disabled",
        "transition prod-01 ssh.root_login_disabled", "denied Attest by auditor/bob",
        "denied GetFleetSummary by host/prod-01", "inventory ", "policy "}) {
    EXPECT_TRUE(absl::StrContains(audit.out, want)) << want << "\n" << audit.out;
  }

  // Exports of the same fleet, every format.
  for (const char* format : {"md", "csv", "json", "html", "junit"}) {
    std::string path = cluster_.dir().Join(absl::StrCat("checklist.", format));
    RunResult e = cluster_.Ctl({"export", "--format", format, "--output", path});
    EXPECT_EQ(e.exit_code, 0) << format << ": " << e.err;
    std::string doc = ReadFile(path);
    for (const char* want :
         {"pipelines.green", "backup.restore_verified", "ssh.root_login_disabled", "logs.rotation",
          "release.latest", "vendor owners removed"}) {
      EXPECT_TRUE(absl::StrContains(doc, want)) << format << " lacks " << want;
    }
  }
  EXPECT_TRUE(absl::StrContains(ReadFile(cluster_.dir().Join("checklist.junit")), "<testsuites"));
}

TEST_F(ChecklistTest, RefreshWaitsForNewVerdicts) {
  cluster_.StartCollector();
  auto agent = cluster_.StartAgent("prod-01", FixtureRoot("opencrvs-manager"));
  ASSERT_TRUE(WaitFor(
      [&] {
        RunResult h = cluster_.Ctl({"host", "prod-01", "--format", "json"});
        return absl::StrContains(h.out, "\"last_report\": \"");
      },
      absl::Seconds(30)));
  RunResult r = cluster_.Ctl({"refresh", "prod-01", "--wait", "--wait-timeout", "30"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "prod-01: new verdicts in")) << r.out;
  // staging has no agent running: said so, and refresh of it fails.
  RunResult none = cluster_.Ctl({"refresh", "staging"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(none.out, "not connected: staging")) << none.out;
  agent->Signal(SIGTERM);
  agent->Wait(absl::Seconds(10));
  EXPECT_TRUE(absl::StrContains(cluster_.Ctl({"audit"}).out, "refresh prod-01"));
}

std::string Key(uint64_t seq) {
  std::string k;
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>((seq >> (8 * i)) & 0xff));
  return k;
}

TEST_F(ChecklistTest, AuditVerifyNamesTamperedEntries) {
  cluster_.StartCollector();
  ReportBoth("root-unlocked");
  for (const char* env : {"production", "staging"}) {
    ASSERT_EQ(
        cluster_.Ctl({"attest", "pipelines.green", "--env", env, "--note", "green"}).exit_code, 0);
  }
  RunResult clean = cluster_.Ctl({"audit", "--verify"});
  ASSERT_EQ(clean.exit_code, 0) << clean.out;
  cluster_.StopCollector(SIGTERM);

  // Modified: an entry's detail rewritten.
  EditAudit(cluster_.data_dir(), [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), cf, Key(3), &value).ok());
    v1::AuditEntry e;
    ASSERT_TRUE(e.ParseFromString(value));
    e.set_detail("NONE -> PASS (rewritten)");
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf, Key(3), e.SerializeAsString()).ok());
  });
  cluster_.StartCollector();
  RunResult modified = cluster_.Ctl({"audit", "--verify"});
  EXPECT_EQ(modified.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(modified.out, "CHAIN BROKEN")) << modified.out;
  EXPECT_TRUE(absl::StrContains(modified.out, "entry 3: modified")) << modified.out;
  cluster_.StopCollector(SIGTERM);

  // Reordered: entries 5 and 6 swapped.
  EditAudit(cluster_.data_dir(), [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    std::string five, six;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), cf, Key(5), &five).ok());
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), cf, Key(6), &six).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf, Key(5), six).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf, Key(6), five).ok());
  });
  cluster_.StartCollector();
  RunResult reordered = cluster_.Ctl({"audit", "--verify"});
  EXPECT_EQ(reordered.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(reordered.out, "entry 5: reordered")) << reordered.out;
  cluster_.StopCollector(SIGTERM);

  // Removed: entry 8 deleted.
  EditAudit(cluster_.data_dir(), [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), cf, Key(8)).ok());
  });
  cluster_.StartCollector();
  RunResult removed = cluster_.Ctl({"audit", "--verify"});
  EXPECT_EQ(removed.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(removed.out, "entry 8: removed")) << removed.out;
}

// Whoever holds the data directory can rewrite the chain and its head so
// that --verify passes; an anchor kept outside (the collector's log line, an
// export) exposes it.
TEST_F(ChecklistTest, AnchorKeptOutsideExposesAConsistentRewrite) {
  cluster_.StartCollector();
  ReportBoth("root-unlocked");
  for (const char* env : {"production", "staging"}) {
    ASSERT_EQ(
        cluster_.Ctl({"attest", "pipelines.green", "--env", env, "--note", "green"}).exit_code, 0);
  }
  // The newest anchor the collector logged, and the one the export carries.
  std::string anchor;
  for (absl::string_view line : absl::StrSplit(cluster_.collector_log(), '\n')) {
    size_t at = line.find("audit anchor ");
    if (at != absl::string_view::npos) anchor = std::string(line.substr(at + 13));
  }
  ASSERT_EQ(anchor.size() > 65, true) << cluster_.collector_log();
  RunResult md = cluster_.Ctl({"export", "--format", "md"});
  EXPECT_TRUE(absl::StrContains(md.out, absl::StrCat("| Audit chain anchor | `", anchor, "`")))
      << anchor << "\n"
      << md.out.substr(0, 800);
  RunResult holds = cluster_.Ctl({"audit", "--verify", "--anchor", anchor});
  EXPECT_EQ(holds.exit_code, 0) << holds.out << holds.err;
  EXPECT_TRUE(absl::StrContains(holds.out, "anchor holds")) << holds.out;
  cluster_.StopCollector(SIGTERM);

  // Entry 3 edited and every later entry and the head rehashed: the chain
  // itself is consistent again.
  EditAudit(cluster_.data_dir(), [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    std::string prev;
    uint64_t seq = 1;
    for (;; ++seq) {
      std::string value;
      if (!db->Get(rocksdb::ReadOptions(), cf, Key(seq), &value).ok()) break;
      v1::AuditEntry e;
      ASSERT_TRUE(e.ParseFromString(value));
      if (seq == 3) e.set_detail("NONE -> PASS (rewritten)");
      e.set_prev_hash(prev);
      e.set_hash(collector::AuditHash(prev, e));
      prev = e.hash();
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf, Key(seq), e.SerializeAsString()).ok());
    }
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "audit_head", Key(seq - 1) + prev).ok());
  });
  cluster_.StartCollector();
  RunResult verify = cluster_.Ctl({"audit", "--verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;  // the rewrite fools the chain alone
  RunResult exposed = cluster_.Ctl({"audit", "--verify", "--anchor", anchor});
  EXPECT_EQ(exposed.exit_code, 1) << exposed.out;
  EXPECT_TRUE(absl::StrContains(exposed.out, "ANCHOR DOES NOT HOLD")) << exposed.out;
  EXPECT_TRUE(absl::StrContains(exposed.out, "the trail up to it was rewritten")) << exposed.out;

  // Malformed anchors are usage errors.
  EXPECT_EQ(cluster_.Ctl({"audit", "--verify", "--anchor", "abc@1"}).exit_code, 2);
  EXPECT_EQ(cluster_.Ctl({"audit", "--anchor", anchor}).exit_code, 2);
}

}  // namespace
}  // namespace preflight::testing
