// Default administrator passwords (issue 16, item 10): the "admin_passwords"
// fact kind. Hashes are compared with a reference made at test time by an
// independent bcrypt (python3-bcrypt: OpenBSD's, not libxcrypt's) and by
// Python's hashlib for the pre-v1.4 sha512 scheme; the opt-in; the fixture
// manager (tests/fixtures/make_application_fixture.py: psql output recorded
// from PostgreSQL 15 with OpenCRVS v2's schema); hostile employee seeds;
// errors that name the step; and no password, hash or salt in any argv or
// in the report.
#include "agent/facts/admin_passwords.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/facts/fact_collector.h"
#include "agent/facts/service_container.h"
#include "agent/host/rooted_host_env.h"
#include "tests/support/no_secret.h"
#include "tests/support/process.h"
#include "tests/support/real_postgres.h"
#include "tests/support/recording_env.h"
#include "tests/support/reference_hashes.h"
#include "tests/support/temp_dir.h"

namespace preflight {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::RecordingEnv;

const std::string kFixture = std::string(PREFLIGHT_FIXTURES) + "/hosts/opencrvs-application";
constexpr char kPostgres[] = "5d2e8c41a9f7";
constexpr char kCountryconfig[] = "9b7e1c3d5f20";
constexpr char kPsqlPrefix[] = "schema\tt\tt\n";

// --- references -------------------------------------------------------------

using testing::ReferenceBcrypt;
using testing::ReferenceSha512;

agent::CollectOptions AdminOn() {
  agent::CollectOptions o;
  o.application_docker = true;
  o.application_admin_passwords = true;
  return o;
}

v1::FactReport CollectAdmin(agent::HostEnv& env, const agent::CollectOptions& options) {
  std::vector<std::unique_ptr<agent::FactCollector>> one;
  one.push_back(agent::MakeAdminPasswordsCollector());
  return agent::CollectReport(env, options, one);
}

v1::FactReport CollectAll(agent::HostEnv& env, const agent::CollectOptions& options) {
  auto collectors = agent::BuiltinCollectors();
  return agent::CollectReport(env, options, collectors);
}

const v1::DefaultPasswordAccount* Account(const v1::AdminPasswordsFact& fact,
                                          const std::string& username) {
  for (const v1::DefaultPasswordAccount& a : fact.accounts()) {
    if (a.username() == username) return &a;
  }
  return nullptr;
}

using testing::ExpectNoSecret;
using testing::Text;

constexpr char kHeader[] =
    "primaryOfficeId,givenNames,familyName,role,mobile,username,email,password\n";

// One employee seed row.
std::string Row(const std::string& role, const std::string& username, const std::string& password) {
  return absl::StrCat("CRVS_OFFICE_LHUYvwY2Aq1,Given,Family,", role, ",0933333333,", username,
                      ",someone@example.org,", password, "\n");
}

// A psql "user" row.
std::string UserRow(const std::string& username, const std::string& role, const std::string& status,
                    const std::string& hash) {
  return absl::StrCat("user\t", username, "\t", role, "\t", status, "\t", hash, "\t",
                      hash.substr(0, 29), "\n");
}

struct Recorded {
  std::string ps = absl::StrCat(kPostgres, "\topencrvs_postgres\n", kCountryconfig,
                                "\topencrvs_countryconfig\n");
  int ps_exit = 0;
  std::string ps_err;
  std::string csv = absl::StrCat(kHeader, Row("NATIONAL_SYSTEM_ADMIN", "j.campbell", "test"));
  int csv_exit = 0;
  std::string csv_err;
  bool csv_recorded = true;
  std::string psql = kPsqlPrefix;
  int psql_exit = 0;
  std::string psql_err;
  // The script's last row ("end"), added to an output that starts with the
  // schema row unless a test cuts it short.
  bool psql_end = true;
  std::vector<std::string> usernames = {"j.campbell", "o.admin"};
};

void WriteCommand(testing::TempDir& root, const std::vector<std::string>& argv,
                  const std::string& out, int exit_code, const std::string& err) {
  const std::string path = root.Join(".preflight/commands/" + agent::RecordedCommandKey(argv));
  testing::WriteFile(path, out);
  testing::WriteFile(path + ".exit", std::to_string(exit_code));
  testing::WriteFile(path + ".err", err);
}

std::string Record(testing::TempDir& root, const Recorded& r) {
  WriteCommand(root, agent::ContainerListArgv(), r.ps, r.ps_exit, r.ps_err);
  if (r.csv_recorded) {
    WriteCommand(root, agent::EmployeesArgv(kCountryconfig), r.csv, r.csv_exit, r.csv_err);
  }
  WriteCommand(root, agent::AdminQueryArgv(kPostgres, r.usernames),
               r.psql_end && absl::StartsWith(r.psql, "schema") ? r.psql + "end\n" : r.psql,
               r.psql_exit, r.psql_err);
  return root.path();
}

v1::FactReport CollectRecorded(const Recorded& r) {
  testing::TempDir root;
  Record(root, r);
  RecordingEnv env(root.path());
  return CollectAdmin(env, AdminOn());
}

// --- comparing passwords ----------------------------------------------------

TEST(AdminPasswordVerify, BcryptAgainstAnIndependentReference) {
  for (const std::string prefix : {"2a", "2b"}) {
    const std::string hash = ReferenceBcrypt("test", prefix);
    ASSERT_TRUE(absl::StartsWith(hash, absl::StrCat("$", prefix, "$10$"))) << hash;
    std::string scheme;
    EXPECT_EQ(agent::VerifyPassword("test", hash, hash.substr(0, 29), scheme),
              agent::PasswordMatch::kMatch)
        << hash;
    EXPECT_EQ(scheme, "bcrypt");
    EXPECT_EQ(agent::VerifyPassword("Test", hash, "", scheme), agent::PasswordMatch::kNoMatch);
    EXPECT_EQ(agent::VerifyPassword("test ", hash, "", scheme), agent::PasswordMatch::kNoMatch);
    EXPECT_EQ(agent::VerifyPassword("", hash, "", scheme), agent::PasswordMatch::kNoMatch);
    // $2y$ is $2b$ by another name (PHP's): libxcrypt computes it alike.
    if (prefix == "2b") {
      const std::string y = "$2y" + hash.substr(3);
      std::string s;
      EXPECT_EQ(agent::VerifyPassword("test", y, "", s), agent::PasswordMatch::kMatch);
    }
  }
  // A password with characters bcryptjs hashes as UTF-8, and the 72-byte cut.
  const std::string utf8 = "p\xC3\xA4ss w\xC3\xB6rd";
  const std::string hash = ReferenceBcrypt(utf8, "2a", 4);
  std::string scheme;
  EXPECT_EQ(agent::VerifyPassword(utf8, hash, "", scheme), agent::PasswordMatch::kMatch);
  const std::string long_pw(80, 'x');
  const std::string long_hash = ReferenceBcrypt(long_pw, "2b", 4);
  EXPECT_EQ(agent::VerifyPassword(long_pw, long_hash, "", scheme), agent::PasswordMatch::kMatch);
}

// The agent's loop keeps one collector: a verdict is computed once per
// (password, stored hash, salt), and a changed hash is computed again.
TEST(AdminPasswordVerify, VerdictsAreRememberedAcrossCollections) {
  agent::PasswordVerdicts verdicts;
  const std::string hash = ReferenceBcrypt("test", "2a", 4);
  std::string scheme;
  EXPECT_EQ(verdicts.Verify("test", hash, "", scheme), agent::PasswordMatch::kMatch);
  EXPECT_EQ(verdicts.computed(), 1);
  scheme.clear();
  EXPECT_EQ(verdicts.Verify("test", hash, "", scheme), agent::PasswordMatch::kMatch);
  EXPECT_EQ(scheme, "bcrypt");
  EXPECT_EQ(verdicts.computed(), 1);
  EXPECT_EQ(verdicts.Verify("Test", hash, "", scheme), agent::PasswordMatch::kNoMatch);
  EXPECT_EQ(verdicts.computed(), 2);
  // The password changed and back: a new hash is a new comparison.
  const std::string rehashed = ReferenceBcrypt("test", "2a", 4);
  ASSERT_NE(rehashed, hash);
  EXPECT_EQ(verdicts.Verify("test", rehashed, "", scheme), agent::PasswordMatch::kMatch);
  EXPECT_EQ(verdicts.computed(), 3);
  // A scheme the agent cannot compare is remembered with its description.
  const std::string costly = "$2a$31$" + hash.substr(7);
  EXPECT_EQ(verdicts.Verify("test", costly, "", scheme), agent::PasswordMatch::kUnknownScheme);
  scheme.clear();
  EXPECT_EQ(verdicts.Verify("test", costly, "", scheme), agent::PasswordMatch::kUnknownScheme);
  EXPECT_EQ(scheme, "bcrypt cost 31 (over 14: not computed)");
  EXPECT_EQ(verdicts.computed(), 4);
  // Bounded: past kMaxVerdicts it forgets and computes again.
  for (size_t i = 0; i < agent::PasswordVerdicts::kMaxVerdicts; ++i) {
    verdicts.Verify(absl::StrCat("pw", i), hash, "", scheme);
  }
  const int before = verdicts.computed();
  EXPECT_EQ(verdicts.Verify("test", hash, "", scheme), agent::PasswordMatch::kMatch);
  EXPECT_EQ(verdicts.computed(), before + 1);
}

TEST(AdminPasswordVerify, Sha512BeforeV14AgainstHashlib) {
  const std::string salt = "3c2a5f0e9b7d";
  const std::string hash = ReferenceSha512(salt, "test");
  ASSERT_EQ(hash.size(), 128u);
  std::string scheme;
  EXPECT_EQ(agent::VerifyPassword("test", hash, salt, scheme), agent::PasswordMatch::kMatch);
  EXPECT_EQ(scheme, "sha512 (before OpenCRVS v1.4)");
  EXPECT_EQ(agent::VerifyPassword("test2", hash, salt, scheme), agent::PasswordMatch::kNoMatch);
  EXPECT_EQ(agent::VerifyPassword("test", hash, "other", scheme), agent::PasswordMatch::kNoMatch);
}

TEST(AdminPasswordVerify, UnknownSchemesAreSaidAndNeverShown) {
  const std::string bcrypt = ReferenceBcrypt("test", "2a", 4);
  const std::vector<std::string> hashes = {
      "",
      "plaintextPw77",
      "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
      "$2a$31$" + bcrypt.substr(7),  // cost 31: hours of work, not computed
      "$2a$99$" + bcrypt.substr(7),
      "$2a$04$" + bcrypt.substr(7, 20),  // truncated
      std::string(128, 'G'),             // not hex
  };
  for (const std::string& h : hashes) {
    std::string scheme;
    EXPECT_EQ(agent::VerifyPassword("test", h, "salt", scheme),
              agent::PasswordMatch::kUnknownScheme)
        << h;
    EXPECT_FALSE(scheme.empty()) << h;
    if (h.size() > 8) {
      EXPECT_THAT(scheme, Not(HasSubstr(h.substr(7, 8)))) << scheme;
    }
  }
  std::string scheme;
  // A default with a NUL byte cannot go through crypt: not compared, never
  // "no match".
  EXPECT_EQ(agent::VerifyPassword(std::string("te\0st", 5), bcrypt, "", scheme),
            agent::PasswordMatch::kUnknownScheme);
  EXPECT_THAT(scheme, HasSubstr("NUL byte"));
  agent::VerifyPassword("test", "$2a$31$" + bcrypt.substr(7), "", scheme);
  EXPECT_EQ(scheme, "bcrypt cost 31 (over 14: not computed)");
}

// --- the employee seed ------------------------------------------------------

TEST(AdminPasswordSeed, FarajalandsSeedKeepsTheNationalSystemAdmin) {
  const std::string csv = absl::StrCat(
      kHeader, Row("NATIONAL_REGISTRAR", "c.lungu", "test"),
      Row("NATIONAL_SYSTEM_ADMIN", "j.campbell", "test"),
      "CRVS_OFFICE_B2DjIXE16c3,Loveness,Ng'andu,COMMUNITY_LEADER,0915151517,l.ngandu,x@y.z,test\n",
      Row("LOCAL_SYSTEM_ADMIN", "e.mayuka", "test"));
  std::vector<v1::ParseProblem> problems;
  std::vector<agent::SeedAccount> admins = agent::ParseDefaultEmployees(csv, problems);
  EXPECT_THAT(problems, IsEmpty());
  ASSERT_EQ(admins.size(), 1u);
  EXPECT_EQ(admins[0].username, "j.campbell");
  EXPECT_EQ(admins[0].password, "test");
  EXPECT_EQ(admins[0].line, 3);
}

TEST(AdminPasswordSeed, HostileSeeds) {
  // Quoted fields (a comma, a quote and a newline inside), CRLF, columns in
  // another order, a BOM.
  {
    const std::string csv =
        "\xEF\xBB\xBFusername,password,role\r\n"
        "\"a.admin\",\"pa,ss\"\"w\nord\",NATIONAL_SYSTEM_ADMIN\r\n"
        "b.admin,plain,\"NATIONAL_SYSTEM_ADMIN\"\r\n";
    std::vector<v1::ParseProblem> problems;
    auto admins = agent::ParseDefaultEmployees(csv, problems);
    EXPECT_THAT(problems, IsEmpty());
    ASSERT_EQ(admins.size(), 2u);
    EXPECT_EQ(admins[0].username, "a.admin");
    EXPECT_EQ(admins[0].password, "pa,ss\"w\nord");
    EXPECT_EQ(admins[1].username, "b.admin");
    EXPECT_EQ(admins[1].line, 4);  // the quoted newline counts
  }
  // Usernames that would break out of SQL or an argv, short rows, no
  // password, an unterminated quote: skipped, each with its line, and no
  // problem message carries the row.
  {
    const std::string csv = absl::StrCat(
        kHeader, Row("NATIONAL_SYSTEM_ADMIN", "x'); DROP TABLE app.users; --", "HostilePw1"),
        Row("NATIONAL_SYSTEM_ADMIN", "J.Campbell", "HostilePw2"),
        Row("NATIONAL_SYSTEM_ADMIN", std::string(65, 'a'), "HostilePw3"),
        "CRVS,Given,Family,NATIONAL_SYSTEM_ADMIN,0933,short.row\n",
        Row("NATIONAL_SYSTEM_ADMIN", "no.password", ""),
        Row("NATIONAL_SYSTEM_ADMIN", "good.admin", "GoodPw"),
        "CRVS,\"unterminated,NATIONAL_SYSTEM_ADMIN,0,u.nterminated,e,HostilePw4\n");
    std::vector<v1::ParseProblem> problems;
    auto admins = agent::ParseDefaultEmployees(csv, problems);
    ASSERT_EQ(admins.size(), 1u);
    EXPECT_EQ(admins[0].username, "good.admin");
    ASSERT_EQ(problems.size(), 6u);
    std::vector<int> lines;
    for (const v1::ParseProblem& p : problems) {
      lines.push_back(static_cast<int>(p.line()));
      EXPECT_EQ(p.file(), agent::kDefaultEmployeesPath);
      EXPECT_THAT(p.message(), Not(HasSubstr("Hostile")));
      EXPECT_THAT(p.message(), Not(HasSubstr("DROP")));
    }
    EXPECT_EQ(lines, (std::vector<int>{2, 3, 4, 5, 6, 8}));
  }
  // No header with the columns; an empty file.
  for (const std::string csv : {"a,b,c\n1,2,3\n", ""}) {
    std::vector<v1::ParseProblem> problems;
    EXPECT_THAT(agent::ParseDefaultEmployees(csv, problems), IsEmpty());
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_THAT(problems[0].message(), HasSubstr("the header"));
  }
  // Many admins: at most kMaxAdmins, said once.
  {
    std::string csv = kHeader;
    for (int i = 0; i < 50; ++i) {
      absl::StrAppend(&csv, Row("NATIONAL_SYSTEM_ADMIN", absl::StrCat("admin", i), "pw"));
    }
    std::vector<v1::ParseProblem> problems;
    EXPECT_EQ(agent::ParseDefaultEmployees(csv, problems).size(), agent::kMaxAdmins);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_THAT(problems[0].message(), HasSubstr("more than 20"));
  }
}

TEST(AdminPasswordSeed, Usernames) {
  EXPECT_TRUE(agent::ValidUsername("j.campbell"));
  EXPECT_TRUE(agent::ValidUsername("o.admin"));
  EXPECT_TRUE(agent::ValidUsername("a_b-c.9"));
  for (const char* bad :
       {"", "J.Campbell", "a b", "a,b", "a'b", "a\"b", "a;b", "a\nb", "\xC3\xA4"}) {
    EXPECT_FALSE(agent::ValidUsername(bad)) << bad;
  }
  EXPECT_FALSE(agent::ValidUsername(std::string(65, 'a')));
}

// --- the fixture ------------------------------------------------------------

TEST(AdminPasswords, TheFixtureManager) {
  RecordingEnv env(kFixture);
  v1::FactReport report = CollectAdmin(env, AdminOn());
  const v1::AdminPasswordsFact& fact = report.admin_passwords();
  ASSERT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  EXPECT_TRUE(fact.enabled());
  EXPECT_EQ(fact.container(), kPostgres);
  EXPECT_EQ(fact.database(), "postgres events.app.user_credentials");
  EXPECT_THAT(fact.defaults(), HasSubstr("countryconfig 9b7e1c3d5f20 "));
  EXPECT_THAT(fact.defaults(), HasSubstr("(1 NATIONAL_SYSTEM_ADMIN row)"));
  EXPECT_THAT(fact.source(), HasSubstr("docker exec 5d2e8c41a9f7 psql events"));
  EXPECT_THAT(fact.problems(), IsEmpty());

  const v1::DefaultPasswordAccount* admin = Account(fact, "j.campbell");
  ASSERT_NE(admin, nullptr);
  EXPECT_TRUE(admin->found());
  EXPECT_EQ(admin->status(), "active");
  EXPECT_TRUE(admin->default_accepted());
  EXPECT_EQ(admin->scheme(), "bcrypt");
  EXPECT_EQ(admin->role(), "NATIONAL_SYSTEM_ADMIN");
  EXPECT_EQ(admin->default_from(),
            "countryconfig /usr/src/app/src/data-seeding/employees/source/"
            "default-employees.csv:4");

  const v1::DefaultPasswordAccount* super = Account(fact, "o.admin");
  ASSERT_NE(super, nullptr);
  EXPECT_TRUE(super->found());
  EXPECT_EQ(super->status(), "deactivated");
  EXPECT_FALSE(super->default_accepted());
  EXPECT_EQ(super->scheme(), "bcrypt");

  const v1::DefaultPasswordAccount* init = Account(fact, "system_initialisation");
  ASSERT_NE(init, nullptr);
  EXPECT_TRUE(init->found());
  EXPECT_EQ(init->status(), "setup completed");
  EXPECT_FALSE(init->default_accepted());
  EXPECT_EQ(init->scheme(), "");
  EXPECT_EQ(fact.accounts_size(), 3);
}

TEST(AdminPasswords, OffByDefaultAndNothingRuns) {
  agent::CollectOptions defaults;
  EXPECT_FALSE(defaults.application_admin_passwords);
  v1::AgentConfig config;
  EXPECT_FALSE(agent::CollectOptionsFrom(config).application_admin_passwords);
  config.mutable_application()->set_admin_passwords(true);
  EXPECT_TRUE(agent::CollectOptionsFrom(config).application_admin_passwords);

  RecordingEnv env(kFixture);
  v1::FactReport report = CollectAdmin(env, defaults);
  EXPECT_EQ(report.admin_passwords().collection().state(), v1::Collection::ABSENT);
  EXPECT_EQ(report.admin_passwords().collection().error(), agent::kAdminPasswordsOff);
  EXPECT_FALSE(report.admin_passwords().enabled());
  EXPECT_EQ(report.admin_passwords().accounts_size(), 0);
  EXPECT_THAT(env.argvs, IsEmpty());
}

TEST(AdminPasswords, OneDockerPsPerCollectionSharedWithTheOtherKinds) {
  RecordingEnv env(kFixture);
  agent::CollectOptions o = AdminOn();
  o.application_elasticsearch = true;
  v1::FactReport report = CollectAll(env, o);
  ASSERT_EQ(report.admin_passwords().collection().state(), v1::Collection::OK)
      << report.admin_passwords().collection().error();
  ASSERT_EQ(report.alert_history().collection().state(), v1::Collection::OK);
  int ps = 0, cat = 0, psql = 0;
  for (const auto& argv : env.argvs) {
    if (argv == agent::ContainerListArgv()) ++ps;
    if (argv == agent::EmployeesArgv(kCountryconfig)) ++cat;
    if (argv.size() > 5 && argv[1] == "exec" && argv[5] == agent::kAdminQueryScript) ++psql;
  }
  EXPECT_EQ(ps, 1);
  EXPECT_EQ(cat, 1);
  EXPECT_EQ(psql, 1);
}

// --- the accounts, from recorded outputs ------------------------------------

TEST(AdminPasswords, EachAccountJudged) {
  const std::string test_hash = ReferenceBcrypt("test", "2a", 4);
  const std::string other_hash = ReferenceBcrypt("ChangedPw1", "2a", 4);
  const std::string password_hash = ReferenceBcrypt("password", "2b", 4);
  Recorded r;
  r.csv = absl::StrCat(kHeader, Row("NATIONAL_SYSTEM_ADMIN", "j.campbell", "test"),
                       Row("NATIONAL_SYSTEM_ADMIN", "k.changed", "test"),
                       Row("NATIONAL_SYSTEM_ADMIN", "m.missing", "test"),
                       Row("NATIONAL_SYSTEM_ADMIN", "u.unknown", "test"),
                       Row("NATIONAL_SYSTEM_ADMIN", "d.deactivated", "test"));
  r.usernames = {"j.campbell", "k.changed", "m.missing", "u.unknown", "d.deactivated", "o.admin"};
  r.psql = absl::StrCat(
      kPsqlPrefix, UserRow("d.deactivated", "NATIONAL_SYSTEM_ADMIN", "deactivated", test_hash),
      UserRow("j.campbell", "NATIONAL_SYSTEM_ADMIN", "active", test_hash),
      UserRow("k.changed", "NATIONAL_SYSTEM_ADMIN", "active", other_hash),
      "user\tu.unknown\tNATIONAL_SYSTEM_ADMIN\tactive\tUnknownSchemeHash99\tsalt\n",
      UserRow("o.admin", "NATIONAL_SYSTEM_ADMIN", "active", password_hash),
      // Rows not asked for, or repeated, are ignored (a malformed one is an
      // error: AdminPasswordErrors).
      UserRow("x.other", "NATIONAL_SYSTEM_ADMIN", "active", test_hash),
      UserRow("j.campbell", "NATIONAL_SYSTEM_ADMIN", "deactivated", other_hash), "init\topen\t",
      password_hash, "\t", password_hash.substr(0, 29), "\n");
  v1::FactReport report = CollectRecorded(r);
  const v1::AdminPasswordsFact& fact = report.admin_passwords();
  ASSERT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  struct Want {
    std::string username;
    bool found;
    std::string status;
    bool accepted;
    std::string scheme;
    std::string problem;
  };
  const Want wants[] = {
      {"j.campbell", true, "active", true, "bcrypt", ""},
      {"k.changed", true, "active", false, "bcrypt", ""},
      {"m.missing", false, "", false, "", ""},
      {"u.unknown", true, "active", false, "",
       "the stored hash is not one the agent can compare: an unknown scheme (19 characters)"},
      {"d.deactivated", true, "deactivated", true, "bcrypt", ""},
      {"o.admin", true, "active", true, "bcrypt", ""},
      {"system_initialisation", true, "setup open", true, "bcrypt", ""},
  };
  ASSERT_EQ(fact.accounts_size(), 7) << Text(fact);
  for (const Want& w : wants) {
    const v1::DefaultPasswordAccount* a = Account(fact, w.username);
    ASSERT_NE(a, nullptr) << w.username;
    EXPECT_EQ(a->found(), w.found) << w.username;
    EXPECT_EQ(a->status(), w.status) << w.username;
    EXPECT_EQ(a->default_accepted(), w.accepted) << w.username;
    EXPECT_EQ(a->scheme(), w.scheme) << w.username;
    EXPECT_EQ(a->problem(), w.problem) << w.username;
  }
  EXPECT_EQ(Account(fact, "o.admin")->default_from(),
            "core seed default (SUPER_USER_PASSWORD unset)");
  EXPECT_EQ(Account(fact, "x.other"), nullptr);
  ExpectNoSecret(report, {test_hash, other_hash, password_hash, test_hash.substr(7, 22),
                          password_hash.substr(7, 22), "UnknownSchemeHash99", "ChangedPw1"});
}

TEST(AdminPasswords, WithoutTheCountryConfigTheDocumentedDefaultsStandIn) {
  const std::string test_hash = ReferenceBcrypt("test", "2a", 4);
  struct Case {
    std::string name;
    Recorded r;
    std::string reason;
  };
  std::vector<Case> cases;
  {
    Case c{"no countryconfig here", Recorded(), "no countryconfig container runs on this node"};
    c.r.ps = absl::StrCat(kPostgres, "\topencrvs_postgres\n");
    c.r.csv_recorded = false;
    cases.push_back(c);
  }
  {
    Case c{"the seed is elsewhere in this image", Recorded(),
           "docker exec (cat default-employees.csv) exited 1: cat: can't open"};
    c.r.csv = "";
    c.r.csv_exit = 1;
    c.r.csv_err = absl::StrCat("cat: can't open '", agent::kDefaultEmployeesPath,
                               "': No such file or directory\n");
    cases.push_back(c);
  }
  {
    Case c{"a seed without the columns", Recorded(), "has no usable header"};
    c.r.csv = "name;pass\nj.campbell;test\n";
    cases.push_back(c);
  }
  for (Case& c : cases) {
    c.r.psql = absl::StrCat(kPsqlPrefix,
                            UserRow("j.campbell", "NATIONAL_SYSTEM_ADMIN", "active", test_hash));
    v1::FactReport report = CollectRecorded(c.r);
    const v1::AdminPasswordsFact& fact = report.admin_passwords();
    ASSERT_EQ(fact.collection().state(), v1::Collection::OK)
        << c.name << ": " << fact.collection().error();
    EXPECT_THAT(fact.defaults(), HasSubstr("documented seed defaults (farajaland's j.campbell"))
        << c.name;
    EXPECT_THAT(fact.defaults(), HasSubstr(c.reason)) << c.name;
    const v1::DefaultPasswordAccount* a = Account(fact, "j.campbell");
    ASSERT_NE(a, nullptr) << c.name;
    EXPECT_TRUE(a->default_accepted()) << c.name;
    EXPECT_THAT(a->default_from(), HasSubstr("documented seed default")) << c.name;
  }
}

// --- errors -----------------------------------------------------------------

TEST(AdminPasswordErrors, EachStepIsNamedAndNeverOk) {
  struct Case {
    std::string name;
    Recorded r;
    v1::Collection::State state;
    std::string error;
  };
  std::vector<Case> cases;
  auto add = [&](std::string name, auto edit, v1::Collection::State state, std::string error) {
    Case c{std::move(name), Recorded(), state, std::move(error)};
    edit(c.r);
    cases.push_back(std::move(c));
  };
  add(
      "no postgres here",
      [](Recorded& r) { r.ps = absl::StrCat(kCountryconfig, "\topencrvs_countryconfig\n"); },
      v1::Collection::ABSENT, "no user database runs on this node: neither postgres");
  add(
      "docker.sock refuses",
      [](Recorded& r) {
        r.ps = "";
        r.ps_exit = 1;
        r.ps_err = "permission denied while trying to connect to the Docker daemon socket";
      },
      v1::Collection::ERROR, "docker ps exited 1: permission denied");
  add(
      "psql cannot connect (its error masked)",
      [](Recorded& r) {
        r.psql = "";
        r.psql_exit = 2;
        r.psql_err =
            "psql: error: connection to server failed: FATAL:  password authentication failed "
            "for user \"postgres\" password=PgSecret77\n";
      },
      v1::Collection::ERROR, "docker exec (psql events) exited 2: psql: error: connection");
  add(
      "no psql in the image",
      [](Recorded& r) {
        r.psql = "";
        r.psql_exit = 127;
        r.psql_err = "sh: 1: psql: not found";
      },
      v1::Collection::ERROR, "exited 127 (sh or psql is not in the container)");
  add(
      "no database events", [](Recorded& r) { r.psql = "Garbage\nmore garbage\n"; },
      v1::Collection::ERROR, "docker exec (psql events): psql printed no schema row (21 bytes");
  add(
      "users in MongoDB (before v2.0), not on this node",
      [](Recorded& r) { r.psql = "schema\tf\tf\n"; }, v1::Collection::ABSENT,
      "keeps its users in MongoDB (user-mgnt.users), and no mongo1 / mongo2 container runs on "
      "this node");
  // An output cut short (the output cap, a killed psql) or a row of another
  // shape (a tab inside a value) would lose an account, which would then
  // read as "not found": not compared at all.
  add(
      "psql cut short",
      [](Recorded& r) {
        r.psql = absl::StrCat(kPsqlPrefix, UserRow("j.campbell", "NATIONAL_SYSTEM_ADMIN", "active",
                                                   "$2a$10$abcdefghijklmnopqrstuv"));
        r.psql_end = false;
      },
      v1::Collection::ERROR, "has no end row: cut short, not compared");
  add(
      "a row of another shape",
      [](Recorded& r) {
        r.psql = absl::StrCat(kPsqlPrefix, "user\tj.campbell\tNATIONAL_SYSTEM_ADMIN\tactive\n");
      },
      v1::Collection::ERROR, "1 line(s) of an unexpected shape (first: line 2)");
  for (const Case& c : cases) {
    v1::FactReport report = CollectRecorded(c.r);
    const v1::Collection& col = report.admin_passwords().collection();
    EXPECT_EQ(col.state(), c.state) << c.name << ": " << col.error();
    EXPECT_THAT(col.error(), HasSubstr(c.error)) << c.name;
    EXPECT_EQ(report.admin_passwords().accounts_size(), 0) << c.name;
    ExpectNoSecret(report, {"PgSecret77"});
  }
  // Docker not installed (under --root: not recorded) while the source is
  // on: not assessed, an ERROR (UNKNOWN), never ABSENT ("runs elsewhere").
  testing::TempDir empty;
  RecordingEnv env(empty.path());
  v1::FactReport report = CollectAdmin(env, AdminOn());
  EXPECT_EQ(report.admin_passwords().collection().state(), v1::Collection::ERROR);
  EXPECT_THAT(report.admin_passwords().collection().error(), HasSubstr("docker ps: "));
  EXPECT_THAT(report.admin_passwords().collection().error(), HasSubstr("docker cannot be run"));
}

TEST(AdminPasswordErrors, AHugeSeedIsCutAndSaid) {
  Recorded r;
  r.csv = absl::StrCat(kHeader, Row("NATIONAL_SYSTEM_ADMIN", "j.campbell", "test"));
  while (r.csv.size() <= agent::kMaxEmployeesBytes) {
    absl::StrAppend(&r.csv, Row("COMMUNITY_LEADER", "c.leader", "test"));
  }
  absl::StrAppend(&r.csv, Row("NATIONAL_SYSTEM_ADMIN", "late.admin", "test"));
  r.psql = absl::StrCat(kPsqlPrefix);
  v1::FactReport report = CollectRecorded(r);
  const v1::AdminPasswordsFact& fact = report.admin_passwords();
  ASSERT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  ASSERT_GE(fact.problems_size(), 1);
  EXPECT_THAT(fact.problems(0).message(), HasSubstr("over 1048576 bytes"));
  EXPECT_NE(Account(fact, "j.campbell"), nullptr);
  EXPECT_EQ(Account(fact, "late.admin"), nullptr);
}

// --- secrets ----------------------------------------------------------------

TEST(AdminPasswordSecrets, NoPasswordInAnyArgvOrInTheReport) {
  const std::string hash = ReferenceBcrypt("SeedPwPlanted1", "2a", 4);
  Recorded r;
  r.csv = absl::StrCat(kHeader, Row("NATIONAL_SYSTEM_ADMIN", "j.campbell", "SeedPwPlanted1"));
  r.psql =
      absl::StrCat(kPsqlPrefix, UserRow("j.campbell", "NATIONAL_SYSTEM_ADMIN", "active", hash));
  testing::TempDir root;
  Record(root, r);
  RecordingEnv env(root.path());
  v1::FactReport report = CollectAdmin(env, AdminOn());
  ASSERT_EQ(report.admin_passwords().collection().state(), v1::Collection::OK);
  ASSERT_TRUE(Account(report.admin_passwords(), "j.campbell")->default_accepted());
  for (const auto& argv : env.argvs) {
    for (const std::string& a : argv) {
      EXPECT_THAT(a, Not(HasSubstr("SeedPwPlanted1"))) << absl::StrJoin(argv, " ");
    }
  }
  ExpectNoSecret(report,
                 {"SeedPwPlanted1", hash, hash.substr(7, 22), "someone@example.org", "0933333333"});
}

// The real script, run by a real shell: a stand-in `docker` runs the exec'd
// command here (as in the container), a stand-in `psql` records its argv and
// standard input and answers as PostgreSQL 15 did for the same script
// (tests/fixtures/make_application_fixture.py). The usernames reach psql as
// a variable, the SQL on its standard input; neither holds a password.
TEST(AdminPasswordSecrets, TheScriptReachesPsqlOnItsStandardInput) {
  testing::TempDir dir;
  const std::string bin = dir.Join("bin");
  ASSERT_EQ(mkdir(bin.c_str(), 0755), 0);
  const std::string log = dir.Join("argv.log");
  const std::string stdin_log = dir.Join("psql.stdin");
  auto script = [&](const std::string& name, const std::string& body) {
    const std::string path = bin + "/" + name;
    testing::WriteFile(path, "#!/bin/sh\n" + body);
    ASSERT_EQ(chmod(path.c_str(), 0755), 0);
  };
  const std::string hash = ReferenceBcrypt("test", "2a", 4);
  script("docker",
         absl::StrCat(
             "for a in \"$@\"; do printf '%s\\0' \"$a\" >> '", log,
             "'; done\n"
             "if [ \"$1\" = ps ]; then printf '",
             kPostgres, "\\topencrvs_postgres\\n", kCountryconfig,
             "\\topencrvs_countryconfig\\n'; exit 0; fi\n"
             "if [ \"$3\" = cat ]; then printf '%s\\n' '",
             absl::StripSuffix(
                 absl::StrCat(kHeader, Row("NATIONAL_SYSTEM_ADMIN", "j.campbell", "test")), "\n"),
             "'; exit 0; fi\n"
             "shift 2\nexec \"$@\"\n"));
  script("psql", absl::StrCat("for a in \"$@\"; do printf '%s\\0' \"$a\" >> '", log,
                              "'; done\ncat > '", stdin_log, "'\nprintf 'schema\\tt\\tt\\n",
                              "user\\tj.campbell\\tNATIONAL_SYSTEM_ADMIN\\tactive\\t%s\\t%s\\n",
                              "init\\tcompleted\\t\\t\\nend\\n' '", hash, "' '", hash.substr(0, 29),
                              "'\n"));
  const char* old_path = getenv("PATH");
  const std::string saved_path = old_path ? old_path : "";
  setenv("PATH", absl::StrCat(bin, ":", saved_path).c_str(), 1);
  setenv("POSTGRES_USER", "events_superuser", 1);

  RecordingEnv env("/");
  v1::FactReport report = CollectAdmin(env, AdminOn());

  setenv("PATH", saved_path.c_str(), 1);
  unsetenv("POSTGRES_USER");
  const v1::AdminPasswordsFact& fact = report.admin_passwords();
  ASSERT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  ASSERT_NE(Account(fact, "j.campbell"), nullptr);
  EXPECT_TRUE(Account(fact, "j.campbell")->default_accepted());
  EXPECT_EQ(Account(fact, "system_initialisation")->status(), "setup completed");

  // psql got the users as a variable, the user from the container's env,
  // and the script, byte for byte, on its standard input.
  std::vector<std::string> logged = absl::StrSplit(testing::ReadFile(log), '\0');
  auto has = [&](const std::string& a) {
    return std::find(logged.begin(), logged.end(), a) != logged.end();
  };
  EXPECT_TRUE(has("users=j.campbell,o.admin"));
  EXPECT_TRUE(has("events_superuser"));
  EXPECT_TRUE(has("ON_ERROR_STOP=1"));
  EXPECT_EQ(testing::ReadFile(stdin_log), absl::StrCat(agent::kAdminQuery, "\n"));
  ExpectNoSecret(report, {hash});
}

// The agent's script against a real PostgreSQL (tests/support/real_postgres.h)
// with the tables of OpenCRVS v2's migrations
// (packages/migration/src/migrations/events: users, user_credentials,
// system_initialisation in schema app), and a stand-in `docker` that runs the
// exec'd command here, as it would run in the postgres container.
using testing::RealPostgres;

TEST(AdminPasswordsPostgres, TheScriptAgainstARealPostgres) {
  RealPostgres pg;
  ASSERT_TRUE(pg.ok()) << pg.error();
  pg.Psql("postgres", "CREATE DATABASE events");
  // A v1.9 database: the events schema without the users' tables.
  pg.Psql("events", "CREATE SCHEMA app");

  testing::TempDir dir;
  const std::string bin = dir.Join("bin");
  ASSERT_EQ(mkdir(bin.c_str(), 0755), 0);
  const std::string csv = absl::StrCat(kHeader, Row("NATIONAL_SYSTEM_ADMIN", "j.campbell", "test"),
                                       Row("NATIONAL_SYSTEM_ADMIN", "k.changed", "test"),
                                       Row("NATIONAL_SYSTEM_ADMIN", "m.missing", "test"));
  testing::WriteFile(dir.Join("seed.csv"), csv);
  const std::string docker = bin + "/docker";
  testing::WriteFile(docker, absl::StrCat("#!/bin/sh\n"
                                          "if [ \"$1\" = ps ]; then printf '",
                                          kPostgres, "\\topencrvs_postgres\\n", kCountryconfig,
                                          "\\topencrvs_countryconfig\\n'; exit 0; fi\n"
                                          "if [ \"$3\" = cat ]; then exec cat '",
                                          dir.Join("seed.csv"), "'; fi\nshift 2\nexec \"$@\"\n"));
  ASSERT_EQ(chmod(docker.c_str(), 0755), 0);
  const char* old_path = getenv("PATH");
  const std::string saved_path = old_path ? old_path : "";
  setenv("PATH", absl::StrCat(bin, ":", saved_path).c_str(), 1);
  setenv("PGHOST", pg.socket_dir().c_str(), 1);
  setenv("POSTGRES_USER", "postgres", 1);
  auto collect = [&] {
    RecordingEnv env("/");
    return CollectAdmin(env, AdminOn());
  };

  // v1.9 without MongoDB on this node: the node running it reports.
  v1::FactReport v19 = collect();
  EXPECT_EQ(v19.admin_passwords().collection().state(), v1::Collection::ABSENT);
  EXPECT_THAT(v19.admin_passwords().collection().error(),
              HasSubstr("keeps its users in MongoDB (user-mgnt.users)"));

  // OpenCRVS v2's tables, as its migrations create them (the columns the
  // script reads, and the constraints that shape them).
  pg.Psql(
      "events",
      "CREATE TABLE app.locations(id uuid PRIMARY KEY DEFAULT gen_random_uuid());"
      "CREATE TABLE app.users(id uuid PRIMARY KEY DEFAULT gen_random_uuid(), legacy_id text "
      "UNIQUE, firstname text NOT NULL, surname text NOT NULL, full_honorific_name text, role "
      "text NOT NULL, status text NOT NULL, email text UNIQUE, mobile text UNIQUE, "
      "office_id uuid NOT NULL REFERENCES app.locations(id), created_at timestamptz DEFAULT "
      "now() NOT NULL, CONSTRAINT email_or_mobile_not_null CHECK (email IS NOT NULL OR mobile "
      "IS NOT NULL));"
      "CREATE TABLE app.user_credentials(id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
      "user_id uuid NOT NULL REFERENCES app.users(id) ON DELETE CASCADE, username text UNIQUE "
      "NOT NULL, password_hash text NOT NULL, salt text NOT NULL, security_questions jsonb "
      "DEFAULT '{}'::jsonb NOT NULL);"
      "CREATE TABLE app.system_initialisation(id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1), "
      "hash text, salt text, completed_at timestamptz, created_at timestamptz NOT NULL DEFAULT "
      "now(), CONSTRAINT completion_tokens_consistent CHECK ((completed_at IS NULL AND hash IS "
      "NOT NULL AND salt IS NOT NULL) OR (completed_at IS NOT NULL AND hash IS NULL AND salt IS "
      "NULL)));"
      "INSERT INTO app.locations DEFAULT VALUES;");
  const std::string test_hash = ReferenceBcrypt("test", "2a", 4);
  const std::string changed_hash = ReferenceBcrypt("Rotated-Pw-42", "2a", 4);
  const std::string init_hash = ReferenceBcrypt("password", "2a", 4);
  auto user = [&](const std::string& username, const std::string& role, const std::string& status,
                  const std::string& hash) {
    pg.Psql(
        "events",
        absl::StrCat("WITH u AS (INSERT INTO app.users(firstname, surname, role, status, email, "
                     "office_id) SELECT 'Given', 'Family', '",
                     role, "', '", status, "', '", username,
                     "@example.org', id FROM app.locations LIMIT 1 RETURNING id) INSERT INTO "
                     "app.user_credentials(user_id, username, password_hash, salt) SELECT id, '",
                     username, "', '", hash, "', '", hash.substr(0, 29), "' FROM u"));
  };
  user("j.campbell", "NATIONAL_SYSTEM_ADMIN", "active", test_hash);
  user("k.changed", "NATIONAL_SYSTEM_ADMIN", "active", changed_hash);
  user("o.admin", "NATIONAL_SYSTEM_ADMIN", "deactivated", test_hash);
  user("x.other", "NATIONAL_SYSTEM_ADMIN", "active", test_hash);
  pg.Psql("events", absl::StrCat("INSERT INTO app.system_initialisation(hash, salt) VALUES ('",
                                 init_hash, "', '", init_hash.substr(0, 29), "')"));

  v1::FactReport v2 = collect();
  setenv("PATH", saved_path.c_str(), 1);
  unsetenv("PGHOST");
  unsetenv("POSTGRES_USER");

  const v1::AdminPasswordsFact& fact = v2.admin_passwords();
  ASSERT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  ASSERT_EQ(fact.accounts_size(), 5) << Text(fact);
  const v1::DefaultPasswordAccount* j = Account(fact, "j.campbell");
  ASSERT_NE(j, nullptr);
  EXPECT_TRUE(j->found());
  EXPECT_EQ(j->status(), "active");
  EXPECT_TRUE(j->default_accepted());
  EXPECT_EQ(j->default_from(),
            "countryconfig /usr/src/app/src/data-seeding/employees/source/default-employees.csv:2");
  EXPECT_FALSE(Account(fact, "k.changed")->default_accepted());
  EXPECT_TRUE(Account(fact, "k.changed")->found());
  EXPECT_FALSE(Account(fact, "m.missing")->found());
  // o.admin's default is 'password', not the seed's "test".
  EXPECT_EQ(Account(fact, "o.admin")->status(), "deactivated");
  EXPECT_FALSE(Account(fact, "o.admin")->default_accepted());
  const v1::DefaultPasswordAccount* init = Account(fact, "system_initialisation");
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(init->status(), "setup open");
  EXPECT_TRUE(init->default_accepted());
  EXPECT_EQ(Account(fact, "x.other"), nullptr);
  ExpectNoSecret(v2, {test_hash, changed_hash, init_hash, "Rotated-Pw-42", "@example.org"});
}

}  // namespace
}  // namespace preflight
