// preflight-agent: gathers this host's facts and streams them to the
// collector. It never judges; it reports.
#include <google/protobuf/util/json_util.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "agent/client/agent_loop.h"
#include "agent/facts/fact_collector.h"
#include "agent/host/rooted_host_env.h"
#include "agent/spool/spool.h"
#include "preflight/v1/config.pb.h"
#include "proto/wire/textproto.h"
#include "proto/wire/tls.h"

namespace {

constexpr char kUsage[] = R"(usage: preflight-agent --config FILE [--once] [--dry-run] [--root DIR]

Gathers this host's readiness facts and streams them to the preflight
collector over mutual TLS. Reports are spooled on disk first and removed only
when the collector acknowledges them.

  --config FILE  agent configuration (protobuf text format, schema
                 preflight.v1.AgentConfig in proto/preflight/v1/config.proto;
                 example: deploy/agent.textproto)
  --once         collect one report, deliver everything spooled, wait for the
                 acks, exit 0 (exit 1 if not acked within ack_timeout_seconds)
  --dry-run      collect one report and print it as JSON on stdout; nothing is
                 sent or spooled (--config is optional)
  --root DIR     read the host from DIR instead of / (an image, a mounted disk,
                 a test fixture); overrides the config's root
  --help         this text
  --version      print the version

Without --once or --dry-run the agent runs until SIGTERM/SIGINT, collecting
every interval_seconds and whenever the collector asks.

exit codes: 0 ok, 1 not delivered, 2 usage or config error
)";

std::atomic<preflight::agent::AgentLoop*> g_loop{nullptr};

int UsageError(const std::string& message) {
  std::fprintf(stderr, "preflight-agent: %s\n(see preflight-agent --help)\n", message.c_str());
  return 2;
}

void ApplyDefaults(preflight::v1::AgentConfig& c) {
  if (c.spool_dir().empty()) c.set_spool_dir("/var/lib/preflight-agent/spool");
  if (c.interval_seconds() == 0) c.set_interval_seconds(300);
  if (c.spool_max_reports() == 0) c.set_spool_max_reports(1000);
  if (c.spool_max_bytes() == 0) c.set_spool_max_bytes(64ull << 20);
  if (c.root().empty()) c.set_root("/");
  if (c.max_backoff_seconds() == 0) c.set_max_backoff_seconds(300);
  if (c.ack_timeout_seconds() == 0) c.set_ack_timeout_seconds(30);
  if (c.max_file_bytes() == 0) c.set_max_file_bytes(4 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts, so every thread
  // inherits the mask and sigwait() below is the only one to see them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    sigwait(&set, &sig);
    std::fprintf(stderr, "preflight-agent: signal %d, stopping\n", sig);
    if (auto* loop = g_loop.load()) {
      loop->Stop();
    } else {
      _exit(128 + sig);
    }
  }).detach();
  std::string config_path, root;
  bool once = false, dry_run = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)flag;
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      std::puts("preflight-agent 0.1.0");
      return 0;
    } else if (a == "--once") {
      once = true;
    } else if (a == "--dry-run") {
      dry_run = true;
    } else if (a == "--config" || a == "--root") {
      const char* v = value(a.c_str());
      if (v == nullptr) return UsageError(a + " needs a value");
      (a == "--config" ? config_path : root) = v;
    } else if (a.rfind("--config=", 0) == 0) {
      config_path = a.substr(9);
    } else if (a.rfind("--root=", 0) == 0) {
      root = a.substr(7);
    } else {
      return UsageError("unknown argument '" + a + "'");
    }
  }
  if (once && dry_run) return UsageError("--once and --dry-run exclude each other");
  if (config_path.empty() && !dry_run) return UsageError("--config FILE is required");

  preflight::v1::AgentConfig config;
  if (!config_path.empty()) {
    absl::Status s = preflight::LoadTextProtoFile(config_path, &config);
    if (!s.ok()) return UsageError(std::string(s.message()));
    auto resolve = [&](std::string* p) { *p = preflight::ResolveRelativeTo(*p, config_path); };
    resolve(config.mutable_tls()->mutable_cert_file());
    resolve(config.mutable_tls()->mutable_key_file());
    resolve(config.mutable_tls()->mutable_ca_file());
    resolve(config.mutable_spool_dir());
  }
  ApplyDefaults(config);
  if (!root.empty()) config.set_root(root);

  auto env = preflight::agent::RootedHostEnv::Create(config.root());
  if (!env.ok()) return UsageError(std::string(env.status().message()));

  if (dry_run) {
    preflight::agent::CollectOptions options = preflight::agent::CollectOptionsFrom(config);
    auto collectors = preflight::agent::BuiltinCollectors();
    preflight::v1::FactReport report = preflight::agent::CollectReport(**env, options, collectors);
    report.set_host_id(config.host_id());
    std::string json;
    google::protobuf::util::JsonPrintOptions jopts;
    jopts.add_whitespace = true;
    jopts.preserve_proto_field_names = true;
    auto st = google::protobuf::util::MessageToJsonString(report, &json, jopts);
    if (!st.ok()) {
      std::fprintf(stderr, "preflight-agent: cannot print report: %s\n", st.ToString().c_str());
      return 1;
    }
    std::fwrite(json.data(), 1, json.size(), stdout);
    return 0;
  }

  if (config.collector().empty()) {
    return UsageError(config_path + ": 'collector' (host:port) is required");
  }
  auto channel = preflight::MakeChannel(config.collector(), config.tls());
  if (!channel.ok()) return UsageError(absl::StrCat(config_path, ": ", channel.status().message()));
  preflight::agent::Spool::Limits limits;
  limits.max_reports = config.spool_max_reports();
  limits.max_bytes = config.spool_max_bytes();
  auto spool = preflight::agent::Spool::Open(config.spool_dir(), limits);
  if (!spool.ok()) {
    std::fprintf(stderr, "preflight-agent: spool %s: %s\n", config.spool_dir().c_str(),
                 std::string(spool.status().message()).c_str());
    return 2;
  }
  preflight::agent::AgentLoop loop(config, **env, **spool, *channel);
  g_loop.store(&loop);

  if (once) {
    absl::Status s = loop.RunOnce();
    if (!s.ok()) {
      std::fprintf(stderr, "preflight-agent: not delivered: %s\n", s.ToString().c_str());
      return 1;
    }
    std::fprintf(stderr, "preflight-agent: every spooled report was acked\n");
    return 0;
  }

  loop.RunForever();
  return 0;
}
