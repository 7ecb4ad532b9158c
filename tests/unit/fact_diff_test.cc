// Readable fact diffs (collector/diff), one test per fact kind, from real
// facts: the agent's collectors run on a copy of a fixture host root, the
// test changes host files the way an operator would, the collectors run
// again, and the two facts are rendered. What the test expects it computes
// from the files it wrote (line numbers, ports) or from the real tool
// (`ssh-keygen -lf` for fingerprints), never from the renderer.
#include "collector/diff/fact_diff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/facts/docker_services.h"
#include "agent/facts/fact_collector.h"
#include "agent/facts/tls_certs.h"
#include "agent/host/rooted_host_env.h"
#include "collector/store/fact_diff.h"
#include "preflight/v1/facts.pb.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight::collector {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using testing::CopyTree;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::ReadFile;
using testing::RunProcess;
using ::testing::StartsWith;
using testing::TempDir;
using testing::WriteFile;

class FactDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.Join("root");
    CopyTree(std::string(PREFLIGHT_FIXTURES) + "/hosts/opencrvs-manager", root_);
    before_ = Collect();
  }

  v1::FactReport Collect() {
    auto env = agent::RootedHostEnv::Create(root_);
    EXPECT_TRUE(env.ok()) << env.status();
    auto collectors = agent::BuiltinCollectors();
    return agent::CollectReport(**env, agent::CollectOptions(), collectors);
  }

  static std::string Content(const v1::FactReport& report, const std::string& kind) {
    const google::protobuf::FieldDescriptor* f =
        v1::FactReport::descriptor()->FindFieldByName(kind);
    return report.GetReflection()->GetMessage(report, f).SerializeAsString();
  }

  // Collects again and renders `kind` between the first collection and now.
  std::vector<std::string> Diff(const std::string& kind) {
    after_ = Collect();
    std::vector<std::string> lines =
        RenderFactDiff(kind, Content(before_, kind), Content(after_, kind));
    for (const std::string& l : lines) std::cout << "  " << l << "\n";
    return lines;
  }

  std::string Host(const std::string& path) const { return root_ + path; }
  std::string Read(const std::string& path) const { return ReadFile(Host(path)); }
  // Keeps the file's mode (authorized_keys are 0600; a mode change is a change).
  void Write(const std::string& path, const std::string& content) {
    struct stat st;
    const mode_t mode = ::stat(Host(path).c_str(), &st) == 0 ? st.st_mode & 07777 : 0644;
    WriteFile(Host(path), content, mode);
  }
  void Append(const std::string& path, const std::string& text) {
    std::string content = Read(path);
    if (!content.empty() && content.back() != '\n') content += "\n";
    Write(path, content + text);
  }
  // 1-based number of the first line of host file `path` that starts with
  // `prefix` (0 when none).
  uint32_t LineOf(const std::string& path, absl::string_view prefix) const {
    uint32_t n = 0;
    for (absl::string_view line : absl::StrSplit(Read(path), '\n')) {
      ++n;
      if (absl::StartsWith(line, prefix)) return n;
    }
    return 0;
  }
  uint32_t LineCount(const std::string& path) const {
    std::string content = Read(path);
    return static_cast<uint32_t>(std::count(content.begin(), content.end(), '\n'));
  }

  TempDir tmp_;
  std::string root_;
  v1::FactReport before_, after_;
};

// `ssh-keygen -lf FILE`: "256 SHA256:... comment words (ED25519)" ->
// {fingerprint, comment} ("no comment" when the key has none, as it prints).
std::pair<std::string, std::string> KeygenFingerprint(const std::string& file) {
  testing::RunResult r = RunProcess({"ssh-keygen", "-lf", file}, absl::Seconds(10));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> words = absl::StrSplit(absl::StripAsciiWhitespace(r.out), ' ');
  EXPECT_GE(words.size(), 4u) << r.out;
  if (words.size() < 4) return {};
  std::vector<std::string> comment(words.begin() + 2, words.end() - 1);
  return {words[1], absl::StrJoin(comment, " ")};
}

TEST_F(FactDiffTest, SshdDropInThatPermitsRootLoginNamesBothLines) {
  Write("/etc/ssh/sshd_config.d/99-debug.conf", "PermitRootLogin yes\n");
  std::vector<std::string> lines = Diff("sshd");
  // The premise: the agent finds the drop-in wins (Include comes first).
  bool premise = false;
  for (const auto& e : after_.sshd().effective()) {
    for (const auto& s : e.settings()) {
      if (e.user() == "root" && s.keyword() == "permitrootlogin") {
        premise = s.source() == "/etc/ssh/sshd_config.d/99-debug.conf:1";
      }
    }
  }
  ASSERT_TRUE(premise);
  const uint32_t was = LineOf("/etc/ssh/sshd_config", "PermitRootLogin no");
  ASSERT_GT(was, 0u);
  EXPECT_THAT(lines, Contains(absl::StrCat("PermitRootLogin for root: no (sshd_config:", was,
                                           ") → yes (sshd_config.d/99-debug.conf:1)")));
  EXPECT_THAT(lines, Contains("added: PermitRootLogin yes at sshd_config.d/99-debug.conf:1"));
  EXPECT_THAT(lines, Contains("added: file read: /etc/ssh/sshd_config.d/99-debug.conf"));
  // PermitRootLogin concerns root only; nothing else changed.
  EXPECT_EQ(lines.size(), 3u) << absl::StrJoin(lines, "\n");
}

TEST_F(FactDiffTest, SshdMatchBlockForOneUserChangesThatUserOnly) {
  const uint32_t global = LineOf("/etc/ssh/sshd_config", "PasswordAuthentication no");
  ASSERT_GT(global, 0u);
  Append("/etc/ssh/sshd_config", "Match User alice\n    PasswordAuthentication yes\n");
  const uint32_t match = LineCount("/etc/ssh/sshd_config") - 1;
  std::vector<std::string> lines = Diff("sshd");
  EXPECT_THAT(lines, Contains(absl::StrCat("PasswordAuthentication for alice: no (sshd_config:",
                                           global, ") → yes (sshd_config:", match + 1, ")")));
  EXPECT_THAT(lines, Contains(absl::StrCat("added: Match User alice at sshd_config:", match)));
  EXPECT_THAT(lines, Contains(absl::StrCat("added: PasswordAuthentication yes at sshd_config:",
                                           match + 1, " (Match User alice)")));
  for (const std::string& l : lines) {
    EXPECT_FALSE(absl::StrContains(l, " for root") || absl::StrContains(l, " for bob")) << l;
  }
}

TEST_F(FactDiffTest, SshdLinesThatOnlyMovedAreNoChange) {
  Write("/etc/ssh/sshd_config", "# managed by ansible\n\n" + Read("/etc/ssh/sshd_config"));
  std::vector<std::string> lines = Diff("sshd");
  // The content did change (every line number), and the text diff says so.
  ASSERT_NE(Content(before_, "sshd"), Content(after_, "sshd"));
  EXPECT_THAT(DiffFactContent("sshd", Content(before_, "sshd"), Content(after_, "sshd")),
              Contains(StartsWith("+ ")));
  EXPECT_THAT(lines, IsEmpty());
}

TEST_F(FactDiffTest, AuthorizedKeysAddedAndRemovedByFingerprint) {
  // A new key for alice, made by ssh-keygen now.
  const std::string key = tmp_.Join("vendor");
  testing::RunResult gen =
      RunProcess({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vendor@laptop", "-f", key},
                 absl::Seconds(30));
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  Append("/home/alice/.ssh/authorized_keys", ReadFile(key + ".pub"));
  const uint32_t added_line = LineCount("/home/alice/.ssh/authorized_keys");
  auto [added_fp, added_comment] = KeygenFingerprint(key + ".pub");
  // Bob's first key goes; the keys after it move up a line.
  const std::string bob = "/home/bob/.ssh/authorized_keys";
  std::vector<std::string> bob_lines = absl::StrSplit(Read(bob), '\n');
  size_t first = 0;
  while (first < bob_lines.size() &&
         (bob_lines[first].empty() || absl::StartsWith(bob_lines[first], "#"))) {
    ++first;
  }
  ASSERT_LT(first, bob_lines.size());
  WriteFile(tmp_.Join("bob_first.pub"), bob_lines[first] + "\n");
  auto [removed_fp, removed_comment] = KeygenFingerprint(tmp_.Join("bob_first.pub"));
  bob_lines.erase(bob_lines.begin() + static_cast<std::ptrdiff_t>(first));
  Write(bob, absl::StrJoin(bob_lines, "\n"));

  std::vector<std::string> lines = Diff("authorized_keys");
  EXPECT_THAT(lines, Contains(absl::StrCat("added key ", added_fp, " (", added_comment, ") to ",
                                           "/home/alice/.ssh/authorized_keys:", added_line)));
  EXPECT_THAT(lines, Contains(absl::StrCat("removed key ", removed_fp, " (", removed_comment,
                                           ") from ", bob, ":", first + 1)));
  EXPECT_EQ(added_comment, "vendor@laptop");
  // Bob's other keys only moved: no line for them.
  EXPECT_EQ(lines.size(), 2u) << absl::StrJoin(lines, "\n");
}

TEST_F(FactDiffTest, SocketsByProtocolAddressAndPort) {
  // /proc/net/tcp: a listener on 0.0.0.0:8080 (0x1F90) appears; the one on
  // 127.0.0.1:9200 (0100007F:23F0) goes.
  std::vector<std::string> rows = absl::StrSplit(Read("/proc/net/tcp"), '\n', absl::SkipEmpty());
  std::vector<std::string> kept;
  bool dropped = false;
  for (const std::string& row : rows) {
    if (absl::StrContains(row, " 0100007F:23F0 00000000:0000 0A ")) {
      dropped = true;
      continue;
    }
    kept.push_back(row);
  }
  ASSERT_TRUE(dropped);
  kept.push_back(
      "  90: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
      "49999 1 0000000000000000 100 0 0 10 0");
  Write("/proc/net/tcp", absl::StrJoin(kept, "\n") + "\n");
  std::vector<std::string> lines = Diff("sockets");
  EXPECT_THAT(lines, Contains(StartsWith("added: listening tcp 0.0.0.0:8080 (every interface)")));
  EXPECT_THAT(lines, Contains(StartsWith("removed: listening tcp 127.0.0.1:9200 (loopback only)")));
  EXPECT_EQ(lines.size(), 2u) << absl::StrJoin(lines, "\n");
}

TEST_F(FactDiffTest, FirewallRulesAndDockerPublishedPorts) {
  const std::string save = "/.preflight/commands/iptables-save";
  std::string text = Read(save);
  const std::string accept22 = "-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT\n";
  const std::string accept8080 = "-A ufw-user-input -p tcp -m tcp --dport 8080 -j ACCEPT\n";
  const std::string dnat =
      "-A DOCKER ! -i docker_gwbridge -p tcp -m tcp --dport 8080 -j DNAT --to-destination "
      "172.19.0.9:8080\n";
  ASSERT_NE(text.find(accept22), std::string::npos);
  text.insert(text.find(accept22) + accept22.size(), accept8080);
  const size_t docker_ingress = text.find("-A DOCKER-INGRESS -p tcp");
  ASSERT_NE(docker_ingress, std::string::npos);
  text.insert(docker_ingress, dnat);
  Write(save, text);
  std::vector<std::string> lines = Diff("firewall");
  auto has = [&](absl::string_view start, absl::string_view part) {
    for (const std::string& l : lines) {
      if (absl::StartsWith(l, start) && absl::StrContains(l, part)) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("added: rule iptables filter ufw-user-input: ", "--dport 8080 -j ACCEPT"));
  EXPECT_TRUE(has("added: rule iptables nat DOCKER: ", "--to-destination 172.19.0.9:8080"));
  EXPECT_TRUE(has("added: Docker publishes tcp port 8080 → 172.19.0.9:8080", "DOCKER"));
  // The rules after the new ones only moved down a line.
  EXPECT_EQ(lines.size(), 3u) << absl::StrJoin(lines, "\n");
}

TEST_F(FactDiffTest, AccountsGroupsAndSudoRules) {
  Append("/etc/passwd", "carol:x:1003:1003::/home/carol:/bin/bash\n");
  const uint32_t passwd_line = LineCount("/etc/passwd");
  const std::string hash = "$y$j9T$saltsaltsalt$hashhashhashhashhashhashhash";
  Append("/etc/shadow", "carol:" + hash + ":19000:0:99999:7:::\n");
  std::string group = Read("/etc/group");
  ASSERT_NE(group.find("sudo:x:27:\n"), std::string::npos);
  group.replace(group.find("sudo:x:27:\n"), 11, "sudo:x:27:carol\n");
  Write("/etc/group", group + "carol:x:1003:\n");
  Write("/etc/sudoers.d/carol", "carol ALL=(ALL) NOPASSWD: ALL\n");
  std::vector<std::string> lines = Diff("accounts");
  EXPECT_THAT(lines, Contains(AllOf(StartsWith("added: account carol (uid 1003, shell /bin/bash, "
                                               "password PASSWORD_SET"),
                                    HasSubstr(absl::StrCat("/etc/passwd:", passwd_line)))));
  EXPECT_THAT(lines, Contains(StartsWith("changed: group sudo members +carol")));
  EXPECT_THAT(lines, Contains(AllOf(StartsWith("added: sudo rule carol "), HasSubstr("NOPASSWD"),
                                    HasSubstr("/etc/sudoers.d/carol:1"))));
  for (const std::string& l : lines) EXPECT_FALSE(absl::StrContains(l, "saltsalt")) << l;
}

TEST_F(FactDiffTest, PamRuleRemovedFromTheStack) {
  const std::string line = "auth required pam_google_authenticator.so nullok";
  const uint32_t n = LineOf("/etc/pam.d/sshd", line);
  ASSERT_GT(n, 0u);
  std::string text = Read("/etc/pam.d/sshd");
  text.replace(text.find(line), line.size(), "# " + line);
  Write("/etc/pam.d/sshd", text);
  std::vector<std::string> lines = Diff("pam");
  EXPECT_THAT(lines, Contains(absl::StrCat("removed: ", line, " at /etc/pam.d/sshd:", n)));
  EXPECT_THAT(lines, Contains("changed: google_authenticator yes → no"));
}

TEST_F(FactDiffTest, DisksShowWholePercentsAndCountTheRest) {
  // .preflight/statfs: mount bsize blocks bfree bavail files ffree. "/" fills
  // by a tenth of its blocks; /data by one block.
  struct Fs {
    uint64_t bsize = 0, blocks = 0, bfree = 0, bavail = 0;
  };
  auto percent = [](const Fs& f) {  // as df: used / (used + available), rounded up
    const uint64_t used = (f.blocks - f.bfree) * f.bsize, avail = f.bavail * f.bsize;
    return (used * 100 + used + avail - 1) / (used + avail);
  };
  std::vector<std::string> rows =
      absl::StrSplit(Read("/.preflight/statfs"), '\n', absl::SkipEmpty());
  Fs root_before, root_after;
  bool data = false;
  for (std::string& row : rows) {
    std::vector<std::string> f = absl::StrSplit(row, ' ');
    ASSERT_EQ(f.size(), 7u) << row;
    Fs fs{std::stoull(f[1]), std::stoull(f[2]), std::stoull(f[3]), std::stoull(f[4])};
    const uint64_t take = f[0] == "/" ? fs.blocks / 10 : f[0] == "/data" ? 1 : 0;
    if (f[0] == "/") root_before = fs;
    data |= f[0] == "/data";
    fs.bfree -= take;
    fs.bavail -= take;
    if (f[0] == "/") root_after = fs;
    row = absl::StrJoin({f[0], std::to_string(fs.bsize), std::to_string(fs.blocks),
                         std::to_string(fs.bfree), std::to_string(fs.bavail), f[5], f[6]},
                        " ");
  }
  ASSERT_TRUE(data);
  ASSERT_NE(percent(root_before), percent(root_after));
  Write("/.preflight/statfs", absl::StrJoin(rows, "\n") + "\n");
  std::vector<std::string> lines = Diff("disks");
  EXPECT_THAT(lines,
              Contains(StartsWith(absl::StrCat("changed: filesystem /: used ", percent(root_before),
                                               "% → ", percent(root_after), "%"))));
  EXPECT_THAT(lines, Contains(StartsWith("changed: 1 filesystem used a little")));
  EXPECT_EQ(lines.size(), 2u) << absl::StrJoin(lines, "\n");
}

TEST_F(FactDiffTest, TlsCertificateReplacedWithItsNewExpiry) {
  // Two certificates for one name made by openssl now, described by the
  // agent's own reader as its collector does.
  auto make = [&](const std::string& name, int days) {
    const std::string cert = tmp_.Join(name + ".pem");
    testing::RunResult r = RunProcess(
        {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", tmp_.Join(name + ".key"), "-out", cert, "-days", std::to_string(days),
         "-subj", "/CN=example.org", "-addext", "subjectAltName=DNS:example.org"},
        absl::Seconds(30));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    testing::RunResult end =
        RunProcess({"openssl", "x509", "-noout", "-enddate", "-in", cert}, absl::Seconds(10));
    absl::Time t;
    std::string err;
    EXPECT_TRUE(absl::ParseTime("notAfter=%b %e %H:%M:%S %Y GMT",
                                std::string(absl::StripAsciiWhitespace(end.out)), &t, &err))
        << end.out << err;
    return std::make_pair(ReadFile(cert), t);
  };
  auto [old_pem, old_end] = make("old", 30);
  auto [new_pem, new_end] = make("new", 90);
  const std::string origin = "/data/traefik/certs/example.org.crt";
  v1::TlsFact a, b;
  *a.add_certificates() = agent::DescribeChain({old_pem}, origin, "", absl::Now());
  *b.add_certificates() = agent::DescribeChain({new_pem}, origin, "", absl::Now());
  auto day = [](absl::Time t) {
    return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone());
  };
  std::vector<std::string> lines =
      RenderFactDiff("tls", a.SerializeAsString(), b.SerializeAsString());
  ASSERT_EQ(lines.size(), 1u) << absl::StrJoin(lines, "\n");
  EXPECT_THAT(lines[0], StartsWith(absl::StrCat("changed: certificate for example.org from ",
                                                origin, ": replaced (serial ")));
  EXPECT_THAT(lines[0], HasSubstr(absl::StrCat("expires ", day(old_end), " → ", day(new_end))));
  // Removed from the store: one line naming it.
  lines = RenderFactDiff("tls", b.SerializeAsString(), v1::TlsFact().SerializeAsString());
  EXPECT_THAT(
      lines,
      Contains(StartsWith(absl::StrCat("removed: certificate for example.org from ", origin))));
}

TEST_F(FactDiffTest, ReleaseTimeAndHistory) {
  // A new release deployed, the clock no longer synchronised, and a root
  // shell history with three commands, one of them holding a password.
  const std::string ls =
      "/.preflight/commands/" + agent::RecordedCommandKey(agent::ServiceListArgv());
  std::string services = Read(ls);
  const std::string old_tag = "ocrvs-base:v1.9.0";
  ASSERT_NE(services.find(old_tag), std::string::npos);
  services.replace(services.find(old_tag), old_tag.size(), "ocrvs-base:v1.10.0");
  Write(ls, services);
  std::string time = Read("/.preflight/commands/timedatectl_show");
  ASSERT_NE(time.find("NTPSynchronized=yes"), std::string::npos);
  time.replace(time.find("NTPSynchronized=yes"), 19, "NTPSynchronized=no");
  Write("/.preflight/commands/timedatectl_show", time);
  WriteFile(Host("/root/.bash_history"), "ls\nmysql -u root -pHunter2secret\ndocker service ls\n",
            0600);

  std::vector<std::string> release = Diff("release");
  EXPECT_THAT(release, Contains(StartsWith("changed: version v1.9.0 → v1.10.0")));
  EXPECT_THAT(release, Contains(StartsWith("changed: image ghcr.io/opencrvs/ocrvs-base:v1.9.0 → "
                                           "ghcr.io/opencrvs/ocrvs-base:v1.10.0")));
  EXPECT_THAT(Diff("time"), Contains("changed: synchronized yes → no"));
  std::vector<std::string> history = Diff("shell_history");
  ASSERT_EQ(history.size(), 1u) << absl::StrJoin(history, "\n");
  EXPECT_THAT(history[0], StartsWith("added: history file /root/.bash_history of root (3 lines, "
                                     "secret-looking: "));
  EXPECT_FALSE(absl::StrContains(history[0], "Hunter2")) << history[0];
}

TEST_F(FactDiffTest, KindsWithoutRendererFallBackToTheTextDiff) {
  v1::BackupsFact a, b;
  a.set_backup_dir("/home/backup/backups");
  b.set_backup_dir("/data/backups");
  EXPECT_FALSE(HasFactRenderer("backups"));
  EXPECT_TRUE(HasFactRenderer("sshd"));
  EXPECT_EQ(RenderFactDiff("backups", a.SerializeAsString(), b.SerializeAsString()),
            DiffFactContent("backups", a.SerializeAsString(), b.SerializeAsString()));
  // Undecodable content falls back too.
  EXPECT_EQ(RenderFactDiff("sshd", "\xff\xff", ""), DiffFactContent("sshd", "\xff\xff", ""));
}

TEST_F(FactDiffTest, AtMostMaxLinesThenHowManyMore) {
  // The first report of a host: every key is added.
  const std::string keys = Content(before_, "authorized_keys");
  ASSERT_GE(before_.authorized_keys().keys_size(), 3);
  const std::vector<std::string> all = RenderFactDiff("authorized_keys", "", keys);
  ASSERT_GT(all.size(), 3u);
  EXPECT_THAT(all, Contains(StartsWith("added key ")));
  std::vector<std::string> lines = RenderFactDiff("authorized_keys", "", keys, 2);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], all[0]);
  EXPECT_EQ(lines[1], all[1]);
  EXPECT_EQ(lines[2], absl::StrCat("... ", all.size() - 2, " more"));
}

}  // namespace
}  // namespace preflight::collector
