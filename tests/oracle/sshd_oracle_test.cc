// Oracle tests: our effective sshd configuration (ReadSshdConfig +
// ComputeSshdEffective) against the real `sshd -T -C ...` for dozens of
// generated configurations, each evaluated for several connections.
//
// Needs /usr/sbin/sshd (Debian: openssh-server) and root (sshd -T reads host
// keys and wants /run/sshd). A missing sshd is a failure, never a skip: the CI
// installs it, and a silently skipped oracle proves nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/facts/sshd_config.h"
#include "agent/facts/sshd_effective.h"
#include "agent/host/rooted_host_env.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight::agent {
namespace {

using ::preflight::testing::MakeDirs;
using ::preflight::testing::ReadFile;
using ::preflight::testing::RunProcess;
using ::preflight::testing::RunResult;
using ::preflight::testing::TempDir;
using ::preflight::testing::WriteFile;

constexpr char kSshd[] = "/usr/sbin/sshd";
constexpr char kSshKeygen[] = "ssh-keygen";
// A user that exists nowhere; only used for configurations whose Match blocks
// select on User alone (sshd -T does not look the user up for User).
constexpr char kUnknownUser[] = "preflight-no-such-user";

// ------------------------------------------------------------------ fixtures

// One connection, as given to `sshd -T -C`.
struct Conn {
  std::string user;
  std::string host;
  std::string addr;
  std::string laddr;
  uint32_t lport = 22;
};

std::string ConnString(const Conn& c) {
  return absl::StrCat("user=", c.user, ",host=", c.host, ",addr=", c.addr, ",laddr=", c.laddr,
                      ",lport=", c.lport);
}

// Every case is evaluated for these connections (plus kUnknownUser when the
// case's Match blocks select on User only, plus the case's own extras).
const std::vector<Conn>& DefaultConns() {
  static const std::vector<Conn> kConns = {
      {"root", "203.0.113.10", "203.0.113.10", "192.0.2.1", 22},
      {"nobody", "ops.example.org", "10.1.2.3", "192.0.2.1", 22},
      {"root", "bastion.example.org", "10.9.8.7", "192.0.2.2", 2222},
      {"nobody", "203.0.113.77", "203.0.113.77", "192.0.2.2", 2222},
  };
  return kConns;
}

struct SshdCase {
  std::string name;
  // The main sshd_config, after a first line "HostKey <temp key>". "{D}" is
  // replaced with the case's temporary directory.
  std::string main;
  // Other files: path relative to the temporary directory -> content ("{D}"
  // replaced too).
  std::vector<std::pair<std::string, std::string>> files = {};
  std::vector<Conn> extra_conns = {};
};
void PrintTo(const SshdCase& c, std::ostream* os) { *os << c.name; }

std::string Expand(absl::string_view text, absl::string_view dir) {
  return absl::StrReplaceAll(text, {{"{D}", dir}});
}

// Whether every Match line of the case selects on User only (or is "all").
bool MatchesOnUserOnly(const SshdCase& c) {
  std::vector<std::string> texts = {c.main};
  for (const auto& f : c.files) texts.push_back(f.second);
  bool any_user = false;
  for (const std::string& t : texts) {
    for (absl::string_view line : absl::StrSplit(t, '\n')) {
      line = absl::StripAsciiWhitespace(line);
      if (!absl::StartsWithIgnoreCase(line, "match")) continue;
      std::vector<std::string> words = absl::StrSplit(absl::AsciiStrToLower(line.substr(5)),
                                                      absl::ByAnyChar(" \t="), absl::SkipEmpty());
      for (size_t i = 0; i < words.size(); ++i) {
        if (words[i] == "all") continue;
        if (words[i] != "user") return false;
        any_user = true;
        ++i;  // the argument
      }
    }
  }
  return any_user;
}

std::vector<std::string> GroupsOf(const std::string& user) {
  RunResult r = RunProcess({"id", "-Gn", user}, absl::Seconds(10));
  if (r.exit_code != 0) return {};  // no such user: no groups
  return absl::StrSplit(absl::StripAsciiWhitespace(r.out), ' ', absl::SkipEmpty());
}

std::string FormatDiffs(const std::vector<v1::SshdOracleDiff>& diffs) {
  std::string out;
  for (const v1::SshdOracleDiff& d : diffs) {
    absl::StrAppend(&out, "  ", d.keyword(), ": ours='", d.ours(), "' sshd -T='", d.sshd(), "'\n");
  }
  return out;
}

std::string SourceOf(const v1::SshdEffective& e, absl::string_view keyword) {
  for (const v1::SshdSetting& s : e.settings()) {
    if (s.keyword() == keyword) return s.source();
  }
  return "?";
}

// Fails (never skips) when sshd cannot be run here.
void RequireSshd() {
  ASSERT_EQ(access(kSshd, X_OK), 0)
      << kSshd << " is missing: install openssh-server (apt-get install openssh-server); the "
      << "sshd oracle tests compare against the real sshd -T and are not skipped.";
  struct stat st;
  if (stat("/run/sshd", &st) != 0) {
    MakeDirs("/run/sshd");
    ASSERT_EQ(stat("/run/sshd", &st), 0)
        << "sshd -T needs the directory /run/sshd and it could not be created ("
        << std::strerror(errno) << "); run the oracle tests as root";
  }
}

class SshdOracleTest : public ::testing::TestWithParam<SshdCase> {
 protected:
  static void SetUpTestSuite() {
    keys_ = new TempDir();
    host_key_ = new std::string(keys_->Join("ssh_host_ed25519_key"));
    RunResult r = RunProcess({kSshKeygen, "-q", "-t", "ed25519", "-N", "", "-f", *host_key_},
                             absl::Seconds(30));
    ASSERT_EQ(r.exit_code, 0) << "ssh-keygen: " << r.err;
  }
  static void TearDownTestSuite() {
    delete host_key_;
    delete keys_;
    host_key_ = nullptr;
    keys_ = nullptr;
  }
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(RequireSshd()); }

  // Runs sshd -T for one connection; fails the test on a non-zero exit.
  static std::string SshdT(const std::string& config, const Conn& conn) {
    RunResult r =
        RunProcess({kSshd, "-T", "-f", config, "-C", ConnString(conn)}, absl::Seconds(30));
    EXPECT_EQ(r.exit_code, 0) << "sshd -T -f " << config << " -C " << ConnString(conn)
                              << " failed:\n"
                              << r.err << "\nconfig:\n"
                              << ReadFile(config);
    return r.exit_code == 0 ? r.out : "";
  }

  static TempDir* keys_;
  static std::string* host_key_;
};

TempDir* SshdOracleTest::keys_ = nullptr;
std::string* SshdOracleTest::host_key_ = nullptr;

TEST_P(SshdOracleTest, EffectiveEqualsSshdT) {
  const SshdCase& c = GetParam();
  ASSERT_NE(host_key_, nullptr);
  TempDir dir;
  const std::string main_path = dir.Join("sshd_config");
  const std::string main_text =
      absl::StrCat("HostKey ", *host_key_, "\n", Expand(c.main, dir.path()));
  WriteFile(main_path, main_text);
  std::string all_files = absl::StrCat("--- ", main_path, "\n", main_text);
  for (const auto& [rel, content] : c.files) {
    std::string text = Expand(content, dir.path());
    WriteFile(dir.Join(rel), text);
    absl::StrAppend(&all_files, "--- ", dir.Join(rel), "\n", text);
  }

  auto env = RootedHostEnv::Create("/");
  ASSERT_TRUE(env.ok()) << env.status();
  v1::SshdConfigFact fact;
  ReadSshdConfig(**env, CollectOptions{}, main_path, fact);
  ASSERT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  for (const v1::ParseProblem& p : fact.problems()) {
    ADD_FAILURE() << "parse problem on a configuration sshd accepts: " << p.ShortDebugString();
  }

  std::vector<Conn> conns = DefaultConns();
  if (MatchesOnUserOnly(c)) {
    conns.push_back({kUnknownUser, "203.0.113.10", "203.0.113.10", "192.0.2.1", 22});
  }
  conns.insert(conns.end(), c.extra_conns.begin(), c.extra_conns.end());

  for (const Conn& conn : conns) {
    SCOPED_TRACE(absl::StrCat("connection ", ConnString(conn)));
    std::string sshd_t = SshdT(main_path, conn);
    if (sshd_t.empty()) continue;

    ConnectionSpec spec;
    spec.user = conn.user;
    spec.groups = GroupsOf(conn.user);
    spec.host = conn.host;
    spec.addr = conn.addr;
    spec.laddr = conn.laddr;
    spec.lport = conn.lport;
    v1::SshdEffective ours = ComputeSshdEffective(fact, spec);

    std::vector<v1::SshdOracleDiff> diffs = CompareWithSshdT(ours, sshd_t);
    std::string sources;
    for (const v1::SshdOracleDiff& d : diffs) {
      absl::StrAppend(&sources, "  our source of ", d.keyword(), ": ", SourceOf(ours, d.keyword()),
                      "\n");
    }
    EXPECT_TRUE(diffs.empty()) << "ours vs sshd -T for groups [" << absl::StrJoin(spec.groups, ",")
                               << "]:\n"
                               << FormatDiffs(diffs) << sources << "files:\n"
                               << all_files;

    // The comparison is not vacuous: most tracked keywords are printed.
    std::map<std::string, std::vector<std::string>> theirs = ParseSshdT(sshd_t);
    int compared = 0;
    std::vector<std::string> missing;
    for (const std::string& k : TrackedSshdKeywords()) {
      if (theirs.count(k) != 0) {
        ++compared;
      } else {
        missing.push_back(k);
      }
    }
    EXPECT_GE(compared, 15) << "tracked keywords sshd -T did not print: "
                            << absl::StrJoin(missing, " ");
  }
}

// ---------------------------------------------------------------- the cases

// /etc/ssh/sshd_config as OpenCRVS's server-setup playbook leaves it (drop-ins
// included at the top, provision exempted from the second factor).
constexpr char kOpenCrvsMain[] = R"(Include {D}/sshd_config.d/*.conf
PermitRootLogin no
PasswordAuthentication no
PermitEmptyPasswords no
PubkeyAuthentication yes
KbdInteractiveAuthentication yes
ChallengeResponseAuthentication yes
UsePAM yes
AuthenticationMethods publickey,keyboard-interactive
X11Forwarding no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
Match User provision
  AuthenticationMethods publickey
Match all
)";

constexpr char kCloudInit[] = "PasswordAuthentication yes\n";

constexpr char kHardening[] =
    R"(# Restrict key exchange, cipher, and MAC algorithms, as per sshaudit.com
# hardening guide.
KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512
Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr
MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128-etm@openssh.com
HostKeyAlgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256
RequiredRSASize 3072
)";

const std::vector<SshdCase>& Cases() {
  static const std::vector<SshdCase> kCases = {
      // --- defaults and the OpenCRVS shapes
      {.name = "EmptyConfigDefaults", .main = ""},
      {.name = "OnlyCommentsAndBlankLines", .main = "# sshd_config\n\n   \n\t# indented comment\n"},
      {.name = "OpenCrvsProvisioned", .main = kOpenCrvsMain},
      {.name = "OpenCrvsWithCloudInitDropIn",
       .main = kOpenCrvsMain,
       .files = {{"sshd_config.d/50-cloud-init.conf", kCloudInit}}},
      {.name = "OpenCrvsWithHardeningDropIn",
       .main = kOpenCrvsMain,
       .files = {{"sshd_config.d/50-cloud-init.conf", kCloudInit},
                 {"sshd_config.d/ssh-audit_hardening.conf", kHardening}}},
      {.name = "OpenCrvsRootExempted",
       .main = absl::StrReplaceAll(kOpenCrvsMain, {{"Match User provision", "Match User root"}})},

      // --- Include order and drop-in conflicts
      {.name = "IncludeAtBottomMainWins",
       .main = "PasswordAuthentication no\nPermitRootLogin no\nInclude {D}/d/*.conf\n",
       .files = {{"d/50-cloud-init.conf", "PasswordAuthentication yes\nMaxAuthTries 3\n"}}},
      {.name = "IncludeAtTopDropInWins",
       .main = "Include {D}/d/*.conf\nPasswordAuthentication no\nPermitRootLogin no\n",
       .files = {{"d/50-cloud-init.conf", "PasswordAuthentication yes\nPermitRootLogin yes\n"}}},
      {.name = "DropInsLexicalOrder",
       .main = "Include {D}/d/*.conf\n",
       .files = {{"d/9-late.conf", "PermitRootLogin forced-commands-only\nMaxAuthTries 9\n"},
                 {"d/10-first.conf", "PermitRootLogin no\n"},
                 {"d/20-second.conf", "PermitRootLogin yes\nMaxAuthTries 2\n"},
                 {"d/Z-upper.conf", "X11Forwarding yes\n"},
                 {"d/a-lower.conf", "X11Forwarding no\n"}}},
      {.name = "DropInGlobIgnoresOtherNamesAndDotFiles",
       .main = "Include {D}/d/*.conf\n",
       .files = {{"d/.hidden.conf", "PasswordAuthentication no\n"},
                 {"d/50-x.conf.bak", "PermitRootLogin no\n"},
                 {"d/README", "PubkeyAuthentication no\n"},
                 {"d/60-real.conf", "MaxAuthTries 4\n"}}},
      {.name = "IncludeQuestionMarkGlob",
       .main = "Include {D}/d/0?-*.conf\nPermitRootLogin yes\n",
       .files = {{"d/01-a.conf", "PermitRootLogin no\n"},
                 {"d/1-b.conf", "PasswordAuthentication no\n"},
                 {"d/02-c.conf", "X11Forwarding yes\n"}}},
      {.name = "IncludeSeveralArgumentsInOrder",
       .main = "Include {D}/b.conf {D}/a.conf\n",
       .files = {{"a.conf", "PermitRootLogin yes\nMaxAuthTries 1\n"},
                 {"b.conf", "PermitRootLogin no\n"}}},
      {.name = "IncludeMissingFilesAndEmptyGlob",
       .main = "Include {D}/missing.conf\nInclude {D}/nodir/*.conf\nInclude {D}/empty/*.conf\n"
               "PermitRootLogin no\n",
       .files = {{"empty/keep.txt", ""}}},
      {.name = "IncludeNested",
       .main = "Include {D}/level1.conf\nPasswordAuthentication yes\n",
       .files = {{"level1.conf", "Include {D}/level2/*.conf\nPermitRootLogin no\n"},
                 {"level2/x.conf", "PasswordAuthentication no\nPermitRootLogin yes\n"}}},
      {.name = "PortFromDropInAndMainAccumulate",
       .main = "Include {D}/d/*.conf\nPort 22\n",
       .files = {{"d/10-port.conf", "Port 2222\n"}}},
      {.name = "MatchInDropInEndsAtEndOfFile",
       .main = "Include {D}/d/*.conf\nPasswordAuthentication yes\nX11Forwarding yes\n",
       .files = {{"d/10-match.conf",
                  "MaxAuthTries 4\nMatch User root\n  PasswordAuthentication no\n"}}},
      {.name = "MatchAllInDropInThenMainGlobal",
       .main = "Include {D}/d/*.conf\nPermitRootLogin no\n",
       .files = {{"d/10-match.conf", "Match User nobody\n  PermitRootLogin yes\nMatch all\n"}}},

      // --- Match criteria
      {.name = "MatchUserSingle", .main = "Match User root\n  PermitRootLogin yes\n"},
      {.name = "MatchUserList",
       .main = "PasswordAuthentication no\nMatch User nobody,root\n  PasswordAuthentication yes\n"},
      {.name = "MatchUserNegatedWithWildcard",
       .main = "Match User !root,*\n  PasswordAuthentication no\n  X11Forwarding yes\n"},
      {.name = "MatchUserOnlyNegatedNeverMatches",
       .main = "Match User !root\n  PermitRootLogin yes\n"},
      {.name = "MatchUserWildcards",
       .main = "Match User no*\n  MaxAuthTries 2\nMatch User r??t\n  MaxAuthTries 5\n"},
      {.name = "MatchUserIsCaseSensitive", .main = "Match User ROOT\n  PermitRootLogin yes\n"},
      {.name = "MatchGroupRoot", .main = "Match Group root\n  AllowTcpForwarding no\n"},
      {.name = "MatchGroupList",
       .main = "Match Group wheel,nogroup\n  PermitTunnel yes\n  AllowTcpForwarding local\n"},
      {.name = "MatchGroupNegated", .main = "Match Group !root,*\n  X11Forwarding yes\n"},
      {.name = "MatchAddressPrivate",
       .main = "PasswordAuthentication no\nMatch Address 10.0.0.0/8\n  PasswordAuthentication "
               "yes\n"},
      {.name = "MatchAddressPublicTestNet",
       .main = "Match Address 203.0.113.0/24\n  PermitRootLogin no\n  MaxAuthTries 2\n"},
      {.name = "MatchAddressNegated",
       .main = "Match Address !10.0.0.0/8,*\n  KbdInteractiveAuthentication no\n"},
      {.name = "MatchAddressNegatedOnlyNeverMatches",
       .main = "Match Address !10.0.0.0/8\n  PermitRootLogin yes\n"},
      {.name = "MatchAddressListAndExactAndWildcard",
       .main = "Match Address 192.168.0.0/16,10.1.2.3\n  MaxAuthTries 1\n"
               "Match Address 203.0.113.*\n  MaxAuthTries 2\n"},
      {.name = "MatchAddressIpv6",
       .main = "Match Address 2001:db8::/32\n  PermitRootLogin yes\n"
               "Match Address ::1,fe80::/10\n  PermitRootLogin no\n",
       .extra_conns = {{"root", "v6.example.org", "2001:db8::5", "2001:db8::1", 22},
                       {"root", "localhost", "::1", "::1", 22}}},
      {.name = "MatchLocalPort",
       .main = "Match LocalPort 2222\n  PasswordAuthentication no\n"
               "Match LocalPort 22\n  X11Forwarding yes\n"},
      {.name = "MatchLocalAddress",
       .main = "Match LocalAddress 192.0.2.2\n  AllowTcpForwarding no\n"
               "Match LocalAddress 192.0.2.0/24\n  PermitTunnel ethernet\n"},
      {.name = "MatchHostStar", .main = "Match Host *\n  KbdInteractiveAuthentication no\n"},
      {.name = "MatchHostPattern",
       .main = "Match Host *.example.org,!bastion.*\n  PubkeyAuthentication no\n"},
      {.name = "MatchHostUpperCasePattern", .main = "Match Host *.EXAMPLE.ORG\n  MaxAuthTries 3\n"},
      {.name = "MatchAllOverridesGlobal",
       .main = "PermitRootLogin yes\nMatch all\n  PermitRootLogin no\n"},
      {.name = "MatchSeveralCriteria",
       .main = "Match User root Address 10.0.0.0/8\n  PermitRootLogin yes\n"
               "Match User nobody LocalPort 2222 Host *\n  PasswordAuthentication no\n"},
      {.name = "MatchFirstMatchingBlockWins",
       .main = "PermitRootLogin no\nMatch User root\n  PermitRootLogin forced-commands-only\n"
               "Match Address *\n  PermitRootLogin yes\n  MaxAuthTries 3\n"},
      {.name = "MatchKeywordsAnyCase",
       .main = "match user root\n  permitrootlogin yes\nMATCH ADDRESS 10.0.0.0/8\n"
               "  X11FORWARDING YES\n"},
      {.name = "MatchLineTrailingComment",
       .main = "Match User root # the admins\n  PermitRootLogin yes # needed by backups\n"},
      {.name = "IncludeInsideMatchBlock",
       .main = "Match User root\n  Include {D}/inner.conf\n  MaxAuthTries 3\n"
               "Match all\nPasswordAuthentication no\n",
       .files = {{"inner.conf", "PermitRootLogin yes\nX11Forwarding yes\n"}}},
      {.name = "IncludeInsideMatchWithMatchInIncludedFile",
       .main = "Match User nobody\n  Include {D}/inner.conf\n  MaxAuthTries 3\n",
       .files = {{"inner.conf", "X11Forwarding yes\nMatch User root\n  PermitRootLogin yes\n"}}},

      // The dangerous direction of the same rule: a hardening line that looks
      // like it applies to root but never does.
      {.name = "IncludeInsideNonMatchingMatchCannotHarden",
       .main = "PermitRootLogin yes\nMatch User nobody\n  Include {D}/inner.conf\n",
       .files = {{"inner.conf", "Match User root\n  PermitRootLogin no\n"}}},
      // An Include after a Match line belongs to that block: the drop-ins
      // apply to the block's connections only.
      {.name = "IncludeAfterMatchBelongsToBlock",
       .main = "Match User root\n  PermitRootLogin yes\nInclude {D}/d/*.conf\n",
       .files = {{"d/50-cloud-init.conf", "PasswordAuthentication no\n"}}},
      {.name = "MatchQuotedCriteria", .main = "Match User \"root\"\n  PermitRootLogin yes\n"},
      {.name = "MatchUserAndGroup",
       .main = "Match User root,nobody Group nogroup\n  PasswordAuthentication no\n"},

      // --- the ChallengeResponseAuthentication alias
      {.name = "AliasChallengeResponseFirstWins",
       .main = "ChallengeResponseAuthentication no\nKbdInteractiveAuthentication yes\n"},
      {.name = "AliasKbdInteractiveFirstWins",
       .main = "KbdInteractiveAuthentication no\nChallengeResponseAuthentication yes\n"},
      {.name = "AliasInDropInWins",
       .main = "Include {D}/d/*.conf\nKbdInteractiveAuthentication yes\n",
       .files = {{"d/10.conf", "ChallengeResponseAuthentication no\n"}}},
      {.name = "AliasInMatchBlock",
       .main = "KbdInteractiveAuthentication yes\nMatch User root\n"
               "  ChallengeResponseAuthentication no\n  KbdInteractiveAuthentication yes\n"},

      // --- syntax
      {.name = "EqualsSyntax",
       .main = "PasswordAuthentication=no\nPermitRootLogin = yes\nMaxAuthTries= 4\n"
               "X11Forwarding =yes\nMatch User root\n  PubkeyAuthentication=no\n"},
      {.name = "EqualsSyntaxInMatchLine", .main = "Match User=root\n  PermitRootLogin yes\n"},
      {.name = "QuotedArguments",
       .main = "PermitRootLogin \"no\"\nPasswordAuthentication 'no'\n"
               "AuthorizedKeysFile \"/etc/ssh/keys/%u\" '.ssh/authorized_keys'\n"
               "AllowUsers \"root\" nobody\n"},
      {.name = "KeywordAndValueCase",
       .main = "passwordauthentication NO\nPERMITROOTLOGIN Without-Password\nX11Forwarding Yes\n"},
      {.name = "TabsCrLfAndTrailingComments",
       .main = "\tPasswordAuthentication\tno\r\nPermitRootLogin no   # hardened\r\n"
               "   MaxAuthTries\t 3 \r\n"},

      // --- AuthenticationMethods and AuthorizedKeysFile
      {.name = "AuthenticationMethodsLists",
       .main = "AuthenticationMethods publickey,password publickey,keyboard-interactive\n"
               "AuthenticationMethods publickey\n"},
      {.name = "AuthenticationMethodsGlobalAnyMatchList",
       .main = "AuthenticationMethods any\n"
               "Match User root\n  AuthenticationMethods publickey,keyboard-interactive\n"},
      // sshd 9.2 refuses "any" in a Match block after a global list, so the
      // exemption is written before the global value (here by Match all).
      {.name = "AuthenticationMethodsAnyInMatchBeforeMatchAll",
       .main = "Match User root\n  AuthenticationMethods any\n"
               "Match all\n  AuthenticationMethods publickey,password\n"},
      {.name = "AuthenticationMethodsOnlyInMatch",
       .main = "Match Address 203.0.113.0/24\n"
               "  AuthenticationMethods publickey,keyboard-interactive:pam\n"},
      {.name = "AuthorizedKeysFileTokens",
       .main = "AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/keys/%u %h/.ssh/extra %%u/x\n"},
      {.name = "AuthorizedKeysFileFirstLineWins",
       .main = "AuthorizedKeysFile /etc/ssh/keys/%u\nAuthorizedKeysFile .ssh/other\n"},
      {.name = "AuthorizedKeysFileInMatch",
       .main =
           "AuthorizedKeysFile .ssh/authorized_keys\n"
           "Match User root\n  AuthorizedKeysFile /etc/ssh/root_keys %h/.ssh/authorized_keys\n"},
      {.name = "AuthorizedKeysFileNone", .main = "AuthorizedKeysFile none\n"},
      {.name = "AuthorizedKeysFileTilde", .main = "AuthorizedKeysFile ~/.ssh/authorized_keys\n"},
      {.name = "AuthorizedKeysCommand",
       .main = "AuthorizedKeysCommand /usr/local/bin/keys %u %f\n"
               "AuthorizedKeysCommandUser nobody\n"},
      {.name = "AuthorizedKeysCommandQuotedArgument",
       .main = "AuthorizedKeysCommand /usr/local/bin/keys \"%u\" --type %t\n"
               "AuthorizedKeysCommandUser nobody\n"},

      // --- accumulating lists and ports
      {.name = "AllowDenyUsersAccumulate",
       .main = "AllowUsers root\nAllowUsers nobody provision\nDenyUsers guest\n"
               "DenyUsers vendor* contractor@10.0.0.0/8\n"},
      {.name = "AllowDenyGroupsAccumulate",
       .main = "AllowGroups root sudo\nAllowGroups nogroup\nDenyGroups vendors\n"},
      {.name = "AllowUsersMatchReplacesGlobal",
       .main = "AllowUsers a b\nAllowUsers c\nMatch User root\n  AllowUsers root\n"
               "  AllowUsers admin\nMatch Address 10.0.0.0/8\n  DenyUsers nobody\n"},
      {.name = "MultiplePortLines", .main = "Port 22\nPort 2222\nPort 8022\n"},

      // --- other tracked keywords
      {.name = "OtherTrackedKeywords",
       .main = "HostbasedAuthentication yes\nGSSAPIAuthentication yes\n"
               "KerberosAuthentication yes\nPermitTunnel point-to-point\nX11Forwarding yes\n"
               "PermitEmptyPasswords yes\nMaxAuthTries 3\nRequiredRSASize 2048\nUsePAM yes\n"
               "AllowTcpForwarding remote\n"},
      {.name = "OtherTrackedKeywordsInMatch",
       .main = "UsePAM yes\nMatch User root\n  HostbasedAuthentication yes\n"
               "  GSSAPIAuthentication yes\n  PermitEmptyPasswords yes\n  RequiredRSASize 4096\n"
               "  PermitTunnel yes\n  X11Forwarding yes\n"},
      {.name = "PermitRootLoginProhibitPassword", .main = "PermitRootLogin prohibit-password\n"},
      {.name = "PermitRootLoginWithoutPassword", .main = "PermitRootLogin without-password\n"},
      {.name = "AllowTcpForwardingAll", .main = "AllowTcpForwarding all\n"},
  };
  return kCases;
}

INSTANTIATE_TEST_SUITE_P(Configs, SshdOracleTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<SshdCase>& info) {
                           return info.param.name;
                         });

TEST(SshdOracleCoverageTest, AtLeastFortyConfigurations) { EXPECT_GE(Cases().size(), 40u); }

// The comparison finds a real disagreement (it is not vacuous): our side
// computed from an empty configuration vs sshd -T of a hardened one.
TEST(SshdOracleSanityTest, CompareReportsADisagreement) {
  ASSERT_NO_FATAL_FAILURE(RequireSshd());
  TempDir dir;
  const std::string key = dir.Join("hostkey");
  RunResult k =
      RunProcess({kSshKeygen, "-q", "-t", "ed25519", "-N", "", "-f", key}, absl::Seconds(30));
  ASSERT_EQ(k.exit_code, 0) << k.err;
  const std::string config = dir.Join("sshd_config");
  WriteFile(config, absl::StrCat("HostKey ", key,
                                 "\nPasswordAuthentication no\nAllowUsers root\nPort 2222\n"));
  RunResult r = RunProcess(
      {kSshd, "-T", "-f", config, "-C", ConnString({"root", "h", "203.0.113.10", "192.0.2.1", 22})},
      absl::Seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;

  v1::SshdConfigFact empty;
  ConnectionSpec spec;
  spec.user = "root";
  spec.groups = {"root"};
  spec.host = "h";
  spec.addr = "203.0.113.10";
  spec.laddr = "192.0.2.1";
  std::vector<v1::SshdOracleDiff> diffs =
      CompareWithSshdT(ComputeSshdEffective(empty, spec), r.out);
  std::map<std::string, std::string> by_keyword;
  for (const v1::SshdOracleDiff& d : diffs) by_keyword[d.keyword()] = d.ours() + " | " + d.sshd();
  EXPECT_EQ(by_keyword["passwordauthentication"], "yes | no");
  EXPECT_EQ(by_keyword["allowusers"], " | root");
  EXPECT_EQ(by_keyword["port"], "22 | 2222");
  EXPECT_EQ(diffs.size(), 3u) << FormatDiffs(diffs);
}

}  // namespace
}  // namespace preflight::agent
