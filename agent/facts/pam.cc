#include "agent/facts/pam.h"

#include <map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace preflight::agent {
namespace {

constexpr size_t kMaxRules = 1000;
// Include nesting (include and @include do not raise the substack level);
// libpam itself has no limit and would recurse until it fails.
constexpr int kMaxIncludes = 32;
// libpam names a line without a module this way.
constexpr absl::string_view kUnknownModule = "<*unknown module*>";

std::string Basename(absl::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

struct LogicalLine {
  uint32_t line = 0;  // the first physical line
  std::string text;
};

// Joins lines as libpam's _pam_assemble_line does: blank lines and lines
// starting with '#' are skipped (also inside a continuation), a '#' ends the
// line, a trailing backslash continues it. *complete is false when the file
// ends inside a continuation (libpam then stops reading it with an error).
std::vector<LogicalLine> AssembleLines(absl::string_view content, bool* complete) {
  std::vector<LogicalLine> out;
  LogicalLine cur;
  bool open = false;
  uint32_t n = 0;
  *complete = true;
  for (absl::string_view raw : absl::StrSplit(content, '\n')) {
    ++n;
    size_t start = raw.find_first_not_of(" \t");
    if (start == absl::string_view::npos || raw[start] == '#') continue;
    absl::string_view s = raw.substr(start);
    if (!open) cur = LogicalLine{n, ""};
    size_t hash = s.find('#');
    if (hash != absl::string_view::npos) {
      absl::StrAppend(&cur.text, s.substr(0, hash));
      out.push_back(std::move(cur));
      open = false;
      continue;
    }
    size_t end = s.find_last_not_of(" \t");
    if (end != absl::string_view::npos && s[end] == '\\') {
      absl::StrAppend(&cur.text, s.substr(0, end), " ");
      open = true;
      continue;
    }
    absl::StrAppend(&cur.text, s);
    out.push_back(std::move(cur));
    open = false;
  }
  if (open) *complete = false;
  return out;
}

// Splits a logical line into tokens as libpam's _pam_StrTok does: blanks are
// space, tab and newline; a token starting with '[' runs to the first ']'
// ("\]" stands for ']') and is returned without the brackets (*bracketed).
std::vector<std::pair<std::string, bool>> PamTokens(absl::string_view line) {
  std::vector<std::pair<std::string, bool>> out;
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n'; };
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && blank(line[i])) ++i;
    if (i >= line.size()) break;
    if (line[i] == '[') {
      std::string tok;
      size_t j = i + 1;
      for (; j < line.size() && line[j] != ']'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size() && line[j + 1] == ']') ++j;
        tok.push_back(line[j]);
      }
      out.emplace_back(std::move(tok), true);
      i = j + 1;  // past ']' (or the end)
    } else {
      size_t j = i;
      while (j < line.size() && !blank(line[j])) ++j;
      out.emplace_back(std::string(line.substr(i, j - i)), false);
      i = j + 1;
    }
  }
  return out;
}

bool ValidType(absl::string_view lower) {
  return lower == "auth" || lower == "account" || lower == "session" || lower == "password";
}

// ParsePamStack; *complete is false when libpam would stop reading the file
// with an error (it then keeps the rules read so far and fails the include).
void ParseStack(absl::string_view content, absl::string_view file, absl::string_view only_type,
                uint32_t depth, v1::PamFact& fact, const PamFollowFn& follow, bool* complete) {
  // Commented-out "@include common-auth": the summary notes it.
  for (absl::string_view raw : absl::StrSplit(content, '\n')) {
    absl::string_view line = absl::StripLeadingAsciiWhitespace(raw);
    if (!absl::ConsumePrefix(&line, "#")) continue;
    line = absl::StripLeadingAsciiWhitespace(line);
    if (absl::StartsWith(line, "@include") && absl::StrContains(line, "common-auth")) {
      fact.set_common_auth_commented(true);
    }
  }
  auto add_rule = [&](const std::string& type, uint32_t line) -> v1::PamRule* {
    if (static_cast<size_t>(fact.rules_size()) >= kMaxRules) return nullptr;
    v1::PamRule* r = fact.add_rules();
    r->set_type(type);
    r->set_file(std::string(file));
    r->set_line(line);
    r->set_depth(depth);
    return r;
  };
  for (const LogicalLine& ll : AssembleLines(content, complete)) {
    auto tokens = PamTokens(ll.text);
    if (tokens.empty()) continue;
    const std::string& first = tokens[0].first;
    if (!tokens[0].second && first == "@include") {
      PamInclude inc;
      inc.name = tokens.size() > 1 ? tokens[1].first : "";
      inc.type = std::string(only_type);
      inc.at_include = true;
      inc.depth = depth;
      if (inc.name == "common-auth" && (only_type.empty() || only_type == "auth")) {
        fact.set_common_auth_included(true);
      }
      if (follow) follow(inc);
      continue;
    }
    bool silent = absl::StartsWith(first, "-");
    std::string type = absl::AsciiStrToLower(silent ? first.substr(1) : first);
    std::string must_fail;
    if (!ValidType(type)) {
      must_fail = absl::StrCat("illegal module type '", first, "'");
      type = only_type.empty() ? "auth" : std::string(only_type);
    }
    if (!only_type.empty() && type != only_type) continue;
    if (tokens.size() < 2) {
      v1::PamRule* r = add_rule(type, ll.line);
      if (r == nullptr) break;
      r->set_module(std::string(kUnknownModule));
      r->set_optional_module(silent);
      r->set_must_fail("no control flag");
      continue;
    }
    const auto& [control_tok, bracketed] = tokens[1];
    std::string control = bracketed ? absl::StrCat("[", control_tok, "]") : control_tok;
    std::string lower = absl::AsciiStrToLower(control_tok);
    if (!bracketed && (lower == "include" || lower == "substack")) {
      PamInclude inc;
      inc.name = tokens.size() > 2 ? tokens[2].first : "";
      inc.type = type;
      inc.substack = lower == "substack";
      inc.depth = depth + (inc.substack ? 1 : 0);
      if (type == "auth" && inc.name == "common-auth") fact.set_common_auth_included(true);
      if (inc.substack) {
        v1::PamRule* p = add_rule(type, ll.line);
        if (p == nullptr) break;
        p->set_control("substack");
        p->set_module(inc.name.empty() ? std::string(kUnknownModule) : inc.name);
      }
      bool loaded = follow ? follow(inc) : false;
      if (loaded) continue;
      v1::PamRule* r = add_rule(type, ll.line);
      if (r == nullptr) break;
      r->set_control(control);
      r->set_module(inc.name.empty() ? std::string(kUnknownModule) : inc.name);
      r->set_must_fail(inc.name.empty()
                           ? absl::StrCat(control_tok, " without a file name")
                           : absl::StrCat(control_tok, " ", inc.name, " could not be loaded"));
      continue;
    }
    v1::PamRule* r = add_rule(type, ll.line);
    if (r == nullptr) break;
    r->set_control(control);
    r->set_optional_module(silent);
    if (tokens.size() < 3) {
      r->set_module(std::string(kUnknownModule));
      if (must_fail.empty()) must_fail = "no module name";
    } else {
      r->set_module(tokens[2].first);
      for (size_t i = 3; i < tokens.size(); ++i) r->add_args(tokens[i].first);
    }
    r->set_must_fail(must_fail);
  }
}

}  // namespace

void ParsePamStack(absl::string_view content, absl::string_view file, absl::string_view only_type,
                   uint32_t depth, v1::PamFact& fact, const PamFollowFn& follow) {
  bool complete = true;
  ParseStack(content, file, only_type, depth, fact, follow, &complete);
}

void ParsePam(absl::string_view content, absl::string_view file, absl::string_view only_type,
              v1::PamFact& fact, const PamIncludeFn& on_include) {
  ParsePamStack(content, file, only_type, 0, fact, [&](const PamInclude& inc) {
    if (on_include && !inc.name.empty()) on_include(inc.name, inc.type);
    return true;
  });
}

void SummarizePam(v1::PamFact& fact) {
  for (const v1::PamRule& r : fact.rules()) {
    if (r.type() != "auth" || r.control() == "substack") continue;
    std::string module = Basename(r.module());
    if (module == "pam_google_authenticator.so") {
      fact.set_google_authenticator(true);
      for (const std::string& a : r.args()) {
        if (a == "nullok") fact.set_google_authenticator_nullok(true);
      }
    }
    if (module == "pam_unix.so") fact.set_unix_password_auth(true);
  }
}

namespace {

class PamCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "pam"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::PamFact& fact = *report.mutable_pam();
    v1::Collection* collection = fact.mutable_collection();
    fact.set_file("/etc/pam.d/sshd");
    auto data = env.ReadFile("/etc/pam.d/sshd", options.max_file_bytes);
    if (!data.ok()) {
      collection->set_state(absl::IsNotFound(data.status()) ? v1::Collection::ABSENT
                                                            : v1::Collection::ERROR);
      collection->set_error(absl::StrCat("/etc/pam.d/sshd: ", data.status().message()));
      return collection;
    }
    fact.add_files("/etc/pam.d/sshd");
    bool complete = true;
    ParseStack(
        data->content, "/etc/pam.d/sshd", "", 0, fact,
        [&](const PamInclude& inc) { return Follow(env, options, inc, 1, fact); }, &complete);
    if (!complete && fact.load_error().empty()) {
      fact.set_load_error("/etc/pam.d/sshd ends inside a continued line: libpam aborts");
    }
    ResolveModules(env, fact);
    SummarizePam(fact);
    fact.set_structured(true);
    // A file libpam would read but we could not is in Collection.unreadable
    // (Follow): what it holds may let a login through, so the checks on this
    // fact are UNKNOWN naming it and its error.
    collection->set_state(v1::Collection::OK);
    return collection;
  }

 private:
  bool Follow(HostEnv& env, const CollectOptions& options, const PamInclude& inc, int nesting,
              v1::PamFact& fact) {
    std::string what = inc.at_include ? "@include" : (inc.substack ? "substack" : "include");
    auto fail_load = [&](const std::string& why) {
      // Debian's @include aborts loading the whole configuration.
      if (inc.at_include && fact.load_error().empty()) {
        fact.set_load_error(absl::StrCat(what, " ", inc.name, ": ", why));
      }
      return false;
    };
    if (inc.name.empty()) return fail_load("no file name");
    if (inc.depth >= kPamMaxSubstackLevel) return fail_load("substacks nested too deep");
    std::string path = inc.name[0] == '/' ? inc.name : absl::StrCat("/etc/pam.d/", inc.name);
    if (nesting > kMaxIncludes) {
      v1::ParseProblem* p = fact.add_problems();
      p->set_file(path);
      p->set_message(absl::StrCat("includes nested more than ", kMaxIncludes, " deep"));
      NoteUnreadable(*fact.mutable_collection(), path,
                     absl::FailedPreconditionError(absl::StrCat("includes nested more than ",
                                                                kMaxIncludes, " deep (a loop?)")));
      return false;
    }
    auto data = env.ReadFile(path, options.max_file_bytes);
    if (!data.ok()) {
      NoteUnreadable(*fact.mutable_collection(), path, data.status());
      return fail_load(absl::IsNotFound(data.status()) ? "not found"
                                                       : std::string(data.status().message()));
    }
    fact.add_files(path);
    bool complete = true;
    ParseStack(
        data->content, path, inc.type, inc.depth, fact,
        [&](const PamInclude& next) { return Follow(env, options, next, nesting + 1, fact); },
        &complete);
    if (!complete) return fail_load("ends inside a continued line");
    return true;
  }

  void ResolveModules(HostEnv& env, v1::PamFact& fact) {
    std::map<std::string, std::pair<v1::PamRule::ModuleState, std::string>> cache;
    for (v1::PamRule& r : *fact.mutable_rules()) {
      if (!r.must_fail().empty() || r.control() == "substack") continue;
      auto it = cache.find(r.module());
      if (it == cache.end()) {
        it = cache.emplace(r.module(), Resolve(env, r.module())).first;
      }
      r.set_module_state(it->second.first);
      r.set_module_path(it->second.second);
    }
  }

  std::pair<v1::PamRule::ModuleState, std::string> Resolve(HostEnv& env,
                                                           const std::string& module) {
    std::vector<std::string> candidates;
    if (!module.empty() && module[0] == '/') {
      candidates.push_back(module);
    } else {
      candidates.push_back(absl::StrCat(kPamModuleDir, module));
      candidates.push_back(absl::StrCat(kPamModuleDirUsr, module));
    }
    for (const std::string& c : candidates) {
      auto st = env.Stat(c);
      if (st.ok()) {
        if (st->type == FileInfo::Type::kRegular || st->type == FileInfo::Type::kSymlink) {
          return {v1::PamRule::MODULE_PRESENT, c};
        }
        continue;
      }
      if (!absl::IsNotFound(st.status())) return {v1::PamRule::MODULE_UNREADABLE, c};
    }
    return {v1::PamRule::MODULE_MISSING, candidates[0]};
  }
};

}  // namespace

std::unique_ptr<FactCollector> MakePamCollector() { return std::make_unique<PamCollector>(); }

}  // namespace preflight::agent
