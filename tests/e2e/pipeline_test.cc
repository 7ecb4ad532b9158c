// The whole path with real processes: collector + agent --once on fixture
// roots + preflightctl, over real mutual TLS on a loopback port chosen by the
// kernel, with certificates made by certs/preflight-certs in the test.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "tests/support/cluster.h"
#include "tests/support/json.h"
#include "tests/support/pki.h"

namespace preflight::testing {
namespace {

v1::Inventory TwoHosts() {
  v1::Inventory inv;
  auto* prod = inv.add_hosts();
  prod->set_id("prod-01");
  prod->set_environment("production");
  prod->add_roles("manager");
  auto* staging = inv.add_hosts();
  staging->set_id("staging");
  staging->set_environment("staging");
  staging->add_roles("manager");
  auto* qa = inv.add_hosts();
  qa->set_id("qa");
  qa->set_environment("qa");
  return inv;
}

// "file:N" where N is the 1-based line of `file` (under `root`) whose text
// starts with `prefix`.
std::string LineOf(const std::string& root, const std::string& file, const std::string& prefix) {
  std::ifstream in(root + file);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (absl::StartsWith(line, prefix)) return absl::StrCat(file, ":", n);
  }
  ADD_FAILURE() << prefix << " not in " << root << file;
  return "";
}

const google::protobuf::Value& CheckOf(const google::protobuf::Value& host, const std::string& id) {
  const google::protobuf::Value* c = FindBy(Field(host, "checks"), "id", id);
  EXPECT_NE(c, nullptr) << "no check " << id;
  static const google::protobuf::Value kNull;
  return c == nullptr ? kNull : *c;
}

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest() : cluster_(TwoHosts()) {}
  void SetUp() override { cluster_.StartCollector(); }
  TestCluster cluster_;
};

TEST_F(PipelineTest, ReportFlowsToVerdictsAndFleetStatus) {
  std::string hardened = FixtureRoot("opencrvs-manager");
  std::string unhardened = FixtureRoot("unhardened-root");

  RunResult agent = cluster_.AgentOnce("prod-01", hardened);
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  EXPECT_TRUE(absl::StrContains(agent.err, "acked")) << agent.err;

  // The host's JSON: PASS, with the deciding file:line as evidence.
  RunResult host = cluster_.Ctl({"host", "prod-01", "--format", "json"});
  ASSERT_EQ(host.exit_code, 0) << host.err << host.out;
  auto h = ParseJson(host.out);
  EXPECT_EQ(Field(h, "host").string_value(), "prod-01");
  EXPECT_EQ(Field(h, "environment").string_value(), "production");
  EXPECT_FALSE(Field(h, "stale").bool_value());
  EXPECT_TRUE(absl::EndsWith(Field(h, "last_report").string_value(), "Z"));
  const auto& root_login = CheckOf(h, "ssh.root_login_disabled");
  EXPECT_EQ(Field(root_login, "status").string_value(), "PASS");
  EXPECT_EQ(Field(root_login, "severity").string_value(), "blocker");
  EXPECT_EQ(Field(root_login, "checklist_item").number_value(), 13);
  EXPECT_FALSE(Field(root_login, "title").string_value().empty());
  EXPECT_FALSE(Field(root_login, "remediation").string_value().empty());
  const auto& evidence = Field(root_login, "evidence").list_value();
  ASSERT_GE(evidence.values_size(), 1);
  EXPECT_EQ(Field(evidence.values(0), "source").string_value(),
            LineOf(hardened, "/etc/ssh/sshd_config", "PermitRootLogin"));

  // Fleet: not ready, because staging never reported; qa does not gate.
  RunResult status = cluster_.Ctl({"status", "--format", "json"});
  EXPECT_EQ(status.exit_code, 1) << status.err;
  auto fleet = ParseJson(status.out);
  EXPECT_FALSE(Field(fleet, "ready").bool_value());
  const auto* staging = FindBy(Field(fleet, "hosts"), "host", "staging");
  ASSERT_NE(staging, nullptr);
  EXPECT_TRUE(Field(*staging, "last_report").has_null_value());
  EXPECT_TRUE(Field(*staging, "stale").bool_value());
  EXPECT_TRUE(Field(fleet, "manual_items").has_list_value());
  bool staging_reason = false;
  for (const auto& r : Field(fleet, "reasons").list_value().values()) {
    staging_reason |= absl::StrContains(r.string_value(), "staging");
  }
  EXPECT_TRUE(staging_reason) << status.out;

  // Staging reports an unhardened sshd: FAIL, host exit 1, default named.
  agent = cluster_.AgentOnce("staging", unhardened);
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  host = cluster_.Ctl({"host", "staging", "--format", "json"});
  EXPECT_EQ(host.exit_code, 1);
  auto s = ParseJson(host.out);
  const auto& failing = CheckOf(s, "ssh.root_login_disabled");
  EXPECT_EQ(Field(failing, "status").string_value(), "FAIL");
  EXPECT_TRUE(absl::StrContains(host.out, "default")) << host.out;
  EXPECT_EQ(cluster_.Ctl({"status"}).exit_code, 1);

  // Staging fixed: the newer report replaces the verdict; only the manual
  // items keep the fleet from being ready (qa is not a gating environment and
  // never reported).
  agent = cluster_.AgentOnce("staging", hardened);
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  status = cluster_.Ctl({"status", "--format", "json"});
  EXPECT_EQ(status.exit_code, 1);
  auto fleet_now = ParseJson(status.out);
  for (const auto& r : Field(fleet_now, "reasons").list_value().values()) {
    EXPECT_TRUE(absl::StrContains(r.string_value(), "is PENDING")) << r.string_value();
  }
  for (const auto& item : Field(fleet_now, "manual_items").list_value().values()) {
    std::vector<std::string> attest = {"attest", Field(item, "id").string_value(),
                                       "--env",  Field(item, "environment").string_value(),
                                       "--note", "done"};
    RunResult a = cluster_.Ctl(attest);
    // Staging's restore job is missing from this fixture: its own evidence
    // says the restore item cannot hold, so a sign-off must say it knows.
    if (a.exit_code == 2 && absl::StrContains(a.err, "--despite-evidence")) {
      attest.push_back("--despite-evidence");
      a = cluster_.Ctl(attest);
    }
    ASSERT_EQ(a.exit_code, 0) << a.err;
  }
  status = cluster_.Ctl({"status", "--format", "json"});
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_TRUE(Field(ParseJson(status.out), "ready").bool_value()) << status.out;

  RunResult table = cluster_.Ctl({"status"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(table.out, "FLEET: READY")) << table.out;
  for (absl::string_view line : absl::StrSplit(table.out, '\n')) {
    EXPECT_LE(line.size(), 80u) << line;
  }
}

TEST_F(PipelineTest, DropInThatWinsIsTheEvidence) {
  std::string root = FixtureRoot("cloud-init-root");
  RunResult agent = cluster_.AgentOnce("staging", root);
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  RunResult host = cluster_.Ctl({"host", "staging", "--format", "json"});
  auto h = ParseJson(host.out);
  const auto& check = CheckOf(h, "ssh.root_login_disabled");
  EXPECT_EQ(Field(check, "status").string_value(), "FAIL");
  EXPECT_EQ(Field(Field(check, "evidence").list_value().values(0), "source").string_value(),
            LineOf(root, "/etc/ssh/sshd_config.d/50-cloud-init.conf", "PermitRootLogin"));
}

TEST_F(PipelineTest, HostTableIsReadableIn80Columns) {
  ASSERT_EQ(cluster_.AgentOnce("staging", FixtureRoot("unhardened-root")).exit_code, 0);
  RunResult host = cluster_.Ctl({"host", "staging"});
  EXPECT_EQ(host.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(host.out, "ssh.root_login_disabled")) << host.out;
  EXPECT_TRUE(absl::StrContains(host.out, "fix:")) << host.out;
  for (absl::string_view line : absl::StrSplit(host.out, '\n')) {
    EXPECT_LE(line.size(), 80u) << line;
  }
}

TEST_F(PipelineTest, ChecksCatalogue) {
  RunResult checks = cluster_.Ctl({"checks", "--format", "json"});
  ASSERT_EQ(checks.exit_code, 0) << checks.err;
  auto c = ParseJson(checks.out);
  const auto* root = FindBy(Field(c, "checks"), "id", "ssh.root_login_disabled");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(Field(*root, "checklist_item").number_value(), 13);
  EXPECT_EQ(cluster_.Ctl({"checks"}).exit_code, 0);
}

TEST_F(PipelineTest, UnknownHostAndUsageErrorsExit2) {
  RunResult r = cluster_.Ctl({"host", "nope"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "not in the inventory")) << r.err;
  EXPECT_EQ(cluster_.Ctl({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(cluster_.Ctl({"status", "--format", "yaml"}).exit_code, 2);
  RunResult no_cert = RunProcess({PREFLIGHT_CTL_BIN, "status"}, absl::Seconds(10));
  EXPECT_EQ(no_cert.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(no_cert.err, "--cert")) << no_cert.err;
  RunResult help = RunProcess({PREFLIGHT_CTL_BIN, "--help"}, absl::Seconds(10));
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(help.out, "exit codes")) << help.out;
}

TEST_F(PipelineTest, UnreachableCollectorExits3) {
  cluster_.StopCollector(SIGTERM);
  RunResult r = cluster_.Ctl({"status", "--timeout", "2"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "cannot reach")) << r.err;
}

TEST_F(PipelineTest, DryRunPrintsJsonAndSendsNothing) {
  std::string root = FixtureRoot("opencrvs-manager");
  RunResult r = RunProcess({PREFLIGHT_AGENT_BIN, "--dry-run", "--root", root}, absl::Seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto report = ParseJson(r.out);
  const auto& sshd = Field(report, "sshd");
  EXPECT_EQ(Field(Field(sshd, "collection"), "state").string_value(), "OK");
  std::vector<std::string> files;
  for (const auto& f : Field(sshd, "files").list_value().values()) {
    files.push_back(f.string_value());
  }
  EXPECT_EQ(files, (std::vector<std::string>{"/etc/ssh/sshd_config",
                                             "/etc/ssh/sshd_config.d/ssh-audit_hardening.conf"}));
  EXPECT_EQ(Field(report, "hostname").string_value(), "prod-01");
  EXPECT_EQ(Field(report, "root").string_value(), root);

  // With a config: still nothing sent and nothing spooled.
  std::string config = cluster_.AgentConfig("prod-01");
  r = RunProcess({PREFLIGHT_AGENT_BIN, "--config", config, "--dry-run", "--root", root},
                 absl::Seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(absl::StrContains(cluster_.collector_log(), "stored report"));
  EXPECT_NE(access(cluster_.SpoolDir("prod-01").c_str(), F_OK), 0) << "dry run made a spool";
}

// Exported passwords in history files: counted and located, never sent.
TEST_F(PipelineTest, HistorySecretsNeverLeaveTheHost) {
  RunResult agent = cluster_.AgentOnce("prod-01", FixtureRoot("history-secrets"));
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  std::string seen = agent.out + agent.err;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"host", "prod-01"},
        std::vector<std::string>{"host", "prod-01", "--format", "json"},
        std::vector<std::string>{"status"},
        std::vector<std::string>{"status", "--format", "json"}}) {
    RunResult r = cluster_.Ctl(args);
    seen += r.out + r.err;
  }
  EXPECT_TRUE(absl::StrContains(seen, "shell.history_cleared")) << seen;
  EXPECT_TRUE(absl::StrContains(seen, "secret-assignment")) << seen;
  cluster_.StopCollector(SIGTERM);
  seen += cluster_.collector_log();
  // Every file of the collector's RocksDB directory, byte for byte.
  RunResult files = RunProcess({"find", cluster_.data_dir(), "-type", "f"}, absl::Seconds(10));
  for (absl::string_view path : absl::StrSplit(files.out, '\n', absl::SkipEmpty())) {
    seen += ReadFile(std::string(path));
  }
  EXPECT_GT(seen.size(), 1000u);
  // The report is in the store in clear (the WAL): the search looks where it is.
  std::string store_bytes;
  for (absl::string_view path : absl::StrSplit(files.out, '\n', absl::SkipEmpty())) {
    store_bytes += ReadFile(std::string(path));
  }
  EXPECT_TRUE(absl::StrContains(store_bytes, "/home/alice/.bash_history"));
  EXPECT_FALSE(absl::StrContains(seen, "HistSecret"));
  // The backup passphrase in root's crontab: the job is shown, masked.
  EXPECT_TRUE(absl::StrContains(seen, "--passphrase=****")) << seen;
  EXPECT_FALSE(absl::StrContains(seen, "BackupSecretPass42"));
  // The spool too (the report was acked and removed, but check what is left).
  RunResult spool = RunProcess(
      {"grep", "-r", "-e", "HistSecret", "-e", "BackupSecretPass42", cluster_.SpoolDir("prod-01")},
      absl::Seconds(10));
  EXPECT_NE(spool.exit_code, 0) << spool.out;
}

// Secrets in every shape the masking module knows (agent/facts/mask.h),
// planted in each fact that carries a command or an option: root's crontab,
// the restore log, authorized_keys options and a sudoers rule. Each secret
// holds a marker (Pl4nted, PL4NTED); no byte of it may reach the agent's
// output, the spool, any RocksDB file, the collector's log, any CLI output
// or any export format. The masked forms do reach the store.
TEST_F(PipelineTest, PlantedSecretsInEveryShapeNeverLeaveTheHost) {
  const std::string root = cluster_.dir().Join("secrets-root");
  ASSERT_EQ(
      RunProcess({"cp", "-a", FixtureRoot("history-secrets"), root}, absl::Seconds(30)).exit_code,
      0);
  int n = 0;
  auto secret = [&n] { return absl::StrCat("Pl4nted", ++n, "Zz"); };
  auto plant = [&](absl::string_view shape) {
    return absl::StrReplaceAll(shape, {{"{}", secret()}});
  };
  std::string crontab = ReadFile(root + "/var/spool/cron/crontabs/root");
  for (absl::string_view shape : {
           "MYSQL_PWD={} mysqldump -u root opencrvs > /b/db.sql",
           "DB_PWD={} /root/restore.sh",
           "PGPASSWORD={} pg_dump -U postgres opencrvs > /b/pg.sql",
           "mysqldump -uroot -p{} opencrvs > /b/x.sql",
           "/root/backup.sh --password {} --remote_dir=/b",
           "curl -u elastic:{} -X PUT http://localhost:9200/_snapshot/b",
           "docker login -u bot -p {} registry.example.com",
           "ldapsearch -x -D cn=admin,dc=x -w {} -b dc=x",
           "curl -d @m.json https://hooks.slack.com/services/T0000/B0000/{}",
           "curl https://api.telegram.org/bot123456789:{}/sendMessage",
           "sshpass -p {} rsync -a /b/ backup@10.0.0.2:/b/",
           "git clone https://oauth2:{}@gitlab.com/x/infra.git /opt/infra",
           "echo ghp_{}000000000000000 > /tmp/t",
           "echo eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.{} | /root/notify.sh",
           "echo AIzaSy{}00000000000000000000000000 > /tmp/k",
           "echo 'deploy:{}' | chpasswd",
           "rabbitmqctl add_user ops {}",
           "mc alias set minio http://minio:9000 minioadmin {}",
           "htpasswd -b /etc/nginx/.htpasswd admin {}",
           "curl -H 'Authorization: Bearer {}' https://x/api",
           "redis-cli -a {} BGSAVE",
           "openssl enc -aes-256-cbc -pass pass:{} -in /b/x -out /b/x.enc",
           "zip -P {} /b/files.zip /data",
           "aws configure set aws_secret_access_key {}",
           "curl -d '{\"password\":\"{}\"}' https://x/login",
           "su - postgres -c \"PGPASSWORD={} pg_dumpall > /b/all.sql\"",
       }) {
    // Only backup, download, restore and rotate jobs are sent: each line
    // also runs backup.sh.
    absl::StrAppend(&crontab, "0 2 * * * ", plant(shape), " ; bash /root/backup.sh\n");
  }
  absl::StrAppend(&crontab,
                  "0 3 * * * echo AKIAPL4NTED00000AWS1 > /tmp/aws; bash /root/backup.sh\n");
  WriteFile(root + "/var/spool/cron/crontabs/root", crontab, 0600);

  // The restore log: its last five lines are sent, masked.
  WriteFile(
      root + "/var/log/opencrvs-restore.log",
      absl::StrCat("Wed Dec 31 01:00:01 UTC 2025 Restoring 2025-12-31\n",
                   plant("mongorestore --uri=mongodb://admin:{}@mongo1/?authSource=admin"), "\n",
                   plant("smbclient //nas/backups -U backup%{} -c 'get db.sql'"), "\n",
                   plant("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ{}0KeyMaterial"), "\n",
                   plant("ldapsearch -x -w {} -b dc=x"), "\n",
                   plant("Wed Dec 31 01:04:55 UTC 2025 ERROR: login failed, password={}"), "\n"));

  // authorized_keys options and a sudoers rule.
  const std::string key =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl restore";
  std::string keys = ReadFile(root + "/home/alice/.ssh/authorized_keys");
  absl::StrAppend(&keys, plant("command=\"/usr/local/bin/restore --password={}\","),
                  plant("environment=\"DBPASS={}\",no-pty "), key, "\n",
                  plant("command=\"mysqldump -uroot -p{} opencrvs\",from=\"10.0.0.0/8\" "), key,
                  "\n");
  WriteFile(root + "/home/alice/.ssh/authorized_keys", keys, 0600);
  WriteFile(root + "/etc/sudoers.d/restore",
            plant(absl::StrCat("backup ALL=(root) NOPASSWD: /usr/bin/mysqldump -uroot -p{} x, ",
                               "/usr/bin/smbclient //nas/b -U backup%", "{}",
                               " -c ls, /usr/bin/curl -u ops:{} https://x\n")),
            0440);
  ASSERT_GE(n, 30);

  RunResult agent = cluster_.AgentOnce("prod-01", root);
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  std::string seen = agent.out + agent.err;
  std::vector<std::vector<std::string>> commands = {{"host", "prod-01"},
                                                    {"host", "prod-01", "--format", "json"},
                                                    {"status"},
                                                    {"status", "--format", "json"},
                                                    {"history", "prod-01"},
                                                    {"diff", "prod-01"},
                                                    {"audit"}};
  for (const char* format : {"md", "csv", "json", "html", "junit"}) {
    const std::string path = cluster_.dir().Join(absl::StrCat("secrets.", format));
    RunResult e = cluster_.Ctl({"export", "--format", format, "--output", path});
    EXPECT_LE(e.exit_code, 1) << format << ": " << e.err;  // 1: the fleet is not ready
    const std::string doc = ReadFile(path);
    EXPECT_FALSE(doc.empty()) << format;
    seen += e.out + e.err + doc;
  }
  for (const std::vector<std::string>& args : commands) {
    RunResult r = cluster_.Ctl(args);
    seen += r.out + r.err;
  }
  cluster_.StopCollector(SIGTERM);
  seen += cluster_.collector_log();
  RunResult files = RunProcess({"find", cluster_.data_dir(), "-type", "f"}, absl::Seconds(10));
  std::string store_bytes;
  for (absl::string_view path : absl::StrSplit(files.out, '\n', absl::SkipEmpty())) {
    store_bytes += ReadFile(std::string(path));
  }
  RunResult spool =
      RunProcess({"find", cluster_.SpoolDir("prod-01"), "-type", "f"}, absl::Seconds(10));
  for (absl::string_view path : absl::StrSplit(spool.out, '\n', absl::SkipEmpty())) {
    seen += ReadFile(std::string(path));
  }
  seen += store_bytes;
  EXPECT_GT(seen.size(), 1000u);
  for (const std::string marker : {"Pl4nted", "PL4NTED"}) {
    size_t at = seen.find(marker);
    EXPECT_EQ(at, std::string::npos)
        << marker << " leaked: …"
        << seen.substr(at == std::string::npos ? 0 : at - std::min<size_t>(at, 120), 240) << "…";
  }
  // The facts do travel, masked: the report as the agent would send it.
  RunResult dry = RunProcess({PREFLIGHT_AGENT_BIN, "--config",
                              std::string(PREFLIGHT_FIXTURES) + "/../../deploy/agent.textproto",
                              "--dry-run", "--root", root},
                             absl::Seconds(30));
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(dry.out.find("Pl4nted"), std::string::npos);
  EXPECT_EQ(dry.out.find("PL4NTED"), std::string::npos);
  for (absl::string_view want :
       {"MYSQL_PWD=****", "-p****", "curl -u elastic:****", "hooks.slack.com/services/****",
        "api.telegram.org/bot****/sendMessage", "restore --password=****", "DBPASS=****",
        "backup%****", "https://oauth2:****@gitlab.com", "rabbitmqctl add_user ops ****",
        "echo 'deploy:****' | chpasswd", "ldapsearch -x -w ****"}) {
    EXPECT_TRUE(absl::StrContains(dry.out, want)) << want;
  }
  // Every planted cron line was sent (masked), not dropped.
  size_t masked_jobs = 0;
  for (size_t p = dry.out.find("\"masked\": true"); p != std::string::npos;
       p = dry.out.find("\"masked\": true", p + 1)) {
    ++masked_jobs;
  }
  EXPECT_GE(masked_jobs, 28u) << dry.out;
}

TEST(ExampleConfigs, DeployExamplesAreValid) {
  std::string deploy = std::string(PREFLIGHT_FIXTURES) + "/../../deploy/";
  // The example as shipped, with its /etc/preflight files made by certs/
  // (--check-config reads them and matches the key to the certificate).
  TempDir dir;
  TestPki pki(dir.Join("pki"), "opencrvs.example.gov");
  std::string config = ReadFile(deploy + "collector.textproto");
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"/etc/preflight/collector.pem", pki.CollectorTls().cert_file()},
           {"/etc/preflight/collector.key", pki.CollectorTls().key_file()},
           {"/etc/preflight/ca.pem", pki.ca()},
           {"/etc/preflight/crl.pem", pki.crl()},
           {"inventory.textproto", deploy + "inventory.textproto"},
           {"policy.textproto", deploy + "policy.textproto"}}) {
    config = absl::StrReplaceAll(config, {{"\"" + from + "\"", "\"" + to + "\""}});
  }
  WriteFile(dir.Join("collector.textproto"), config);
  RunResult c = RunProcess(
      {PREFLIGHT_COLLECTOR_BIN, "--config", dir.Join("collector.textproto"), "--check-config"},
      absl::Seconds(30));
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  EXPECT_TRUE(absl::StrContains(c.out, "valid")) << c.out;
  // A notifications block the notifier would refuse fails the check, naming
  // the file (a running collector would log it and go on without them).
  WriteFile(
      dir.Join("bad-notify.textproto"),
      config + "\nnotifications { webhook { name: \"ops\" url: \"http://hooks.example\" } }\n");
  RunResult bad = RunProcess(
      {PREFLIGHT_COLLECTOR_BIN, "--config", dir.Join("bad-notify.textproto"), "--check-config"},
      absl::Seconds(30));
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;
  EXPECT_TRUE(absl::StrContains(bad.err, dir.Join("bad-notify.textproto") + ": notifications: "))
      << bad.err;
  RunResult a = RunProcess({PREFLIGHT_AGENT_BIN, "--config", deploy + "agent.textproto",
                            "--dry-run", "--root", FixtureRoot("opencrvs-manager")},
                           absl::Seconds(30));
  EXPECT_EQ(a.exit_code, 0) << a.err;
}

TEST_F(PipelineTest, AgentUsageErrors) {
  EXPECT_EQ(RunProcess({PREFLIGHT_AGENT_BIN}, absl::Seconds(10)).exit_code, 2);
  EXPECT_EQ(RunProcess({PREFLIGHT_AGENT_BIN, "--bogus"}, absl::Seconds(10)).exit_code, 2);
  TempDir dir;
  WriteFile(dir.Join("bad.textproto"), "collector: \"x:1\"\nnot_a_field: 3\n");
  RunResult r = RunProcess({PREFLIGHT_AGENT_BIN, "--config", dir.Join("bad.textproto"), "--once"},
                           absl::Seconds(10));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(r.err, dir.Join("bad.textproto") + ":2:")) << r.err;
}

}  // namespace
}  // namespace preflight::testing
