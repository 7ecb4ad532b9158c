#include "agent/facts/backups.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "agent/facts/cron.h"
#include "agent/facts/mask.h"

namespace preflight::agent {
namespace {

constexpr size_t kErrorLineNumbersKept = 20;
constexpr size_t kTimeScanLines = 50;
constexpr size_t kTailLines = 5;
constexpr size_t kTailLineBytes = 200;
constexpr int kWalkDepth = 3;

constexpr char kUserCrontabDir[] = "/var/spool/cron/crontabs";
constexpr char kSystemCrontab[] = "/etc/crontab";
constexpr char kCronDropInDir[] = "/etc/cron.d";

bool AllDigits(absl::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isdigit(c); });
}

int Digits(absl::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// A real calendar date.
bool ValidDate(int y, int m, int d) {
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > 31) return false;
  absl::CivilDay day(y, m, d);
  return day.year() == y && day.month() == m && day.day() == d;
}

// YYYY-MM-DD at the start of s (exactly ten characters checked).
bool DateAt(absl::string_view s, int& y, int& m, int& d) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return false;
  if (!AllDigits(s.substr(0, 4)) || !AllDigits(s.substr(5, 2)) || !AllDigits(s.substr(8, 2))) {
    return false;
  }
  y = Digits(s.substr(0, 4));
  m = Digits(s.substr(5, 2));
  d = Digits(s.substr(8, 2));
  return ValidDate(y, m, d);
}

// The first real YYYY-MM-DD in s not glued to other digits, or "".
std::string DateIn(absl::string_view s) {
  for (size_t i = 0; i + 10 <= s.size(); ++i) {
    if (i > 0 && absl::ascii_isdigit(s[i - 1])) continue;
    if (i + 10 < s.size() && absl::ascii_isdigit(s[i + 10])) continue;
    int y, m, d;
    if (DateAt(s.substr(i), y, m, d)) return std::string(s.substr(i, 10));
  }
  return "";
}

void CapUtf8(std::string& s, size_t max) {
  if (s.size() <= max) return;
  size_t cut = max;
  // Back over at most three continuation bytes (the longest valid tail).
  while (cut > 0 && max - cut < 3 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
}

// --- Restore log: errors --------------------------------------------------

bool WordChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }

// `lower` at [p, p + n) is a word: not inside a name, path or file name
// (error.log, /errors/, opencrvs-backup.error.log).
bool StandsAlone(absl::string_view lower, size_t p, size_t n) {
  if (p > 0) {
    char b = lower[p - 1];
    if (WordChar(b) || b == '.' || b == '/') return false;
  }
  size_t e = p + n;
  if (e < lower.size()) {
    char a = lower[e];
    if (WordChar(a)) return false;
    if ((a == '.' || a == '-' || a == '/') && e + 1 < lower.size() && WordChar(lower[e + 1])) {
      return false;
    }
  }
  return true;
}

// The blank-separated word ending just before `end` (skipping blanks), if
// it is short; "" otherwise (bounded work per call on hostile lines).
absl::string_view WordBefore(absl::string_view s, size_t& end) {
  constexpr size_t kMaxLook = 16;
  size_t limit = end > kMaxLook ? end - kMaxLook : 0;
  while (end > limit && (s[end - 1] == ' ' || s[end - 1] == '\t')) --end;
  size_t start = end;
  while (start > limit && s[start - 1] != ' ' && s[start - 1] != '\t') --start;
  if (start == limit && limit > 0) {
    end = 0;
    return "";
  }
  absl::string_view w = s.substr(start, end - start);
  end = start;
  return w;
}

// "0 errors", "no errors", "0 document(s) failed", "\"failed\":0",
// "errors: false", "\"failures\":[]".
bool Negated(absl::string_view lower, size_t p, size_t n) {
  size_t i = p + n;
  while (i < lower.size() && (lower[i] == '"' || lower[i] == '\'')) ++i;
  while (i < lower.size() && (lower[i] == ' ' || lower[i] == '\t')) ++i;
  if (i < lower.size() && (lower[i] == ':' || lower[i] == '=')) {
    ++i;
    while (i < lower.size() && (lower[i] == ' ' || lower[i] == '\t' || lower[i] == '"')) ++i;
    absl::string_view v = lower.substr(i);
    for (absl::string_view none : {"0", "false", "null", "none", "[]", "{}"}) {
      if (!absl::StartsWith(v, none)) continue;
      // The whole value: "0", not "0x1f" or "000123".
      if (v.size() == none.size() || absl::StrContains(",;}] \t\"'", v[none.size()])) {
        return true;
      }
    }
  }
  size_t end = p;
  absl::string_view w1 = WordBefore(lower, end);
  absl::string_view w2 = WordBefore(lower, end);
  return w1 == "0" || w1 == "no" || w1 == "zero" || w1 == "without" || w2 == "0";
}

// "exit code 3", "exited with status 1", "exit status: 2", "return code=1".
bool NonZeroExit(absl::string_view lower) {
  for (absl::string_view phrase :
       {"exit code", "exit status", "exit_code", "exitcode", "exited with", "return code"}) {
    for (size_t p = lower.find(phrase); p != absl::string_view::npos;
         p = lower.find(phrase, p + 1)) {
      size_t i = p + phrase.size();
      for (int round = 0; round < 2; ++round) {
        while (i < lower.size() && (lower[i] == ' ' || lower[i] == '\t' || lower[i] == ':' ||
                                    lower[i] == '=' || lower[i] == '"' || lower[i] == '\'')) {
          ++i;
        }
        absl::string_view rest = lower.substr(i);
        if (absl::StartsWith(rest, "code")) i += 4;
        if (absl::StartsWith(rest, "status")) i += 6;
      }
      if (i < lower.size() && lower[i] == '-') return true;
      size_t j = i;
      while (j < lower.size() && absl::ascii_isdigit(lower[j])) ++j;
      absl::string_view digits = lower.substr(i, j - i);
      if (!digits.empty() && digits.find_first_not_of('0') != absl::string_view::npos) {
        return true;
      }
    }
  }
  return false;
}

// --- Restore log: timestamps ----------------------------------------------

int64_t UnixUtc(int y, int mo, int d, int h, int mi, int s, int offset_seconds) {
  absl::Time t = absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
  return absl::ToUnixSeconds(t) - offset_seconds;
}

bool ClockAt(absl::string_view s, int& h, int& mi, int& sec) {
  if (s.size() < 8 || s[2] != ':' || s[5] != ':' || !AllDigits(s.substr(0, 2)) ||
      !AllDigits(s.substr(3, 2)) || !AllDigits(s.substr(6, 2))) {
    return false;
  }
  h = Digits(s.substr(0, 2));
  mi = Digits(s.substr(3, 2));
  sec = Digits(s.substr(6, 2));
  return h <= 23 && mi <= 59 && sec <= 60;
}

// "+03", "+0300", "+03:00", "-0500" at the start of s: seconds east of UTC,
// and how many characters it took.
bool OffsetAt(absl::string_view s, int& seconds, size_t& used) {
  if (s.size() < 3 || (s[0] != '+' && s[0] != '-') || !AllDigits(s.substr(1, 2))) return false;
  int hours = Digits(s.substr(1, 2));
  int minutes = 0;
  used = 3;
  if (s.size() >= 6 && s[3] == ':' && AllDigits(s.substr(4, 2))) {
    minutes = Digits(s.substr(4, 2));
    used = 6;
  } else if (s.size() >= 5 && AllDigits(s.substr(3, 2))) {
    minutes = Digits(s.substr(3, 2));
    used = 5;
  }
  if (hours > 23 || minutes > 59) return false;
  seconds = (s[0] == '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
  return true;
}

int64_t IsoTimes(absl::string_view line) {
  int64_t newest = 0;
  for (size_t i = 0; i + 19 <= line.size(); ++i) {
    if (i > 0 && absl::ascii_isdigit(line[i - 1])) continue;
    absl::string_view s = line.substr(i);
    int y, mo, d, h, mi, sec;
    if (!DateAt(s, y, mo, d)) continue;
    if (s[10] != ' ' && s[10] != 'T' && s[10] != 't') continue;
    if (!ClockAt(s.substr(11), h, mi, sec)) continue;
    size_t k = 19;
    if (k < s.size() && (s[k] == '.' || s[k] == ',')) {
      ++k;
      while (k < s.size() && absl::ascii_isdigit(s[k])) ++k;
    }
    int offset = 0;
    size_t used = 0;
    if (k < s.size() && OffsetAt(s.substr(k), offset, used)) {
      // 2026-11-26T01:00:03+01:00
    } else if (k + 1 < s.size() && s[k] == ' ' && OffsetAt(s.substr(k + 1), offset, used) &&
               used == 5) {
      // 2026-11-26 01:00:03 +0100
    } else {
      offset = 0;
    }
    newest = std::max(newest, UnixUtc(y, mo, d, h, mi, sec, offset));
  }
  return newest;
}

int IndexIn(absl::string_view word, const absl::string_view* names, int count) {
  for (int i = 0; i < count; ++i) {
    if (absl::EqualsIgnoreCase(word, names[i])) return i;
  }
  return -1;
}

// date(1): "Thu Nov 26 01:00:03 UTC 2026".
int64_t DateCommandTimes(absl::string_view line) {
  static constexpr absl::string_view kWeekdays[7] = {"Mon", "Tue", "Wed", "Thu",
                                                     "Fri", "Sat", "Sun"};
  static constexpr absl::string_view kMonths[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::vector<absl::string_view> w =
      absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  int64_t newest = 0;
  for (size_t k = 0; k + 6 <= w.size(); ++k) {
    if (IndexIn(w[k], kWeekdays, 7) < 0) continue;
    int month = IndexIn(w[k + 1], kMonths, 12);
    if (month < 0 || !AllDigits(w[k + 2]) || w[k + 2].size() > 2) continue;
    int h, mi, sec;
    if (w[k + 3].size() != 8 || !ClockAt(w[k + 3], h, mi, sec)) continue;
    absl::string_view zone = w[k + 4];
    int offset = 0;
    size_t used = 0;
    if (OffsetAt(zone, offset, used)) {
      if (used != zone.size()) continue;
    } else if (zone.empty() || zone.size() > 6 ||
               !std::all_of(zone.begin(), zone.end(),
                            [](char c) { return absl::ascii_isalpha(c); })) {
      continue;  // an abbreviation (UTC, GMT, EAT): taken as UTC
    }
    absl::string_view year = w[k + 5];  // "2026", or "2026." ending a sentence
    size_t digits = 0;
    while (digits < year.size() && absl::ascii_isdigit(year[digits])) ++digits;
    if (digits != 4) continue;
    year = year.substr(0, 4);
    int y = Digits(year), d = Digits(w[k + 2]);
    if (!ValidDate(y, month + 1, d)) continue;
    newest = std::max(newest, UnixUtc(y, month + 1, d, h, mi, sec, offset));
  }
  return newest;
}

bool PrivateKeyBegin(absl::string_view line) {
  return absl::StrContains(line, "-----BEGIN") && absl::StrContains(line, "PRIVATE KEY");
}
bool PrivateKeyEnd(absl::string_view line) {
  return absl::StrContains(line, "-----END") && absl::StrContains(line, "PRIVATE KEY");
}

}  // namespace

v1::BackupEntry ClassifyBackupEntry(absl::string_view name, bool is_dir) {
  v1::BackupEntry e;
  e.set_name(std::string(name));
  int y, m, d;
  if (is_dir && name.size() == 10 && DateAt(name, y, m, d)) {
    e.set_kind(v1::BackupEntry::DATED);
    e.set_date(std::string(name));
  } else if (name == "test_connection.txt" || name == "downloaded_from_backup.txt") {
    e.set_kind(v1::BackupEntry::ARTEFACT);
  } else if (is_dir) {
    e.set_kind(v1::BackupEntry::LABELLED);
    e.set_date(DateIn(name));
  } else {
    e.set_kind(v1::BackupEntry::OTHER);
  }
  return e;
}

bool RestoreLogErrorLine(absl::string_view line) {
  const std::string lower_text = absl::AsciiStrToLower(line);
  const absl::string_view lower = lower_text;
  for (absl::string_view phrase : {"no such file", "permission denied", "command not found",
                                   "operation not permitted", "non-zero", "nonzero"}) {
    if (absl::StrContains(lower, phrase)) return true;
  }
  for (absl::string_view word :
       {"error", "errors", "failed", "failure", "failures", "fatal", "cannot"}) {
    for (size_t p = lower.find(word); p != absl::string_view::npos; p = lower.find(word, p + 1)) {
      if (StandsAlone(lower, p, word.size()) && !Negated(lower, p, word.size())) return true;
    }
  }
  return NonZeroExit(lower);
}

int64_t LogLineTime(absl::string_view line) {
  return std::max(IsoTimes(line), DateCommandTimes(line));
}

void ScanRestoreLog(absl::string_view content, v1::RestoreLog& log) {
  log.clear_error_line_numbers();
  log.clear_tail();
  std::deque<uint32_t> error_lines;
  uint32_t errors = 0;
  std::deque<absl::string_view> last;                   // for timestamps
  std::deque<std::pair<absl::string_view, bool>> tail;  // line, inside a key block
  bool in_key = false;
  uint32_t line_no = 0;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    if (nl == absl::string_view::npos) nl = content.size();
    absl::string_view line = content.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    bool secret = in_key;
    if (PrivateKeyBegin(line)) {
      secret = true;
      in_key = !PrivateKeyEnd(line);
    } else if (in_key && PrivateKeyEnd(line)) {
      in_key = false;
    }

    if (!secret && RestoreLogErrorLine(line)) {
      ++errors;
      error_lines.push_back(line_no);
      if (error_lines.size() > kErrorLineNumbersKept) error_lines.pop_front();
    }
    last.push_back(line);
    if (last.size() > kTimeScanLines) last.pop_front();
    if (!absl::StripAsciiWhitespace(line).empty()) {
      tail.emplace_back(line, secret);
      if (tail.size() > kTailLines) tail.pop_front();
    }
  }
  log.set_lines(line_no);
  log.set_error_lines(errors);
  for (uint32_t n : error_lines) log.add_error_line_numbers(n);
  int64_t newest = 0;
  for (absl::string_view line : last) newest = std::max(newest, LogLineTime(line));
  log.set_last_time_unix(newest);
  for (const auto& [line, secret] : tail) {
    std::string masked = secret ? std::string(kMasked) : MaskSecrets(line);
    CapUtf8(masked, kTailLineBytes);
    log.add_tail(std::move(masked));
  }
}

namespace {

// Debian's cron reads /etc/cron.d names made of letters, digits, '_' and '-'
// only (like run-parts).
bool CronReadsName(absl::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '_' || c == '-';
  });
}

class BackupsCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "backups"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  // OK when everything that exists could be read, even with no jobs, no
  // backup directory and no restore log. ERROR, naming the path, when a
  // crontab (or a crontab directory), the backup directory or the restore log
  // exists but cannot be read: the checks must not take that for "absent".
  // Every such path is also in Collection.unreadable (NoteUnreadable), as are
  // a restore log over the size cap (its size and mtime still reported) and
  // entries inside the backup directory that could not be measured.
  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::BackupsFact& fact = *report.mutable_backups();
    v1::Collection* collection = fact.mutable_collection();
    std::vector<std::string> errors;
    size_t budget = options.max_walk_entries;

    CollectBackupDir(env, options, fact, budget, errors);
    CollectCrontabs(env, options, fact, errors);
    CollectRestoreLog(env, options, fact, errors);

    if (errors.empty()) {
      collection->set_state(v1::Collection::OK);
    } else {
      collection->set_state(v1::Collection::ERROR);
      collection->set_error(absl::StrJoin(errors, "; "));
    }
    return collection;
  }

 private:
  static void Problem(v1::BackupsFact& fact, absl::string_view file, uint32_t line,
                      absl::string_view message) {
    v1::ParseProblem* p = fact.add_problems();
    p->set_file(std::string(file));
    p->set_line(line);
    p->set_message(std::string(message));
  }

  // Regular files under `dir`, `depth` levels below the entry, summed.
  static void Walk(HostEnv& env, const std::string& dir, int depth, size_t& budget,
                   v1::BackupsFact& fact, v1::BackupEntry& entry) {
    auto list = env.ListDir(dir);
    if (!list.ok()) {
      NoteUnreadable(*fact.mutable_collection(), dir, list.status());
      Problem(fact, dir, 0, list.status().message());
      return;
    }
    for (const DirEntry& e : *list) {
      if (budget == 0) {
        fact.set_entries_truncated(true);
        return;
      }
      --budget;
      std::string path = absl::StrCat(dir, "/", e.name);
      if (e.type == FileInfo::Type::kRegular) {
        auto st = env.Stat(path);
        if (st.ok()) {
          entry.set_size_bytes(entry.size_bytes() + st->size);
          entry.set_files(entry.files() + 1);
        } else {
          NoteUnreadable(*fact.mutable_collection(), path, st.status());
        }
      } else if (e.type == FileInfo::Type::kDirectory && depth < kWalkDepth) {
        Walk(env, path, depth + 1, budget, fact, entry);
      }
    }
  }

  static void CollectBackupDir(HostEnv& env, const CollectOptions& options, v1::BackupsFact& fact,
                               size_t& budget, std::vector<std::string>& errors) {
    std::string dir = options.backup_dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    fact.set_backup_dir(dir);
    auto list = env.ListDir(dir);
    if (!list.ok()) {
      if (!NoteUnreadable(*fact.mutable_collection(), dir, list.status())) return;
      fact.set_dir_present(true);
      errors.push_back(
          absl::StrCat("cannot list backup directory ", dir, ": ", list.status().message()));
      return;
    }
    fact.set_dir_present(true);
    const std::string prefix = dir == "/" ? "" : dir;
    // Every entry first (within the budget), then their contents: a big
    // directory early in the listing must not hide the later ones.
    std::vector<std::pair<std::string, FileInfo::Type>> listed;
    for (const DirEntry& e : *list) {
      if (budget == 0) {
        fact.set_entries_truncated(true);
        break;
      }
      --budget;
      const bool is_dir = e.type == FileInfo::Type::kDirectory;
      v1::BackupEntry* entry = fact.add_entries();
      *entry = ClassifyBackupEntry(e.name, is_dir);
      std::string path = absl::StrCat(prefix, "/", e.name);
      auto st = env.Stat(path);
      NoteUnreadable(*fact.mutable_collection(), path, st.status());
      if (st.ok()) {
        entry->set_mtime_unix(st->mtime_unix);
        if (e.type == FileInfo::Type::kRegular) {
          entry->set_size_bytes(st->size);
          entry->set_files(1);
        }
      }
      listed.emplace_back(std::move(path), e.type);
    }
    for (size_t i = 0; i < listed.size(); ++i) {
      if (listed[i].second != FileInfo::Type::kDirectory) continue;
      Walk(env, listed[i].first, 1, budget, fact, *fact.mutable_entries(static_cast<int>(i)));
    }
  }

  static void ReadCrontab(HostEnv& env, const CollectOptions& options, const std::string& path,
                          absl::string_view owner, v1::BackupsFact& fact,
                          std::vector<std::string>& errors) {
    auto data = env.ReadFile(path, options.max_file_bytes);
    if (!data.ok()) {
      if (!NoteUnreadable(*fact.mutable_collection(), path, data.status())) return;
      errors.push_back(absl::StrCat("cannot read crontab ", path, ": ", data.status().message()));
      return;
    }
    fact.add_cron_files(path);
    std::vector<v1::ParseProblem> problems;
    for (v1::CronJob& job : ParseCrontab(data->content, path, owner, &problems)) {
      if (!job.kind().empty()) *fact.add_cron_jobs() = std::move(job);
    }
    for (v1::ParseProblem& p : problems) *fact.add_problems() = std::move(p);
  }

  static void CollectCrontabs(HostEnv& env, const CollectOptions& options, v1::BackupsFact& fact,
                              std::vector<std::string>& errors) {
    // User crontabs: the owner is the file name. cron skips dot files.
    if (auto list = env.ListDir(kUserCrontabDir); list.ok()) {
      for (const DirEntry& e : *list) {
        if (e.name.empty() || e.name[0] == '.') continue;
        std::string path = absl::StrCat(kUserCrontabDir, "/", e.name);
        if (e.type != FileInfo::Type::kRegular) {
          Problem(fact, path, 0, "not a regular file; cron ignores it");
          continue;
        }
        ReadCrontab(env, options, path, e.name, fact, errors);
      }
    } else if (NoteUnreadable(*fact.mutable_collection(), kUserCrontabDir, list.status())) {
      errors.push_back(
          absl::StrCat("cannot list ", kUserCrontabDir, ": ", list.status().message()));
    }

    ReadCrontab(env, options, kSystemCrontab, "", fact, errors);

    if (auto list = env.ListDir(kCronDropInDir); list.ok()) {
      for (const DirEntry& e : *list) {
        if (e.name.empty() || e.name[0] == '.') continue;  // .placeholder
        std::string path = absl::StrCat(kCronDropInDir, "/", e.name);
        if (e.type == FileInfo::Type::kDirectory) continue;
        if (!CronReadsName(e.name)) {
          Problem(fact, path, 0,
                  "cron ignores this file: its name has characters other than letters, "
                  "digits, '_' and '-'");
          continue;
        }
        ReadCrontab(env, options, path, "", fact, errors);
      }
    } else if (NoteUnreadable(*fact.mutable_collection(), kCronDropInDir, list.status())) {
      errors.push_back(absl::StrCat("cannot list ", kCronDropInDir, ": ", list.status().message()));
    }
  }

  static void CollectRestoreLog(HostEnv& env, const CollectOptions& options, v1::BackupsFact& fact,
                                std::vector<std::string>& errors) {
    v1::RestoreLog& log = *fact.mutable_restore_log();
    const std::string& path = options.restore_log;
    log.set_path(path);
    auto data = env.ReadFile(path, options.max_file_bytes);
    if (data.ok()) {
      log.set_present(true);
      log.set_size_bytes(data->content.size());
      log.set_mtime_unix(data->info.mtime_unix);
      ScanRestoreLog(data->content, log);
      return;
    }
    if (!NoteUnreadable(*fact.mutable_collection(), path, data.status())) return;
    if (absl::IsResourceExhausted(data.status())) {
      log.set_present(true);
      if (auto st = env.Stat(path); st.ok()) {
        log.set_size_bytes(st->size);
        log.set_mtime_unix(st->mtime_unix);
      }
      Problem(fact, path, 0, absl::StrCat("not scanned: ", data.status().message()));
      return;
    }
    log.set_present(true);
    errors.push_back(absl::StrCat("cannot read restore log ", path, ": ", data.status().message()));
  }
};

}  // namespace

std::unique_ptr<FactCollector> MakeBackupsCollector() {
  return std::make_unique<BackupsCollector>();
}

}  // namespace preflight::agent
