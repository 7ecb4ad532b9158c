// Fail closed on reads: a path that exists but cannot be read (permission
// denied, not a regular file, an I/O error, over the size cap) never reads as
// "nothing there". One test per fact kind: a fixture host is collected
// through a HostEnv that injects the error on the path that kind reads, and
// the real check registry must say UNKNOWN naming the path and the error,
// where the same host read cleanly is judged (PASS, WARN or FAIL). Then the
// privileges the agent lacked: judged by capability, and turned into UNKNOWN
// by the collector, never into PASS.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "agent/facts/fact_collector.h"
#include "agent/facts/privileges.h"
#include "agent/host/rooted_host_env.h"
#include "collector/checks/check.h"
#include "collector/cli/render.h"
#include "collector/readiness/engine.h"
#include "tests/support/golden.h"

namespace preflight {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The fixture tree, read as the agent reads it, except that every operation
// on a faulted path (a file, a directory, or a command's argv[0]) fails with
// the given status.
class FaultyEnv : public agent::HostEnv {
 public:
  FaultyEnv(std::unique_ptr<agent::HostEnv> inner, std::map<std::string, absl::Status> faults)
      : inner_(std::move(inner)), faults_(std::move(faults)) {}

  absl::StatusOr<agent::FileData> ReadFile(absl::string_view path, size_t max_bytes) override {
    if (auto f = Fault(path)) return *f;
    return inner_->ReadFile(path, max_bytes);
  }
  absl::StatusOr<agent::FileInfo> Stat(absl::string_view path) override {
    if (auto f = Fault(path)) return *f;
    return inner_->Stat(path);
  }
  absl::StatusOr<std::string> ReadLink(absl::string_view path) override {
    if (auto f = Fault(path)) return *f;
    return inner_->ReadLink(path);
  }
  absl::StatusOr<std::vector<agent::DirEntry>> ListDir(absl::string_view path) override {
    if (auto f = Fault(path)) return *f;
    return inner_->ListDir(path);
  }
  absl::StatusOr<agent::FsStats> StatFs(absl::string_view path) override {
    if (auto f = Fault(path)) return *f;
    return inner_->StatFs(path);
  }
  absl::StatusOr<agent::CommandResult> Run(const std::vector<std::string>& argv,
                                           absl::Duration timeout) override {
    if (!argv.empty()) {
      if (auto f = Fault(argv[0])) return *f;
    }
    return inner_->Run(argv, timeout);
  }
  absl::StatusOr<std::vector<std::string>> ProbeTls(const std::string& address,
                                                    const std::string& sni,
                                                    absl::Duration timeout) override {
    return inner_->ProbeTls(address, sni, timeout);
  }
  bool live() const override { return inner_->live(); }
  const std::string& root() const override { return inner_->root(); }

 private:
  std::optional<absl::Status> Fault(absl::string_view path) const {
    auto it = faults_.find(std::string(path));
    if (it == faults_.end()) return std::nullopt;
    return it->second;
  }

  std::unique_ptr<agent::HostEnv> inner_;
  std::map<std::string, absl::Status> faults_;
};

absl::Status Eacces(absl::string_view path) {
  return absl::PermissionDeniedError(absl::StrCat("open ", path, ": Permission denied"));
}
absl::Status Eio(absl::string_view path) {
  return absl::InternalError(absl::StrCat("read ", path, ": Input/output error"));
}
absl::Status NotRegular(absl::string_view path) {
  return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
}
absl::Status OverCap(absl::string_view path) {
  return absl::ResourceExhaustedError(absl::StrCat(path, " is over the cap of 4194304 bytes"));
}

// A fixture host collected and judged as the golden tests do: cleanly, and
// through FaultyEnv with `faults`.
struct Judged {
  testing::GoldenScenario clean;
  v1::FactReport faulted_facts;
  v1::HostVerdicts faulted;
};

v1::HostVerdicts Judge(const testing::GoldenScenario& clean, const v1::FactReport& facts) {
  collector::CheckRegistry registry;
  collector::RegisterBuiltinChecks(registry);
  v1::Policy policy = testing::FixturePolicy();
  return collector::Evaluate(registry, clean.host, collector::WithPolicyDefaults(policy), facts,
                             absl::FromUnixMillis(clean.verdicts.evaluated_at_unix_ms()));
}

Judged CollectWithFaults(const std::string& fixture, std::map<std::string, absl::Status> faults) {
  Judged j;
  j.clean = testing::RunScenario(fixture);
  auto rooted = agent::RootedHostEnv::Create(std::string(PREFLIGHT_FIXTURES) + "/hosts/" + fixture);
  EXPECT_TRUE(rooted.ok()) << rooted.status();
  if (!rooted.ok()) return j;
  FaultyEnv env(std::move(*rooted), std::move(faults));
  auto collectors = agent::BuiltinCollectors();
  j.faulted_facts = agent::CollectReport(env, agent::CollectOptions(), collectors);
  j.faulted_facts.set_collected_at_unix_ms(j.clean.facts.collected_at_unix_ms());
  j.faulted = Judge(j.clean, j.faulted_facts);
  return j;
}

v1::Verdict Find(const v1::HostVerdicts& verdicts, const std::string& check) {
  for (const v1::Verdict& v : verdicts.verdicts()) {
    if (v.check_id() == check) return v;
  }
  ADD_FAILURE() << "no verdict for " << check;
  return v1::Verdict();
}

struct Case {
  std::string kind;  // the fact kind whose read fails
  std::string fixture;
  std::map<std::string, absl::Status> faults;
  std::vector<std::string> checks;  // judged when read cleanly, UNKNOWN when not
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.kind << " on " << c.fixture; }

std::vector<Case> Cases() {
  const std::string tcp = "/proc/net/tcp";
  const std::string dropin = "/etc/ssh/sshd_config.d/50-cloud-init.conf";
  return {
      // Today a /proc/net/tcp that cannot be read drops its listeners: the
      // exposed port disappears and FAIL turns into PASS.
      {"sockets", "firewall-inactive", {{tcp, Eacces(tcp)}}, {"firewall.public_exposure"}},
      // The vendor's keys sit in files the agent cannot read: not "removed".
      {"authorized_keys",
       "removed-user",
       {{"/home/provision/.ssh/authorized_keys", Eacces("/home/provision/.ssh/authorized_keys")},
        {"/home/carol/.ssh/authorized_keys", Eacces("/home/carol/.ssh/authorized_keys")}},
       {"ssh.vendor_access_removed", "ssh.weak_keys"}},
      // cloud-init's drop-in (0600 on real hosts) turns passwords on.
      {"sshd",
       "cloud-init-password",
       {{dropin, Eacces(dropin)}},
       {"ssh.password_auth_disabled", "ssh.root_login_disabled", "ssh.2fa_enabled"}},
      {"accounts",
       "opencrvs-manager",
       {{"/etc/shadow", Eacces("/etc/shadow")}},
       {"ssh.password_auth_disabled", "ssh.2fa_enabled", "ssh.vendor_access_removed"}},
      {"firewall", "nftables-only", {{"nft", Eio("nft")}}, {"firewall.public_exposure"}},
      {"disks", "opencrvs-manager", {{"/data", Eio("/data")}}, {"disk.headroom"}},
      {"logrotate",
       "opencrvs-manager",
       {{"/etc/logrotate.d", Eacces("/etc/logrotate.d")}},
       {"logs.rotation", "alert.ssh_login"}},
      {"shell_history",
       "opencrvs-manager",
       {{"/root/.bash_history", OverCap("/root/.bash_history")}},
       {"shell.history_cleared"}},
      {"backups",
       "opencrvs-manager",
       {{"/var/spool/cron/crontabs/root", Eio("/var/spool/cron/crontabs/root")}},
       {"backup.recent"}},
      // A certificate store that is not a regular file: not "no store".
      {"tls",
       "opencrvs-manager",
       {{"/data/traefik/acme.json", NotRegular("/data/traefik/acme.json")}},
       {"tls.certificate_valid"}},
      {"release", "opencrvs-manager", {{"docker", Eacces("docker")}}, {"release.latest"}},
      {"time",
       "opencrvs-manager",
       {{"timedatectl", Eacces("timedatectl")}, {"chronyc", Eacces("chronyc")}},
       {"time.synchronized"}},
  };
}

class ReadErrorTest : public ::testing::TestWithParam<Case> {};

TEST_P(ReadErrorTest, TheFactCarriesItAndItsChecksAreUnknownNamingIt) {
  const Case& c = GetParam();
  Judged j = CollectWithFaults(c.fixture, c.faults);
  ASSERT_TRUE(j.clean.facts.has_accounts()) << "fixture " << c.fixture << " not collected";
  for (const std::string& check : c.checks) {
    SCOPED_TRACE(check);
    const v1::Verdict clean = Find(j.clean.verdicts, check);
    // Read cleanly, the host is judged: the UNKNOWN below is the fault's.
    EXPECT_NE(clean.status(), v1::UNKNOWN) << testing::EvidenceText(clean);
    EXPECT_NE(clean.status(), v1::CHECK_STATUS_UNSPECIFIED);
    const v1::Verdict v = Find(j.faulted, check);
    EXPECT_EQ(v.status(), v1::UNKNOWN) << testing::EvidenceText(v);
    // Named: the first faulted path and its error (the status code, or for
    // a command the error it gave).
    const auto& [path, status] = *c.faults.begin();
    EXPECT_THAT(testing::EvidenceText(v), HasSubstr(path));
    EXPECT_THAT(testing::EvidenceText(v), HasSubstr(std::string(status.message())));
  }
}

TEST_P(ReadErrorTest, TheErrorIsOnTheFactsCollection) {
  const Case& c = GetParam();
  Judged j = CollectWithFaults(c.fixture, c.faults);
  const google::protobuf::Descriptor* d = v1::FactReport::descriptor();
  const google::protobuf::FieldDescriptor* field = d->FindFieldByName(c.kind);
  ASSERT_NE(field, nullptr) << c.kind;
  const auto& fact = j.faulted_facts.GetReflection()->GetMessage(j.faulted_facts, field);
  const auto& collection = static_cast<const v1::Collection&>(
      fact.GetReflection()->GetMessage(fact, fact.GetDescriptor()->FindFieldByName("collection")));
  std::string all;
  for (const v1::ReadError& e : collection.unreadable()) {
    absl::StrAppend(&all, e.path(), " ", e.error(), "\n");
  }
  all += collection.error();
  const auto& [path, status] = *c.faults.begin();
  EXPECT_THAT(all, HasSubstr(path));
  EXPECT_THAT(all, HasSubstr(std::string(status.message())));
  // Read cleanly, nothing is unreadable.
  const auto& clean_fact = j.clean.facts.GetReflection()->GetMessage(j.clean.facts, field);
  const auto& clean_collection =
      static_cast<const v1::Collection&>(clean_fact.GetReflection()->GetMessage(
          clean_fact, clean_fact.GetDescriptor()->FindFieldByName("collection")));
  EXPECT_EQ(clean_collection.unreadable_size(), 0);
}

INSTANTIATE_TEST_SUITE_P(PerFactKind, ReadErrorTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.kind;
                         });

TEST(ReadErrorTest, NotFoundIsNotAReadError) {
  v1::Collection c;
  EXPECT_FALSE(
      agent::NoteUnreadable(c, "/etc/x", absl::NotFoundError("open /etc/x: No such file")));
  EXPECT_FALSE(agent::NoteUnreadable(c, "/etc/x", absl::OkStatus()));
  EXPECT_EQ(c.unreadable_size(), 0);
  EXPECT_TRUE(agent::NoteUnreadable(c, "/etc/x", Eacces("/etc/x")));
  EXPECT_TRUE(agent::NoteUnreadable(c, "/etc/x", Eacces("/etc/x")));  // once per path
  ASSERT_EQ(c.unreadable_size(), 1);
  EXPECT_EQ(c.unreadable(0).error(), "PERMISSION_DENIED: open /etc/x: Permission denied");
}

// ---------------------------------------------------------------------------
// Privileges: by capability, not by uid.

uint64_t Caps(std::initializer_list<int> caps) {
  uint64_t m = 0;
  for (int c : caps) m |= uint64_t{1} << c;
  return m;
}

std::vector<std::string> Missing(const v1::CollectionPrivileges& p) {
  std::vector<std::string> out;
  for (const v1::MissingPrivilege& m : p.missing()) {
    out.push_back(absl::StrCat(m.fact(), " ", m.capability()));
  }
  return out;
}

TEST(PrivilegesTest, RootWithoutCapabilitiesLacksThemAndAUserWithThemDoesNot) {
  const v1::CollectionPrivileges root_dropped = agent::JudgePrivileges(0, 0, true, false);
  EXPECT_THAT(Missing(root_dropped), ::testing::Contains("authorized_keys CAP_DAC_READ_SEARCH"));
  EXPECT_THAT(Missing(root_dropped), ::testing::Contains("firewall CAP_NET_ADMIN"));
  const uint64_t granted = Caps(
      {agent::kCapDacReadSearch, agent::kCapNetAdmin, agent::kCapNetRaw, agent::kCapSysPtrace});
  const v1::CollectionPrivileges dedicated = agent::JudgePrivileges(granted, 998, true, false);
  EXPECT_TRUE(dedicated.missing().empty()) << dedicated.DebugString();
  EXPECT_THAT(dedicated.effective(), ::testing::Contains("CAP_DAC_READ_SEARCH"));
  // CAP_DAC_OVERRIDE reads any file too.
  EXPECT_THAT(Missing(agent::JudgePrivileges(Caps({agent::kCapDacOverride}), 998, false, false)),
              ::testing::IsEmpty());
}

TEST(PrivilegesTest, AnImageNeedsOnlyToReadFiles) {
  const v1::CollectionPrivileges p =
      agent::JudgePrivileges(Caps({agent::kCapDacReadSearch}), 998, /*live=*/false, true);
  EXPECT_TRUE(p.missing().empty()) << p.DebugString();
  const v1::CollectionPrivileges live =
      agent::JudgePrivileges(Caps({agent::kCapDacReadSearch}), 998, /*live=*/true, true);
  EXPECT_THAT(Missing(live), ::testing::Contains("firewall CAP_NET_ADMIN"));
  EXPECT_THAT(Missing(live), ::testing::Contains("release CAP_DAC_OVERRIDE"));
}

TEST(PrivilegesTest, ThisProcessIsJudgedFromProcSelfStatus) {
  absl::StatusOr<uint64_t> caps = agent::EffectiveCapabilities();
  ASSERT_TRUE(caps.ok()) << caps.status();
  auto env = agent::RootedHostEnv::Create("/");
  ASSERT_TRUE(env.ok());
  const v1::CollectionPrivileges p = agent::CurrentPrivileges(**env);
  EXPECT_TRUE(p.checked());
  EXPECT_EQ(p.euid(), geteuid());
  EXPECT_EQ(agent::CanReadAnyFile(*caps), std::find(Missing(p).begin(), Missing(p).end(),
                                                    "tls CAP_DAC_READ_SEARCH") == Missing(p).end());
}

TEST(PrivilegesTest, WarningNamesWhatWillBeUnknown) {
  const std::vector<std::string> lines =
      agent::PrivilegeWarning(agent::JudgePrivileges(0, 1000, true, false));
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines[0], HasSubstr("WITHOUT the privileges"));
  EXPECT_THAT(lines[0], HasSubstr("authorized_keys"));
  EXPECT_TRUE(
      agent::PrivilegeWarning(agent::JudgePrivileges(~uint64_t{0}, 0, true, false)).empty());
}

// A report marked as collected without a capability: the checks on that
// kind are UNKNOWN naming it, even though every file the agent did read
// looks clean; the host view says so.
TEST(PrivilegesTest, MissingCapabilityMakesItsChecksUnknownAndIsShown) {
  testing::GoldenScenario clean = testing::RunScenario("opencrvs-manager");
  ASSERT_EQ(Find(clean.verdicts, "ssh.vendor_access_removed").status(), v1::PASS);
  v1::FactReport facts = clean.facts;
  *facts.mutable_privileges() = agent::JudgePrivileges(0, 1000, false, false);
  v1::HostVerdicts judged = Judge(clean, facts);
  const v1::Verdict v = Find(judged, "ssh.vendor_access_removed");
  EXPECT_EQ(v.status(), v1::UNKNOWN);
  EXPECT_THAT(testing::EvidenceText(v), HasSubstr("agent lacked CAP_DAC_READ_SEARCH"));
  // Kinds that need no capability are judged as before.
  EXPECT_EQ(Find(judged, "disk.headroom").status(), Find(clean.verdicts, "disk.headroom").status());
  EXPECT_THAT(judged.collected_without(),
              ::testing::Contains(HasSubstr("authorized_keys: lacks CAP_DAC_READ_SEARCH")));
  // Evidence-only needs (socket owners) make nothing UNKNOWN.
  v1::FactReport sockets_only = clean.facts;
  v1::MissingPrivilege* m = sockets_only.mutable_privileges()->add_missing();
  m->set_fact("sockets");
  m->set_capability("CAP_SYS_PTRACE");
  m->set_evidence_only(true);
  EXPECT_EQ(Find(Judge(clean, sockets_only), "firewall.public_exposure").status(),
            Find(clean.verdicts, "firewall.public_exposure").status());

  collector::CheckRegistry registry;
  collector::RegisterBuiltinChecks(registry);
  v1::HostStatus status =
      collector::BuildHostStatus(registry, clean.host, testing::FixturePolicy(), judged,
                                 absl::FromUnixMillis(judged.evaluated_at_unix_ms()), {});
  const std::string table =
      cli::HostTable(status, absl::FromUnixMillis(judged.evaluated_at_unix_ms()));
  EXPECT_THAT(table, HasSubstr("COLLECTED WITHOUT PRIVILEGES"));
  EXPECT_THAT(table, HasSubstr("authorized_keys: lacks CAP_DAC_READ_SEARCH"));
  EXPECT_THAT(cli::HostJson(status), HasSubstr("collected_without"));
  // A report with every capability shows no such line.
  v1::HostStatus fine =
      collector::BuildHostStatus(registry, clean.host, testing::FixturePolicy(), clean.verdicts,
                                 absl::FromUnixMillis(judged.evaluated_at_unix_ms()), {});
  EXPECT_THAT(cli::HostTable(fine, absl::FromUnixMillis(judged.evaluated_at_unix_ms())),
              Not(HasSubstr("COLLECTED WITHOUT")));
}

}  // namespace
}  // namespace preflight
