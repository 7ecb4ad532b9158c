#include "agent/facts/logrotate.h"

#include <fnmatch.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "agent/host/glob.h"

namespace preflight::agent {
namespace {

constexpr absl::string_view kMainFile = "/etc/logrotate.conf";
constexpr absl::string_view kProgram = "/usr/sbin/logrotate";
constexpr absl::string_view kCronDaily = "/etc/cron.daily/logrotate";
constexpr absl::string_view kTimerLink = "/etc/systemd/system/timers.target.wants/logrotate.timer";
constexpr absl::string_view kTimerOverride = "/etc/systemd/system/logrotate.timer";
constexpr absl::string_view kTimerStamp = "/var/lib/systemd/timers/stamp-logrotate.timer";
constexpr absl::string_view kStatusFile = "/var/lib/logrotate/status";
constexpr absl::string_view kLogDir = "/var/log";
constexpr absl::string_view kDockerLogs = "/var/lib/docker/containers/*/*.log";
constexpr absl::string_view kJournaldConf = "/etc/systemd/journald.conf";
constexpr absl::string_view kJournaldDropIns = "/etc/systemd/journald.conf.d";

constexpr uint32_t kMaxIncludeDepth = 16;  // logrotate's own nesting limit
constexpr size_t kMaxConfigFiles = 512;    // include loops and fan-out
constexpr size_t kMaxStanzas = 10'000;
constexpr size_t kMaxPatternsPerStanza = 1'000;
constexpr size_t kMaxMatchedPerPattern = 10'000;
constexpr size_t kMaxMatchedTotal = 50'000;
constexpr size_t kMaxClaimed = 100'000;        // matched paths and unmatched names
constexpr size_t kMaxPatternsTotal = 100'000;  // in all stanzas
constexpr size_t kMaxPatternLength = 4096;     // PATH_MAX
constexpr size_t kMaxConfigBytes = 64 << 20;   // read in all configuration files
constexpr size_t kMaxTaboo = 1'000;
constexpr int kMaxProblems = 1'000;
constexpr size_t kMaxQuoted = 160;  // host text quoted in a problem
constexpr size_t kMaxStatusEntries = 200'000;
constexpr size_t kMaxLogDepth = 4;  // directories below /var/log descended into

// ------------------------------------------------------------ small helpers

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Quote(absl::string_view s) {
  if (s.size() <= kMaxQuoted) return std::string(s);
  return absl::StrCat(s.substr(0, kMaxQuoted), "...");
}

void AddProblem(v1::LogrotateFact& fact, absl::string_view file, uint32_t line,
                std::string message) {
  if (fact.problems_size() >= kMaxProblems) return;
  v1::ParseProblem* p = fact.add_problems();
  p->set_file(std::string(file));
  p->set_line(line);
  p->set_message(std::move(message));
}

std::string JoinPath(absl::string_view dir, absl::string_view name) {
  if (dir.empty() || dir == "/") return absl::StrCat("/", name);
  return absl::StrCat(dir, "/", name);
}

// The C library's number parsing, exactly as logrotate calls it (base 0:
// "010" is octal, "0x10" hex); false unless the whole string is consumed.
bool StrToL(const std::string& s, long* out) {
  char* end = nullptr;
  errno = 0;
  *out = std::strtol(s.c_str(), &end, 0);
  return *end == '\0';
}
bool StrToULL(const std::string& s, unsigned long long* out) {
  char* end = nullptr;
  errno = 0;
  *out = std::strtoull(s.c_str(), &end, 0);
  return *end == '\0';
}

// poptParseArgvString, which logrotate uses for stanza patterns and status
// lines: whitespace separates; '...' and "..." quote (inside, a backslash
// escapes only the quote character and is kept before anything else);
// outside quotes a backslash escapes the next character; an unclosed quote
// runs to the end. A trailing lone backslash is an error.
enum class SplitResult { kOk, kBadQuote, kEmpty };
SplitResult PoptSplit(absl::string_view s, std::vector<std::string>* out) {
  out->clear();
  s = s.substr(0, s.find('\0'));
  std::string cur;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote != 0 && c == quote) {
      quote = 0;
    } else if (quote != 0) {
      if (c == '\\') {
        if (++i == s.size()) return SplitResult::kBadQuote;
        if (s[i] != quote) cur.push_back('\\');
      }
      cur.push_back(s[i]);
    } else if (IsSpace(c)) {
      if (!cur.empty()) out->push_back(std::move(cur));
      cur.clear();
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '\\') {
      if (++i == s.size()) return SplitResult::kBadQuote;
      cur.push_back(s[i]);
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out->push_back(std::move(cur));
  return out->empty() ? SplitResult::kEmpty : SplitResult::kOk;
}

// sscanf-style conversions over a string, for the few places logrotate
// reads values with sscanf.
class Scanner {
 public:
  explicit Scanner(absl::string_view s) : s_(s) {}
  void SkipSpace() {
    while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
  }
  bool AtEnd() const { return pos_ >= s_.size(); }
  // %o: optional sign, one or more octal digits.
  bool Octal(std::string* token) {
    SkipSpace();
    size_t p = pos_;
    if (p < s_.size() && (s_[p] == '+' || s_[p] == '-')) ++p;
    size_t digits = p;
    while (p < s_.size() && s_[p] >= '0' && s_[p] <= '7') ++p;
    if (p == digits) return false;
    *token = std::string(s_.substr(pos_, p - pos_));
    pos_ = p;
    return true;
  }
  // %199s
  bool Word(std::string* token) {
    SkipSpace();
    if (AtEnd()) return false;
    size_t p = pos_;
    while (p < s_.size() && !IsSpace(s_[p]) && p - pos_ < 199) ++p;
    *token = std::string(s_.substr(pos_, p - pos_));
    pos_ = p;
    return true;
  }
  // %d / %u: optional sign, digits. The value saturates (a wrapped or huge
  // value is out of every range logrotate accepts anyway).
  bool Int(int64_t* value) {
    SkipSpace();
    size_t p = pos_;
    bool negative = false;
    if (p < s_.size() && (s_[p] == '+' || s_[p] == '-')) negative = s_[p++] == '-';
    size_t digits = p;
    int64_t v = 0;
    while (p < s_.size() && IsDigit(s_[p])) {
      v = std::min<int64_t>(v * 10 + (s_[p] - '0'), int64_t{1} << 40);
      ++p;
    }
    if (p == digits) return false;
    *value = negative ? -v : v;
    pos_ = p;
    return true;
  }
  bool Literal(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

 private:
  absl::string_view s_;
  size_t pos_ = 0;
};

// logrotate's readModeUidGid: "[mode] [owner [group]]" (create,
// createolddir) or "owner [group]" (su). The count follows its sscanf
// return: -1 for nothing at all, otherwise 1 + the number of words read
// after a (possibly absent) mode, 4 meaning "extra arguments".
struct ModeOwnerGroup {
  int count = -1;
  std::string mode, owner, group;
};
ModeOwnerGroup ScanModeOwnerGroup(absl::string_view v, bool with_mode) {
  ModeOwnerGroup r;
  int rc = 0;
  if (with_mode) {
    Scanner s(v);
    s.SkipSpace();
    if (s.AtEnd()) return r;
    if (s.Octal(&r.mode)) {
      rc = 1;
      if (s.Word(&r.owner)) {
        rc = 2;
        if (s.Word(&r.group)) rc = s.AtEnd() ? 3 : 4;
      }
    }
  }
  if (rc == 0) {
    Scanner s(v);
    s.SkipSpace();
    if (s.AtEnd()) return r;
    r.mode.clear();
    if (s.Word(&r.owner)) {
      rc = 2;
      if (s.Word(&r.group)) rc = s.AtEnd() ? 3 : 4;
    }
  }
  r.count = rc;
  return r;
}

const char* CriterionName(LogrotateOptions::Criterion c) {
  switch (c) {
    case LogrotateOptions::Criterion::kHourly:
      return "hourly";
    case LogrotateOptions::Criterion::kDaily:
      return "daily";
    case LogrotateOptions::Criterion::kWeekly:
      return "weekly";
    case LogrotateOptions::Criterion::kMonthly:
      return "monthly";
    case LogrotateOptions::Criterion::kYearly:
      return "yearly";
    default:
      return "";
  }
}

void RenderOptions(const LogrotateOptions& o, v1::LogrotateStanza& s) {
  s.set_frequency(CriterionName(o.criterion));
  s.set_size_bytes(o.criterion == LogrotateOptions::Criterion::kSize ? o.size_bytes : 0);
  s.set_maxsize_bytes(o.maxsize_bytes);
  s.set_rotate(o.rotate);
  s.set_compress(o.compress);
  s.set_copytruncate(o.copytruncate);
  s.set_missingok(o.missingok);
  if (o.create) {
    std::vector<std::string> parts;
    for (const std::string* p : {&o.create_mode, &o.create_owner, &o.create_group}) {
      if (!p->empty()) parts.push_back(*p);
    }
    s.set_create(parts.empty() ? "yes" : absl::StrJoin(parts, " "));
  } else {
    s.set_create("");
  }
  std::vector<std::string> su;
  for (const std::string* p : {&o.su_user, &o.su_group}) {
    if (!p->empty()) su.push_back(*p);
  }
  s.set_su(absl::StrJoin(su, " "));
}

bool IsScriptKeyword(absl::string_view w) {
  return w == "postrotate" || w == "prerotate" || w == "firstaction" || w == "lastaction" ||
         w == "preremove";
}

// Directives without a value that logrotate accepts and this fact does not
// record.
bool IsOtherFlag(absl::string_view w) {
  static const std::set<std::string, std::less<>> kFlags = {
      "delaycompress",   "nodelaycompress", "shred",     "noshred",        "sharedscripts",
      "nosharedscripts", "norenamecopy",    "copy",      "nocopy",         "ifempty",
      "notifempty",      "dateext",         "nodateext", "dateyesterday",  "datehourago",
      "noolddir",        "mailfirst",       "maillast",  "nocreateolddir", "nomail",
      "errors"};
  return kFlags.count(w) != 0;
}

// ------------------------------------------------------------ the parser

// A model of logrotate 3.21's readConfigFile: a character-level state
// machine, so that it recovers from errors where logrotate does (and loses
// what logrotate loses).
class ConfigParser {
 public:
  ConfigParser(absl::string_view text, absl::string_view file, v1::LogrotateFact& fact,
               LogrotateParseState& state)
      : t_(text), file_(file), fact_(fact), state_(state) {
    for (size_t i = 0; i < t_.size(); ++i) {
      if (t_[i] == '\n') newlines_.push_back(i);
    }
  }

  bool Run() {
    size_t i = 0;
    while (i < t_.size()) {
      size_t next = i + 1;
      if (!Step(i, &next)) {
        if (in_stanza_) DropStanza();
        return false;
      }
      i = next;
    }
    if ((mode_ & kScript) != 0 && (mode_ & kSkipStanza) == 0) {
      Problem(script_line_,
              "prerotate, postrotate, firstaction, lastaction or preremove "
              "without endscript");
      if (in_stanza_) DropStanza();
      return false;
    }
    if (in_stanza_) {
      // logrotate keeps a stanza the file ends in, even one it was skipping.
      Problem(LineOf(t_.size() - 1), "missing '}' at end of file");
      CloseStanza();
    }
    return !had_error_;
  }

 private:
  enum : unsigned {
    kDefault = 0,
    kSkipLine = 1,    // up to and including the next newline
    kScript = 2,      // inside prerotate ... endscript
    kSkipStanza = 4,  // after an error in a stanza: skip to its '}'
    kAfterBrace = 8,  // rest of the line after '}'
    kError = 16,      // an error was just raised in a stanza
  };

  // 1-based line of the character at pos (a newline belongs to the line it
  // ends).
  uint32_t LineOf(size_t pos) const {
    return static_cast<uint32_t>(std::lower_bound(newlines_.begin(), newlines_.end(), pos) -
                                 newlines_.begin() + 1);
  }

  void Problem(uint32_t line, std::string message) {
    AddProblem(fact_, file_, line, std::move(message));
  }

  LogrotateOptions& Options() { return in_stanza_ ? stanza_opts_ : state_.defaults; }

  // One step of the state machine at position i; *next is where the next
  // step starts (i + 1 unless a directive consumed more). False: logrotate
  // abandons the rest of the file.
  bool Step(size_t i, size_t* next) {
    const char c = t_[i];
    if ((mode_ & kSkipLine) != 0) {
      if (c == '\n') mode_ &= ~kSkipLine;
      return true;
    }
    if (mode_ == kAfterBrace) {
      if (c == '\n') {
        mode_ = kDefault;
      } else if (!IsBlank(c)) {
        Problem(LineOf(i), "unexpected text after }");
        mode_ = kSkipLine;
      }
      return true;
    }
    if (mode_ == kError) {
      // logrotate consumes one character before it starts skipping.
      had_error_ = true;
      mode_ = kSkipStanza;
      return true;
    }
    if ((mode_ & kScript) != 0) {
      auto [word, end] = TakeWord(i);
      if (word == "endscript") {
        mode_ &= ~kScript;
      } else if (end < t_.size() && t_[end] != '\n') {
        mode_ |= kSkipLine;
      }
      *next = end + 1;
      return true;
    }
    if (mode_ == kSkipStanza) {
      if (c == '}') {
        DropStanza();
        mode_ = kDefault;
        return true;
      }
      auto [word, end] = TakeWord(i);
      if (IsScriptKeyword(word)) {
        mode_ = kSkipStanza | kScript;
      } else if (end < t_.size() && t_[end] != '\n') {
        mode_ |= kSkipLine;
      }
      *next = end + 1;
      return true;
    }
    // kDefault
    if (IsBlank(c) || c == '\n') return true;
    if (c == '#') {
      mode_ = kSkipLine;
      return true;
    }
    if (IsAlpha(c)) return Directive(i, next);
    if (c == '/' || c == '"' || c == '\'' || c == '~') return StanzaStart(i, next);
    if (c == '}') {
      if (!in_stanza_) {
        Problem(LineOf(i), "unexpected } (logrotate ignores the rest of the file)");
        return false;
      }
      CloseStanza();
      mode_ = kAfterBrace;
      return true;
    }
    Problem(LineOf(i), "lines must begin with a keyword or a filename (possibly in double quotes)");
    mode_ = kSkipLine;
    return true;
  }

  // Blanks, then a run of letters: (word, index after it).
  std::pair<std::string, size_t> TakeWord(size_t i) const {
    while (i < t_.size() && IsBlank(t_[i])) ++i;
    size_t end = i;
    while (end < t_.size() && IsAlpha(t_[end])) ++end;
    return {std::string(t_.substr(i, end - i)), end};
  }

  // The rest of the line from `from`, cut at a NUL, trailing whitespace
  // removed; *next = the newline (or the end).
  std::string TakeLine(size_t from, size_t* next) const {
    size_t e = t_.find('\n', from);
    if (e == absl::string_view::npos) e = t_.size();
    absl::string_view v = t_.substr(from, e - from);
    v = v.substr(0, v.find('\0'));
    while (!v.empty() && IsSpace(v.back())) v.remove_suffix(1);
    *next = e;
    return std::string(v);
  }

  // A directive's value: blanks, an optional '=', blanks, then the rest of
  // the line. nullopt when the line ends first ("argument expected").
  std::optional<std::string> TakeValue(size_t from, size_t* next) const {
    size_t p = from;
    while (p < t_.size() && IsBlank(t_[p])) ++p;
    if (p < t_.size() && t_[p] == '=') {
      ++p;
      while (p < t_.size() && IsBlank(t_[p])) ++p;
    }
    if (p < t_.size() && t_[p] == '\n') return std::nullopt;
    return TakeLine(p, next);
  }

  // An error in a directive: inside a stanza the stanza is dropped (after
  // skipping to its '}'); outside, logrotate gives up on the file.
  bool Raise(size_t next_pos, size_t* next) {
    *next = next_pos;
    if (!in_stanza_) return false;
    mode_ = kError;
    return true;
  }

  bool Directive(size_t i, size_t* next) {
    size_t end = i;
    while (end < t_.size() && IsAlpha(t_[end])) ++end;
    const std::string key(t_.substr(i, end - i));
    const uint32_t line = LineOf(i);
    const char sep = end < t_.size() ? t_[end] : '\0';
    if (!IsSpace(sep) && sep != '=') {
      Problem(line, absl::StrCat("keyword '", Quote(key), "' not properly separated"));
      return Raise(end + 1, next);
    }
    *next = end + 1;  // logrotate consumes the separator
    LogrotateOptions& o = Options();
    using Criterion = LogrotateOptions::Criterion;

    if (key == "compress") {
      o.compress = true;
    } else if (key == "nocompress") {
      o.compress = false;
    } else if (key == "copytruncate") {
      o.copytruncate = true;
    } else if (key == "nocopytruncate" || key == "renamecopy") {
      o.copytruncate = false;
    } else if (key == "missingok") {
      o.missingok = true;
    } else if (key == "nomissingok") {
      o.missingok = false;
    } else if (key == "nocreate") {
      o.create = false;
    } else if (key == "ignoreduplicates") {
      o.ignoreduplicates = true;
    } else if (key == "hourly") {
      o.criterion = Criterion::kHourly;
    } else if (key == "daily") {
      o.criterion = Criterion::kDaily;
    } else if (key == "monthly") {
      o.criterion = Criterion::kMonthly;
    } else if (key == "yearly") {
      o.criterion = Criterion::kYearly;
    } else if (IsOtherFlag(key)) {
      // accepted, not recorded
    } else if (key == "weekly") {
      o.criterion = Criterion::kWeekly;
      std::string v = TakeLine(end, next);
      if (!v.empty()) {
        Scanner s(v);
        int64_t day = 0;
        const bool ok = s.Int(&day) && s.AtEnd() && day >= 0 && day <= 7;
        if (!ok) {
          Problem(line, absl::StrCat("bad weekly directive '", Quote(v),
                                     "' (logrotate ignores the rest of the file)"));
          return false;
        }
      }
    } else if (key == "rotate") {
      auto v = TakeValue(end, next);
      if (!v) {
        Problem(line, "argument expected after rotate");
        return Raise(end + 1, next);
      }
      long n = 0;
      const bool ok = StrToL(*v, &n);
      const int32_t count = static_cast<int32_t>(n);
      if (!ok || count < -1) {
        Problem(line, absl::StrCat("bad rotation count '", Quote(*v), "'"));
        return Raise(*next, next);
      }
      o.rotate = count;
    } else if (key == "size" || key == "maxsize" || key == "minsize") {
      auto v = TakeValue(end, next);
      if (!v) {
        Problem(line, absl::StrCat("argument expected after ", key));
        *next = end + 1;
        return true;
      }
      if (v->empty()) return true;
      std::string number = *v;
      uint64_t unit = 1;
      const char last = number.back();
      if (last == 'k' || last == 'K') {
        unit = 1024;
      } else if (last == 'M') {
        unit = 1024 * 1024;
      } else if (last == 'G') {
        unit = 1024 * 1024 * 1024;
      } else if (!IsDigit(last)) {
        Problem(line, absl::StrCat("unknown unit '", Quote(std::string(1, last)), "' in ", key));
        return Raise(*next, next);
      }
      if (unit != 1) number.pop_back();
      unsigned long long n = 0;
      const bool ok = StrToULL(number, &n);
      const uint64_t bytes = unit * static_cast<uint64_t>(n);  // wraps as in logrotate
      if (!ok || static_cast<int64_t>(bytes) < 0) {
        Problem(line, absl::StrCat("bad size '", Quote(*v), "'"));
        return Raise(*next, next);
      }
      if (key == "size") {
        o.criterion = Criterion::kSize;
        o.size_bytes = bytes;
      } else if (key == "maxsize") {
        o.maxsize_bytes = bytes;
      }
    } else if (key == "create" || key == "createolddir" || key == "su") {
      const bool su = key == "su";
      std::string v = TakeLine(end, next);
      ModeOwnerGroup m = ScanModeOwnerGroup(v, !su);
      if (m.count == 4) {
        Problem(line, absl::StrCat("extra arguments for ", key));
        return Raise(*next, next);
      }
      if (m.count > 1 && state_.user_known && !state_.user_known(m.owner)) {
        Problem(line, absl::StrCat("unknown user '", Quote(m.owner), "'"));
        return Raise(*next, next);
      }
      if (m.count > 2 && state_.group_known && !state_.group_known(m.group)) {
        Problem(line, absl::StrCat("unknown group '", Quote(m.group), "'"));
        return Raise(*next, next);
      }
      if (key == "create") {
        if (m.count > 0 && !m.mode.empty()) o.create_mode = m.mode;
        if (m.count > 1) o.create_owner = m.owner;
        if (m.count > 2) o.create_group = m.group;
        o.create = true;
      } else if (su) {
        if (m.count > 1) o.su_user = m.owner;
        if (m.count > 2) o.su_group = m.group;
        if (o.su_user.empty() || o.su_group.empty()) {
          Problem(line, absl::StrCat("no ", o.su_user.empty() ? "user" : "group", " for su"));
          return Raise(*next, next);
        }
      }
    } else if (IsScriptKeyword(key)) {
      mode_ = kScript;
      script_line_ = line;
    } else if (key == "include") {
      auto v = TakeValue(end, next);
      if (!v) {
        Problem(line, "argument expected after include");
        return Raise(end + 1, next);
      }
      if (in_stanza_) {
        Problem(line, "include inside a log file definition is not followed");
      } else if (state_.include_depth >= kMaxIncludeDepth) {
        Problem(line, "include nesting too deep");
        had_error_ = true;
      } else if (state_.include) {
        ++state_.include_depth;
        const bool ok = state_.include(*v, line);
        --state_.include_depth;
        if (!ok) had_error_ = true;
      }
    } else if (key == "tabooext" || key == "taboopat") {
      if (in_stanza_) {
        Problem(line, absl::StrCat(key, " may not appear inside of log file definition"));
        mode_ = kError;
        return true;
      }
      auto v = TakeValue(end, next);
      if (!v) {
        Problem(line, absl::StrCat("argument expected after ", key));
        *next = end + 1;
        return true;
      }
      SetTaboo(*v, key == "tabooext");
    } else {
      return OtherValueDirective(key, line, end, next);
    }
    return true;
  }

  // Directives with a value this fact does not record, validated as
  // logrotate validates them; unknown keywords.
  bool OtherValueDirective(const std::string& key, uint32_t line, size_t end, size_t* next) {
    if (key == "start" || key == "minage" || key == "maxage" || key == "shredcycles") {
      auto v = TakeValue(end, next);
      if (!v) {
        Problem(line, absl::StrCat("argument expected after ", key));
        return Raise(end + 1, next);
      }
      long n = 0;
      if (!StrToL(*v, &n) || static_cast<int32_t>(n) < 0) {
        Problem(line, absl::StrCat("bad ", key, " '", Quote(*v), "'"));
        return Raise(*next, next);
      }
      return true;
    }
    if (key == "mail" || key == "olddir" || key == "compresscmd" || key == "uncompresscmd" ||
        key == "compressext" || key == "extension" || key == "addextension") {
      auto v = TakeValue(end, next);
      if (!v) {
        Problem(line, absl::StrCat("argument expected after ", key));
        return Raise(end + 1, next);
      }
      if (key == "extension" || key == "addextension") return true;
      const bool mail = key == "mail";
      for (char ch : *v) {
        const unsigned char u = static_cast<unsigned char>(ch);
        const bool bad =
            mail ? (u < 0x20 || u >= 0x7f || ch == ' ') : (u < 0x20 || u == 0x7f || IsBlank(ch));
        if (bad) {
          Problem(line, absl::StrCat("bad ", key, " value '", Quote(*v), "'"));
          return Raise(*next, next);
        }
      }
      return true;
    }
    if (key == "dateformat") {
      if (!TakeValue(end, next)) {
        Problem(line, "argument expected after dateformat");
        *next = end + 1;
      }
      return true;
    }
    if (key == "compressoptions") {
      std::vector<std::string> args;
      if (PoptSplit(TakeLine(end, next), &args) != SplitResult::kOk) {
        Problem(line, "invalid compression options");
        return Raise(*next, next);
      }
      return true;
    }
    Problem(line, absl::StrCat("unknown option '", Quote(key), "' -- ignoring line"));
    if (end < t_.size() && t_[end] != '\n') mode_ = kSkipLine;
    return true;
  }

  void SetTaboo(absl::string_view v, bool extensions) {
    if (absl::ConsumePrefix(&v, "+")) {
      while (!v.empty() && IsSpace(v.front())) v.remove_prefix(1);
    } else {
      state_.taboo.clear();
    }
    while (!v.empty()) {
      size_t n = 0;
      while (n < v.size() && !IsSpace(v[n]) && v[n] != ',') ++n;
      if (state_.taboo.size() < kMaxTaboo && (n > 0 || !extensions)) {
        state_.taboo.push_back(extensions ? absl::StrCat("*", v.substr(0, n))
                                          : std::string(v.substr(0, n)));
      }
      v.remove_prefix(n);
      if (!v.empty() && v.front() == ',') v.remove_prefix(1);
      while (!v.empty() && IsSpace(v.front())) v.remove_prefix(1);
    }
  }

  bool StanzaStart(size_t i, size_t* next) {
    const uint32_t line = LineOf(i);
    if (in_stanza_) {
      Problem(line, "unexpected log filename inside a log file definition");
      mode_ = kError;
      return true;
    }
    // The patterns run to the first '{', across lines; lines starting with
    // '#' in between are comments; a '}' first is an error.
    enum { kInit, kData, kComment } gs = kInit;
    std::string text;
    size_t j = i;
    for (; j < t_.size() && t_[j] != '\0'; ++j) {
      const char c = t_[j];
      if (gs == kInit) {
        if (c == '#') {
          gs = kComment;
        } else if (!IsSpace(c)) {
          gs = kData;
        }
      } else if (c == '\n') {
        gs = kInit;
      }
      if (gs == kComment) continue;
      if (c == '}') {
        Problem(LineOf(j),
                "unexpected } (missing previous '{'; logrotate ignores the rest "
                "of the file)");
        return false;
      }
      if (c == '{') break;
      text.push_back(c);
    }
    if (j >= t_.size() || t_[j] != '{') {
      Problem(line,
              "missing '{' after log files definition (logrotate ignores the rest of "
              "the file)");
      return false;
    }
    std::vector<std::string> patterns;
    switch (PoptSplit(text, &patterns)) {
      case SplitResult::kOk:
        break;
      case SplitResult::kBadQuote:
        Problem(line, "error parsing filename");
        return false;
      case SplitResult::kEmpty:
        Problem(line, "{ expected after log file name(s)");
        return false;
    }
    if (static_cast<size_t>(fact_.stanzas_size()) >= kMaxStanzas) {
      Problem(line, absl::StrCat("more than ", kMaxStanzas, " stanzas; the rest is not read"));
      return false;
    }
    if (patterns.size() > kMaxPatternsPerStanza) {
      Problem(line, absl::StrCat("more than ", kMaxPatternsPerStanza,
                                 " patterns in one stanza; the rest are not read"));
      patterns.resize(kMaxPatternsPerStanza);
    }
    if (state_.patterns_total + patterns.size() > kMaxPatternsTotal) {
      Problem(line, absl::StrCat("more than ", kMaxPatternsTotal,
                                 " patterns in all; the rest of the file is not read"));
      return false;
    }
    state_.patterns_total += patterns.size();
    for (std::string& p : patterns) {
      if (p.size() > kMaxPatternLength) {
        Problem(line, absl::StrCat("a pattern of ", p.size(), " bytes, longer than any path"));
        p.resize(kMaxPatternLength);
      }
    }
    in_stanza_ = true;
    stanza_opts_ = state_.defaults;
    stanza_unmatched_.clear();
    v1::LogrotateStanza* s = fact_.add_stanzas();
    s->set_file(std::string(file_));
    s->set_line(line);
    for (const std::string& p : patterns) s->add_patterns(p);
    Expand(*s, line);
    RenderOptions(stanza_opts_, *s);
    *next = j + 1;
    return true;
  }

  // Globs the new stanza's patterns now, as logrotate does while reading:
  // a path some stanza already has is a duplicate, and the rest of that
  // pattern's matches are dropped, unless the stanza holding the path has
  // ignoreduplicates (the new stanza's own setting does not matter).
  void Expand(v1::LogrotateStanza& s, uint32_t line) {
    if (!state_.expand) return;
    for (const std::string& pattern : s.patterns()) {
      if (pattern[0] != '/' && pattern[0] != '~') {
        Problem(line, absl::StrCat("relative log path '", Quote(pattern), "' (resolved in ",
                                   Quote(state_.cwd),
                                   "; logrotate resolves it against its working directory)"));
      }
      std::vector<std::string> found = state_.expand(pattern, line);
      // glob(3) with GLOB_NOCHECK hands back a pattern that matched
      // nothing; logrotate keeps it as a name (of a file that does not
      // exist: not matched), and a later identical name is a duplicate.
      const bool nothing = found.empty();
      if (nothing) found.push_back(pattern);
      for (std::string& path : found) {
        if (auto held = state_.claimed.find(path); held != state_.claimed.end()) {
          if (held->second) continue;
          Problem(line, absl::StrCat("duplicate log entry for ", Quote(path),
                                     " (an earlier stanza has it; logrotate skips the rest of ",
                                     Quote(pattern), ")"));
          had_error_ = true;
          break;
        }
        if (state_.matched_total >= kMaxMatchedTotal || state_.claimed.size() >= kMaxClaimed) {
          Problem(line, absl::StrCat("more than ", kMaxMatchedTotal,
                                     " files matched in all; the rest are not listed"));
          return;
        }
        state_.claimed.emplace(path, stanza_opts_.ignoreduplicates);
        if (nothing) {
          stanza_unmatched_.push_back(std::move(path));
        } else {
          ++state_.matched_total;
          s.add_matched(std::move(path));
        }
      }
    }
  }

  void CloseStanza() {
    v1::LogrotateStanza& s = *fact_.mutable_stanzas(fact_.stanzas_size() - 1);
    RenderOptions(stanza_opts_, s);
    // ignoreduplicates set inside the stanza counts for later stanzas.
    for (const std::string& m : s.matched()) state_.claimed[m] = stanza_opts_.ignoreduplicates;
    for (const std::string& m : stanza_unmatched_) {
      state_.claimed[m] = stanza_opts_.ignoreduplicates;
    }
    in_stanza_ = false;
  }

  void DropStanza() {
    const v1::LogrotateStanza& s = fact_.stanzas(fact_.stanzas_size() - 1);
    for (const std::string& m : s.matched()) {
      state_.claimed.erase(m);
      --state_.matched_total;
    }
    for (const std::string& m : stanza_unmatched_) state_.claimed.erase(m);
    fact_.mutable_stanzas()->RemoveLast();
    in_stanza_ = false;
  }

  absl::string_view t_;
  absl::string_view file_;
  v1::LogrotateFact& fact_;
  LogrotateParseState& state_;
  std::vector<size_t> newlines_;
  unsigned mode_ = kDefault;
  bool in_stanza_ = false;
  bool had_error_ = false;
  uint32_t script_line_ = 0;
  LogrotateOptions stanza_opts_;
  std::vector<std::string> stanza_unmatched_;  // patterns claimed as names
};

// ------------------------------------------------------------ host reading

// The host's /etc/passwd and /etc/group: create/su names must exist there
// (logrotate drops a stanza naming an unknown user or group), and ~user.
struct HostAccounts {
  bool have_users = false;
  bool have_groups = false;
  std::set<std::string> users, groups;
  std::set<uint64_t> uids, gids;
  std::map<std::string, std::string> homes;
};

void ReadIdFile(HostEnv& env, absl::string_view path, size_t max_bytes, bool* have,
                std::set<std::string>* names, std::set<uint64_t>* ids,
                std::map<std::string, std::string>* homes) {
  auto data = env.ReadFile(path, max_bytes);
  if (!data.ok()) return;
  *have = true;
  for (absl::string_view line : absl::StrSplit(data->content, '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ':');
    if (f.size() < 3 || f[0].empty()) continue;
    names->insert(std::string(f[0]));
    uint64_t id = 0;
    if (absl::SimpleAtoi(f[2], &id)) ids->insert(id);
    if (homes != nullptr && f.size() >= 6) homes->emplace(std::string(f[0]), std::string(f[5]));
  }
}

// getpwnam, then a number naming an existing id (logrotate's resolveUid).
bool NameOrIdKnown(const std::set<std::string>& names, const std::set<uint64_t>& ids,
                   const std::string& name) {
  if (names.count(name) != 0) return true;
  uint64_t id = 0;
  if (name.empty() || !std::all_of(name.begin(), name.end(), IsDigit)) return false;
  return absl::SimpleAtoi(name, &id) && id < static_cast<uint64_t>(INT_MAX) && ids.count(id) != 0;
}

// Why logrotate (running as root) would ignore a configuration file, or
// nullptr: it must not be group/world-writable and must be owned by root.
// Ownership is judged on the live host only: an image or fixture under
// --root need not keep its owners (a checkout, a copy by another user).
const char* IgnoredBecause(const FileInfo& info, bool live) {
  if ((info.mode & 022) != 0) return "it is writable by group or others";
  if (live && info.uid != 0) return "its owner is not root";
  return nullptr;
}

class ConfigReader {
 public:
  ConfigReader(HostEnv& env, size_t max_bytes, v1::LogrotateFact& fact)
      : env_(env), max_bytes_(max_bytes), fact_(fact) {
    ReadIdFile(env_, "/etc/passwd", max_bytes_, &accounts_.have_users, &accounts_.users,
               &accounts_.uids, &accounts_.homes);
    ReadIdFile(env_, "/etc/group", max_bytes_, &accounts_.have_groups, &accounts_.groups,
               &accounts_.gids, nullptr);
    if (accounts_.have_users) {
      state_.user_known = [this](const std::string& n) {
        return NameOrIdKnown(accounts_.users, accounts_.uids, n);
      };
    }
    if (accounts_.have_groups) {
      state_.group_known = [this](const std::string& n) {
        return NameOrIdKnown(accounts_.groups, accounts_.gids, n);
      };
    }
    state_.include = [this](const std::string& arg, uint32_t line) {
      return ReadPath(arg, files_.empty() ? std::string() : files_.back(), line);
    };
    state_.expand = [this](const std::string& pattern, uint32_t line) {
      return ExpandPattern(pattern, line);
    };
  }

  void Run(absl::string_view main_file) {
    ReadPath(std::string(main_file), std::string(main_file), 0);
    if (!fact_.has_defaults()) {
      RenderOptions(state_.defaults, *fact_.mutable_defaults());
      fact_.mutable_defaults()->set_file(std::string(main_file));
    }
  }

 private:
  // logrotate runs as root; "~" is root's home.
  std::string RootHome() const {
    auto it = accounts_.homes.find("root");
    return it != accounts_.homes.end() && !it->second.empty() ? it->second : "/root";
  }

  // glob(3)'s GLOB_TILDE: "~/x", "~user/x"; an unknown user stays as is.
  std::string ExpandTilde(const std::string& p) const {
    size_t slash = p.find('/');
    std::string user = p.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
    std::string home;
    if (user.empty()) {
      home = RootHome();
    } else {
      auto it = accounts_.homes.find(user);
      if (it == accounts_.homes.end()) return p;
      home = it->second;
    }
    return slash == std::string::npos ? home : absl::StrCat(home, p.substr(slash));
  }

  std::vector<std::string> ExpandPattern(const std::string& raw, uint32_t line) {
    std::string pattern = raw[0] == '~' ? ExpandTilde(raw) : raw;
    if (pattern.empty()) return {};
    if (pattern[0] != '/') pattern = JoinPath(state_.cwd, pattern);
    bool truncated = false;
    std::vector<std::string> found = ExpandGlob(env_, pattern, kMaxMatchedPerPattern, &truncated);
    if (truncated) {
      AddProblem(fact_, files_.empty() ? "" : files_.back(), line,
                 absl::StrCat("'", Quote(raw), "' matches more than ", kMaxMatchedPerPattern,
                              " paths; the rest are not listed"));
    }
    if (found.empty() && (HasGlobChars(pattern) || pattern.find('\\') != std::string::npos)) {
      // glob(3) with GLOB_NOCHECK hands the pattern back when nothing
      // matches, and logrotate then takes it as a file name.
      if (env_.Stat(pattern).ok()) found.push_back(pattern);
    }
    // "if we glob directories we can get false matches"
    found.erase(std::remove_if(found.begin(), found.end(),
                               [this](const std::string& p) {
                                 auto st = env_.Stat(p);
                                 return st.ok() && st->type == FileInfo::Type::kDirectory;
                               }),
                found.end());
    return found;
  }

  // logrotate's readConfigPath: a directory's entries in sorted order (taboo
  // names skipped), or one file. A file that had an error leaves the global
  // options as they were before it.
  bool ReadPath(const std::string& arg, const std::string& from, uint32_t line) {
    std::string path = arg;
    if (absl::StartsWith(path, "~/")) path = absl::StrCat(RootHome(), path.substr(1));
    if (path.empty() || path[0] != '/') path = JoinPath(state_.cwd, path);
    auto st = env_.Stat(path);
    if (!st.ok()) {
      NoteUnreadable(*fact_.mutable_collection(), path, st.status());
      AddProblem(fact_, from, line,
                 absl::StrCat("cannot stat ", Quote(path), ": ", st.status().message()));
      return false;
    }
    std::optional<std::vector<DirEntry>> entries;
    if (st->type == FileInfo::Type::kDirectory || st->type == FileInfo::Type::kSymlink) {
      auto listed = env_.ListDir(path);
      if (listed.ok()) {
        entries = std::move(*listed);
      } else if (st->type == FileInfo::Type::kDirectory) {
        NoteUnreadable(*fact_.mutable_collection(), path, listed.status());
        AddProblem(
            fact_, from, line,
            absl::StrCat("cannot open directory ", Quote(path), ": ", listed.status().message()));
        return false;
      }
    }
    if (!entries) return ReadOneRestoring(path);
    std::vector<std::string> names;
    for (const DirEntry& e : *entries) {
      bool taboo = false;
      for (const std::string& t : state_.taboo) {
        if (fnmatch(t.c_str(), e.name.c_str(), FNM_PERIOD) == 0) {
          taboo = true;
          break;
        }
      }
      if (!taboo) names.push_back(e.name);
    }
    const std::string saved_cwd = state_.cwd;
    state_.cwd = path;
    bool ok = true;
    for (const std::string& name : names) ok &= ReadOneRestoring(JoinPath(path, name));
    state_.cwd = saved_cwd;
    return ok;
  }

  bool ReadOneRestoring(const std::string& path) {
    const LogrotateOptions saved = state_.defaults;
    if (ReadOne(path)) return true;
    state_.defaults = saved;
    return false;
  }

  bool ReadOne(const std::string& path) {
    if (files_read_ >= kMaxConfigFiles) {
      if (files_read_ == kMaxConfigFiles) {
        AddProblem(fact_, path, 0,
                   absl::StrCat("more than ", kMaxConfigFiles,
                                " configuration files read (an include loop?); the rest are "
                                "not read"));
      }
      ++files_read_;
      return false;
    }
    ++files_read_;
    if (bytes_read_ >= kMaxConfigBytes) {
      AddProblem(fact_, path, 0,
                 absl::StrCat("more than ", kMaxConfigBytes,
                              " bytes of configuration read; this file is not read"));
      return false;
    }
    auto data = env_.ReadFile(path, max_bytes_);
    if (!data.ok()) {
      // logrotate skips what is not a regular file without complaint.
      if (absl::IsFailedPrecondition(data.status())) return true;
      // An unread configuration may hold the stanza for any log.
      NoteUnreadable(*fact_.mutable_collection(), path, data.status());
      AddProblem(fact_, path, 0,
                 absl::StrCat("failed to open config file: ", data.status().message()));
      return false;
    }
    if (const char* why = IgnoredBecause(data->info, env_.live())) {
      AddProblem(fact_, path, 0, absl::StrCat("logrotate ignores this file: ", why));
      return true;
    }
    bytes_read_ += data->content.size();
    fact_.add_files(path);
    files_.push_back(path);
    const bool ok = ParseLogrotateConfig(data->content, path, fact_, state_);
    files_.pop_back();
    return ok;
  }

  HostEnv& env_;
  const size_t max_bytes_;
  v1::LogrotateFact& fact_;
  HostAccounts accounts_;
  LogrotateParseState state_;
  std::vector<std::string> files_;  // being read, innermost last
  size_t files_read_ = 0;
  size_t bytes_read_ = 0;
};

// ------------------------------------------------------------ log files

class LogWalker {
 public:
  LogWalker(HostEnv& env, const CollectOptions& options, v1::LogrotateFact& fact,
            const std::map<std::string, int64_t>& status)
      : env_(env), options_(options), fact_(fact), status_(status) {
    for (const v1::LogrotateStanza& s : fact_.stanzas()) {
      for (const std::string& m : s.matched()) {
        covered_.emplace(m, absl::StrCat(s.file(), ":", s.line()));
      }
    }
  }

  void Run() {
    Walk(std::string(kLogDir), 0);
    Docker();
    fact_.set_logs_truncated(truncated_);
  }

 private:
  bool Count() {
    if (visited_ >= options_.max_walk_entries) {
      truncated_ = true;
      return false;
    }
    ++visited_;
    return true;
  }

  void Walk(const std::string& dir, size_t depth) {
    if (truncated_) return;
    auto entries = env_.ListDir(dir);
    if (!entries.ok()) {
      // Logs that could not be listed may be the ones growing unrotated.
      NoteUnreadable(*fact_.mutable_collection(), dir, entries.status());
      if (!(absl::IsNotFound(entries.status()) && dir == kLogDir)) {
        AddProblem(fact_, dir, 0, std::string(entries.status().message()));
      }
      return;
    }
    std::vector<std::string> files, subdirs;
    for (const DirEntry& e : *entries) {
      if (!Count()) break;
      const std::string path = JoinPath(dir, e.name);
      if (e.type == FileInfo::Type::kRegular) {
        // Sparse databases, not logs.
        if (path == "/var/log/lastlog" || path == "/var/log/faillog") continue;
        files.push_back(e.name);
      } else if (e.type == FileInfo::Type::kDirectory && depth < kMaxLogDepth &&
                 path != "/var/log/journal") {
        subdirs.push_back(path);
      }
    }
    AddLogs(dir, files, files);
    for (const std::string& sub : subdirs) Walk(sub, depth + 1);
  }

  // Docker's json-file logs: one directory per container.
  void Docker() {
    if (truncated_) return;
    const size_t budget = options_.max_walk_entries - visited_;
    bool cut = false;
    std::vector<std::string> found = ExpandGlob(env_, kDockerLogs, budget, &cut);
    visited_ += found.size();
    if (cut) truncated_ = true;
    std::map<std::string, std::vector<std::string>> by_dir;
    for (const std::string& p : found) {
      const size_t slash = p.rfind('/');
      by_dir[p.substr(0, slash)].push_back(p.substr(slash + 1));
    }
    for (const auto& [dir, logs] : by_dir) {
      auto entries = env_.ListDir(dir);
      if (!entries.ok()) {
        NoteUnreadable(*fact_.mutable_collection(), dir, entries.status());
        continue;
      }
      std::vector<std::string> regular;
      for (const DirEntry& e : *entries) {
        if (!Count()) break;
        if (e.type == FileInfo::Type::kRegular) regular.push_back(e.name);
      }
      std::set<std::string> is_regular(regular.begin(), regular.end());
      std::vector<std::string> regular_logs;
      for (const std::string& l : logs) {
        if (is_regular.count(l) != 0) regular_logs.push_back(l);
      }
      AddLogs(dir, regular, regular_logs);
    }
  }

  // `logs` (names in `dir`) become LogFiles, except rotated copies, which
  // are counted into the file they belong to.
  void AddLogs(const std::string& dir, const std::vector<std::string>& regular,
               const std::vector<std::string>& logs) {
    const std::set<std::string> log_names(logs.begin(), logs.end());
    std::map<std::string, uint32_t> copies;
    for (const std::string& name : regular) {
      std::string base = RotatedBaseName(name);
      if (!base.empty() && log_names.count(base) != 0) ++copies[base];
    }
    for (const std::string& name : logs) {
      if (!RotatedBaseName(name).empty()) continue;
      const std::string path = JoinPath(dir, name);
      v1::LogFile* f = fact_.add_logs();
      f->set_path(path);
      if (auto st = env_.Stat(path); st.ok()) {
        f->set_size_bytes(st->size);
        f->set_mtime_unix(st->mtime_unix);
      } else {
        NoteUnreadable(*fact_.mutable_collection(), path, st.status());
      }
      if (auto it = covered_.find(path); it != covered_.end()) f->set_covered_by(it->second);
      if (auto it = status_.find(path); it != status_.end()) f->set_last_rotated_unix(it->second);
      if (auto it = copies.find(name); it != copies.end()) f->set_rotated_copies(it->second);
    }
  }

  HostEnv& env_;
  const CollectOptions& options_;
  v1::LogrotateFact& fact_;
  const std::map<std::string, int64_t>& status_;
  std::map<std::string, std::string> covered_;
  size_t visited_ = 0;
  bool truncated_ = false;
};

// ------------------------------------------------------------ journald

// SystemMaxUse= in [Journal] of journald.conf, then of its drop-ins in
// sorted order; the last one wins.
void ReadJournald(HostEnv& env, size_t max_bytes, v1::LogrotateFact& fact) {
  v1::JournaldLimits* j = fact.mutable_journald();
  j->set_source("default");
  std::vector<std::string> files = {std::string(kJournaldConf)};
  if (auto entries = env.ListDir(kJournaldDropIns); entries.ok()) {
    for (const DirEntry& e : *entries) {
      if (absl::EndsWith(e.name, ".conf") && e.type != FileInfo::Type::kDirectory) {
        files.push_back(JoinPath(kJournaldDropIns, e.name));
      }
    }
  }
  for (const std::string& file : files) {
    auto data = env.ReadFile(file, max_bytes);
    if (!data.ok()) {
      if (NoteUnreadable(*fact.mutable_collection(), file, data.status())) {
        AddProblem(fact, file, 0, std::string(data.status().message()));
      }
      continue;
    }
    std::string section;
    uint32_t line_no = 0;
    for (absl::string_view line : absl::StrSplit(data->content, '\n')) {
      ++line_no;
      absl::string_view t = absl::StripAsciiWhitespace(line);
      if (t.empty() || t[0] == '#' || t[0] == ';') continue;
      if (t[0] == '[') {
        const size_t close = t.find(']');
        section = std::string(t.substr(1, close == absl::string_view::npos ? t.size() : close - 1));
        continue;
      }
      if (section != "Journal") continue;
      const size_t eq = t.find('=');
      if (eq == absl::string_view::npos) continue;
      if (absl::StripAsciiWhitespace(t.substr(0, eq)) != "SystemMaxUse") continue;
      j->set_system_max_use(Quote(absl::StripAsciiWhitespace(t.substr(eq + 1))));
      j->set_source(absl::StrCat(file, ":", line_no));
    }
  }
}

// ------------------------------------------------------------ the collector

// Which init runs the host: what Debian's cron.daily/logrotate asks
// (/run/systemd/system is a directory) when live; in an image, where /run is
// empty, what /sbin/init points at.
void ReadInit(HostEnv& env, v1::LogrotateFact& fact) {
  if (env.live()) {
    auto run = env.Stat("/run/systemd/system");
    const bool systemd = run.ok() && run->type == FileInfo::Type::kDirectory;
    fact.set_init(systemd ? "systemd" : "other");
    fact.set_init_source(systemd ? "/run/systemd/system exists"
                                 : "/run/systemd/system does not exist");
    return;
  }
  for (absl::string_view init : {"/sbin/init", "/usr/sbin/init"}) {
    auto st = env.Stat(init);
    if (!st.ok()) continue;
    if (st->type == FileInfo::Type::kSymlink) {
      auto target = env.ReadLink(init);
      if (!target.ok()) continue;
      fact.set_init(absl::StrContains(*target, "systemd") ? "systemd" : "other");
      fact.set_init_source(absl::StrCat(init, " -> ", *target));
    } else {
      fact.set_init("other");
      fact.set_init_source(absl::StrCat(init, " is not systemd's link"));
    }
    return;
  }
}

// How logrotate is scheduled: the timer (enabled, masked, where defined, its
// last trigger) and cron.daily (present, guarded, cron installed).
void ReadSchedule(HostEnv& env, const CollectOptions& options, v1::LogrotateFact& fact) {
  ReadInit(env, fact);
  fact.set_timer_enabled(env.Stat(kTimerLink).ok());
  if (auto link = env.ReadLink(kTimerOverride); link.ok() && *link == "/dev/null") {
    fact.set_timer_masked(true);
  }
  for (absl::string_view unit :
       {"/etc/systemd/system/logrotate.timer", "/lib/systemd/system/logrotate.timer",
        "/usr/lib/systemd/system/logrotate.timer"}) {
    auto st = env.Stat(unit);
    if (st.ok() && st->type == FileInfo::Type::kRegular) {
      fact.set_timer_unit(std::string(unit));
      break;
    }
  }
  if (auto stamp = env.Stat(kTimerStamp); stamp.ok()) {
    fact.set_timer_last_trigger_unix(stamp->mtime_unix);
  }
  fact.set_cron_installed(env.Stat("/usr/sbin/cron").ok() || env.Stat("/usr/sbin/anacron").ok());
  auto cron = env.ReadFile(kCronDaily, options.max_file_bytes);
  fact.set_cron_daily(cron.ok());
  if (cron.ok()) {
    // Debian's script: "if [ -d /run/systemd/system ]; then exit 0; fi".
    for (absl::string_view line : absl::StrSplit(cron->content, '\n')) {
      absl::string_view code = absl::StripLeadingAsciiWhitespace(line);
      if (!absl::StartsWith(code, "#") && absl::StrContains(code, "/run/systemd/system")) {
        fact.set_cron_daily_guarded(true);
      }
    }
  } else if (NoteUnreadable(*fact.mutable_collection(), kCronDaily, cron.status())) {
    // It exists but cannot be read: assume Debian's guard (it then helps
    // only without systemd), never a schedule it may not be.
    fact.set_cron_daily(true);
    fact.set_cron_daily_guarded(true);
  }
}

class LogrotateCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "logrotate"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::LogrotateFact& fact = *report.mutable_logrotate();
    v1::Collection* collection = fact.mutable_collection();
    collection->set_state(v1::Collection::OK);
    fact.set_main_file(std::string(kMainFile));
    fact.set_installed(env.Stat(kProgram).ok());
    ReadSchedule(env, options, fact);

    auto main = env.Stat(kMainFile);
    if (main.ok()) {
      if (main->type != FileInfo::Type::kDirectory) {
        auto data = env.ReadFile(kMainFile, options.max_file_bytes);
        if (!data.ok() && !absl::IsFailedPrecondition(data.status())) {
          NoteUnreadable(*collection, kMainFile, data.status());
          collection->set_state(v1::Collection::ERROR);
          collection->set_error(std::string(data.status().message()));
        }
      }
      ReadLogrotateConfig(env, kMainFile, options.max_file_bytes, fact);
    } else {
      RenderOptions(LogrotateOptions{}, *fact.mutable_defaults());
      fact.mutable_defaults()->set_file(std::string(kMainFile));
      if (NoteUnreadable(*collection, kMainFile, main.status())) {
        collection->set_state(v1::Collection::ERROR);
        collection->set_error(std::string(main.status().message()));
      } else if (!fact.installed()) {
        collection->set_state(v1::Collection::ABSENT);
        collection->set_error(
            absl::StrCat(kMainFile, " does not exist and ", kProgram, " is not installed"));
      } else {
        AddProblem(fact, kMainFile, 0,
                   absl::StrCat(kProgram, " is installed but ", kMainFile, " does not exist"));
      }
    }

    fact.set_status_file(std::string(kStatusFile));
    std::map<std::string, int64_t> status;
    auto data = env.ReadFile(kStatusFile, options.max_file_bytes);
    if (data.ok()) {
      fact.set_status_present(true);
      std::vector<v1::ParseProblem> problems;
      status = ParseLogrotateStatus(data->content, kStatusFile, &problems);
      for (v1::ParseProblem& p : problems) {
        if (fact.problems_size() < kMaxProblems) *fact.add_problems() = std::move(p);
      }
      int64_t newest = 0;
      for (const auto& [path, when] : status) newest = std::max(newest, when);
      fact.set_last_rotation_unix(newest);
      fact.set_status_mtime_unix(data->info.mtime_unix);
    } else if (NoteUnreadable(*collection, kStatusFile, data.status())) {
      AddProblem(fact, kStatusFile, 0, std::string(data.status().message()));
    }

    LogWalker(env, options, fact, status).Run();
    ReadJournald(env, options.max_file_bytes, fact);
    return collection;
  }
};

}  // namespace

const std::vector<std::string>& DefaultLogrotateTaboo() {
  // logrotate 3.21 as built for Debian 12 (its manual page omits .bak and
  // .dpkg-tmp, the program has them).
  static const std::vector<std::string> kTaboo = {
      "*,v",         "*.bak",      "*.cfsaved",  "*.disabled", "*.dpkg-bak",      "*.dpkg-del",
      "*.dpkg-dist", "*.dpkg-new", "*.dpkg-old", "*.dpkg-tmp", "*.rhn-cfg-tmp-*", "*.rpmnew",
      "*.rpmorig",   "*.rpmsave",  "*.swp",      "*.ucf-dist", "*.ucf-new",       "*.ucf-old",
      "*~"};
  return kTaboo;
}

bool ParseLogrotateConfig(absl::string_view content, absl::string_view file,
                          v1::LogrotateFact& fact, LogrotateParseState& state) {
  const bool ok = ConfigParser(content, file, fact, state).Run();
  v1::LogrotateStanza defaults;
  RenderOptions(state.defaults, defaults);
  defaults.set_file(std::string(file));
  *fact.mutable_defaults() = std::move(defaults);
  return ok;
}

void ReadLogrotateConfig(HostEnv& env, absl::string_view main_file, size_t max_file_bytes,
                         v1::LogrotateFact& fact) {
  fact.set_main_file(std::string(main_file));
  ConfigReader(env, max_file_bytes, fact).Run(main_file);
}

std::map<std::string, int64_t> ParseLogrotateStatus(absl::string_view content,
                                                    absl::string_view file,
                                                    std::vector<v1::ParseProblem>* problems) {
  std::map<std::string, int64_t> out;
  auto problem = [&](uint32_t line, std::string message) {
    if (problems == nullptr || problems->size() >= static_cast<size_t>(kMaxProblems)) return;
    v1::ParseProblem& p = problems->emplace_back();
    p.set_file(std::string(file));
    p.set_line(line);
    p.set_message(std::move(message));
  };
  if (content.empty()) return out;
  uint32_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_no;
    if (line_no == 1) {
      if (line != "logrotate state -- version 1" && line != "logrotate state -- version 2") {
        problem(1, "bad top line (logrotate rejects this state file)");
      }
      continue;
    }
    if (line.empty()) continue;
    std::vector<std::string> args;
    if (PoptSplit(line, &args) != SplitResult::kOk || args.size() != 2) {
      problem(line_no, "not a \"path\" date line");
      continue;
    }
    // sscanf("%d-%d-%d-%d:%d:%d"): at least the date.
    Scanner s(args[1]);
    int64_t f[6] = {0, 0, 0, 0, 0, 0};
    const char seps[] = {'-', '-', '-', ':', ':'};
    int fields = 0;
    while (fields < 6) {
      if (fields > 0 && !s.Literal(seps[fields - 1])) break;
      if (!s.Int(&f[fields])) break;
      ++fields;
    }
    if (fields < 3) {
      problem(line_no, absl::StrCat("bad date '", Quote(args[1]), "'"));
      continue;
    }
    const bool ok = (f[0] == 1900 || (f[0] >= 1970 && f[0] <= 2100)) && f[1] >= 1 && f[1] <= 12 &&
                    f[2] >= 0 && f[2] <= 31 && f[3] >= 0 && f[3] <= 23 && f[4] >= 0 && f[4] <= 59 &&
                    f[5] >= 0 && f[5] <= 59;
    if (!ok) {
      problem(line_no, absl::StrCat("date out of range '", Quote(args[1]), "'"));
      continue;
    }
    // logrotate writes '"', '\' and newline escaped.
    std::string path;
    const std::string& raw = args[0];
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size() && (raw[i + 1] == '\\' || raw[i + 1] == 'n')) {
        path.push_back(raw[i + 1] == 'n' ? '\n' : '\\');
        ++i;
      } else {
        path.push_back(raw[i]);
      }
    }
    if (out.size() >= kMaxStatusEntries && out.count(path) == 0) {
      if (out.size() == kMaxStatusEntries) {
        problem(line_no, absl::StrCat("more than ", kMaxStatusEntries,
                                      " entries; the rest are "
                                      "not read"));
      }
      break;
    }
    const absl::CivilSecond when(f[0], f[1], f[2], f[3], f[4], f[5]);
    out[path] = absl::ToUnixSeconds(absl::FromCivil(when, absl::UTCTimeZone()));
  }
  return out;
}

std::string RotatedBaseName(absl::string_view name) {
  absl::string_view n = name;
  for (absl::string_view ext : {".gz", ".bz2", ".xz", ".zst", ".Z", ".lz4", ".lzma"}) {
    if (n.size() > ext.size() && absl::EndsWith(n, ext)) {
      n.remove_suffix(ext.size());
      break;
    }
  }
  auto digits = [](absl::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), IsDigit);
  };
  const size_t dot = n.rfind('.');
  if (dot != absl::string_view::npos && dot > 0) {
    absl::string_view suffix = n.substr(dot + 1);
    // name.1
    if (digits(suffix)) return std::string(n.substr(0, dot));
    // name.2024-01-31T00-00-00 (mongod and other self-rotating programs)
    const size_t count = static_cast<size_t>(std::count_if(suffix.begin(), suffix.end(), IsDigit));
    const bool stamp = std::all_of(suffix.begin(), suffix.end(), [](char c) {
      return IsDigit(c) || c == '-' || c == 'T' || c == ':' || c == '_';
    });
    if (stamp && count >= 8) return std::string(n.substr(0, dot));
  }
  // name-20240131, name-2024013112 (dateext)
  const size_t dash = n.rfind('-');
  if (dash != absl::string_view::npos && dash > 0) {
    absl::string_view suffix = n.substr(dash + 1);
    if (digits(suffix) && (suffix.size() == 8 || suffix.size() == 10)) {
      return std::string(n.substr(0, dash));
    }
  }
  return "";
}

std::unique_ptr<FactCollector> MakeLogrotateCollector() {
  return std::make_unique<LogrotateCollector>();
}

}  // namespace preflight::agent
