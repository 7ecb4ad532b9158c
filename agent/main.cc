// preflight-agent: gathers this host's facts and streams them to the
// collector. It never judges; it reports.
#include <google/protobuf/util/json_util.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "agent/client/agent_loop.h"
#include "agent/facts/fact_collector.h"
#include "agent/facts/privileges.h"
#include "agent/host/rooted_host_env.h"
#include "agent/spool/spool.h"
#include "preflight/v1/config.pb.h"
#include "proto/wire/flags.h"
#include "proto/wire/textproto.h"
#include "proto/wire/tls.h"

namespace preflight::agent {
namespace {

using flags::Kind;

const flags::Program& Program() {
  static const flags::Program* program = new flags::Program{
      .name = "preflight-agent",
      .summary =
          "Gathers this host's readiness facts and streams them to the preflight collector "
          "over mutual TLS. Reports are spooled on disk first and removed only when the "
          "collector acknowledges them.",
      .flags =
          {
              {.name = "config",
               .value_name = "FILE",
               .help = "agent configuration (protobuf text format, schema "
                       "preflight.v1.AgentConfig in proto/preflight/v1/config.proto; example: "
                       "deploy/agent.textproto)",
               .unless = "dry-run"},
              {.name = "once",
               .kind = Kind::kBool,
               .help = "collect one report, deliver everything spooled, wait for the acks, exit "
                       "0 (exit 1 if not acked within ack_timeout_seconds)",
               .excludes = "dry-run"},
              {.name = "dry-run",
               .kind = Kind::kBool,
               .help = "collect one report and print it as JSON on stdout; nothing is sent or "
                       "spooled (--config is optional)"},
              {.name = "root",
               .value_name = "DIR",
               .help = "read the host from DIR instead of / (an image, a mounted disk, a test "
                       "fixture); overrides the config's root"},
          },
      .notes =
          "Without --once or --dry-run the agent runs until SIGTERM/SIGINT, collecting "
          "every interval_seconds and whenever the collector asks.\n\n"
          "exit codes: 0 ok, 1 not delivered, 2 usage or config error"};
  return *program;
}

int UsageError(absl::string_view message) { return flags::UsageError(Program(), message); }

std::atomic<AgentLoop*> g_loop{nullptr};

// Blocks SIGTERM and SIGINT before any other thread starts, so every thread
// inherits the mask and one thread waits for them: it stops the loop, or
// exits when there is none yet.
void StopOnSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    sigwait(&set, &sig);
    std::fprintf(stderr, "preflight-agent: signal %d, stopping\n", sig);
    if (AgentLoop* loop = g_loop.load()) {
      loop->Stop();
    } else {
      _exit(128 + sig);
    }
  }).detach();
}

void ApplyDefaults(v1::AgentConfig& c) {
  if (c.spool_dir().empty()) c.set_spool_dir("/var/lib/preflight-agent/spool");
  if (c.interval_seconds() == 0) c.set_interval_seconds(300);
  if (c.spool_max_reports() == 0) c.set_spool_max_reports(1000);
  if (c.spool_max_bytes() == 0) c.set_spool_max_bytes(64ull << 20);
  if (c.root().empty()) c.set_root("/");
  if (c.max_backoff_seconds() == 0) c.set_max_backoff_seconds(300);
  if (c.ack_timeout_seconds() == 0) c.set_ack_timeout_seconds(30);
  if (c.max_file_bytes() == 0) c.set_max_file_bytes(4 << 20);
  // Below the collector's default max_report_bytes (4 MiB).
  if (c.max_report_bytes() == 0) c.set_max_report_bytes(3 << 20);
}

// The configuration from --config (paths relative to its file), defaults
// applied, --root over its root.
absl::Status LoadConfig(const flags::Parsed& flags, v1::AgentConfig& config) {
  const std::string& path = flags.String("config");
  if (!path.empty()) {
    if (absl::Status s = LoadTextProtoFile(path, &config); !s.ok()) return s;
    for (std::string* p :
         {config.mutable_tls()->mutable_cert_file(), config.mutable_tls()->mutable_key_file(),
          config.mutable_tls()->mutable_ca_file(), config.mutable_spool_dir()}) {
      *p = ResolveRelativeTo(*p, path);
    }
  }
  ApplyDefaults(config);
  if (!flags.String("root").empty()) config.set_root(flags.String("root"));
  return absl::OkStatus();
}

// --dry-run: one report as JSON on stdout.
int PrintReport(const v1::AgentConfig& config, HostEnv& env) {
  auto collectors = BuiltinCollectors();
  v1::FactReport report = CollectReport(env, CollectOptionsFrom(config), collectors);
  *report.mutable_privileges() = CurrentPrivileges(env);
  report.set_host_id(config.host_id());
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  if (auto st = google::protobuf::util::MessageToJsonString(report, &json, options); !st.ok()) {
    std::fprintf(stderr, "preflight-agent: cannot print report: %s\n", st.ToString().c_str());
    return 1;
  }
  std::fwrite(json.data(), 1, json.size(), stdout);
  return 0;
}

// Collects into the spool and delivers: once (exit 1 unless every report is
// acked in time), or until a stop signal.
int Deliver(const v1::AgentConfig& config, const std::string& config_path, HostEnv& env,
            bool once) {
  if (config.collector().empty()) {
    return UsageError(absl::StrCat(config_path, ": 'collector' (host:port) is required"));
  }
  // gRPC's reconnect backoff (up to 120 s) would otherwise outlast the
  // agent's own: after a collector outage the agent would retry into a
  // channel that fails every call at once until gRPC's wait is over.
  auto channel =
      MakeChannel(config.collector(), config.tls(),
                  static_cast<int>(std::min<uint32_t>(config.max_backoff_seconds(), 3600) * 1000));
  if (!channel.ok()) return UsageError(absl::StrCat(config_path, ": ", channel.status().message()));
  Spool::Limits limits;
  limits.max_reports = config.spool_max_reports();
  limits.max_bytes = config.spool_max_bytes();
  limits.max_report_bytes = config.max_report_bytes();
  auto spool = Spool::Open(config.spool_dir(), limits);
  if (!spool.ok()) {
    std::fprintf(stderr, "preflight-agent: spool %s: %s\n", config.spool_dir().c_str(),
                 std::string(spool.status().message()).c_str());
    return 2;
  }
  AgentLoop loop(config, env, **spool, *channel);
  g_loop.store(&loop);
  if (!once) {
    loop.RunForever();
    return 0;
  }
  if (absl::Status s = loop.RunOnce(); !s.ok()) {
    std::fprintf(stderr, "preflight-agent: not delivered: %s\n", s.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "preflight-agent: every spooled report was acked\n");
  return 0;
}

}  // namespace
}  // namespace preflight::agent

int main(int argc, char** argv) {
  using namespace preflight::agent;
  StopOnSignals();
  preflight::flags::Parsed flags;
  if (std::optional<int> exit = preflight::flags::ParseOrExit(Program(), argc, argv, &flags))
    return *exit;
  preflight::v1::AgentConfig config;
  if (absl::Status s = LoadConfig(flags, config); !s.ok()) return UsageError(s.message());
  auto env = RootedHostEnv::Create(config.root());
  if (!env.ok()) return UsageError(env.status().message());
  // Loudly, before anything is collected: what this agent cannot see, and
  // so which checks will be UNKNOWN.
  for (const std::string& line : PrivilegeWarning(CurrentPrivileges(**env))) {
    std::fprintf(stderr, "preflight-agent: %s\n", line.c_str());
  }
  if (flags.Bool("dry-run")) return PrintReport(config, **env);
  return Deliver(config, flags.String("config"), **env, flags.Bool("once"));
}
