#include "tests/support/golden.h"

#include <fcntl.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "agent/facts/fact_collector.h"
#include "agent/host/rooted_host_env.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"

namespace preflight::testing {
namespace {

// Fixed time for golden output: 2026-01-01T00:00:00Z.
constexpr int64_t kFixedMs = 1767225600000;

void Normalize(v1::FactReport& r) {
  r.set_collected_at_unix_ms(kFixedMs);
  r.set_root("<fixture>");
  r.set_agent_instance("00000000000000000000000000000000");
  r.set_sequence(1);
  // Every fact kind's Collection: durations vary from run to run.
  const google::protobuf::Reflection* refl = r.GetReflection();
  const google::protobuf::Descriptor* desc = r.GetDescriptor();
  for (int i = 0; i < desc->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = desc->field(i);
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    google::protobuf::Message* fact = refl->MutableMessage(&r, f);
    const google::protobuf::FieldDescriptor* c =
        fact->GetDescriptor()->FindFieldByName("collection");
    if (c == nullptr) continue;
    auto* collection = static_cast<v1::Collection*>(fact->GetReflection()->MutableMessage(fact, c));
    collection->set_duration_us(0);
  }
  // Ownership, modes and times depend on the checkout, not on the fixture.
  for (v1::HistoryFile& f : *r.mutable_shell_history()->mutable_files()) {
    f.set_uid(0);
    f.set_mtime_unix(0);
  }
  for (v1::LogFile& f : *r.mutable_logrotate()->mutable_logs()) f.set_mtime_unix(0);
  for (v1::BackupEntry& e : *r.mutable_backups()->mutable_entries()) e.set_mtime_unix(0);
  r.mutable_backups()->mutable_restore_log()->set_mtime_unix(0);
  for (v1::KeyFile& f : *r.mutable_authorized_keys()->mutable_files()) {
    f.set_uid(0);
    f.set_mode(0);
    f.clear_problems();
  }
}

// The fixture's real path appears in some messages; golden files must not
// depend on where the checkout lives.
template <typename Message>
void ReplaceRoot(Message& m, const std::string& root) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(m, &text);
  if (text.find(root) == std::string::npos) return;
  text = absl::StrReplaceAll(text, {{root, "<fixture>"}});
  m.Clear();
  google::protobuf::TextFormat::ParseFromString(text, &m);
}

}  // namespace

v1::InventoryHost FixtureHost(const std::string& name) {
  v1::InventoryHost h;
  h.set_id(name);
  if (absl::StartsWith(name, "backup")) {
    h.set_environment("backup");
    h.add_roles("backup");
  } else if (absl::StartsWith(name, "staging")) {
    h.set_environment("staging");
    h.add_roles("manager");
  } else if (absl::StrContains(name, "worker")) {
    h.set_environment("production");
    h.add_roles("worker");
  } else {
    h.set_environment("production");
    h.add_roles("manager");
  }
  return h;
}

v1::Policy FixturePolicy() {
  v1::Policy p;
  p.set_go_live_date("2025-12-15");
  p.set_latest_release("v1.9.0");
  // The name the fixture managers serve, with the fixture's private CA
  // trusted (tests/fixtures/tls/README.md).
  p.add_tls_hostnames("opencrvs.example.gov");
  p.set_tls_trust_private_ca(true);
  return p;
}

std::string FixtureCaFile() { return std::string(PREFLIGHT_FIXTURES) + "/tls/fixture-ca.pem"; }

namespace {

// Sets the file times tests/fixtures/mtimes.txt lists for fixture `name`.
void SetFixtureMtimes(const std::string& name) {
  std::ifstream in(std::string(PREFLIGHT_FIXTURES) + "/mtimes.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(' ', 2));
    if (parts.size() != 3 || parts[0] != name) continue;
    absl::Time when;
    std::string error;
    if (!absl::ParseTime("%Y-%m-%d %H:%M:%S", parts[2], absl::UTCTimeZone(), &when, &error)) {
      ADD_FAILURE() << "mtimes.txt: bad time in: " << line << " (" << error << ")";
      continue;
    }
    std::string path = std::string(PREFLIGHT_FIXTURES) + "/hosts/" + name + parts[1];
    struct timespec times[2] = {absl::ToTimespec(when), absl::ToTimespec(when)};
    if (utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      ADD_FAILURE() << "mtimes.txt: cannot set the time of " << path;
    }
  }
}

}  // namespace

GoldenScenario RunScenario(const std::string& name, const v1::Policy& policy) {
  // git keeps no file times; the fixture's times that matter are listed.
  SetFixtureMtimes(name);
  v1::Policy effective = FixturePolicy();
  // A test's own hostnames replace the fixture's (MergeFrom would append).
  if (policy.tls_hostnames_size() > 0) effective.clear_tls_hostnames();
  effective.MergeFrom(policy);
  GoldenScenario s;
  s.host = FixtureHost(name);
  auto env = agent::RootedHostEnv::Create(std::string(PREFLIGHT_FIXTURES) + "/hosts/" + name);
  if (!env.ok()) return s;
  auto collectors = agent::BuiltinCollectors();
  // As the agent collects once the collector's welcome named the policy's
  // hostnames, with the fixture CA configured.
  // A fixture may carry the agent settings it is read with
  // (.preflight/agent.textproto, an AgentConfig: e.g. the application
  // sources, off by default).
  v1::AgentConfig agent_config;
  const std::string agent_file =
      std::string(PREFLIGHT_FIXTURES) + "/hosts/" + name + "/.preflight/agent.textproto";
  if (std::ifstream in(agent_file); in) {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!google::protobuf::TextFormat::ParseFromString(text, &agent_config)) {
      ADD_FAILURE() << agent_file << " is not an AgentConfig";
    }
  }
  agent::CollectOptions options = agent::CollectOptionsFrom(agent_config);
  options.tls_hostnames.assign(effective.tls_hostnames().begin(), effective.tls_hostnames().end());
  options.tls_ca_file = FixtureCaFile();
  s.facts = agent::CollectReport(**env, options, collectors);
  Normalize(s.facts);
  ReplaceRoot(s.facts, (*env)->root());
  collector::CheckRegistry registry;
  collector::RegisterBuiltinChecks(registry);
  s.verdicts = collector::Evaluate(registry, s.host, collector::WithPolicyDefaults(effective),
                                   s.facts, absl::FromUnixMillis(kFixedMs));
  return s;
}

std::string EvidenceText(const v1::Verdict& verdict) {
  std::string out;
  for (const v1::Evidence& e : verdict.evidence()) {
    absl::StrAppend(&out, e.message(), " @ ", e.source(), "\n");
  }
  return out;
}

v1::Verdict VerdictOf(const GoldenScenario& scenario, const std::string& check) {
  for (const v1::Verdict& v : scenario.verdicts.verdicts()) {
    if (v.check_id() == check) return v;
  }
  return v1::Verdict();
}

}  // namespace preflight::testing
