// Command-line flags, declared once per program and per subcommand in a table
// (Program, Command, Flag) and parsed by the one parser below. The --help of
// a program and of each of its commands is generated from the same table, so
// a flag cannot be parsed one way and documented another.
//
// Not absl/flags: in Abseil 20220623 it has no per-subcommand flags, and a bad
// flag exits with its own status, where every preflight program promises
// 0 ok, 1 not ready / not delivered, 2 usage or config error, 3 unreachable.
//
// Syntax: `--name VALUE` or `--name=VALUE`; a boolean flag takes no value;
// `-h` is `--help`; `--` ends the options. A program with commands also has the
// command `help [COMMAND]`, the same as `--help` and `COMMAND --help`. A program with commands
// takes its own flags anywhere, and a command's flags anywhere once the command is known (or before
// it, as long as the command turns out to have them). The last of a repeated flag wins. A flag not
// given takes its value from its environment variable, then from its fallback.
#ifndef PREFLIGHT_PROTO_WIRE_FLAGS_H_
#define PREFLIGHT_PROTO_WIRE_FLAGS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace preflight::flags {

enum class Kind {
  kBool,      // given or not; takes no value
  kString,    // any text
  kInt,       // a whole number, at least Flag::min
  kDuration,  // 90s, 30m, 12h, 30d, or seconds; more than zero, at most 100 years
  kTime,      // 2026-11-26 (UTC), RFC 3339, or a kDuration meaning that long ago
};

struct Flag {
  absl::string_view name;  // without the dashes: "config"
  Kind kind = Kind::kString;
  absl::string_view value_name = {};  // what the value is, in help: "FILE" (not for kBool)
  absl::string_view help = {};        // what it does; Help() wraps it
  absl::string_view env = {};         // environment variable read when the flag is not given
  absl::string_view fallback = {};    // the value when neither is given, as text: "10"
  int64_t min = 0;                    // kInt: the smallest value accepted
  bool required = false;              // a usage error when missing
  absl::string_view unless = {};      // required, except when this boolean flag is given
  absl::string_view excludes = {};    // a flag that cannot be given with this one (any kind)
  absl::string_view group = {};       // heading in help; flags without one come first
  absl::string_view choices = {};     // the values shell completion offers: "table json"
};

struct Command {
  absl::string_view name;       // "attest"
  absl::string_view args = {};  // the positional arguments, in help: "CHECK", "[HOST]"
  int min_args = 0;             // how many positional arguments it takes
  int max_args = 0;
  absl::string_view summary = {};  // one line in the program's command list
  absl::string_view details = {};  // more, for COMMAND --help
  std::vector<Flag> flags = {};    // its own flags, besides the program's
};

struct Program {
  absl::string_view name;              // "preflightctl"
  absl::string_view summary = {};      // the paragraph after the usage lines
  std::vector<Flag> flags = {};        // the program's own; --help and --version are implied
  std::vector<Command> commands = {};  // empty for a program without commands
  absl::string_view notes = {};        // after the options: behaviour, exit codes
};

// The outcome of a parse: what to do, the command, and every declared flag of
// the program and the command with its value.
class Parsed {
 public:
  // kCompletion: --completion=bash; kMan: --man (both hidden: for packaging).
  enum class Action { kRun, kHelp, kVersion, kCompletion, kMan };

  Action action() const { return action_; }
  // The command (nullptr for a program without commands, or --help before a
  // command was named).
  const Command* command() const { return command_; }
  // Positional arguments after the command.
  const std::vector<std::string>& args() const { return args_; }

  // Asking for a flag that is not declared for the program or the command, or
  // with the accessor of another kind, is a bug: it aborts, naming the flag.
  // Given, or set from its environment variable or fallback.
  bool Has(absl::string_view name) const;
  bool Bool(absl::string_view name) const;
  // The text as given (any kind); "" when absent.
  const std::string& String(absl::string_view name) const;
  int64_t Int(absl::string_view name) const;              // 0 when absent
  absl::Duration Duration(absl::string_view name) const;  // zero when absent
  absl::Time Time(absl::string_view name) const;          // InfinitePast when absent
  // Where the value came from, for messages: "--timeout", "PREFLIGHT_CA".
  std::string Source(absl::string_view name) const;

 private:
  friend class Parser;
  struct Value {
    const Flag* flag = nullptr;
    bool present = false;
    bool given = false;  // on the command line (not from env or fallback)
    std::string text;
    int64_t number = 0;  // kInt; kDuration in seconds
    absl::Time time = absl::InfinitePast();
    std::string source;
  };
  const Value& Get(absl::string_view name, std::optional<Kind> kind) const;

  Action action_ = Action::kRun;
  const Command* command_ = nullptr;
  std::vector<std::string> args_;
  std::map<std::string, Value, std::less<>> values_;
};

// What a parse may look at besides the arguments.
struct Environment {
  // An environment variable's value; nullopt (or empty) when unset.
  std::function<std::optional<std::string>(absl::string_view)> getenv;
  // kTime values given as a duration count back from here.
  absl::Time now;
};
// The process's environment and clock.
Environment ProcessEnvironment();

// Parses `args` (argv without argv[0]). A usage error is INVALID_ARGUMENT
// with the message to show; a table that contradicts itself is INTERNAL.
absl::StatusOr<Parsed> Parse(const Program& program, const std::vector<std::string>& args,
                             const Environment& env);

// For main(): parses argv against the process environment. Prints --help or
// --version on stdout and returns 0, prints a usage error on stderr and
// returns 2 (a broken table aborts); returns nullopt when the program should
// run with *parsed. The hidden --completion=bash and --man[=SECTION] print
// BashCompletion() and ManPage() (section 1 unless given), for the build.
std::optional<int> ParseOrExit(const Program& program, int argc, char** argv, Parsed* parsed);

// Prints "<program>: <message>" and where to find help on stderr; returns 2.
int UsageError(const Program& program, absl::string_view message, const Command* command = nullptr);

// The --help text of the program, and of one of its commands.
std::string Help(const Program& program);
std::string Help(const Program& program, const Command& command);
// The synopsis lines, without "usage: ": one, or two when some flag is
// required `unless` a switch ("attest CHECK --env ENV --note TEXT ..." and
// "attest CHECK --env ENV --revoke ...").
std::vector<std::string> Synopsis(const Program& program, const Command* command);

// A bash completion script for the program, from the same table as --help:
// commands (and `help`), each command's flags and the program's, a flag's
// `choices` as its values, files for FILE and DIR values. It defines
// _<program> and registers it with `complete -F`.
std::string BashCompletion(const Program& program);
// A man page (roff, -man macros) from the same table: NAME, SYNOPSIS,
// DESCRIPTION, COMMANDS with each command's options, OPTIONS, NOTES.
// `section` is "1" or "8"; `date` as YYYY-MM-DD.
std::string ManPage(const Program& program, absl::string_view section, absl::string_view version,
                    absl::string_view date);

// Checks a table: names unique within a program and each command, `unless`
// naming a boolean flag in scope and `excludes` another flag in scope, one kind per name across
// commands, fallbacks of their flag's kind, sane argument counts.
absl::Status Validate(const Program& program);

// The value syntaxes of kDuration and kTime. A bad value is
// INVALID_ARGUMENT saying what is wrong with it: negative, zero, more than 100
// years, not a unit; for a date the part that does not exist ("there is no
// month 13", "2026-02 has no day 30"), a missing zone.
absl::StatusOr<int64_t> CheckDuration(absl::string_view text);
absl::StatusOr<absl::Time> CheckTime(absl::string_view text, absl::Time now);
// The same, nullopt for a bad value.
std::optional<int64_t> ParseDurationSeconds(absl::string_view text);
std::optional<absl::Time> ParseTime(absl::string_view text, absl::Time now);

// The declared name closest to `typed` (a likely typo or unique prefix), or
// "" when none is close.
absl::string_view Closest(absl::string_view typed, const std::vector<absl::string_view>& names);

}  // namespace preflight::flags

#endif  // PREFLIGHT_PROTO_WIRE_FLAGS_H_
