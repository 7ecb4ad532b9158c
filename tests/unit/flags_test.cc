// Tests for proto/flags: parsing against a declared table, its errors, and
// the help generated from the table.
#include "proto/wire/flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace preflight::flags {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// A program shaped like preflightctl.
const Program& Ctl() {
  static const Program* program = new Program{
      .name = "ctl",
      .summary = "Asks the collector.",
      .flags =
          {
              {.name = "collector",
               .value_name = "HOST:PORT",
               .help = "the collector's address",
               .env = "CTL_COLLECTOR",
               .fallback = "localhost:7443"},
              {.name = "timeout",
               .kind = Kind::kInt,
               .value_name = "SECONDS",
               .help = "per request",
               .fallback = "10",
               .min = 1},
              {.name = "format", .value_name = "FORMAT", .help = "table or json"},
          },
      .commands =
          {
              {.name = "status", .summary = "fleet verdict"},
              {.name = "host", .args = "HOST", .min_args = 1, .max_args = 1, .summary = "one host"},
              {.name = "attest",
               .args = "CHECK",
               .min_args = 1,
               .max_args = 1,
               .summary = "sign off a manual item",
               .details = "Operators only.",
               .flags =
                   {
                       {.name = "env",
                        .value_name = "ENV",
                        .help = "the environment",
                        .required = true},
                       {.name = "note",
                        .value_name = "TEXT",
                        .help = "what was checked",
                        .unless = "revoke",
                        .excludes = "revoke"},
                       {.name = "expires",
                        .kind = Kind::kDuration,
                        .value_name = "DURATION",
                        .help = "when it ends",
                        .env = "CTL_EXPIRES",
                        .excludes = "revoke"},
                       {.name = "revoke", .kind = Kind::kBool, .help = "withdraw it"},
                   }},
              {.name = "diff",
               .args = "HOST",
               .min_args = 1,
               .max_args = 1,
               .summary = "what changed",
               .flags = {{.name = "from",
                          .kind = Kind::kTime,
                          .value_name = "TIME",
                          .help = "since when"}}},
              {.name = "refresh",
               .args = "[HOST]",
               .max_args = 1,
               .summary = "collect now",
               .flags = {{.name = "wait", .kind = Kind::kBool, .help = "wait for it"},
                         {.name = "wait-timeout",
                          .kind = Kind::kInt,
                          .value_name = "SECONDS",
                          .help = "how long",
                          .fallback = "120",
                          .min = 1}}},
          },
      .notes = "exit codes: 0 ok, 2 usage"};
  return *program;
}

// A program without commands, shaped like preflight-agent.
const Program& Agent() {
  static const Program* program = new Program{
      .name = "agent",
      .summary = "Gathers facts.",
      .flags =
          {
              {.name = "config",
               .value_name = "FILE",
               .help = "configuration",
               .unless = "dry-run"},
              {.name = "once", .kind = Kind::kBool, .help = "once", .excludes = "dry-run"},
              {.name = "dry-run", .kind = Kind::kBool, .help = "print, send nothing"},
              {.name = "root", .value_name = "DIR", .help = "read the host from DIR"},
              {.name = "hold-ms",
               .kind = Kind::kInt,
               .value_name = "N",
               .help = "wait N ms",
               .group = "testing only"},
          },
      .notes = "exit codes: 0 ok"};
  return *program;
}

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

absl::StatusOr<Parsed> ParseWith(const Program& program, std::vector<std::string> args,
                                 std::map<std::string, std::string> env = {}) {
  Environment e;
  e.getenv = [env](absl::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  e.now = kNow;
  return Parse(program, args, e);
}

std::string ErrorOf(const Program& program, std::vector<std::string> args,
                    std::map<std::string, std::string> env = {}) {
  absl::StatusOr<Parsed> p = ParseWith(program, std::move(args), std::move(env));
  EXPECT_FALSE(p.ok());
  if (p.ok()) return "";
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << p.status();
  return std::string(p.status().message());
}

TEST(FlagsTest, TheTestTablesAreValid) {
  EXPECT_TRUE(Validate(Ctl()).ok()) << Validate(Ctl());
  EXPECT_TRUE(Validate(Agent()).ok()) << Validate(Agent());
}

TEST(FlagsTest, CommandArgumentsAndFlagsAnywhere) {
  auto p = ParseWith(Ctl(), {"--format", "json", "attest", "smtp.tested", "--env=production",
                             "--note", "mail arrived", "--expires", "30d", "--timeout", "5"});
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_NE(p->command(), nullptr);
  EXPECT_EQ(p->command()->name, "attest");
  EXPECT_THAT(p->args(), ElementsAre("smtp.tested"));
  EXPECT_EQ(p->String("format"), "json");
  EXPECT_EQ(p->String("env"), "production");
  EXPECT_EQ(p->String("note"), "mail arrived");
  EXPECT_EQ(p->Duration("expires"), absl::Hours(24 * 30));
  EXPECT_EQ(p->Int("timeout"), 5);
  EXPECT_FALSE(p->Bool("revoke"));
  EXPECT_EQ(p->Source("timeout"), "--timeout");
}

TEST(FlagsTest, ACommandsFlagMayComeBeforeTheCommand) {
  auto p = ParseWith(Ctl(), {"--env", "staging", "attest", "x", "--revoke"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->String("env"), "staging");
  EXPECT_TRUE(p->Bool("revoke"));
  // ... but only when that command has it.
  EXPECT_EQ(ErrorOf(Ctl(), {"--env", "staging", "status"}),
            "unknown option --env for 'status' (an option of attest)");
}

TEST(FlagsTest, TheLastOfARepeatedFlagWins) {
  auto p = ParseWith(Ctl(), {"status", "--format", "table", "--format=json"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->String("format"), "json");
}

TEST(FlagsTest, EnvironmentThenFallback) {
  auto p = ParseWith(Ctl(), {"status"}, {{"CTL_COLLECTOR", "c.example:1"}});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->String("collector"), "c.example:1");
  EXPECT_EQ(p->Source("collector"), "CTL_COLLECTOR");
  EXPECT_EQ(p->Int("timeout"), 10);
  EXPECT_TRUE(p->Has("timeout"));
  EXPECT_FALSE(p->Has("format"));
  EXPECT_EQ(p->String("format"), "");
  // The command line beats the environment; an empty variable is unset.
  p = ParseWith(Ctl(), {"status", "--collector", "x:2"}, {{"CTL_COLLECTOR", "c.example:1"}});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->String("collector"), "x:2");
  p = ParseWith(Ctl(), {"status"}, {{"CTL_COLLECTOR", ""}});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->String("collector"), "localhost:7443");
}

TEST(FlagsTest, UnknownOptionsSuggestTheNearestOne) {
  EXPECT_EQ(ErrorOf(Ctl(), {"status", "--fromat", "json"}),
            "unknown option --fromat for 'status'; did you mean --format?");
  EXPECT_EQ(ErrorOf(Ctl(), {"refresh", "--wait-t", "3"}),
            "unknown option --wait-t for 'refresh'; did you mean --wait-timeout?");
  EXPECT_EQ(ErrorOf(Ctl(), {"status", "--bogus"}), "unknown option --bogus for 'status'");
  EXPECT_EQ(ErrorOf(Ctl(), {"diff", "h", "--note", "x"}),
            "unknown option --note for 'diff' (an option of attest)");
  EXPECT_EQ(ErrorOf(Agent(), {"--onc"}), "unknown option --onc; did you mean --once?");
  EXPECT_EQ(ErrorOf(Agent(), {"-x"}), "unknown option -x");
}

TEST(FlagsTest, UnknownCommands) {
  EXPECT_EQ(ErrorOf(Ctl(), {"stauts"}),
            "unknown command 'stauts' (status, host, attest, diff, refresh, help); did you mean "
            "status?");
  EXPECT_EQ(ErrorOf(Ctl(), {"frobnicate"}),
            "unknown command 'frobnicate' (status, host, attest, diff, refresh, help)");
  EXPECT_EQ(ErrorOf(Ctl(), {"hlep"}),
            "unknown command 'hlep' (status, host, attest, diff, refresh, help); did you mean "
            "help?");
  EXPECT_EQ(ErrorOf(Ctl(), {}),
            "a command is needed: status, host HOST, attest CHECK, diff HOST, refresh");
  EXPECT_EQ(ErrorOf(Ctl(), {"--format", "json"}),
            "a command is needed: status, host HOST, attest CHECK, diff HOST, refresh");
}

TEST(FlagsTest, BadValues) {
  EXPECT_EQ(ErrorOf(Ctl(), {"status", "--timeout", "0"}),
            "--timeout SECONDS must be a positive whole number, not '0'");
  EXPECT_EQ(ErrorOf(Ctl(), {"status", "--timeout"}), "--timeout needs a value (SECONDS)");
  EXPECT_EQ(ErrorOf(Ctl(), {"attest", "x", "--env", "p", "--note", "n", "--expires", "soon"}),
            "--expires 'soon': not a number followed by s, m, h or d (a DURATION is 90s, 30m, "
            "12h, 30d or seconds)");
  EXPECT_THAT(ErrorOf(Ctl(), {"diff", "h", "--from", "yesterday"}),
              HasSubstr("--from 'yesterday': neither a date nor a duration (a TIME is "));
  EXPECT_EQ(ErrorOf(Ctl(), {"attest", "x", "--env", "p", "--revoke=yes"}),
            "--revoke takes no value");
  EXPECT_EQ(ErrorOf(Agent(), {"--hold-ms", "-1"}),
            "--hold-ms N must be a whole number, 0 or more, not '-1'");
}

TEST(FlagsTest, AValueMayStartWithADash) {
  auto p = ParseWith(Ctl(), {"attest", "x", "--env", "p", "--note", "--revoke"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->String("note"), "--revoke");
  EXPECT_FALSE(p->Bool("revoke"));
}

TEST(FlagsTest, RequiredUnlessAndExcludes) {
  EXPECT_EQ(ErrorOf(Ctl(), {"attest", "x", "--note", "n"}), "attest needs --env ENV");
  EXPECT_EQ(ErrorOf(Ctl(), {"attest", "x", "--env", "p"}),
            "attest needs --note TEXT, unless --revoke");
  EXPECT_TRUE(ParseWith(Ctl(), {"attest", "x", "--env", "p", "--revoke"}).ok());
  EXPECT_EQ(ErrorOf(Agent(), {}), "--config FILE is required, unless --dry-run");
  EXPECT_TRUE(ParseWith(Agent(), {"--dry-run"}).ok());
  EXPECT_EQ(ErrorOf(Agent(), {"--once", "--dry-run"}),
            "--once and --dry-run cannot be given together");
}

TEST(FlagsTest, ConflictingFlagsAreNamedBoth) {
  EXPECT_EQ(ErrorOf(Ctl(), {"attest", "x", "--env", "p", "--expires", "30d", "--revoke"}),
            "--expires and --revoke cannot be given together");
  EXPECT_EQ(ErrorOf(Ctl(), {"attest", "x", "--revoke", "--env", "p", "--note", "n"}),
            "--note and --revoke cannot be given together");
  // Before the command, as anywhere.
  EXPECT_EQ(ErrorOf(Ctl(), {"--revoke", "--expires=1d", "attest", "x", "--env", "p"}),
            "--expires and --revoke cannot be given together");
  // A value from the environment gives way to the flag it excludes.
  auto p = ParseWith(Ctl(), {"attest", "x", "--env", "p", "--revoke"}, {{"CTL_EXPIRES", "7d"}});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->Bool("revoke"));
  // A table may say that any two flags exclude each other.
  Program two = {.name = "p",
                 .flags = {{.name = "a", .value_name = "A", .excludes = "b"},
                           {.name = "b", .kind = Kind::kInt, .value_name = "B"}}};
  EXPECT_TRUE(Validate(two).ok());
  EXPECT_EQ(ErrorOf(two, {"--b", "1", "--a", "x"}), "--a and --b cannot be given together");
  EXPECT_TRUE(ParseWith(two, {"--b", "1"}).ok());
  Program self = {.name = "p", .flags = {{.name = "a", .value_name = "A", .excludes = "a"}}};
  EXPECT_THAT(std::string(Validate(self).message()), HasSubstr("not another flag in scope"));
  Program none = {.name = "p", .flags = {{.name = "a", .value_name = "A", .excludes = "z"}}};
  EXPECT_THAT(std::string(Validate(none).message()), HasSubstr("--z is not another flag"));
}

TEST(FlagsTest, HelpIsACommandToo) {
  auto p = ParseWith(Ctl(), {"help"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->action(), Parsed::Action::kHelp);
  EXPECT_EQ(p->command(), nullptr);
  // help COMMAND: that command's help, whatever it would need to run.
  p = ParseWith(Ctl(), {"help", "attest"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->action(), Parsed::Action::kHelp);
  ASSERT_NE(p->command(), nullptr);
  EXPECT_EQ(p->command()->name, "attest");
  p = ParseWith(Ctl(), {"--format", "json", "help", "diff"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->command()->name, "diff");
  EXPECT_EQ(ErrorOf(Ctl(), {"help", "atest"}),
            "unknown command 'atest' (status, host, attest, diff, refresh); did you mean attest?");
  EXPECT_EQ(ErrorOf(Ctl(), {"help", "attest", "status"}), "help takes one command, not 'status'");
  // The program's help lists it; a program without commands has none.
  EXPECT_THAT(Help(Ctl()),
              HasSubstr("\n  help [COMMAND]\n                this text, or one command's"));
  EXPECT_EQ(ErrorOf(Agent(), {"help"}), "unexpected argument 'help'");
}

TEST(FlagsTest, CompletionAndManPageComeFromTheTable) {
  const std::string bash = BashCompletion(Ctl());
  EXPECT_THAT(bash, HasSubstr("complete -F _ctl ctl\n"));
  const std::string man = ManPage(Ctl(), "1", "9.9", "2026-11-26");
  EXPECT_TRUE(absl::StartsWith(man, ".\\\" Generated")) << man;
  EXPECT_THAT(man, HasSubstr(".TH CTL 1 2026-11-26 \"ctl 9.9\""));
  // Every command and every flag of the table, in both.
  for (const Command& c : Ctl().commands) {
    EXPECT_THAT(bash, HasSubstr(absl::StrCat("    ", c.name, ") w=\""))) << c.name;
    EXPECT_THAT(man, HasSubstr(absl::StrCat("\\fB", c.name, "\\fR"))) << c.name;
    for (const Flag& f : c.flags) {
      EXPECT_THAT(bash, HasSubstr(absl::StrCat("--", f.name))) << f.name;
      EXPECT_THAT(man, HasSubstr(absl::StrCat("\\fB\\-\\-",
                                              absl::StrReplaceAll(f.name, {{"-", "\\-"}}), "\\fR")))
          << f.name;
    }
  }
  for (const Flag& f : Ctl().flags) {
    EXPECT_THAT(man, HasSubstr(absl::StrCat("\\fB\\-\\-", f.name, "\\fR"))) << f.name;
  }
  // Hidden flags print them; they are in no help.
  auto p = ParseWith(Ctl(), {"--completion=bash"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->action(), Parsed::Action::kCompletion);
  p = ParseWith(Ctl(), {"--man=8"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->action(), Parsed::Action::kMan);
  EXPECT_EQ(p->args()[0], "8");
  EXPECT_EQ(ErrorOf(Ctl(), {"--completion=zsh"}), "--completion: only bash, not 'zsh'");
  EXPECT_THAT(Help(Ctl()), Not(HasSubstr("--man")));
  EXPECT_THAT(Help(Ctl()), Not(HasSubstr("--completion")));
}

TEST(FlagsTest, BadDurationsSayWhatIsWrong) {
  auto message = [](absl::string_view text) {
    return std::string(CheckDuration(text).status().message());
  };
  EXPECT_EQ(message("-1d"), "a duration cannot be negative");
  EXPECT_EQ(message("-30"), "a duration cannot be negative");
  EXPECT_EQ(message("0"), "a duration must be more than zero");
  EXPECT_EQ(message("0d"), "a duration must be more than zero");
  EXPECT_EQ(message("36501d"), "too long: at most 100 years (36500d)");
  EXPECT_EQ(message("99999999999999999999999d"), "too long: at most 100 years (36500d)");
  EXPECT_EQ(message("1w"), "'w' is not a unit: s, m, h or d");
  EXPECT_EQ(message("d"), "a number is needed before 'd'");
  EXPECT_EQ(message("1.5h"), "not a whole number followed by s, m, h or d");
  EXPECT_EQ(message(""), "a duration is needed, not nothing");
  EXPECT_EQ(*CheckDuration("36500d"), 36500ll * 86400);
  // Through the parser, with the flag and the value.
  EXPECT_EQ(ErrorOf(Ctl(), {"attest", "x", "--env", "p", "--note", "n", "--expires", "-1d"}),
            "--expires '-1d': a duration cannot be negative (a DURATION is 90s, 30m, 12h, 30d or "
            "seconds)");
  EXPECT_THAT(ErrorOf(Ctl(), {"attest", "x", "--env", "p", "--note", "n", "--expires=0"}),
              HasSubstr("--expires '0': a duration must be more than zero"));
  EXPECT_THAT(ErrorOf(Ctl(), {"attest", "x", "--env", "p", "--note", "n"}, {{"CTL_EXPIRES", "5y"}}),
              HasSubstr("CTL_EXPIRES '5y': 'y' is not a unit"));
}

TEST(FlagsTest, BadDatesSayWhichPartIsWrong) {
  auto message = [](absl::string_view text) {
    return std::string(CheckTime(text, kNow).status().message());
  };
  EXPECT_EQ(message("2026-13-45"), "there is no month 13 (01 to 12)");
  EXPECT_EQ(message("2026-00-10"), "there is no month 0 (01 to 12)");
  EXPECT_EQ(message("2026-11-45"), "2026-11 has no day 45 (01 to 30)");
  EXPECT_EQ(message("2026-02-29"), "2026-02 has no day 29 (01 to 28)");
  EXPECT_TRUE(CheckTime("2028-02-29", kNow).ok());  // a leap year
  EXPECT_EQ(message("2026-11-5x"),
            "a date is YYYY-MM-DD, with two digits for the month and the day");
  EXPECT_EQ(message("2026-11-26T25:00:00Z"), "there is no hour 25 (00 to 23)");
  EXPECT_EQ(message("2026-11-26T10:61:00Z"), "there is no minute 61 (00 to 59)");
  EXPECT_EQ(message("2026-11-26T10:00"), "a time needs seconds: 2026-11-26T10:00:00Z");
  EXPECT_EQ(message("2026-11-26T10:00:00"),
            "a time needs its zone: Z for UTC, or an offset such as +01:00");
  EXPECT_EQ(message("2026-11-26T10:00:00CET"),
            "'CET' is not a zone: Z for UTC, or an offset such as +01:00");
  EXPECT_EQ(message("-7d"), "a duration cannot be negative");
  EXPECT_EQ(message("0d"), "a duration must be more than zero");
  EXPECT_EQ(message("tomorrow"), "neither a date nor a duration");
  EXPECT_TRUE(CheckTime("2026-11-26T10:00:00+01:00", kNow).ok());
  EXPECT_TRUE(CheckTime("2026-11-26T10:00:00.5Z", kNow).ok());
  EXPECT_THAT(ErrorOf(Ctl(), {"diff", "h", "--from", "2026-13-45"}),
              HasSubstr("--from '2026-13-45': there is no month 13 (01 to 12) (a TIME is "));
}

TEST(FlagsTest, PositionalArguments) {
  EXPECT_EQ(ErrorOf(Ctl(), {"host"}), "usage: ctl [options] host HOST");
  EXPECT_EQ(ErrorOf(Ctl(), {"host", "a", "b"}), "usage: ctl [options] host HOST");
  EXPECT_EQ(ErrorOf(Ctl(), {"status", "now"}), "'status' takes no arguments, not 'now'");
  EXPECT_EQ(ErrorOf(Ctl(), {"refresh", "a", "b"}),
            "usage: ctl [options] refresh [HOST] [--wait] [--wait-timeout SECONDS]");
  EXPECT_EQ(ErrorOf(Agent(), {"--dry-run", "extra"}), "unexpected argument 'extra'");
  auto p = ParseWith(Ctl(), {"host", "--", "-odd"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->args(), ElementsAre("-odd"));
}

TEST(FlagsTest, TimesAndDurations) {
  EXPECT_EQ(ParseDurationSeconds("90s"), 90);
  EXPECT_EQ(ParseDurationSeconds("30m"), 1800);
  EXPECT_EQ(ParseDurationSeconds("12h"), 43200);
  EXPECT_EQ(ParseDurationSeconds("30d"), 2592000);
  EXPECT_EQ(ParseDurationSeconds("3600"), 3600);
  for (const char* bad : {"", "0", "0d", "d", "-1", "1w", "1.5h", "36500000d"}) {
    EXPECT_EQ(ParseDurationSeconds(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(ParseTime("2026-11-26", kNow),
            absl::FromCivil(absl::CivilDay(2026, 11, 26), absl::UTCTimeZone()));
  EXPECT_EQ(ParseTime("2026-11-26T10:00:00Z", kNow),
            absl::FromCivil(absl::CivilSecond(2026, 11, 26, 10, 0, 0), absl::UTCTimeZone()));
  EXPECT_EQ(ParseTime("2h", kNow), kNow - absl::Hours(2));
  EXPECT_EQ(ParseTime("last week", kNow), std::nullopt);
  auto p = ParseWith(Ctl(), {"diff", "h", "--from", "7d"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->Time("from"), kNow - absl::Hours(24 * 7));
}

TEST(FlagsTest, HelpAndVersionWinOverTheRest) {
  auto p = ParseWith(Ctl(), {"--help"});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->action(), Parsed::Action::kHelp);
  EXPECT_EQ(p->command(), nullptr);
  p = ParseWith(Ctl(), {"attest", "-h"});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->action(), Parsed::Action::kHelp);
  ASSERT_NE(p->command(), nullptr);
  EXPECT_EQ(p->command()->name, "attest");
  p = ParseWith(Agent(), {"--version"});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->action(), Parsed::Action::kVersion);
}

TEST(FlagsTest, SynopsisComesFromTheTable) {
  EXPECT_THAT(Synopsis(Agent(), nullptr),
              ElementsAre("--config FILE [--once] [--root DIR]", "--dry-run [--root DIR]"));
  const Command* attest = &Ctl().commands[2];
  EXPECT_THAT(Synopsis(Ctl(), attest),
              ElementsAre("[options] attest CHECK --env ENV --note TEXT [--expires DURATION]",
                          "[options] attest CHECK --env ENV --revoke"));
  EXPECT_THAT(Synopsis(Ctl(), nullptr), ElementsAre("[options] COMMAND [args]"));
}

TEST(FlagsTest, ProgramHelpListsCommandsAndEveryOption) {
  std::string help = Help(Ctl());
  EXPECT_TRUE(
      absl::StartsWith(help, "usage: ctl [options] COMMAND [args]\n\nAsks the collector.\n"))
      << help;
  EXPECT_THAT(help, HasSubstr("\n  status        fleet verdict\n"));
  EXPECT_THAT(help, HasSubstr("\n  host HOST     one host\n"));
  EXPECT_THAT(help, HasSubstr("\n  attest CHECK --env ENV --note TEXT [--expires DURATION]\n"
                              "  attest CHECK --env ENV --revoke\n"
                              "                sign off a manual item\n"));
  EXPECT_THAT(help, HasSubstr("\n  --collector HOST:PORT  the collector's address (default "
                              "localhost:7443; env\n                         CTL_COLLECTOR)\n"));
  EXPECT_THAT(help, HasSubstr("\n  --timeout SECONDS      per request (default 10)\n"));
  EXPECT_THAT(help, HasSubstr("\n  --version              print the version\n"));
  EXPECT_THAT(help, HasSubstr("\nDURATION: 90s, 30m, 12h, 30d (or seconds). TIME:"));
  EXPECT_TRUE(absl::EndsWith(help, "\n\nexit codes: 0 ok, 2 usage\n")) << help;
  for (absl::string_view line : absl::StrSplit(help, '\n')) {
    EXPECT_LE(line.size(), 80u) << line;
  }
}

TEST(FlagsTest, CommandHelpHasItsOwnOptionsAndTheProgramsOptions) {
  std::string help = Help(Ctl(), Ctl().commands[2]);
  EXPECT_TRUE(absl::StartsWith(
      help,
      "usage: ctl [options] attest CHECK --env ENV --note TEXT [--expires DURATION]\n"
      "       ctl [options] attest CHECK --env ENV --revoke\n\n"
      "sign off a manual item\n\nOperators only.\n"))
      << help;
  EXPECT_THAT(help, HasSubstr("\noptions of attest:\n  --env ENV              the environment\n"));
  EXPECT_THAT(help, HasSubstr("\noptions of ctl:\n  --collector HOST:PORT"));
  EXPECT_THAT(help, HasSubstr("DURATION: 90s"));
  EXPECT_THAT(help, Not(HasSubstr("TIME:")));
  EXPECT_THAT(help, Not(HasSubstr("--wait")));
}

TEST(FlagsTest, GroupsGetTheirOwnHeading) {
  std::string help = Help(Agent());
  EXPECT_TRUE(absl::StartsWith(help,
                               "usage: agent --config FILE [--once] [--root DIR]\n"
                               "       agent --dry-run [--root DIR]\n"))
      << help;
  EXPECT_THAT(help, HasSubstr("\noptions:\n  --config FILE"));
  // The help column fits the widest option (grouped ones aside).
  EXPECT_THAT(help, HasSubstr("\n  --help         this text\n"));
  EXPECT_THAT(help, HasSubstr("\ntesting only:\n  --hold-ms N    wait N ms\n"));
  EXPECT_THAT(help, Not(HasSubstr("DURATION")));
}

TEST(FlagsTest, ValidateNamesTheMistake) {
  Program dup = {.name = "p",
                 .flags = {{.name = "a", .value_name = "A"}, {.name = "a", .value_name = "A"}}};
  EXPECT_THAT(std::string(Validate(dup).message()), HasSubstr("p: --a: declared twice"));
  Program help = {.name = "p", .flags = {{.name = "help", .kind = Kind::kBool}}};
  EXPECT_THAT(std::string(Validate(help).message()), HasSubstr("declared twice"));
  Program no_value = {.name = "p", .flags = {{.name = "a"}}};
  EXPECT_THAT(std::string(Validate(no_value).message()), HasSubstr("a value name is needed"));
  Program unless = {.name = "p", .flags = {{.name = "a", .value_name = "A", .unless = "b"}}};
  EXPECT_THAT(std::string(Validate(unless).message()), HasSubstr("--b is not a boolean flag"));
  Program kinds = {
      .name = "p",
      .commands = {{.name = "x", .flags = {{.name = "n", .value_name = "N"}}},
                   {.name = "y", .flags = {{.name = "n", .kind = Kind::kInt, .value_name = "N"}}}}};
  EXPECT_THAT(std::string(Validate(kinds).message()), HasSubstr("with another kind"));
  Program shadow = {.name = "p",
                    .flags = {{.name = "n", .value_name = "N"}},
                    .commands = {{.name = "x", .flags = {{.name = "n", .value_name = "N"}}}}};
  EXPECT_THAT(std::string(Validate(shadow).message()), HasSubstr("p x: --n: declared twice"));
  Program fallback = {
      .name = "p",
      .flags = {{.name = "n", .kind = Kind::kInt, .value_name = "N", .fallback = "x"}}};
  EXPECT_THAT(std::string(Validate(fallback).message()), HasSubstr("fallback 'x'"));
  Program args = {.name = "p", .commands = {{.name = "x", .min_args = 1, .max_args = 1}}};
  EXPECT_THAT(std::string(Validate(args).message()), HasSubstr("argument counts"));
  // Parse refuses a broken table as INTERNAL, not as a usage error.
  EXPECT_EQ(ParseWith(dup, {}).status().code(), absl::StatusCode::kInternal);
}

TEST(FlagsTest, ClosestIsForTyposAndUniquePrefixes) {
  std::vector<absl::string_view> names = {"format", "from", "to", "wait", "wait-timeout"};
  EXPECT_EQ(Closest("fromat", names), "format");
  EXPECT_EQ(Closest("form", names), "format");  // a prefix first
  EXPECT_EQ(Closest("frmo", names), "from");
  EXPECT_EQ(Closest("wait-t", names), "wait-timeout");
  EXPECT_EQ(Closest("wai", names), "wait");
  EXPECT_EQ(Closest("bogus", names), "");
  EXPECT_EQ(Closest("", names), "");
}

}  // namespace
}  // namespace preflight::flags
