// Fuzz target: the masking module (agent/facts/mask.h) on any bytes, through
// all three entry points (MaskCommandLine, MaskAuthorizedKeysOption,
// MaskSudoersCommands) and the two parsers that use them (ParseSudoers,
// ParseAuthorizedKeys); then a secret taken from the input is planted in
// every documented shape, between fuzzed neighbours, and must not survive.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "agent/facts/accounts.h"
#include "agent/facts/authorized_keys.h"
#include "agent/facts/mask.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

bool KnownRule(absl::string_view rule) {
  for (absl::string_view r :
       {"assignment", "option", "client-flag", "positional", "stdin-secret", "url-credentials",
        "webhook-url", "telegram-bot", "token", "header", "json", "private-key"}) {
    if (rule == r) return true;
  }
  return false;
}

// No "<name>=<letter or digit>" for names every rule set masks.
bool HoldsSecretAssignment(absl::string_view text) {
  const std::string lower_text = absl::AsciiStrToLower(text);
  const absl::string_view lower = lower_text;
  for (absl::string_view name :
       {"passphrase=", "password=", "passwd=", "secret=", "token=", "mysql_pwd=", "pgpassword="}) {
    for (size_t p = lower.find(name); p != absl::string_view::npos; p = lower.find(name, p + 1)) {
      size_t v = p + name.size();
      if (v < lower.size() && absl::ascii_isalnum(lower[v])) return true;
    }
  }
  return false;
}

void CheckResult(absl::string_view in, const preflight::agent::MaskResult& r) {
  if (!r.masked()) {
    PREFLIGHT_FUZZ_CHECK(r.text == in);
  } else {
    PREFLIGHT_FUZZ_CHECK(absl::StrContains(r.text, preflight::agent::kMasked));
  }
  PREFLIGHT_FUZZ_CHECK(std::is_sorted(r.rules.begin(), r.rules.end()));
  PREFLIGHT_FUZZ_CHECK(std::adjacent_find(r.rules.begin(), r.rules.end()) == r.rules.end());
  for (const std::string& rule : r.rules) PREFLIGHT_FUZZ_CHECK(KnownRule(rule));
  // Lines are masked one by one: the line structure stays.
  PREFLIGHT_FUZZ_CHECK(std::count(r.text.begin(), r.text.end(), '\n') ==
                       std::count(in.begin(), in.end(), '\n'));
  PREFLIGHT_FUZZ_CHECK(!HoldsSecretAssignment(r.text));
}

size_t UnescapedCommas(absl::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
    } else if (s[i] == ',') {
      ++n;
    }
  }
  return n;
}

// Shapes from the tools' documentation; {} is the secret.
constexpr absl::string_view kShapes[] = {
    "MYSQL_PWD={} mysql -u root",
    "DB_PWD={} ./restore.sh",
    "PGPASSWORD={} pg_dump -U postgres db",
    "mysqldump -uroot -p{} db",
    "mysql --password={} db",
    "mysql --password {} db",
    "curl -u user:{} https://x",
    "curl --user 'user:{}' https://x",
    "docker login -u bot -p {} registry",
    "podman login -p{} quay.io",
    "ldapsearch -x -D cn=a -w {} -b dc=x",
    "smbclient //nas/b -U backup%{} -c ls",
    "sshpass -p {} ssh backup@host",
    "redis-cli -a {} ping",
    "mongosh -u admin -p {}",
    "https://user:{}@host/path",
    "git clone https://oauth2:{}@gitlab.com/x.git",
    "curl -d x https://hooks.slack.com/services/T000/B000/{}",
    "curl https://api.telegram.org/bot{}/sendMessage",
    "AWS_SECRET_ACCESS_KEY={} aws s3 ls",
    "openssl enc -pass pass:{} -in x",
    "lftp -u user,{} sftp://h",
    "rabbitmqctl add_user ops {}",
    "mc alias set m http://minio:9000 ak {}",
    "htpasswd -b /etc/x admin {}",
    "echo 'u:{}' | chpasswd",
    "echo {} | docker login --password-stdin",
    "curl -H 'Authorization: Bearer {}' https://x",
    "curl -d '{\"password\":\"{}\"}' https://x",
    "sh -c \"mysqldump -uroot -p{} db\"",
    "env DBPASS={} app",
};

// Letters and digits of the input, as a secret of 6 to 24 characters.
std::string SecretFrom(absl::string_view data) {
  std::string s = "Q7";
  for (char c : data) {
    if (absl::ascii_isalnum(c)) s.push_back(c);
    if (s.size() >= 24) break;
  }
  while (s.size() < 6) s.push_back('z');
  return s;
}

// Fuzzed neighbour words that cannot reach into the planted command:
// letters, digits, space and a few path characters only.
std::string Neighbour(absl::string_view data) {
  std::string out;
  for (char c : data) {
    if (absl::ascii_isalnum(c) || c == ' ' || c == '/' || c == '.' || c == '_' || c == '-') {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace preflight;
  const absl::string_view content(reinterpret_cast<const char*>(data), size);

  // Any bytes, through every entry point.
  CheckResult(content, agent::MaskCommandLine(content));
  {
    bool masked = true;
    std::string out = agent::MaskSudoersCommands(content, &masked);
    if (!masked) PREFLIGHT_FUZZ_CHECK(out == content);
    PREFLIGHT_FUZZ_CHECK(UnescapedCommas(out) >= UnescapedCommas(content));
  }
  for (absl::string_view name : {"command", "environment", "from"}) {
    const std::string option = absl::StrCat(name, "=\"", content, "\"");
    bool masked = true;
    std::string out = agent::MaskAuthorizedKeysOption(option, &masked);
    if (!masked) PREFLIGHT_FUZZ_CHECK(out == option);
    PREFLIGHT_FUZZ_CHECK(absl::StartsWith(out, absl::StrCat(name, "=")));
  }
  {
    std::vector<v1::SudoRule> rules;
    std::vector<std::string> includes;
    std::map<std::string, std::vector<std::string>> aliases;
    std::vector<v1::ParseProblem> problems;
    agent::ParseSudoers(content, "/etc/sudoers", rules, includes, aliases, problems);
    for (const v1::SudoRule& r : rules) PREFLIGHT_FUZZ_CHECK(!HoldsSecretAssignment(r.commands()));
    v1::AuthorizedKeysFact fact;
    agent::ParseAuthorizedKeys(content, "/root/.ssh/authorized_keys", "root", false, fact);
    for (const v1::AuthorizedKey& k : fact.keys()) {
      for (const std::string& o : k.options()) PREFLIGHT_FUZZ_CHECK(!HoldsSecretAssignment(o));
    }
  }

  // A secret planted in every shape, between fuzzed neighbours.
  const size_t half = size / 2;
  const std::string secret = SecretFrom(content.substr(half));
  const std::string before = Neighbour(content.substr(0, half));
  const std::string after = Neighbour(content.substr(half));
  if (absl::StrContains(before, secret) || absl::StrContains(after, secret)) return 0;
  for (absl::string_view shape : kShapes) {
    const std::string planted = absl::StrReplaceAll(shape, {{"{}", secret}});
    const std::string line = absl::StrCat(before, "; ", planted, " ; ", after);
    const agent::MaskResult r = agent::MaskCommandLine(line);
    PREFLIGHT_FUZZ_CHECK(r.masked());
    PREFLIGHT_FUZZ_CHECK(!absl::StrContains(r.text, secret));
    const std::string option =
        agent::MaskAuthorizedKeysOption(absl::StrCat("command=\"", planted, "\""));
    PREFLIGHT_FUZZ_CHECK(!absl::StrContains(option, secret));
    if (!absl::StrContains(planted, ',')) {  // sudoers would split it
      PREFLIGHT_FUZZ_CHECK(!absl::StrContains(agent::MaskSudoersCommands(planted), secret));
    }
  }
  return 0;
}
