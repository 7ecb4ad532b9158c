// The one place that masks secrets in text that is allowed to leave the host
// in part: cron commands, restore log lines, authorized_keys options
// (command="…", environment="…"), sudoers command lists.
//
// Shapes masked (table-driven in mask.cc, each rule has a name):
//   - NAME=value for secret-looking names (PASSWORD, *_PWD, PGPASSWORD,
//     *SECRET*, *TOKEN*, *KEY), also in URL queries (?token=x&…), connection
//     strings (…;Password=x;…) and JSON ("password": "x");
//   - --password X, --password=X, -passphrase X and other secret options;
//   - client short flags: mysql -pX, sshpass -p X, redis-cli -a X,
//     ldapsearch -w X, docker/podman/helm login -p X, curl -u user:X,
//     smbclient -U user%X, lftp -u user,X, zip -P X, ssh-keygen -N X, …;
//   - positional secrets: rabbitmqctl add_user u X, mc alias set n url ak X,
//     aws configure set aws_secret_access_key X, vault login X,
//     htpasswd -b f u X, echo X | chpasswd / sudo -S / --password-stdin;
//   - credentials in URLs (scheme://user:X@host), webhook URLs (Slack,
//     Discord, Teams), Telegram bot tokens (api.telegram.org/botX/);
//   - token shapes: GitHub, GitLab, Slack, Stripe, AWS access keys, Google
//     API keys and OAuth tokens, npm, PyPI, Docker Hub, Vault, JWTs;
//   - Authorization / X-Api-Key / … headers;
//   - PEM private key blocks and bare key material lines.
//
// The rest of the text is kept: `--password=****`, `curl -u user:****`,
// `https://user:****@host`, `hooks.slack.com/services/****`. Linear time in
// the input (hand-written scanning, no regex); never fails.
#ifndef PREFLIGHT_AGENT_FACTS_MASK_H_
#define PREFLIGHT_AGENT_FACTS_MASK_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace preflight::agent {

inline constexpr absl::string_view kMasked = "****";

struct MaskResult {
  std::string text;  // the input with every secret value replaced by kMasked
  // Names of the rules that masked something ("option", "url-credentials",
  // "client-flag", …), sorted and unique; empty when nothing was masked.
  std::vector<std::string> rules;
  bool masked() const { return !rules.empty(); }
};

// Masks a command line, a log line or several of them (split at '\n';
// private key blocks span lines).
MaskResult MaskCommandLine(absl::string_view text);

// MaskCommandLine(text).text; *masked (when given) says whether anything was
// replaced.
std::string MaskSecrets(absl::string_view text, bool* masked = nullptr);

// One authorized_keys option as the parser keeps it (`command="…"`,
// `environment="NAME=value"`, `from="…"`, `restrict`): the value of
// name="value" is masked as a command line; the option name and the quotes
// stay.
std::string MaskAuthorizedKeysOption(absl::string_view option, bool* masked = nullptr);

// A sudoers command list ("/usr/bin/mysql -pX, /bin/ls"): each command
// between unescaped commas is masked on its own, so the separators stay.
std::string MaskSudoersCommands(absl::string_view commands, bool* masked = nullptr);

// A Sentry DSN (scheme://key[:secret]@host[:port]/[path/]project) masked to
// its scheme, host and project: "https://****@o1.ingest.sentry.io/42". The
// whole user part (key and any :secret) becomes kMasked, a query becomes
// "?****", and any path segment longer than 16 bytes that is not a number
// (a key written in the wrong place) is masked too. Without "scheme://" it
// cannot tell where a key ends: the whole value becomes kMasked. At most 300
// bytes.
std::string MaskDsn(absl::string_view dsn);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_MASK_H_
