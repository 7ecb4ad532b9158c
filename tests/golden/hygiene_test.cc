// Host hygiene (checklist items 8 and 17): disks and shell history.
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/facts/disks.h"
#include "agent/facts/shell_history.h"
#include "collector/readiness/engine.h"
#include "tests/support/golden.h"

namespace preflight::testing {
namespace {

using collector::StatusName;

TEST(Disks, MountTableKeepsRealFilesystemsOnly) {
  std::vector<agent::MountEntry> m = agent::ParseMounts(
      "proc /proc proc rw 0 0\n/dev/vda1 / ext4 rw 0 0\ntmpfs /run tmpfs rw 0 0\n"
      "/dev/mapper/cryptfs /data ext4 rw 0 0\n/dev/sdb1 /mnt/my\\040disk xfs rw 0 0\n"
      "overlay /var/lib/docker/overlay2/x/merged overlay rw 0 0\n/dev/vda1 / ext4 ro 0 0\n");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].mount_point, "/");
  EXPECT_EQ(m[0].line, 7u);  // the last mount of a point wins
  EXPECT_EQ(m[1].device, "/dev/mapper/cryptfs");
  EXPECT_EQ(m[2].mount_point, "/mnt/my disk");
}

TEST(Disks, HeadroomThresholds) {
  v1::Verdict healthy = VerdictOf(RunScenario("opencrvs-manager"), "disk.headroom");
  EXPECT_EQ(StatusName(healthy.status()), "PASS") << EvidenceText(healthy);
  v1::Verdict full = VerdictOf(RunScenario("history-secrets"), "disk.headroom");
  EXPECT_EQ(StatusName(full.status()), "FAIL");
  EXPECT_TRUE(
      absl::StrContains(EvidenceText(full), "/data (/dev/mapper/cryptfs, ext4) is 79% used"))
      << EvidenceText(full);
  EXPECT_TRUE(absl::StrContains(EvidenceText(full), "the root filesystem needs 20 GiB free"))
      << EvidenceText(full);
  // Thresholds come from the policy.
  v1::Policy loose;
  loose.set_disk_warn_percent(85);
  loose.set_disk_fail_percent(95);
  loose.set_root_min_free_gib(10);
  EXPECT_EQ(StatusName(VerdictOf(RunScenario("history-secrets", loose), "disk.headroom").status()),
            "PASS");
}

TEST(History, SecretsAreCountedAndNamedNeverSent) {
  GoldenScenario s = RunScenario("history-secrets");
  v1::Verdict v = VerdictOf(s, "shell.history_cleared");
  EXPECT_EQ(StatusName(v.status()), "FAIL");
  std::string all = EvidenceText(v);
  EXPECT_TRUE(absl::StrContains(all,
                                "account alice: 7 command line(s); secret-looking: 1 "
                                "passphrase-argument (line 10); 3 secret-assignment "
                                "(lines 4, 6, 8); 1 url-credentials (line 12)"))
      << all;
  EXPECT_TRUE(absl::StrContains(all, "/home/bob/.hist_custom")) << all;  // HISTFILE honoured
  EXPECT_TRUE(absl::StrContains(all, "left in the home of removed account carol")) << all;
  std::string wire;
  ASSERT_TRUE(s.facts.SerializeToString(&wire));
  ASSERT_TRUE(s.verdicts.AppendToString(&wire));
  EXPECT_FALSE(absl::StrContains(wire, "HistSecret"));
}

TEST(History, CleanHostsPassAndNonGatingHostsAreNotApplicable) {
  EXPECT_EQ(
      StatusName(VerdictOf(RunScenario("opencrvs-manager"), "shell.history_cleared").status()),
      "PASS");
  v1::Policy only_staging;
  only_staging.add_gating_environments("staging");
  v1::Verdict v = VerdictOf(RunScenario("history-secrets", only_staging), "shell.history_cleared");
  EXPECT_EQ(StatusName(v.status()), "NOT_APPLICABLE");
  EXPECT_TRUE(absl::StrContains(EvidenceText(v), "this host is production")) << EvidenceText(v);
}

TEST(History, SecretPatterns) {
  EXPECT_EQ(agent::SecretPatternsIn("export MINIO_ROOT_PASSWORD=x"),
            std::vector<std::string>{"secret-assignment"});
  EXPECT_EQ(agent::SecretPatternsIn("git clone https://u:p@host/x"),
            std::vector<std::string>{"url-credentials"});
  EXPECT_TRUE(agent::SecretPatternsIn("ls -la /etc").empty());
  EXPECT_TRUE(agent::SecretPatternsIn("echo PASSWORD= is empty").empty());
  v1::HistoryFile f;
  agent::ScanHistory("#1700000000\nls\n\n#1700000001\nexport A_TOKEN=1\n", f);
  EXPECT_EQ(f.lines(), 2u);
  ASSERT_EQ(f.secrets_size(), 1);
  EXPECT_EQ(f.secrets(0).lines(0), 5u);
  EXPECT_EQ(agent::HistfileOverrides("export HISTFILE=~/.h\nHISTFILE=/dev/null\n", "/home/a"),
            std::vector<std::string>{"/home/a/.h"});
}

}  // namespace
}  // namespace preflight::testing
