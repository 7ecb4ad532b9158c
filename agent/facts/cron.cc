#include "agent/facts/cron.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

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

constexpr size_t kMaxCommandBytes = 512;
constexpr size_t kMaxProblemsPerFile = 100;

bool Blank(char c) { return c == ' ' || c == '\t'; }

// Splits off the next blank-separated field of `rest`.
absl::string_view NextField(absl::string_view& rest) {
  size_t i = 0;
  while (i < rest.size() && Blank(rest[i])) ++i;
  size_t j = i;
  while (j < rest.size() && !Blank(rest[j])) ++j;
  absl::string_view field = rest.substr(i, j - i);
  rest.remove_prefix(j);
  return field;
}

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
void CapUtf8(std::string& s, size_t max) {
  if (s.size() <= max) return;
  size_t cut = max;
  // Back over at most three continuation bytes (the longest valid tail).
  while (cut > 0 && max - cut < 3 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
}

// NAME=value (NAME may be followed by blanks before '=').
bool EnvironmentLine(absl::string_view line) {
  if (line.empty() || !(absl::ascii_isalpha(line[0]) || line[0] == '_')) return false;
  size_t i = 1;
  while (i < line.size() && (absl::ascii_isalnum(line[i]) || line[i] == '_')) ++i;
  while (i < line.size() && Blank(line[i])) ++i;
  return i < line.size() && line[i] == '=';
}

struct FieldSpec {
  const char* what;
  int min;
  int max;
  const char* const* names;  // three-letter names for min.., or null
};

constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",  "jul",
                                   "aug", "sep", "oct", "nov", "dec", nullptr};
constexpr const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", nullptr};

constexpr FieldSpec kFields[] = {
    {"minute", 0, 59, nullptr}, {"hour", 0, 23, nullptr},     {"day of month", 1, 31, nullptr},
    {"month", 1, 12, kMonths},  {"day of week", 0, 7, kDays},
};

bool FieldValue(absl::string_view s, const FieldSpec& spec, int& value) {
  if (spec.names != nullptr && s.size() == 3 && absl::ascii_isalpha(s[0])) {
    std::string lower = absl::AsciiStrToLower(s);
    for (int i = 0; spec.names[i] != nullptr; ++i) {
      if (lower == spec.names[i]) {
        value = spec.min + i;
        return true;
      }
    }
    return false;
  }
  if (s.empty() || s.size() > 2) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return absl::SimpleAtoi(s, &value) && value >= spec.min && value <= spec.max;
}

// One schedule field as cron accepts it: comma-separated items, each `*`,
// N or N-M, optionally /STEP.
bool ValidField(absl::string_view field, const FieldSpec& spec) {
  if (field.empty()) return false;
  for (absl::string_view item : absl::StrSplit(field, ',')) {
    absl::string_view range = item;
    size_t slash = item.find('/');
    if (slash != absl::string_view::npos) {
      range = item.substr(0, slash);
      absl::string_view step = item.substr(slash + 1);
      int n = 0;
      if (step.empty() || step.size() > 2 || !absl::SimpleAtoi(step, &n) || n < 1 ||
          !absl::ascii_isdigit(step[0])) {
        return false;
      }
    }
    if (range == "*") continue;
    size_t dash = range.find('-');
    int a = 0, b = 0;
    if (dash == absl::string_view::npos) {
      if (!FieldValue(range, spec, a)) return false;
      if (slash != absl::string_view::npos) continue;  // N/STEP: N to the end
    } else {
      if (!FieldValue(range.substr(0, dash), spec, a) ||
          !FieldValue(range.substr(dash + 1), spec, b) || b < a) {
        return false;
      }
    }
  }
  return true;
}

bool SpecialSchedule(absl::string_view s) {
  for (absl::string_view v : {"@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily",
                              "@midnight", "@hourly"}) {
    if (s == v) return true;
  }
  return false;
}

bool ScriptChar(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.'; }

// Position of `script` in `command` as a whole base name (after start, '/',
// a blank or a quote; followed by a non-name character), or npos.
size_t FindScript(absl::string_view command, absl::string_view script) {
  for (size_t p = command.find(script); p != absl::string_view::npos;
       p = command.find(script, p + 1)) {
    const size_t end = p + script.size();
    if (p > 0 && ScriptChar(command[p - 1])) continue;
    if (end < command.size() && ScriptChar(command[end])) continue;
    return p;
  }
  return absl::string_view::npos;
}

}  // namespace

std::string CronJobKind(absl::string_view command) {
  if (FindScript(command, "rotate_backups.sh") != absl::string_view::npos) return "rotate";
  // Otherwise the script that runs first.
  std::string kind;
  size_t best = absl::string_view::npos;
  struct Script {
    absl::string_view file;
    const char* kind;
  };
  static constexpr Script kScripts[] = {
      {"backup.sh", "backup"}, {"download.sh", "download"}, {"restore.sh", "restore"}};
  for (const Script& s : kScripts) {
    size_t p = FindScript(command, s.file);
    if (p < best) {
      best = p;
      kind = s.kind;
    }
  }
  return kind;
}

std::vector<v1::CronJob> ParseCrontab(absl::string_view content, absl::string_view file,
                                      absl::string_view owner,
                                      std::vector<v1::ParseProblem>* problems) {
  std::vector<v1::CronJob> jobs;
  size_t problem_count = 0;
  auto problem = [&](uint32_t line, std::string message) {
    ++problem_count;
    if (problems == nullptr || problem_count > kMaxProblemsPerFile + 1) return;
    v1::ParseProblem p;
    p.set_file(std::string(file));
    p.set_line(line);
    p.set_message(problem_count > kMaxProblemsPerFile
                      ? absl::StrCat("more than ", kMaxProblemsPerFile,
                                     " malformed lines; the rest are not reported")
                      : std::move(message));
    problems->push_back(std::move(p));
  };
  const bool system = owner.empty();
  uint32_t line_no = 0;
  for (absl::string_view raw : absl::StrSplit(content, '\n')) {
    ++line_no;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line[0] == '#' || EnvironmentLine(line)) continue;
    absl::string_view rest = line;
    std::string schedule;
    absl::string_view first = NextField(rest);
    if (first[0] == '@') {
      if (!SpecialSchedule(absl::AsciiStrToLower(first))) {
        problem(line_no, "unknown @ schedule");
        continue;
      }
      schedule = absl::AsciiStrToLower(first);
    } else {
      std::vector<absl::string_view> fields = {first};
      for (int i = 1; i < 5; ++i) fields.push_back(NextField(rest));
      bool ok = true;
      for (int i = 0; i < 5 && ok; ++i) {
        if (!ValidField(fields[i], kFields[i])) {
          problem(line_no, fields[i].empty() ? "fewer than five schedule fields"
                                             : absl::StrCat("invalid ", kFields[i].what, " field"));
          ok = false;
        }
      }
      if (!ok) continue;
      schedule = absl::StrJoin(fields, " ");
    }
    std::string user(owner);
    if (system) {
      user = std::string(NextField(rest));
      if (user.empty()) {
        problem(line_no, "no user field");
        continue;
      }
    }
    absl::string_view command = absl::StripAsciiWhitespace(rest);
    if (command.empty()) {
      problem(line_no, "no command");
      continue;
    }
    v1::CronJob job;
    job.set_file(std::string(file));
    job.set_line(line_no);
    job.set_schedule(schedule);
    job.set_user(user);
    bool masked = false;
    std::string masked_command = MaskSecrets(command, &masked);
    CapUtf8(masked_command, kMaxCommandBytes);
    job.set_command(std::move(masked_command));
    job.set_kind(CronJobKind(command));
    job.set_masked(masked);
    jobs.push_back(std::move(job));
  }
  return jobs;
}

}  // namespace preflight::agent
