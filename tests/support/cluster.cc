#include "tests/support/cluster.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <signal.h>
#include <unistd.h>

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/store/keys.h"
#include "collector/store/store.h"
#include "tests/support/golden.h"
#include "tests/support/json.h"
#include "tests/support/temp_dir.h"

namespace preflight::testing {

std::string FixtureRoot(const std::string& name) {
  // The fixtures are dated around the golden clock (2026-01-01); end-to-end
  // tests run on the real clock. A per-process copy gets logrotate's status
  // file dated an hour ago, so "logrotate ran recently" holds today too.
  static TempDir* copies = new TempDir();  // lives as long as the process
  static std::map<std::string, std::string>* made = new std::map<std::string, std::string>();
  auto it = made->find(name);
  if (it != made->end()) return it->second;
  std::string root = copies->Join(name);
  CopyTree(absl::StrCat(PREFLIGHT_FIXTURES, "/hosts/", name), root);
  const std::string status = root + "/var/lib/logrotate/status";
  std::string content = ReadFile(status);
  if (!content.empty()) {
    const std::string stamp =
        absl::FormatTime("%Y-%m-%d-%H:%M:%S", absl::Now() - absl::Hours(1), absl::UTCTimeZone());
    std::string fresh;
    for (absl::string_view line : absl::StrSplit(content, '\n', absl::SkipEmpty())) {
      size_t quote = line.rfind('"');
      fresh += quote == absl::string_view::npos || quote == 0
                   ? absl::StrCat(line, "\n")
                   : absl::StrCat(line.substr(0, quote + 1), " ", stamp, "\n");
    }
    WriteFile(status, fresh);
  }
  made->emplace(name, root);
  return root;
}

TestCluster::TestCluster(v1::Inventory inventory, v1::Policy policy)
    : inventory_(std::move(inventory)), policy_(FixturePolicy()) {
  // A test's own hostnames replace the fixture's (MergeFrom would append).
  if (policy.tls_hostnames_size() > 0) policy_.clear_tls_hostnames();
  policy_.MergeFrom(policy);
  pki_ = std::make_unique<TestPki>(dir_.Join("pki"), kTrustDomain);
  for (const auto& h : inventory_.hosts()) pki_->IssueHost(h.id());
  pki_->IssueOperator("alice");
}

TestCluster::~TestCluster() {
  if (collector_ != nullptr && collector_->running()) {
    collector_->Signal(SIGTERM);
    if (collector_->Wait(absl::Seconds(10)) < 0) collector_->Signal(SIGKILL);
  }
}

std::string TestCluster::WriteCollectorConfig() {
  v1::CollectorConfig config;
  config.set_listen("127.0.0.1:0");
  config.set_data_dir(data_dir());
  config.set_trust_domain(kTrustDomain);
  *config.mutable_tls() = pki_->CollectorTls();
  config.mutable_tls()->set_crl_file(pki_->crl());  // revocation on, as in production
  *config.mutable_inventory() = inventory_;
  *config.mutable_policy() = policy_;
  config.MergeFrom(collector_extra_);
  std::string text;
  google::protobuf::TextFormat::PrintToString(config, &text);
  std::string config_path = dir_.Join("collector.textproto");
  WriteFile(config_path, text);
  return config_path;
}

void TestCluster::StartCollector(const std::vector<std::string>& extra) {
  const std::string config_path = WriteCollectorConfig();
  std::string port_file = dir_.Join(absl::StrCat("port.", ++starts_));
  std::vector<std::string> argv = {PREFLIGHT_COLLECTOR_BIN, "--config", config_path, "--port-file",
                                   port_file};
  argv.insert(argv.end(), extra.begin(), extra.end());
  // Each start appends to one log, so a test can read the whole history.
  std::string log = dir_.Join(absl::StrCat("collector.", starts_, ".log"));
  collector_ = Process::Start(argv, dir_.Join("collector.out"), log);
  bool up = WaitFor(
      [&] {
        std::string p(absl::StripAsciiWhitespace(ReadFile(port_file)));
        return !p.empty() && absl::SimpleAtoi(p, &port_) && port_ > 0;
      },
      absl::Seconds(30));
  ASSERT_TRUE(up) << "collector did not start:\n" << ReadFile(log);
}

pid_t TestCluster::collector_pid() const { return collector_ ? collector_->pid() : 0; }

void TestCluster::StopCollector(int sig) {
  ASSERT_NE(collector_, nullptr);
  collector_->Signal(sig);
  ASSERT_GE(collector_->Wait(absl::Seconds(30)), 0) << "collector did not stop";
}

bool TestCluster::collector_running() { return collector_ != nullptr && collector_->running(); }

std::string TestCluster::target() const { return absl::StrCat("localhost:", port_); }

std::string TestCluster::collector_log() const {
  std::string all;
  for (int i = 1; i <= starts_; ++i) {
    absl::StrAppend(&all, ReadFile(dir_.Join(absl::StrCat("collector.", i, ".log"))));
  }
  return all;
}

std::string TestCluster::SpoolDir(const std::string& host) const {
  return dir_.Join(absl::StrCat("agent-", host, "/spool"));
}

std::string TestCluster::AgentConfig(const std::string& host, int ack_timeout_seconds) {
  v1::AgentConfig config;
  config.set_collector(target());
  *config.mutable_tls() = pki_->HostTls(host);
  config.set_spool_dir(SpoolDir(host));
  config.set_ack_timeout_seconds(static_cast<uint32_t>(ack_timeout_seconds));
  config.set_host_id(host);
  config.set_tls_ca_file(FixtureCaFile());  // the fixture managers' certificate
  // As the playbook configures the agent, with the policy's names (the
  // collector's welcome repeats them).
  for (const std::string& name : policy_.tls_hostnames()) config.add_tls_hostnames(name);
  std::string text;
  google::protobuf::TextFormat::PrintToString(config, &text);
  std::string path = dir_.Join(absl::StrCat("agent-", host, "/agent.textproto"));
  WriteFile(path, text);
  return path;
}

RunResult TestCluster::AgentOnce(const std::string& host, const std::string& root,
                                 int ack_timeout_seconds) {
  std::string config = AgentConfig(host, ack_timeout_seconds);
  return RunProcess({PREFLIGHT_AGENT_BIN, "--config", config, "--once", "--root", root},
                    absl::Seconds(ack_timeout_seconds + 30));
}

std::unique_ptr<Process> TestCluster::StartAgentOnce(const std::string& host,
                                                     const std::string& root,
                                                     int ack_timeout_seconds) {
  std::string config = AgentConfig(host, ack_timeout_seconds);
  std::string base = dir_.Join(absl::StrCat("agent-", host, "/once"));
  return Process::Start({PREFLIGHT_AGENT_BIN, "--config", config, "--once", "--root", root},
                        base + ".out", base + ".err");
}

std::unique_ptr<Process> TestCluster::StartAgent(const std::string& host, const std::string& root) {
  std::string config = AgentConfig(host);
  std::string base = dir_.Join(absl::StrCat("agent-", host, "/daemon"));
  return Process::Start({PREFLIGHT_AGENT_BIN, "--config", config, "--root", root}, base + ".out",
                        base + ".err");
}

RunResult TestCluster::Ctl(const std::vector<std::string>& args) {
  return CtlAs(pki_->OperatorTls("alice"), args);
}

RunResult TestCluster::CtlAs(const v1::TlsFiles& tls, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {PREFLIGHT_CTL_BIN, "--collector",   target(),
                                   "--cert",          tls.cert_file(), "--key",
                                   tls.key_file(),    "--ca",          tls.ca_file()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, absl::Seconds(30));
}

std::vector<google::protobuf::Value> TestCluster::AuditEntries() {
  RunResult audit = Ctl({"audit", "--format", "json"});
  EXPECT_EQ(audit.exit_code, 0) << audit.err;
  const google::protobuf::Value json = ParseJson(audit.out);
  const auto& entries = Field(json, "entries").list_value().values();
  return std::vector<google::protobuf::Value>(entries.begin(), entries.end());
}

void EditAudit(const std::string& dir,
               const std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)>& edit) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir, cfs, &handles, &db).ok());
  rocksdb::ColumnFamilyHandle* audit = nullptr;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "audit") audit = handles[i];
  }
  ASSERT_NE(audit, nullptr);
  edit(db, audit);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}

v1::Inventory OneManager() {
  v1::Inventory inv;
  auto* h = inv.add_hosts();
  h->set_id("prod-01");
  h->set_environment("production");
  h->add_roles("manager");
  return inv;
}

std::string Joined(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n';
    if (space && !out.empty() && out.back() == ' ') continue;
    out.push_back(space ? ' ' : c);
  }
  return out;
}

std::map<uint64_t, int> StoredSequences(const std::string& data_dir, const std::string& host) {
  std::map<uint64_t, int> out;
  auto store = collector::Store::Open(data_dir);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return out;
  auto keys = (*store)->ReportKeys(host);
  EXPECT_TRUE(keys.ok()) << keys.status();
  if (!keys.ok()) return out;
  for (const std::string& k : *keys) {
    auto parts = collector::DecodeReportKey(k);
    EXPECT_TRUE(parts.has_value());
    if (parts) ++out[parts->sequence];
  }
  return out;
}

}  // namespace preflight::testing
