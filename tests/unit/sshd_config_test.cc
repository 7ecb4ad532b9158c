// Tests for agent/facts/sshd_config: the argument splitter, the one-file
// parser and the collector that follows Include lines over a HostEnv.
#include "agent/facts/sshd_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "agent/facts/utf8.h"
#include "agent/host/rooted_host_env.h"
#include "tests/support/recording_env.h"
#include "tests/support/temp_dir.h"

namespace preflight::agent {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kMain[] = "/etc/ssh/sshd_config";

// ---------------------------------------------------------------- SplitSshArgs

struct SplitCase {
  std::string name;
  std::string input;
  std::vector<std::string> want;
};
void PrintTo(const SplitCase& c, std::ostream* os) { *os << c.name; }

class SplitSshArgsTest : public ::testing::TestWithParam<SplitCase> {};

TEST_P(SplitSshArgsTest, Splits) {
  const SplitCase& c = GetParam();
  auto got = SplitSshArgs(c.input);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, ElementsAreArray(c.want)) << "input: " << c.input;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SplitSshArgsTest,
    ::testing::Values(SplitCase{"Empty", "", {}}, SplitCase{"OnlyBlanks", " \t  ", {}},
                      SplitCase{"Single", "no", {"no"}},
                      SplitCase{"SpacesAndTabs", "  a \t b\tc  ", {"a", "b", "c"}},
                      SplitCase{"DoubleQuotesGroup", "\"a b\" c", {"a b", "c"}},
                      SplitCase{"SingleQuotesGroup", "'x y' z", {"x y", "z"}},
                      SplitCase{"QuoteInsideWord", "ab'c d'ef", {"abc def"}},
                      SplitCase{
                          "OtherQuoteIsLiteralInsideQuotes", "\"it's\" '\"q\"'", {"it's", "\"q\""}},
                      SplitCase{"EmptyQuotedArgument", "\"\" x", {"", "x"}},
                      SplitCase{"EscapedSpace", "a\\ b c", {"a b", "c"}},
                      SplitCase{"EscapedDoubleQuote", "\"a\\\"b\"", {"a\"b"}},
                      SplitCase{"EscapedSingleQuote", "a\\'b", {"a'b"}},
                      SplitCase{"EscapedBackslash", "a\\\\b", {"a\\b"}},
                      SplitCase{"OtherEscapeKept", "a\\nb", {"a\\nb"}},
                      SplitCase{"TrailingBackslashKept", "a\\", {"a\\"}},
                      SplitCase{"CommentEndsLine", "a b # c d", {"a", "b"}},
                      SplitCase{"CommentAtStart", "# all of it", {}},
                      SplitCase{"HashInsideWordIsNotAComment", "a#b c", {"a#b", "c"}},
                      SplitCase{"HashInsideQuotesIsNotAComment", "\"#x\" y", {"#x", "y"}}),
    [](const ::testing::TestParamInfo<SplitCase>& info) { return info.param.name; });

TEST(SplitSshArgs, UnclosedQuoteIsInvalidArgument) {
  for (const char* input : {"\"abc", "'abc", "ok \"never closed", "a 'b\\'"}) {
    auto got = SplitSshArgs(input);
    ASSERT_FALSE(got.ok()) << input;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << input;
    EXPECT_THAT(got.status().message(), HasSubstr("unclosed quote")) << input;
  }
}

// ------------------------------------------------------------ ParseSshdConfig

v1::SshdConfigFact Parse(absl::string_view content, absl::string_view file = kMain) {
  v1::SshdConfigFact fact;
  ParseSshdConfig(content, file, fact);
  return fact;
}

std::vector<std::string> Args(const v1::SshdDirective& d) {
  return std::vector<std::string>(d.args().begin(), d.args().end());
}

struct DirectiveCase {
  std::string name;
  std::string content;
  std::string keyword;
  std::vector<std::string> args;
  uint32_t line;
};
void PrintTo(const DirectiveCase& c, std::ostream* os) { *os << c.name; }

class ParseOneDirectiveTest : public ::testing::TestWithParam<DirectiveCase> {};

TEST_P(ParseOneDirectiveTest, Parses) {
  const DirectiveCase& c = GetParam();
  v1::SshdConfigFact fact = Parse(c.content);
  EXPECT_THAT(fact.problems(), IsEmpty());
  ASSERT_EQ(fact.directives_size(), 1) << fact.DebugString();
  const v1::SshdDirective& d = fact.directives(0);
  EXPECT_EQ(d.keyword(), c.keyword);
  EXPECT_THAT(Args(d), ElementsAreArray(c.args));
  EXPECT_EQ(d.line(), c.line);
  EXPECT_EQ(d.file(), kMain);
  EXPECT_EQ(d.match_block(), 0u);
  EXPECT_THAT(fact.match_blocks(), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseOneDirectiveTest,
    ::testing::Values(
        DirectiveCase{"Plain", "PermitRootLogin no\n", "permitrootlogin", {"no"}, 1},
        DirectiveCase{"NoFinalNewline", "PermitRootLogin no", "permitrootlogin", {"no"}, 1},
        DirectiveCase{"CommentsAndBlankLines",
                      "# sshd_config\n\n   \n\t# indented comment\nPort 2222\n# after\n\n",
                      "port",
                      {"2222"},
                      5},
        DirectiveCase{"EqualsNoSpaces", "PermitRootLogin=no\n", "permitrootlogin", {"no"}, 1},
        DirectiveCase{"EqualsWithSpaces", "PermitRootLogin = no\n", "permitrootlogin", {"no"}, 1},
        DirectiveCase{"EqualsSpaceBefore", "PermitRootLogin =no\n", "permitrootlogin", {"no"}, 1},
        DirectiveCase{"EqualsSpaceAfter", "PermitRootLogin= no\n", "permitrootlogin", {"no"}, 1},
        DirectiveCase{"TabSeparated", "PermitRootLogin\tno\n", "permitrootlogin", {"no"}, 1},
        DirectiveCase{
            "KeywordUpperCaseFolded", "PERMITROOTLOGIN No\n", "permitrootlogin", {"No"}, 1},
        DirectiveCase{
            "KeywordMixedCaseFolded", "pErMiTrOoTlOgIn yes\n", "permitrootlogin", {"yes"}, 1},
        DirectiveCase{"LeadingWhitespace", "   \tX11Forwarding no\n", "x11forwarding", {"no"}, 1},
        DirectiveCase{
            "CrLfLineEnding", "# c\r\nPermitRootLogin no\r\n", "permitrootlogin", {"no"}, 2},
        DirectiveCase{"SeveralArgsQuoted",
                      "AuthorizedKeysFile .ssh/authorized_keys \"/etc/ssh/keys/%u x\"\n",
                      "authorizedkeysfile",
                      {".ssh/authorized_keys", "/etc/ssh/keys/%u x"},
                      1},
        DirectiveCase{"TrailingComment",
                      "PasswordAuthentication no # hardened\n",
                      "passwordauthentication",
                      {"no"},
                      1}),
    [](const ::testing::TestParamInfo<DirectiveCase>& info) { return info.param.name; });

TEST(ParseSshdConfig, EveryLineNumberIsOneBasedAndDirectivesKeepOrder) {
  v1::SshdConfigFact fact = Parse(
      "Port 22\n"                    // 1
      "\n"                           // 2
      "# comment\n"                  // 3
      "PermitRootLogin no\n"         // 4
      "PasswordAuthentication no\n"  // 5
  );
  ASSERT_EQ(fact.directives_size(), 3);
  EXPECT_EQ(fact.directives(0).keyword(), "port");
  EXPECT_EQ(fact.directives(0).line(), 1u);
  EXPECT_EQ(fact.directives(1).keyword(), "permitrootlogin");
  EXPECT_EQ(fact.directives(1).line(), 4u);
  EXPECT_EQ(fact.directives(2).keyword(), "passwordauthentication");
  EXPECT_EQ(fact.directives(2).line(), 5u);
}

TEST(ParseSshdConfig, MatchBlocksAreNumberedAndOwnTheFollowingDirectives) {
  v1::SshdConfigFact fact = Parse(
      "Port 22\n"                                  // 1
      "Match User bob\n"                           // 2
      "  PasswordAuthentication yes\n"             // 3
      "Match Address 10.0.0.0/8,192.168.0.0/16\n"  // 4
      "  PermitRootLogin yes\n"                    // 5
      "  AllowTcpForwarding no\n"                  // 6
      "match all\n"                                // 7
      "X11Forwarding no\n");                       // 8
  ASSERT_EQ(fact.match_blocks_size(), 3);
  EXPECT_EQ(fact.match_blocks(0).criteria(), "User bob");
  EXPECT_EQ(fact.match_blocks(0).line(), 2u);
  EXPECT_EQ(fact.match_blocks(0).file(), kMain);
  EXPECT_EQ(fact.match_blocks(1).criteria(), "Address 10.0.0.0/8,192.168.0.0/16");
  EXPECT_EQ(fact.match_blocks(1).line(), 4u);
  EXPECT_EQ(fact.match_blocks(2).criteria(), "all");
  EXPECT_EQ(fact.match_blocks(2).line(), 7u);

  struct Want {
    std::string keyword;
    uint32_t line;
    uint32_t block;
  };
  std::vector<Want> want = {
      {"port", 1, 0},  {"match", 2, 1},           {"passwordauthentication", 3, 1},
      {"match", 4, 2}, {"permitrootlogin", 5, 2}, {"allowtcpforwarding", 6, 2},
      {"match", 7, 3}, {"x11forwarding", 8, 3},
  };
  ASSERT_EQ(fact.directives_size(), static_cast<int>(want.size())) << fact.DebugString();
  for (size_t i = 0; i < want.size(); ++i) {
    const v1::SshdDirective& d = fact.directives(static_cast<int>(i));
    EXPECT_EQ(d.keyword(), want[i].keyword) << i;
    EXPECT_EQ(d.line(), want[i].line) << i;
    EXPECT_EQ(d.match_block(), want[i].block) << want[i].keyword << " at line " << want[i].line;
  }
}

TEST(ParseSshdConfig, MatchCriteriaAreTheUnquotedArgumentsJoined) {
  v1::SshdConfigFact fact = Parse("Match   User \"alice\"\tAddress 10.1.2.3\n  Port 22\n");
  ASSERT_EQ(fact.match_blocks_size(), 1);
  EXPECT_EQ(fact.match_blocks(0).criteria(), "User alice Address 10.1.2.3");
}

TEST(ParseSshdConfig, SecondFileContinuesBlockNumberingAndStartsInGivenBlock) {
  v1::SshdConfigFact fact;
  ParseSshdConfig("Match User a\nPort 1\n", "/etc/ssh/first.conf", fact);
  // An included file whose Include sat in block 1.
  ParseSshdConfig("Port 2\nMatch User b\nPort 3\n", "/etc/ssh/second.conf", fact,
                  /*match_block=*/1);
  ASSERT_EQ(fact.match_blocks_size(), 2);
  EXPECT_EQ(fact.match_blocks(1).criteria(), "User b");
  EXPECT_EQ(fact.match_blocks(1).file(), "/etc/ssh/second.conf");
  EXPECT_EQ(fact.match_blocks(1).line(), 2u);
  ASSERT_EQ(fact.directives_size(), 5);
  // "Port 2" is in the block in force where the second file starts.
  EXPECT_EQ(fact.directives(2).file(), "/etc/ssh/second.conf");
  EXPECT_EQ(fact.directives(2).line(), 1u);
  EXPECT_EQ(fact.directives(2).match_block(), 1u);
  // "Port 3" follows the second file's own Match: block 2.
  EXPECT_EQ(fact.directives(4).line(), 3u);
  EXPECT_EQ(fact.directives(4).match_block(), 2u);
}

struct ProblemCase {
  std::string name;
  std::string content;
  uint32_t line;
  std::string message_part;
};
void PrintTo(const ProblemCase& c, std::ostream* os) { *os << c.name; }

class ParseProblemTest : public ::testing::TestWithParam<ProblemCase> {};

// The bad line becomes a problem (with file and line), is not a directive,
// and the lines around it are still parsed.
TEST_P(ParseProblemTest, RecordsProblemAndGoesOn) {
  const ProblemCase& c = GetParam();
  std::string content = absl::StrCat("Port 22\n", c.content, "\nX11Forwarding no\n");
  v1::SshdConfigFact fact = Parse(content, "/etc/ssh/sshd_config.d/bad.conf");
  ASSERT_THAT(fact.problems(), SizeIs(1)) << fact.DebugString();
  const v1::ParseProblem& p = fact.problems(0);
  EXPECT_EQ(p.file(), "/etc/ssh/sshd_config.d/bad.conf");
  EXPECT_EQ(p.line(), c.line + 1);  // after "Port 22"
  EXPECT_THAT(p.message(), HasSubstr(c.message_part));
  ASSERT_EQ(fact.directives_size(), 2) << fact.DebugString();
  EXPECT_EQ(fact.directives(0).keyword(), "port");
  EXPECT_EQ(fact.directives(0).line(), 1u);
  EXPECT_EQ(fact.directives(1).keyword(), "x11forwarding");
  // Line numbers stay right after the problem line, however many lines it had.
  EXPECT_EQ(fact.directives(1).line(), c.line + 2);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseProblemTest,
    ::testing::Values(
        ProblemCase{"NoArgument", "PermitRootLogin", 1, "no argument after keyword"},
        ProblemCase{"NoArgumentTrailingBlanks", "PermitRootLogin   \t", 1,
                    "no argument after keyword"},
        ProblemCase{"NoArgumentAfterEquals", "PermitRootLogin =", 1, "no argument after keyword"},
        // sshd: "missing argument" (argv_split drops the comment, no args remain).
        ProblemCase{"OnlyCommentAfterKeyword", "\n\nPermitRootLogin # nothing", 3, "argument"},
        ProblemCase{"UnclosedDoubleQuote", "AuthorizedKeysFile \"/etc/ssh/keys", 1,
                    "unclosed quote"},
        ProblemCase{"UnclosedSingleQuote", "Banner '/etc/issue", 1, "unclosed quote"},
        ProblemCase{"NulByte", std::string("PermitRoot\0Login yes", 20), 1, "NUL"},
        ProblemCase{"OverLongLine", "Banner " + std::string(100 * 1024, 'x'), 1, "skipped"}),
    [](const ::testing::TestParamInfo<ProblemCase>& info) { return info.param.name; });

TEST(ParseSshdConfig, NoArgumentProblemNamesTheKeyword) {
  v1::SshdConfigFact fact = Parse("PermitRootLogin\n");
  ASSERT_THAT(fact.problems(), SizeIs(1));
  EXPECT_THAT(fact.problems(0).message(), HasSubstr("PermitRootLogin"));
  EXPECT_THAT(fact.directives(), IsEmpty());
}

TEST(ParseSshdConfig, UnclosedQuoteProblemNamesTheKeyword) {
  v1::SshdConfigFact fact = Parse("Banner \"/etc/issue\n");
  ASSERT_THAT(fact.problems(), SizeIs(1));
  EXPECT_THAT(fact.problems(0).message(), HasSubstr("Banner"));
  EXPECT_THAT(fact.problems(0).message(), HasSubstr("unclosed quote"));
}

TEST(ParseSshdConfig, LongButReasonableLineIsKept) {
  std::string value(2000, 'k');
  v1::SshdConfigFact fact = Parse(absl::StrCat("Banner ", value, "\n"));
  EXPECT_THAT(fact.problems(), IsEmpty());
  ASSERT_EQ(fact.directives_size(), 1);
  EXPECT_THAT(Args(fact.directives(0)), ElementsAre(value));
}

// Host files are hostile and need not be UTF-8 (a Latin-1 banner path, stray
// bytes). The fact must still be a report that can be read back: proto3
// `string` fields that are not UTF-8 serialize but fail to parse, so the
// spool would set the report aside as corrupt and the collector would refuse
// it.
TEST(ParseSshdConfig, NonUtf8BytesYieldAFactThatRoundTrips) {
  v1::FactReport report;
  ParseSshdConfig(
      "Banner /etc/issue.\xe9t\xe9\n"
      "Match User caf\xe9\n"
      "  PermitRootLogin \xff\xfe\n"
      "\xc3\x28Keyword yes\n",
      kMain, *report.mutable_sshd());
  // CollectReport sanitizes every report this way before it is spooled.
  EXPECT_GT(SanitizeUtf8(report), 0);
  std::string wire;
  ASSERT_TRUE(report.SerializeToString(&wire));
  v1::FactReport back;
  EXPECT_TRUE(back.ParseFromString(wire)) << "the agent produced a report it cannot read back";
  // Nothing was silently lost: every line is a directive or a problem.
  EXPECT_EQ(report.sshd().directives_size() + report.sshd().problems_size(), 4);
  EXPECT_EQ(report.sshd().directives(0).args(0), "/etc/issue.\xEF\xBF\xBDt\xEF\xBF\xBD");
}

TEST(CollectReport, HostFilesWithAnyBytesGiveAParseableReport) {
  preflight::testing::TempDir root;
  preflight::testing::WriteFile(root.Join("etc/hostname"), "caf\xe9\n");
  preflight::testing::WriteFile(root.Join("etc/ssh/sshd_config"),
                                "Banner /etc/issue.\xe9\nPermitRootLogin \xff\n");
  preflight::testing::WriteFile(root.Join("etc/passwd"), "r\xe9:x:0:0::/root:/bin/bash\n");
  auto env = RootedHostEnv::Create(root.path());
  ASSERT_TRUE(env.ok());
  auto collectors = BuiltinCollectors();
  v1::FactReport report = CollectReport(**env, CollectOptions(), collectors);
  std::string wire;
  ASSERT_TRUE(report.SerializeToString(&wire));
  v1::FactReport back;
  EXPECT_TRUE(back.ParseFromString(wire));
  EXPECT_EQ(back.hostname(), "caf\xEF\xBF\xBD");
}

TEST(ParseSshdConfig, IncludeCallbackReceivesArgsLineAndMatchBlock) {
  std::vector<std::tuple<std::vector<std::string>, uint32_t, uint32_t>> calls;
  v1::SshdConfigFact fact;
  ParseSshdConfig(
      "Include /etc/ssh/sshd_config.d/*.conf extra.conf\n"  // 1
      "Port 22\n"                                           // 2
      "Match User bob\n"                                    // 3
      "  include bob.conf\n",                               // 4
      kMain, fact, 0, [&](const std::vector<std::string>& args, uint32_t line, uint32_t block) {
        calls.emplace_back(args, line, block);
      });
  ASSERT_THAT(calls, SizeIs(2)) << fact.DebugString();
  EXPECT_THAT(std::get<0>(calls[0]), ElementsAre("/etc/ssh/sshd_config.d/*.conf", "extra.conf"));
  EXPECT_EQ(std::get<1>(calls[0]), 1u);
  EXPECT_EQ(std::get<2>(calls[0]), 0u);
  EXPECT_THAT(std::get<0>(calls[1]), ElementsAre("bob.conf"));
  EXPECT_EQ(std::get<1>(calls[1]), 4u);
  EXPECT_EQ(std::get<2>(calls[1]), 1u);
  // The Include lines are recorded as directives too.
  ASSERT_EQ(fact.directives_size(), 4);
  EXPECT_EQ(fact.directives(0).keyword(), "include");
  EXPECT_EQ(fact.directives(3).keyword(), "include");
}

TEST(ParseSshdConfig, IncludeWithoutCallbackIsJustADirective) {
  v1::SshdConfigFact fact = Parse("Include /etc/ssh/sshd_config.d/*.conf\n");
  ASSERT_EQ(fact.directives_size(), 1);
  EXPECT_EQ(fact.directives(0).keyword(), "include");
  EXPECT_THAT(fact.problems(), IsEmpty());
}

// ------------------------------------------------------------------ collector

class SshdCollectorTest : public ::testing::Test {
 protected:
  void Write(const std::string& host_path, absl::string_view content) {
    testing::WriteFile(root_.path() + host_path, content);
  }

  v1::FactReport Collect() {
    auto env = RootedHostEnv::Create(root_.path());
    EXPECT_TRUE(env.ok()) << env.status();
    v1::FactReport report;
    if (!env.ok()) return report;
    std::unique_ptr<FactCollector> collector = MakeSshdConfigCollector();
    EXPECT_EQ(collector->name(), "sshd");
    v1::Collection* c = collector->Collect(**env, CollectOptions(), report);
    EXPECT_EQ(c, report.mutable_sshd()->mutable_collection());
    return report;
  }

  testing::TempDir root_;
};

// (keyword, file, line, match block) of every directive, for compact asserts.
using Row = std::tuple<std::string, std::string, uint32_t, uint32_t>;
std::vector<Row> Rows(const v1::SshdConfigFact& fact) {
  std::vector<Row> rows;
  for (const v1::SshdDirective& d : fact.directives()) {
    rows.emplace_back(d.keyword(), d.file(), d.line(), d.match_block());
  }
  return rows;
}

TEST_F(SshdCollectorTest, MainFileAbsentIsAbsent) {
  v1::FactReport report = Collect();
  EXPECT_EQ(report.sshd().collection().state(), v1::Collection::ABSENT);
  EXPECT_EQ(report.sshd().main_file(), kMain);
  EXPECT_THAT(report.sshd().directives(), IsEmpty());
  EXPECT_THAT(report.sshd().files(), IsEmpty());
}

TEST_F(SshdCollectorTest, MainFileUnreadableIsError) {
  testing::MakeDirs(root_.path() + kMain);  // a directory where the file should be
  v1::FactReport report = Collect();
  EXPECT_EQ(report.sshd().collection().state(), v1::Collection::ERROR);
  EXPECT_THAT(report.sshd().collection().error(), HasSubstr(kMain));
}

TEST_F(SshdCollectorTest, MainFileOnly) {
  Write(kMain, "# defaults\nPermitRootLogin no\n");
  v1::FactReport report = Collect();
  const v1::SshdConfigFact& fact = report.sshd();
  EXPECT_EQ(fact.collection().state(), v1::Collection::OK);
  EXPECT_THAT(fact.files(), ElementsAre(kMain));
  EXPECT_THAT(Rows(fact), ElementsAre(Row{"permitrootlogin", kMain, 2, 0}));
}

TEST_F(SshdCollectorTest, IncludeGlobReadsDropInsInLexicalOrder) {
  Write(kMain,
        "Include /etc/ssh/sshd_config.d/*.conf\n"
        "PermitRootLogin no\n");
  // Written out of order on purpose.
  Write("/etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication yes\n");
  Write("/etc/ssh/sshd_config.d/10-a.conf", "# first\nPermitRootLogin yes\n");
  Write("/etc/ssh/sshd_config.d/README", "NotAConf yes\n");             // does not match *.conf
  Write("/etc/ssh/sshd_config.d/.hidden.conf", "HiddenKeyword yes\n");  // '*' skips dot files
  v1::FactReport report = Collect();
  const v1::SshdConfigFact& fact = report.sshd();
  EXPECT_EQ(fact.collection().state(), v1::Collection::OK);
  EXPECT_THAT(fact.files(), ElementsAre(kMain, "/etc/ssh/sshd_config.d/10-a.conf",
                                        "/etc/ssh/sshd_config.d/50-cloud-init.conf"));
  EXPECT_THAT(
      Rows(fact),
      ElementsAre(Row{"include", kMain, 1, 0},
                  Row{"permitrootlogin", "/etc/ssh/sshd_config.d/10-a.conf", 2, 0},
                  Row{"passwordauthentication", "/etc/ssh/sshd_config.d/50-cloud-init.conf", 1, 0},
                  Row{"permitrootlogin", kMain, 2, 0}));
  EXPECT_THAT(fact.problems(), IsEmpty());
}

TEST_F(SshdCollectorTest, IncludeGlobMatchingNothingIsNotAProblem) {
  Write(kMain, "Include /etc/ssh/sshd_config.d/*.conf\nPort 22\n");
  v1::FactReport report = Collect();
  EXPECT_EQ(report.sshd().collection().state(), v1::Collection::OK);
  EXPECT_THAT(report.sshd().files(), ElementsAre(kMain));
  EXPECT_THAT(report.sshd().problems(), IsEmpty());
}

TEST_F(SshdCollectorTest, RelativeIncludeResolvesUnderEtcSsh) {
  Write(kMain, "Include extra.conf\n");
  Write("/etc/ssh/extra.conf", "Port 2222\n");
  v1::FactReport report = Collect();
  const v1::SshdConfigFact& fact = report.sshd();
  EXPECT_THAT(fact.files(), ElementsAre(kMain, "/etc/ssh/extra.conf"));
  EXPECT_THAT(Rows(fact),
              ElementsAre(Row{"include", kMain, 1, 0}, Row{"port", "/etc/ssh/extra.conf", 1, 0}));
}

TEST_F(SshdCollectorTest, IncludeInsideMatchAndMatchEndingWithIncludedFile) {
  Write(kMain,
        "Include /etc/ssh/sshd_config.d/*.conf\n"  // 1
        "PermitRootLogin no\n"                     // 2
        "Match User bob\n"                         // 3
        "  Include /etc/ssh/bob.conf\n"            // 4
        "  PasswordAuthentication no\n");          // 5
  Write("/etc/ssh/sshd_config.d/10-match.conf",
        "Match User alice\n"       // 1
        "PermitRootLogin yes\n");  // 2
  Write("/etc/ssh/bob.conf", "AllowTcpForwarding no\n");
  v1::FactReport report = Collect();
  const v1::SshdConfigFact& fact = report.sshd();
  ASSERT_EQ(fact.match_blocks_size(), 2) << fact.DebugString();
  EXPECT_EQ(fact.match_blocks(0).criteria(), "User alice");
  EXPECT_EQ(fact.match_blocks(0).file(), "/etc/ssh/sshd_config.d/10-match.conf");
  EXPECT_EQ(fact.match_blocks(1).criteria(), "User bob");
  EXPECT_EQ(fact.match_blocks(1).file(), kMain);
  EXPECT_THAT(Rows(fact),
              ElementsAre(Row{"include", kMain, 1, 0},
                          Row{"match", "/etc/ssh/sshd_config.d/10-match.conf", 1, 1},
                          Row{"permitrootlogin", "/etc/ssh/sshd_config.d/10-match.conf", 2, 1},
                          // The included file's Match ended with that file.
                          Row{"permitrootlogin", kMain, 2, 0}, Row{"match", kMain, 3, 2},
                          Row{"include", kMain, 4, 2},
                          // The Include sat in block 2: so does what it included.
                          Row{"allowtcpforwarding", "/etc/ssh/bob.conf", 1, 2},
                          Row{"passwordauthentication", kMain, 5, 2}));
}

TEST_F(SshdCollectorTest, RecursiveIncludeIsStoppedWithAProblem) {
  Write(kMain, "Include /etc/ssh/loop.conf\n");
  Write("/etc/ssh/loop.conf", "Port 22\nInclude loop.conf\n");
  v1::FactReport report = Collect();
  const v1::SshdConfigFact& fact = report.sshd();
  EXPECT_EQ(fact.collection().state(), v1::Collection::OK);
  ASSERT_THAT(fact.problems(), SizeIs(1)) << fact.problems_size() << " problems";
  EXPECT_THAT(fact.problems(0).message(), AnyOf(HasSubstr("deep"), HasSubstr("depth")));
  EXPECT_EQ(fact.problems(0).file(), "/etc/ssh/loop.conf");
  EXPECT_EQ(fact.problems(0).line(), 2u);
  // The loop file was read a bounded number of times (one per level).
  EXPECT_GT(fact.files_size(), 2);
  EXPECT_LE(fact.files_size(), 1 + 16);
  int ports = 0;
  for (const auto& d : fact.directives()) ports += d.keyword() == "port";
  EXPECT_EQ(ports, fact.files_size() - 1);
}

TEST_F(SshdCollectorTest, MainFileIncludingItselfTerminates) {
  Write(kMain, "PermitRootLogin no\nInclude /etc/ssh/sshd_config\n");
  v1::FactReport report = Collect();
  const v1::SshdConfigFact& fact = report.sshd();
  EXPECT_EQ(fact.collection().state(), v1::Collection::OK);
  EXPECT_THAT(fact.problems(), SizeIs(1));
  EXPECT_LE(fact.files_size(), 1 + 16);
}

// The oracle live: the files are the test's, `sshd -T` is the real one run
// with -f on the test's sshd_config, and every argv run is recorded.
// `mangle` may change what sshd -T printed before the collector sees it.
class LiveOracleEnv : public testing::RecordingEnv {
 public:
  LiveOracleEnv(const std::string& root, std::string config)
      : RecordingEnv(root), config_(std::move(config)) {}
  bool live() const override { return true; }
  absl::StatusOr<CommandResult> Run(const std::vector<std::string>& argv,
                                    absl::Duration timeout) override {
    runs.push_back(argv);
    if (argv.size() != 4 || argv[0] != "/usr/sbin/sshd" || argv[1] != "-T") {
      return absl::UnavailableError("only sshd -T here");
    }
    auto r = RunCommand({argv[0], "-T", "-f", config_, argv[2], argv[3]}, timeout);
    if (r.ok() && mangle) mangle(r->out);
    return r;
  }
  std::vector<std::vector<std::string>> runs;
  std::function<void(std::string&)> mangle;

 private:
  std::string config_;
};

class SshdOracleRunsTest : public SshdCollectorTest {
 protected:
  void SetUp() override {
    struct stat st {};
    if (stat("/run/sshd", &st) != 0) std::filesystem::create_directories("/run/sshd");
    key_ = root_.path() + "/hostkey";
    absl::StatusOr<CommandResult> keygen =
        RunCommand({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key_}, absl::Seconds(30));
    ASSERT_TRUE(keygen.ok() && keygen->exit_code == 0) << "ssh-keygen failed";
  }

  // The sshd fact of a host with root, alice and bob able to log in.
  v1::FactReport CollectLive(LiveOracleEnv& env) {
    v1::FactReport report;
    for (const char* name : {"root", "alice", "bob"}) {
      v1::Account& a = *report.mutable_accounts()->add_accounts();
      a.set_name(name);
      a.set_login_shell(true);
      a.add_groups(name);
    }
    std::unique_ptr<FactCollector> collector = MakeSshdConfigCollector();
    collector->Collect(env, CollectOptions(), report);
    return report;
  }

  std::string key_;
};

TEST_F(SshdOracleRunsTest, WithoutAMatchBlockOneRunAnswersForEveryAccount) {
  Write("/etc/ssh/sshd_config",
        absl::StrCat("HostKey ", key_, "\nPasswordAuthentication no\nPermitRootLogin no\n"));
  LiveOracleEnv env(root_.path(), root_.path() + "/etc/ssh/sshd_config");
  v1::FactReport report = CollectLive(env);
  const v1::SshdOracle& oracle = report.sshd().oracle();
  EXPECT_EQ(env.runs.size(), 1u);
  EXPECT_TRUE(oracle.ran()) << oracle.skipped_reason();
  EXPECT_THAT(oracle.errors(), ::testing::IsEmpty());
  EXPECT_THAT(oracle.diffs(), ::testing::IsEmpty());
  ASSERT_EQ(report.sshd().effective_size(), 3);

  // Every account is compared with that one run: a disagreement shows for
  // each of them.
  env.runs.clear();
  env.mangle = [](std::string& out) {
    absl::StrReplaceAll({{"passwordauthentication no", "passwordauthentication yes"}}, &out);
  };
  report = CollectLive(env);
  EXPECT_EQ(env.runs.size(), 1u);
  std::vector<std::string> users;
  for (const v1::SshdOracleDiff& d : report.sshd().oracle().diffs()) {
    EXPECT_EQ(d.keyword(), "passwordauthentication");
    users.push_back(d.user());
  }
  EXPECT_THAT(users, ::testing::UnorderedElementsAre("root", "alice", "bob"));
}

TEST_F(SshdOracleRunsTest, WithAMatchBlockEachAccountHasItsOwnRun) {
  Write("/etc/ssh/sshd_config",
        absl::StrCat(
            "HostKey ", key_,
            "\nPasswordAuthentication no\nMatch User alice\n  PasswordAuthentication yes\n"));
  LiveOracleEnv env(root_.path(), root_.path() + "/etc/ssh/sshd_config");
  v1::FactReport report = CollectLive(env);
  const v1::SshdOracle& oracle = report.sshd().oracle();
  ASSERT_EQ(env.runs.size(), 3u);
  EXPECT_THAT(env.runs[1][3], ::testing::HasSubstr("user=alice"));
  EXPECT_TRUE(oracle.ran()) << oracle.skipped_reason();
  EXPECT_THAT(oracle.errors(), ::testing::IsEmpty());
  // sshd -T agrees with us per account, alice's Match included.
  EXPECT_THAT(oracle.diffs(), ::testing::IsEmpty());
  for (const v1::SshdEffective& e : report.sshd().effective()) {
    for (const v1::SshdSetting& setting : e.settings()) {
      if (setting.keyword() != "passwordauthentication") continue;
      EXPECT_EQ(setting.values(0), e.user() == "alice" ? "yes" : "no") << e.user();
    }
  }
}

}  // namespace
}  // namespace preflight::agent
