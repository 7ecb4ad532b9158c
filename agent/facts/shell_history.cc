#include "agent/facts/shell_history.h"

#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace preflight::agent {
namespace {

constexpr size_t kMaxLinesRecorded = 20;
constexpr size_t kMaxHistoryBytes = 64 << 20;

bool ContainsCaseless(absl::string_view haystack, absl::string_view needle) {
  return absl::StrContains(absl::AsciiStrToLower(haystack), absl::AsciiStrToLower(needle));
}

// NAME=value where NAME mentions a password, secret, token or key.
bool SecretAssignment(absl::string_view line) {
  std::string upper = absl::AsciiStrToUpper(line);
  for (size_t eq = upper.find('='); eq != std::string::npos; eq = upper.find('=', eq + 1)) {
    size_t start = eq;
    while (start > 0 && (absl::ascii_isalnum(upper[start - 1]) || upper[start - 1] == '_')) {
      --start;
    }
    absl::string_view name(upper.data() + start, eq - start);
    if (name.empty() || eq + 1 >= upper.size() || upper[eq + 1] == ' ') continue;
    for (absl::string_view w : {"PASSWORD", "PASSWD", "PASS", "SECRET", "TOKEN", "API_KEY",
                                "PRIVATE_KEY", "PASSPHRASE"}) {
      if (absl::StrContains(name, w)) return true;
    }
  }
  return false;
}

// scheme://user:password@host
bool UrlCredentials(absl::string_view line) {
  for (size_t p = line.find("://"); p != absl::string_view::npos; p = line.find("://", p + 3)) {
    absl::string_view rest = line.substr(p + 3);
    size_t end = rest.find_first_of(" \t'\"/");
    absl::string_view authority = rest.substr(0, end);
    size_t at = authority.find('@');
    if (at != absl::string_view::npos &&
        authority.substr(0, at).find(':') != absl::string_view::npos) {
      return true;
    }
  }
  return false;
}

bool AwsKey(absl::string_view line) {
  for (size_t p = line.find("AKIA"); p != absl::string_view::npos; p = line.find("AKIA", p + 4)) {
    if (p + 20 > line.size()) break;
    bool ok = true;
    for (size_t i = p + 4; i < p + 20; ++i) {
      ok &= absl::ascii_isupper(line[i]) || absl::ascii_isdigit(line[i]);
    }
    if (ok) return true;
  }
  return false;
}

struct Pattern {
  const char* name;
  bool (*match)(absl::string_view);
};

const Pattern kPatterns[] = {
    {"secret-assignment", SecretAssignment},
    {"passphrase-argument",
     [](absl::string_view l) {
       return ContainsCaseless(l, "--passphrase") || ContainsCaseless(l, "--password") ||
              ContainsCaseless(l, "-passin") || absl::StrContains(l, "sshpass -p");
     }},
    {"bearer-token",
     [](absl::string_view l) {
       return ContainsCaseless(l, "authorization: bearer") ||
              ContainsCaseless(l, "authorization: basic") || ContainsCaseless(l, "x-api-key");
     }},
    {"url-credentials", UrlCredentials},
    {"private-key-block",
     [](absl::string_view l) {
       return absl::StrContains(l, "-----BEGIN") && absl::StrContains(l, "PRIVATE KEY");
     }},
    {"cloud-key",
     [](absl::string_view l) {
       return AwsKey(l) || absl::StrContains(l, "ghp_") || absl::StrContains(l, "xoxb-") ||
              absl::StrContains(l, "glpat-");
     }},
    {"database-password-flag",
     [](absl::string_view l) {
       // mysql -pSECRET, mongosh -p SECRET / --password SECRET
       return (absl::StrContains(l, "mysql") && absl::StrContains(l, " -p") &&
               !absl::StrContains(l, " -p ")) ||
              ((absl::StrContains(l, "mongo") || absl::StrContains(l, "psql")) &&
               absl::StrContains(l, " -p "));
     }},
};

bool IsTimestampLine(absl::string_view line) {
  if (line.size() < 2 || line[0] != '#') return false;
  for (char c : line.substr(1)) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

}  // namespace

const std::vector<std::string>& HistoryFileNames() {
  static const std::vector<std::string> kNames = {".bash_history",
                                                  ".zsh_history",
                                                  ".sh_history",
                                                  ".python_history",
                                                  ".mysql_history",
                                                  ".psql_history",
                                                  ".mongosh/mongosh_repl_history",
                                                  ".dbshell",
                                                  ".node_repl_history",
                                                  ".rediscli_history",
                                                  ".lesshst"};
  return kNames;
}

std::vector<std::string> SecretPatternNames() {
  std::vector<std::string> out;
  for (const Pattern& p : kPatterns) out.emplace_back(p.name);
  return out;
}

std::vector<std::string> SecretPatternsIn(absl::string_view line) {
  std::vector<std::string> out;
  for (const Pattern& p : kPatterns) {
    if (p.match(line)) out.emplace_back(p.name);
  }
  return out;
}

void ScanHistory(absl::string_view content, v1::HistoryFile& file) {
  std::map<std::string, v1::SecretMatch> matches;
  uint32_t line_no = 0, commands = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_no;
    absl::string_view t = absl::StripAsciiWhitespace(line);
    if (t.empty() || IsTimestampLine(t)) continue;
    ++commands;
    for (const std::string& name : SecretPatternsIn(t)) {
      v1::SecretMatch& m = matches[name];
      m.set_pattern(name);
      m.set_count(m.count() + 1);
      if (static_cast<size_t>(m.lines_size()) < kMaxLinesRecorded) m.add_lines(line_no);
    }
  }
  file.set_lines(commands);
  for (auto& [name, m] : matches) *file.add_secrets() = std::move(m);
}

std::vector<std::string> HistfileOverrides(absl::string_view content, absl::string_view home) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumePrefix(&line, "export ");
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, "HISTFILE=")) continue;
    std::string v(absl::StripAsciiWhitespace(line.substr(0, line.find_first_of(" \t;#"))));
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
      v = v.substr(1, v.size() - 2);
    }
    if (absl::StartsWith(v, "~/")) v = absl::StrCat(home, v.substr(1));
    if (absl::StartsWith(v, "$HOME/")) v = absl::StrCat(home, v.substr(5));
    if (absl::StartsWith(v, "${HOME}/")) v = absl::StrCat(home, v.substr(7));
    if (v.empty() || v == "/dev/null" || v[0] != '/') continue;
    out.push_back(v);
  }
  return out;
}

namespace {

class ShellHistoryCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "shell_history"; }
  std::vector<absl::string_view> reads() const override { return {"accounts"}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::ShellHistoryFact& fact = *report.mutable_shell_history();
    v1::Collection* collection = fact.mutable_collection();
    const v1::AccountsFact& accounts = report.accounts();
    if (accounts.collection().state() != v1::Collection::OK) {
      collection->set_state(v1::Collection::ERROR);
      collection->set_error("accounts could not be read, so homes are unknown");
      return collection;
    }
    std::set<std::string> seen_homes;
    auto scan_home = [&](const std::string& account, const std::string& home, bool orphan) {
      if (home.empty() || home == "/" || !seen_homes.insert(home).second) return;
      std::vector<std::string> paths;
      for (const std::string& n : HistoryFileNames()) paths.push_back(absl::StrCat(home, "/", n));
      for (const char* rc : {".bashrc", ".profile", ".bash_profile", ".zshrc"}) {
        const std::string rc_path = absl::StrCat(home, "/", rc);
        auto data = env.ReadFile(rc_path, options.max_file_bytes);
        if (!data.ok()) {
          // It may move HISTFILE somewhere we then do not look.
          NoteUnreadable(*collection, rc_path, data.status());
          continue;
        }
        for (std::string& p : HistfileOverrides(data->content, home)) paths.push_back(std::move(p));
      }
      std::set<std::string> done;
      for (const std::string& path : paths) {
        if (!done.insert(path).second) continue;
        auto data = env.ReadFile(path, std::max<size_t>(options.max_file_bytes, kMaxHistoryBytes));
        if (!data.ok()) {
          // An unread history may hold anything: not "cleared".
          NoteUnreadable(*collection, path, data.status());
          continue;
        }
        v1::HistoryFile* f = fact.add_files();
        f->set_account(account);
        f->set_path(path);
        f->set_uid(data->info.uid);
        f->set_size_bytes(data->content.size());
        f->set_mtime_unix(data->info.mtime_unix);
        f->set_orphan(orphan);
        ScanHistory(data->content, *f);
      }
    };
    for (const v1::Account& a : accounts.accounts()) {
      if (a.home_exists()) {
        scan_home(a.name(), a.home(), false);
      } else if (!a.home().empty()) {
        // "No home" must mean it does not exist, not that it could not be
        // looked at.
        NoteUnreadable(*collection, a.home(), env.Stat(a.home()).status());
      }
    }
    for (const v1::Orphan& o : accounts.orphans()) {
      if (o.kind() == v1::Orphan::HOME) scan_home(o.name(), o.path(), true);
    }
    collection->set_state(v1::Collection::OK);
    return collection;
  }
};

}  // namespace

std::unique_ptr<FactCollector> MakeShellHistoryCollector() {
  return std::make_unique<ShellHistoryCollector>();
}

}  // namespace preflight::agent
