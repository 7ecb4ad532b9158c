// Fact kind "admin_passwords" (checklist item 10): whether the national system
// administrator and the built-in super user still accept the passwords that
// ship with the country configuration and the core's seed. Off unless the
// agent's config enables application { admin_passwords: true }.
//
// What is read, on the node running the user database (OpenCRVS v2: the
// `postgres` service, database `events`, schema `app`; v1.x: MongoDB):
//   1. `docker ps` (shared with the other application kinds): the postgres
//      and countryconfig containers on this node;
//   2. `docker exec <countryconfig> cat /usr/src/app/src/data-seeding/
//      employees/source/default-employees.csv`: the deployed employee seed;
//      only rows with role NATIONAL_SYSTEM_ADMIN are kept (username and
//      password, in memory). Without a countryconfig container here, the
//      documented seed default (farajaland's j.campbell) stands in;
//   3. `docker exec <postgres> sh -c 'printf … "$1" | psql -U "$POSTGRES_USER"
//      -d events …'`: for those usernames and o.admin, app.user_credentials
//      (password_hash, salt) joined with app.users (role, status), and the
//      single row of app.system_initialisation (the super user's seed
//      password hash, kept until the initial setup completes). psql connects
//      over the container's local socket, which the official postgres image
//      trusts: no database password is needed. The usernames travel as a
//      psql variable (:'users'), never spliced into the SQL.
//   4. OpenCRVS v1.x keeps its users in MongoDB instead (the events database
//      has no app.user_credentials, or only a mongo1 / mongo2 container runs
//      here): `docker exec <mongo> sh -c kMongoShellScript preflight <js>`
//      (mongo_shell.h: the root account of the container's own environment,
//      its password on the shell's standard input) reads user-mgnt.users:
//      username, role, status, passwordHash (bcrypt; oldPasswordHash, the
//      pre-v1.4 sha512, when passwordHash is empty) and salt of the same
//      usernames. No initial-setup row exists there.
// Each default password is hashed HERE with the stored salt (bcrypt through
// libxcrypt's crypt_r, as bcryptjs; sha512(salt || password) for hashes from
// before OpenCRVS v1.4) and compared with the stored hash. Only the yes/no,
// the username, role and status leave the host: never a password, hash or
// salt.
#ifndef PREFLIGHT_AGENT_FACTS_ADMIN_PASSWORDS_H_
#define PREFLIGHT_AGENT_FACTS_ADMIN_PASSWORDS_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// The error of the admin_passwords kind when its source is off.
inline constexpr char kAdminPasswordsOff[] =
    "admin passwords is off: set application { admin_passwords: true } in the agent's config";

// The employee seed inside the countryconfig image (WORKDIR /usr/src/app).
inline constexpr char kDefaultEmployeesPath[] =
    "/usr/src/app/src/data-seeding/employees/source/default-employees.csv";
// The core's super user and its seed default (SUPER_USER_PASSWORD unset).
inline constexpr char kSuperUser[] = "o.admin";
// Bounds: seed bytes parsed, national system admins checked.
inline constexpr size_t kMaxEmployeesBytes = 1 << 20;
inline constexpr size_t kMaxAdmins = 20;

// The shell script run in the postgres container: $1 is the psql script
// (kAdminQuery), $2 the comma-separated usernames.
extern const char kAdminQueryScript[];
// The psql script: one "schema" row, then "user" rows (username, role,
// status, password_hash, salt) and an "init" row (open|completed, hash,
// salt), tab-separated.
extern const char kAdminQuery[];

// {"docker", "exec", container, "cat", kDefaultEmployeesPath}.
std::vector<std::string> EmployeesArgv(const std::string& container);
// {"docker", "exec", container, "sh", "-c", kAdminQueryScript, "preflight",
//  kAdminQuery, usernames joined by ','}.
std::vector<std::string> AdminQueryArgv(const std::string& container,
                                        const std::vector<std::string>& usernames);

// The JavaScript (mongo_shell.h framing) printing kAdminQuery's rows from
// MongoDB user-mgnt.users for `usernames` (ValidUsername ones, as JSON
// strings): "schema\t<t|f>\tf", "user" rows, "end".
std::string AdminMongoJs(const std::vector<std::string>& usernames);
// MongoShellArgv(container, AdminMongoJs(usernames)).
std::vector<std::string> AdminMongoArgv(const std::string& container,
                                        const std::vector<std::string>& usernames);

// An account of the employee seed with a known password (kept in memory).
struct SeedAccount {
  std::string username;
  std::string role;
  std::string password;
  int line = 0;
};

// True for an OpenCRVS username the agent will look up: ^[a-z0-9._-]{1,64}$.
bool ValidUsername(absl::string_view username);

// The NATIONAL_SYSTEM_ADMIN rows of default-employees.csv (RFC 4180 quoting;
// the columns found by the header's names, in any order). Rows that are
// malformed or carry an invalid username are skipped with a problem naming
// their line (never their content); at most kMaxAdmins are kept.
std::vector<SeedAccount> ParseDefaultEmployees(absl::string_view csv,
                                               std::vector<v1::ParseProblem>& problems);

enum class PasswordMatch { kMatch, kNoMatch, kUnknownScheme };
// Compares `password` with a stored OpenCRVS hash: bcrypt ($2a$, $2b$, $2y$)
// through crypt_r with the hash as setting, or the pre-v1.4 sha512 hex of
// salt || password. `scheme` is set to the scheme's name ("bcrypt", "sha512
// (before OpenCRVS v1.4)") or, when unknown, to a description that holds no
// part of the hash.
PasswordMatch VerifyPassword(absl::string_view password, absl::string_view hash,
                             absl::string_view salt, std::string& scheme);

// VerifyPassword's verdicts kept across collections: a bcrypt comparison
// costs about 60 ms of CPU at cost 10, every collection, for an answer that
// changes only when the stored hash does (and then the key changes too).
// Keyed by SHA-256 of the length-prefixed password, hash and salt, so no
// password or hash stays in memory between collections; at most
// kMaxVerdicts are kept (beyond, all are forgotten and computed again).
class PasswordVerdicts {
 public:
  static constexpr size_t kMaxVerdicts = 256;
  PasswordMatch Verify(absl::string_view password, absl::string_view hash, absl::string_view salt,
                       std::string& scheme);
  // How many comparisons were computed (not remembered), for tests.
  int computed() const { return computed_; }

 private:
  struct Verdict {
    PasswordMatch match;
    std::string scheme;
  };
  std::map<std::string, Verdict> verdicts_;
  int computed_ = 0;
};

// Reads no other fact. Options: application_admin_passwords. Remembers its
// PasswordVerdicts across collections.
std::unique_ptr<FactCollector> MakeAdminPasswordsCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_ADMIN_PASSWORDS_H_
