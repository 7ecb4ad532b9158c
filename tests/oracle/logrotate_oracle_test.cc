// Oracle tests: our logrotate configuration reader (ReadLogrotateConfig over
// the real file system) against the real `logrotate -d` for generated
// configurations in a temporary directory: the stanzas logrotate keeps, the
// files it considers for each (in order), each stanza's rotation criterion,
// rotation count and maxsize, and whether reading the configuration raised
// errors at all.
//
// Needs /usr/sbin/logrotate (Debian: logrotate) and runs as root in CI:
// logrotate checks the mode and owner of configuration files only when run
// as root. A missing logrotate is a failure, never a skip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <ostream>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "agent/facts/logrotate.h"
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

constexpr char kLogrotate[] = "/usr/sbin/logrotate";
constexpr uint64_t kDefaultSize = 1024 * 1024;  // logrotate's criterion when none is given

// ------------------------------------------------------------------ cases

struct LrCase {
  std::string name;
  // The main configuration. "{D}" is the case's temporary directory, "{R}"
  // the same without its leading '/' (a path relative to "/", logrotate's
  // working directory here as under cron and systemd).
  std::string main;
  // Other configuration files: path relative to {D} -> content.
  std::vector<std::pair<std::string, std::string>> files = {};
  // Log files to create (relative to {D}); names ending in '/' are
  // directories, "a -> b" a symbolic link a pointing to b.
  std::vector<std::string> logs = {};
  // Modes to set on configuration files (relative to {D}).
  std::vector<std::pair<std::string, mode_t>> modes = {};
};
void PrintTo(const LrCase& c, std::ostream* os) { *os << c.name; }

std::string Expand(absl::string_view text, absl::string_view dir) {
  return absl::StrReplaceAll(text, {{"{D}", dir}, {"{R}", dir.substr(1)}});
}

// ------------------------------------------------------------------ logrotate -d

struct TheirStanza {
  std::string header;                   // "rotating pattern: " up to "empty log files"
  std::string options;                  // the "empty log files ..." line
  std::vector<std::string> considered;  // "considering log X", in order
};

struct TheirRun {
  int handling = -1;                // "Handling N logs"
  std::vector<std::string> errors;  // "error:" lines while reading the configuration
  std::vector<TheirStanza> stanzas;
};

TheirRun ParseDebugOutput(const std::string& out) {
  TheirRun run;
  static const std::regex kHandling("^Handling ([0-9]+) logs$");
  std::vector<std::string> lines = absl::StrSplit(out, '\n');
  bool in_header = false;
  for (const std::string& line : lines) {
    std::smatch m;
    if (run.handling < 0) {
      if (std::regex_match(line, m, kHandling)) {
        run.handling = std::stoi(m[1]);
      } else if (absl::StartsWith(line, "error:")) {
        run.errors.push_back(line);
      }
      continue;
    }
    if (absl::StartsWith(line, "rotating pattern: ")) {
      run.stanzas.emplace_back();
      in_header = true;
      absl::string_view rest = absl::string_view(line).substr(18);
      const size_t empty = rest.find("empty log files");
      if (empty != absl::string_view::npos) {
        run.stanzas.back().header = std::string(rest.substr(0, empty));
        run.stanzas.back().options = std::string(rest.substr(empty));
        in_header = false;
      } else {
        run.stanzas.back().header = std::string(rest);
      }
      continue;
    }
    if (run.stanzas.empty()) continue;
    TheirStanza& s = run.stanzas.back();
    if (in_header) {
      if (absl::StartsWith(line, "empty log files")) {
        s.options = line;
        in_header = false;
      } else {
        absl::StrAppend(&s.header, "\n", line);
      }
      continue;
    }
    if (absl::StartsWith(line, "considering log ")) s.considered.push_back(line.substr(16));
  }
  return run;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// "weekly", "1048576 bytes", ... (logrotate prints daily as "after 1 days");
// rotations: -1 when not printed.
struct Criterion {
  std::string criterion;
  int rotations = -1;
  bool parsed = false;
};
Criterion CriterionOf(const std::string& header) {
  static const std::regex kCrit(
      "(hourly|after 1 days|weekly|monthly|yearly|[0-9]+ bytes)"
      "( \\(([0-9]+) rotations\\)| \\(no old logs will be kept\\))?\\s*$");
  std::smatch m;
  Criterion c;
  if (!std::regex_search(header, m, kCrit)) return c;
  c.parsed = true;
  c.criterion = m[1] == "after 1 days" ? std::string("daily") : std::string(m[1]);
  if (m[3].matched) {
    c.rotations = std::stoi(m[3]);
  } else if (m[2].matched) {
    c.rotations = 0;
  }
  return c;
}

std::string OursCriterion(const v1::LogrotateStanza& s) {
  if (!s.frequency().empty()) return s.frequency();
  return absl::StrCat(s.size_bytes() != 0 ? s.size_bytes() : kDefaultSize, " bytes");
}

std::string Describe(const v1::LogrotateFact& fact) {
  std::string out;
  for (const v1::LogrotateStanza& s : fact.stanzas()) {
    absl::StrAppend(&out, "  ", s.file(), ":", s.line(), " [", absl::StrJoin(s.patterns(), " "),
                    "] -> [", absl::StrJoin(s.matched(), " "), "] ", OursCriterion(s), " rotate ",
                    s.rotate(), "\n");
  }
  for (const v1::ParseProblem& p : fact.problems()) {
    absl::StrAppend(&out, "  problem ", p.file(), ":", p.line(), ": ", p.message(), "\n");
  }
  return out;
}

// Fails (never skips) when logrotate cannot be run here, or not as root
// (only then does logrotate check configuration files' modes and owners, as
// it does on a server, and as our reader always assumes).
void RequireLogrotate() {
  ASSERT_EQ(access(kLogrotate, X_OK), 0)
      << kLogrotate << " is missing: install logrotate (apt-get install logrotate); the "
      << "logrotate oracle tests compare against the real logrotate -d and are not skipped.";
  ASSERT_EQ(geteuid(), 0u) << "run the logrotate oracle tests as root: logrotate runs as root "
                              "on a server and only then checks its configuration files";
}

class LogrotateOracleTest : public ::testing::TestWithParam<LrCase> {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(RequireLogrotate()); }
};

TEST_P(LogrotateOracleTest, MatchesLogrotateDebug) {
  const LrCase& c = GetParam();
  TempDir dir;
  const std::string main_path = dir.Join("logrotate.conf");
  const std::string main_text = Expand(c.main, dir.path());
  WriteFile(main_path, main_text);
  std::string all_files = absl::StrCat("--- ", main_path, "\n", main_text);
  for (const auto& [rel, content] : c.files) {
    const std::string text = Expand(content, dir.path());
    WriteFile(dir.Join(rel), text);
    absl::StrAppend(&all_files, "--- ", dir.Join(rel), "\n", text);
  }
  for (const auto& [rel, mode] : c.modes) {
    ASSERT_EQ(chmod(dir.Join(rel).c_str(), mode), 0) << rel;
  }
  for (const std::string& log : c.logs) {
    const size_t arrow = log.find(" -> ");
    if (arrow != std::string::npos) {
      const std::string link = dir.Join(log.substr(0, arrow));
      MakeDirs(link.substr(0, link.rfind('/')));
      ASSERT_EQ(symlink(Expand(log.substr(arrow + 4), dir.path()).c_str(), link.c_str()), 0);
    } else if (absl::EndsWith(log, "/")) {
      MakeDirs(dir.Join(log));
    } else {
      WriteFile(dir.Join(log), "a log line\n");
    }
  }

  RunResult r =
      RunProcess({"env", "-C", "/", kLogrotate, "-d", "-s", dir.Join("status"), main_path},
                 absl::Seconds(60), {{"LC_ALL", "C"}});
  const std::string output = r.err + r.out;
  TheirRun theirs = ParseDebugOutput(output);
  ASSERT_GE(theirs.handling, 0) << "logrotate -d printed no \"Handling N logs\" (exit "
                                << r.exit_code << "):\n"
                                << output;

  auto env = RootedHostEnv::Create("/");
  ASSERT_TRUE(env.ok()) << env.status();
  v1::LogrotateFact fact;
  ReadLogrotateConfig(**env, main_path, 4 << 20, fact);
  const std::string context =
      absl::StrCat("ours:\n", Describe(fact), "logrotate -d:\n", output, "files:\n", all_files);

  ASSERT_EQ(fact.stanzas_size(), theirs.handling) << context;
  ASSERT_EQ(static_cast<int>(theirs.stanzas.size()), theirs.handling) << context;
  std::vector<std::string> all_theirs, all_ours;
  for (int i = 0; i < theirs.handling; ++i) {
    SCOPED_TRACE(absl::StrCat("stanza ", i));
    const v1::LogrotateStanza& ours = fact.stanzas(i);
    const TheirStanza& their = theirs.stanzas[i];
    // logrotate considers every name its glob returned, existing or not
    // (a missing one is then skipped or an error): compare the existing.
    std::vector<std::string> considered;
    for (const std::string& p : their.considered) {
      if (Exists(p)) considered.push_back(p);
    }
    std::vector<std::string> matched(ours.matched().begin(), ours.matched().end());
    EXPECT_EQ(matched, considered) << context;
    all_theirs.insert(all_theirs.end(), considered.begin(), considered.end());
    all_ours.insert(all_ours.end(), matched.begin(), matched.end());

    Criterion crit = CriterionOf(their.header);
    ASSERT_TRUE(crit.parsed) << "cannot read the criterion in '" << their.header << "'\n"
                             << context;
    EXPECT_EQ(OursCriterion(ours), crit.criterion) << context;
    if (ours.rotate() >= 0) {
      EXPECT_EQ(ours.rotate(), crit.rotations) << context;
    } else {
      // Unset (logrotate keeps 0) or "rotate -1" (not printed).
      EXPECT_LE(crit.rotations, 0) << context;
    }
    if (ours.maxsize_bytes() != 0) {
      EXPECT_THAT(their.options,
                  ::testing::HasSubstr(absl::StrCat(">= ", ours.maxsize_bytes(), " are rotated")))
          << context;
    } else {
      EXPECT_THAT(their.options, ::testing::Not(::testing::HasSubstr("rotated earlier")))
          << context;
    }
  }
  std::sort(all_theirs.begin(), all_theirs.end());
  std::sort(all_ours.begin(), all_ours.end());
  EXPECT_EQ(all_ours, all_theirs) << context;
  // Problems exactly when logrotate reported errors reading the configuration.
  EXPECT_EQ(fact.problems_size() > 0, !theirs.errors.empty())
      << "logrotate errors:\n  " << absl::StrJoin(theirs.errors, "\n  ") << "\n"
      << context;
  // The case is not vacuous.
  EXPECT_FALSE(all_ours.empty()) << context;
}

// ------------------------------------------------------------------ the cases

constexpr char kOpenCrvsStanza[] =
    " {\n"
    "  monthly\n"
    "  rotate 1\n"
    "  missingok\n"
    "  create 0660 root GROUP\n"
    "}\n";

std::string OpenCrvsMain(absl::string_view group) {
  std::string text =
      "# OpenCRVS swarm node\n"
      "weekly\n"
      "su root adm\n"
      "rotate 4\n"
      "create\n"
      "include {D}/logrotate.d\n\n";
  for (const char* log :
       {"opencrvs-backup.log", "opencrvs-backup.error.log", "opencrvs-restore.log",
        "rotate-secrets.log", "papertrail.log", "cryptfs-reboot.log"}) {
    absl::StrAppend(&text, "{D}/var/log/", log,
                    absl::StrReplaceAll(kOpenCrvsStanza, {{"GROUP", group}}));
  }
  absl::StrAppend(&text,
                  "{D}/containers/*/*.log {\n  weekly\n  rotate 7\n  compress\n  missingok\n"
                  "  delaycompress\n  copytruncate\n}\n");
  return text;
}

const std::vector<std::string>& OpenCrvsLogs() {
  static const std::vector<std::string> kLogs = {
      "var/log/opencrvs-backup.log",         "var/log/opencrvs-backup.error.log",
      "var/log/opencrvs-restore.log",        "var/log/papertrail.log",
      "var/log/rotate-secrets.log",          "containers/aaa111/aaa111-json.log",
      "containers/aaa111/aaa111-json.log.1", "containers/bbb222/bbb222-json.log",
      "containers/.hidden/x-json.log",       "containers/ccc333/",
  };
  return kLogs;
}

constexpr char kDebianMain[] =
    "# see \"man logrotate\" for details\n"
    "weekly\n"
    "rotate 4\n"
    "create\n"
    "#compress\n"
    "include {D}/logrotate.d\n"
    "# system-specific logs may also be configured here.\n";

const std::vector<LrCase>& Cases() {
  static const std::vector<LrCase> kCases = {
      {.name = "OpenCrvsNode",
       .main = OpenCrvsMain("adm"),
       .files = {{"logrotate.d/.keep", ""}},
       .logs = OpenCrvsLogs()},
      {.name = "OpenCrvsGroupMissingDropsStanzas",
       .main = OpenCrvsMain("preflight-no-such-group"),
       .files = {{"logrotate.d/.keep", ""}},
       .logs = OpenCrvsLogs()},
      {.name = "DebianStockWithDropIns",
       .main = kDebianMain,
       .files = {{"logrotate.d/alternatives",
                  "{D}/var/log/alternatives.log {\n\tmonthly\n\trotate 12\n\tcompress\n"
                  "\tdelaycompress\n\tmissingok\n\tnotifempty\n\tcreate 644 root root\n}\n"},
                 {"logrotate.d/apt",
                  "{D}/var/log/apt/term.log {\n  rotate 12\n  monthly\n  compress\n  missingok\n"
                  "  notifempty\n}\n\n{D}/var/log/apt/history.log {\n  rotate 12\n  monthly\n"
                  "  compress\n  missingok\n  notifempty\n}\n"},
                 {"logrotate.d/btmp",
                  "# no packages own btmp -- we'll rotate it here\n{D}/var/log/btmp {\n"
                  "    missingok\n    monthly\n    create 0660 root utmp\n    rotate 1\n}\n"},
                 {"logrotate.d/wtmp",
                  "{D}/var/log/wtmp {\n    missingok\n    monthly\n    create 0664 root utmp\n"
                  "    minsize 1M\n    rotate 1\n}\n"},
                 {"logrotate.d/rsyslog",
                  "{D}/var/log/syslog\n{D}/var/log/mail.info\n{D}/var/log/mail.log\n"
                  "{D}/var/log/kern.log\n{D}/var/log/auth.log\n{D}/var/log/messages\n{\n"
                  "\trotate 4\n\tweekly\n\tmissingok\n\tnotifempty\n\tcompress\n\tdelaycompress\n"
                  "\tsharedscripts\n\tpostrotate\n\t\t/usr/lib/rsyslog/rsyslog-rotate\n"
                  "\tendscript\n}\n"},
                 {"logrotate.d/.dotfile", "{D}/var/log/dotfile.log {\n  daily\n}\n"},
                 {"logrotate.d/rsyslog.dpkg-old", "{D}/var/log/taboo1.log {\n}\n"},
                 {"logrotate.d/apt~", "{D}/var/log/taboo2.log {\n}\n"},
                 {"logrotate.d/x.bak", "{D}/var/log/taboo3.log {\n}\n"},
                 {"logrotate.d/x.swp", "{D}/var/log/taboo4.log {\n}\n"},
                 {"logrotate.d/x.disabled", "{D}/var/log/taboo5.log {\n}\n"},
                 {"logrotate.d/x.rhn-cfg-tmp-abc", "{D}/var/log/taboo6.log {\n}\n"},
                 {"logrotate.d/x.ucf-new", "{D}/var/log/taboo7.log {\n}\n"},
                 {"logrotate.d/x.dpkg-tmp", "{D}/var/log/taboo8.log {\n}\n"}},
       .logs = {"var/log/alternatives.log", "var/log/apt/term.log", "var/log/apt/history.log",
                "var/log/btmp", "var/log/wtmp", "var/log/syslog", "var/log/kern.log",
                "var/log/auth.log", "var/log/dotfile.log", "var/log/taboo1.log",
                "var/log/taboo2.log", "var/log/taboo3.log", "var/log/taboo4.log",
                "var/log/taboo5.log", "var/log/taboo6.log", "var/log/taboo7.log",
                "var/log/taboo8.log"}},
      {.name = "GlobsSeveralPerStanza",
       .main = "{D}/logs/a?.log {D}/logs/[bc]*.log\n{D}/logs/sub*/*.log {\n  daily\n}\n"
               "{D}/logs/*.txt {D}/logs/.*.txt {\n  rotate 2\n}\n",
       .logs = {"logs/a1.log", "logs/a2.log", "logs/a10.log", "logs/b.log", "logs/c-x.log",
                "logs/d.log", "logs/sub1/x.log", "logs/sub2/y.log", "logs/sub2/.z.log",
                "logs/.sub3/w.log", "logs/one.txt", "logs/.two.txt", "logs/sub9/"}},
      {.name = "DuplicatesFirstWins",
       .main = "{D}/logs/b.log {\n}\n"
               "{D}/logs/*.log {D}/logs/z.log {\n  weekly\n}\n"
               "{D}/logs/c.log {D}/logs/c.log {D}/logs/d.log {\n  monthly\n}\n"
               "{D}/logs/missing.log {\n  missingok\n}\n"
               "{D}/logs/missing.log {\n  missingok\n}\n"
               "{D}/logs/e.log {\n}\n",
       .logs = {"logs/a.log", "logs/b.log", "logs/c.log", "logs/d.log", "logs/e.log",
                "logs/z.log"}},
      {.name = "QuotedNames",
       .main = "\"{D}/logs/with space.log\" '{D}/logs/single.log' {D}/logs/esc\\ aped.log {\n"
               "  daily\n}\n"
               "'{D}/logs/dq\"inside.log' \"{D}/logs/back\\slash.log\" {\n}\n"
               "{D}/logs/glued.log\"{D}/logs/x\" {\n  missingok\n}\n",
       .logs = {"logs/with space.log", "logs/single.log", "logs/esc aped.log",
                "logs/dq\"inside.log", "logs/backslash.log", "logs/glued.log"}},
      {.name = "MissingFilesWithAndWithoutMissingok",
       .main = "{D}/logs/gone.log {D}/logs/here.log {\n  missingok\n}\n"
               "{D}/logs/gone2.log {D}/logs/here2.log {\n}\n"
               "{D}/nodir/*.log {D}/logs/*.none {\n  missingok\n}\n"
               "{D}/logs/o*.log {\n}\n",
       .logs = {"logs/here.log", "logs/here2.log", "logs/other.log"}},
      {.name = "ScriptsWithBraces",
       .main = "{D}/logs/a.log {\n"
               "  postrotate\n"
               "    if [ -f /run/x.pid ]; then { kill -HUP $(cat /run/x.pid); }; fi\n"
               "    {D}/logs/fake.log {\n"
               "      rotate 99\n"
               "    }\n"
               "    echo endscript\n"
               "  endscript\n"
               "  rotate 3\n"
               "}\n"
               "{D}/logs/b.log {\n"
               "  prerotate\n    echo }\n  endscript\n"
               "  firstaction\n  endscript\n"
               "  lastaction\n    echo '{'\n  endscript\n"
               "  preremove\n    rm -f \"$1\"\n  endscript\n"
               "  weekly\n"
               "}\n",
       .logs = {"logs/a.log", "logs/b.log", "logs/fake.log"}},
      {.name = "BraceOnNextLineAndComments",
       .main = "# a comment\n"
               "   # an indented comment\n"
               "{D}/logs/a.log\n"
               "# a comment between the names and the brace {\n"
               "  {D}/logs/b.log\n"
               "{\n"
               "  rotate=5\n"
               "  daily\n"
               "}\n"
               "{D}/logs/c.log{ missingok }\n"
               "{D}/logs/d.log { daily }   \n",
       .logs = {"logs/a.log", "logs/b.log", "logs/c.log", "logs/d.log"}},
      {.name = "ErrorRecovery",
       .main = "{D}/logs/a.log {\n  rotate abc\n}\n"
               "{D}/logs/b.log {\n  frobnicate now\n  rotate 3\n}\n"
               "{D}/logs/c.log {\n  size 10X\n  }\n"
               "{D}/logs/d.log {\n}\n"
               "{D}/logs/e.log {\n  missingok}\n"
               "{D}/logs/f.log {\n}\n"
               "{D}/logs/g.log {\n  tabooext + .x\n}\n"
               "{D}/logs/h.log {\n  {D}/logs/i.log\n}\n"
               "{D}/logs/j.log {\n  su root\n}\n"
               "{D}/logs/k.log {\n}\n",
       .logs = {"logs/a.log", "logs/b.log", "logs/c.log", "logs/d.log", "logs/e.log", "logs/f.log",
                "logs/g.log", "logs/h.log", "logs/i.log", "logs/j.log", "logs/k.log"}},
      {.name = "FatalErrorsInIncludedFiles",
       .main = "include {D}/conf.d\n{D}/logs/main.log {\n}\n",
       .files = {{"conf.d/a", "{D}/logs/a.log {\n}\n}\n{D}/logs/a2.log {\n}\n"},
                 {"conf.d/b", "{D}/logs/b.log { weekly 9 }\n{D}/logs/b2.log {\n}\n"},
                 {"conf.d/c", "{D}/logs/c.log {\n}\nrotate\n{D}/logs/c2.log {\n}\n"},
                 {"conf.d/d", "{D}/logs/d.log {\n  postrotate\n    echo\n"},
                 {"conf.d/e", "{D}/logs/e.log {\n}\n{D}/logs/e2.log\n"}},
       .logs = {"logs/main.log", "logs/a.log", "logs/a2.log", "logs/b.log", "logs/b2.log",
                "logs/c.log", "logs/c2.log", "logs/d.log", "logs/e.log", "logs/e2.log"}},
      {.name = "IncludedErrorRestoresGlobals",
       .main = "include {D}/conf.d\n{D}/logs/main.log {\n}\n",
       .files = {{"conf.d/a", "daily\nrotate 9\n{D}/logs/a.log {\n  rotate x\n}\n"},
                 {"conf.d/b", "{D}/logs/b.log {\n}\nmonthly\nrotate 2\n"},
                 {"conf.d/c", "size 20k\n{D}/logs/c.log {\n  maxsize 5M\n}\n"},
                 {"conf.d/d", "{D}/logs/d.log {\n}\n"}},
       .logs = {"logs/main.log", "logs/a.log", "logs/b.log", "logs/c.log", "logs/d.log"}},
      {.name = "TabooextAndTaboopat",
       .main = "tabooext + .conf\ntaboopat + skip-*\ninclude {D}/conf.d\n"
               "tabooext .only\ninclude {D}/conf2.d\n",
       .files = {{"conf.d/a.conf", "{D}/logs/a.log {\n}\n"},
                 {"conf.d/skip-me", "{D}/logs/b.log {\n}\n"},
                 {"conf.d/keep", "{D}/logs/c.log {\n}\n"},
                 {"conf2.d/x.only", "{D}/logs/d.log {\n}\n"},
                 {"conf2.d/x.dpkg-old", "{D}/logs/e.log {\n}\n"}},
       .logs = {"logs/a.log", "logs/b.log", "logs/c.log", "logs/d.log", "logs/e.log"}},
      {.name = "RelativeIncludes",
       .main = "include {D}/conf.d\ninclude {R}/top.conf\n",
       .files = {{"conf.d/first", "include second.disabled\ninclude sub\n"},
                 {"conf.d/second.disabled", "{D}/logs/second.log {\n}\n"},
                 {"conf.d/sub/inner", "{D}/logs/inner.log {\n}\n"},
                 {"top.conf", "{D}/logs/top.log {\n}\n"}},
       .logs = {"logs/second.log", "logs/inner.log", "logs/top.log"}},
      {.name = "WritableFilesDirectoriesAndLinks",
       .main = "include {D}/conf.d\ninclude {D}/writable.conf\n{D}/logs/main.log {\n}\n",
       .files = {{"conf.d/a", "{D}/logs/a.log {\n}\n"},
                 {"conf.d/b-group-writable", "{D}/logs/b.log {\n}\n"},
                 {"conf.d/c-empty", ""},
                 {"conf.d/d-dir/inner", "{D}/logs/d.log {\n}\n"},
                 {"real-e", "{D}/logs/e.log {\n}\n"},
                 {"writable.conf", "{D}/logs/w.log {\n}\n"}},
       .logs = {"logs/main.log", "logs/a.log", "logs/b.log", "logs/d.log", "logs/e.log",
                "logs/w.log", "conf.d/e-link -> {D}/real-e"},
       .modes = {{"conf.d/b-group-writable", 0664}, {"writable.conf", 0646}}},
      {.name = "SizesAndCriteria",
       .main = "size 100\n"
               "{D}/logs/a.log {\n  size 100k\n  maxsize 10M\n  minsize 1G\n}\n"
               "{D}/logs/b.log {\n  weekly\n  size=0x10\n}\n"
               "{D}/logs/c.log {\n  size 10k\n  hourly\n  rotate 010\n}\n"
               "{D}/logs/d.log {\n  yearly\n  weekly 7\n  rotate 0x3\n}\n"
               "{D}/logs/e.log {\n  size 2G\n  rotate 0\n}\n"
               "{D}/logs/f.log {\n  daily\n  size 3K\n  maxsize 1G\n}\n"
               "{D}/logs/g.log {\n  monthly\n  rotate -1\n}\n",
       .logs = {"logs/a.log", "logs/b.log", "logs/c.log", "logs/d.log", "logs/e.log", "logs/f.log",
                "logs/g.log"}},
      {.name = "IgnoreDuplicates",
       .main = "{D}/logs/b.log {\n}\n"
               "{D}/logs/*.log {\n  ignoreduplicates\n}\n"
               "{D}/logs/a.log {D}/logs/c.log {\n}\n"
               "ignoreduplicates\n"
               "{D}/logs/d.log {\n}\n"
               "{D}/logs/*.log {D}/logs/a.log {\n}\n"
               "{D}/logs/d.log {D}/logs/e.log {\n}\n",
       .logs = {"logs/a.log", "logs/b.log", "logs/c.log", "logs/d.log", "logs/e.log"}},
      {.name = "NoCheckLiteralsLinksAndDirectories",
       .main = "{D}/logs/[x].log {D}/logs/\\[y].log {D}/logs/q\\\\w.log {\n}\n"
               "{D}/logs/[a-z]* {\n}\n",
       .logs = {"logs/[x].log", "logs/[y].log", "logs/q\\w.log", "logs/dir.log/",
                "logs/link.log -> {D}/logs/[y].log", "logs/dangling.log -> {D}/nowhere",
                "logs/plain"}},
      {.name = "CreateAndSuNames",
       .main = "su root root\n"
               "{D}/logs/a.log {\n  create 0640 root adm\n  su root adm\n}\n"
               "{D}/logs/b.log {\n  create 0640 preflight-no-such-user adm\n}\n"
               "{D}/logs/c.log {\n  create 0\n  su 0 0\n}\n"
               "{D}/logs/d.log {\n  create 0640 root adm extra\n}\n"
               "{D}/logs/e.log {\n  create root adm\n  su 999999 root\n}\n"
               "{D}/logs/f.log {\n  create\n}\n",
       .logs = {"logs/a.log", "logs/b.log", "logs/c.log", "logs/d.log", "logs/e.log",
                "logs/f.log"}},
  };
  return kCases;
}

INSTANTIATE_TEST_SUITE_P(Generated, LogrotateOracleTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<LrCase>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace preflight::agent
