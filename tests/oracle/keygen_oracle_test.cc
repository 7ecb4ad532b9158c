// Oracle tests: DescribePublicKey and ParseAuthorizedKeys against
// `ssh-keygen -lf` for keys of every type and size ssh-keygen generates, in
// .pub files and in authorized_keys files with options, markers and comments.
//
// Needs ssh-keygen (Debian: openssh-client); a missing one is a failure.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "agent/facts/authorized_keys.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight::agent {
namespace {

using ::preflight::testing::ReadFile;
using ::preflight::testing::RunProcess;
using ::preflight::testing::RunResult;
using ::preflight::testing::TempDir;
using ::preflight::testing::WriteFile;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kSshKeygen[] = "/usr/bin/ssh-keygen";

// One line of `ssh-keygen -lf`: "<bits> SHA256:<fp> <comment> (<TYPE>)".
struct KeygenLine {
  uint32_t bits = 0;
  std::string fingerprint;
  std::string comment;  // "no comment" when the key has none
  std::string label;
};

std::ostream& operator<<(std::ostream& os, const KeygenLine& l) {
  return os << l.bits << " " << l.fingerprint << " '" << l.comment << "' (" << l.label << ")";
}

std::vector<KeygenLine> ParseKeygenOutput(absl::string_view out) {
  std::vector<KeygenLine> lines;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    KeygenLine l;
    size_t sp1 = line.find(' ');
    size_t sp2 = line.find(' ', sp1 + 1);
    size_t open = line.rfind(" (");
    if (sp1 == absl::string_view::npos || sp2 == absl::string_view::npos ||
        open == absl::string_view::npos || open < sp2 || line.back() != ')' ||
        !absl::SimpleAtoi(line.substr(0, sp1), &l.bits)) {
      ADD_FAILURE() << "unexpected ssh-keygen -lf line: " << line;
      continue;
    }
    l.fingerprint = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
    l.comment = std::string(absl::StripAsciiWhitespace(line.substr(sp2 + 1, open - sp2 - 1)));
    l.label = std::string(line.substr(open + 2, line.size() - open - 3));
    lines.push_back(std::move(l));
  }
  return lines;
}

// ssh-keygen -lf FILE, parsed. Fails the test when ssh-keygen fails.
std::vector<KeygenLine> KeygenFingerprints(const std::string& file) {
  RunResult r = RunProcess({kSshKeygen, "-lf", file}, absl::Seconds(30));
  EXPECT_EQ(r.exit_code, 0) << "ssh-keygen -lf " << file << ": " << r.err << "\n" << ReadFile(file);
  return ParseKeygenOutput(r.out);
}

void RequireKeygen() {
  ASSERT_EQ(access(kSshKeygen, X_OK), 0)
      << kSshKeygen << " is missing: install openssh-client (the CI installs openssh-server, "
      << "which depends on it); the keygen oracle tests are not skipped.";
}

struct KeySpec {
  std::string name;  // test name
  std::string type;  // ssh-keygen -t
  int bits;          // ssh-keygen -b; 0 for the type's default
  std::string label;
  uint32_t want_bits;
};
void PrintTo(const KeySpec& k, std::ostream* os) { *os << k.name; }

const std::vector<KeySpec>& KeySpecs() {
  static const std::vector<KeySpec> kSpecs = {
      {"Rsa1024", "rsa", 1024, "RSA", 1024},    {"Rsa2048", "rsa", 2048, "RSA", 2048},
      {"Rsa3072", "rsa", 3072, "RSA", 3072},    {"Rsa4096", "rsa", 4096, "RSA", 4096},
      {"Ecdsa256", "ecdsa", 256, "ECDSA", 256}, {"Ecdsa384", "ecdsa", 384, "ECDSA", 384},
      {"Ecdsa521", "ecdsa", 521, "ECDSA", 521}, {"Ed25519", "ed25519", 0, "ED25519", 256},
      {"Dsa", "dsa", 0, "DSA", 1024},
  };
  return kSpecs;
}

// A generated key: its .pub line split into fields.
struct GeneratedKey {
  bool generated = false;
  std::string refusal;  // ssh-keygen's stderr when it refused the type
  std::string pub_path;
  std::string type;
  std::string base64;
  std::string comment;
};

class KeygenOracleTest : public ::testing::TestWithParam<KeySpec> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    keys_ = new std::map<std::string, GeneratedKey>();
  }
  static void TearDownTestSuite() {
    delete keys_;
    delete dir_;
    keys_ = nullptr;
    dir_ = nullptr;
  }

  // Generates the key of `spec` once per process (ctest runs every test in a
  // process of its own, so keys are made lazily, not all up front).
  static const GeneratedKey& KeyFor(const KeySpec& spec) {
    auto [it, inserted] = keys_->try_emplace(spec.name);
    GeneratedKey& key = it->second;
    if (!inserted) return key;
    std::string path = dir_->Join(spec.name);
    std::vector<std::string> argv = {
        kSshKeygen, "-q", "-t", spec.type,
        "-N",       "",   "-C", absl::StrCat(spec.name, "@opencrvs.org laptop key"),
        "-f",       path};
    if (spec.bits != 0) {
      argv.push_back("-b");
      argv.push_back(absl::StrCat(spec.bits));
    }
    RunResult r = RunProcess(argv, absl::Minutes(2));
    if (r.exit_code != 0) {
      key.refusal = absl::StrCat("exit ", r.exit_code, ": ", r.err);
      return key;
    }
    key.pub_path = path + ".pub";
    std::string pub(absl::StripAsciiWhitespace(ReadFile(key.pub_path)));
    std::vector<std::string> f = absl::StrSplit(pub, absl::MaxSplits(' ', 2));
    if (f.size() != 3) {
      key.refusal = absl::StrCat("unexpected .pub content: ", pub);
      return key;
    }
    key.type = f[0];
    key.base64 = f[1];
    key.comment = f[2];
    key.generated = true;
    return key;
  }

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RequireKeygen());
    const KeySpec& spec = GetParam();
    key_ = &KeyFor(spec);
    if (!key_->generated) {
      // Only DSA may be refused (OpenSSH is phasing it out); say so clearly.
      ASSERT_EQ(spec.type, "dsa") << "ssh-keygen failed for " << spec.name << ": " << key_->refusal;
      ASSERT_FALSE(key_->refusal.empty());
      GTEST_SKIP() << "ssh-keygen refuses to generate DSA keys here (" << key_->refusal
                   << "); the DSA case is skipped, every other type still runs";
    }
  }

  static TempDir* dir_;
  static std::map<std::string, GeneratedKey>* keys_;
  const GeneratedKey* key_ = nullptr;
};

TempDir* KeygenOracleTest::dir_ = nullptr;
std::map<std::string, GeneratedKey>* KeygenOracleTest::keys_ = nullptr;

TEST_P(KeygenOracleTest, DescribePublicKeyEqualsKeygen) {
  const KeySpec& spec = GetParam();
  std::vector<KeygenLine> want = KeygenFingerprints(key_->pub_path);
  ASSERT_THAT(want, SizeIs(1));
  EXPECT_EQ(want[0].bits, spec.want_bits);
  EXPECT_EQ(want[0].label, spec.label);

  auto got = DescribePublicKey(key_->type, key_->base64);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->type, key_->type);
  EXPECT_EQ(got->bits, want[0].bits);
  EXPECT_EQ(got->fingerprint, want[0].fingerprint);
  EXPECT_EQ(got->label, want[0].label);
}

TEST_P(KeygenOracleTest, AuthorizedKeysLinesEqualKeygen) {
  const GeneratedKey& k = *key_;
  // Every way the key appears in real authorized_keys files. ssh-keygen -lf
  // understands options in front of the key.
  const std::string content = absl::StrCat(
      "# managed by hand\n",                                                     //
      k.type, " ", k.base64, " ", k.comment, "\n",                               // 2 plain
      "from=\"10.0.0.1\",command=\"echo hi there\" ", k.type, " ", k.base64,     //
      " comment with spaces\n",                                                  // 3 options
      "\n",                                                                      //
      "# BEGIN ANSIBLE MANAGED BLOCK docker-manager-first prod-01\n",            //
      "no-pty,no-port-forwarding ", k.type, " ", k.base64, " root@prod-01\n",    // 6 managed
      "# END ANSIBLE MANAGED BLOCK docker-manager-first prod-01\n",              //
      k.type, "\t", k.base64, "\ttabbed\tcomment\n",                             // 8 tabs
      "restrict,command=\"/usr/bin/rrsync -ro /data\" ", k.type, " ", k.base64,  //
      " backup@staging\n");                                                      // 9
  const std::vector<uint32_t> key_lines = {2, 3, 6, 8, 9};
  const std::vector<std::string> want_blocks = {"", "", "docker-manager-first prod-01", "", ""};
  TempDir dir;
  const std::string file = dir.Join("authorized_keys");
  WriteFile(file, content);

  std::vector<KeygenLine> want = KeygenFingerprints(file);
  ASSERT_THAT(want, SizeIs(key_lines.size())) << content;

  v1::AuthorizedKeysFact fact;
  ParseAuthorizedKeys(content, "/home/alice/.ssh/authorized_keys", "alice", false, fact);
  EXPECT_THAT(fact.problems(), IsEmpty()) << fact.ShortDebugString();
  ASSERT_EQ(fact.keys_size(), static_cast<int>(key_lines.size())) << fact.ShortDebugString();
  auto label = DescribePublicKey(k.type, k.base64);
  ASSERT_TRUE(label.ok()) << label.status();
  for (size_t i = 0; i < key_lines.size(); ++i) {
    const v1::AuthorizedKey& got = fact.keys(static_cast<int>(i));
    SCOPED_TRACE(absl::StrCat("line ", key_lines[i], ": ssh-keygen says ", want[i].bits, " ",
                              want[i].fingerprint, " '", want[i].comment, "' (", want[i].label,
                              ")"));
    EXPECT_EQ(got.line(), key_lines[i]);
    EXPECT_EQ(got.account(), "alice");
    EXPECT_EQ(got.type(), k.type);
    EXPECT_EQ(got.bits(), want[i].bits);
    EXPECT_EQ(got.fingerprint(), want[i].fingerprint);
    EXPECT_EQ(label->label, want[i].label);
    EXPECT_EQ(got.comment(), want[i].comment);
    EXPECT_EQ(got.managed_block(), want_blocks[i]);
  }
  EXPECT_THAT(fact.keys(1).options(),
              ::testing::ElementsAre("from=\"10.0.0.1\"", "command=\"echo hi there\""));
  EXPECT_THAT(fact.keys(2).options(), ::testing::ElementsAre("no-pty", "no-port-forwarding"));
}

// ssh-keygen prints "no comment" for a key without one (in a file of its own:
// in a multi-line file it repeats the previous line's comment).
TEST_P(KeygenOracleTest, KeyWithoutComment) {
  const GeneratedKey& k = *key_;
  TempDir dir;
  const std::string file = dir.Join("authorized_keys");
  const std::string content = absl::StrCat(k.type, " ", k.base64, "\n");
  WriteFile(file, content);
  std::vector<KeygenLine> want = KeygenFingerprints(file);
  ASSERT_THAT(want, SizeIs(1));
  EXPECT_EQ(want[0].comment, "no comment");

  v1::AuthorizedKeysFact fact;
  ParseAuthorizedKeys(content, file, "root", false, fact);
  ASSERT_EQ(fact.keys_size(), 1) << fact.ShortDebugString();
  EXPECT_EQ(fact.keys(0).comment(), "");
  EXPECT_EQ(fact.keys(0).fingerprint(), want[0].fingerprint);
  EXPECT_EQ(fact.keys(0).bits(), want[0].bits);
}

// sshd (auth2-pubkeyfile.c) and ssh-keygen skip any run of blanks between the
// fields of a key line; so must we. A second blank after the type must not
// shift the comment into the key blob (a wrong fingerprint would let a
// deny-listed key through).
TEST_P(KeygenOracleTest, SeveralBlanksBetweenFields) {
  const GeneratedKey& k = *key_;
  TempDir dir;
  const std::string file = dir.Join("authorized_keys");
  const std::string content =
      absl::StrCat("  ", k.type, "  ", k.base64, " \t spaced comment\n",  // 1
                   k.type, "\t\t", k.base64, "\n",                        // 2
                   k.type, "  ", k.base64, " vendor\n");                  // 3
  WriteFile(file, content);
  std::vector<KeygenLine> want = KeygenFingerprints(file);
  ASSERT_THAT(want, SizeIs(3)) << content;

  v1::AuthorizedKeysFact fact;
  ParseAuthorizedKeys(content, file, "root", false, fact);
  EXPECT_THAT(fact.problems(), IsEmpty()) << fact.ShortDebugString();
  std::map<uint32_t, const v1::AuthorizedKey*> by_line;
  for (const v1::AuthorizedKey& key : fact.keys()) by_line[key.line()] = &key;
  for (uint32_t line = 1; line <= 3; ++line) {
    const KeygenLine& w = want[line - 1];
    const v1::AuthorizedKey* got = by_line[line];
    if (got == nullptr) {
      ADD_FAILURE() << "line " << line << ": no key parsed; ssh-keygen: " << w;
      continue;
    }
    EXPECT_EQ(got->fingerprint(), w.fingerprint) << "line " << line;
    EXPECT_EQ(got->bits(), w.bits) << "line " << line;
    // (ssh-keygen repeats the previous comment for line 2, which has none.)
    EXPECT_EQ(got->comment(), line == 2 ? "" : w.comment) << "line " << line;
  }
}

INSTANTIATE_TEST_SUITE_P(Keys, KeygenOracleTest, ::testing::ValuesIn(KeySpecs()),
                         [](const ::testing::TestParamInfo<KeySpec>& info) {
                           return info.param.name;
                         });

// ----------------------------------------------------------- whole-file and bad keys

class KeygenOracleFileTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(RequireKeygen()); }

  // Generates a key; returns its .pub line fields {type, base64}.
  std::vector<std::string> MakeKey(const std::string& type, const std::string& name) {
    std::string path = dir_.Join(name);
    RunResult r = RunProcess({kSshKeygen, "-q", "-t", type, "-N", "", "-C", name, "-f", path},
                             absl::Minutes(1));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string pub(absl::StripAsciiWhitespace(ReadFile(path + ".pub")));
    std::vector<std::string> f = absl::StrSplit(pub, absl::MaxSplits(' ', 2));
    f.resize(2);
    return f;
  }

  TempDir dir_;
};

// A backup server's root file: the managed block of the production manager's
// key plus team keys of several types, in one file, in order.
TEST_F(KeygenOracleFileTest, MixedFileEqualsKeygenLineByLine) {
  std::vector<std::string> ed = MakeKey("ed25519", "ed");
  std::vector<std::string> rsa = MakeKey("rsa", "rsa");
  std::vector<std::string> ec = MakeKey("ecdsa", "ec");
  const std::string content = absl::StrCat(
      "# BEGIN ANSIBLE MANAGED BLOCK docker-manager-first prod-01\n",                //
      rsa[0], " ", rsa[1], " root@prod-01\n",                                        // 2
      "# END ANSIBLE MANAGED BLOCK docker-manager-first prod-01\n",                  //
      ed[0], " ", ed[1], " alice@opencrvs.org\n",                                    // 4
      "command=\"echo 'no shell'\",no-pty ", ec[0], " ", ec[1], " ci deploy key\n",  // 5
      "# vendor@example.com removed 2024-01-01\n",                                   //
      ed[0], " ", ed[1], " vendor@example.com\n");                                   // 7
  const std::string file = dir_.Join("authorized_keys");
  WriteFile(file, content);
  std::vector<KeygenLine> want = KeygenFingerprints(file);
  ASSERT_THAT(want, SizeIs(4));

  v1::AuthorizedKeysFact fact;
  ParseAuthorizedKeys(content, file, "backup", false, fact);
  EXPECT_THAT(fact.problems(), IsEmpty()) << fact.ShortDebugString();
  ASSERT_EQ(fact.keys_size(), 4) << fact.ShortDebugString();
  const std::vector<uint32_t> lines = {2, 4, 5, 7};
  for (int i = 0; i < 4; ++i) {
    const KeygenLine& w = want[static_cast<size_t>(i)];
    const v1::AuthorizedKey& got = fact.keys(i);
    SCOPED_TRACE(absl::StrCat("key ", i));
    EXPECT_EQ(got.line(), lines[static_cast<size_t>(i)]);
    EXPECT_EQ(got.bits(), w.bits);
    EXPECT_EQ(got.fingerprint(), w.fingerprint);
    EXPECT_EQ(got.comment(), w.comment);
  }
  EXPECT_EQ(fact.keys(0).managed_block(), "docker-manager-first prod-01");
  EXPECT_EQ(fact.keys(1).managed_block(), "");
}

// Lines that are not keys: ssh-keygen lists none of them, DescribePublicKey
// refuses each, ParseAuthorizedKeys records a problem per line and keeps
// the good keys around them.
TEST_F(KeygenOracleFileTest, CorruptAndMismatchedKeys) {
  std::vector<std::string> ed = MakeKey("ed25519", "ed");
  std::vector<std::string> rsa = MakeKey("rsa", "rsa");
  std::string corrupted = ed[1];
  corrupted[20] = '!';
  std::string truncated = rsa[1].substr(0, rsa[1].size() / 2);
  while (truncated.size() % 4 != 0) truncated.pop_back();

  // DescribePublicKey alone.
  EXPECT_FALSE(DescribePublicKey("ssh-ed25519", corrupted).ok());
  EXPECT_FALSE(DescribePublicKey("ssh-ed25519", "AAAA!!!notbase64").ok());
  EXPECT_FALSE(DescribePublicKey("ssh-rsa", truncated).ok());
  auto mismatch = DescribePublicKey("ssh-rsa", ed[1]);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(mismatch.status().message()), HasSubstr("ssh-ed25519"));
  EXPECT_FALSE(DescribePublicKey("ssh-ed25519", rsa[1]).ok());
  EXPECT_FALSE(DescribePublicKey("ecdsa-sha2-nistp256", ed[1]).ok());
  EXPECT_FALSE(DescribePublicKey("ssh-ed25519", "").ok());
  EXPECT_FALSE(DescribePublicKey("ssh-unknown", ed[1]).ok());

  const std::string content =
      absl::StrCat(ed[0], " ", ed[1], " good-1\n",                        // 1
                   "ssh-ed25519 ", corrupted, " corrupted\n",             // 2
                   "ssh-rsa ", ed[1], " mismatched\n",                    // 3
                   "ssh-rsa ", truncated, " truncated\n",                 // 4
                   "from=\"10.0.0.1 ssh-ed25519 ", ed[1], " unclosed\n",  // 5
                   "ssh-ed25519\n",                                       // 6
                   rsa[0], " ", rsa[1], " good-2\n");                     // 7
  const std::string file = dir_.Join("authorized_keys");
  WriteFile(file, content);
  std::vector<KeygenLine> want = KeygenFingerprints(file);
  ASSERT_THAT(want, SizeIs(2)) << "ssh-keygen lists only the two good keys";

  v1::AuthorizedKeysFact fact;
  ParseAuthorizedKeys(content, file, "root", false, fact);
  ASSERT_EQ(fact.keys_size(), 2) << fact.ShortDebugString();
  EXPECT_EQ(fact.keys(0).line(), 1u);
  EXPECT_EQ(fact.keys(0).fingerprint(), want[0].fingerprint);
  EXPECT_EQ(fact.keys(1).line(), 7u);
  EXPECT_EQ(fact.keys(1).fingerprint(), want[1].fingerprint);
  std::vector<uint32_t> problem_lines;
  for (const v1::ParseProblem& p : fact.problems()) {
    EXPECT_EQ(p.file(), file);
    EXPECT_FALSE(p.message().empty());
    problem_lines.push_back(p.line());
  }
  EXPECT_THAT(problem_lines, ::testing::ElementsAre(2, 3, 4, 5, 6)) << fact.ShortDebugString();
}

}  // namespace
}  // namespace preflight::agent
