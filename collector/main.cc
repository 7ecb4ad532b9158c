// preflight-collector: accepts fact reports over mutual-TLS gRPC, evaluates
// readiness, stores history in RocksDB, and answers preflightctl.
#include <google/protobuf/text_format.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "collector/audit/audit_chain.h"
#include "collector/config.h"
#include "collector/events/ecs_file.h"
#include "collector/notify/notifier.h"
#include "collector/service/collector_state.h"
#include "collector/service/event_watch.h"
#include "collector/service/exceptions_upkeep.h"
#include "collector/service/handshake_refusals.h"
#include "collector/service/health.h"
#include "collector/service/heap.h"
#include "collector/service/ingest_service.h"
#include "collector/service/listener.h"
#include "collector/service/query_service.h"
#include "collector/store/backup.h"
#include "proto/wire/flags.h"
#include "proto/wire/server_transport.h"
#include "proto/wire/sha256.h"
#include "proto/wire/status.h"
#include "proto/wire/textproto.h"
#include "proto/wire/tls.h"

namespace preflight::collector {
namespace {

using flags::Kind;

constexpr absl::string_view kTesting = "testing only (fault injection for durability tests)";

const flags::Program& Program() {
  static const flags::Program* program = new flags::Program{
      .name = "preflight-collector",
      .summary =
          "Accepts fact reports from preflight agents over mutual TLS, evaluates every "
          "readiness check, stores reports, facts and verdicts in RocksDB (data_dir), and "
          "answers preflightctl. There is no plaintext port.",
      .flags =
          {
              {.name = "config",
               .value_name = "FILE",
               .help = "collector configuration (protobuf text format, schema "
                       "preflight.v1.CollectorConfig in proto/preflight/v1/config.proto; "
                       "example: deploy/collector.textproto)",
               .required = true},
              {.name = "check-config",
               .kind = Kind::kBool,
               .help = "load and validate the configuration, inventory and policy, print a "
                       "summary and exit (0 valid, 2 invalid)"},
              {.name = "health",
               .kind = Kind::kBool,
               .help = "check the running collector's health_file and exit: 0 healthy, 1 "
                       "unhealthy (the problems are printed) or not running (the file is "
                       "older than 15 s)"},
              {.name = "backup",
               .value_name = "DIR",
               .help = "copy the store (data_dir) into DIR, new or empty, consistently even "
                       "while the collector runs, verify the copy's audit chain, print a "
                       "summary and exit (0 done, 1 failed)"},
              {.name = "port-file",
               .value_name = "FILE",
               .help = "after binding, write the port to FILE (useful with port 0)"},
              {.name = "test-hold-before-store-ms",
               .kind = Kind::kInt,
               .value_name = "N",
               .help = "wait N ms after receiving a report, before storing it",
               .group = kTesting},
              {.name = "test-hold-before-ack-ms",
               .kind = Kind::kInt,
               .value_name = "N",
               .help = "wait N ms after storing a report, before acking it",
               .group = kTesting},
              {.name = "test-hold-query-ms",
               .kind = Kind::kInt,
               .value_name = "N",
               .help = "wait N ms before answering each preflightctl call",
               .group = kTesting},
              {.name = "test-crl-poll-ms",
               .kind = Kind::kInt,
               .value_name = "N",
               .help = "look for a changed CRL every N ms instead of every 2 s, to end the "
                       "open streams it revokes (0: never; reports and queries still check it)",
               .group = kTesting},
          },
      .notes =
          "Stops on SIGTERM/SIGINT after finishing the reports in hand. SIGHUP (systemctl "
          "reload) re-reads the configuration, inventory, policy and TLS files: a "
          "configuration that does not load is refused and the running one kept; an accepted "
          "one is audited with what changed (open streams end; agents reconnect).\n\n"
          "exit codes: 0 ok, 1 runtime failure (cannot bind, cannot open the store), 2 "
          "usage or config error"};
  return *program;
}

int UsageError(absl::string_view message) { return flags::UsageError(Program(), message); }

// Blocks SIGTERM, SIGINT and SIGHUP (reload) before any thread starts, so
// every thread inherits the mask and only the main thread's wait sees them.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// Records inventory and policy changes since the last start in the audit
// trail (hosts added, removed or changed; policy lines that differ).
absl::Status AuditConfigChanges(CollectorState& state) {
  const absl::Time now = state.clock();
  std::map<std::string, std::string> hosts;
  for (const v1::InventoryHost& h : state.settings.inventory.hosts()) {
    std::string text;
    google::protobuf::TextFormat::PrintToString(h, &text);
    hosts[h.id()] = text;
  }
  std::string inventory, policy;
  for (const auto& [id, text] : hosts) absl::StrAppend(&inventory, id, "\t", text, "\x1e");
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(false);
  printer.PrintToString(state.settings.policy, &policy);

  ASSIGN_OR_RETURN(auto old_inventory, state.store->GetMeta("inventory"));
  if (!old_inventory.has_value() || *old_inventory != inventory) {
    std::map<std::string, std::string> before;
    if (old_inventory.has_value()) {
      for (absl::string_view rec : absl::StrSplit(*old_inventory, '\x1e', absl::SkipEmpty())) {
        size_t tab = rec.find('\t');
        if (tab != absl::string_view::npos) {
          before[std::string(rec.substr(0, tab))] = std::string(rec.substr(tab + 1));
        }
      }
    }
    std::vector<std::string> added, removed, changed;
    for (const auto& [id, text] : hosts) {
      auto it = before.find(id);
      if (it == before.end()) {
        added.push_back(id);
      } else if (it->second != text) {
        changed.push_back(id);
      }
    }
    for (const auto& [id, text] : before) {
      if (!hosts.count(id)) removed.push_back(id);
    }
    std::string detail = absl::StrCat(
        hosts.size(), " host(s)", added.empty() ? "" : "; added ", absl::StrJoin(added, ", "),
        removed.empty() ? "" : "; removed ", absl::StrJoin(removed, ", "),
        changed.empty() ? "" : "; changed ", absl::StrJoin(changed, ", "));
    RETURN_IF_ERROR(state.store->PutMeta(
        "inventory", inventory, {"collector", "inventory", state.config_path, detail}, now));
  }
  ASSIGN_OR_RETURN(auto old_policy, state.store->GetMeta("policy"));
  if (!old_policy.has_value() || *old_policy != policy) {
    std::vector<std::string> was = absl::StrSplit(old_policy.value_or(""), '\n', absl::SkipEmpty());
    std::vector<std::string> is = absl::StrSplit(policy, '\n', absl::SkipEmpty());
    std::vector<std::string> lines;
    for (const std::string& l : was) {
      if (std::find(is.begin(), is.end(), l) == is.end()) lines.push_back("- " + l);
    }
    for (const std::string& l : is) {
      if (std::find(was.begin(), was.end(), l) == was.end()) lines.push_back("+ " + l);
    }
    if (lines.size() > 40) lines.resize(40);
    RETURN_IF_ERROR(state.store->PutMeta(
        "policy", policy,
        {"collector", "policy", state.config_path,
         old_policy.has_value() ? absl::StrJoin(lines, "; ") : "first policy in force"},
        now));
  }
  return absl::OkStatus();
}

void PruneHistory(CollectorState& state) {
  const v1::CollectorConfig& config = state.settings.config;
  // Bounded runs: the rest waits for the next hour (settings re-read on reload).
  state.store->SetPruneBatchRecords(config.prune_batch_records() > 0 ? config.prune_batch_records()
                                                                     : Store::kDefaultPruneBatch);
  const uint32_t window = config.receipt_window_days() > 0 ? config.receipt_window_days() : 2;
  auto compacted = state.store->CompactReceipts(state.clock() - absl::Hours(24 * int64_t{window}));
  if (!compacted.ok()) {
    Log(absl::StrCat("cannot compact report receipts: ", compacted.status().message()));
  } else if (*compacted > 0) {
    Log(absl::StrCat("compacted ", *compacted, " report receipt(s) older than ", window,
                     " days to one per host and hour"));
  }
  const uint32_t days = config.history_retention_days();
  auto pruned = state.store->Prune(state.clock() - absl::Hours(24 * int64_t{days}));
  if (!pruned.ok()) {
    Log(absl::StrCat("cannot prune history: ", pruned.status().message()));
  } else if (*pruned > 0) {
    Log(absl::StrCat("pruned ", *pruned, " history record(s) older than ", days, " days"));
  }
  // The hourly count of transitions not audited one by one, for the hosts
  // whose hour ended (a host's next report writes it otherwise).
  if (absl::Status flushed = state.store->FlushTransitionSummaries(state.clock()); !flushed.ok()) {
    Log(absl::StrCat("cannot audit the transitions not audited: ", flushed.message()));
  }
  // Audit retention: a checkpoint carries the chain over what is pruned.
  if (const uint32_t audit_days = state.settings.config.audit_retention_days(); audit_days > 0) {
    const absl::Time now = state.clock();
    auto audit = state.store->PruneAudit(now - absl::Hours(24 * int64_t{audit_days}),
                                         absl::StrCat("older than ", audit_days, " days"), now);
    if (!audit.ok()) {
      Log(absl::StrCat("cannot prune the audit trail: ", audit.status().message()));
    } else if (*audit > 0) {
      Log(absl::StrCat("pruned ", *audit, " audit entr", *audit == 1 ? "y" : "ies", " older than ",
                       audit_days, " days; a checkpoint entry carries the chain"));
    }
  }
}

// Loads the settings and registers the checks; an exit code when that fails.
std::optional<int> Configure(const flags::Parsed& flags, CollectorState& state) {
  state.config_path = flags.String("config");
  state.hooks.hold_before_store = absl::Milliseconds(flags.Int("test-hold-before-store-ms"));
  state.hooks.hold_before_ack = absl::Milliseconds(flags.Int("test-hold-before-ack-ms"));
  state.hooks.hold_query = absl::Milliseconds(flags.Int("test-hold-query-ms"));
  auto settings = LoadCollectorSettings(state.config_path);
  if (!settings.ok()) return UsageError(settings.status().message());
  state.settings = std::move(*settings);
  state.IndexHosts();
  RegisterBuiltinChecks(state.registry);
  return std::nullopt;
}

// --check-config: what was loaded, in one line.
int PrintSummary(const CollectorState& state) {
  const auto& cfg = state.settings.config;
  std::printf("%s: valid; trust domain %s, %d inventory host(s), %zu check(s), listen %s\n",
              state.config_path.c_str(), cfg.trust_domain().c_str(),
              state.settings.inventory.hosts_size(), state.registry.all().size(),
              cfg.listen().c_str());
  return 0;
}

// --health: what the running collector last wrote to its health_file.
int CheckHealthCommand(const CollectorState& state) {
  const std::string& path = state.settings.config.health_file();
  if (path.empty()) {
    return UsageError(absl::StrCat(state.config_path,
                                   ": health_file is not set, so the "
                                   "collector writes no health file"));
  }
  std::string message;
  const int code = CheckHealthFile(path, absl::Now(), absl::Seconds(15), &message);
  std::printf("%s\n", message.c_str());
  return code;
}

// --backup DIR: a verified copy of the store (collector/store/backup.h).
int BackupCommand(const CollectorState& state, const std::string& out_dir) {
  BackupOptions options;
  options.progress = [](absl::string_view line) { Log(line); };
  auto summary = BackupStore(state.settings.config.data_dir(), out_dir, options);
  if (!summary.ok()) {
    Log(absl::StrCat("backup into ", out_dir, " failed: ", summary.status().message()));
    return 1;
  }
  std::printf("%s\n", summary->Line(out_dir).c_str());
  return 0;
}

// Revocation, the server's credentials, the store, the audit of
// configuration changes, a first prune and the worker pool; an exit code when
// one fails.
std::optional<int> Open(CollectorState& state, HandshakeRefusals& refusals,
                        std::shared_ptr<grpc::ServerCredentials>& creds) {
  const auto& cfg = state.settings.config;
  state.revocation = std::make_unique<RevocationChecker>(cfg.tls().crl_file(), cfg.tls().ca_file(),
                                                         [&state] { return state.clock(); });
  if (state.revocation->enabled()) {
    if (absl::Status crl = state.revocation->Load(); !crl.ok()) {
      return UsageError(absl::StrCat(state.config_path, ": tls.crl_file: ", crl.message()));
    }
  }
  // Every certificate refused at the handshake is logged and audited (once
  // the store and the pool are open, before the server starts).
  auto made = MakeServerCredentials(
      cfg.tls(), [&refusals](const TlsRefusal& refusal) { refusals.Refused(refusal); });
  if (!made.ok()) return UsageError(absl::StrCat(state.config_path, ": ", made.status().message()));
  creds = *std::move(made);
  auto store = Store::Open(cfg.data_dir());
  if (!store.ok()) {
    Log(absl::StrCat("cannot open the store: ", store.status().ToString()));
    return 1;
  }
  state.store = std::move(*store);
  state.store->SetAuditedTransitionsPerHour(cfg.max_audited_transitions_per_hour());
  if (absl::Status audited = AuditConfigChanges(state); !audited.ok()) {
    Log(absl::StrCat("cannot audit configuration changes: ", audited.message()));
    return 1;
  }
  if (auto upheld = UpholdExceptionRules(state, state.clock(), Log); !upheld.ok()) {
    Log(absl::StrCat("cannot apply the waiver and sign-off limits: ", upheld.status().message()));
    return 1;
  }
  PruneHistory(state);
  state.pool = std::make_unique<WorkerPool>(static_cast<int>(cfg.worker_threads()));
  return std::nullopt;
}

// A CRL past its nextUpdate refuses everybody: say so at start and daily
// from a week before (preflightctl status says it too).
void WarnAboutCrl(const CollectorState& state) {
  std::string warning = CrlWarning(state.CrlStateNow());
  if (!warning.empty()) Log(absl::StrCat("WARNING: ", warning));
}

// One gRPC server and its services. gRPC cannot restart a server, so a
// listener that stopped accepting is replaced by a new Served on the same
// port.
struct Served {
  std::unique_ptr<IngestService> ingest;
  std::unique_ptr<QueryService> query;
  std::unique_ptr<grpc::Server> server;
  int port = 0;

  // On `listen` (host:port, port 0 picks one).
  static std::optional<Served> Start(CollectorState& state,
                                     std::shared_ptr<grpc::ServerCredentials> creds,
                                     const std::string& listen) {
    const auto& cfg = state.settings.config;
    Served s;
    s.ingest = std::make_unique<IngestService>(state);
    s.query = std::make_unique<QueryService>(state, s.ingest.get());
    grpc::ServerBuilder builder;
    builder.AddListeningPort(listen, creds, &s.port);
    builder.RegisterCallbackGenericService(s.ingest.get());
    builder.RegisterService(s.query.get());
    builder.SetMaxReceiveMessageSize(static_cast<int>(cfg.max_report_bytes()));
    // Idle sockets hold descriptors: a handshake has a deadline, a
    // connection without calls is closed, a silent peer is pinged and
    // dropped. Agents ping every 60 s (proto/wire/tls.cc).
    builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                               static_cast<int>(cfg.handshake_timeout_seconds()) * 1000);
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                               static_cast<int>(cfg.max_connection_idle_seconds()) * 1000);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                               static_cast<int>(cfg.keepalive_seconds()) * 1000);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 30'000);
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 16);
    // Per-connection buffers, the same as the load bench's do-nothing server.
    AddTransportArguments(builder);
    s.server = builder.BuildAndStart();
    if (s.server == nullptr || s.port == 0) return std::nullopt;
    return s;
  }

  void Stop() {
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server->Wait();
  }

  // grpc.health.v1: "" and the ingest service follow `health`; queries
  // (reads) stay served.
  void SetHealth(const Health& health) {
    grpc::HealthCheckServiceInterface* service = server->GetHealthCheckService();
    if (service == nullptr) return;
    service->SetServingStatus(health.ok());
    service->SetServingStatus("preflight.v1.Ingest", health.ok());
    service->SetServingStatus("preflight.v1.Query", true);
  }
};

// What the TLS files hold, to audit what a reload changed: SHA-256 of each
// file's contents (the CRL's path too: a CRL re-signed is a change).
std::map<std::string, std::string> TlsFingerprints(const v1::TlsFiles& tls) {
  std::map<std::string, std::string> out;
  auto add = [&](const char* field, const std::string& path) {
    if (path.empty()) return;
    auto bytes = ReadFileToString(path);
    std::string digest = "unreadable";
    if (bytes.ok()) {
      digest = HexOf(Sha256(*bytes).substr(0, 8));
    }
    out[field] = absl::StrCat(path, " sha256 ", digest);
  };
  add("tls.cert_file", tls.cert_file());
  add("tls.key_file", tls.key_file());
  add("tls.ca_file", tls.ca_file());
  add("tls.crl_file", tls.crl_file());
  return out;
}

// The configuration's own settings (limits, paths), one per line, without
// the inventory and policy (audited host by host and line by line).
std::vector<std::string> ConfigLines(v1::CollectorConfig config) {
  config.clear_inventory();
  config.clear_policy();
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  printer.PrintToString(config, &text);
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// "- old; + new" for the lines of `was` and `is` that differ.
std::string LineChanges(const std::vector<std::string>& was, const std::vector<std::string>& is) {
  std::vector<std::string> out;
  for (const std::string& l : was) {
    if (std::find(is.begin(), is.end(), l) == is.end()) out.push_back("- " + l);
  }
  for (const std::string& l : is) {
    if (std::find(was.begin(), was.end(), l) == was.end()) out.push_back("+ " + l);
  }
  return absl::StrJoin(out, "; ");
}

// SIGHUP: loads the configuration file (and the inventory, policy and TLS
// files it names) again. Anything that does not load or validate refuses the
// whole reload; the running configuration is kept, and the refusal logged
// and audited. Otherwise the server is rebuilt with it on the same port
// (gRPC cannot swap a running server's credentials or services; open streams
// end and agents reconnect at once, delivering from their spools), the
// ingest pool drained and restarted, and every change audited: hosts added,
// removed or changed, policy lines, configuration lines and TLS files.
// `tls_loaded`: TlsFingerprints of the files in force, updated.
void Reload(CollectorState& state, HandshakeRefusals& refusals,
            std::shared_ptr<grpc::ServerCredentials>& creds, std::optional<Served>& served,
            const std::string& bound, std::map<std::string, std::string>& tls_loaded) {
  Log(absl::StrCat("SIGHUP: reloading ", state.config_path));
  auto refuse = [&](absl::string_view why) {
    Log(absl::StrCat("reload refused, the running configuration is kept: ", why));
    absl::Status audited = state.store->Audit(
        {"collector", "reload-refused", state.config_path, std::string(why)}, state.clock());
    if (!audited.ok()) Log(absl::StrCat("cannot audit the refused reload: ", audited.message()));
  };
  auto loaded = LoadCollectorSettings(state.config_path);
  if (!loaded.ok()) return refuse(loaded.status().message());
  const v1::CollectorConfig& was = state.settings.config;
  const v1::CollectorConfig& is = loaded->config;
  if (is.listen() != was.listen() || is.data_dir() != was.data_dir()) {
    return refuse(absl::StrCat("listen (", was.listen(), " -> ", is.listen(), ") and data_dir (",
                               was.data_dir(), " -> ", is.data_dir(),
                               ") change only with a restart"));
  }
  auto revocation = std::make_unique<RevocationChecker>(is.tls().crl_file(), is.tls().ca_file(),
                                                        [&state] { return state.clock(); });
  if (revocation->enabled()) {
    if (absl::Status crl = revocation->Load(); !crl.ok()) {
      return refuse(absl::StrCat(state.config_path, ": tls.crl_file: ", crl.message()));
    }
  }
  // Read before the files are: a change made meanwhile shows at the next reload.
  std::map<std::string, std::string> tls_now = TlsFingerprints(is.tls());
  auto made = MakeServerCredentials(
      is.tls(), [&refusals](const TlsRefusal& refusal) { refusals.Refused(refusal); });
  if (!made.ok()) return refuse(absl::StrCat(state.config_path, ": ", made.status().message()));

  const std::map<std::string, std::string> tls_was = std::move(tls_loaded);
  tls_loaded = tls_now;
  const std::vector<std::string> config_was = ConfigLines(was);
  served->Stop();
  served.reset();
  state.pool.reset();  // runs the reports in hand with the old settings
  state.settings = *std::move(loaded);
  state.IndexHosts();
  state.revocation = std::move(revocation);
  creds = *std::move(made);
  const auto& cfg = state.settings.config;
  state.store->SetAuditedTransitionsPerHour(cfg.max_audited_transitions_per_hour());
  state.pool = std::make_unique<WorkerPool>(static_cast<int>(cfg.worker_threads()));
  served = Served::Start(state, creds, bound);
  if (!served.has_value()) {
    // The port was ours a moment ago; if it is gone, a restart is the way.
    Log(absl::StrCat("cannot listen on ", bound, " after the reload; exiting (status 1)"));
    std::exit(1);
  }
  served->ingest->EnforceRevocation();

  std::vector<std::string> changes;
  if (std::string c = LineChanges(config_was, ConfigLines(cfg)); !c.empty()) {
    changes.push_back(absl::StrCat("configuration: ", c));
  }
  for (const auto& [field, now] : tls_now) {
    auto before = tls_was.find(field);
    if (before == tls_was.end() || before->second != now) {
      changes.push_back(absl::StrCat(
          field, ": ", before == tls_was.end() ? "(none)" : before->second, " -> ", now));
    }
  }
  if (absl::Status audited = AuditConfigChanges(state); !audited.ok()) {
    Log(absl::StrCat("cannot audit inventory and policy changes: ", audited.message()));
  }
  // A policy with a lower max_waiver_days or max_signoff_days cuts what runs
  // longer from today.
  if (auto upheld = UpholdExceptionRules(state, state.clock(), Log); !upheld.ok()) {
    Log(absl::StrCat("cannot apply the waiver and sign-off limits: ", upheld.status().message()));
  }
  const std::string detail =
      changes.empty() ? "no configuration or TLS file changed" : absl::StrJoin(changes, "; ");
  absl::Status audited =
      state.store->Audit({"collector", "reload", state.config_path, detail}, state.clock());
  if (!audited.ok()) Log(absl::StrCat("cannot audit the reload: ", audited.message()));
  Log(absl::StrCat("reloaded ", state.config_path, ": ", state.settings.inventory.hosts_size(),
                   " inventory hosts; ", detail));
}

// The event file (events_file; ecs_file.h) on a thread of its own, or null
// when not configured. After a reload: the new path and inventory, started
// or stopped as the configuration now says.
void UpdateEventFile(const CollectorState& state, std::unique_ptr<EcsEventFile>& file) {
  const std::string& path = state.settings.config.events_file();
  absl::flat_hash_map<std::string, v1::InventoryHost> hosts;
  for (const v1::InventoryHost& h : state.settings.inventory.hosts()) hosts[h.id()] = h;
  if (path.empty()) {
    file.reset();
  } else if (file != nullptr) {
    file->Reconfigure(path, std::move(hosts));
  } else {
    char name[256] = {};
    (void)gethostname(name, sizeof(name) - 1);
    EcsContext context{.collector = state.settings.config.trust_domain(),
                       .observer = name,
                       .registry = &state.registry,
                       .hosts = std::move(hosts)};
    file = std::make_unique<EcsEventFile>(*state.store, path, std::move(context), state.clock,
                                          [](absl::string_view line) { Log(line); });
    file->Start();
    Log(absl::StrCat("events: ECS JSON lines to ", path));
  }
}

// The notifier's thread (collector/notify) with the settings in force, or
// null when no channel is configured. Its channels are audited when they
// change. A notifications block it refuses is logged and audited, and
// notifications stay off until a reload or restart brings a valid one.
std::unique_ptr<notify::Notifier> StartNotifier(CollectorState& state) {
  const v1::Notifications& config = state.settings.config.notifications();
  if (absl::Status valid = notify::Notifier::Validate(config); !valid.ok()) {
    Log(absl::StrCat("notifications are OFF: ", state.config_path, ": ", valid.message()));
    (void)state.store->Audit(
        {"collector", "notifications-refused", state.config_path, std::string(valid.message())},
        state.clock());
    return nullptr;
  }
  notify::NotifierOptions options;
  options.clock = state.clock;
  options.log = [](absl::string_view line) { Log(line); };
  const auto& gating = state.settings.policy.gating_environments();
  options.gating_environments = {gating.begin(), gating.end()};
  options.config_path = state.config_path;
  auto notifier = std::make_unique<notify::Notifier>(state.store.get(), config, options);
  if (absl::Status audited = notifier->AuditConfiguration(); !audited.ok()) {
    Log(absl::StrCat("cannot audit the notification channels: ", audited.message()));
  }
  if (!notify::Notifier::Enabled(config)) return nullptr;
  notifier->Start();
  return notifier;
}

// Serves until SIGTERM or SIGINT, reloading on SIGHUP, pruning history hourly, looking for a
// changed CRL every `crl_poll` (ending the streams it revokes), warning about
// the CRL's nextUpdate daily, and every 2 s: storage recovery, health (log,
// health service, health file) and the listener (rebuilt on the same port
// once descriptors are free if gRPC gave it up).
int Serve(CollectorState& state, HandshakeRefusals& refusals,
          std::shared_ptr<grpc::ServerCredentials> creds, const std::string& port_file,
          const sigset_t& stop, absl::Duration crl_poll) {
  const auto& cfg = state.settings.config;
  grpc::EnableDefaultHealthCheckService(true);
  InstallGrpcLogHook();
  // What the TLS files held when they were loaded (just now, in Open), for
  // the audit of what a reload changes.
  std::map<std::string, std::string> tls_loaded = TlsFingerprints(cfg.tls());
  std::optional<Served> served = Served::Start(state, creds, cfg.listen());
  if (!served.has_value()) {
    Log(absl::StrCat("cannot listen on ", cfg.listen()));
    return 1;
  }
  const std::string host_part = cfg.listen().substr(0, cfg.listen().rfind(':'));
  const std::string bound = absl::StrCat(host_part, ":", served->port);
  Log(absl::StrCat("listening on ", bound, " (trust domain ", cfg.trust_domain(), ", ",
                   state.settings.inventory.hosts_size(), " inventory hosts, store ",
                   cfg.data_dir(), ")"));
  if (!port_file.empty()) {
    std::ofstream(port_file) << served->port << "\n";
  }
  served->ingest->EnforceRevocation();
  WarnAboutCrl(state);
  absl::Time next_prune = absl::Now() + absl::Hours(1);
  absl::Time next_crl_warning = absl::Now() + absl::Hours(24);
  absl::Time next_health = absl::Now();
  // Free heap pages go back to the system every minute: after a refresh of
  // the whole fleet the reports' memory would otherwise stay with the
  // process (collector/service/heap.h).
  absl::Time next_heap_release = absl::Now() + absl::Minutes(1);
  std::unique_ptr<notify::Notifier> notifier = StartNotifier(state);
  std::unique_ptr<EcsEventFile> event_file;
  UpdateEventFile(state, event_file);
  absl::Time next_event_watch = absl::Now();
  std::string listener_problem;  // "" while the listener accepts
  std::string last_health = "ok";
  bool health_file_ok = true;
  int sig = -1;
  int exit_code = 0;
  while (sig < 0) {
    absl::Time wake = std::min({next_prune, next_crl_warning, next_health, next_heap_release});
    if (crl_poll > absl::ZeroDuration()) wake = std::min(wake, absl::Now() + crl_poll);
    wake = std::min(wake, absl::Now() + Store::kRecoveryInterval);
    struct timespec wait = absl::ToTimespec(std::max(wake - absl::Now(), absl::Milliseconds(1)));
    sig = sigtimedwait(&stop, nullptr, &wait);
    const int wait_errno = errno;  // what runs below may change errno
    if (sig == SIGHUP) {
      Reload(state, refusals, creds, served, bound, tls_loaded);
      notifier.reset();  // finishes the send in hand
      notifier = StartNotifier(state);
      UpdateEventFile(state, event_file);
      sig = -1;
      continue;
    }
    if (sig < 0 && wait_errno == EAGAIN) {
      if (crl_poll > absl::ZeroDuration()) served->ingest->EnforceRevocation();
      // A storage error (full disk) clears here once its cause is gone.
      if (absl::Status store = state.store->TryRecover(); !store.ok()) {
        Log(absl::StrCat(store.message(), "; exiting (status 1) for a restart"));
        exit_code = 1;
        sig = 0;
      }
      if (std::optional<std::string> failed = TakeListenerFailure(); failed.has_value()) {
        listener_problem =
            absl::StrCat("gRPC stopped accepting connections on ", bound, " (", *failed, ")");
        const int open = OpenDescriptors();
        Log(absl::StrCat(listener_problem, "; ",
                         open >= 0 ? absl::StrCat(open) : "all (none free to count them)", " of ",
                         DescriptorLimit(),
                         " descriptors open; the server is rebuilt once 1/8 are free"));
      }
      if (!listener_problem.empty()) {
        const int open = OpenDescriptors(), limit = DescriptorLimit();
        if (open >= 0 && limit > 0 && open < limit - limit / 8) {
          Log(absl::StrCat("rebuilding the server on ", bound, " (", open, " of ", limit,
                           " descriptors open); open streams end and agents reconnect"));
          served->Stop();
          served.reset();
          served = Served::Start(state, creds, bound);
          if (!served.has_value()) {
            Log(absl::StrCat("cannot listen on ", bound,
                             " again; exiting (status 1) for a "
                             "restart"));
            return 1;
          }
          (void)state.store->Audit({"collector", "listener-rebuilt", bound,
                                    absl::StrCat("after: ", listener_problem, "; ", open, " of ",
                                                 limit, " descriptors open at the rebuild")},
                                   state.clock());
          listener_problem.clear();
          Log(absl::StrCat("listening on ", bound, " again"));
        }
      }
      if (absl::Now() >= next_health) {
        const Health health = CheckHealth(state, listener_problem);
        served->SetHealth(health);
        if (health.Summary() != last_health) {
          Log(absl::StrCat("health: ", health.Summary()));
          last_health = health.Summary();
        }
        if (!cfg.health_file().empty()) {
          // Logged once until it works again (no descriptor, full /run).
          absl::Status w = WriteHealthFile(cfg.health_file(), health, absl::Now());
          if (!w.ok() && health_file_ok) Log(absl::StrCat("health file: ", w.message()));
          health_file_ok = w.ok();
        }
        next_health = absl::Now() + absl::Seconds(2);
      }
      if (absl::Now() >= next_event_watch && state.store->Health().ok()) {
        // Stale hosts, the fleet verdict, what expires: into the event log.
        const absl::Time watch_start = absl::Now();
        auto watched = WatchForEvents(state, state.clock());
        if (!watched.ok()) Log(absl::StrCat("event watch: ", watched.status().message()));
        // It runs on this thread (signals, health, prune wait for it): a
        // slow one is said, with the fleet's size, so it can be measured.
        if (const absl::Duration took = absl::Now() - watch_start; took >= absl::Seconds(1)) {
          Log(absl::StrCat("event watch took ",
                           absl::FormatDuration(absl::Trunc(took, absl::Milliseconds(1))), " over ",
                           state.settings.inventory.hosts_size(), " inventory hosts"));
        }
        next_event_watch = absl::Now() + kEventWatchInterval;
      }
      if (absl::Now() >= next_prune) {
        PruneHistory(state);
        next_prune = absl::Now() + absl::Hours(1);
      }
      if (absl::Now() >= next_heap_release) {
        ReleaseFreeHeap();
        next_heap_release = absl::Now() + absl::Minutes(1);
      }
      if (absl::Now() >= next_crl_warning) {
        WarnAboutCrl(state);
        next_crl_warning = absl::Now() + absl::Hours(24);
      }
    }
    if (sig < 0 && wait_errno != EAGAIN && wait_errno != EINTR) sig = 0;
  }
  if (exit_code == 0) Log(absl::StrCat("signal ", sig, ", shutting down"));
  served->Stop();
  served.reset();
  state.pool.reset();
  event_file.reset();
  notifier.reset();
  state.store.reset();
  return exit_code;
}

}  // namespace
}  // namespace preflight::collector

int main(int argc, char** argv) {
  using namespace preflight::collector;
  // First: gRPC reads its experiments once, and setenv wants no other thread.
  const std::string grpc_experiments = preflight::BoundTcpReadBuffers();
  const sigset_t stop = BlockStopSignals();
  preflight::flags::Parsed flags;
  if (auto exit = preflight::flags::ParseOrExit(Program(), argc, argv, &flags)) return *exit;
  CollectorState state;
  if (auto exit = Configure(flags, state)) return *exit;
  if (flags.Bool("check-config")) {
    // A running collector keeps collecting with notifications off when
    // their block is wrong (StartNotifier); a check says so up front.
    if (absl::Status valid = notify::Notifier::Validate(state.settings.config.notifications());
        !valid.ok()) {
      return UsageError(absl::StrCat(state.config_path, ": notifications: ", valid.message()));
    }
    return PrintSummary(state);
  }
  if (flags.Bool("health")) return CheckHealthCommand(state);
  if (flags.Has("backup")) return BackupCommand(state, flags.String("backup"));
  Log(RaiseDescriptorLimit());
  Log(absl::StrCat("heap allocator: ", HeapAllocator()));
  Log(absl::StrCat("GRPC_EXPERIMENTS=", grpc_experiments,
                   " (with tcp_read_chunks off, TCP is read in chunks of at most 4 KB)"));
  std::shared_ptr<grpc::ServerCredentials> creds;
  HandshakeRefusals refusals(state);
  if (auto exit = Open(state, refusals, creds)) return *exit;
  const int64_t crl_poll_ms = flags.Has("test-crl-poll-ms") ? flags.Int("test-crl-poll-ms") : 2000;
  return Serve(state, refusals, creds, flags.String("port-file"), stop,
               absl::Milliseconds(crl_poll_ms));
}
