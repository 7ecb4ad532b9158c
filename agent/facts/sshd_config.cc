#include "agent/facts/sshd_config.h"

#include <fnmatch.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/facts/privileges.h"
#include "agent/facts/sshd_effective.h"

namespace preflight::agent {
namespace {

constexpr absl::string_view kMainFile = "/etc/ssh/sshd_config";
constexpr size_t kMaxLineLength = 16 * 1024;  // longer lines are hostile
constexpr size_t kMaxDirectives = 10'000;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'; }

// The keyword of a line, as OpenSSH's strdelim takes it: up to whitespace or
// a single '=', then the separator and surrounding whitespace are skipped.
absl::string_view TakeKeyword(absl::string_view& rest) {
  size_t i = 0;
  while (i < rest.size() && !IsSpace(rest[i]) && rest[i] != '=') ++i;
  absl::string_view keyword = rest.substr(0, i);
  while (i < rest.size() && IsSpace(rest[i])) ++i;
  if (i < rest.size() && rest[i] == '=') {
    ++i;
    while (i < rest.size() && IsSpace(rest[i])) ++i;
  }
  rest.remove_prefix(i);
  return keyword;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> SplitSshArgs(absl::string_view s) {
  std::vector<std::string> args;
  size_t i = 0;
  while (true) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i >= s.size() || s[i] == '#') break;
    std::string arg;
    char quote = 0;
    for (; i < s.size(); ++i) {
      char c = s[i];
      if (c == '\\' && i + 1 < s.size()) {
        char n = s[i + 1];
        if (n == '\'' || n == '"' || n == '\\' || (quote == 0 && n == ' ')) {
          ++i;
          arg.push_back(n);
        } else {
          arg.push_back(c);
        }
      } else if (quote == 0 && (c == ' ' || c == '\t')) {
        break;
      } else if (quote == 0 && (c == '"' || c == '\'')) {
        quote = c;
      } else if (quote != 0 && c == quote) {
        quote = 0;
      } else {
        arg.push_back(c);
      }
    }
    if (quote != 0) return absl::InvalidArgumentError("unclosed quote");
    args.push_back(std::move(arg));
  }
  return args;
}

void ParseSshdConfig(absl::string_view content, absl::string_view file, v1::SshdConfigFact& fact,
                     uint32_t match_block, const SshdIncludeFn& on_include) {
  const uint32_t parent = match_block;  // the block around the Include, if any
  auto problem = [&](uint32_t line, std::string message) {
    v1::ParseProblem* p = fact.add_problems();
    p->set_file(std::string(file));
    p->set_line(line);
    p->set_message(std::move(message));
  };
  uint32_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_no;
    if (line.size() > kMaxLineLength) {
      problem(line_no,
              absl::StrCat("line of ", line.size(), " bytes skipped (over ", kMaxLineLength, ")"));
      continue;
    }
    if (line.find('\0') != absl::string_view::npos) {
      problem(line_no, "line contains a NUL byte; skipped");
      continue;
    }
    absl::string_view rest = absl::StripAsciiWhitespace(line);
    if (rest.empty() || rest[0] == '#') continue;
    absl::string_view keyword = TakeKeyword(rest);
    if (keyword.empty()) continue;
    if (rest.empty()) {
      problem(line_no, absl::StrCat("no argument after keyword \"", keyword, "\""));
      continue;
    }
    auto args = SplitSshArgs(rest);
    if (!args.ok()) {
      problem(line_no, absl::StrCat("\"", keyword, "\": ", args.status().message()));
      continue;
    }
    if (args->empty()) {  // e.g. "PermitRootLogin # nothing": sshd refuses to start
      problem(line_no, absl::StrCat("no argument after keyword \"", keyword, "\""));
      continue;
    }
    if (static_cast<size_t>(fact.directives_size()) >= kMaxDirectives) {
      problem(line_no, absl::StrCat("more than ", kMaxDirectives, " directives; rest ignored"));
      break;
    }
    std::string lower = absl::AsciiStrToLower(keyword);
    if (lower == "match") {
      v1::SshdMatchBlock* block = fact.add_match_blocks();
      block->set_criteria(absl::StrJoin(*args, " "));
      block->set_file(std::string(file));
      block->set_line(line_no);
      block->set_parent(parent);
      match_block = static_cast<uint32_t>(fact.match_blocks_size());
    }
    v1::SshdDirective* d = fact.add_directives();
    d->set_keyword(lower);
    for (std::string& a : *args) d->add_args(std::move(a));
    d->set_file(std::string(file));
    d->set_line(line_no);
    d->set_match_block(match_block);
    if (lower == "authorizedkeyscommand" || lower == "authorizedprincipalscommand") {
      d->set_raw_args(std::string(absl::StripTrailingAsciiWhitespace(rest)));
    }
    if (lower == "include" && on_include) {
      on_include(std::vector<std::string>(d->args().begin(), d->args().end()), line_no,
                 match_block);
    }
  }
}

namespace {

constexpr int kMaxIncludeDepth = 16;

bool HasGlob(absl::string_view s) { return s.find_first_of("*?[") != absl::string_view::npos; }

class SshdConfigReader {
 public:
  SshdConfigReader(HostEnv& env, const CollectOptions& options) : env_(env), options_(options) {}

  void ParseFile(absl::string_view content, absl::string_view file, int depth, uint32_t match_block,
                 v1::SshdConfigFact& fact) {
    ParseSshdConfig(content, file, fact, match_block,
                    [&](const std::vector<std::string>& args, uint32_t line, uint32_t block) {
                      for (const std::string& arg : args) {
                        Include(arg, file, line, depth + 1, block, fact);
                      }
                    });
  }

 private:
  void Include(const std::string& arg, absl::string_view from, uint32_t line, int depth,
               uint32_t block, v1::SshdConfigFact& fact) {
    auto problem = [&](std::string message) {
      v1::ParseProblem* p = fact.add_problems();
      p->set_file(std::string(from));
      p->set_line(line);
      p->set_message(std::move(message));
    };
    if (depth > kMaxIncludeDepth) {
      problem(absl::StrCat("Include nested more than ", kMaxIncludeDepth, " deep"));
      return;
    }
    std::string path = arg[0] == '/' ? arg : absl::StrCat("/etc/ssh/", arg);
    size_t slash = path.rfind('/');
    std::string dir = path.substr(0, slash == 0 ? 1 : slash);
    std::string base = path.substr(slash + 1);
    std::vector<std::string> files;
    if (HasGlob(dir)) {
      problem(absl::StrCat("Include ", arg, ": wildcards in directory names are not evaluated"));
      return;
    }
    if (HasGlob(base)) {
      auto entries = env_.ListDir(dir);
      if (!entries.ok()) {
        // An unread drop-in directory may set anything (cloud-init's
        // 50-cloud-init.conf turns passwords on): fail closed.
        NoteUnreadable(*fact.mutable_collection(), dir, entries.status());
        return;  // like glob(3): no match, nothing included
      }
      for (const DirEntry& e : *entries) {
        if (fnmatch(base.c_str(), e.name.c_str(), FNM_PERIOD) == 0) {
          files.push_back(absl::StrCat(dir == "/" ? "" : dir, "/", e.name));
        }
      }
    } else {
      files.push_back(path);
    }
    for (const std::string& f : files) {
      auto data = env_.ReadFile(f, options_.max_file_bytes);
      if (!data.ok()) {
        NoteUnreadable(*fact.mutable_collection(), f, data.status());
        continue;
      }
      fact.add_files(f);
      ParseFile(data->content, f, depth, block, fact);
    }
  }

  HostEnv& env_;
  const CollectOptions& options_;
};

constexpr size_t kMaxEffectiveAccounts = 200;
constexpr size_t kMaxOracleAccounts = 50;

class SshdConfigCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "sshd"; }
  std::vector<absl::string_view> reads() const override { return {"accounts"}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::SshdConfigFact& fact = *report.mutable_sshd();
    ReadSshdConfig(env, options, kMainFile, fact);
    if (fact.collection().state() != v1::Collection::OK) return fact.mutable_collection();

    std::vector<ConnectionSpec> specs;
    bool have_root = false;
    for (const v1::Account& a : report.accounts().accounts()) {
      if (a.name() != "root" && !a.login_shell()) continue;
      if (specs.size() >= kMaxEffectiveAccounts) break;
      have_root |= a.name() == "root";
      specs.push_back(SpecFor(a.name(), {a.groups().begin(), a.groups().end()}));
    }
    if (!have_root) specs.push_back(SpecFor("root", {"root"}));
    for (const ConnectionSpec& spec : specs)
      *fact.add_effective() = ComputeSshdEffective(fact, spec);
    RunOracle(env, fact);
    return fact.mutable_collection();
  }

 private:
  static ConnectionSpec SpecFor(std::string user, std::vector<std::string> groups) {
    ConnectionSpec spec;
    spec.user = std::move(user);
    spec.groups = std::move(groups);
    spec.host = kPublicTestAddress;
    spec.addr = kPublicTestAddress;
    spec.laddr = "0.0.0.0";
    spec.lport = 22;
    return spec;
  }

  static void RunOracle(HostEnv& env, v1::SshdConfigFact& fact) {
    v1::SshdOracle& oracle = *fact.mutable_oracle();
    if (!env.live()) {
      oracle.set_skipped_reason("not live (reading the host from a directory)");
      return;
    }
    // sshd -T reads the host keys (0600 root): judged by capability, not
    // by uid 0.
    if (absl::StatusOr<uint64_t> caps = EffectiveCapabilities();
        !caps.ok() || !CanReadAnyFile(*caps)) {
      oracle.set_skipped_reason(
          "the agent lacks CAP_DAC_READ_SEARCH (sshd -T reads the host keys)");
      return;
    }
    // Only a Match block makes sshd's configuration differ between users:
    // without one (none in any file read), one run of sshd -T (~20 ms of
    // CPU, it loads the host keys) answers for every account, and each
    // account's effective settings are compared with it. With one, each
    // account gets its own run. A Match block our reading missed would be in
    // a file it could not read, which the fact already says.
    const bool per_account = fact.match_blocks_size() > 0;
    absl::StatusOr<CommandResult> shared = absl::UnknownError("not run");
    size_t n = 0;
    for (const v1::SshdEffective& e : fact.effective()) {
      if (++n > kMaxOracleAccounts) break;
      if (per_account || n == 1) {
        shared = env.Run({"/usr/sbin/sshd", "-T", "-C",
                          absl::StrCat("user=", e.user(), ",host=", e.host(), ",addr=", e.addr(),
                                       ",lport=", e.local_port())},
                         absl::Seconds(10));
        if (!shared.ok()) {
          oracle.set_skipped_reason(std::string(shared.status().message()));
          return;
        }
        if (shared->exit_code != 0) {
          oracle.add_errors(absl::StrCat(
              e.user(), per_account ? "" : " (run once for every account)", ": sshd -T exited ",
              shared->exit_code, ": ", shared->err.substr(0, 300)));
          if (!per_account) return;
          continue;
        }
      }
      oracle.set_ran(true);
      for (v1::SshdOracleDiff& d : CompareWithSshdT(e, shared->out)) {
        *oracle.add_diffs() = std::move(d);
      }
    }
  }
};

}  // namespace

void ReadSshdConfig(HostEnv& env, const CollectOptions& options, absl::string_view main_file,
                    v1::SshdConfigFact& fact) {
  v1::Collection* collection = fact.mutable_collection();
  fact.set_main_file(std::string(main_file));
  auto data = env.ReadFile(main_file, options.max_file_bytes);
  if (!data.ok()) {
    NoteUnreadable(*collection, main_file, data.status());
    bool absent = absl::IsNotFound(data.status());
    collection->set_state(absent ? v1::Collection::ABSENT : v1::Collection::ERROR);
    collection->set_error(std::string(data.status().message()));
    return;
  }
  fact.add_files(std::string(main_file));
  SshdConfigReader(env, options).ParseFile(data->content, main_file, 0, 0, fact);
  collection->set_state(v1::Collection::OK);
}

std::map<std::string, std::vector<std::string>> ParseSshdT(absl::string_view output) {
  std::map<std::string, std::vector<std::string>> out;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    line = absl::StripAsciiWhitespace(line);
    size_t sp = line.find(' ');
    std::string keyword(line.substr(0, sp));
    std::string value(sp == absl::string_view::npos ? "" : line.substr(sp + 1));
    out[keyword].push_back(std::move(value));
  }
  return out;
}

std::vector<v1::SshdOracleDiff> CompareWithSshdT(const v1::SshdEffective& ours,
                                                 absl::string_view sshd_t_output) {
  std::map<std::string, std::vector<std::string>> theirs = ParseSshdT(sshd_t_output);
  std::vector<v1::SshdOracleDiff> diffs;
  for (const v1::SshdSetting& s : ours.settings()) {
    auto it = theirs.find(s.keyword());
    std::string mine;
    for (const std::string& v : s.values()) {
      absl::StrAppend(&mine, mine.empty() ? "" : " ", NormalizeSshdValue(s.keyword(), v));
    }
    std::string other;
    if (it != theirs.end()) {
      for (const std::string& v : it->second) {
        absl::StrAppend(&other, other.empty() ? "" : " ", NormalizeSshdValue(s.keyword(), v));
      }
    } else if (s.keyword() == "allowusers" || s.keyword() == "denyusers" ||
               s.keyword() == "allowgroups" || s.keyword() == "denygroups") {
      // sshd -T prints nothing for an empty list.
    } else {
      continue;  // not printed by this sshd build
    }
    if (mine == other) continue;
    v1::SshdOracleDiff d;
    d.set_user(ours.user());
    d.set_keyword(s.keyword());
    d.set_ours(mine);
    d.set_sshd(other);
    diffs.push_back(std::move(d));
  }
  return diffs;
}

std::unique_ptr<FactCollector> MakeSshdConfigCollector() {
  return std::make_unique<SshdConfigCollector>();
}

}  // namespace preflight::agent
