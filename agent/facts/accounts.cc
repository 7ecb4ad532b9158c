#include "agent/facts/accounts.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/facts/mask.h"

namespace preflight::agent {
namespace {

constexpr size_t kMaxEntries = 100'000;
constexpr const char* kPrivilegedGroups[] = {"root", "sudo", "admin", "wheel", "docker"};

v1::ParseProblem Problem(absl::string_view file, uint32_t line, std::string message) {
  v1::ParseProblem p;
  p.set_file(std::string(file));
  p.set_line(line);
  p.set_message(std::move(message));
  return p;
}

// Lines of a colon file, skipping blanks and comments; calls fn(fields, line).
template <typename Fn>
void ForEachRecord(absl::string_view content, Fn fn) {
  uint32_t line_no = 0;
  size_t n = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_no;
    line = absl::StripTrailingAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    if (++n > kMaxEntries) break;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ':');
    fn(fields, line_no);
  }
}

}  // namespace

std::vector<PasswdEntry> ParsePasswd(absl::string_view content, absl::string_view file,
                                     std::vector<v1::ParseProblem>& problems) {
  std::vector<PasswdEntry> out;
  ForEachRecord(content, [&](const std::vector<absl::string_view>& f, uint32_t line) {
    PasswdEntry e;
    if (f.size() != 7 || f[0].empty() || !absl::SimpleAtoi(f[2], &e.uid) ||
        !absl::SimpleAtoi(f[3], &e.gid)) {
      problems.push_back(Problem(file, line, "malformed passwd line"));
      return;
    }
    e.name = std::string(f[0]);
    e.home = std::string(f[5]);
    e.shell = std::string(f[6]);
    e.line = line;
    out.push_back(std::move(e));
  });
  return out;
}

std::vector<GroupEntry> ParseGroup(absl::string_view content, absl::string_view file,
                                   std::vector<v1::ParseProblem>& problems) {
  std::vector<GroupEntry> out;
  ForEachRecord(content, [&](const std::vector<absl::string_view>& f, uint32_t line) {
    GroupEntry g;
    if (f.size() != 4 || f[0].empty() || !absl::SimpleAtoi(f[2], &g.gid)) {
      problems.push_back(Problem(file, line, "malformed group line"));
      return;
    }
    g.name = std::string(f[0]);
    for (absl::string_view m : absl::StrSplit(f[3], ',', absl::SkipEmpty())) {
      g.members.emplace_back(absl::StripAsciiWhitespace(m));
    }
    g.line = line;
    out.push_back(std::move(g));
  });
  return out;
}

v1::PasswordState PasswordStateOf(absl::string_view hash) {
  if (hash.empty()) return v1::PASSWORD_EMPTY;
  if (hash[0] == '!' || hash[0] == '*') return v1::PASSWORD_LOCKED;
  return v1::PASSWORD_SET;
}

std::map<std::string, v1::PasswordState> ParseShadow(absl::string_view content) {
  std::map<std::string, v1::PasswordState> out;
  ForEachRecord(content, [&](const std::vector<absl::string_view>& f, uint32_t) {
    if (f.size() < 2 || f[0].empty()) return;
    out[std::string(f[0])] = PasswordStateOf(f[1]);
  });
  return out;
}

bool IsLoginShell(absl::string_view shell) {
  if (shell.empty()) return true;  // login(1) uses /bin/sh
  for (absl::string_view no : {"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false",
                               "/bin/sync", "/usr/bin/sync"}) {
    if (shell == no) return false;
  }
  return true;
}

bool SudoReadsDropIn(absl::string_view name) {
  return !name.empty() && name.back() != '~' && name.find('.') == absl::string_view::npos;
}

void ParseSudoers(absl::string_view content, absl::string_view file,
                  std::vector<v1::SudoRule>& rules, std::vector<std::string>& includes,
                  std::map<std::string, std::vector<std::string>>& user_aliases,
                  std::vector<v1::ParseProblem>& problems) {
  // Join continuation lines, remembering where each logical line starts.
  std::vector<std::pair<uint32_t, std::string>> logical;
  uint32_t line_no = 0;
  std::string pending;
  uint32_t pending_start = 0;
  for (absl::string_view raw : absl::StrSplit(content, '\n')) {
    ++line_no;
    if (logical.size() > kMaxEntries) break;
    absl::string_view line = absl::StripTrailingAsciiWhitespace(raw);
    if (pending.empty()) pending_start = line_no;
    if (!line.empty() && line.back() == '\\') {
      line.remove_suffix(1);
      absl::StrAppend(&pending, line, " ");
      continue;
    }
    absl::StrAppend(&pending, line);
    logical.emplace_back(pending_start, std::move(pending));
    pending.clear();
  }
  for (auto& [start, text] : logical) {
    absl::string_view line = absl::StripAsciiWhitespace(text);
    if (line.empty()) continue;
    if (absl::StartsWith(line, "#include") || absl::StartsWith(line, "@include")) {
      absl::string_view rest = line.substr(1);
      includes.push_back(std::string(rest));
      continue;
    }
    if (line[0] == '#') continue;
    // Strip a trailing comment.
    size_t hash = line.find('#');
    if (hash != absl::string_view::npos) line = absl::StripAsciiWhitespace(line.substr(0, hash));
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::MaxSplits(absl::ByAnyChar(" \t"), 1), absl::SkipEmpty());
    if (words.empty()) continue;
    absl::string_view first = words[0];
    if (absl::StartsWith(first, "Defaults") || first == "Host_Alias" || first == "Cmnd_Alias" ||
        first == "Cmd_Alias" || first == "Runas_Alias") {
      continue;
    }
    if (first == "User_Alias") {
      if (words.size() < 2) continue;
      for (absl::string_view def : absl::StrSplit(words[1], ':')) {
        size_t eq = def.find('=');
        if (eq == absl::string_view::npos) continue;
        std::string name(absl::StripAsciiWhitespace(def.substr(0, eq)));
        for (absl::string_view m : absl::StrSplit(def.substr(eq + 1), ',', absl::SkipEmpty())) {
          user_aliases[name].emplace_back(absl::StripAsciiWhitespace(m));
        }
      }
      continue;
    }
    if (words.size() < 2 || words[1].find('=') == absl::string_view::npos) {
      problems.push_back(Problem(file, start, "not a sudoers user specification"));
      continue;
    }
    absl::string_view spec = words[1];
    // Commands follow the first '=' and an optional (runas) list.
    absl::string_view commands = absl::StripAsciiWhitespace(spec.substr(spec.find('=') + 1));
    if (absl::StartsWith(commands, "(")) {
      size_t close = commands.find(')');
      commands = close == absl::string_view::npos
                     ? absl::string_view()
                     : absl::StripAsciiWhitespace(commands.substr(close + 1));
    }
    bool nopasswd = false;
    // Tags: NOPASSWD: PASSWD: SETENV: ... before the commands.
    while (true) {
      size_t colon = commands.find(':');
      if (colon == absl::string_view::npos) break;
      absl::string_view tag = commands.substr(0, colon);
      if (tag.empty() || !std::all_of(tag.begin(), tag.end(),
                                      [](char c) { return absl::ascii_isupper(c) || c == '_'; })) {
        break;
      }
      if (tag == "NOPASSWD") nopasswd = true;
      if (tag == "PASSWD") nopasswd = false;
      commands = absl::StripAsciiWhitespace(commands.substr(colon + 1));
    }
    bool all = false, denies_su = false;
    for (absl::string_view c : absl::StrSplit(commands, ',')) {
      c = absl::StripAsciiWhitespace(c);
      if (c == "ALL") all = true;
      if (c == "!/usr/bin/su" || c == "!/bin/su") denies_su = true;
    }
    for (absl::string_view who : absl::StrSplit(words[0], ',', absl::SkipEmpty())) {
      v1::SudoRule r;
      r.set_who(std::string(absl::StripAsciiWhitespace(who)));
      r.set_file(std::string(file));
      r.set_line(start);
      r.set_nopasswd(nopasswd);
      r.set_all_commands(all);
      r.set_denies_su(denies_su);
      r.set_commands(MaskSudoersCommands(commands));  // secrets masked (mask.h)
      rules.push_back(std::move(r));
    }
  }
}

namespace {

class AccountsCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "accounts"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::AccountsFact& fact = *report.mutable_accounts();
    v1::Collection* collection = fact.mutable_collection();
    std::vector<v1::ParseProblem> problems;

    auto passwd = env.ReadFile("/etc/passwd", options.max_file_bytes);
    if (!passwd.ok()) {
      NoteUnreadable(*collection, "/etc/passwd", passwd.status());
      collection->set_state(absl::IsNotFound(passwd.status()) ? v1::Collection::ABSENT
                                                              : v1::Collection::ERROR);
      collection->set_error(std::string(passwd.status().message()));
      return collection;
    }
    fact.add_files("/etc/passwd");
    std::vector<PasswdEntry> users = ParsePasswd(passwd->content, "/etc/passwd", problems);

    std::map<std::string, v1::PasswordState> shadow;
    auto shadow_file = env.ReadFile("/etc/shadow", options.max_file_bytes);
    if (shadow_file.ok()) {
      fact.add_files("/etc/shadow");
      shadow = ParseShadow(shadow_file->content);
    } else if (!NoteUnreadable(*collection, "/etc/shadow", shadow_file.status())) {
      problems.push_back(
          Problem("/etc/shadow", 0,
                  absl::StrCat("password states unknown: ", shadow_file.status().message())));
    }

    std::vector<GroupEntry> groups;
    auto group_file = env.ReadFile("/etc/group", options.max_file_bytes);
    if (group_file.ok()) {
      fact.add_files("/etc/group");
      groups = ParseGroup(group_file->content, "/etc/group", problems);
    } else if (!NoteUnreadable(*collection, "/etc/group", group_file.status())) {
      problems.push_back(Problem("/etc/group", 0, std::string(group_file.status().message())));
    }

    std::vector<v1::SudoRule> rules;
    std::map<std::string, std::vector<std::string>> aliases;
    std::map<std::string, std::vector<std::string>> drop_in_whos;  // file -> who
    ReadSudoers(env, options, "/etc/sudoers", 0, rules, aliases, drop_in_whos, fact, problems);
    // Reads whose failure hides a fact a check judges (a home, enrolment in
    // 2FA, an orphan home's keys) make the accounts fact unusable.
    auto stat_or_note = [&](const std::string& path) {
      absl::StatusOr<FileInfo> st = env.Stat(path);
      NoteUnreadable(*collection, path, st.status());
      return st;
    };

    std::set<std::string> names, homes;
    for (const PasswdEntry& u : users) {
      names.insert(u.name);
      homes.insert(u.home);
      v1::Account* a = fact.add_accounts();
      a->set_name(u.name);
      a->set_uid(u.uid);
      a->set_gid(u.gid);
      a->set_home(u.home);
      a->set_shell(u.shell);
      a->set_login_shell(IsLoginShell(u.shell));
      a->set_passwd_source(absl::StrCat("/etc/passwd:", u.line));
      auto s = shadow.find(u.name);
      a->set_password(shadow_file.ok() ? (s == shadow.end() ? v1::PASSWORD_NO_SHADOW : s->second)
                                       : v1::PASSWORD_STATE_UNSPECIFIED);
      std::set<std::string> member_of;
      for (const GroupEntry& g : groups) {
        if (g.gid == u.gid ||
            std::find(g.members.begin(), g.members.end(), u.name) != g.members.end()) {
          member_of.insert(g.name);
        }
      }
      for (const std::string& g : member_of) a->add_groups(g);
      auto home = stat_or_note(u.home.empty() ? "/" : u.home);
      a->set_home_exists(home.ok() && home->type == FileInfo::Type::kDirectory);
      if (a->home_exists()) {
        a->set_google_authenticator(
            stat_or_note(absl::StrCat(u.home, "/.google_authenticator")).ok());
      }
      for (const v1::SudoRule& r : rules) {
        if (RuleNames(r.who(), u.name, member_of, aliases)) *a->add_sudo() = r;
      }
    }

    for (const char* pg : kPrivilegedGroups) {
      for (const GroupEntry& g : groups) {
        if (g.name != pg) continue;
        v1::GroupMembers* m = fact.add_privileged_groups();
        m->set_group(g.name);
        m->set_gid(g.gid);
        m->set_source(absl::StrCat("/etc/group:", g.line));
        std::set<std::string> members(g.members.begin(), g.members.end());
        for (const PasswdEntry& u : users) {
          if (u.gid == g.gid) members.insert(u.name);
        }
        for (const std::string& n : members) m->add_members(n);
      }
    }
    for (v1::SudoRule& r : rules) *fact.add_sudo_rules() = std::move(r);

    // Homes under /home whose account is gone.
    auto home_entries = env.ListDir("/home");
    NoteUnreadable(*collection, "/home", home_entries.status());
    if (home_entries.ok()) {
      for (const DirEntry& e : *home_entries) {
        if (e.type != FileInfo::Type::kDirectory) continue;
        std::string path = absl::StrCat("/home/", e.name);
        if (homes.count(path) || names.count(e.name)) continue;
        v1::Orphan* o = fact.add_orphans();
        o->set_kind(v1::Orphan::HOME);
        o->set_path(path);
        o->set_name(e.name);
        o->set_has_authorized_keys(stat_or_note(path + "/.ssh/authorized_keys").ok() ||
                                   stat_or_note(path + "/.ssh/authorized_keys2").ok());
      }
    }
    // Sudoers drop-ins whose every named user is gone.
    for (const auto& [file, whos] : drop_in_whos) {
      std::vector<std::string> gone;
      for (const std::string& w : whos) {
        if (w.empty() || w[0] == '%' || w == "ALL" || aliases.count(w) || names.count(w)) continue;
        gone.push_back(w);
      }
      if (gone.empty() || gone.size() != whos.size()) continue;
      v1::Orphan* o = fact.add_orphans();
      o->set_kind(v1::Orphan::SUDOERS_DROP_IN);
      o->set_path(file);
      o->set_name(absl::StrJoin(gone, ","));
    }

    for (v1::ParseProblem& p : problems) *fact.add_problems() = std::move(p);
    collection->set_state(v1::Collection::OK);
    return collection;
  }

 private:
  static bool RuleNames(const std::string& who, const std::string& user,
                        const std::set<std::string>& groups,
                        const std::map<std::string, std::vector<std::string>>& aliases) {
    if (who == user) return true;
    if (who == "ALL") return false;  // a rule for every user is not attributed to one
    if (!who.empty() && who[0] == '%') return groups.count(who.substr(1)) > 0;
    auto it = aliases.find(who);
    if (it == aliases.end()) return false;
    for (const std::string& m : it->second) {
      if (m == user || (!m.empty() && m[0] == '%' && groups.count(m.substr(1)))) return true;
    }
    return false;
  }

  void ReadSudoers(HostEnv& env, const CollectOptions& options, const std::string& path, int depth,
                   std::vector<v1::SudoRule>& rules,
                   std::map<std::string, std::vector<std::string>>& aliases,
                   std::map<std::string, std::vector<std::string>>& drop_in_whos,
                   v1::AccountsFact& fact, std::vector<v1::ParseProblem>& problems) {
    if (depth > 8) return;
    auto data = env.ReadFile(path, options.max_file_bytes);
    if (!data.ok()) {
      // An unread sudoers file may grant anything.
      if (NoteUnreadable(*fact.mutable_collection(), path, data.status())) return;
      if (depth == 0) {
        problems.push_back(Problem(path, 0, std::string(data.status().message())));
      }
      return;
    }
    fact.add_files(path);
    std::vector<std::string> includes;
    size_t before = rules.size();
    ParseSudoers(data->content, path, rules, includes, aliases, problems);
    if (depth > 0) {
      for (size_t i = before; i < rules.size(); ++i) drop_in_whos[path].push_back(rules[i].who());
    }
    for (const std::string& inc : includes) {
      std::vector<absl::string_view> parts =
          absl::StrSplit(inc, absl::MaxSplits(absl::ByAnyChar(" \t"), 1), absl::SkipEmpty());
      if (parts.size() != 2) continue;
      std::string target(absl::StripAsciiWhitespace(parts[1]));
      if (!target.empty() && target[0] != '/') target = absl::StrCat("/etc/", target);
      if (parts[0] == "includedir") {
        auto entries = env.ListDir(target);
        if (!entries.ok()) {
          NoteUnreadable(*fact.mutable_collection(), target, entries.status());
          continue;
        }
        for (const DirEntry& e : *entries) {
          if (!SudoReadsDropIn(e.name)) {
            problems.push_back(Problem(absl::StrCat(target, "/", e.name), 0,
                                       "ignored by sudo: its name contains '.' or ends in '~'"));
            continue;
          }
          ReadSudoers(env, options, absl::StrCat(target, "/", e.name), depth + 1, rules, aliases,
                      drop_in_whos, fact, problems);
        }
      } else if (parts[0] == "include") {
        ReadSudoers(env, options, target, depth + 1, rules, aliases, drop_in_whos, fact, problems);
      }
    }
  }
};

}  // namespace

std::unique_ptr<FactCollector> MakeAccountsCollector() {
  return std::make_unique<AccountsCollector>();
}

}  // namespace preflight::agent
