// Tests for proto/flags: parsing against a declared table, its errors, and
// the help generated from the table.
#include "proto/wire/flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
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
                        .unless = "revoke"},
                       {.name = "expires",
                        .kind = Kind::kDuration,
                        .value_name = "DURATION",
                        .help = "when it ends"},
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

std::string ErrorOf(const Program& program, std::vector<std::string> args) {
  absl::StatusOr<Parsed> p = ParseWith(program, std::move(args));
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
            "unknown command 'stauts' (status, host, attest, diff, refresh); did you mean "
            "status?");
  EXPECT_EQ(ErrorOf(Ctl(), {"frobnicate"}),
            "unknown command 'frobnicate' (status, host, attest, diff, refresh)");
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
            "--expires needs a duration such as 30d, 12h or 3600, not 'soon'");
  EXPECT_THAT(ErrorOf(Ctl(), {"diff", "h", "--from", "yesterday"}),
              HasSubstr("--from needs a TIME"));
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
  EXPECT_EQ(ErrorOf(Agent(), {"--once", "--dry-run"}), "--once and --dry-run exclude each other");
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
                          "[options] attest CHECK --env ENV --revoke [--expires DURATION]"));
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
                              "  attest CHECK --env ENV --revoke [--expires DURATION]\n"
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
      "       ctl [options] attest CHECK --env ENV --revoke [--expires DURATION]\n\n"
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
