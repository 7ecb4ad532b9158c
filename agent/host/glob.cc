#include "agent/host/glob.h"

#include <fnmatch.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace preflight::agent {
namespace {

// Intermediate directories kept per level, whatever `limit` is: a pattern
// like /*/*/*/* must not walk a whole file system.
constexpr size_t kMinIntermediate = 10'000;

// A component without metacharacters: glob(3) removes backslash escapes.
std::string Unescape(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out.push_back(s[i]);
  }
  return out;
}

bool MaybeDirectory(FileInfo::Type t) {
  return t == FileInfo::Type::kDirectory || t == FileInfo::Type::kSymlink;
}

}  // namespace

bool HasGlobChars(absl::string_view s) { return s.find_first_of("*?[") != absl::string_view::npos; }

std::vector<std::string> ExpandGlob(HostEnv& env, absl::string_view pattern, size_t limit,
                                    bool* truncated) {
  if (truncated != nullptr) *truncated = false;
  if (pattern.empty() || pattern[0] != '/' || limit == 0) return {};
  // A NUL would end the pattern for glob(3); a path never holds one.
  pattern = pattern.substr(0, pattern.find('\0'));
  const bool only_dirs = pattern.size() > 1 && pattern.back() == '/';
  std::vector<std::string> parts = absl::StrSplit(pattern, '/', absl::SkipEmpty());
  if (parts.empty()) {
    if (env.Stat("/").ok()) return {"/"};
    return {};
  }
  const size_t intermediate_cap = std::max(limit, kMinIntermediate);
  bool cut = false;
  // Prefixes matched so far; "" stands for the root.
  std::vector<std::string> current = {""};
  for (size_t k = 0; k < parts.size() && !current.empty(); ++k) {
    const bool last = k + 1 == parts.size();
    const size_t cap = last ? limit + 1 : intermediate_cap;
    const std::string& part = parts[k];
    std::vector<std::string> next;
    if (!HasGlobChars(part)) {
      const std::string literal = Unescape(part);
      for (const std::string& prefix : current) {
        std::string path = absl::StrCat(prefix, "/", literal);
        if (last) {
          auto st = env.Stat(path);
          if (!st.ok()) continue;
          if (only_dirs && !MaybeDirectory(st->type)) continue;
        }
        next.push_back(std::move(path));
        if (next.size() >= cap) break;
      }
    } else {
      for (const std::string& prefix : current) {
        auto entries = env.ListDir(prefix.empty() ? "/" : prefix);
        if (!entries.ok()) continue;  // unreadable or not a directory: skipped
        for (const DirEntry& e : *entries) {
          if (fnmatch(part.c_str(), e.name.c_str(), FNM_PERIOD) != 0) continue;
          if ((!last || only_dirs) && !MaybeDirectory(e.type)) continue;
          next.push_back(absl::StrCat(prefix, "/", e.name));
          if (next.size() >= cap) break;
        }
        if (next.size() >= cap) break;
      }
    }
    if (!last && next.size() >= cap) cut = true;
    current = std::move(next);
  }
  if (only_dirs) {
    for (std::string& p : current) p.push_back('/');
  }
  std::sort(current.begin(), current.end());
  if (current.size() > limit) {
    current.resize(limit);
    cut = true;
  }
  if (truncated != nullptr) *truncated = cut;
  return current;
}

}  // namespace preflight::agent
