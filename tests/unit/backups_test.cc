// Tests for the "backups" fact kind: MaskSecrets (agent/facts/mask.h),
// crontab parsing (agent/facts/cron.h), backup directory entries, restore
// log scanning and the collector over fixture trees (agent/facts/backups.h).
#include "agent/facts/backups.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <time.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/facts/cron.h"
#include "agent/facts/fact_collector.h"
#include "agent/facts/mask.h"
#include "agent/host/rooted_host_env.h"
#include "tests/support/temp_dir.h"

namespace preflight::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

int64_t Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::ToUnixSeconds(
      absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone()));
}

std::string Mask(absl::string_view line, bool* masked = nullptr) {
  return MaskSecrets(line, masked);
}

// ---------------------------------------------------------------------------
// MaskSecrets

// Lines that must come back unchanged, with masked == false.
void ExpectUntouched(absl::string_view line) {
  bool masked = true;
  EXPECT_EQ(Mask(line, &masked), line);
  EXPECT_FALSE(masked) << line;
}

void ExpectMasked(absl::string_view line, absl::string_view want) {
  bool masked = false;
  EXPECT_EQ(Mask(line, &masked), want) << line;
  EXPECT_TRUE(masked) << line;
}

TEST(MaskSecrets, PassphraseOption) {
  ExpectMasked("/root/backup.sh --passphrase=SecretPass123 --remote_dir=/home/backup/backups",
               "/root/backup.sh --passphrase=**** --remote_dir=/home/backup/backups");
  ExpectMasked("backup.sh --passphrase SecretPass123 --remote_dir=/home/backup/backups",
               "backup.sh --passphrase **** --remote_dir=/home/backup/backups");
  ExpectMasked("tool -passphrase=abc def", "tool -passphrase=**** def");
  ExpectMasked("tool -passphrase abc def", "tool -passphrase **** def");
  ExpectMasked("tool --PassPhrase=abc", "tool --PassPhrase=****");
  ExpectMasked("restore.sh --passphrase=x>>/var/log/r.log",
               "restore.sh --passphrase=****>>/var/log/r.log");
}

TEST(MaskSecrets, PasswordOptions) {
  ExpectMasked("mongodump --password=hunter2 --out /x", "mongodump --password=**** --out /x");
  ExpectMasked("mongodump --password hunter2 --out /x", "mongodump --password **** --out /x");
  ExpectMasked("app --pass hunter2", "app --pass ****");
  ExpectMasked("app --pass=hunter2", "app --pass=****");
  ExpectMasked("openssl enc -d -aes-256-cbc -pass pass:hunter2 -in x",
               "openssl enc -d -aes-256-cbc -pass pass:**** -in x");
  ExpectMasked("app --db-password=hunter2 --client-secret s3 --auth-token t",
               "app --db-password=**** --client-secret **** --auth-token ****");
  ExpectMasked("app --api-key abc123", "app --api-key ****");
}

TEST(MaskSecrets, QuotedValuesMaskedWhole) {
  ExpectMasked("backup.sh --passphrase=\"my secret phrase\" --remote_dir=/b",
               "backup.sh --passphrase=**** --remote_dir=/b");
  ExpectMasked("backup.sh --passphrase 'my secret phrase' --remote_dir=/b",
               "backup.sh --passphrase **** --remote_dir=/b");
  ExpectMasked("export MONGODB_ADMIN_PASSWORD=\"a b c\"; echo ok",
               "export MONGODB_ADMIN_PASSWORD=****; echo ok");
  ExpectMasked("X_SECRET='it''s' next", "X_SECRET=**** next");
  ExpectMasked("run \"--password=a b\" next", "run \"--password=****\" next");
  // An unclosed quote runs to the end of the line.
  ExpectMasked("PASSWORD='abc def", "PASSWORD=****");
}

TEST(MaskSecrets, SecretAssignments) {
  ExpectMasked("PASSPHRASE=abc /root/backup.sh", "PASSPHRASE=**** /root/backup.sh");
  ExpectMasked("export ELASTICSEARCH_ADMIN_PASSWORD=x1",
               "export ELASTICSEARCH_ADMIN_PASSWORD=****");
  ExpectMasked("MINIO_ROOT_PASSWORD=minio123 docker compose up",
               "MINIO_ROOT_PASSWORD=**** docker compose up");
  ExpectMasked("AWS_SECRET_ACCESS_KEY=abc aws s3 ls", "AWS_SECRET_ACCESS_KEY=**** aws s3 ls");
  ExpectMasked("GITHUB_TOKEN=abc make", "GITHUB_TOKEN=**** make");
  ExpectMasked("api_key=abc&x=1", "api_key=****&x=1");
  ExpectMasked("apiKey=abc", "apiKey=****");
  ExpectMasked("KEY=abc", "KEY=****");
  ExpectMasked("db_passwd=abc;ls", "db_passwd=****;ls");
  ExpectMasked("[info] using password=abc (ok)", "[info] using password=**** (ok)");
  ExpectMasked("SMTP_PASSWORD=$(cat /run/pw) app", "SMTP_PASSWORD=**** app");
}

TEST(MaskSecrets, NonSecretsUntouched) {
  ExpectUntouched(
      "0 0 * * * bash /opt/opencrvs/infrastructure/backups/rotate_backups.sh "
      "--backup_dir=/home/backup/backups --amount_to_keep=7 >> "
      "/var/log/opencrvs-rotate-backups.log 2>&1");
  ExpectUntouched("/root/backup.sh --remote_dir=/home/backup/backups --ssh_user=backup");
  ExpectUntouched("PASSWORD_FILE=/run/secrets/pw KEY_PATH=/etc/ssl/k.pem AWS_ACCESS_KEY_ID=x");
  ExpectUntouched("gpg --batch --passphrase-file /root/.pass --passphrase-fd 0 -d x");
  ExpectUntouched("KEYRING=/etc/apt/keyrings MONKEYS=3 BYPAS=1");
  ExpectUntouched("echo $PASSWORD | docker login --password-stdin -u bot registry");
  ExpectUntouched("ansible-playbook --ask-become-pass site.yml");
  ExpectUntouched("mysql --no-password --skip-password db");
  ExpectUntouched("mysql -u root -p db");
  ExpectUntouched("mysql -P3306 -h db");
  ExpectUntouched("ls -pla /home && grep -pfoo x");
  ExpectUntouched("https://example.com/path?x=1 ssh://backup@10.0.0.2:22");
  ExpectUntouched("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  ExpectUntouched("ghp_short AKIA123 eyJshort");
  ExpectUntouched("echo 'token' = fine; --password");
  ExpectUntouched("");
}

TEST(MaskSecrets, DatabaseClientShortFlags) {
  ExpectMasked("mysqldump -uroot -pS3cret db > /x.sql", "mysqldump -uroot -p**** db > /x.sql");
  ExpectMasked("docker exec mysql /usr/bin/mysql -u root -p'a b' -e 'show databases'",
               "docker exec mysql /usr/bin/mysql -u root -p**** -e 'show databases'");
  ExpectMasked("mongosh -u admin -p S3cret --authenticationDatabase admin",
               "mongosh -u admin -p **** --authenticationDatabase admin");
  ExpectMasked("sshpass -p 'pw' ssh backup@host", "sshpass -p **** ssh backup@host");
  ExpectMasked("redis-cli -a S3cret ping", "redis-cli -a **** ping");
  ExpectMasked("openssl enc -aes-256-cbc -k S3cret -in x",
               "openssl enc -aes-256-cbc -k **** -in x");
  // Only within the client's command.
  ExpectMasked("mysqldump -pS3cret db | pigz -p 4 > x", "mysqldump -p**** db | pigz -p 4 > x");
  ExpectUntouched("mongosh -u admin -p --authenticationDatabase admin");
}

TEST(MaskSecrets, UrlCredentials) {
  ExpectMasked("curl https://user:pa55@host/path", "curl https://user:****@host/path");
  ExpectMasked("mongodump --uri=mongodb://admin:pw@mongo1:27017/db?authSource=admin",
               "mongodump --uri=mongodb://admin:****@mongo1:27017/db?authSource=admin");
  ExpectMasked("postgres://u:p%40ss@db:5432/x", "postgres://u:****@db:5432/x");
  ExpectUntouched("curl https://user@host/path");
}

TEST(MaskSecrets, Tokens) {
  const std::string ghp = "ghp_" + std::string(36, 'a');
  ExpectMasked(absl::StrCat("git clone https://", ghp, "@github.com/x/y"),
               "git clone https://****@github.com/x/y");
  ExpectMasked(absl::StrCat("token is ", ghp, "."), "token is ****.");
  ExpectMasked("aws AKIAABCDEFGHIJKLMNOP x", "aws **** x");
  ExpectMasked("glpat-abcdefghijklmnopqrst y", "**** y");
  ExpectMasked("xoxb-1234567890-abcdef z", "**** z");
  ExpectMasked("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc_DEF-123 end",
               "jwt **** end");
  ExpectMasked("curl -H \"Authorization: Bearer abc.def\" https://x",
               "curl -H \"Authorization: Bearer ****\" https://x");
  ExpectMasked("curl -H 'X-Api-Key: abc123' https://x", "curl -H 'X-Api-Key: ****' https://x");
  ExpectMasked("x-api-key: abc x-api-key: def", "x-api-key: **** x-api-key: ****");
  ExpectMasked("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ****");
}

TEST(MaskSecrets, PrivateKeyBlocks) {
  ExpectMasked(
      "before\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nshort\n"
      "-----END OPENSSH PRIVATE KEY-----\nafter",
      "before\n****\n****\n****\n****\nafter");
  ExpectMasked("-----BEGIN RSA PRIVATE KEY-----", "****");
  // Key material on its own line (no markers seen): mixed-case base64.
  ExpectMasked("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj", "****");
  ExpectUntouched("-----BEGIN CERTIFICATE-----");
}

TEST(MaskSecrets, MaskedFlagOptional) {
  EXPECT_EQ(MaskSecrets("--password=x"), "--password=****");
  EXPECT_EQ(MaskSecrets("plain"), "plain");
}

TEST(MaskSecrets, HostileInputDoesNotCrash) {
  for (absl::string_view s :
       {"=",    "==",       "-",     "--",     "--=",      "--password", "--password=",
        "'",    "\"",       "$(",    "${",     "`",        "\\",         "://",
        "://@", "a://b:@c", "PASS=", "PASS='", "mysql -p", "-----BEGIN"}) {
    bool masked = false;
    std::string out = MaskSecrets(s, &masked);
    if (!masked) {
      EXPECT_EQ(out, s);
    }
  }
  std::string big(200000, 'a');
  big += "=PASSWORD=" + std::string(100000, '"');
  EXPECT_TRUE(absl::StrContains(MaskSecrets(big), kMasked));
}

// Long hostile lines stay linear (a crontab line is masked whole before the
// command is capped; a restore log line may be megabytes).
TEST(MaskSecrets, LongRepetitiveLinesAreFast) {
  std::string line;
  for (int i = 0; i < 100000; ++i) line += "x-api-key:Authorization:a=PASS=\"$(://ghp_eyJ";
  absl::Time start = absl::Now();
  bool masked = false;
  MaskSecrets(line, &masked);
  EXPECT_TRUE(masked);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

// ---------------------------------------------------------------------------
// Crontabs

TEST(CronJobKind, FromScriptBaseName) {
  EXPECT_EQ(CronJobKind("bash /opt/opencrvs/infrastructure/backups/rotate_backups.sh "
                        "--backup_dir=/home/backup/backups --amount_to_keep=7"),
            "rotate");
  EXPECT_EQ(CronJobKind("/root/backup.sh --passphrase=x --remote_dir=/home/backup/backups"),
            "backup");
  EXPECT_EQ(CronJobKind("bash /opt/opencrvs/infrastructure/backups/restore.sh --passphrase=x >> "
                        "/var/log/opencrvs-restore.log 2>&1"),
            "restore");
  EXPECT_EQ(CronJobKind("cd /opt && ./download.sh --remote_dir=x"), "download");
  EXPECT_EQ(CronJobKind("\"/root/backup.sh\""), "backup");
  EXPECT_EQ(CronJobKind("./download.sh && ./restore.sh"), "download");
  EXPECT_EQ(CronJobKind("./restore.sh; ./rotate_backups.sh"), "rotate");
  EXPECT_EQ(CronJobKind("/usr/local/bin/my-backup.sh"), "");
  EXPECT_EQ(CronJobKind("cp backup.sh.bak /tmp"), "");
  EXPECT_EQ(CronJobKind("/usr/bin/certbot renew"), "");
  EXPECT_EQ(CronJobKind(""), "");
}

TEST(CronParse, UserCrontab) {
  const std::string content =
      "# m h dom mon dow command\n"
      "MAILTO=\"\"\n"
      "PASSPHRASE=EnvSecret99\n"
      "SHELL = /bin/bash\n"
      "\n"
      "0 0 * * * /root/backup.sh --passphrase=SecretPass123 --remote_dir=/home/backup/backups\r\n"
      "  @daily   /usr/bin/certbot renew  \n"
      "*/15 0-23/2 1,15 jan-dec mon-fri echo hi\n";
  std::vector<v1::ParseProblem> problems;
  auto jobs = ParseCrontab(content, "/var/spool/cron/crontabs/root", "root", &problems);
  EXPECT_THAT(problems, IsEmpty());
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].file(), "/var/spool/cron/crontabs/root");
  EXPECT_EQ(jobs[0].line(), 6u);
  EXPECT_EQ(jobs[0].schedule(), "0 0 * * *");
  EXPECT_EQ(jobs[0].user(), "root");
  EXPECT_EQ(jobs[0].command(),
            "/root/backup.sh --passphrase=**** --remote_dir=/home/backup/backups");
  EXPECT_EQ(jobs[0].kind(), "backup");
  EXPECT_TRUE(jobs[0].masked());
  EXPECT_EQ(jobs[1].line(), 7u);
  EXPECT_EQ(jobs[1].schedule(), "@daily");
  EXPECT_EQ(jobs[1].command(), "/usr/bin/certbot renew");
  EXPECT_EQ(jobs[1].kind(), "");
  EXPECT_FALSE(jobs[1].masked());
  EXPECT_EQ(jobs[2].schedule(), "*/15 0-23/2 1,15 jan-dec mon-fri");
  for (const auto& j : jobs) {
    EXPECT_THAT(j.DebugString(), Not(HasSubstr("SecretPass123")));
    EXPECT_THAT(j.DebugString(), Not(HasSubstr("EnvSecret99")));
  }
}

TEST(CronParse, SystemCrontabHasUserField) {
  const std::string content =
      "SHELL=/bin/sh\n"
      "PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin\n"
      "17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly\n"
      "30 0 * * * backup bash /opt/opencrvs/infrastructure/backups/download.sh\n"
      "@reboot root /usr/local/bin/start\n"
      "0 1 * * *\n";
  std::vector<v1::ParseProblem> problems;
  auto jobs = ParseCrontab(content, "/etc/crontab", "", &problems);
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].user(), "root");
  EXPECT_EQ(jobs[0].schedule(), "17 * * * *");
  EXPECT_EQ(jobs[0].command(), "cd / && run-parts --report /etc/cron.hourly");
  EXPECT_EQ(jobs[1].user(), "backup");
  EXPECT_EQ(jobs[1].kind(), "download");
  EXPECT_EQ(jobs[2].schedule(), "@reboot");
  EXPECT_EQ(jobs[2].user(), "root");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].file(), "/etc/crontab");
  EXPECT_EQ(problems[0].line(), 6u);
  EXPECT_THAT(problems[0].message(), HasSubstr("user"));
}

TEST(CronParse, MalformedLinesAreProblems) {
  const std::string content =
      "61 * * * * too-late\n"
      "* 24 * * * too-late\n"
      "* * 0 * * day-zero\n"
      "* * * 13 * month\n"
      "* * * * 8 dow\n"
      "* * *\n"
      "@sometimes cmd\n"
      "* * * * *\n"
      "5-1 * * * * backwards\n"
      "*/0 * * * * zero-step\n"
      "x y z\n"
      "0 0 * * * fine\n";
  std::vector<v1::ParseProblem> problems;
  auto jobs = ParseCrontab(content, "/var/spool/cron/crontabs/x", "x", &problems);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].line(), 12u);
  std::vector<uint32_t> lines;
  for (const auto& p : problems) lines.push_back(p.line());
  EXPECT_THAT(lines, ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
  EXPECT_THAT(problems[0].message(), HasSubstr("minute"));
  EXPECT_THAT(problems[5].message(), HasSubstr("five"));
  EXPECT_THAT(problems[7].message(), HasSubstr("command"));
  // A null problems pointer is allowed.
  EXPECT_EQ(ParseCrontab(content, "f", "x", nullptr).size(), 1u);
}

TEST(CronParse, CommandCappedAndProblemsBounded) {
  std::string content = "0 0 * * * /root/backup.sh " + std::string(2000, 'x') + "\n";
  for (int i = 0; i < 500; ++i) content += "bad line\n";
  std::vector<v1::ParseProblem> problems;
  auto jobs = ParseCrontab(content, "/var/spool/cron/crontabs/root", "root", &problems);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].command().size(), 512u);
  EXPECT_EQ(jobs[0].kind(), "backup");
  EXPECT_LE(problems.size(), 101u);
  EXPECT_THAT(problems.back().message(), HasSubstr("not reported"));
}

// ---------------------------------------------------------------------------
// Backup directory entries

TEST(BackupEntry, Classify) {
  auto e = ClassifyBackupEntry("2025-12-01", true);
  EXPECT_EQ(e.kind(), v1::BackupEntry::DATED);
  EXPECT_EQ(e.date(), "2025-12-01");
  EXPECT_EQ(e.name(), "2025-12-01");
  EXPECT_EQ(ClassifyBackupEntry("2024-02-29", true).kind(), v1::BackupEntry::DATED);

  e = ClassifyBackupEntry("2023-02-29", true);  // not a real date
  EXPECT_EQ(e.kind(), v1::BackupEntry::LABELLED);
  EXPECT_EQ(e.date(), "");
  EXPECT_EQ(ClassifyBackupEntry("2025-13-01", true).kind(), v1::BackupEntry::LABELLED);

  e = ClassifyBackupEntry("before-upgrade-v1.8", true);
  EXPECT_EQ(e.kind(), v1::BackupEntry::LABELLED);
  EXPECT_EQ(e.date(), "");
  e = ClassifyBackupEntry("manual-2025-11-30-before-upgrade", true);
  EXPECT_EQ(e.kind(), v1::BackupEntry::LABELLED);
  EXPECT_EQ(e.date(), "2025-11-30");
  EXPECT_EQ(ClassifyBackupEntry("x12025-11-30", true).date(), "");

  EXPECT_EQ(ClassifyBackupEntry("test_connection.txt", false).kind(), v1::BackupEntry::ARTEFACT);
  EXPECT_EQ(ClassifyBackupEntry("downloaded_from_backup.txt", false).kind(),
            v1::BackupEntry::ARTEFACT);
  e = ClassifyBackupEntry("2025-12-01", false);
  EXPECT_EQ(e.kind(), v1::BackupEntry::OTHER);
  EXPECT_EQ(e.date(), "");
  EXPECT_EQ(ClassifyBackupEntry("notes.txt", false).kind(), v1::BackupEntry::OTHER);
}

// ---------------------------------------------------------------------------
// Restore log

TEST(BackupsRestoreLog, ErrorLines) {
  for (absl::string_view line :
       {"pg_restore: error: could not connect to server",
        "ERROR: relation \"users\" does not exist", "[error] restore aborted",
        "tar: /data/x: Cannot open: No such file or directory", "Restore failed",
        "FATAL: database \"x\" does not exist", "mkdir: cannot create directory",
        "cp: cannot stat 'x': Permission denied", "restore.sh: line 3: foo: command not found",
        "Process exited with code 2", "exit status: 1", "script returned non-zero",
        "2 document(s) failed to restore", "\"failed\":3", "errors: 4"}) {
    EXPECT_TRUE(RestoreLogErrorLine(line)) << line;
  }
  for (absl::string_view line :
       {"Restore finished",
        "12345 document(s) restored successfully. 0 document(s) failed to "
        "restore.",
        R"({"shards":{"total":5,"failed":0,"successful":5}})", R"({"errors":false,"items":[]})",
        R"({"failures":[]})", "errors: 0", "no errors found", "exit code 0", "exit status: 0",
        "logs in /var/log/opencrvs-backup.error.log", "see errors.log", "on_error=continue",
        "/srv/failed/x", ""}) {
    EXPECT_FALSE(RestoreLogErrorLine(line)) << line;
  }
}

TEST(BackupsRestoreLog, LineTimes) {
  EXPECT_EQ(LogLineTime("2026-11-26 01:00:03 restoring"), Utc(2026, 11, 26, 1, 0, 3));
  EXPECT_EQ(LogLineTime("[2026-11-26T01:00:03Z] x"), Utc(2026, 11, 26, 1, 0, 3));
  EXPECT_EQ(LogLineTime("2026-11-26T03:00:03+02:00 x"), Utc(2026, 11, 26, 1, 0, 3));
  EXPECT_EQ(LogLineTime("2026-11-26T01:00:10.123+0000\t12 document(s) restored"),
            Utc(2026, 11, 26, 1, 0, 10));
  EXPECT_EQ(LogLineTime("2026-11-26T01:00:03.5-0100"), Utc(2026, 11, 26, 2, 0, 3));
  EXPECT_EQ(LogLineTime("Thu Nov 26 01:00:03 UTC 2026"), Utc(2026, 11, 26, 1, 0, 3));
  EXPECT_EQ(LogLineTime("Started at Thu Nov  5 01:00:03 UTC 2026."), Utc(2026, 11, 5, 1, 0, 3));
  EXPECT_EQ(LogLineTime("from 2026-11-25 23:00:00 to 2026-11-26 00:30:00"),
            Utc(2026, 11, 26, 0, 30, 0));
  EXPECT_EQ(LogLineTime("no time here"), 0);
  EXPECT_EQ(LogLineTime("2026-13-26 01:00:03"), 0);
  EXPECT_EQ(LogLineTime("2026-02-30 01:00:03"), 0);
  EXPECT_EQ(LogLineTime("2026-11-26 25:00:03"), 0);
  EXPECT_EQ(LogLineTime("Thu Nov 31 01:00:03 UTC 2026"), 0);
  EXPECT_EQ(LogLineTime("12026-11-26 01:00:03"), 0);
}

TEST(BackupsRestoreLog, CleanRun) {
  const std::string content =
      "Thu Nov 26 01:00:03 UTC 2026\n"
      "Restoring backup from 2026-11-25\n"
      "2026-11-26T01:00:10.123+0000\t12345 document(s) restored successfully. 0 document(s) "
      "failed to restore.\n"
      R"({"snapshot":{"shards":{"total":5,"failed":0,"successful":5}}})"
      "\n\n"
      "Restore finished at 2026-11-26 01:05:00\n";
  v1::RestoreLog log;
  ScanRestoreLog(content, log);
  EXPECT_EQ(log.lines(), 6u);
  EXPECT_EQ(log.error_lines(), 0u);
  EXPECT_THAT(log.error_line_numbers(), IsEmpty());
  EXPECT_EQ(log.last_time_unix(), Utc(2026, 11, 26, 1, 5, 0));
  ASSERT_EQ(log.tail_size(), 5);
  EXPECT_EQ(log.tail(0), "Thu Nov 26 01:00:03 UTC 2026");
  EXPECT_EQ(log.tail(4), "Restore finished at 2026-11-26 01:05:00");
}

TEST(BackupsRestoreLog, ErrorsCountedOverWholeFileLastTwentyKept) {
  std::string content;
  for (int i = 1; i <= 100; ++i) {
    content += (i % 3 == 0) ? absl::StrCat("step ", i, " failed\n") : absl::StrCat("ok ", i, "\n");
  }
  v1::RestoreLog log;
  ScanRestoreLog(content, log);
  EXPECT_EQ(log.lines(), 100u);
  EXPECT_EQ(log.error_lines(), 33u);
  ASSERT_EQ(log.error_line_numbers_size(), 20);
  EXPECT_EQ(log.error_line_numbers(0), 42u);
  EXPECT_EQ(log.error_line_numbers(19), 99u);
  // Rescanning replaces rather than appends.
  ScanRestoreLog("error\n", log);
  EXPECT_EQ(log.error_lines(), 1u);
  EXPECT_THAT(log.error_line_numbers(), ElementsAre(1u));
}

TEST(BackupsRestoreLog, TimeOnlyFromLastFiftyLines) {
  std::string content = "2026-11-26 01:00:03 start\n";
  for (int i = 0; i < 60; ++i) content += "working\n";
  v1::RestoreLog log;
  ScanRestoreLog(content, log);
  EXPECT_EQ(log.last_time_unix(), 0);
  content += "2026-11-20 01:00:00 older\nThu Nov 26 02:00:00 UTC 2026\n2026-11-25 00:00:00\n";
  ScanRestoreLog(content, log);
  EXPECT_EQ(log.last_time_unix(), Utc(2026, 11, 26, 2, 0, 0));
}

TEST(BackupsRestoreLog, TailMaskedAndCapped) {
  const std::string content =
      "Running restore.sh --passphrase=SecretPass123\n"
      "-----BEGIN RSA PRIVATE KEY-----\n"
      "abc\n"
      "-----END RSA PRIVATE KEY-----\n"
      "url mongodb://admin:pw@mongo1/x\r\n" +
      std::string(1000, 'y') + "\n\n   \n";
  v1::RestoreLog log;
  ScanRestoreLog(content, log);
  EXPECT_EQ(log.lines(), 8u);
  ASSERT_EQ(log.tail_size(), 5);
  EXPECT_EQ(log.tail(0), "****");
  EXPECT_EQ(log.tail(1), "****");
  EXPECT_EQ(log.tail(2), "****");
  EXPECT_EQ(log.tail(3), "url mongodb://admin:****@mongo1/x");
  EXPECT_EQ(log.tail(4).size(), 200u);
  EXPECT_THAT(log.DebugString(), Not(HasSubstr("SecretPass123")));
  EXPECT_THAT(log.DebugString(), Not(HasSubstr("abc")));

  ScanRestoreLog("restore.sh --passphrase=SecretPass123\n", log);
  EXPECT_THAT(log.tail(), ElementsAre("restore.sh --passphrase=****"));
}

TEST(BackupsRestoreLog, LongHostileLogIsFast) {
  std::string content;
  for (int i = 0; i < 100000; ++i) content += "0 error,0 failed:exit code \"error\" ";
  content += "\n";
  for (int i = 0; i < 20000; ++i) content += "2026-11-26 01:00:03 Thu Nov 26 01:00:03 UTC 2026\n";
  absl::Time start = absl::Now();
  v1::RestoreLog log;
  ScanRestoreLog(content, log);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(log.lines(), 20001u);
  EXPECT_EQ(log.last_time_unix(), Utc(2026, 11, 26, 1, 0, 3));
}

TEST(BackupsRestoreLog, EmptyAndOddContent) {
  v1::RestoreLog log;
  ScanRestoreLog("", log);
  EXPECT_EQ(log.lines(), 0u);
  EXPECT_THAT(log.tail(), IsEmpty());
  ScanRestoreLog("\n", log);
  EXPECT_EQ(log.lines(), 1u);
  EXPECT_THAT(log.tail(), IsEmpty());
  ScanRestoreLog(std::string("a\0b\nc", 5), log);
  EXPECT_EQ(log.lines(), 2u);
}

// ---------------------------------------------------------------------------
// The collector over fixture trees

class BackupsCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = RootedHostEnv::Create(root_.path());
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(*env);
  }

  std::string Real(const std::string& host_path) const { return root_.path() + host_path; }
  void Write(const std::string& host_path, absl::string_view content) {
    testing::WriteFile(Real(host_path), content);
  }
  void Dir(const std::string& host_path) { testing::MakeDirs(Real(host_path)); }
  void SetMtime(const std::string& host_path, int64_t t) {
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(t);
    times[0].tv_nsec = times[1].tv_nsec = 0;
    ASSERT_EQ(utimensat(AT_FDCWD, Real(host_path).c_str(), times, 0), 0) << host_path;
  }

  v1::BackupsFact Collect() {
    v1::FactReport report;
    auto collector = MakeBackupsCollector();
    EXPECT_EQ(collector->name(), "backups");
    v1::Collection* c = collector->Collect(*env_, options_, report);
    EXPECT_EQ(c, report.mutable_backups()->mutable_collection());
    serialized_ = report.SerializeAsString();
    debug_ = report.DebugString();
    return report.backups();
  }

  testing::TempDir root_;
  std::unique_ptr<RootedHostEnv> env_;
  CollectOptions options_;
  std::string serialized_;
  std::string debug_;
};

constexpr char kRotateLine[] =
    "0 0 * * * bash /opt/opencrvs/infrastructure/backups/rotate_backups.sh "
    "--backup_dir=/home/backup/backups --amount_to_keep=7 >> "
    "/var/log/opencrvs-rotate-backups.log 2>&1";

TEST_F(BackupsCollectorTest, BackupServer) {
  const std::string b = "/home/backup/backups";
  Write(b + "/2025-12-01/2025-12-01.tar.gz.enc", std::string(1000, 'x'));
  Write(b + "/2025-11-30/2025-11-30.tar.gz.enc", std::string(700, 'x'));
  Write(b + "/2025-11-30/extra/more/deep.bin", std::string(5, 'x'));        // depth 3
  Write(b + "/2025-11-30/extra/more/deeper/no.bin", std::string(50, 'x'));  // depth 4
  Write(b + "/before-upgrade-v1.8/2025-10-01.tar.gz.enc", std::string(300, 'x'));
  Write(b + "/manual-2025-09-01/x.enc", "1234");
  Write(b + "/test_connection.txt", "ok\n");
  Write(b + "/downloaded_from_backup.txt", "2025-12-01\n");
  Write(b + "/notes.txt", "hello");
  Write("/var/spool/cron/crontabs/root",
        absl::StrCat("# DO NOT EDIT THIS FILE\n", kRotateLine, "\n15 3 * * * /usr/bin/true\n"));
  const int64_t t = Utc(2025, 12, 1, 0, 10, 0);
  SetMtime(b + "/2025-12-01", t);

  v1::BackupsFact f = Collect();
  EXPECT_EQ(f.collection().state(), v1::Collection::OK) << f.collection().error();
  EXPECT_EQ(f.backup_dir(), b);
  EXPECT_TRUE(f.dir_present());
  EXPECT_FALSE(f.entries_truncated());
  std::vector<std::string> names;
  for (const auto& e : f.entries()) names.push_back(e.name());
  EXPECT_THAT(names, ElementsAre("2025-11-30", "2025-12-01", "before-upgrade-v1.8",
                                 "downloaded_from_backup.txt", "manual-2025-09-01", "notes.txt",
                                 "test_connection.txt"));
  const auto& nov30 = f.entries(0);
  EXPECT_EQ(nov30.kind(), v1::BackupEntry::DATED);
  EXPECT_EQ(nov30.size_bytes(), 705u);  // the depth-4 file is beyond the walk
  EXPECT_EQ(nov30.files(), 2u);
  const auto& dec1 = f.entries(1);
  EXPECT_EQ(dec1.kind(), v1::BackupEntry::DATED);
  EXPECT_EQ(dec1.date(), "2025-12-01");
  EXPECT_EQ(dec1.size_bytes(), 1000u);
  EXPECT_EQ(dec1.files(), 1u);
  EXPECT_EQ(dec1.mtime_unix(), t);
  EXPECT_EQ(f.entries(2).kind(), v1::BackupEntry::LABELLED);
  EXPECT_EQ(f.entries(2).date(), "");
  EXPECT_EQ(f.entries(2).size_bytes(), 300u);
  EXPECT_EQ(f.entries(3).kind(), v1::BackupEntry::ARTEFACT);
  EXPECT_EQ(f.entries(4).kind(), v1::BackupEntry::LABELLED);
  EXPECT_EQ(f.entries(4).date(), "2025-09-01");
  EXPECT_EQ(f.entries(5).kind(), v1::BackupEntry::OTHER);
  EXPECT_EQ(f.entries(5).size_bytes(), 5u);
  EXPECT_EQ(f.entries(6).kind(), v1::BackupEntry::ARTEFACT);

  EXPECT_THAT(f.cron_files(), ElementsAre("/var/spool/cron/crontabs/root"));
  ASSERT_EQ(f.cron_jobs_size(), 1);  // /usr/bin/true is not backup-related
  const auto& job = f.cron_jobs(0);
  EXPECT_EQ(job.kind(), "rotate");
  EXPECT_EQ(job.user(), "root");
  EXPECT_EQ(job.schedule(), "0 0 * * *");
  EXPECT_EQ(job.line(), 2u);
  EXPECT_EQ(job.file(), "/var/spool/cron/crontabs/root");
  EXPECT_FALSE(job.masked());
  EXPECT_THAT(job.command(), HasSubstr("--amount_to_keep=7"));
  EXPECT_THAT(job.command(), HasSubstr("--backup_dir=/home/backup/backups"));

  EXPECT_EQ(f.restore_log().path(), "/var/log/opencrvs-restore.log");
  EXPECT_FALSE(f.restore_log().present());
  EXPECT_THAT(f.problems(), IsEmpty());
}

TEST_F(BackupsCollectorTest, ProductionPassphraseNeverLeaves) {
  Write("/var/spool/cron/crontabs/root",
        "PASSPHRASE=SecretPass123\n"
        "0 0 * * * /root/backup.sh --passphrase=SecretPass123 --ssh_user=backup "
        "--ssh_host=10.0.0.2 --ssh_port=22 --production_ip=10.0.0.1 "
        "--remote_dir=/home/backup/backups --replicas=1 >> /var/log/opencrvs-backup.log 2>> "
        "/var/log/opencrvs-backup.error.log\n"
        "0 1 * * * /root/backup.sh --passphrase 'SecretPass123' --label=manual\n"
        "0 2 * * * SECRET=SecretPass123 /root/backup.sh\n");
  Write("/etc/crontab", "30 2 * * * root /root/backup.sh --passphrase=\"SecretPass123\"\n");

  v1::BackupsFact f = Collect();
  EXPECT_EQ(f.collection().state(), v1::Collection::OK) << f.collection().error();
  EXPECT_FALSE(f.dir_present());
  ASSERT_EQ(f.cron_jobs_size(), 4);
  for (const auto& job : f.cron_jobs()) {
    EXPECT_EQ(job.kind(), "backup");
    EXPECT_TRUE(job.masked());
    EXPECT_THAT(job.command(), HasSubstr("****"));
  }
  EXPECT_THAT(f.cron_jobs(0).command(), HasSubstr("--passphrase=**** "));
  EXPECT_THAT(f.cron_jobs(0).command(), HasSubstr("--remote_dir=/home/backup/backups"));
  EXPECT_EQ(f.cron_jobs(3).user(), "root");
  EXPECT_EQ(f.cron_jobs(3).file(), "/etc/crontab");
  EXPECT_THAT(f.cron_files(), ElementsAre("/var/spool/cron/crontabs/root", "/etc/crontab"));
  EXPECT_THAT(serialized_, Not(HasSubstr("SecretPass123")));
  EXPECT_THAT(debug_, Not(HasSubstr("SecretPass123")));
}

TEST_F(BackupsCollectorTest, StagingRestoreSchedule) {
  Write("/var/spool/cron/crontabs/root",
        "30 0 * * * bash /opt/opencrvs/infrastructure/backups/download.sh --passphrase=Dl0ad99 "
        "--ssh_user=backup --ssh_host=10.0.0.2 --remote_dir=/home/backup/backups >> "
        "/var/log/opencrvs-restore.log 2>&1\n"
        "0 1 * * * bash /opt/opencrvs/infrastructure/backups/restore.sh --passphrase=Rest0re99 "
        ">> /var/log/opencrvs-restore.log 2>&1\n");
  Write("/var/log/opencrvs-restore.log",
        "Thu Nov 26 00:30:01 UTC 2026\n"
        "Downloading backup 2026-11-26\n"
        "Thu Nov 26 01:00:03 UTC 2026\n"
        "Restoring with --passphrase=Rest0re99\n"
        "2026-11-26T01:00:10.123+0000\t12 document(s) restored successfully. 0 document(s) "
        "failed to restore.\n"
        "Restore complete\n");
  SetMtime("/var/log/opencrvs-restore.log", Utc(2026, 11, 26, 1, 0, 11));

  v1::BackupsFact f = Collect();
  EXPECT_EQ(f.collection().state(), v1::Collection::OK) << f.collection().error();
  ASSERT_EQ(f.cron_jobs_size(), 2);
  EXPECT_EQ(f.cron_jobs(0).kind(), "download");
  EXPECT_EQ(f.cron_jobs(0).schedule(), "30 0 * * *");
  EXPECT_EQ(f.cron_jobs(1).kind(), "restore");
  EXPECT_EQ(f.cron_jobs(1).schedule(), "0 1 * * *");
  const v1::RestoreLog& log = f.restore_log();
  EXPECT_TRUE(log.present());
  EXPECT_EQ(log.mtime_unix(), Utc(2026, 11, 26, 1, 0, 11));
  EXPECT_GT(log.size_bytes(), 100u);
  EXPECT_EQ(log.lines(), 6u);
  EXPECT_EQ(log.error_lines(), 0u);
  EXPECT_EQ(log.last_time_unix(), Utc(2026, 11, 26, 1, 0, 10));
  ASSERT_EQ(log.tail_size(), 5);
  EXPECT_EQ(log.tail(2), "Restoring with --passphrase=****");
  EXPECT_EQ(log.tail(4), "Restore complete");
  EXPECT_THAT(serialized_, Not(HasSubstr("Rest0re99")));
  EXPECT_THAT(serialized_, Not(HasSubstr("Dl0ad99")));
}

TEST_F(BackupsCollectorTest, RestoreLogWithErrors) {
  Write("/var/log/opencrvs-restore.log",
        "Thu Nov 26 01:00:03 UTC 2026\n"
        "pg_restore: error: could not execute query\n"
        "tar: /data/backups/x: Cannot open: No such file or directory\n"
        "Restore failed with exit code 2\n");
  v1::BackupsFact f = Collect();
  EXPECT_EQ(f.collection().state(), v1::Collection::OK);
  EXPECT_EQ(f.restore_log().error_lines(), 3u);
  EXPECT_THAT(f.restore_log().error_line_numbers(), ElementsAre(2u, 3u, 4u));
  EXPECT_EQ(f.restore_log().last_time_unix(), Utc(2026, 11, 26, 1, 0, 3));
}

TEST_F(BackupsCollectorTest, CronDropIns) {
  Write("/etc/crontab",
        "SHELL=/bin/sh\n"
        "17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly\n");
  Write("/etc/cron.d/opencrvs-backup",
        "MAILTO=root\n0 0 * * * root /root/backup.sh --passphrase=CronDSecret1\n");
  Write("/etc/cron.d/old.backup", "0 3 * * * root /root/backup.sh --passphrase=Ignored1\n");
  Write("/etc/cron.d/.placeholder", "# DO NOT EDIT OR REMOVE\n");
  Write("/etc/cron.d/e2scrub_all", "30 3 * * 0 root test -e /run/systemd/system || true\n");
  Write("/etc/cron.d/broken", "0 0 * * root /root/backup.sh\n");
  Dir("/etc/cron.d/subdir");

  v1::BackupsFact f = Collect();
  EXPECT_EQ(f.collection().state(), v1::Collection::OK) << f.collection().error();
  EXPECT_THAT(f.cron_files(),
              ElementsAre("/etc/crontab", "/etc/cron.d/broken", "/etc/cron.d/e2scrub_all",
                          "/etc/cron.d/opencrvs-backup"));
  ASSERT_EQ(f.cron_jobs_size(), 1);
  EXPECT_EQ(f.cron_jobs(0).file(), "/etc/cron.d/opencrvs-backup");
  EXPECT_EQ(f.cron_jobs(0).line(), 2u);
  EXPECT_EQ(f.cron_jobs(0).user(), "root");
  EXPECT_EQ(f.cron_jobs(0).kind(), "backup");
  ASSERT_EQ(f.problems_size(), 2);
  EXPECT_EQ(f.problems(0).file(), "/etc/cron.d/broken");
  EXPECT_EQ(f.problems(0).line(), 1u);
  EXPECT_EQ(f.problems(1).file(), "/etc/cron.d/old.backup");
  EXPECT_THAT(f.problems(1).message(), HasSubstr("cron ignores"));
  EXPECT_THAT(serialized_, Not(HasSubstr("CronDSecret1")));
  EXPECT_THAT(serialized_, Not(HasSubstr("Ignored1")));
}

TEST_F(BackupsCollectorTest, EmptyHostIsOk) {
  v1::BackupsFact f = Collect();
  EXPECT_EQ(f.collection().state(), v1::Collection::OK);
  EXPECT_EQ(f.backup_dir(), "/home/backup/backups");
  EXPECT_FALSE(f.dir_present());
  EXPECT_THAT(f.entries(), IsEmpty());
  EXPECT_THAT(f.cron_files(), IsEmpty());
  EXPECT_THAT(f.cron_jobs(), IsEmpty());
  EXPECT_FALSE(f.restore_log().present());
  EXPECT_THAT(f.problems(), IsEmpty());
}

TEST_F(BackupsCollectorTest, UnreadableCrontabIsError) {
  Dir("/etc/crontab");  // exists, but cannot be read as a file
  Write("/var/spool/cron/crontabs/root", absl::StrCat(kRotateLine, "\n"));
  v1::BackupsFact f = Collect();
  EXPECT_EQ(f.collection().state(), v1::Collection::ERROR);
  EXPECT_THAT(f.collection().error(), HasSubstr("/etc/crontab"));
  EXPECT_EQ(f.cron_jobs_size(), 1);  // what could be read is still reported
}

TEST_F(BackupsCollectorTest, NonRegularUserCrontabIsAProblem) {
  Dir("/var/spool/cron/crontabs/weird");
  Write("/var/spool/cron/crontabs/.hidden", "0 0 * * * /root/backup.sh\n");
  v1::BackupsFact f = Collect();
  EXPECT_EQ(f.collection().state(), v1::Collection::OK);
  EXPECT_THAT(f.cron_files(), IsEmpty());
  ASSERT_EQ(f.problems_size(), 1);
  EXPECT_EQ(f.problems(0).file(), "/var/spool/cron/crontabs/weird");
}

TEST_F(BackupsCollectorTest, CustomPathsAndTrailingSlash) {
  options_.backup_dir = "/srv/backups/";
  options_.restore_log = "/var/log/restore.log";
  Write("/srv/backups/2026-01-02/a.enc", "abc");
  Write("/var/log/restore.log", "done\n");
  v1::BackupsFact f = Collect();
  EXPECT_EQ(f.backup_dir(), "/srv/backups");
  EXPECT_TRUE(f.dir_present());
  ASSERT_EQ(f.entries_size(), 1);
  EXPECT_EQ(f.entries(0).size_bytes(), 3u);
  EXPECT_EQ(f.restore_log().path(), "/var/log/restore.log");
  EXPECT_TRUE(f.restore_log().present());
  EXPECT_EQ(f.restore_log().lines(), 1u);
}

TEST_F(BackupsCollectorTest, WalkIsBounded) {
  for (const char* d : {"2025-12-01", "2025-12-02", "2025-12-03"}) {
    for (int i = 0; i < 5; ++i) Write(absl::StrCat("/home/backup/backups/", d, "/f", i), "xx");
  }
  options_.max_walk_entries = 6;
  v1::BackupsFact f = Collect();
  EXPECT_EQ(f.collection().state(), v1::Collection::OK);
  EXPECT_TRUE(f.entries_truncated());
  ASSERT_EQ(f.entries_size(), 3);  // every entry listed before any walk
  EXPECT_EQ(f.entries(0).files(), 3u);
  EXPECT_EQ(f.entries(2).files(), 0u);

  options_.max_walk_entries = 2;
  f = Collect();
  EXPECT_TRUE(f.entries_truncated());
  EXPECT_EQ(f.entries_size(), 2);
}

TEST_F(BackupsCollectorTest, OversizedRestoreLog) {
  std::string content;
  for (int i = 0; i < 100; ++i) content += "restore step --passphrase=BigSecret1\n";
  Write("/var/log/opencrvs-restore.log", content);
  options_.max_file_bytes = 256;
  v1::BackupsFact f = Collect();
  EXPECT_EQ(f.collection().state(), v1::Collection::OK);
  EXPECT_TRUE(f.restore_log().present());
  EXPECT_EQ(f.restore_log().size_bytes(), content.size());
  EXPECT_GT(f.restore_log().mtime_unix(), 0);
  EXPECT_THAT(f.restore_log().tail(), IsEmpty());
  ASSERT_EQ(f.problems_size(), 1);
  EXPECT_EQ(f.problems(0).file(), "/var/log/opencrvs-restore.log");
  EXPECT_THAT(serialized_, Not(HasSubstr("BigSecret1")));
}

TEST_F(BackupsCollectorTest, RestoreLogNotAFileIsError) {
  Dir("/var/log/opencrvs-restore.log");
  v1::BackupsFact f = Collect();
  EXPECT_EQ(f.collection().state(), v1::Collection::ERROR);
  EXPECT_THAT(f.collection().error(), HasSubstr("/var/log/opencrvs-restore.log"));
}

}  // namespace
}  // namespace preflight::agent
