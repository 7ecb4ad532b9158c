#include "agent/facts/admin_passwords.h"

#include <crypt.h>
#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/facts/mask.h"
#include "agent/facts/mongo_shell.h"
#include "agent/facts/service_container.h"
#include "proto/wire/sha256.h"

namespace preflight::agent {

// The psql script goes to psql on its standard input (printf is a builtin of
// the container's shell), so psql's own \if and variables work; the
// usernames are psql variable `users`, quoted by psql (:'users'). The local
// socket of the official postgres image trusts its users: no password.
const char kAdminQueryScript[] =
    "printf '%s\\n' \"$1\" | psql -X -q -A -t -v ON_ERROR_STOP=1 -v users=\"$2\" "
    "-U \"${POSTGRES_USER:-postgres}\" -d events";

// OpenCRVS v2 keeps its users in schema app of database events:
// user_credentials (username, password_hash, salt) references users (role,
// status); the super user's seed password lives in system_initialisation
// until the initial setup completes (then hash and salt are NULL). Before
// v2.0 the users are in MongoDB (user-mgnt): the "schema" row says which.
const char kAdminQuery[] =
    "\\pset fieldsep '\\t'\n"
    "SELECT to_regclass('app.user_credentials') IS NOT NULL AND to_regclass('app.users') IS NOT "
    "NULL AS has_users, to_regclass('app.system_initialisation') IS NOT NULL AS has_init \\gset\n"
    "SELECT 'schema', :'has_users', :'has_init';\n"
    "\\if :has_users\n"
    "SELECT 'user', c.username, u.role, u.status, c.password_hash, c.salt FROM "
    "app.user_credentials c JOIN app.users u ON u.id = c.user_id WHERE c.username = ANY "
    "(string_to_array(:'users', ',')) ORDER BY c.username;\n"
    "\\endif\n"
    "\\if :has_init\n"
    "SELECT 'init', CASE WHEN completed_at IS NULL THEN 'open' ELSE 'completed' END, "
    "coalesce(hash, ''), coalesce(salt, '') FROM app.system_initialisation;\n"
    "\\endif\n"
    "SELECT 'end';\n";

namespace {

constexpr absl::string_view kPs = "docker ps";
constexpr absl::string_view kCat = "docker exec (cat default-employees.csv)";
constexpr absl::string_view kPsql = "docker exec (psql events)";
constexpr absl::string_view kMongo = "docker exec (mongo user-mgnt)";
constexpr absl::string_view kAdminRole = "NATIONAL_SYSTEM_ADMIN";
// The documented seed defaults: farajaland's national system administrator
// (src/data-seeding/employees/source/default-employees.csv) and the core's
// super user (SUPER_USER_PASSWORD unset: packages/migration, 'password').
constexpr absl::string_view kFarajalandAdmin = "j.campbell";
constexpr absl::string_view kFarajalandPassword = "test";
constexpr absl::string_view kSuperUserPassword = "password";
constexpr absl::string_view kSuperUserFrom = "core seed default (SUPER_USER_PASSWORD unset)";
// bcryptjs uses cost 10; a stored cost far above it would keep the agent
// busy for minutes or hours (2^cost rounds): not computed.
constexpr int kMaxBcryptCost = 14;
constexpr size_t kMaxProblems = 20;

// One CSV record: its fields and the line it starts on.
struct CsvRecord {
  std::vector<std::string> fields;
  int line = 0;
  bool broken = false;  // an unterminated quote
};

// RFC 4180: fields separated by ',', optionally quoted with '"' ("" is a
// quote inside), records by CRLF or LF (also inside quotes).
std::vector<CsvRecord> ParseCsv(absl::string_view text) {
  std::vector<CsvRecord> records;
  CsvRecord rec;
  std::string field;
  int line = 1;
  rec.line = line;
  bool quoted = false, field_started = false;
  auto end_field = [&] {
    rec.fields.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  auto end_record = [&] {
    end_field();
    if (!(rec.fields.size() == 1 && rec.fields[0].empty())) records.push_back(std::move(rec));
    rec = CsvRecord();
    rec.line = line;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n') {
      ++line;
      end_record();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      // the LF ends the record
    } else {
      field.push_back(c);
      field_started = true;
    }
  }
  if (quoted) rec.broken = true;
  if (!field.empty() || !rec.fields.empty() || rec.broken) end_record();
  return records;
}

void AddProblem(std::vector<v1::ParseProblem>& problems, int line, std::string message) {
  if (problems.size() >= kMaxProblems) return;
  v1::ParseProblem p;
  p.set_file(kDefaultEmployeesPath);
  p.set_line(line);
  p.set_message(std::move(message));
  problems.push_back(std::move(p));
}

bool ConstantTimeEqual(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool IsLowerHex(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
  });
}

std::optional<std::string> Sha512Hex(absl::string_view a, absl::string_view b) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha512(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), b.data(), b.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), md, &len) != 1) {
    return std::nullopt;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 15]);
  }
  return hex;
}

// A value from the database shown in the fact (role, status): printable
// ASCII letters, digits, '_', '-', ' ', at most 40; else "(unusual value)".
std::string Plain(absl::string_view s) {
  if (s.size() > 40) return "(unusual value)";
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != ' ') {
      return "(unusual value)";
    }
  }
  return std::string(s);
}

// A stored credential, from the psql output (in memory only).
struct StoredUser {
  std::string role;
  std::string status;
  std::string hash;
  std::string salt;
};

struct QueryResult {
  bool has_users = false;
  bool has_init = false;
  std::map<std::string, StoredUser> users;
  bool init_row = false;
  std::string init_state;  // "open" or "completed"
  std::string init_hash;
  std::string init_salt;
};

// The rows of kAdminQuery (psql) or AdminMongoJs (mongo): `tool` names it.
absl::StatusOr<QueryResult> ParseQuery(absl::string_view out, const std::vector<std::string>& asked,
                                       absl::string_view tool) {
  QueryResult r;
  bool schema = false, end = false;
  int line_no = 0, odd = 0, first_odd = 0;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    ++line_no;
    if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
    if (line.empty()) continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    if (end) {
      // Nothing follows the end row: output after it is not this script's.
      if (odd++ == 0) first_odd = line_no;
    } else if (f[0] == "end" && f.size() == 1) {
      end = true;
    } else if (f[0] == "schema" && f.size() == 3) {
      schema = true;
      r.has_users = f[1] == "t";
      r.has_init = f[2] == "t";
    } else if (f[0] == "user" && f.size() == 6) {
      const std::string name(f[1]);
      // Only the accounts asked for, each once.
      if (std::find(asked.begin(), asked.end(), name) == asked.end() || r.users.count(name)) {
        continue;
      }
      r.users[name] =
          StoredUser{std::string(f[2]), std::string(f[3]), std::string(f[4]), std::string(f[5])};
    } else if (f[0] == "init" && f.size() == 4 && !r.init_row) {
      r.init_row = true;
      r.init_state = f[1] == "open" ? "open" : "completed";
      r.init_hash = std::string(f[2]);
      r.init_salt = std::string(f[3]);
    } else if (odd++ == 0) {
      // A row of another shape (a tab or newline inside a value, a second
      // init row): an account in it would read as "not found". Never the
      // line's text: it may hold a hash.
      first_odd = line_no;
    }
  }
  if (!schema) {
    return absl::InvalidArgumentError(
        absl::StrCat(tool, " printed no schema row (", out.size(), " bytes of other output)"));
  }
  if (odd > 0) {
    return absl::InvalidArgumentError(absl::StrCat(tool, " printed ", odd,
                                                   " line(s) of an unexpected shape (first: line ",
                                                   first_odd, "): not compared"));
  }
  if (!end) {
    // Cut short (the output cap, a killed psql): rows may be missing.
    return absl::InvalidArgumentError(absl::StrCat(
        tool, "'s output (", out.size(), " bytes) has no end row: cut short, not compared"));
  }
  return r;
}

// Compares and fills `account` from a stored hash.
void Judge(PasswordVerdicts& verdicts, v1::DefaultPasswordAccount& account,
           absl::string_view password, absl::string_view hash, absl::string_view salt) {
  std::string scheme;
  switch (verdicts.Verify(password, hash, salt, scheme)) {
    case PasswordMatch::kMatch:
      account.set_default_accepted(true);
      break;
    case PasswordMatch::kNoMatch:
      account.set_default_accepted(false);
      break;
    case PasswordMatch::kUnknownScheme:
      account.set_problem(
          absl::StrCat("the stored hash is not one the agent can compare: ", scheme));
      scheme.clear();
      break;
  }
  account.set_scheme(scheme);
}

std::optional<QueryResult> QueryPostgres(HostEnv& env, const std::string& container,
                                         const std::vector<std::string>& usernames,
                                         v1::AdminPasswordsFact& fact) {
  v1::Collection& collection = *fact.mutable_collection();
  fact.set_container(container.substr(0, 12));
  fact.set_source(absl::StrCat(fact.source(), ", docker exec ", fact.container(),
                               " psql events (app.user_credentials, app.users, "
                               "app.system_initialisation)"));
  std::optional<std::string> out =
      RunInContainer(env, collection, AdminQueryArgv(container, usernames), absl::Seconds(30),
                     kPsql, "sh or psql is");
  if (!out) return std::nullopt;
  absl::StatusOr<QueryResult> q = ParseQuery(*out, usernames, "psql");
  std::fill(out->begin(), out->end(), '\0');
  if (!q.ok()) {
    collection.set_state(v1::Collection::ERROR);
    collection.set_error(absl::StrCat(kPsql, ": ", q.status().message()));
    return std::nullopt;
  }
  if (q->has_users) fact.set_database("postgres events.app.user_credentials");
  return *std::move(q);
}

// OpenCRVS v1.x: user-mgnt.users in MongoDB (mongo_shell.h).
std::optional<QueryResult> QueryMongo(HostEnv& env, const std::string& container,
                                      const std::vector<std::string>& usernames,
                                      v1::AdminPasswordsFact& fact) {
  v1::Collection& collection = *fact.mutable_collection();
  fact.set_container(container.substr(0, 12));
  fact.set_source(absl::StrCat(fact.source(), ", docker exec ", fact.container(),
                               " mongo user-mgnt.users (username, role, status, passwordHash, "
                               "salt)"));
  std::optional<std::string> out =
      RunInContainer(env, collection, AdminMongoArgv(container, usernames), absl::Seconds(30),
                     kMongo, "sh or mongo is");
  if (!out) return std::nullopt;
  absl::StatusOr<std::string> body = MongoBody(*out);
  std::fill(out->begin(), out->end(), '\0');
  absl::StatusOr<QueryResult> q = body.ok() ? ParseQuery(*body, usernames, "mongo")
                                            : absl::StatusOr<QueryResult>(body.status());
  if (body.ok()) std::fill(body->begin(), body->end(), '\0');
  if (!q.ok()) {
    collection.set_state(v1::Collection::ERROR);
    collection.set_error(absl::StrCat(kMongo, ": ", q.status().message()));
    return std::nullopt;
  }
  if (!q->has_users) {
    collection.set_state(v1::Collection::ERROR);
    collection.set_error(absl::StrCat(
        kMongo, ": MongoDB has no collection user-mgnt.users (no OpenCRVS user database here)"));
    return std::nullopt;
  }
  q->has_init = false;  // the initial-setup row is OpenCRVS v2's
  fact.set_database("mongo user-mgnt.users");
  return *std::move(q);
}

class Collector : public FactCollector {
 public:
  absl::string_view name() const override { return "admin_passwords"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::AdminPasswordsFact& fact = *report.mutable_admin_passwords();
    v1::Collection* collection = fact.mutable_collection();
    fact.set_enabled(options.application_admin_passwords);
    if (SourceOff(options.application_admin_passwords, kAdminPasswordsOff, *collection))
      return collection;
    fact.set_source(std::string(kPs));
    // OpenCRVS v2 keeps its users in Postgres; v1.x in MongoDB. Both run on
    // the node labelled data1; either may be the one here.
    v1::Collection where;
    std::optional<std::string> postgres =
        LocateServiceContainer(env, where, "postgres", "on the node labelled data1");
    std::optional<std::string> mongo;
    if (!postgres) {
      if (where.state() != v1::Collection::ABSENT) {  // docker itself failed
        collection->MergeFrom(where);
        return collection;
      }
      mongo = LocateMongoContainer(env, *collection);
      if (!mongo) {
        if (collection->state() == v1::Collection::ABSENT) {
          collection->set_error(
              "no user database runs on this node: neither postgres (OpenCRVS v2) nor mongo1 / "
              "mongo2 (v1.x); OpenCRVS places them on the node labelled data1");
        }
        return collection;
      }
    }

    // The default passwords: the deployed employee seed, else the documented.
    std::vector<SeedAccount> seed;
    std::string cat_source;
    std::string fallback_reason;
    v1::Collection scratch;  // countryconfig's absence is not this fact's
    std::optional<std::string> countryconfig =
        LocateServiceContainer(env, scratch, "countryconfig", "on a worker or manager");
    if (!countryconfig) {
      fallback_reason = "no countryconfig container runs on this node";
    } else {
      const std::string cc = countryconfig->substr(0, 12);
      cat_source = absl::StrCat("docker exec ", cc, " cat ", kDefaultEmployeesPath);
      auto cat = env.Run(EmployeesArgv(*countryconfig), absl::Seconds(15));
      if (!cat.ok()) {
        fallback_reason = absl::StrCat(kCat, ": ", MaskSecrets(cat.status().message()));
      } else if (cat->exit_code != 0 || cat->timed_out) {
        fallback_reason = CutUtf8(
            absl::StrCat(kCat,
                         cat->timed_out ? " timed out" : absl::StrCat(" exited ", cat->exit_code),
                         ": ", MaskSecrets(absl::StripAsciiWhitespace(cat->err))),
            300);
      } else {
        std::vector<v1::ParseProblem> problems;
        if (cat->out.size() > kMaxEmployeesBytes) {
          cat->out.resize(kMaxEmployeesBytes);
          AddProblem(problems, 0,
                     absl::StrCat("over ", kMaxEmployeesBytes, " bytes: the rest is not read"));
        }
        seed = ParseDefaultEmployees(cat->out, problems);
        for (v1::ParseProblem& p : problems) *fact.add_problems() = std::move(p);
        const bool no_header = std::any_of(
            fact.problems().begin(), fact.problems().end(),
            [](const v1::ParseProblem& p) { return absl::StartsWith(p.message(), "the header"); });
        if (no_header) {
          fallback_reason = absl::StrCat(kDefaultEmployeesPath, " has no usable header");
        } else {
          fact.set_defaults(absl::StrCat("countryconfig ", cc, " ", kDefaultEmployeesPath, " (",
                                         seed.size(), " ", kAdminRole, " row",
                                         seed.size() == 1 ? "" : "s", ")"));
        }
        std::fill(cat->out.begin(), cat->out.end(), '\0');
      }
    }
    const bool from_seed_file = fallback_reason.empty();
    if (!from_seed_file) {
      seed.clear();
      seed.push_back(SeedAccount{std::string(kFarajalandAdmin), std::string(kAdminRole),
                                 std::string(kFarajalandPassword), 0});
      fact.set_defaults(absl::StrCat("documented seed defaults (farajaland's ", kFarajalandAdmin,
                                     "; the deployed seed was not read: ", fallback_reason, ")"));
    }

    std::vector<std::string> usernames;
    for (const SeedAccount& a : seed) usernames.push_back(a.username);
    if (std::find(usernames.begin(), usernames.end(), kSuperUser) == usernames.end()) {
      usernames.push_back(kSuperUser);
    }
    fact.set_source(absl::StrCat(kPs, cat_source.empty() ? "" : ", ", cat_source));
    std::optional<QueryResult> q;
    if (postgres) {
      q = QueryPostgres(env, *postgres, usernames, fact);
      if (!q) return collection;
      if (!q->has_users) {
        // OpenCRVS v1.9: the events database, but the users are in MongoDB.
        v1::Collection mongo_where;
        mongo = LocateMongoContainer(env, mongo_where);
        if (!mongo) {
          collection->MergeFrom(mongo_where);
          if (mongo_where.state() == v1::Collection::ABSENT) {
            collection->set_error(
                "the events database has no app.user_credentials: this OpenCRVS (before v2.0) "
                "keeps its users in MongoDB (user-mgnt.users), and no mongo1 / mongo2 container "
                "runs on this node (the agent of the node running it reports them)");
          }
          return collection;
        }
      }
    }
    if (mongo) {
      q = QueryMongo(env, *mongo, usernames, fact);
      if (!q) return collection;
    }
    auto judge_user = [&](absl::string_view username, absl::string_view role,
                          absl::string_view password, std::string from) {
      v1::DefaultPasswordAccount& a = *fact.add_accounts();
      a.set_username(std::string(username));
      a.set_role(std::string(role));
      a.set_default_from(std::move(from));
      auto it = q->users.find(std::string(username));
      if (it == q->users.end()) return;
      a.set_found(true);
      a.set_status(Plain(it->second.status));
      Judge(verdicts_, a, password, it->second.hash, it->second.salt);
    };
    for (const SeedAccount& s : seed) {
      judge_user(s.username, kAdminRole, s.password,
                 from_seed_file
                     ? absl::StrCat("countryconfig ", kDefaultEmployeesPath, ":", s.line)
                     : absl::StrCat("documented seed default (farajaland default-employees.csv)"));
    }
    judge_user(kSuperUser, "super user", kSuperUserPassword, std::string(kSuperUserFrom));
    if (q->has_init) {
      // v2: the super user is the initial setup's password, kept hashed in
      // app.system_initialisation until the setup completes.
      v1::DefaultPasswordAccount& a = *fact.add_accounts();
      a.set_username("system_initialisation");
      a.set_role("super user (initial setup)");
      a.set_default_from(absl::StrCat(kSuperUserFrom, ", app.system_initialisation"));
      if (q->init_row) {
        a.set_found(true);
        a.set_status(q->init_state == "open" ? "setup open" : "setup completed");
        if (q->init_state == "open") {
          Judge(verdicts_, a, kSuperUserPassword, q->init_hash, q->init_salt);
        }
      }
    }
    for (auto& [name, u] : q->users) {
      std::fill(u.hash.begin(), u.hash.end(), '\0');
      std::fill(u.salt.begin(), u.salt.end(), '\0');
    }
    for (SeedAccount& s : seed) std::fill(s.password.begin(), s.password.end(), '\0');
    collection->set_state(v1::Collection::OK);
    return collection;
  }

 private:
  PasswordVerdicts verdicts_;
};

}  // namespace

std::vector<std::string> EmployeesArgv(const std::string& container) {
  return {"docker", "exec", container, "cat", kDefaultEmployeesPath};
}

std::vector<std::string> AdminQueryArgv(const std::string& container,
                                        const std::vector<std::string>& usernames) {
  return {"docker",    "exec",      container,
          "sh",        "-c",        kAdminQueryScript,
          "preflight", kAdminQuery, absl::StrJoin(usernames, ",")};
}

std::string AdminMongoJs(const std::vector<std::string>& usernames) {
  // Tabs and newlines inside a value would break the rows: ParseQuery then
  // refuses the output (a row of another shape) rather than guess.
  return MongoProgram(absl::StrCat(
      "  var preflightDb = db.getSiblingDB('user-mgnt');\n"
      "  var preflightHas = preflightDb.getCollectionNames().indexOf('users') >= 0;\n"
      "  print('schema\\t' + (preflightHas ? 't' : 'f') + '\\tf');\n"
      "  if (preflightHas) {\n"
      "    preflightDb.users.find({username: {$in: ",
      JsStringArray(usernames),
      "}}, {_id: 0, username: 1, role: 1, status: 1, passwordHash: 1, salt: 1, "
      "oldPasswordHash: 1}).sort({username: 1}).forEach(function (u) {\n"
      "      var hash = u.passwordHash ? u.passwordHash : (u.oldPasswordHash ? u.oldPasswordHash "
      ": '');\n"
      "      print(['user', u.username, String(u.role), String(u.status), String(hash), "
      "String(u.salt ? u.salt : '')].join('\\t'));\n"
      "    });\n"
      "  }\n"
      "  print('end');\n"));
}

std::vector<std::string> AdminMongoArgv(const std::string& container,
                                        const std::vector<std::string>& usernames) {
  return MongoShellArgv(container, AdminMongoJs(usernames));
}

bool ValidUsername(absl::string_view u) {
  return !u.empty() && u.size() <= 64 && std::all_of(u.begin(), u.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

std::vector<SeedAccount> ParseDefaultEmployees(absl::string_view csv,
                                               std::vector<v1::ParseProblem>& problems) {
  std::vector<SeedAccount> admins;
  if (absl::StartsWith(csv, "\xEF\xBB\xBF")) csv.remove_prefix(3);  // a BOM
  std::vector<CsvRecord> records = ParseCsv(csv);
  if (records.empty()) {
    AddProblem(problems, 1, "the header is missing: the file is empty");
    return admins;
  }
  int role = -1, username = -1, password = -1;
  const CsvRecord& header = records[0];
  for (size_t i = 0; i < header.fields.size(); ++i) {
    std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(header.fields[i]));
    if (name == "role") role = static_cast<int>(i);
    if (name == "username") username = static_cast<int>(i);
    if (name == "password") password = static_cast<int>(i);
  }
  if (role < 0 || username < 0 || password < 0) {
    AddProblem(problems, header.line,
               "the header names no role, username or password column: no row is read");
    return admins;
  }
  const size_t need = static_cast<size_t>(std::max({role, username, password})) + 1;
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& rec = records[r];
    if (rec.broken) {
      AddProblem(problems, rec.line, "an unterminated quote: the row is skipped");
      continue;
    }
    if (rec.fields.size() < need) {
      AddProblem(problems, rec.line,
                 absl::StrCat("the row has ", rec.fields.size(), " columns, the header needs ",
                              need, ": skipped"));
      continue;
    }
    if (absl::StripAsciiWhitespace(rec.fields[role]) != kAdminRole) continue;
    std::string name(absl::StripAsciiWhitespace(rec.fields[username]));
    if (!ValidUsername(name)) {
      AddProblem(problems, rec.line,
                 "a NATIONAL_SYSTEM_ADMIN row whose username is not [a-z0-9._-]{1,64}: skipped");
      continue;
    }
    if (rec.fields[password].empty()) {
      AddProblem(problems, rec.line, "a NATIONAL_SYSTEM_ADMIN row with no password: skipped");
      continue;
    }
    if (std::any_of(admins.begin(), admins.end(),
                    [&](const SeedAccount& a) { return a.username == name; })) {
      continue;
    }
    if (admins.size() >= kMaxAdmins) {
      AddProblem(problems, rec.line,
                 absl::StrCat("more than ", kMaxAdmins,
                              " NATIONAL_SYSTEM_ADMIN rows: the rest are not checked"));
      break;
    }
    admins.push_back(
        SeedAccount{std::move(name), std::string(kAdminRole), rec.fields[password], rec.line});
  }
  return admins;
}

PasswordMatch PasswordVerdicts::Verify(absl::string_view password, absl::string_view hash,
                                       absl::string_view salt, std::string& scheme) {
  std::string key_input;
  for (absl::string_view part : {password, hash, salt}) {
    absl::StrAppend(&key_input, part.size(), ":", part);
  }
  std::string key = Sha256(key_input);
  std::fill(key_input.begin(), key_input.end(), '\0');
  if (auto it = verdicts_.find(key); it != verdicts_.end()) {
    scheme = it->second.scheme;
    return it->second.match;
  }
  ++computed_;
  const PasswordMatch match = VerifyPassword(password, hash, salt, scheme);
  if (verdicts_.size() >= kMaxVerdicts) verdicts_.clear();
  verdicts_.emplace(std::move(key), Verdict{match, scheme});
  return match;
}

PasswordMatch VerifyPassword(absl::string_view password, absl::string_view hash,
                             absl::string_view salt, std::string& scheme) {
  if (hash.size() == 60 && hash[0] == '$' && hash[1] == '2' &&
      (hash[2] == 'a' || hash[2] == 'b' || hash[2] == 'y') && hash[3] == '$' && hash[6] == '$') {
    int cost = 0;
    if (!absl::SimpleAtoi(hash.substr(4, 2), &cost) || cost < 4 || cost > 31) {
      scheme = "bcrypt with an invalid cost";
      return PasswordMatch::kUnknownScheme;
    }
    if (cost > kMaxBcryptCost) {
      scheme = absl::StrCat("bcrypt cost ", cost, " (over ", kMaxBcryptCost, ": not computed)");
      return PasswordMatch::kUnknownScheme;
    }
    // crypt_r needs NUL-terminated strings: a default holding a NUL byte
    // cannot be compared (bcryptjs hashes it whole), and "no match" would
    // let the check pass on an account nobody compared.
    if (password.find('\0') != absl::string_view::npos) {
      scheme = "bcrypt, but the default password holds a NUL byte crypt cannot take";
      return PasswordMatch::kUnknownScheme;
    }
    auto data = std::make_unique<crypt_data>();
    const std::string pw(password), setting(hash);
    const char* out = crypt_r(pw.c_str(), setting.c_str(), data.get());
    if (out == nullptr || out[0] == '*') {
      scheme = "bcrypt that libcrypt refuses";
      return PasswordMatch::kUnknownScheme;
    }
    scheme = "bcrypt";
    const bool match = ConstantTimeEqual(out, hash);
    std::fill(reinterpret_cast<char*>(data.get()), reinterpret_cast<char*>(data.get() + 1), 0);
    return match ? PasswordMatch::kMatch : PasswordMatch::kNoMatch;
  }
  if (hash.size() == 128 && IsLowerHex(hash)) {
    std::optional<std::string> digest = Sha512Hex(salt, password);
    if (!digest) {
      scheme = "sha512 that OpenSSL failed to compute";
      return PasswordMatch::kUnknownScheme;
    }
    scheme = "sha512 (before OpenCRVS v1.4)";
    return ConstantTimeEqual(*digest, hash) ? PasswordMatch::kMatch : PasswordMatch::kNoMatch;
  }
  // Describe the hash by its shape only: nothing of it leaves the host.
  scheme = hash.empty() ? "an empty hash"
                        : absl::StrCat("an unknown scheme (", hash.size(), " characters",
                                       hash[0] == '$' ? ", starting with '$'" : "", ")");
  return PasswordMatch::kUnknownScheme;
}

std::unique_ptr<FactCollector> MakeAdminPasswordsCollector() {
  return std::make_unique<Collector>();
}

}  // namespace preflight::agent
