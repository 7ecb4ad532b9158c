#include "agent/facts/sshd_config.h"

#include <fnmatch.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

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
      match_block = static_cast<uint32_t>(fact.match_blocks_size());
    }
    v1::SshdDirective* d = fact.add_directives();
    d->set_keyword(lower);
    for (std::string& a : *args) d->add_args(std::move(a));
    d->set_file(std::string(file));
    d->set_line(line_no);
    d->set_match_block(match_block);
    if (lower == "include" && on_include) {
      on_include(std::vector<std::string>(d->args().begin(), d->args().end()), line_no,
                 match_block);
    }
  }
}

namespace {

constexpr int kMaxIncludeDepth = 16;

bool HasGlob(absl::string_view s) { return s.find_first_of("*?[") != absl::string_view::npos; }

class SshdConfigCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "sshd"; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::SshdConfigFact& fact = *report.mutable_sshd();
    v1::Collection* collection = fact.mutable_collection();
    fact.set_main_file(std::string(kMainFile));
    auto data = env.ReadFile(kMainFile, options.max_file_bytes);
    if (!data.ok()) {
      bool absent = absl::IsNotFound(data.status());
      collection->set_state(absent ? v1::Collection::ABSENT : v1::Collection::ERROR);
      collection->set_error(std::string(data.status().message()));
      return collection;
    }
    fact.add_files(std::string(kMainFile));
    ParseFile(env, options, data->content, kMainFile, 0, 0, fact);
    collection->set_state(v1::Collection::OK);
    return collection;
  }

 private:
  void ParseFile(HostEnv& env, const CollectOptions& options, absl::string_view content,
                 absl::string_view file, int depth, uint32_t match_block,
                 v1::SshdConfigFact& fact) {
    ParseSshdConfig(content, file, fact, match_block,
                    [&](const std::vector<std::string>& args, uint32_t line, uint32_t block) {
                      for (const std::string& arg : args) {
                        Include(env, options, arg, file, line, depth + 1, block, fact);
                      }
                    });
  }

  void Include(HostEnv& env, const CollectOptions& options, const std::string& arg,
               absl::string_view from, uint32_t line, int depth, uint32_t block,
               v1::SshdConfigFact& fact) {
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
      auto entries = env.ListDir(dir);
      if (!entries.ok()) {
        if (!absl::IsNotFound(entries.status())) {
          problem(absl::StrCat("Include ", arg, ": ", entries.status().message()));
        }
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
      auto data = env.ReadFile(f, options.max_file_bytes);
      if (!data.ok()) {
        if (!absl::IsNotFound(data.status())) problem(std::string(data.status().message()));
        continue;
      }
      fact.add_files(f);
      ParseFile(env, options, data->content, f, depth, block, fact);
    }
  }
};

}  // namespace

std::unique_ptr<FactCollector> MakeSshdConfigCollector() {
  return std::make_unique<SshdConfigCollector>();
}

}  // namespace preflight::agent
