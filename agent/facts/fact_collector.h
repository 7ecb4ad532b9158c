// A fact collector gathers one fact kind from a HostEnv into a FactReport.
// Collectors never judge; they record what they saw, where, and how gathering
// went (Collection), so the collector service can tell absent from unreadable.
// A collector may read the facts of other kinds from the report (sshd
// evaluates Match for the accounts found); it declares them in reads(), and
// CollectReport runs those first.
#ifndef PREFLIGHT_AGENT_FACTS_FACT_COLLECTOR_H_
#define PREFLIGHT_AGENT_FACTS_FACT_COLLECTOR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/host/host_env.h"
#include "preflight/v1/config.pb.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::agent {

struct CollectOptions {
  size_t max_file_bytes = 4 << 20;  // cap on any host file read
  // TLS: names to probe with SNI at tls_probe_address, and stores to read.
  std::vector<std::string> tls_hostnames;
  std::string tls_probe_address = "127.0.0.1:443";
  std::string tls_acme_file = "/data/traefik/acme.json";
  std::vector<std::string> tls_cert_dirs = {"/data/traefik/certs"};
  std::string tls_ca_file;  // real path of a private CA bundle, or empty
  // Backups: the backup directory (backup servers) and the restore log
  // (staging).
  std::string backup_dir = "/home/backup/backups";
  std::string restore_log = "/var/log/opencrvs-restore.log";
  // Bounded walks (log files, backup directories): at most this many entries.
  size_t max_walk_entries = 20000;
  // Evidence from the application (AgentConfig.application), off unless
  // enabled: `docker service ls`/`inspect` for the "services" and
  // "app_config" kinds, and a TLS handshake to the services' SMTP server.
  bool application_docker = false;
  bool application_smtp_probe = false;
  // The alert history in Elasticsearch (the "alert_history" kind): one
  // `docker exec` into the elasticsearch container on this node.
  bool application_elasticsearch = false;
  // The user and record databases (the "admin_passwords" and "test_data"
  // kinds): one `docker exec` each into the database container on this node.
  bool application_admin_passwords = false;
  bool application_test_data = false;
};

class FactCollector {
 public:
  virtual ~FactCollector() = default;
  // Stable name of the fact kind, e.g. "sshd".
  virtual absl::string_view name() const = 0;
  // The fact kinds (names) this collector reads from the report; they are
  // collected before it. Reading a kind not declared here is a bug.
  virtual std::vector<absl::string_view> reads() const = 0;
  // Fills this kind's field of `report` and returns that field's Collection
  // (never null). Must not crash on any host content; problems go into the
  // Collection and the fact's ParseProblems.
  virtual v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                                  v1::FactReport& report) = 0;
};

// Fail closed on reads: records on `collection` that `path` (a file,
// directory or command) exists but could not be read, with the error. Any
// error counts but NOT_FOUND ("does not exist"): permission denied, not a
// regular file, an I/O error, over the size cap. The checks that depend on
// the fact are UNKNOWN while it has such an entry, naming it. Returns true
// when `status` is such an error (false for OK and NOT_FOUND). A collector
// records only what its checks depend on; a read whose failure costs only
// evidence goes to its ParseProblems instead.
bool NoteUnreadable(v1::Collection& collection, absl::string_view path, const absl::Status& status);

// The opt-in sources (AgentConfig.application): when `enabled` is false,
// marks `collection` ABSENT with `off_error` (which says how to enable it)
// and returns true: the kind reads nothing.
bool SourceOff(bool enabled, absl::string_view off_error, v1::Collection& collection);

// CollectOptions from the agent's configuration (defaults where unset).
CollectOptions CollectOptionsFrom(const v1::AgentConfig& config);

// Every built-in fact collector. The one explicit list: add a new fact kind
// here. Its order does not matter (see RunOrder).
std::vector<std::unique_ptr<FactCollector>> BuiltinCollectors();

// The order to run `collectors` in: each after every kind it reads(), and
// otherwise in the order given. INVALID_ARGUMENT names a kind read but
// collected by none of them, a kind collected twice, or a cycle.
absl::StatusOr<std::vector<FactCollector*>> RunOrder(
    const std::vector<std::unique_ptr<FactCollector>>& collectors);

// Runs every collector in RunOrder and fills the report's header (hostname,
// time, root). Sequence and agent instance are assigned by the spool. A set of
// collectors that RunOrder refuses is a bug: it aborts, saying why.
v1::FactReport CollectReport(HostEnv& env, const CollectOptions& options,
                             const std::vector<std::unique_ptr<FactCollector>>& collectors);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_FACT_COLLECTOR_H_
