// Host hygiene (checklist items 4, 5, 6, 8, 16, 17): disks, shell history,
// logs, backups and release.
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/facts/disks.h"
#include "agent/facts/release.h"
#include "agent/facts/shell_history.h"
#include "collector/checks/check.h"
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

// ---------------------------------------------------------------------------
// Logs (checklist item 5).

TEST(Logs, OpencrvsLogrotatePasses) {
  v1::Verdict v = VerdictOf(RunScenario("opencrvs-manager"), "logs.rotation");
  EXPECT_EQ(StatusName(v.status()), "PASS") << EvidenceText(v);
  EXPECT_TRUE(absl::StrContains(EvidenceText(v), "scheduled by logrotate.timer"))
      << EvidenceText(v);
  EXPECT_TRUE(absl::StrContains(EvidenceText(v), "journald SystemMaxUse: 1G")) << EvidenceText(v);
}

TEST(Logs, StockDebianConfigLeavesOpencrvsAndContainerLogsUnrotated) {
  v1::Verdict v = VerdictOf(RunScenario("stock-logrotate"), "logs.rotation");
  EXPECT_EQ(StatusName(v.status()), "FAIL");
  std::string all = EvidenceText(v);
  EXPECT_TRUE(absl::StrContains(all,
                                "/var/log/opencrvs-backup.log (500 bytes) is an OpenCRVS log "
                                "and no logrotate stanza covers it"))
      << all;
  EXPECT_TRUE(absl::StrContains(all, "/var/log/papertrail.log")) << all;
  EXPECT_TRUE(absl::StrContains(all, "1 of 1 Docker container log(s)")) << all;
  // The same stock file on a host without OpenCRVS is fine.
  EXPECT_EQ(StatusName(VerdictOf(RunScenario("unhardened-root"), "logs.rotation").status()),
            "PASS");
}

TEST(Logs, UnscheduledStaleAndLargeLogs) {
  v1::Policy small;
  small.set_log_max_bytes(4500);
  v1::Verdict v = VerdictOf(RunScenario("logrotate-unscheduled", small), "logs.rotation");
  EXPECT_EQ(StatusName(v.status()), "FAIL");
  std::string all = EvidenceText(v);
  // The timer was disabled; Debian's cron.daily/logrotate is present but exits
  // at once under systemd: it is no schedule, and the timer is named.
  EXPECT_TRUE(absl::StrContains(all,
                                "logrotate is not scheduled: logrotate.timer "
                                "(/lib/systemd/system/logrotate.timer) is disabled"))
      << all;
  EXPECT_TRUE(
      absl::StrContains(all, "/etc/cron.daily/logrotate exits at once because systemd is init"))
      << all;
  EXPECT_TRUE(absl::StrContains(all, "init: /sbin/init -> /lib/systemd/systemd")) << all;
  EXPECT_TRUE(absl::StrContains(all, "logrotate last ran 2025-12-20 06:25 UTC, over 48 hours ago"))
      << all;
  EXPECT_TRUE(absl::StrContains(all,
                                "/var/log/custom-app.log (4.9 KiB) is over the size limit "
                                "and no logrotate stanza covers it"))
      << all;
  EXPECT_TRUE(absl::StrContains(all, "/var/log/opencrvs-restore.log is 8.8 KiB, over 4.4 KiB"))
      << all;
  // A large but rotated log alone is a warning.
  v1::Policy tiny;
  tiny.set_log_max_bytes(3500);
  v1::Verdict warn = VerdictOf(RunScenario("opencrvs-manager", tiny), "logs.rotation");
  EXPECT_EQ(StatusName(warn.status()), "WARN") << EvidenceText(warn);
  EXPECT_TRUE(absl::StrContains(EvidenceText(warn), "/var/log/syslog is")) << EvidenceText(warn);
}

// Weekly stanzas rotate nothing on most days: the last run is when logrotate
// wrote its state file, not the newest rotation date inside it. A log whose
// state has not moved for more than twice its stanza's period grows without
// rotating.
TEST(Logs, WeeklyHostIsOnScheduleAndAStuckLogIsFlagged) {
  v1::Verdict v = VerdictOf(RunScenario("logrotate-weekly"), "logs.rotation");
  const std::string all = EvidenceText(v);
  EXPECT_EQ(StatusName(v.status()), "WARN") << all;
  EXPECT_FALSE(absl::StrContains(all, "last ran")) << all;
  EXPECT_FALSE(absl::StrContains(all, "not scheduled")) << all;
  EXPECT_TRUE(absl::StrContains(
      all,
      "/var/log/opencrvs-backup.log (500 bytes) grows without rotating: "
      "no rotated copy, logrotate's state records it last on "
      "2025-09-20 06:25 UTC though its stanza at /etc/logrotate.conf:25 says monthly"))
      << all;
  // The other logs, last rotated six days ago by weekly stanzas, are fine.
  EXPECT_FALSE(absl::StrContains(all, "/var/log/syslog (")) << all;
}

// Debian's cron.daily/logrotate counts where systemd is not init: then the
// timer being disabled does not matter.
TEST(Logs, GuardedCronCountsWithoutSystemd) {
  GoldenScenario s = RunScenario("logrotate-unscheduled");
  v1::FactReport facts = s.facts;
  ASSERT_EQ(facts.logrotate().init(), "systemd");
  ASSERT_TRUE(facts.logrotate().cron_daily_guarded());
  facts.mutable_logrotate()->set_init("other");
  facts.mutable_logrotate()->set_init_source("/sbin/init is sysvinit");
  collector::CheckRegistry registry;
  collector::RegisterBuiltinChecks(registry);
  v1::HostVerdicts verdicts =
      collector::Evaluate(registry, s.host, collector::WithPolicyDefaults(FixturePolicy()), facts,
                          absl::FromUnixSeconds(1767225600));
  v1::Verdict v;
  for (const v1::Verdict& x : verdicts.verdicts()) {
    if (x.check_id() == "logs.rotation") v = x;
  }
  EXPECT_FALSE(absl::StrContains(EvidenceText(v), "not scheduled")) << EvidenceText(v);
}

TEST(Logs, BackupServerRotateBackupsLogIsNotCovered) {
  v1::Verdict v = VerdictOf(RunScenario("backup-server"), "logs.rotation");
  EXPECT_EQ(StatusName(v.status()), "FAIL");
  EXPECT_TRUE(absl::StrContains(EvidenceText(v), "/var/log/opencrvs-rotate-backups.log"))
      << EvidenceText(v);
}

// ---------------------------------------------------------------------------
// Backups (checklist items 16 and 4, backup.recent).

TEST(Backups, TestAndLabelledBackupsOnTheBackupServer) {
  v1::Verdict v = VerdictOf(RunScenario("backup-server"), "backup.test_backups_deleted");
  EXPECT_EQ(StatusName(v.status()), "FAIL");
  std::string all = EvidenceText(v);
  EXPECT_TRUE(absl::StrContains(all,
                                "backup 2025-11-30 (1 file(s), 4096 bytes) predates go-live "
                                "2025-12-15: a test backup @ "
                                "/home/backup/backups/2025-11-30"))
      << all;
  EXPECT_TRUE(absl::StrContains(all, "labelled backup directory before-upgrade-v1.8")) << all;
  EXPECT_TRUE(absl::StrContains(all, "10 dated backups, more than the 7")) << all;
  EXPECT_TRUE(absl::StrContains(all,
                                "provisioning artefacts, not test backups: "
                                "downloaded_from_backup.txt, test_connection.txt"))
      << all;
  EXPECT_FALSE(absl::StrContains(all, "unexpected file")) << all;
}

TEST(Backups, CleanBackupServerPassesAndGoLiveIsNeeded) {
  v1::Verdict v = VerdictOf(RunScenario("backup-clean"), "backup.test_backups_deleted");
  EXPECT_EQ(StatusName(v.status()), "PASS") << EvidenceText(v);
  v1::Policy bad;
  bad.set_go_live_date("15/12/2025");
  v1::Verdict unknown = VerdictOf(RunScenario("backup-clean", bad), "backup.test_backups_deleted");
  EXPECT_EQ(StatusName(unknown.status()), "UNKNOWN");
  EXPECT_TRUE(absl::StrContains(EvidenceText(unknown), "is not YYYY-MM-DD"))
      << EvidenceText(unknown);
  // Not a backup server: nothing to judge.
  EXPECT_EQ(StatusName(
                VerdictOf(RunScenario("opencrvs-manager"), "backup.test_backups_deleted").status()),
            "NOT_APPLICABLE");
}

TEST(Backups, RecentBackupAndNightlyJob) {
  v1::Verdict fresh = VerdictOf(RunScenario("backup-clean"), "backup.recent");
  EXPECT_EQ(StatusName(fresh.status()), "PASS") << EvidenceText(fresh);
  EXPECT_TRUE(absl::StrContains(EvidenceText(fresh), "newest backup 2025-12-31"))
      << EvidenceText(fresh);
  v1::Policy strict;
  strict.set_backup_max_age_hours(12);
  EXPECT_EQ(StatusName(VerdictOf(RunScenario("backup-clean", strict), "backup.recent").status()),
            "FAIL");
  // Production's manager: the nightly job, its passphrase masked.
  v1::Verdict job = VerdictOf(RunScenario("opencrvs-manager"), "backup.recent");
  EXPECT_EQ(StatusName(job.status()), "PASS") << EvidenceText(job);
  EXPECT_TRUE(absl::StrContains(EvidenceText(job), "/root/backup.sh --passphrase=****"))
      << EvidenceText(job);
  EXPECT_TRUE(absl::StrContains(EvidenceText(job), "@ /var/spool/cron/crontabs/root:2"))
      << EvidenceText(job);
  v1::Verdict missing = VerdictOf(RunScenario("unhardened-root"), "backup.recent");
  EXPECT_EQ(StatusName(missing.status()), "FAIL");
  EXPECT_TRUE(absl::StrContains(EvidenceText(missing), "no nightly backup job"))
      << EvidenceText(missing);
}

TEST(Backups, RestoreEvidenceOnStaging) {
  GoldenScenario s = RunScenario("staging-restore");
  v1::Verdict v = VerdictOf(s, "backup.restore_verified");
  EXPECT_EQ(StatusName(v.status()), "WARN") << EvidenceText(v);
  std::string all = EvidenceText(v);
  EXPECT_TRUE(absl::StrContains(all, "download job '30 0 * * *'")) << all;
  EXPECT_TRUE(absl::StrContains(all, "restore job '0 1 * * *'")) << all;
  EXPECT_TRUE(absl::StrContains(all,
                                "last restore logged 2025-12-31 01:04 UTC; 1 error line(s) "
                                "(lines 5)"))
      << all;
  EXPECT_TRUE(absl::StrContains(all, "mongodb://admin:****@mongo1")) << all;
  // Production hosts have no restore job to show.
  EXPECT_EQ(
      StatusName(VerdictOf(RunScenario("opencrvs-manager"), "backup.restore_verified").status()),
      "NOT_APPLICABLE");
}

TEST(Backups, PassphrasesNeverLeaveTheHost) {
  for (const char* name : {"opencrvs-manager", "staging-restore", "backup-server"}) {
    GoldenScenario s = RunScenario(name);
    std::string wire;
    ASSERT_TRUE(s.facts.SerializeToString(&wire));
    ASSERT_TRUE(s.verdicts.AppendToString(&wire));
    EXPECT_FALSE(absl::StrContains(wire, "BackupSecretPass42")) << name;
    EXPECT_FALSE(absl::StrContains(wire, "RestoreSecretMongo42")) << name;
  }
}

// ---------------------------------------------------------------------------
// Release (checklist item 6).

TEST(Release, DeployedVersionAgainstPolicy) {
  v1::Verdict latest = VerdictOf(RunScenario("opencrvs-manager"), "release.latest");
  EXPECT_EQ(StatusName(latest.status()), "PASS") << EvidenceText(latest);
  EXPECT_TRUE(absl::StrContains(EvidenceText(latest),
                                "opencrvs_base runs ghcr.io/opencrvs/ocrvs-base:v1.9.0"))
      << EvidenceText(latest);
  v1::Verdict old = VerdictOf(RunScenario("cloud-init-password"), "release.latest");
  EXPECT_EQ(StatusName(old.status()), "FAIL");
  EXPECT_TRUE(
      absl::StrContains(EvidenceText(old), "(version v1.8.1); the latest release is v1.9.0"))
      << EvidenceText(old);
  v1::Verdict none = VerdictOf(RunScenario("unhardened-root"), "release.latest");
  EXPECT_EQ(StatusName(none.status()), "UNKNOWN");
  EXPECT_TRUE(absl::StrContains(EvidenceText(none), "cannot read the deployed version"))
      << EvidenceText(none);
  EXPECT_EQ(StatusName(VerdictOf(RunScenario("logstash-worker"), "release.latest").status()),
            "NOT_APPLICABLE");
}

TEST(Release, ImageTags) {
  v1::ReleaseFact f;
  ASSERT_TRUE(agent::ParseReleaseFromServices(
      "opencrvs_gateway\tghcr.io/opencrvs/ocrvs-gateway:v1.9.0\n"
      "opencrvs_base\tregistry.local:5000/ocrvs-base:v1.9.1@sha256:abc\n",
      f));
  EXPECT_EQ(f.version(), "v1.9.1");
  EXPECT_EQ(f.image(), "registry.local:5000/ocrvs-base:v1.9.1@sha256:abc");
  v1::ReleaseFact untagged;
  ASSERT_TRUE(
      agent::ParseReleaseFromServices("opencrvs_base registry.local:5000/ocrvs-base\n", untagged));
  EXPECT_EQ(untagged.version(), "latest");
  v1::ReleaseFact absent;
  EXPECT_FALSE(agent::ParseReleaseFromServices("opencrvs_gateway\tx:1\n", absent));
}

// ---------------------------------------------------------------------------
// Evidence beside the SSH-login alert sign-off (checklist item 7).

TEST(Alerts, LoginAlertEvidenceNamesWhereLoginsAreShippedFrom) {
  v1::Verdict swarm = VerdictOf(RunScenario("opencrvs-manager"), "alert.ssh_login");
  EXPECT_EQ(StatusName(swarm.status()), "PASS") << EvidenceText(swarm);
  EXPECT_TRUE(
      absl::StrContains(EvidenceText(swarm), "sshd logins are written to /var/log/auth.log"))
      << EvidenceText(swarm);
  EXPECT_TRUE(
      absl::StrContains(EvidenceText(swarm), "Filebeat runs as swarm service opencrvs_filebeat"))
      << EvidenceText(swarm);
  v1::Verdict backup = VerdictOf(RunScenario("backup-server"), "alert.ssh_login");
  // The item cannot hold there: a sign-off needs --despite-evidence.
  EXPECT_EQ(StatusName(backup.status()), "FAIL");
  EXPECT_TRUE(absl::StrContains(EvidenceText(backup), "raise no alert in OpenCRVS v1.x"))
      << EvidenceText(backup);
}

}  // namespace
}  // namespace preflight::testing
