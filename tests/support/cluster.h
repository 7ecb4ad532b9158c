// A real preflight deployment for end-to-end tests: a PKI made with
// certs/preflight-certs, a preflight-collector process on loopback port 0 with
// its own RocksDB directory, and helpers to run preflight-agent and
// preflightctl as processes.
#ifndef PREFLIGHT_TESTS_SUPPORT_CLUSTER_H_
#define PREFLIGHT_TESTS_SUPPORT_CLUSTER_H_

#include <google/protobuf/struct.pb.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "preflight/v1/config.pb.h"
#include "tests/support/pki.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace preflight::testing {

class TestCluster {
 public:
  static constexpr char kTrustDomain[] = "test.local";

  // Issues certificates for every inventory host and for operator "alice".
  explicit TestCluster(v1::Inventory inventory, v1::Policy policy = {});
  ~TestCluster();

  // Starts the collector and waits until it listens. `extra` flags are
  // appended (e.g. test hooks). Fails the test if it does not come up.
  void StartCollector(const std::vector<std::string>& extra = {});
  // Fields merged into the collector's configuration at its next start
  // (limits, retention).
  void SetCollectorConfig(const v1::CollectorConfig& extra) { collector_extra_ = extra; }
  // The inventory written at the collector's next start (a host removed,
  // added). Certificates are issued only by the constructor.
  void SetInventory(v1::Inventory inventory) { inventory_ = std::move(inventory); }
  // The policy written at the next start or rewrite.
  void SetPolicy(v1::Policy policy) { policy_ = std::move(policy); }
  // Writes the collector's configuration file as StartCollector does (from
  // the inventory, policy and extra fields now set) and returns its path;
  // with a running collector, a SIGHUP then reloads it.
  std::string WriteCollectorConfig();
  // Sends `sig` and waits for the process to end.
  void StopCollector(int sig);
  bool collector_running();
  // The running collector's process id (0 when none was started).
  pid_t collector_pid() const;
  int port() const { return port_; }
  std::string target() const;
  std::string collector_log() const;
  std::string data_dir() const { return dir_.Join("data"); }

  // Writes the agent config of `host` (spool in its own directory) and returns
  // its path.
  std::string AgentConfig(const std::string& host, int ack_timeout_seconds = 20);
  std::string SpoolDir(const std::string& host) const;
  // preflight-agent --config <host's config> --once --root <root>.
  RunResult AgentOnce(const std::string& host, const std::string& root,
                      int ack_timeout_seconds = 20);
  // The same, in the background.
  std::unique_ptr<Process> StartAgentOnce(const std::string& host, const std::string& root,
                                          int ack_timeout_seconds);
  // preflight-agent --config <host's config> --root <root>, running until
  // stopped (collects at start, then on the collector's request).
  std::unique_ptr<Process> StartAgent(const std::string& host, const std::string& root);
  // preflightctl with operator alice's certificate and --collector.
  RunResult Ctl(const std::vector<std::string>& args);
  // preflightctl with other credentials (an auditor's, a host's).
  RunResult CtlAs(const v1::TlsFiles& tls, const std::vector<std::string>& args);
  // Every audit entry, oldest first, as `preflightctl audit --format json`
  // gives them (fields actor, action, subject, detail, ...); a failing
  // preflightctl fails the test.
  std::vector<google::protobuf::Value> AuditEntries();

  TestPki& pki() { return *pki_; }
  TempDir& dir() { return dir_; }

 private:
  TempDir dir_;
  std::unique_ptr<TestPki> pki_;
  v1::Inventory inventory_;
  v1::Policy policy_;
  v1::CollectorConfig collector_extra_;
  std::unique_ptr<Process> collector_;
  int port_ = 0;
  int starts_ = 0;
};

// A per-process copy of a fixture host root (tests/fixtures/hosts/<name>),
// its logrotate status re-dated to an hour ago (see cluster.cc).
std::string FixtureRoot(const std::string& name);

// The usual one-host fleet: prod-01, a production manager.
v1::Inventory OneManager();

// preflightctl's output `text` with every run of spaces and line breaks one
// space, so a phrase is found whichever column width wrapped it.
std::string Joined(const std::string& text);

// sequence -> how many times it is stored, for every report of `host` in a
// collector's data directory (the collector must be stopped: RocksDB allows
// one process).
std::map<uint64_t, int> StoredSequences(const std::string& data_dir,
                                        const std::string& host = "prod-01");

// Rewrites the audit family of a closed store in `dir` directly, as an
// intruder holding the data directory could (RocksDB allows one process:
// the collector must be stopped).
void EditAudit(const std::string& dir,
               const std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)>& edit);

}  // namespace preflight::testing

#endif  // PREFLIGHT_TESTS_SUPPORT_CLUSTER_H_
