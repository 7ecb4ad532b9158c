// Tests for the masking module (agent/facts/mask.h): a table of real command
// lines in the shapes their tools document (secret masked, the rest kept),
// lines that must stay as they are, the rule names reported, the
// authorized_keys and sudoers entry points and the parsers that use them,
// and bounded time on hostile input.
#include "agent/facts/mask.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/facts/accounts.h"
#include "agent/facts/authorized_keys.h"

namespace preflight::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

struct Case {
  const char* line;
  const char* want;
  const char* rule;  // one of the rules that must be reported
};

// Command lines as found in crontabs, backup scripts' logs and runbooks,
// in the forms the tools' own documentation gives.
const Case kCases[] = {
    // MySQL / MariaDB: MYSQL_PWD, -pPASSWORD (no space), --password=.
    {"MYSQL_PWD=S3cret mysqldump -u root opencrvs > /backups/db.sql",
     "MYSQL_PWD=**** mysqldump -u root opencrvs > /backups/db.sql", "assignment"},
    {"mysqldump -u root -pS3cret --all-databases | gzip > /b/all.sql.gz",
     "mysqldump -u root -p**** --all-databases | gzip > /b/all.sql.gz", "client-flag"},
    {"mysql --user=root --password=S3cret -e 'SHOW DATABASES'",
     "mysql --user=root --password=**** -e 'SHOW DATABASES'", "option"},
    {"mariadb-dump -uroot -p'S3 cret' opencrvs", "mariadb-dump -uroot -p**** opencrvs",
     "client-flag"},
    {"docker exec mysql sh -c 'exec mysqldump --all-databases -uroot -p\"$MYSQL_ROOT_PASSWORD\"'",
     "docker exec mysql sh -c 'exec mysqldump --all-databases -uroot -p****'", "client-flag"},
    {"DB_PWD=S3cret ./restore.sh", "DB_PWD=**** ./restore.sh", "assignment"},
    {"export MYSQL_ROOT_PWD='S3cret'", "export MYSQL_ROOT_PWD=****", "assignment"},
    // PostgreSQL.
    {"PGPASSWORD=S3cret pg_dump -h db -U postgres -Fc opencrvs > /b/pg.dump",
     "PGPASSWORD=**** pg_dump -h db -U postgres -Fc opencrvs > /b/pg.dump", "assignment"},
    {"psql \"host=db port=5432 user=app password=S3cret dbname=x\"",
     "psql \"host=db port=5432 user=app password=**** dbname=x\"", "assignment"},
    {"pg_dump --dbname=postgresql://app:S3cret@db:5432/opencrvs -f /b/x.sql",
     "pg_dump --dbname=postgresql://app:****@db:5432/opencrvs -f /b/x.sql", "url-credentials"},
    // MongoDB.
    {"mongodump --uri=\"mongodb://admin:S3cret@mongo1:27017/?authSource=admin\" --gzip",
     "mongodump --uri=\"mongodb://admin:****@mongo1:27017/?authSource=admin\" --gzip",
     "url-credentials"},
    {"mongosh -u admin -p S3cret --authenticationDatabase admin --eval 'db.stats()'",
     "mongosh -u admin -p **** --authenticationDatabase admin --eval 'db.stats()'", "client-flag"},
    {"mongorestore --username admin --password S3cret --drop /b/mongo",
     "mongorestore --username admin --password **** --drop /b/mongo", "option"},
    // Redis.
    {"redis-cli -a S3cret --no-auth-warning BGSAVE", "redis-cli -a **** --no-auth-warning BGSAVE",
     "client-flag"},
    {"REDISCLI_AUTH=S3cret redis-cli ping", "REDISCLI_AUTH=**** redis-cli ping", ""},
    // sshpass.
    {"sshpass -p 'S3cret' rsync -a /b/ backup@10.0.0.2:/b/",
     "sshpass -p **** rsync -a /b/ backup@10.0.0.2:/b/", "client-flag"},
    {"sshpass -pS3cret ssh backup@host", "sshpass -p**** ssh backup@host", "client-flag"},
    {"SSHPASS=S3cret sshpass -e scp x backup@host:", "SSHPASS=**** sshpass -e scp x backup@host:",
     "assignment"},
    // curl, wget, httpie.
    {"curl -u elastic:S3cret -X PUT http://localhost:9200/_snapshot/backup",
     "curl -u elastic:**** -X PUT http://localhost:9200/_snapshot/backup", "client-flag"},
    {"curl --user 'elastic:S3cret' http://es:9200/_cat/indices",
     "curl --user 'elastic:****' http://es:9200/_cat/indices", "client-flag"},
    {"curl -s -uadmin:S3cret https://x/api", "curl -s -uadmin:**** https://x/api", "client-flag"},
    {"curl -H \"Authorization: Bearer abc.def.ghi\" https://api/x",
     "curl -H \"Authorization: Bearer ****\" https://api/x", "header"},
    {"curl -H 'PRIVATE-TOKEN: S3cretTok' https://gitlab.example/api/v4/projects",
     "curl -H 'PRIVATE-TOKEN: ****' https://gitlab.example/api/v4/projects", "header"},
    {"curl -d '{\"username\":\"ops\",\"password\":\"S3cret\"}' https://x/login",
     "curl -d '{\"username\":\"ops\",\"password\":\"****\"}' https://x/login", "json"},
    {"curl -d \"username=ops&password=S3cret&remember=1\" https://x/login",
     "curl -d \"username=ops&password=****&remember=1\" https://x/login", "assignment"},
    {"curl --cert /etc/ssl/client.pem:S3cret https://x",
     "curl --cert /etc/ssl/client.pem:**** https://x", "client-flag"},
    {"wget --user=backup --password=S3cret https://x/b.tgz",
     "wget --user=backup --password=**** https://x/b.tgz", "option"},
    {"wget -q -O- 'https://x/export?api_key=S3cret&format=csv'",
     "wget -q -O- 'https://x/export?api_key=****&format=csv'", "assignment"},
    {"http -a admin:S3cret POST https://x/api", "http -a admin:**** POST https://x/api",
     "client-flag"},
    // URLs with credentials.
    {"git clone https://oauth2:S3cretTok@gitlab.com/org/infra.git",
     "git clone https://oauth2:****@gitlab.com/org/infra.git", "url-credentials"},
    {"rsync -a /b/ rsync://backup:S3cret@10.0.0.2/b", "rsync -a /b/ rsync://backup:****@10.0.0.2/b",
     "url-credentials"},
    {"lftp -u backup,S3cret sftp://10.0.0.2 -e 'mirror -R /b /b; quit'",
     "lftp -u backup,**** sftp://10.0.0.2 -e 'mirror -R /b /b; quit'", "client-flag"},
    // Registries.
    {"docker login -u bot -p S3cret registry.example.com",
     "docker login -u bot -p **** registry.example.com", "client-flag"},
    {"docker login --username bot --password S3cret ghcr.io",
     "docker login --username bot --password **** ghcr.io", "option"},
    {"echo S3cret | docker login -u bot --password-stdin ghcr.io",
     "echo **** | docker login -u bot --password-stdin ghcr.io", "stdin-secret"},
    {"podman login -u bot -pS3cret quay.io", "podman login -u bot -p**** quay.io", "client-flag"},
    {"helm registry login -u bot -p S3cret registry.example.com",
     "helm registry login -u bot -p **** registry.example.com", "client-flag"},
    // LDAP, Samba.
    {"ldapsearch -x -H ldap://dc1 -D cn=admin,dc=x -w S3cret -b dc=x",
     "ldapsearch -x -H ldap://dc1 -D cn=admin,dc=x -w **** -b dc=x", "client-flag"},
    {"ldapmodify -x -D cn=admin,dc=x -wS3cret -f change.ldif",
     "ldapmodify -x -D cn=admin,dc=x -w**** -f change.ldif", "client-flag"},
    {"smbclient //nas/backups -U backup%S3cret -c 'put db.sql'",
     "smbclient //nas/backups -U backup%**** -c 'put db.sql'", "client-flag"},
    {"smbclient //nas/backups S3cret -U backup", "smbclient //nas/backups **** -U backup",
     "positional"},
    {"mount -t cifs //nas/b /mnt/b -o username=backup,password=S3cret,vers=3.0",
     "mount -t cifs //nas/b /mnt/b -o username=backup,password=****,vers=3.0", "assignment"},
    {"net ads join -U Administrator%S3cret", "net ads join -U Administrator%****", "client-flag"},
    // Chat webhooks and bots.
    {"curl -X POST -d @msg.json https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXX",
     "curl -X POST -d @msg.json https://hooks.slack.com/services/****", "webhook-url"},
    {"curl -s \"https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/"
     "sendMessage?chat_id=-100123&text=backup+ok\"",
     "curl -s \"https://api.telegram.org/bot****/sendMessage?chat_id=-100123&text=backup+ok\"",
     "telegram-bot"},
    {"TELEGRAM_BOT=123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw notify.sh",
     "TELEGRAM_BOT=123456789:**** notify.sh", "token"},
    {"curl -H 'Content-Type: application/json' -d '{\"content\":\"ok\"}' "
     "https://discord.com/api/webhooks/1234567890/abcDEF_ghi-JKL",
     "curl -H 'Content-Type: application/json' -d '{\"content\":\"ok\"}' "
     "https://discord.com/api/webhooks/****",
     "webhook-url"},
    // Cloud keys and tokens.
    {"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCY "
     "aws s3 sync /b s3://bucket",
     "AWS_ACCESS_KEY_ID=**** AWS_SECRET_ACCESS_KEY=**** aws s3 sync /b s3://bucket", "token"},
    {"aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCY",
     "aws configure set aws_secret_access_key ****", "positional"},
    {"curl "
     "'https://maps.googleapis.com/maps/api/geocode/"
     "json?address=x&key=AIzaSyA1234567890abcdefghijklmnopqrstuvw'",
     "curl 'https://maps.googleapis.com/maps/api/geocode/json?address=x&key=****'", "assignment"},
    {"gcloud storage cp x gs://b --access-token-file=/run/t && echo "
     "AIzaSyA1234567890abcdefghijklmnopqrstuvw",
     "gcloud storage cp x gs://b --access-token-file=/run/t && echo ****", "token"},
    {"mc alias set minio http://minio:9000 minioadmin S3cretKey",
     "mc alias set minio http://minio:9000 minioadmin ****", "positional"},
    {"MINIO_ROOT_PASSWORD=S3cret docker compose up -d",
     "MINIO_ROOT_PASSWORD=**** docker compose up -d", "assignment"},
    {"GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789 gh release list",
     "GITHUB_TOKEN=**** gh release list", "token"},
    {"vault login hvs.CAESIJlU9YGuAbcdefGhijklmNopqrstuv", "vault login ****", "positional"},
    {"kubectl --token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl get pods",
     "kubectl --token=**** get pods", "token"},
    {"kubectl create secret generic db --from-literal=password=S3cret",
     "kubectl create secret generic db --from-literal=password=****", "assignment"},
    // Encryption, archives, keys.
    {"openssl enc -aes-256-cbc -pbkdf2 -pass pass:S3cret -in db.sql -out db.sql.enc",
     "openssl enc -aes-256-cbc -pbkdf2 -pass pass:**** -in db.sql -out db.sql.enc", "option"},
    {"openssl pkcs12 -export -in c.pem -passout 'pass:S3cret' -out c.p12",
     "openssl pkcs12 -export -in c.pem -passout 'pass:****' -out c.p12", "option"},
    {"gpg --batch --pinentry-mode loopback --passphrase S3cret -c db.sql",
     "gpg --batch --pinentry-mode loopback --passphrase **** -c db.sql", "option"},
    {"zip -r -P S3cret /b/files.zip /data", "zip -r -P **** /b/files.zip /data", "client-flag"},
    {"7z a -pS3cret -mhe=on /b/x.7z /data", "7z a -p**** -mhe=on /b/x.7z /data", "client-flag"},
    {"ssh-keygen -t ed25519 -N 'S3cret' -f /root/.ssh/id_backup",
     "ssh-keygen -t ed25519 -N **** -f /root/.ssh/id_backup", "client-flag"},
    {"BORG_PASSPHRASE=S3cret borg create /b::{now} /data",
     "BORG_PASSPHRASE=**** borg create /b::{now} /data", "assignment"},
    {"RESTIC_PASSWORD=S3cret restic -r s3:s3.amazonaws.com/b backup /data",
     "RESTIC_PASSWORD=**** restic -r s3:s3.amazonaws.com/b backup /data", "assignment"},
    {"keytool -importkeystore -srcstorepass S3cret -deststorepass S3cret2 -destkeystore k.jks",
     "keytool -importkeystore -srcstorepass **** -deststorepass **** -destkeystore k.jks",
     "option"},
    // Accounts.
    {"echo 'deploy:S3cret' | chpasswd", "echo 'deploy:****' | chpasswd", "stdin-secret"},
    {"echo S3cret | sudo -S systemctl restart nginx", "echo **** | sudo -S systemctl restart nginx",
     "stdin-secret"},
    {"htpasswd -bc /etc/nginx/.htpasswd admin S3cret",
     "htpasswd -bc /etc/nginx/.htpasswd admin ****", "positional"},
    {"rabbitmqctl add_user opencrvs S3cret", "rabbitmqctl add_user opencrvs ****", "positional"},
    {"useradd -m -p '$6$salt$hash' deploy", "useradd -m -p **** deploy", "client-flag"},
    // Other clients.
    {"sqlcmd -S db -U sa -P S3cret -Q 'BACKUP DATABASE x'",
     "sqlcmd -S db -U sa -P **** -Q 'BACKUP DATABASE x'", "client-flag"},
    {"sqlplus -s system/S3cret@//db:1521/ORCL @backup.sql",
     "sqlplus -s system/****@//db:1521/ORCL @backup.sql", "positional"},
    {"mosquitto_pub -h mqtt -u ops -P S3cret -t backups -m ok",
     "mosquitto_pub -h mqtt -u ops -P **** -t backups -m ok", "client-flag"},
    {"ipmitool -I lanplus -H 10.0.0.9 -U admin -P S3cret power status",
     "ipmitool -I lanplus -H 10.0.0.9 -U admin -P **** power status", "client-flag"},
    {"snmpwalk -v3 -l authPriv -u ops -a SHA -A S3cret1 -x AES -X S3cret2 10.0.0.1",
     "snmpwalk -v3 -l authPriv -u ops -a SHA -A **** -x AES -X **** 10.0.0.1", "client-flag"},
    {"xfreerdp /v:10.0.0.5 /u:admin /p:S3cret", "xfreerdp /v:10.0.0.5 /u:admin /p:****",
     "client-flag"},
    {"ansible-playbook site.yml -e 'ansible_become_pass=S3cret'",
     "ansible-playbook site.yml -e 'ansible_become_pass=****'", "assignment"},
    {"skopeo copy --dest-creds bot:S3cret docker://a docker://b",
     "skopeo copy --dest-creds bot:**** docker://a docker://b", "option"},
    {"java -jar app.jar --spring.datasource.password=S3cret",
     "java -jar app.jar --spring.datasource.password=****", "assignment"},
    {"Server=db;Database=x;User Id=sa;Password=S3cret;Encrypt=true",
     "Server=db;Database=x;User Id=sa;Password=****;Encrypt=true", "assignment"},
    // Nested: a secret inside a quoted command.
    {"su - postgres -c \"PGPASSWORD=S3cret pg_dumpall > /b/all.sql\"",
     "su - postgres -c \"PGPASSWORD=****\"", "assignment"},  // "NAME=a b" is one value
    {"ssh backup@host 'mysqldump -uroot -pS3cret x' > /b/x.sql",
     "ssh backup@host 'mysqldump -uroot -p**** x' > /b/x.sql", "client-flag"},
    // Private keys and JWTs.
    {"echo '-----BEGIN OPENSSH PRIVATE KEY-----' > /root/.ssh/id", "****", "private-key"},
    {"TOKEN=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig_nature-x1 ./notify.sh",
     "TOKEN=**** ./notify.sh", "token"},
};

TEST(MaskTable, RealCommandLines) {
  ASSERT_GE(std::size(kCases), 60u);
  for (const Case& c : kCases) {
    MaskResult r = MaskCommandLine(c.line);
    EXPECT_EQ(r.text, c.want) << c.line;
    EXPECT_TRUE(r.masked()) << c.line;
    if (*c.rule != '\0') {
      EXPECT_THAT(r.rules, testing::Contains(c.rule)) << c.line;
    }
    EXPECT_THAT(r.text, Not(HasSubstr("S3cret"))) << c.line;
    // Masking is idempotent: a masked line masks to itself.
    EXPECT_EQ(MaskCommandLine(r.text).text, r.text) << c.line;
  }
}

// Lines that must come back unchanged.
const char* const kUntouched[] = {
    // clang-format off
    "0 3 * * * /opt/opencrvs/infrastructure/backups/backup.sh --remote_dir=/home/backup/b >> /var/log/opencrvs-backup.log 2>&1",
    // clang-format on
    "docker run -d -p 8080:80 --user 1000:1000 nginx",
    "mysql -u root -p opencrvs",
    "mysql -P3306 -h db",
    "curl -u bot https://x",
    "curl -sSf https://user@host/path",
    "echo $PASSWORD | docker login --password-stdin -u bot registry",
    "cd $PWD && OLDPWD=/tmp ls",
    "ssh-keygen -t ed25519 -N '' -f /root/.ssh/id",
    "openssl enc -d -pass env:BACKUP_PASS -in x -out y",
    "openssl rsa -passin file:/run/pw -in k.pem",
    "gpg --passphrase-file /root/.pass -d x",
    "docker login --password-stdin ghcr.io < /run/token",
    "rabbitmqctl list_users",
    "aws configure set region eu-west-1",
    "aws s3 cp /b s3://bucket/ --sse AES256",
    "smbclient -L nas -U backup",
    "git log --format=%H -n 1",
    "tar -C /tmp -xzf /b/x.tgz",
    "ls -la /var/lib/mysql && du -sh /data",
    "https://hooks.example.com/services/ok",
    "mc ls minio/backups",
    "sudo -u postgres pg_dump x",
    "printf '%s\\n' \"$PW\" | docker login --password-stdin",
    "useradd -m -s /bin/bash deploy",
    "zip -r /b/x.zip /data",
    "ldapsearch -x -W -D cn=admin -b dc=x",
    "",
};

TEST(MaskTable, OrdinaryLinesStay) {
  for (const char* line : kUntouched) {
    MaskResult r = MaskCommandLine(line);
    EXPECT_EQ(r.text, line);
    EXPECT_FALSE(r.masked()) << line;
    EXPECT_THAT(r.rules, testing::IsEmpty()) << line;
  }
}

TEST(Mask, RulesAreSortedAndUnique) {
  MaskResult r = MaskCommandLine("PASSWORD=a TOKEN=b curl -u x:y https://u:p@h");
  EXPECT_THAT(r.rules, ElementsAre("assignment", "client-flag", "url-credentials"));
}

TEST(Mask, MultiLineAndKeyBlocks) {
  MaskResult r = MaskCommandLine(
      "ok line\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n"
      "PASSWORD=x");
  EXPECT_EQ(r.text, "ok line\n****\n****\n****\nPASSWORD=****");
  EXPECT_THAT(r.rules, ElementsAre("assignment", "private-key"));
}

TEST(Mask, HereStrings) {
  EXPECT_EQ(MaskSecrets("docker login -u bot --password-stdin ghcr.io <<< 'S3cret'"),
            "docker login -u bot --password-stdin ghcr.io <<< ****");
  EXPECT_EQ(MaskSecrets("chpasswd <<< \"$CREDS\""), "chpasswd <<< \"$CREDS\"");
}

TEST(AuthorizedKeysOption, CommandAndEnvironmentMasked) {
  EXPECT_EQ(MaskAuthorizedKeysOption("command=\"/usr/local/bin/backup --password=S3cret\""),
            "command=\"/usr/local/bin/backup --password=****\"");
  EXPECT_EQ(MaskAuthorizedKeysOption("environment=\"DBPASS=S3cret\""),
            "environment=\"DBPASS=****\"");
  EXPECT_EQ(MaskAuthorizedKeysOption("command=\"mysqldump -uroot -pS3cret x\""),
            "command=\"mysqldump -uroot -p**** x\"");
  bool masked = true;
  EXPECT_EQ(MaskAuthorizedKeysOption("from=\"10.0.0.0/8,192.168.1.*\"", &masked),
            "from=\"10.0.0.0/8,192.168.1.*\"");
  EXPECT_FALSE(masked);
  EXPECT_EQ(MaskAuthorizedKeysOption("command=\"/usr/bin/rrsync -ro /b\"", &masked),
            "command=\"/usr/bin/rrsync -ro /b\"");
  EXPECT_FALSE(masked);
  EXPECT_EQ(MaskAuthorizedKeysOption("restrict"), "restrict");
  EXPECT_EQ(MaskAuthorizedKeysOption("environment=\"PATH=/usr/bin\""),
            "environment=\"PATH=/usr/bin\"");
}

TEST(SudoersCommands, EachCommandMaskedSeparatorsKept) {
  bool masked = false;
  EXPECT_EQ(
      MaskSudoersCommands("/usr/bin/mysql -uroot -pS3cret, /bin/systemctl restart nginx", &masked),
      "/usr/bin/mysql -uroot -p****, /bin/systemctl restart nginx");
  EXPECT_TRUE(masked);
  EXPECT_EQ(MaskSudoersCommands("ALL, !/usr/bin/su", &masked), "ALL, !/usr/bin/su");
  EXPECT_FALSE(masked);
  EXPECT_EQ(MaskSudoersCommands("/usr/bin/curl -u ops:S3cret https://x, /bin/ls\\, -l"),
            "/usr/bin/curl -u ops:**** https://x, /bin/ls\\, -l");
  EXPECT_EQ(MaskSudoersCommands("/x \\"), "/x \\");
}

TEST(SudoersCommands, ParseSudoersMasksCommandLines) {
  std::vector<v1::SudoRule> rules;
  std::vector<std::string> includes;
  std::map<std::string, std::vector<std::string>> aliases;
  std::vector<v1::ParseProblem> problems;
  ParseSudoers(
      "backup ALL=(root) NOPASSWD: /usr/bin/mysqldump -uroot -pS3cret opencrvs, "
      "/usr/bin/sshpass -p S3cret2 rsync\n"
      "alice ALL=(ALL) NOPASSWD:ALL, !/usr/bin/su\n",
      "/etc/sudoers.d/backup", rules, includes, aliases, problems);
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].commands(),
            "/usr/bin/mysqldump -uroot -p**** opencrvs, /usr/bin/sshpass -p **** rsync");
  EXPECT_TRUE(rules[0].nopasswd());
  EXPECT_EQ(rules[1].commands(), "ALL, !/usr/bin/su");
  EXPECT_TRUE(rules[1].all_commands());
  EXPECT_TRUE(rules[1].denies_su());
}

TEST(AuthorizedKeysOption, ParseAuthorizedKeysMasksOptions) {
  const std::string key =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl backup";
  v1::AuthorizedKeysFact fact;
  ParseAuthorizedKeys(absl::StrCat("command=\"/usr/local/bin/restore --password=S3cret\","
                                   "environment=\"DBPASS=S3cret2\",no-pty ",
                                   key, "\n"),
                      "/home/backup/.ssh/authorized_keys", "backup", false, fact);
  ASSERT_EQ(fact.keys_size(), 1) << fact.DebugString();
  EXPECT_THAT(fact.keys(0).options(),
              ElementsAre("command=\"/usr/local/bin/restore --password=****\"",
                          "environment=\"DBPASS=****\"", "no-pty"));
  EXPECT_THAT(fact.DebugString(), Not(HasSubstr("S3cret")));
}

// Hostile input: never fails, and stays fast (no quadratic rescans).
TEST(Mask, HostileInputBoundedTime) {
  std::vector<std::string> inputs;
  for (absl::string_view unit : {"PASSWORD=",
                                 "?token=a&",
                                 "\"password\":\"",
                                 "--password-stdin ;",
                                 "-p ",
                                 "eyJ.",
                                 "$(",
                                 "'",
                                 "\"",
                                 "://",
                                 "a=",
                                 "mysql -p",
                                 "echo x | chpasswd ",
                                 "111111:",
                                 "<<<",
                                 "hooks.slack.com/services/",
                                 "Authorization: ",
                                 "\\",
                                 ",",
                                 "sudo -S "}) {
    std::string s;
    while (s.size() < 200000) absl::StrAppend(&s, unit);
    inputs.push_back(std::move(s));
  }
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& in : inputs) {
    MaskResult r = MaskCommandLine(in);
    if (!r.masked()) {
      EXPECT_EQ(r.text, in);
    }
    MaskSudoersCommands(in);
    MaskAuthorizedKeysOption(absl::StrCat("command=\"", in, "\""));
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(20));
}

}  // namespace
}  // namespace preflight::agent
