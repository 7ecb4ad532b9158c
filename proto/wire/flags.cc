#include "proto/wire/flags.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "proto/version.h"
#include "proto/wire/did_you_mean.h"

namespace preflight::flags {
namespace {

constexpr size_t kWidth = 80;          // help is wrapped to this many columns
constexpr size_t kOptionColumn = 25;   // where option help starts, at most
constexpr size_t kCommandColumn = 16;  // where a command's summary starts

const Flag kHelpFlag = {.name = "help", .kind = Kind::kBool, .help = "this text"};
const Flag kCommandHelpFlag = {.name = "help",
                               .kind = Kind::kBool,
                               .help = "this text; COMMAND --help: one command's options"};
const Flag kVersionFlag = {.name = "version", .kind = Kind::kBool, .help = "print the version"};
// Hidden: what the build runs to make the completion script and the man page.
const Flag kCompletionFlag = {.name = "completion", .value_name = "SHELL"};
const Flag kManFlag = {.name = "man", .value_name = "SECTION"};

std::string Dashed(absl::string_view name) { return absl::StrCat("--", name); }

// "--config FILE", "--once".
std::string Spec(const Flag& flag) {
  return flag.kind == Kind::kBool ? Dashed(flag.name)
                                  : absl::StrCat(Dashed(flag.name), " ", flag.value_name);
}

const Flag* Find(const std::vector<Flag>& flags, absl::string_view name) {
  for (const Flag& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const Command* FindCommand(const Program& program, absl::string_view name) {
  for (const Command& c : program.commands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// The flags in scope: the command's, the program's, --help and --version.
std::vector<const Flag*> InScope(const Program& program, const Command* command) {
  std::vector<const Flag*> all;
  if (command != nullptr) {
    for (const Flag& f : command->flags) all.push_back(&f);
  }
  for (const Flag& f : program.flags) all.push_back(&f);
  all.push_back(&kHelpFlag);
  all.push_back(&kVersionFlag);
  return all;
}

std::string DidYouMean(absl::string_view typed, const std::vector<absl::string_view>& names,
                       absl::string_view prefix) {
  absl::string_view best = Closest(typed, names);
  return best.empty() ? "" : absl::StrCat("; did you mean ", prefix, best, "?");
}

// "a positive whole number", for a kInt flag's messages.
std::string IntRange(int64_t min) {
  if (min == 1) return "a positive whole number";
  if (min == 0) return "a whole number, 0 or more";
  return absl::StrCat("a whole number of at least ", min);
}

// Converts `text` for `flag` into *number (kInt; kDuration in seconds) or
// *time (kTime); the error is what to tell the user about `where`
// ("--timeout", "PREFLIGHT_TIMEOUT").
absl::Status Convert(const Flag& flag, absl::string_view text, absl::string_view where,
                     absl::Time now, int64_t* number, absl::Time* time) {
  switch (flag.kind) {
    case Kind::kBool:
    case Kind::kString:
      return absl::OkStatus();
    case Kind::kInt:
      if (!absl::SimpleAtoi(text, number) || *number < flag.min) {
        return absl::InvalidArgumentError(absl::StrCat(where, " ", flag.value_name, " must be ",
                                                       IntRange(flag.min), ", not '", text, "'"));
      }
      return absl::OkStatus();
    case Kind::kDuration: {
      absl::StatusOr<int64_t> s = CheckDuration(text);
      if (s.ok()) {
        *number = *s;
        return absl::OkStatus();
      }
      return absl::InvalidArgumentError(absl::StrCat(where, " '", text, "': ", s.status().message(),
                                                     " (a DURATION is 90s, 30m, 12h, 30d or "
                                                     "seconds)"));
    }
    case Kind::kTime: {
      absl::StatusOr<absl::Time> t = CheckTime(text, now);
      if (t.ok()) {
        *time = *t;
        return absl::OkStatus();
      }
      return absl::InvalidArgumentError(
          absl::StrCat(where, " '", text, "': ", t.status().message(), " (a ",
                       flag.value_name.empty() ? "TIME" : flag.value_name,
                       " is 2026-11-26, 2026-11-26T10:00:00Z, or a duration such as 7d meaning "
                       "that long ago)"));
    }
  }
  return absl::InternalError("unknown flag kind");
}

// ---------------------------------------------------------------------------
// Help text.

// Appends `text` word-wrapped: the first line continues at column `col`, the
// following ones start at column `indent`. A '\n' in `text` starts a new line.
void AppendWrapped(std::string& out, absl::string_view text, size_t col, size_t indent) {
  bool first_paragraph = true;
  for (absl::string_view paragraph : absl::StrSplit(text, '\n')) {
    if (!first_paragraph) {
      out.append("\n").append(indent, ' ');
      col = indent;
    }
    first_paragraph = false;
    bool line_start = true;
    for (absl::string_view word : absl::StrSplit(paragraph, ' ', absl::SkipEmpty())) {
      if (!line_start && col + 1 + word.size() > kWidth) {
        out.append("\n").append(indent, ' ');
        col = indent;
        line_start = true;
      }
      if (!line_start) {
        out.push_back(' ');
        ++col;
      }
      out.append(word.data(), word.size());
      col += word.size();
      line_start = false;
    }
  }
  out.push_back('\n');
}

// "  left    right...", right wrapped at `column` (on the next line when left
// is too wide).
void AppendColumns(std::string& out, absl::string_view left, absl::string_view right,
                   size_t column) {
  std::string line = absl::StrCat("  ", left);
  if (right.empty()) {
    out.append(line).append("\n");
    return;
  }
  if (line.size() + 2 > column) {
    out.append(line).append("\n").append(column, ' ');
  } else {
    out.append(line).append(column - line.size(), ' ');
  }
  AppendWrapped(out, right, column, column);
}

std::string OptionHelp(const Flag& flag) {
  std::string text(flag.help);
  std::vector<std::string> extra;
  if (!flag.fallback.empty()) extra.push_back(absl::StrCat("default ", flag.fallback));
  if (!flag.env.empty()) extra.push_back(absl::StrCat("env ", flag.env));
  if (!extra.empty()) absl::StrAppend(&text, " (", absl::StrJoin(extra, "; "), ")");
  return text;
}

// The options of one scope, the ungrouped first, then each group under its
// heading.
void AppendOptions(std::string& out, absl::string_view heading,
                   const std::vector<const Flag*>& flags, const std::vector<const Flag*>& all) {
  // One column for every scope of the text: past the widest "--name VALUE"
  // of `all` (grouped ones aside), at most at kOptionColumn.
  size_t column = 0;
  for (const Flag* f : all) {
    if (f->group.empty()) column = std::max(column, Spec(*f).size() + 4);
  }
  column = std::min(column, kOptionColumn);
  std::vector<absl::string_view> groups = {""};
  for (const Flag* f : flags) {
    if (std::find(groups.begin(), groups.end(), f->group) == groups.end()) {
      groups.push_back(f->group);
    }
  }
  for (absl::string_view group : groups) {
    bool any = false;
    for (const Flag* f : flags) {
      if (f->group != group) continue;
      if (!any) absl::StrAppend(&out, "\n", group.empty() ? heading : group, ":\n");
      any = true;
      AppendColumns(out, Spec(*f), OptionHelp(*f), column);
    }
  }
}

// Synopsis forms as tokens ("--env ENV", "[--expires DURATION]").
std::vector<std::vector<std::string>> Forms(const Program& program, const Command* command) {
  const std::vector<Flag>& flags = command != nullptr ? command->flags : program.flags;
  std::vector<std::string> head;
  if (command != nullptr) {
    head.emplace_back(command->name);
    if (!command->args.empty()) head.emplace_back(command->args);
  } else if (!program.commands.empty()) {
    if (!program.flags.empty()) head.emplace_back("[options]");
    head.emplace_back("COMMAND [args]");
    return {head};
  }
  // Switches: boolean flags that stand in for a required one.
  std::vector<absl::string_view> switches;
  for (const Flag& f : flags) {
    if (!f.unless.empty() &&
        std::find(switches.begin(), switches.end(), f.unless) == switches.end()) {
      switches.push_back(f.unless);
    }
  }
  auto is_switch = [&](const Flag& f) {
    return std::find(switches.begin(), switches.end(), f.name) != switches.end();
  };
  std::vector<std::vector<std::string>> forms;
  std::vector<std::string> first = head;
  for (const Flag& f : flags) {
    if (!f.group.empty() || is_switch(f)) continue;
    first.push_back(f.required || !f.unless.empty() ? Spec(f) : absl::StrCat("[", Spec(f), "]"));
  }
  forms.push_back(first);
  for (absl::string_view s : switches) {
    std::vector<std::string> form = head;
    for (const Flag& f : flags) {
      if (f.required && f.group.empty()) form.push_back(Spec(f));
    }
    form.push_back(Dashed(s));
    for (const Flag& f : flags) {
      if (f.required || !f.group.empty() || is_switch(f) || f.unless == s || f.excludes == s) {
        continue;
      }
      const Flag* sw = Find(flags, s);
      if (sw != nullptr && sw->excludes == f.name) continue;
      form.push_back(absl::StrCat("[", Spec(f), "]"));
    }
    forms.push_back(form);
  }
  return forms;
}

// Appends `line` and then `tokens`, separated by spaces and wrapped between
// tokens to lines starting at column `indent`.
void AppendTokens(std::string& out, std::string line, const std::vector<std::string>& tokens,
                  size_t indent) {
  size_t col = line.size();
  bool first = line.empty() || line.back() == ' ';
  for (const std::string& t : tokens) {
    if (!first && col + 1 + t.size() > kWidth && col > indent) {
      line.append("\n").append(indent, ' ');
      col = indent;
    } else if (!first) {
      line.push_back(' ');
      ++col;
    }
    line.append(t);
    col += t.size();
    first = false;
  }
  out.append(line).append("\n");
}

// "usage: <prefix> <tokens>" lines.
void AppendUsage(std::string& out, const std::string& prefix,
                 const std::vector<std::vector<std::string>>& forms) {
  bool first = true;
  for (const std::vector<std::string>& tokens : forms) {
    std::string line = absl::StrCat(first ? "usage: " : "       ", prefix);
    const size_t indent = std::min<size_t>(line.size() + 1, 40);
    AppendTokens(out, line, tokens, indent);
    first = false;
  }
}

// Explains DURATION and TIME when a flag in scope takes one.
void AppendValueSyntax(std::string& out, const std::vector<const Flag*>& flags) {
  bool duration = false, time = false;
  for (const Flag* f : flags) {
    duration |= f->kind == Kind::kDuration || f->kind == Kind::kTime;
    time |= f->kind == Kind::kTime;
  }
  if (!duration) return;
  std::string text = "DURATION: 90s, 30m, 12h, 30d (or seconds).";
  if (time) {
    absl::StrAppend(
        &text, " TIME: 2026-11-26, 2026-11-26T10:00:00Z, or a DURATION meaning that long ago.");
  }
  out.append("\n");
  AppendWrapped(out, text, 0, 0);
}

void AppendParagraph(std::string& out, absl::string_view text) {
  if (text.empty()) return;
  out.append("\n");
  AppendWrapped(out, text, 0, 0);
}

}  // namespace

// ---------------------------------------------------------------------------
// Parsed

const Parsed::Value& Parsed::Get(absl::string_view name, std::optional<Kind> kind) const {
  auto it = values_.find(name);
  if (it == values_.end() || (kind.has_value() && it->second.flag->kind != *kind)) {
    std::fprintf(stderr, "flags: --%.*s is %s\n", static_cast<int>(name.size()), name.data(),
                 it == values_.end() ? "not declared here" : "of another kind");
    std::abort();
  }
  return it->second;
}

bool Parsed::Has(absl::string_view name) const { return Get(name, std::nullopt).present; }
bool Parsed::Bool(absl::string_view name) const { return Get(name, Kind::kBool).present; }
const std::string& Parsed::String(absl::string_view name) const {
  return Get(name, std::nullopt).text;
}
int64_t Parsed::Int(absl::string_view name) const { return Get(name, Kind::kInt).number; }
absl::Duration Parsed::Duration(absl::string_view name) const {
  return absl::Seconds(Get(name, Kind::kDuration).number);
}
absl::Time Parsed::Time(absl::string_view name) const { return Get(name, Kind::kTime).time; }
std::string Parsed::Source(absl::string_view name) const { return Get(name, std::nullopt).source; }

// ---------------------------------------------------------------------------
// Parsing

class Parser {
 public:
  Parser(const Program& program, const Environment& env) : program_(program), env_(env) {}

  absl::StatusOr<Parsed> Run(const std::vector<std::string>& args) {
    Declare(program_.flags);
    // Declare keeps pointers into the vector: it must outlive the parser.
    static const std::vector<Flag> kBuiltins = {kHelpFlag, kVersionFlag};
    Declare(kBuiltins);
    bool options_done = false;
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if (!options_done && arg == "--") {
        options_done = true;
        continue;
      }
      if (options_done || arg.size() < 2 || arg[0] != '-') {
        if (absl::Status s = Positional(arg); !s.ok()) return s;
        continue;
      }
      std::string name, inline_value;
      bool has_inline = false;
      if (arg == "-h") {
        name = "help";
      } else if (arg[1] != '-') {
        return Unknown(arg);
      } else {
        absl::string_view body = absl::string_view(arg).substr(2);
        size_t eq = body.find('=');
        has_inline = eq != absl::string_view::npos;
        name = std::string(body.substr(0, eq));
        if (has_inline) inline_value = std::string(body.substr(eq + 1));
      }
      const Flag* flag = Lookup(name);
      if (flag == nullptr) return Unknown(Dashed(name));
      if (flag == &kManFlag && !has_inline) {  // --man alone: section 1
        has_inline = true;
        inline_value = "1";
      }
      if (flag->kind == Kind::kBool) {
        if (has_inline) return Usage(absl::StrCat(Dashed(name), " takes no value"));
        inline_value.clear();
      } else if (!has_inline) {
        if (i + 1 >= args.size()) {
          return Usage(absl::StrCat(Dashed(name), " needs a value (", flag->value_name, ")"));
        }
        inline_value = args[++i];
      }
      if (flag == &kHelpFlag) {
        parsed_.action_ = Parsed::Action::kHelp;
        return std::move(parsed_);
      }
      if (flag == &kVersionFlag) {
        parsed_.action_ = Parsed::Action::kVersion;
        return std::move(parsed_);
      }
      if (flag == &kCompletionFlag || flag == &kManFlag) {
        if (flag == &kCompletionFlag && inline_value != "bash") {
          return Usage(absl::StrCat("--completion: only bash, not '", inline_value, "'"));
        }
        parsed_.action_ = flag == &kManFlag ? Parsed::Action::kMan : Parsed::Action::kCompletion;
        parsed_.args_ = {inline_value};
        return std::move(parsed_);
      }
      if (absl::Status s = Set(*flag, inline_value, Dashed(name)); !s.ok()) return s;
    }
    return Finish();
  }

 private:
  void Declare(const std::vector<Flag>& flags) {
    for (const Flag& f : flags) parsed_.values_[std::string(f.name)].flag = &f;
  }

  // The flag a name means here: the command's or the program's; before the
  // command is known, also any command's (checked once the command is).
  const Flag* Lookup(absl::string_view name) {
    if (parsed_.command_ != nullptr) {
      if (const Flag* f = Find(parsed_.command_->flags, name)) return f;
    }
    if (name == "help") return &kHelpFlag;
    if (name == "version") return &kVersionFlag;
    if (name == "completion" && Find(program_.flags, name) == nullptr) return &kCompletionFlag;
    if (name == "man" && Find(program_.flags, name) == nullptr) return &kManFlag;
    if (const Flag* f = Find(program_.flags, name)) return f;
    if (parsed_.command_ == nullptr) {
      for (const Command& c : program_.commands) {
        if (const Flag* f = Find(c.flags, name)) return f;
      }
    }
    return nullptr;
  }

  absl::Status Set(const Flag& flag, const std::string& text, const std::string& where) {
    if (parsed_.command_ == nullptr && Find(program_.flags, flag.name) == nullptr) {
      early_.push_back({&flag, text, where});  // a command's, given before the command
      return absl::OkStatus();
    }
    Parsed::Value& v = parsed_.values_[std::string(flag.name)];
    v.flag = &flag;
    v.present = true;
    v.given = true;
    v.text = text;
    v.source = where;
    return Convert(flag, text, where, env_.now, &v.number, &v.time);
  }

  absl::Status Positional(const std::string& arg) {
    // `help` and `help COMMAND`, for a program with commands (unless one of
    // them is called help).
    if (!program_.commands.empty() && parsed_.command_ == nullptr && !help_command_ &&
        arg == "help" && FindCommand(program_, "help") == nullptr) {
      help_command_ = true;
      return absl::OkStatus();
    }
    if (help_command_ && parsed_.command_ != nullptr) {
      return Usage(absl::StrCat("help takes one command, not '", arg, "'"));
    }
    if (!program_.commands.empty() && parsed_.command_ == nullptr) {
      const Command* command = FindCommand(program_, arg);
      if (command == nullptr) {
        std::vector<absl::string_view> names;
        for (const Command& c : program_.commands) names.push_back(c.name);
        if (!help_command_) names.push_back("help");
        return Usage(absl::StrCat("unknown command '", arg, "' (", absl::StrJoin(names, ", "), ")",
                                  DidYouMean(arg, names, "")));
      }
      parsed_.command_ = command;
      Declare(command->flags);
      for (const Early& e : early_) {
        const Flag* own = Find(command->flags, e.flag->name);
        if (own == nullptr) return Unknown(e.where);
        if (absl::Status s = Set(*own, e.text, e.where); !s.ok()) return s;
      }
      early_.clear();
      return absl::OkStatus();
    }
    parsed_.args_.push_back(arg);
    return absl::OkStatus();
  }

  absl::StatusOr<Parsed> Finish() {
    const Command* command = parsed_.command_;
    if (help_command_) {  // `help [COMMAND]`: nothing else is checked
      parsed_.action_ = Parsed::Action::kHelp;
      return std::move(parsed_);
    }
    if (!program_.commands.empty() && command == nullptr) {
      std::vector<std::string> names;
      for (const Command& c : program_.commands) {
        names.push_back(c.args.empty() || c.min_args == 0 ? std::string(c.name)
                                                          : absl::StrCat(c.name, " ", c.args));
      }
      return Usage(absl::StrCat("a command is needed: ", absl::StrJoin(names, ", ")));
    }
    if (!early_.empty()) return Unknown(early_.front().where);
    const int n = static_cast<int>(parsed_.args_.size());
    const int min = command != nullptr ? command->min_args : 0;
    const int max = command != nullptr ? command->max_args : 0;
    if (n > max && max == 0) {
      return Usage(command != nullptr
                       ? absl::StrCat("'", command->name, "' takes no arguments, not '",
                                      parsed_.args_[0], "'")
                       : absl::StrCat("unexpected argument '", parsed_.args_[0], "'"));
    }
    if (n < min || n > max) {
      return Usage(absl::StrCat("usage: ", program_.name, " ", Synopsis(program_, command)[0]));
    }
    // Unset flags: the environment, then the fallback.
    for (auto& [name, v] : parsed_.values_) {
      if (v.present) continue;
      std::optional<std::string> from_env;
      if (!v.flag->env.empty() && env_.getenv) from_env = env_.getenv(v.flag->env);
      if (from_env.has_value() && !from_env->empty()) {
        v.present = true;
        v.text = *from_env;
        v.source = std::string(v.flag->env);
      } else if (!v.flag->fallback.empty()) {
        v.present = true;
        v.text = std::string(v.flag->fallback);
        v.source = absl::StrCat("the default of ", Dashed(name));
      } else {
        continue;
      }
      if (absl::Status s = Convert(*v.flag, v.text, v.source, env_.now, &v.number, &v.time);
          !s.ok()) {
        return s;
      }
    }
    // Required flags, and flags that exclude each other, in the order
    // declared: the command's first.
    std::vector<const Flag*> declared;
    if (command != nullptr) {
      for (const Flag& f : command->flags) declared.push_back(&f);
    }
    for (const Flag& f : program_.flags) declared.push_back(&f);
    for (const Flag* flag : declared) {
      const Flag& f = *flag;
      const Parsed::Value& v = parsed_.values_[std::string(f.name)];
      const bool needed = f.required || (!f.unless.empty() && !parsed_.Bool(f.unless));
      if (needed && !v.present) {
        std::string what = Spec(f);
        std::string unless = f.unless.empty() ? "" : absl::StrCat(", unless ", Dashed(f.unless));
        return Usage(command != nullptr ? absl::StrCat(command->name, " needs ", what, unless)
                                        : absl::StrCat(what, " is required", unless));
      }
      // Only what was given on the command line conflicts: an environment
      // variable or a fallback gives way to the flag it excludes.
      if (!f.excludes.empty() && v.given && parsed_.values_[std::string(f.excludes)].given) {
        return Usage(
            absl::StrCat(Dashed(f.name), " and ", Dashed(f.excludes), " cannot be given together"));
      }
    }
    return std::move(parsed_);
  }

  absl::Status Unknown(const std::string& option) {
    const Command* command = parsed_.command_;
    absl::string_view typed = absl::StripPrefix(absl::StripPrefix(option, "-"), "-");
    std::string where =
        command != nullptr ? absl::StrCat(" for '", command->name, "'") : std::string();
    // An option of other commands.
    std::vector<absl::string_view> owners;
    for (const Command& c : program_.commands) {
      if (&c != command && Find(c.flags, typed) != nullptr) owners.push_back(c.name);
    }
    if (!owners.empty() && !typed.empty()) {
      return Usage(absl::StrCat("unknown option ", option, where, " (an option of ",
                                absl::StrJoin(owners, ", "), ")"));
    }
    std::vector<absl::string_view> names;
    for (const Flag* f : InScope(program_, command)) names.push_back(f->name);
    if (command == nullptr) {
      for (const Command& c : program_.commands) {
        for (const Flag& f : c.flags) names.push_back(f.name);
      }
    }
    return Usage(absl::StrCat("unknown option ", option, where, DidYouMean(typed, names, "--")));
  }

  static absl::Status Usage(std::string message) {
    return absl::InvalidArgumentError(std::move(message));
  }

  struct Early {
    const Flag* flag;
    std::string text;
    std::string where;
  };

  const Program& program_;
  const Environment& env_;
  Parsed parsed_;
  std::vector<Early> early_;
  bool help_command_ = false;  // the command `help` was given
};

Environment ProcessEnvironment() {
  Environment env;
  env.getenv = [](absl::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
  env.now = absl::Now();
  return env;
}

absl::StatusOr<Parsed> Parse(const Program& program, const std::vector<std::string>& args,
                             const Environment& env) {
  if (absl::Status valid = Validate(program); !valid.ok()) return valid;
  return Parser(program, env).Run(args);
}

std::optional<int> ParseOrExit(const Program& program, int argc, char** argv, Parsed* parsed) {
  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  absl::StatusOr<Parsed> result = Parse(program, args, ProcessEnvironment());
  if (!result.ok()) {
    if (result.status().code() != absl::StatusCode::kInvalidArgument) {
      std::fprintf(stderr, "%.*s: the flag table is broken: %s\n",
                   static_cast<int>(program.name.size()), program.name.data(),
                   std::string(result.status().message()).c_str());
      std::abort();
    }
    // The command, when it was named, says where to look for help.
    const Command* command = nullptr;
    for (const std::string& a : args) {
      if ((command = FindCommand(program, a)) != nullptr) break;
    }
    return UsageError(program, result.status().message(), command);
  }
  *parsed = *std::move(result);
  std::string out;
  switch (parsed->action()) {
    case Parsed::Action::kRun:
      return std::nullopt;
    case Parsed::Action::kHelp:
      out = parsed->command() != nullptr ? Help(program, *parsed->command()) : Help(program);
      break;
    case Parsed::Action::kVersion:
      out = absl::StrCat(program.name, " ", kVersion, "\n");
      break;
    case Parsed::Action::kCompletion:
      out = BashCompletion(program);
      break;
    case Parsed::Action::kMan: {
      const char* epoch = std::getenv("SOURCE_DATE_EPOCH");  // reproducible builds
      int64_t seconds = 0;
      const absl::Time when = epoch != nullptr && absl::SimpleAtoi(epoch, &seconds)
                                  ? absl::FromUnixSeconds(seconds)
                                  : absl::Now();
      out = ManPage(program, parsed->args().empty() ? "1" : parsed->args()[0], kVersion,
                    absl::FormatTime("%Y-%m-%d", when, absl::UTCTimeZone()));
      break;
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int UsageError(const Program& program, absl::string_view message, const Command* command) {
  std::string help = command != nullptr ? absl::StrCat(program.name, " ", command->name, " --help")
                                        : absl::StrCat(program.name, " --help");
  std::string text = absl::StrCat(program.name, ": ", message, "\n(see ", help, ")\n");
  std::fwrite(text.data(), 1, text.size(), stderr);
  return 2;
}

std::vector<std::string> Synopsis(const Program& program, const Command* command) {
  std::vector<std::string> lines;
  std::string prefix = command != nullptr && !program.flags.empty() ? "[options] " : "";
  for (const auto& tokens : Forms(program, command)) {
    lines.push_back(absl::StrCat(prefix, absl::StrJoin(tokens, " ")));
  }
  return lines;
}

std::string Help(const Program& program) {
  std::string out;
  AppendUsage(out, std::string(program.name), Forms(program, nullptr));
  AppendParagraph(out, program.summary);
  if (!program.commands.empty()) {
    out.append("\ncommands:\n");
    for (const Command& c : program.commands) {
      std::vector<std::vector<std::string>> forms = Forms(program, &c);
      std::string first = absl::StrJoin(forms[0], " ");
      if (forms.size() == 1 && first.size() + 4 <= kCommandColumn) {
        AppendColumns(out, first, c.summary, kCommandColumn);
        continue;
      }
      for (const auto& form : forms) AppendTokens(out, "  ", form, 6);
      out.append(kCommandColumn, ' ');
      AppendWrapped(out, c.summary, kCommandColumn, kCommandColumn);
    }
    if (FindCommand(program, "help") == nullptr) {
      AppendColumns(out, "help [COMMAND]", "this text, or one command's (as COMMAND --help)",
                    kCommandColumn);
    }
  }
  std::vector<const Flag*> options;
  for (const Flag& f : program.flags) options.push_back(&f);
  options.push_back(program.commands.empty() ? &kHelpFlag : &kCommandHelpFlag);
  options.push_back(&kVersionFlag);
  AppendOptions(out, program.commands.empty() ? "options" : "options (before or after COMMAND)",
                options, options);
  std::vector<const Flag*> all = options;
  for (const Command& c : program.commands) {
    for (const Flag& f : c.flags) all.push_back(&f);
  }
  AppendValueSyntax(out, all);
  AppendParagraph(out, program.notes);
  return out;
}

std::string Help(const Program& program, const Command& command) {
  std::string out;
  std::string prefix = absl::StrCat(program.name, program.flags.empty() ? "" : " [options]");
  AppendUsage(out, prefix, Forms(program, &command));
  std::string about(command.summary);
  if (!command.details.empty()) absl::StrAppend(&about, "\n\n", command.details);
  AppendParagraph(out, about);
  std::vector<const Flag*> own;
  for (const Flag& f : command.flags) own.push_back(&f);
  std::vector<const Flag*> options;
  for (const Flag& f : program.flags) options.push_back(&f);
  options.push_back(&kHelpFlag);
  std::vector<const Flag*> all = own;
  all.insert(all.end(), options.begin(), options.end());
  AppendOptions(out, absl::StrCat("options of ", command.name), own, all);
  AppendOptions(out, absl::StrCat("options of ", program.name), options, all);
  AppendValueSyntax(out, all);
  AppendParagraph(out, program.notes);
  return out;
}

namespace {

// Every flag a command line of `command` may hold: its own, the program's.
std::vector<const Flag*> CompletionFlags(const Program& program, const Command* command) {
  std::vector<const Flag*> all;
  if (command != nullptr) {
    for (const Flag& f : command->flags) all.push_back(&f);
  }
  for (const Flag& f : program.flags) all.push_back(&f);
  all.push_back(&kHelpFlag);
  if (command == nullptr) all.push_back(&kVersionFlag);
  return all;
}

std::string FlagWords(const std::vector<const Flag*>& flags) {
  std::vector<std::string> words;
  for (const Flag* f : flags) words.push_back(Dashed(f->name));
  return absl::StrJoin(words, " ");
}

// roff: a backslash doubled, a leading dot or quote protected, '-' as \-.
std::string Roff(absl::string_view text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out.push_back(c);
    }
    line_start = c == '\n';
  }
  // A blank line is a paragraph break in the text: .sp in roff.
  return absl::StrReplaceAll(out, {{"\n\n", "\n.sp\n"}});
}

void ManOptions(std::string& out, const std::vector<const Flag*>& flags) {
  for (const Flag* f : flags) {
    absl::StrAppend(&out, ".TP\n\\fB", Roff(Dashed(f->name)), "\\fR");
    if (f->kind != Kind::kBool) absl::StrAppend(&out, " \\fI", Roff(f->value_name), "\\fR");
    absl::StrAppend(&out, "\n", Roff(OptionHelp(*f)), "\n");
  }
}

}  // namespace

std::string BashCompletion(const Program& program) {
  const std::string fn = absl::StrCat("_", absl::StrReplaceAll(program.name, {{"-", "_"}}));
  std::string out =
      absl::StrCat("# bash completion for ", program.name, ", generated from its flag table (",
                   program.name, " --completion=bash)\n", fn, "() {\n",
                   "  local cur prev cmd w i\n"
                   "  cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
                   "  prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
                   "  cmd=\"\"\n");
  std::vector<std::string> names;
  for (const Command& c : program.commands) names.emplace_back(c.name);
  if (!program.commands.empty()) {
    names.emplace_back("help");
    // The command: the first word that is one.
    absl::StrAppend(&out, "  for ((i = 1; i < COMP_CWORD; i++)); do\n    w=\"${COMP_WORDS[i]}\"\n",
                    "    case \"$w\" in\n      ", absl::StrJoin(names, "|"),
                    ") cmd=\"$w\"; break ;;\n    esac\n  done\n");
  }
  // Values of the flag before the cursor.
  std::set<std::string> done;
  absl::StrAppend(&out, "  case \"$prev\" in\n");
  std::vector<const Flag*> every = CompletionFlags(program, nullptr);
  for (const Command& c : program.commands) {
    for (const Flag& f : c.flags) every.push_back(&f);
  }
  for (const Flag* f : every) {
    if (f->kind == Kind::kBool || !done.insert(std::string(f->name)).second) continue;
    std::string reply;
    if (!f->choices.empty()) {
      reply = absl::StrCat("COMPREPLY=($(compgen -W \"", f->choices, "\" -- \"$cur\"))");
    } else if (f->value_name == "FILE") {
      reply = "COMPREPLY=($(compgen -f -- \"$cur\"))";
    } else if (f->value_name == "DIR") {
      reply = "COMPREPLY=($(compgen -d -- \"$cur\"))";
    } else {
      reply = "COMPREPLY=()";
    }
    absl::StrAppend(&out, "    ", Dashed(f->name), ") ", reply, "; return 0 ;;\n");
  }
  absl::StrAppend(&out, "  esac\n");
  absl::StrAppend(&out, "  case \"$cmd\" in\n");
  for (const Command& c : program.commands) {
    absl::StrAppend(&out, "    ", c.name, ") w=\"", FlagWords(CompletionFlags(program, &c)),
                    "\" ;;\n");
  }
  if (!program.commands.empty()) {
    absl::StrAppend(
        &out, "    help) COMPREPLY=($(compgen -W \"",
        absl::StrJoin(program.commands.begin(), program.commands.end(), " ",
                      [](std::string* o, const Command& c) { absl::StrAppend(o, c.name); }),
        "\" -- \"$cur\")); return 0 ;;\n");
  }
  absl::StrAppend(&out, "    *) w=\"", FlagWords(CompletionFlags(program, nullptr)), "\"\n");
  if (!program.commands.empty()) {
    absl::StrAppend(&out, "       if [[ \"$cur\" != -* ]]; then\n",
                    "         COMPREPLY=($(compgen -W \"", absl::StrJoin(names, " "),
                    "\" -- \"$cur\")); return 0\n       fi ;;\n");
  } else {
    absl::StrAppend(&out, "       ;;\n");
  }
  absl::StrAppend(&out, "  esac\n", "  COMPREPLY=($(compgen -W \"$w\" -- \"$cur\"))\n}\n",
                  "complete -F ", fn, " ", program.name, "\n");
  return out;
}

std::string ManPage(const Program& program, absl::string_view section, absl::string_view version,
                    absl::string_view date) {
  std::string upper = absl::AsciiStrToUpper(program.name);
  std::string out =
      absl::StrCat(".\\\" Generated from the flag table of ", program.name, " (", program.name,
                   " --man); do not edit.\n", ".TH ", Roff(upper), " ", section, " ", date, " \"",
                   Roff(program.name), " ", version, "\" \"preflight\"\n", ".SH NAME\n",
                   Roff(program.name), " \\- ", Roff(program.summary), "\n.SH SYNOPSIS\n");
  for (const auto& form : Forms(program, nullptr)) {
    absl::StrAppend(&out, ".B ", Roff(program.name), "\n", Roff(absl::StrJoin(form, " ")),
                    "\n.br\n");
  }
  if (!program.summary.empty()) {
    absl::StrAppend(&out, ".SH DESCRIPTION\n", Roff(program.summary), "\n");
  }
  if (!program.commands.empty()) {
    absl::StrAppend(&out, ".SH COMMANDS\n");
    for (const Command& c : program.commands) {
      for (const auto& form : Forms(program, &c)) {
        absl::StrAppend(&out, ".TP\n\\fB", Roff(c.name), "\\fR ",
                        Roff(absl::StrJoin(form.begin() + 1, form.end(), " ")), "\n");
        break;
      }
      std::string about(c.summary);
      if (!c.details.empty()) absl::StrAppend(&about, "\n\n", c.details);
      absl::StrAppend(&out, Roff(about), "\n");
      if (!c.flags.empty()) {
        absl::StrAppend(&out, ".RS\n");
        std::vector<const Flag*> own;
        for (const Flag& f : c.flags) own.push_back(&f);
        ManOptions(out, own);
        absl::StrAppend(&out, ".RE\n");
      }
    }
    absl::StrAppend(&out, ".TP\n\\fBhelp\\fR [COMMAND]\n",
                    "this text, or one command's (as COMMAND \\-\\-help)\n");
  }
  absl::StrAppend(&out, ".SH OPTIONS\n");
  std::vector<const Flag*> options;
  for (const Flag& f : program.flags) options.push_back(&f);
  options.push_back(&kHelpFlag);
  options.push_back(&kVersionFlag);
  ManOptions(out, options);
  if (!program.notes.empty()) absl::StrAppend(&out, ".SH NOTES\n", Roff(program.notes), "\n");
  return out;
}

absl::Status Validate(const Program& program) {
  std::map<absl::string_view, Kind> kinds;  // one kind per name, program-wide
  auto check_scope = [&](absl::string_view scope, const std::vector<Flag>& own,
                         const std::vector<Flag>* outer) -> absl::Status {
    std::set<absl::string_view> seen = {"help", "version"};
    if (outer != nullptr) {
      for (const Flag& f : *outer) seen.insert(f.name);
    }
    for (const Flag& f : own) {
      auto bad = [&](absl::string_view why) {
        return absl::InternalError(absl::StrCat(scope, ": --", f.name, ": ", why));
      };
      if (f.name.empty() || absl::StartsWith(f.name, "-") || absl::StrContains(f.name, "=")) {
        return bad("a name is needed, without dashes or '='");
      }
      if (!seen.insert(f.name).second) return bad("declared twice");
      if (f.kind != Kind::kBool && f.value_name.empty()) return bad("a value name is needed");
      if (f.kind == Kind::kBool && (!f.env.empty() || !f.fallback.empty() || f.required)) {
        return bad("a boolean flag takes no environment variable, fallback or requirement");
      }
      if (auto [it, fresh] = kinds.emplace(f.name, f.kind); !fresh && it->second != f.kind) {
        return bad("declared with another kind elsewhere");
      }
      for (absl::string_view other : {f.unless, f.excludes}) {
        if (other.empty()) continue;
        const Flag* o = Find(own, other);
        if (o == nullptr && outer != nullptr) o = Find(*outer, other);
        if (other == f.unless && (o == nullptr || o->kind != Kind::kBool)) {
          return bad(absl::StrCat("--", other, " is not a boolean flag in scope"));
        }
        if (o == nullptr || o == &f) {
          return bad(absl::StrCat("--", other, " is not another flag in scope"));
        }
      }
      if (!f.fallback.empty()) {
        int64_t number = 0;
        absl::Time time;
        if (!Convert(f, f.fallback, "fallback", absl::UnixEpoch(), &number, &time).ok()) {
          return bad(absl::StrCat("fallback '", f.fallback, "' does not parse"));
        }
      }
    }
    return absl::OkStatus();
  };
  if (program.name.empty()) return absl::InternalError("the program needs a name");
  if (absl::Status s = check_scope(program.name, program.flags, nullptr); !s.ok()) return s;
  std::set<absl::string_view> commands;
  for (const Command& c : program.commands) {
    std::string scope = absl::StrCat(program.name, " ", c.name);
    if (c.name.empty() || absl::StartsWith(c.name, "-") || !commands.insert(c.name).second) {
      return absl::InternalError(absl::StrCat(scope, ": a unique command name is needed"));
    }
    if (c.min_args < 0 || c.min_args > c.max_args || (c.max_args > 0 && c.args.empty())) {
      return absl::InternalError(absl::StrCat(scope, ": argument counts do not fit ", c.args));
    }
    if (absl::Status s = check_scope(scope, c.flags, &program.flags); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> CheckDuration(absl::string_view text) {
  constexpr uint64_t kMaxSeconds = 100ull * 365 * 86400;
  auto bad = [](absl::string_view why) { return absl::InvalidArgumentError(why); };
  if (text.empty()) return bad("a duration is needed, not nothing");
  if (text[0] == '-') return bad("a duration cannot be negative");
  if (text[0] == '+') text.remove_prefix(1);
  int64_t unit = 1;
  absl::string_view digits = text;
  const char last = text.back();
  if (last >= '0' && last <= '9') {
    unit = 1;
  } else {
    digits = text.substr(0, text.size() - 1);
    switch (last) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        if (!digits.empty() && absl::ascii_isdigit(static_cast<unsigned char>(digits.back()))) {
          return bad(absl::StrCat("'", std::string(1, last), "' is not a unit: s, m, h or d"));
        }
        return bad("not a number followed by s, m, h or d");
    }
  }
  if (digits.empty())
    return bad(absl::StrCat("a number is needed before '", std::string(1, last), "'"));
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return bad("not a whole number followed by s, m, h or d");
    }
  }
  uint64_t n = 0;
  // All digits: only too many of them fails to parse.
  if (!absl::SimpleAtoi(digits, &n) || n > kMaxSeconds / static_cast<uint64_t>(unit)) {
    return bad("too long: at most 100 years (36500d)");
  }
  if (n == 0) return bad("a duration must be more than zero");
  return static_cast<int64_t>(n) * unit;
}

std::optional<int64_t> ParseDurationSeconds(absl::string_view text) {
  absl::StatusOr<int64_t> s = CheckDuration(text);
  if (!s.ok()) return std::nullopt;
  return *s;
}

namespace {

int DaysIn(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// "2026-11-26", "2026-11-26T10:00:00Z" and what is wrong in one that looks
// like them; nullopt when `text` does not look like a date at all.
std::optional<absl::Status> DateProblem(absl::string_view text) {
  auto digits = [&](size_t from, size_t n) {
    if (text.size() < from + n) return false;
    for (size_t i = from; i < from + n; ++i) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) return false;
    }
    return true;
  };
  auto number = [&](size_t from, size_t n) {
    int v = 0;
    for (size_t i = from; i < from + n; ++i) v = v * 10 + (text[i] - '0');
    return v;
  };
  if (!digits(0, 4) || text.size() < 5 || text[4] != '-') return std::nullopt;
  auto bad = [](std::string why) { return absl::InvalidArgumentError(std::move(why)); };
  if (!digits(5, 2) || text.size() < 8 || text[7] != '-' || !digits(8, 2)) {
    return bad("a date is YYYY-MM-DD, with two digits for the month and the day");
  }
  const int year = number(0, 4), month = number(5, 2), day = number(8, 2);
  if (month < 1 || month > 12) return bad(absl::StrCat("there is no month ", month, " (01 to 12)"));
  if (day < 1 || day > DaysIn(year, month)) {
    return bad(absl::StrCat(absl::string_view(text.substr(0, 7)), " has no day ", day, " (01 to ",
                            DaysIn(year, month), ")"));
  }
  if (text.size() == 10) return absl::OkStatus();
  if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') {
    return bad("after the date comes T and a time: 2026-11-26T10:00:00Z");
  }
  if (!digits(11, 2) || text.size() < 14 || text[13] != ':' || !digits(14, 2)) {
    return bad("a time is HH:MM:SS followed by Z or an offset: 2026-11-26T10:00:00Z");
  }
  const int hour = number(11, 2), minute = number(14, 2);
  if (hour > 23) return bad(absl::StrCat("there is no hour ", hour, " (00 to 23)"));
  if (minute > 59) return bad(absl::StrCat("there is no minute ", minute, " (00 to 59)"));
  if (text.size() < 19 || text[16] != ':' || !digits(17, 2)) {
    return bad("a time needs seconds: 2026-11-26T10:00:00Z");
  }
  if (number(17, 2) > 60) return bad(absl::StrCat("there is no second ", number(17, 2)));
  absl::string_view zone = text.substr(19);
  if (!zone.empty() && zone[0] == '.') {  // fractions of a second
    size_t i = 1;
    while (i < zone.size() && absl::ascii_isdigit(static_cast<unsigned char>(zone[i]))) ++i;
    zone.remove_prefix(i);
  }
  if (zone.empty()) return bad("a time needs its zone: Z for UTC, or an offset such as +01:00");
  if (zone != "Z" && zone != "z" &&
      !(zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':')) {
    return bad(absl::StrCat("'", zone, "' is not a zone: Z for UTC, or an offset such as +01:00"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<absl::Time> CheckTime(absl::string_view text, absl::Time now) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err) ||
      absl::ParseTime("%Y-%m-%d", std::string(text), absl::UTCTimeZone(), &t, &err)) {
    return t;
  }
  if (std::optional<absl::Status> date = DateProblem(text); date.has_value()) {
    if (!date->ok()) return *date;
    return absl::InvalidArgumentError("not a date and time");
  }
  if (text.empty()) return absl::InvalidArgumentError("a time is needed, not nothing");
  if (absl::ascii_isdigit(static_cast<unsigned char>(text[0])) || text[0] == '-' ||
      text[0] == '+') {
    absl::StatusOr<int64_t> ago = CheckDuration(text);
    if (!ago.ok()) return ago.status();
    return now - absl::Seconds(*ago);
  }
  return absl::InvalidArgumentError("neither a date nor a duration");
}

std::optional<absl::Time> ParseTime(absl::string_view text, absl::Time now) {
  absl::StatusOr<absl::Time> t = CheckTime(text, now);
  if (!t.ok()) return std::nullopt;
  return *t;
}

absl::string_view Closest(absl::string_view typed, const std::vector<absl::string_view>& names) {
  if (typed.empty()) return "";
  // A unique prefix first: "--wait-t" for --wait-timeout.
  absl::string_view prefixed;
  bool unique = true;
  for (absl::string_view name : names) {
    if (typed.size() < 2 || name == typed || !absl::StartsWith(name, typed)) continue;
    if (!prefixed.empty() && prefixed != name) unique = false;
    prefixed = name;
  }
  if (!prefixed.empty() && unique) return prefixed;
  std::vector<std::string> candidates(names.begin(), names.end());
  std::string near = NearestName(typed, candidates);
  for (absl::string_view name : names) {
    if (!near.empty() && name == near) return name;
  }
  return "";
}

}  // namespace preflight::flags
