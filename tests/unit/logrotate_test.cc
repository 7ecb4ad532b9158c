// Tests for agent/host/glob and agent/facts/logrotate: glob expansion over a
// HostEnv, the logrotate configuration parser (alone and following includes
// over a host), the status file, rotated-copy names and the collector over
// fake host roots (an OpenCRVS server, a stock Debian host).
#include "agent/facts/logrotate.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "agent/host/glob.h"
#include "agent/host/rooted_host_env.h"
#include "tests/support/temp_dir.h"

namespace preflight::agent {
namespace {

using ::preflight::testing::MakeDirs;
using ::preflight::testing::TempDir;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

// ---------------------------------------------------------------- helpers

// A fake host root in a temporary directory.
class FakeHost {
 public:
  std::string Real(absl::string_view host_path) const { return dir_.Join(host_path.substr(1)); }
  void Write(absl::string_view host_path, absl::string_view content, mode_t mode = 0644) const {
    ::preflight::testing::WriteFile(Real(host_path), content, mode);
  }
  void Mkdir(absl::string_view host_path) const { MakeDirs(Real(host_path)); }
  void Symlink(absl::string_view target, absl::string_view host_path) const {
    ASSERT_EQ(symlink(std::string(target).c_str(), Real(host_path).c_str()), 0);
  }
  std::unique_ptr<RootedHostEnv> Env() const {
    auto env = RootedHostEnv::Create(dir_.path());
    EXPECT_TRUE(env.ok()) << env.status();
    return std::move(*env);
  }
  v1::LogrotateFact Collect(const CollectOptions& options = {}) const {
    auto env = Env();
    v1::FactReport report;
    v1::Collection* c = MakeLogrotateCollector()->Collect(*env, options, report);
    EXPECT_EQ(c, report.mutable_logrotate()->mutable_collection());
    return report.logrotate();
  }

 private:
  TempDir dir_;
};

// 1-based number of the first line of `text` containing `needle`.
uint32_t LineOf(absl::string_view text, absl::string_view needle) {
  uint32_t n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++n;
    if (absl::StrContains(line, needle)) return n;
  }
  ADD_FAILURE() << "no line contains '" << needle << "'";
  return 0;
}

int64_t Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::ToUnixSeconds(
      absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone()));
}

std::string Problems(const v1::LogrotateFact& fact) {
  std::string out;
  for (const v1::ParseProblem& p : fact.problems()) {
    absl::StrAppend(&out, "  ", p.file(), ":", p.line(), ": ", p.message(), "\n");
  }
  return out;
}

const v1::LogrotateStanza* StanzaWith(const v1::LogrotateFact& fact, absl::string_view pattern) {
  for (const v1::LogrotateStanza& s : fact.stanzas()) {
    for (const std::string& p : s.patterns()) {
      if (p == pattern) return &s;
    }
  }
  return nullptr;
}

const v1::LogFile* LogAt(const v1::LogrotateFact& fact, absl::string_view path) {
  for (const v1::LogFile& l : fact.logs()) {
    if (l.path() == path) return &l;
  }
  return nullptr;
}

std::vector<std::string> LogPaths(const v1::LogrotateFact& fact) {
  std::vector<std::string> out;
  for (const v1::LogFile& l : fact.logs()) out.push_back(l.path());
  return out;
}

std::vector<std::string> Matched(const v1::LogrotateStanza& s) {
  return {s.matched().begin(), s.matched().end()};
}

// The parser alone (no host): includes recorded, patterns not expanded.
struct Parsed {
  v1::LogrotateFact fact;
  bool ok = true;
  std::vector<std::pair<std::string, uint32_t>> includes;
};
Parsed Parse(absl::string_view text, LogrotateParseState state = {}) {
  Parsed r;
  state.include = [&r](const std::string& arg, uint32_t line) {
    r.includes.emplace_back(arg, line);
    return true;
  };
  r.ok = ParseLogrotateConfig(text, "/etc/logrotate.conf", r.fact, state);
  return r;
}

// ---------------------------------------------------------------- glob

TEST(LogrotateGlobTest, HasGlobChars) {
  EXPECT_TRUE(HasGlobChars("/var/log/*.log"));
  EXPECT_TRUE(HasGlobChars("/var/log/a?.log"));
  EXPECT_TRUE(HasGlobChars("/var/log/[ab].log"));
  EXPECT_FALSE(HasGlobChars("/var/log/syslog"));
  EXPECT_FALSE(HasGlobChars(""));
}

TEST(LogrotateGlobTest, ExpandsEveryComponentSortedWithoutDotNames) {
  FakeHost host;
  const std::vector<std::string> containers = {"f00d", "abc1", ".hidden", "9zz"};
  const std::vector<std::string> files = {"x-json.log", "a-json.log", "x-json.log.1", ".dot.log",
                                          "notes.txt"};
  std::vector<std::string> want;
  for (const std::string& c : containers) {
    for (const std::string& f : files) {
      const std::string path = absl::StrCat("/var/lib/docker/containers/", c, "/", f);
      host.Write(path, "x\n");
      if (c[0] != '.' && f[0] != '.' && absl::EndsWith(f, ".log")) want.push_back(path);
    }
  }
  // A plain file where a container directory would be is not descended.
  host.Write("/var/lib/docker/containers/zz-file", "x\n");
  std::sort(want.begin(), want.end());
  auto env = host.Env();
  bool truncated = true;
  EXPECT_THAT(ExpandGlob(*env, "/var/lib/docker/containers/*/*.log", 100, &truncated),
              ElementsAreArray(want));
  EXPECT_FALSE(truncated);
  // A leading dot is matched only explicitly.
  EXPECT_THAT(ExpandGlob(*env, "/var/lib/docker/containers/.*/.*.log", 100),
              ElementsAre("/var/lib/docker/containers/.hidden/.dot.log"));
}

TEST(LogrotateGlobTest, QuestionMarkBracketsAndEscapes) {
  FakeHost host;
  for (const char* name : {"a1.log", "a2.log", "a10.log", "b1.log", "[x].log", "x.log", "*.log"}) {
    host.Write(absl::StrCat("/logs/", name), "");
  }
  auto env = host.Env();
  EXPECT_THAT(ExpandGlob(*env, "/logs/a?.log", 10), ElementsAre("/logs/a1.log", "/logs/a2.log"));
  EXPECT_THAT(ExpandGlob(*env, "/logs/[ab]1.log", 10), ElementsAre("/logs/a1.log", "/logs/b1.log"));
  EXPECT_THAT(ExpandGlob(*env, "/logs/[!a]*.log", 10),
              ElementsAre("/logs/*.log", "/logs/[x].log", "/logs/b1.log", "/logs/x.log"));
  // [x] is a class; escaped it is the literal name.
  EXPECT_THAT(ExpandGlob(*env, "/logs/[x].log", 10), ElementsAre("/logs/x.log"));
  EXPECT_THAT(ExpandGlob(*env, "/logs/\\[x].log", 10), ElementsAre("/logs/[x].log"));
  EXPECT_THAT(ExpandGlob(*env, "/logs/\\*.log", 10), ElementsAre("/logs/*.log"));
}

TEST(LogrotateGlobTest, LiteralPathsAndMisses) {
  FakeHost host;
  host.Write("/var/log/syslog", "x\n");
  host.Symlink("/nowhere", "/var/log/dangling");
  auto env = host.Env();
  EXPECT_THAT(ExpandGlob(*env, "/var/log/syslog", 10), ElementsAre("/var/log/syslog"));
  EXPECT_THAT(ExpandGlob(*env, "/var/log/dangling", 10), ElementsAre("/var/log/dangling"));
  EXPECT_THAT(ExpandGlob(*env, "/var/log/missing", 10), IsEmpty());
  EXPECT_THAT(ExpandGlob(*env, "/nodir/*/x", 10), IsEmpty());
  EXPECT_THAT(ExpandGlob(*env, "/var/log/syslog/*", 10), IsEmpty());
  EXPECT_THAT(ExpandGlob(*env, "relative/*", 10), IsEmpty());
  EXPECT_THAT(ExpandGlob(*env, "/var/log/*", 0), IsEmpty());
}

TEST(LogrotateGlobTest, LimitTruncates) {
  FakeHost host;
  std::vector<std::string> all;
  for (int i = 0; i < 25; ++i) {
    const std::string p = absl::StrCat("/many/f", 100 + i, ".log");
    host.Write(p, "");
    all.push_back(p);
  }
  auto env = host.Env();
  bool truncated = false;
  std::vector<std::string> got = ExpandGlob(*env, "/many/*.log", 10, &truncated);
  EXPECT_TRUE(truncated);
  EXPECT_THAT(got, SizeIs(10));
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
  for (const std::string& p : got) EXPECT_THAT(all, Contains(p));
  got = ExpandGlob(*env, "/many/*.log", 25, &truncated);
  EXPECT_FALSE(truncated);
  EXPECT_THAT(got, ElementsAreArray(all));
}

// ---------------------------------------------------------------- parser

TEST(LogrotateParseTest, GlobalOptionsApplyToLaterStanzasOnly) {
  const std::string text =
      "# comment\n"
      "weekly\n"
      "rotate 4\n"
      "/var/log/a.log {\n"
      "}\n"
      "monthly\n"
      "compress\n"
      "/var/log/b.log {\n"
      "  rotate 2\n"
      "  nocompress\n"
      "}\n";
  Parsed p = Parse(text);
  EXPECT_TRUE(p.ok) << Problems(p.fact);
  EXPECT_THAT(p.fact.problems(), IsEmpty());
  ASSERT_THAT(p.fact.stanzas(), SizeIs(2));
  const v1::LogrotateStanza& a = p.fact.stanzas(0);
  EXPECT_THAT(a.patterns(), ElementsAre("/var/log/a.log"));
  EXPECT_EQ(a.line(), LineOf(text, "a.log {"));
  EXPECT_EQ(a.file(), "/etc/logrotate.conf");
  EXPECT_EQ(a.frequency(), "weekly");
  EXPECT_EQ(a.rotate(), 4);
  EXPECT_FALSE(a.compress());
  const v1::LogrotateStanza& b = p.fact.stanzas(1);
  EXPECT_EQ(b.line(), LineOf(text, "b.log {"));
  EXPECT_EQ(b.frequency(), "monthly");
  EXPECT_EQ(b.rotate(), 2);
  EXPECT_FALSE(b.compress());
  // The defaults are the global options at the end.
  EXPECT_EQ(p.fact.defaults().frequency(), "monthly");
  EXPECT_EQ(p.fact.defaults().rotate(), 4);
  EXPECT_TRUE(p.fact.defaults().compress());
  EXPECT_THAT(p.fact.defaults().patterns(), IsEmpty());
}

TEST(LogrotateParseTest, UnsetValues) {
  Parsed p = Parse("/var/log/a.log {\n}\n");
  ASSERT_THAT(p.fact.stanzas(), SizeIs(1));
  const v1::LogrotateStanza& s = p.fact.stanzas(0);
  EXPECT_EQ(s.frequency(), "");
  EXPECT_EQ(s.size_bytes(), 0u);
  EXPECT_EQ(s.rotate(), -1);
  EXPECT_EQ(s.create(), "");
  EXPECT_EQ(s.su(), "");
  EXPECT_FALSE(s.missingok());
}

TEST(LogrotateParseTest, PatternsQuotedSeveralAndAcrossLines) {
  const std::string text =
      "\"/var/log/with space.log\" '/var/log/single.log' /var/log/esc\\ aped.log {\n"
      "}\n"
      "/var/log/syslog\n"
      "/var/log/mail.log\n"
      "# a comment between the names and the brace\n"
      "/var/log/kern.log\n"
      "{\n"
      "  daily\n"
      "}\n"
      "/var/log/one.log{ missingok }\n";
  Parsed p = Parse(text);
  EXPECT_TRUE(p.ok) << Problems(p.fact);
  EXPECT_THAT(p.fact.problems(), IsEmpty());
  ASSERT_THAT(p.fact.stanzas(), SizeIs(3));
  EXPECT_THAT(
      p.fact.stanzas(0).patterns(),
      ElementsAre("/var/log/with space.log", "/var/log/single.log", "/var/log/esc aped.log"));
  EXPECT_THAT(p.fact.stanzas(1).patterns(),
              ElementsAre("/var/log/syslog", "/var/log/mail.log", "/var/log/kern.log"));
  EXPECT_EQ(p.fact.stanzas(1).line(), LineOf(text, "/var/log/syslog"));
  EXPECT_EQ(p.fact.stanzas(1).frequency(), "daily");
  EXPECT_EQ(p.fact.stanzas(2).line(), LineOf(text, "one.log"));
  EXPECT_TRUE(p.fact.stanzas(2).missingok());
}

TEST(LogrotateParseTest, ScriptsAreSkippedWithTheirBracesAndPaths) {
  const std::string text =
      "/var/log/nginx/*.log {\n"
      "  daily\n"
      "  sharedscripts\n"
      "  prerotate\n"
      "    if [ -d /etc/logrotate.d/httpd-prerotate ]; then { run-parts x; }; fi\n"
      "  endscript\n"
      "  postrotate\n"
      "    /var/log/fake.log {\n"
      "      rotate 99\n"
      "    }\n"
      "    invoke-rc.d nginx rotate >/dev/null 2>&1 }\n"
      "  endscript\n"
      "  rotate 14\n"
      "}\n"
      "/var/log/after.log {\n"
      "  firstaction\n"
      "    echo }\n"
      "  endscript\n"
      "  lastaction\n"
      "  endscript\n"
      "  preremove\n"
      "    rm -f \"$1\"\n"
      "  endscript\n"
      "}\n";
  Parsed p = Parse(text);
  EXPECT_TRUE(p.ok) << Problems(p.fact);
  EXPECT_THAT(p.fact.problems(), IsEmpty());
  ASSERT_THAT(p.fact.stanzas(), SizeIs(2));
  EXPECT_EQ(p.fact.stanzas(0).rotate(), 14);
  EXPECT_EQ(p.fact.stanzas(0).frequency(), "daily");
  EXPECT_THAT(p.fact.stanzas(1).patterns(), ElementsAre("/var/log/after.log"));
  EXPECT_EQ(StanzaWith(p.fact, "/var/log/fake.log"), nullptr);
}

struct SizeCase {
  std::string name;
  std::string directive;
  uint64_t size_bytes;
  uint64_t maxsize_bytes;
};
void PrintTo(const SizeCase& c, std::ostream* os) { *os << c.name; }
class LogrotateSizeTest : public ::testing::TestWithParam<SizeCase> {};

TEST_P(LogrotateSizeTest, Units) {
  const SizeCase& c = GetParam();
  Parsed p = Parse(absl::StrCat("/var/log/a.log {\n  ", c.directive, "\n}\n"));
  EXPECT_THAT(p.fact.problems(), IsEmpty()) << Problems(p.fact);
  ASSERT_THAT(p.fact.stanzas(), SizeIs(1));
  EXPECT_EQ(p.fact.stanzas(0).size_bytes(), c.size_bytes);
  EXPECT_EQ(p.fact.stanzas(0).maxsize_bytes(), c.maxsize_bytes);
  EXPECT_EQ(p.fact.stanzas(0).frequency(), "");
}

INSTANTIATE_TEST_SUITE_P(
    Logrotate, LogrotateSizeTest,
    ::testing::Values(
        SizeCase{"Bytes", "size 100", 100, 0}, SizeCase{"LowerK", "size 100k", 100 * 1024, 0},
        SizeCase{"UpperK", "size 100K", 100 * 1024, 0},
        SizeCase{"Mega", "size 10M", 10ull << 20, 0}, SizeCase{"Giga", "size 2G", 2ull << 30, 0},
        SizeCase{"EqualsSign", "size=5k", 5 * 1024, 0}, SizeCase{"Hex", "size 0x10", 16, 0},
        SizeCase{"OctalAsStrtoul", "size 010", 8, 0},
        SizeCase{"MaxsizeIsSeparate", "maxsize 50M", 0, 50ull << 20}),
    [](const ::testing::TestParamInfo<SizeCase>& info) { return info.param.name; });

TEST(LogrotateParseTest, LastCriterionWins) {
  Parsed p = Parse(
      "/var/log/a.log {\n  weekly\n  size 10k\n}\n"
      "/var/log/b.log {\n  size 10k\n  daily\n}\n"
      "/var/log/c.log {\n  weekly 1\n}\n"
      "/var/log/d.log {\n  hourly\n  yearly\n}\n");
  EXPECT_TRUE(p.ok) << Problems(p.fact);
  ASSERT_THAT(p.fact.stanzas(), SizeIs(4));
  EXPECT_EQ(p.fact.stanzas(0).frequency(), "");
  EXPECT_EQ(p.fact.stanzas(0).size_bytes(), 10u * 1024);
  EXPECT_EQ(p.fact.stanzas(1).frequency(), "daily");
  EXPECT_EQ(p.fact.stanzas(1).size_bytes(), 0u);
  EXPECT_EQ(p.fact.stanzas(2).frequency(), "weekly");
  EXPECT_EQ(p.fact.stanzas(3).frequency(), "yearly");
}

TEST(LogrotateParseTest, CreateSuAndFlags) {
  const std::string text =
      "create 0640 root adm\n"
      "su root syslog\n"
      "/var/log/a.log {\n  create\n}\n"
      "/var/log/b.log {\n  create root utmp\n}\n"
      "/var/log/c.log {\n  create 0600\n  su www-data\n}\n"
      "/var/log/d.log {\n  nocreate\n  copytruncate\n  missingok\n}\n"
      "/var/log/e.log {\n  copytruncate\n  renamecopy\n  missingok\n  nomissingok\n}\n";
  Parsed p = Parse(text);
  EXPECT_TRUE(p.ok) << Problems(p.fact);
  ASSERT_THAT(p.fact.stanzas(), SizeIs(5));
  EXPECT_EQ(p.fact.defaults().create(), "0640 root adm");
  EXPECT_EQ(p.fact.defaults().su(), "root syslog");
  // A bare create keeps the mode, owner and group in force.
  EXPECT_EQ(p.fact.stanzas(0).create(), "0640 root adm");
  EXPECT_EQ(p.fact.stanzas(1).create(), "0640 root utmp");
  EXPECT_EQ(p.fact.stanzas(2).create(), "0600 root adm");
  EXPECT_EQ(p.fact.stanzas(2).su(), "www-data syslog");
  EXPECT_EQ(p.fact.stanzas(3).create(), "");
  EXPECT_TRUE(p.fact.stanzas(3).copytruncate());
  EXPECT_TRUE(p.fact.stanzas(3).missingok());
  EXPECT_FALSE(p.fact.stanzas(4).copytruncate());
  EXPECT_FALSE(p.fact.stanzas(4).missingok());

  Parsed bare = Parse("/var/log/a.log {\n  create\n}\n");
  EXPECT_EQ(bare.fact.stanzas(0).create(), "yes");
}

TEST(LogrotateParseTest, ErrorInsideStanzaDropsIt) {
  const std::string text =
      "/var/log/a.log {\n"
      "  rotate abc\n"
      "}\n"
      "/var/log/b.log {\n"
      "  frobnicate now\n"
      "  rotate 3\n"
      "}\n";
  Parsed p = Parse(text);
  EXPECT_FALSE(p.ok);
  // The bad rotate loses a.log; the unknown keyword only loses its line.
  ASSERT_THAT(p.fact.stanzas(), SizeIs(1));
  EXPECT_THAT(p.fact.stanzas(0).patterns(), ElementsAre("/var/log/b.log"));
  EXPECT_EQ(p.fact.stanzas(0).rotate(), 3);
  ASSERT_THAT(p.fact.problems(), SizeIs(2));
  EXPECT_EQ(p.fact.problems(0).line(), LineOf(text, "rotate abc"));
  EXPECT_THAT(p.fact.problems(0).message(), HasSubstr("bad rotation count"));
  EXPECT_EQ(p.fact.problems(1).line(), LineOf(text, "frobnicate"));
  EXPECT_THAT(p.fact.problems(1).message(), HasSubstr("unknown option"));
  EXPECT_EQ(p.fact.problems(1).file(), "/etc/logrotate.conf");
}

TEST(LogrotateParseTest, RecoveryQuirksOfLogrotate) {
  // After an error logrotate looks for '}' only where a word would start, so
  // an indented '}' is missed and the next stanza is swallowed too.
  Parsed indented =
      Parse("/var/log/a.log {\n  rotate abc\n  }\n/var/log/b.log {\n}\n/var/log/c.log {\n}\n");
  ASSERT_THAT(indented.fact.stanzas(), SizeIs(1));
  EXPECT_THAT(indented.fact.stanzas(0).patterns(), ElementsAre("/var/log/c.log"));
  // A keyword glued to '}' is an error, and that '}' is lost with it.
  Parsed glued = Parse("/var/log/a.log {\n  missingok}\n/var/log/b.log {\n}\n");
  EXPECT_THAT(glued.fact.stanzas(), IsEmpty());
  EXPECT_THAT(glued.fact.problems(0).message(), HasSubstr("not properly separated"));
  // A stanza the file ends in is kept.
  Parsed open = Parse("/var/log/a.log {\n  rotate 2\n");
  ASSERT_THAT(open.fact.stanzas(), SizeIs(1));
  EXPECT_EQ(open.fact.stanzas(0).rotate(), 2);
}

TEST(LogrotateParseTest, FatalErrorsAbandonTheRestOfTheFile) {
  for (const std::string& bad :
       {std::string("}\n"), std::string("rotate\n"), std::string("compress;\n"),
        std::string("/var/log/x.log { weekly 9 }\n"), std::string("/var/log/x.log }\n"),
        std::string("/var/log/x.log {\n postrotate\n  echo\n")}) {
    SCOPED_TRACE(bad);
    const std::string text =
        absl::StrCat("/var/log/before.log {\n}\n", bad, "/var/log/after.log {\n}\nmonthly\n");
    Parsed p = Parse(text);
    EXPECT_FALSE(p.ok);
    EXPECT_NE(StanzaWith(p.fact, "/var/log/before.log"), nullptr);
    EXPECT_EQ(StanzaWith(p.fact, "/var/log/after.log"), nullptr);
    EXPECT_EQ(StanzaWith(p.fact, "/var/log/x.log"), nullptr);
    EXPECT_EQ(p.fact.defaults().frequency(), "");
    ASSERT_THAT(p.fact.problems(), Not(IsEmpty()));
    EXPECT_GE(p.fact.problems(0).line(), 3u);
  }
  // Patterns run to the first '{': without one the file ends in error.
  Parsed open = Parse("/var/log/a.log {\n}\n/var/log/x.log\n/var/log/y.log\n");
  EXPECT_FALSE(open.ok);
  ASSERT_THAT(open.fact.stanzas(), SizeIs(1));
  ASSERT_THAT(open.fact.problems(), SizeIs(1));
  EXPECT_EQ(open.fact.problems(0).line(), 3u);
  EXPECT_THAT(open.fact.problems(0).message(), HasSubstr("missing '{'"));
}

TEST(LogrotateParseTest, UnknownUserOrGroupDropsStanza) {
  LogrotateParseState state;
  state.user_known = [](const std::string& n) { return n == "root" || n == "0"; };
  state.group_known = [](const std::string& n) { return n == "root" || n == "adm"; };
  const std::string text =
      "/var/log/a.log {\n  create 0660 root application\n}\n"
      "/var/log/b.log {\n  su nobody adm\n}\n"
      "/var/log/c.log {\n  create 0640 0 adm\n  su root root\n}\n"
      "/var/log/d.log {\n  su root\n}\n"
      "/var/log/e.log {\n  create 0640 root adm extra\n}\n";
  Parsed p = Parse(text, state);
  EXPECT_FALSE(p.ok);
  ASSERT_THAT(p.fact.stanzas(), SizeIs(1));
  EXPECT_EQ(p.fact.stanzas(0).create(), "0640 0 adm");
  ASSERT_THAT(p.fact.problems(), SizeIs(4));
  EXPECT_THAT(p.fact.problems(0).message(), HasSubstr("unknown group 'application'"));
  EXPECT_EQ(p.fact.problems(0).line(), LineOf(text, "application"));
  EXPECT_THAT(p.fact.problems(1).message(), HasSubstr("unknown user 'nobody'"));
  EXPECT_THAT(p.fact.problems(2).message(), HasSubstr("no group for su"));
  EXPECT_THAT(p.fact.problems(3).message(), HasSubstr("extra arguments"));
}

TEST(LogrotateParseTest, IncludesAreGlobalOnly) {
  const std::string text =
      "weekly\n"
      "include /etc/logrotate.d\n"
      "/var/log/a.log {\n"
      "  include /etc/other\n"
      "}\n"
      "include = /etc/third  \n";
  Parsed p = Parse(text);
  EXPECT_THAT(p.includes, ElementsAre(std::pair<std::string, uint32_t>("/etc/logrotate.d", 2),
                                      std::pair<std::string, uint32_t>("/etc/third", 6)));
  ASSERT_THAT(p.fact.problems(), SizeIs(1));
  EXPECT_THAT(p.fact.problems(0).message(), HasSubstr("include inside"));
}

TEST(LogrotateParseTest, TabooextChangesTheList) {
  LogrotateParseState replaced;
  v1::LogrotateFact fact;
  ParseLogrotateConfig("tabooext .a .b\ntaboopat + x*\n", "f", fact, replaced);
  EXPECT_THAT(replaced.taboo, ElementsAre("*.a", "*.b", "x*"));
  LogrotateParseState added;
  ParseLogrotateConfig("tabooext + .old, .tmp\n", "f", fact, added);
  std::vector<std::string> want = DefaultLogrotateTaboo();
  want.push_back("*.old");
  want.push_back("*.tmp");
  EXPECT_THAT(added.taboo, ElementsAreArray(want));
}

TEST(LogrotateParseTest, HostileInputNeverCrashes) {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 7919) % 256));
  for (const std::string& text :
       {junk, std::string(50000, '{'), std::string(50000, '}'), std::string(50000, '"'),
        std::string("/a {\n") + std::string(100000, 'x'), std::string("\0\0\0{", 4),
        std::string("include\n"), std::string("/x\\"), std::string("\"/x {"),
        std::string("weekly\0 3\n", 10)}) {
    Parsed p = Parse(text);
    EXPECT_LE(p.fact.problems_size(), 1000);
  }
}

// ---------------------------------------------------------------- status

TEST(LogrotateStatusTest, ParsesDatesAsUtc) {
  struct Entry {
    std::string path;
    int y, mo, d, h, mi, s;
  };
  const std::vector<Entry> entries = {
      {"/var/log/syslog", 2024, 3, 9, 6, 25, 1},
      {"/var/lib/docker/containers/abc/abc-json.log", 2025, 12, 31, 23, 59, 59},
      {"/var/log/with space.log", 2024, 1, 1, 0, 0, 0},
  };
  std::string text = "logrotate state -- version 2\n";
  for (const Entry& e : entries) {
    absl::StrAppend(&text, "\"", e.path, "\" ", e.y, "-", e.mo, "-", e.d, "-", e.h, ":", e.mi, ":",
                    e.s, "\n");
  }
  std::vector<v1::ParseProblem> problems;
  auto got = ParseLogrotateStatus(text, "/var/lib/logrotate/status", &problems);
  EXPECT_THAT(problems, IsEmpty());
  ASSERT_EQ(got.size(), entries.size());
  for (const Entry& e : entries) {
    ASSERT_EQ(got.count(e.path), 1u) << e.path;
    EXPECT_EQ(got[e.path], Utc(e.y, e.mo, e.d, e.h, e.mi, e.s)) << e.path;
  }
}

TEST(LogrotateStatusTest, OldFormatEscapesAndBadLines) {
  const std::string text =
      "logrotate state -- version 1\n"
      "\"/var/log/old.log\" 2019-7-4\n"
      "\"/var/log/q\\\"uote\\\\d.log\" 2020-2-29-12:0:0\n"
      "\n"
      "\"/var/log/bad-month.log\" 2020-13-1-0:0:0\n"
      "\"/var/log/no-date.log\"\n"
      "/var/log/unquoted.log 2021-1-2-3:4:5\n"
      "\"/var/log/old.log\" 2019-7-5\n"
      "garbage\n";
  std::vector<v1::ParseProblem> problems;
  auto got = ParseLogrotateStatus(text, "status", &problems);
  EXPECT_EQ(got["/var/log/old.log"], Utc(2019, 7, 5));  // the last line wins
  EXPECT_EQ(got["/var/log/q\"uote\\d.log"], Utc(2020, 2, 29, 12));
  EXPECT_EQ(got["/var/log/unquoted.log"], Utc(2021, 1, 2, 3, 4, 5));
  EXPECT_EQ(got.count("/var/log/bad-month.log"), 0u);
  ASSERT_THAT(problems, SizeIs(3));
  EXPECT_EQ(problems[0].line(), LineOf(text, "bad-month"));
  EXPECT_EQ(problems[1].line(), LineOf(text, "no-date"));
  EXPECT_EQ(problems[2].line(), LineOf(text, "garbage"));
  EXPECT_EQ(problems[0].file(), "status");
}

TEST(LogrotateStatusTest, BadHeaderAndEmpty) {
  std::vector<v1::ParseProblem> problems;
  EXPECT_THAT(ParseLogrotateStatus("", "s", &problems), IsEmpty());
  EXPECT_THAT(problems, IsEmpty());
  auto got = ParseLogrotateStatus("not a state file\n\"/x\" 2024-1-1\n", "s", &problems);
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_EQ(problems[0].line(), 1u);
  EXPECT_EQ(got["/x"], Utc(2024, 1, 1));
  EXPECT_THAT(ParseLogrotateStatus("x", "s", nullptr), IsEmpty());
}

// ---------------------------------------------------------------- rotated copies

TEST(LogrotateRotatedTest, BaseNames) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"syslog.1", "syslog"},
      {"syslog.2.gz", "syslog"},
      {"dpkg.log.12.gz", "dpkg.log"},
      {"auth.log.1.xz", "auth.log"},
      {"opencrvs-backup.log-20240131", "opencrvs-backup.log"},
      {"opencrvs-backup.log-20240131.gz", "opencrvs-backup.log"},
      {"app.log-2024013112", "app.log"},
      {"mongod.log.2024-01-31T00-00-01", "mongod.log"},
      {"syslog", ""},
      {"Xorg.0.log", ""},
      {"php8.2-fpm.log", ""},
      {"eipp.log.xz", ""},
      {"x-2024.log", ""},
      {".1", ""},
      {"a-123", ""},
  };
  for (const auto& [name, base] : cases) EXPECT_EQ(RotatedBaseName(name), base) << name;
}

// ---------------------------------------------------------------- collector

// OpenCRVS's /etc/logrotate.conf on swarm nodes: Ubuntu-style globals, one
// stanza per OpenCRVS log, Docker's container logs.
const std::vector<std::string>& OpenCrvsLogs() {
  static const std::vector<std::string> kLogs = {
      "/var/log/opencrvs-backup.log",  "/var/log/opencrvs-backup.error.log",
      "/var/log/opencrvs-restore.log", "/var/log/rotate-secrets.log",
      "/var/log/papertrail.log",       "/var/log/cryptfs-reboot.log"};
  return kLogs;
}

std::string OpenCrvsConf() {
  std::string text =
      "# Managed by OpenCRVS's server playbook.\n"
      "# see \"man logrotate\" for details\n"
      "weekly\n"
      "su root syslog\n"
      "rotate 4\n"
      "create\n"
      "include /etc/logrotate.d\n"
      "\n";
  for (const std::string& log : OpenCrvsLogs()) {
    absl::StrAppend(&text, log,
                    " {\n"
                    "  monthly\n"
                    "  rotate 1\n"
                    "  missingok\n"
                    "  create 0660 root application\n"
                    "}\n\n");
  }
  absl::StrAppend(&text,
                  "/var/lib/docker/containers/*/*.log {\n"
                  "  weekly\n"
                  "  rotate 7\n"
                  "  compress\n"
                  "  missingok\n"
                  "  delaycompress\n"
                  "  copytruncate\n"
                  "}\n");
  return text;
}

constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "syslog:x:104:110::/home/syslog:/usr/sbin/nologin\n"
    "provision:x:1000:1000::/home/provision:/bin/bash\n";
constexpr char kGroup[] =
    "root:x:0:\n"
    "adm:x:4:syslog\n"
    "utmp:x:43:\n"
    "syslog:x:110:\n"
    "application:x:1001:provision\n";

struct RotatedLog {
  std::string path;
  std::string content;
  std::vector<std::string> copies;  // names in the same directory
};

TEST(LogrotateCollectorTest, OpenCrvsServer) {
  FakeHost host;
  const std::string conf = OpenCrvsConf();
  host.Write("/etc/logrotate.conf", conf);
  host.Mkdir("/etc/logrotate.d");
  host.Write("/etc/passwd", kPasswd);
  host.Write("/etc/group", kGroup);
  host.Write("/usr/sbin/logrotate", "#!/bin/sh\n", 0755);
  host.Write("/etc/cron.daily/logrotate", "#!/bin/sh\n", 0755);
  host.Mkdir("/etc/systemd/system/timers.target.wants");
  host.Symlink("/lib/systemd/system/logrotate.timer",
               "/etc/systemd/system/timers.target.wants/logrotate.timer");

  const std::vector<RotatedLog> logs = {
      {"/var/log/opencrvs-backup.log", "backup ok\n", {"opencrvs-backup.log.1"}},
      {"/var/log/opencrvs-backup.error.log", "", {}},
      {"/var/log/opencrvs-restore.log", "restored\n", {"opencrvs-restore.log-20240101.gz"}},
      {"/var/log/rotate-secrets.log", "rotated\n", {}},
      {"/var/log/papertrail.log", "pt\n", {"papertrail.log.1", "papertrail.log.2.gz"}},
      {"/var/log/syslog", "Jan 1 x\n", {"syslog.1", "syslog.2.gz", "syslog.3.gz"}},
      {"/var/log/auth.log", "a\n", {}},
      {"/var/log/traefik/access.log", "GET /\n", {"access.log.1"}},
      {"/var/lib/docker/containers/aaa111/aaa111-json.log", "{}\n", {"aaa111-json.log.1"}},
      {"/var/lib/docker/containers/bbb222/bbb222-json.log", "{}\n{}\n", {}},
  };
  for (const RotatedLog& l : logs) {
    host.Write(l.path, l.content);
    const std::string dir = l.path.substr(0, l.path.rfind('/'));
    for (const std::string& c : l.copies) host.Write(absl::StrCat(dir, "/", c), "old\n");
  }
  // Not logs, or not listed: the journal, sparse databases, an orphaned
  // rotated copy, a file too deep, a container's config.
  host.Write("/var/log/journal/0123/system.journal", "j");
  host.Write("/var/log/lastlog", "l");
  host.Write("/var/log/faillog", "f");
  host.Write("/var/log/gone.log.1", "old\n");
  host.Write("/var/log/a/b/c/d/deep-ok.log", "x\n");
  host.Write("/var/log/a/b/c/d/e/too-deep.log", "x\n");
  host.Write("/var/lib/docker/containers/aaa111/config.v2.json", "{}");

  const std::map<std::string, int64_t> rotated_at = {
      {"/var/log/opencrvs-backup.log", Utc(2025, 11, 1, 0, 0, 1)},
      {"/var/log/papertrail.log", Utc(2025, 11, 1, 0, 0, 2)},
      {"/var/lib/docker/containers/aaa111/aaa111-json.log", Utc(2025, 11, 23, 6, 25, 3)},
      {"/var/log/removed-long-ago.log", Utc(2024, 2, 2)},
  };
  std::string status = "logrotate state -- version 2\n";
  int64_t newest = 0;
  for (const auto& [path, when] : rotated_at) {
    absl::CivilSecond c = absl::ToCivilSecond(absl::FromUnixSeconds(when), absl::UTCTimeZone());
    absl::StrAppend(&status, "\"", path, "\" ", c.year(), "-", c.month(), "-", c.day(), "-",
                    c.hour(), ":", c.minute(), ":", c.second(), "\n");
    newest = std::max(newest, when);
  }
  host.Write("/var/lib/logrotate/status", status);
  const std::string journald_dropin = "[Journal]\nSystemMaxUse=1G\n";
  host.Write("/etc/systemd/journald.conf", "[Journal]\n#SystemMaxUse=\n#SystemKeepFree=\n");
  host.Write("/etc/systemd/journald.conf.d/99-custom.conf", journald_dropin);

  v1::LogrotateFact fact = host.Collect();
  EXPECT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  EXPECT_THAT(fact.problems(), IsEmpty()) << Problems(fact);
  EXPECT_EQ(fact.main_file(), "/etc/logrotate.conf");
  EXPECT_THAT(fact.files(), ElementsAre("/etc/logrotate.conf"));
  EXPECT_TRUE(fact.installed());
  EXPECT_TRUE(fact.cron_daily());
  EXPECT_TRUE(fact.timer_enabled());
  EXPECT_EQ(fact.status_file(), "/var/lib/logrotate/status");
  EXPECT_TRUE(fact.status_present());
  EXPECT_EQ(fact.last_rotation_unix(), newest);

  EXPECT_EQ(fact.defaults().frequency(), "weekly");
  EXPECT_EQ(fact.defaults().rotate(), 4);
  EXPECT_EQ(fact.defaults().create(), "yes");
  EXPECT_EQ(fact.defaults().su(), "root syslog");

  ASSERT_THAT(fact.stanzas(), SizeIs(OpenCrvsLogs().size() + 1));
  for (const std::string& log : OpenCrvsLogs()) {
    const v1::LogrotateStanza* s = StanzaWith(fact, log);
    ASSERT_NE(s, nullptr) << log;
    EXPECT_EQ(s->file(), "/etc/logrotate.conf");
    EXPECT_EQ(s->line(), LineOf(conf, absl::StrCat(log, " {")));
    EXPECT_EQ(s->frequency(), "monthly");
    EXPECT_EQ(s->rotate(), 1);
    EXPECT_EQ(s->create(), "0660 root application");
    EXPECT_EQ(s->su(), "root syslog");
    EXPECT_TRUE(s->missingok());
    EXPECT_FALSE(s->compress());
    // Matched only when the file exists on the host.
    const bool exists =
        std::any_of(logs.begin(), logs.end(), [&](const RotatedLog& l) { return l.path == log; });
    if (exists) {
      EXPECT_THAT(Matched(*s), ElementsAre(log));
    } else {
      EXPECT_THAT(Matched(*s), IsEmpty());
    }
  }
  const v1::LogrotateStanza* docker = StanzaWith(fact, "/var/lib/docker/containers/*/*.log");
  ASSERT_NE(docker, nullptr);
  EXPECT_EQ(docker->frequency(), "weekly");
  EXPECT_EQ(docker->rotate(), 7);
  EXPECT_TRUE(docker->compress());
  EXPECT_TRUE(docker->copytruncate());
  EXPECT_THAT(Matched(*docker), ElementsAre("/var/lib/docker/containers/aaa111/aaa111-json.log",
                                            "/var/lib/docker/containers/bbb222/bbb222-json.log"));

  // Logs: every file above, once, rotated copies counted, not listed.
  std::vector<std::string> want_paths;
  for (const RotatedLog& l : logs) want_paths.push_back(l.path);
  want_paths.push_back("/var/log/a/b/c/d/deep-ok.log");
  std::vector<std::string> got_paths = LogPaths(fact);
  EXPECT_THAT(got_paths, ::testing::UnorderedElementsAreArray(want_paths));
  EXPECT_FALSE(fact.logs_truncated());
  for (const RotatedLog& l : logs) {
    SCOPED_TRACE(l.path);
    const v1::LogFile* f = LogAt(fact, l.path);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->size_bytes(), l.content.size());
    EXPECT_GT(f->mtime_unix(), 0);
    EXPECT_EQ(f->rotated_copies(), l.copies.size());
    auto when = rotated_at.find(l.path);
    EXPECT_EQ(f->last_rotated_unix(), when == rotated_at.end() ? 0 : when->second);
    std::string want_cover;
    if (absl::StartsWith(l.path, "/var/lib/docker/")) {
      want_cover = absl::StrCat("/etc/logrotate.conf:", docker->line());
    } else if (const v1::LogrotateStanza* s = StanzaWith(fact, l.path)) {
      want_cover = absl::StrCat("/etc/logrotate.conf:", s->line());
    }
    EXPECT_EQ(f->covered_by(), want_cover);
  }

  EXPECT_EQ(fact.journald().system_max_use(), "1G");
  EXPECT_EQ(fact.journald().source(), absl::StrCat("/etc/systemd/journald.conf.d/99-custom.conf:",
                                                   LineOf(journald_dropin, "SystemMaxUse")));
}

TEST(LogrotateCollectorTest, OpenCrvsWithoutItsGroups) {
  // Debian has no syslog group: logrotate gives up on the file at "su"; and
  // without the application group every OpenCRVS stanza is dropped.
  const std::string conf = OpenCrvsConf();
  {
    FakeHost host;
    host.Write("/etc/logrotate.conf", conf);
    host.Mkdir("/etc/logrotate.d");
    host.Write("/etc/passwd", kPasswd);
    host.Write("/etc/group", "root:x:0:\nadm:x:4:\napplication:x:1001:\n");
    v1::LogrotateFact fact = host.Collect();
    EXPECT_THAT(fact.stanzas(), IsEmpty());
    ASSERT_THAT(fact.problems(), SizeIs(1)) << Problems(fact);
    EXPECT_EQ(fact.problems(0).line(), LineOf(conf, "su root syslog"));
    EXPECT_THAT(fact.problems(0).message(), HasSubstr("unknown group 'syslog'"));
  }
  {
    FakeHost host;
    host.Write("/etc/logrotate.conf", conf);
    host.Mkdir("/etc/logrotate.d");
    host.Write("/etc/passwd", kPasswd);
    host.Write("/etc/group", "root:x:0:\nadm:x:4:\nsyslog:x:110:\n");
    for (const std::string& log : OpenCrvsLogs()) host.Write(log, "x\n");
    v1::LogrotateFact fact = host.Collect();
    ASSERT_THAT(fact.stanzas(), SizeIs(1)) << Problems(fact);
    EXPECT_THAT(fact.stanzas(0).patterns(), ElementsAre("/var/lib/docker/containers/*/*.log"));
    ASSERT_THAT(fact.problems(), SizeIs(OpenCrvsLogs().size()));
    for (const v1::ParseProblem& p : fact.problems()) {
      EXPECT_THAT(p.message(), HasSubstr("unknown group 'application'"));
    }
    for (const std::string& log : OpenCrvsLogs()) {
      const v1::LogFile* f = LogAt(fact, log);
      ASSERT_NE(f, nullptr) << log;
      EXPECT_EQ(f->covered_by(), "") << log;
    }
  }
}

// Debian 12's stock configuration with typical /etc/logrotate.d files.
constexpr char kDebianConf[] =
    "# see \"man logrotate\" for details\n"
    "\n"
    "# global options do not affect preceding include directives\n"
    "\n"
    "# rotate log files weekly\n"
    "weekly\n"
    "\n"
    "# keep 4 weeks worth of backlogs\n"
    "rotate 4\n"
    "\n"
    "# create new (empty) log files after rotating old ones\n"
    "create\n"
    "\n"
    "# use date as a suffix of the rotated file\n"
    "#dateext\n"
    "\n"
    "# uncomment this if you want your log files compressed\n"
    "#compress\n"
    "\n"
    "# packages drop log rotation information into this directory\n"
    "include /etc/logrotate.d\n"
    "\n"
    "# system-specific logs may also be configured here.\n";

struct DropIn {
  std::string name;
  std::string text;
  mode_t mode = 0644;
};

const std::vector<DropIn>& DebianDropIns() {
  static const std::vector<DropIn> kFiles = {
      {"alternatives",
       "/var/log/alternatives.log {\n\tmonthly\n\trotate 12\n\tcompress\n\tdelaycompress\n"
       "\tmissingok\n\tnotifempty\n\tcreate 644 root root\n}\n"},
      {"apt",
       "/var/log/apt/term.log {\n  rotate 12\n  monthly\n  compress\n  missingok\n  notifempty\n}\n"
       "\n/var/log/apt/history.log {\n  rotate 12\n  monthly\n  compress\n  missingok\n"
       "  notifempty\n}\n"},
      {"btmp",
       "# no packages own btmp -- we'll rotate it here\n/var/log/btmp {\n    missingok\n"
       "    monthly\n    create 0660 root utmp\n    rotate 1\n}\n"},
      {"dpkg",
       "/var/log/dpkg.log {\n\tmonthly\n\trotate 12\n\tcompress\n\tdelaycompress\n\tmissingok\n"
       "\tnotifempty\n\tcreate 644 root root\n}\n"},
      {"rsyslog",
       "/var/log/syslog\n/var/log/mail.info\n/var/log/mail.warn\n/var/log/mail.err\n"
       "/var/log/mail.log\n/var/log/daemon.log\n/var/log/kern.log\n/var/log/auth.log\n"
       "/var/log/user.log\n/var/log/lpr.log\n/var/log/cron.log\n/var/log/debug\n"
       "/var/log/messages\n{\n\trotate 4\n\tweekly\n\tmissingok\n\tnotifempty\n\tcompress\n"
       "\tdelaycompress\n\tsharedscripts\n\tpostrotate\n\t\t/usr/lib/rsyslog/rsyslog-rotate\n"
       "\tendscript\n}\n"},
      {"nginx",
       "/var/log/nginx/*.log {\n\tdaily\n\tmissingok\n\trotate 14\n\tcompress\n"
       "\tdelaycompress\n\tnotifempty\n\tcreate 0640 www-data adm\n\tsharedscripts\n"
       "\tprerotate\n\t\tif [ -d /etc/logrotate.d/httpd-prerotate ]; then \\\n"
       "\t\t\trun-parts /etc/logrotate.d/httpd-prerotate; \\\n\t\tfi \\\n\tendscript\n"
       "\tpostrotate\n\t\tinvoke-rc.d nginx rotate >/dev/null 2>&1 || { true; }\n"
       "\tendscript\n}\n"},
      {"wtmp",
       "# no packages own wtmp -- we'll rotate it here\n/var/log/wtmp {\n    missingok\n"
       "    monthly\n    create 0664 root utmp\n    minsize 1M\n    rotate 1\n}\n"},
      // Read although its name starts with a dot: logrotate matches the
      // taboo patterns with FNM_PERIOD.
      {".quoted",
       "\"/var/log/with space.log\" '/var/log/single.log' /var/log/esc\\ aped.log {\n"
       "  daily\n}\n"},
      // A later file claiming a file an earlier one has: logrotate keeps the
      // first and drops the rest of that pattern's matches.
      {"zz-dup", "/var/log/dpkg.log /var/log/new.log {\n  daily\n}\n"},
      // Ignored by logrotate: taboo names, a group-writable file.
      {"rsyslog.dpkg-old", "/var/log/taboo-1.log {\n}\n"},
      {"nginx.dpkg-dist", "/var/log/taboo-2.log {\n}\n"},
      {"apt~", "/var/log/taboo-3.log {\n}\n"},
      {"old.bak", "/var/log/taboo-4.log {\n}\n"},
      {"x.swp", "/var/log/taboo-5.log {\n}\n"},
      {"y.disabled", "/var/log/taboo-6.log {\n}\n"},
      {"writable", "/var/log/taboo-7.log {\n}\n", 0664},
  };
  return kFiles;
}

TEST(LogrotateCollectorTest, DebianStock) {
  FakeHost host;
  host.Write("/etc/logrotate.conf", kDebianConf);
  host.Write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/x\n");
  host.Write("/etc/group", "root:x:0:\nadm:x:4:\nutmp:x:43:\nwww-data:x:33:\n");
  host.Write("/usr/sbin/logrotate", "", 0755);
  host.Mkdir("/etc/logrotate.d/subdir");  // not a file: skipped
  for (const DropIn& d : DebianDropIns()) {
    host.Write(absl::StrCat("/etc/logrotate.d/", d.name), d.text, d.mode);
  }
  const std::vector<std::string> existing = {"/var/log/alternatives.log",
                                             "/var/log/apt/term.log",
                                             "/var/log/apt/history.log",
                                             "/var/log/btmp",
                                             "/var/log/wtmp",
                                             "/var/log/dpkg.log",
                                             "/var/log/syslog",
                                             "/var/log/auth.log",
                                             "/var/log/kern.log",
                                             "/var/log/nginx/access.log",
                                             "/var/log/nginx/error.log",
                                             "/var/log/with space.log",
                                             "/var/log/single.log",
                                             "/var/log/esc aped.log",
                                             "/var/log/new.log",
                                             "/var/log/taboo-1.log",
                                             "/var/log/taboo-2.log",
                                             "/var/log/taboo-3.log",
                                             "/var/log/taboo-4.log",
                                             "/var/log/taboo-5.log",
                                             "/var/log/taboo-6.log",
                                             "/var/log/taboo-7.log"};
  for (const std::string& p : existing) host.Write(p, "line\n");
  host.Mkdir("/var/log/nginx/old.log");  // a directory the glob matches: skipped

  v1::LogrotateFact fact = host.Collect();
  EXPECT_EQ(fact.collection().state(), v1::Collection::OK);
  EXPECT_FALSE(fact.cron_daily());
  EXPECT_FALSE(fact.timer_enabled());
  EXPECT_FALSE(fact.status_present());
  EXPECT_EQ(fact.last_rotation_unix(), 0);
  EXPECT_EQ(fact.status_mtime_unix(), 0);

  // Files read: the main file, then logrotate.d in byte order without taboo
  // names or the writable file.
  std::vector<std::string> want_files = {"/etc/logrotate.conf"};
  std::vector<std::string> names;
  for (const DropIn& d : DebianDropIns()) {
    if (!absl::StrContains(d.text, "taboo-")) names.push_back(d.name);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) want_files.push_back(absl::StrCat("/etc/logrotate.d/", n));
  EXPECT_THAT(fact.files(), ElementsAreArray(want_files));

  // Problems: the duplicate and the writable file, nothing else.
  ASSERT_THAT(fact.problems(), SizeIs(2)) << Problems(fact);
  EXPECT_EQ(fact.problems(0).file(), "/etc/logrotate.d/writable");
  EXPECT_THAT(fact.problems(0).message(), HasSubstr("writable by group or others"));
  EXPECT_EQ(fact.problems(1).file(), "/etc/logrotate.d/zz-dup");
  EXPECT_EQ(fact.problems(1).line(), 1u);
  EXPECT_THAT(fact.problems(1).message(), HasSubstr("duplicate log entry for /var/log/dpkg.log"));

  // Global options reach every drop-in (the include comes after them).
  EXPECT_EQ(fact.defaults().frequency(), "weekly");
  EXPECT_EQ(fact.defaults().rotate(), 4);
  EXPECT_EQ(fact.defaults().create(), "yes");
  const v1::LogrotateStanza* btmp = StanzaWith(fact, "/var/log/btmp");
  ASSERT_NE(btmp, nullptr);
  EXPECT_EQ(btmp->file(), "/etc/logrotate.d/btmp");
  EXPECT_EQ(btmp->line(), 2u);
  EXPECT_EQ(btmp->frequency(), "monthly");
  EXPECT_EQ(btmp->rotate(), 1);
  EXPECT_EQ(btmp->create(), "0660 root utmp");
  EXPECT_TRUE(btmp->missingok());
  const v1::LogrotateStanza* history = StanzaWith(fact, "/var/log/apt/history.log");
  ASSERT_NE(history, nullptr);
  EXPECT_EQ(history->line(), 9u);
  EXPECT_EQ(history->create(), "yes");  // inherited
  const v1::LogrotateStanza* rsyslog = StanzaWith(fact, "/var/log/syslog");
  ASSERT_NE(rsyslog, nullptr);
  EXPECT_THAT(rsyslog->patterns(), SizeIs(13));
  EXPECT_THAT(Matched(*rsyslog),
              ElementsAre("/var/log/syslog", "/var/log/kern.log", "/var/log/auth.log"));
  const v1::LogrotateStanza* nginx = StanzaWith(fact, "/var/log/nginx/*.log");
  ASSERT_NE(nginx, nullptr);
  EXPECT_EQ(nginx->rotate(), 14);
  EXPECT_EQ(nginx->create(), "0640 www-data adm");
  EXPECT_THAT(Matched(*nginx),
              ElementsAre("/var/log/nginx/access.log", "/var/log/nginx/error.log"));
  const v1::LogrotateStanza* quoted = StanzaWith(fact, "/var/log/with space.log");
  ASSERT_NE(quoted, nullptr);
  EXPECT_THAT(Matched(*quoted), ElementsAre("/var/log/with space.log", "/var/log/single.log",
                                            "/var/log/esc aped.log"));
  const v1::LogrotateStanza* dup = StanzaWith(fact, "/var/log/new.log");
  ASSERT_NE(dup, nullptr);
  EXPECT_THAT(Matched(*dup), ElementsAre("/var/log/new.log"));

  // Coverage: what a read stanza matched; nothing from ignored files.
  std::map<std::string, std::string> cover;
  for (const v1::LogrotateStanza& s : fact.stanzas()) {
    for (const std::string& m : s.matched()) cover[m] = absl::StrCat(s.file(), ":", s.line());
  }
  for (const std::string& p : existing) {
    SCOPED_TRACE(p);
    const v1::LogFile* f = LogAt(fact, p);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->covered_by(), cover.count(p) ? cover[p] : "");
    EXPECT_EQ(f->covered_by().empty(), absl::StrContains(p, "taboo-"));
  }
  EXPECT_EQ(LogAt(fact, "/var/log/dpkg.log")->covered_by(),
            absl::StrCat("/etc/logrotate.d/dpkg:", StanzaWith(fact, "/var/log/dpkg.log")->line()));
}

TEST(LogrotateCollectorTest, IncludedFileWithAnErrorLeavesNoGlobals) {
  FakeHost host;
  host.Write("/etc/logrotate.conf", "include /etc/logrotate.d\n/var/log/main.log {\n}\n");
  // "a" sets daily globally but then has an error: logrotate restores the
  // global options for what follows. "b" sets monthly and is fine.
  host.Write("/etc/logrotate.d/a", "daily\n/var/log/a.log {\n  rotate x\n}\n");
  host.Write("/etc/logrotate.d/b", "/var/log/b.log {\n}\nmonthly\n");
  host.Write("/etc/logrotate.d/c", "/var/log/c.log {\n}\n");
  v1::LogrotateFact fact = host.Collect();
  ASSERT_THAT(fact.stanzas(), SizeIs(3)) << Problems(fact);
  EXPECT_EQ(StanzaWith(fact, "/var/log/b.log")->frequency(), "");
  EXPECT_EQ(StanzaWith(fact, "/var/log/c.log")->frequency(), "monthly");
  EXPECT_EQ(StanzaWith(fact, "/var/log/main.log")->frequency(), "monthly");
  EXPECT_EQ(fact.defaults().frequency(), "monthly");
}

TEST(LogrotateCollectorTest, RelativeIncludesResolveInTheIncludedDirectory) {
  FakeHost host;
  host.Write("/etc/logrotate.conf", "include /etc/lr.d\ninclude etc/top.conf\n");
  // A taboo name is skipped in the directory but read when named.
  host.Write("/etc/lr.d/first", "include second.disabled\n");
  host.Write("/etc/lr.d/second.disabled", "/var/log/second.log {\n}\n");
  host.Write("/etc/top.conf", "/var/log/top.log {\n}\n");
  host.Write("/var/log/second.log", "x");
  host.Write("/var/log/top.log", "x");
  v1::LogrotateFact fact = host.Collect();
  EXPECT_THAT(fact.problems(), IsEmpty()) << Problems(fact);
  EXPECT_THAT(fact.files(), ElementsAre("/etc/logrotate.conf", "/etc/lr.d/first",
                                        "/etc/lr.d/second.disabled", "/etc/top.conf"));
  ASSERT_THAT(fact.stanzas(), SizeIs(2));
  EXPECT_THAT(Matched(fact.stanzas(0)), ElementsAre("/var/log/second.log"));
  EXPECT_THAT(Matched(fact.stanzas(1)), ElementsAre("/var/log/top.log"));
}

TEST(LogrotateCollectorTest, IncludeLoopsAreBounded) {
  FakeHost host;
  host.Write("/etc/logrotate.conf", "include /etc/logrotate.conf\ninclude /etc/logrotate.conf\n");
  v1::LogrotateFact fact = host.Collect();
  EXPECT_LE(fact.files_size(), 600);
  bool deep = false;
  for (const v1::ParseProblem& p : fact.problems()) {
    deep |= absl::StrContains(p.message(), "nesting too deep") ||
            absl::StrContains(p.message(), "configuration files read");
  }
  EXPECT_TRUE(deep) << Problems(fact);
}

TEST(LogrotateCollectorTest, TildeAndNoCheckLiterals) {
  FakeHost host;
  host.Write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\napp:x:1000:1000::/srv/app:/x\n");
  host.Write("/etc/logrotate.conf",
             "~/logs/*.log ~app/app.log ~nobody/x.log {\n}\n"
             "/var/log/[x].log {\n}\n");
  host.Write("/root/logs/r.log", "x");
  host.Write("/srv/app/app.log", "x");
  host.Write("/var/log/[x].log", "x");  // no x.log: glob hands the pattern back
  v1::LogrotateFact fact = host.Collect();
  ASSERT_THAT(fact.stanzas(), SizeIs(2)) << Problems(fact);
  EXPECT_THAT(Matched(fact.stanzas(0)), ElementsAre("/root/logs/r.log", "/srv/app/app.log"));
  EXPECT_THAT(Matched(fact.stanzas(1)), ElementsAre("/var/log/[x].log"));
}

TEST(LogrotateCollectorTest, IgnoreDuplicatesOfTheHoldingStanza) {
  FakeHost host;
  const std::string conf =
      "/var/log/b.log {\n}\n"
      "/var/log/*.log {\n  ignoreduplicates\n}\n"
      "/var/log/a.log /var/log/c.log {\n}\n"
      "ignoreduplicates\n"
      "/var/log/*.log {\n}\n";
  host.Write("/etc/logrotate.conf", conf);
  for (const char* n : {"a.log", "b.log", "c.log"}) host.Write(absl::StrCat("/var/log/", n), "");
  v1::LogrotateFact fact = host.Collect();
  ASSERT_THAT(fact.stanzas(), SizeIs(4)) << Problems(fact);
  // The glob runs at '{', before the stanza's own ignoreduplicates: b.log
  // is a duplicate and the rest of *.log is dropped.
  EXPECT_THAT(Matched(fact.stanzas(1)), ElementsAre("/var/log/a.log"));
  // a.log's holder ignores duplicates, so a.log is skipped quietly.
  EXPECT_THAT(Matched(fact.stanzas(2)), ElementsAre("/var/log/c.log"));
  // b.log's holder does not, whatever the new stanza says.
  EXPECT_THAT(Matched(fact.stanzas(3)), IsEmpty());
  ASSERT_THAT(fact.problems(), SizeIs(2)) << Problems(fact);
  EXPECT_EQ(fact.problems(0).line(), LineOf(conf, "*.log"));
  EXPECT_EQ(fact.problems(1).line(), 9u);
  EXPECT_THAT(fact.problems(1).message(), HasSubstr("/var/log/b.log"));
}

TEST(LogrotateCollectorTest, AbsentAndMissingConfig) {
  {
    FakeHost host;
    host.Mkdir("/etc");
    v1::LogrotateFact fact = host.Collect();
    EXPECT_EQ(fact.collection().state(), v1::Collection::ABSENT);
    EXPECT_FALSE(fact.installed());
    EXPECT_EQ(fact.journald().source(), "default");
    EXPECT_EQ(fact.journald().system_max_use(), "");
    EXPECT_THAT(fact.logs(), IsEmpty());
  }
  {
    FakeHost host;
    host.Write("/usr/sbin/logrotate", "", 0755);
    host.Write("/var/log/syslog", "x");
    v1::LogrotateFact fact = host.Collect();
    EXPECT_EQ(fact.collection().state(), v1::Collection::OK);
    EXPECT_TRUE(fact.installed());
    ASSERT_THAT(fact.problems(), SizeIs(1));
    EXPECT_THAT(fact.problems(0).message(), HasSubstr("does not exist"));
    EXPECT_THAT(LogPaths(fact), ElementsAre("/var/log/syslog"));
    EXPECT_EQ(fact.logs(0).covered_by(), "");
  }
}

TEST(LogrotateCollectorTest, WalkIsBounded) {
  FakeHost host;
  for (int i = 0; i < 50; ++i) host.Write(absl::StrCat("/var/log/f", 100 + i, ".log"), "");
  CollectOptions options;
  options.max_walk_entries = 20;
  v1::LogrotateFact fact = host.Collect(options);
  EXPECT_TRUE(fact.logs_truncated());
  EXPECT_LE(fact.logs_size(), 20);
}

TEST(LogrotateCollectorTest, JournaldLastSettingWins) {
  FakeHost host;
  const std::string main = "[Journal]\nStorage=persistent\nSystemMaxUse=4G\n";
  const std::string late = "# later drop-in\n[Journal]\n  SystemMaxUse = 500M \n";
  host.Write("/etc/systemd/journald.conf", main);
  host.Write("/etc/systemd/journald.conf.d/10-first.conf", "[Journal]\nSystemMaxUse=2G\n");
  host.Write("/etc/systemd/journald.conf.d/20-late.conf", late);
  host.Write("/etc/systemd/journald.conf.d/30-other-section.conf", "[Other]\nSystemMaxUse=9G\n");
  host.Write("/etc/systemd/journald.conf.d/40-not-conf.txt", "[Journal]\nSystemMaxUse=7G\n");
  v1::LogrotateFact fact = host.Collect();
  EXPECT_EQ(fact.journald().system_max_use(), "500M");
  EXPECT_EQ(fact.journald().source(), absl::StrCat("/etc/systemd/journald.conf.d/20-late.conf:",
                                                   LineOf(late, "SystemMaxUse")));
}

// ---------------------------------------------------------------- schedule

void SetMtime(const std::string& path, int64_t unix) {
  struct timespec times[2] = {{unix, 0}, {unix, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

// The schedule as the system runs it: init, timer (unit, enabled, masked,
// last trigger), cron.daily (guard, cron installed) and the state file's
// mtime as the last run.
TEST(LogrotateScheduleTest, ReadsTimerCronGuardInitAndTimes) {
  FakeHost host;
  host.Write("/usr/sbin/logrotate", "");
  host.Write("/etc/logrotate.conf", "weekly\n");
  host.Mkdir("/sbin");
  host.Symlink("/lib/systemd/systemd", "/sbin/init");
  host.Write("/lib/systemd/system/logrotate.timer", "[Timer]\nOnCalendar=daily\n");
  host.Write("/etc/cron.daily/logrotate",
             "#!/bin/sh\n# skip in favour of systemd timer\n"
             "if [ -d /run/systemd/system ]; then\n    exit 0\nfi\n"
             "/usr/sbin/logrotate /etc/logrotate.conf\n",
             0755);
  host.Write("/usr/sbin/cron", "", 0755);
  host.Write("/var/lib/logrotate/status",
             "logrotate state -- version 2\n\"/var/log/syslog\" 2025-12-26-6:25:1\n");
  SetMtime(host.Real("/var/lib/logrotate/status"), Utc(2025, 12, 31, 6, 25, 1));
  host.Write("/var/lib/systemd/timers/stamp-logrotate.timer", "");
  SetMtime(host.Real("/var/lib/systemd/timers/stamp-logrotate.timer"), Utc(2025, 12, 31, 6, 25));

  v1::LogrotateFact fact = host.Collect();
  EXPECT_EQ(fact.init(), "systemd");
  EXPECT_EQ(fact.init_source(), "/sbin/init -> /lib/systemd/systemd");
  EXPECT_EQ(fact.timer_unit(), "/lib/systemd/system/logrotate.timer");
  EXPECT_FALSE(fact.timer_enabled());  // no timers.target.wants link
  EXPECT_FALSE(fact.timer_masked());
  EXPECT_TRUE(fact.cron_daily());
  EXPECT_TRUE(fact.cron_daily_guarded());
  EXPECT_TRUE(fact.cron_installed());
  EXPECT_EQ(fact.status_mtime_unix(), Utc(2025, 12, 31, 6, 25, 1));
  EXPECT_EQ(fact.last_rotation_unix(), Utc(2025, 12, 26, 6, 25, 1));
  EXPECT_EQ(fact.timer_last_trigger_unix(), Utc(2025, 12, 31, 6, 25));

  // Enabled, then masked; a cron script without the guard; sysvinit.
  host.Mkdir("/etc/systemd/system/timers.target.wants");
  host.Symlink("/lib/systemd/system/logrotate.timer",
               "/etc/systemd/system/timers.target.wants/logrotate.timer");
  host.Symlink("/dev/null", "/etc/systemd/system/logrotate.timer");
  host.Write("/etc/cron.daily/logrotate",
             "#!/bin/sh\n# if [ -d /run/systemd/system ]; then exit 0; fi\n"
             "/usr/sbin/logrotate /etc/logrotate.conf\n",
             0755);
  ASSERT_EQ(unlink(host.Real("/sbin/init").c_str()), 0);
  host.Write("/sbin/init", "sysvinit", 0755);
  fact = host.Collect();
  EXPECT_TRUE(fact.timer_enabled());
  EXPECT_TRUE(fact.timer_masked());
  EXPECT_FALSE(fact.cron_daily_guarded());  // the guard is only in a comment
  EXPECT_EQ(fact.init(), "other");
}

}  // namespace
}  // namespace preflight::agent
