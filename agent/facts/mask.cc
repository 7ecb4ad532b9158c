// Secret masking. Each line is split into shell-like words (quotes, escapes
// and $(...) kept inside a word, whitespace and |&;<>() between words) and
// words into commands (at ; | && ||, not at redirections). Rules mark byte
// ranges to replace, each with its rule's name; overlapping ranges are
// merged and each run is replaced by kMasked.
//
// A value is masked to the end of the word it starts in; when it starts
// inside quotes opened before it and that quote ends the word
// (`"PASSWORD=x"`), the closing quote stays, so the quotes stay balanced. Quoted parts of a word
// (`sh -c "mysql -pX"`) are scanned again as command lines, three levels deep at most.
//
// Every scan resumes after what it consumed, so the time is linear in the
// input times a small constant (the number of rules and the nesting depth).
#include "agent/facts/mask.h"

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace preflight::agent {
namespace {

constexpr size_t npos = absl::string_view::npos;

struct Range {
  size_t begin = 0;
  size_t end = 0;  // exclusive
  const char* rule = "";
};
using Ranges = std::vector<Range>;

struct Token {
  size_t start = 0;
  size_t end = 0;
  bool op = false;  // a run of |&;<> or one of ( )
};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}
bool IsOpChar(char c) {
  return c == '|' || c == '&' || c == ';' || c == '<' || c == '>' || c == '(' || c == ')';
}
bool IsNameChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }
bool IsQuote(char c) { return c == '"' || c == '\''; }

// Index of the character closing the construct opened at `open` (a quote, a
// backtick, or the bracket after '$'), or s.size() when it is never closed.
size_t SkipQuoted(absl::string_view s, size_t open) {
  const char q = s[open];
  if (q == '\'' || q == '`') {
    size_t close = s.find(q, open + 1);
    return close == npos ? s.size() : close;
  }
  if (q == '"') {
    for (size_t i = open + 1; i < s.size(); ++i) {
      if (s[i] == '\\') {
        ++i;
      } else if (s[i] == '"') {
        return i;
      }
    }
    return s.size();
  }
  // '(' or '{' after '$': count nesting of the same bracket.
  const char close_char = q == '(' ? ')' : '}';
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == q) {
      ++depth;
    } else if (s[i] == close_char && --depth == 0) {
      return i;
    }
  }
  return s.size();
}

// Where a quoted construct starts at w[i]: the opening character's index,
// or npos.
size_t QuoteOpenAt(absl::string_view w, size_t i) {
  const char c = w[i];
  if (c == '\'' || c == '"' || c == '`') return i;
  if (c == '$' && i + 1 < w.size() && (w[i + 1] == '(' || w[i + 1] == '{')) return i + 1;
  return npos;
}

std::vector<Token> Tokenize(absl::string_view s) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (IsSpace(c)) {
      ++i;
      continue;
    }
    Token t;
    t.start = i;
    if (c == '(' || c == ')') {
      t.op = true;
      t.end = ++i;
    } else if (IsOpChar(c)) {
      t.op = true;
      while (i < s.size() && IsOpChar(s[i]) && s[i] != '(' && s[i] != ')') ++i;
      t.end = i;
    } else {
      while (i < s.size()) {
        const char w = s[i];
        if (IsSpace(w) || IsOpChar(w)) break;
        if (w == '\\') {
          i = std::min(s.size(), i + 2);
        } else if (size_t open = QuoteOpenAt(s, i); open != npos) {
          i = std::min(s.size(), SkipQuoted(s, open) + 1);
        } else {
          ++i;
        }
      }
      t.end = i;
    }
    tokens.push_back(t);
  }
  return tokens;
}

// Ends of values inside one word, for increasing value starts: the closing
// quote of a quoted construct opened before the value, else the word's end.
// Walks the word once however many values are asked for.
class ValueEnds {
 public:
  explicit ValueEnds(absl::string_view word) : w_(word) {}

  // The opening quote of the construct the last End() found the value in,
  // or npos.
  size_t open() const { return close_ == npos ? npos : open_; }

  size_t End(size_t value_start) {
    if (close_ != npos) {
      if (value_start <= close_) return close_;
      i_ = close_ + 1;
      close_ = npos;
    }
    while (i_ < value_start) {
      if (w_[i_] == '\\') {
        i_ += 2;
        continue;
      }
      size_t open = QuoteOpenAt(w_, i_);
      if (open == npos) {
        ++i_;
        continue;
      }
      size_t close = SkipQuoted(w_, open);
      if (close >= value_start) {
        open_ = open;
        // The shell joins what follows the closing quote to the value
        // ("PASSWORD=a"b is PASSWORD=ab): the quote ends it only at the
        // word's end.
        close_ = close + 1 >= w_.size() ? close : w_.size();
        return close_;
      }
      i_ = close + 1;
    }
    return w_.size();
  }

 private:
  absl::string_view w_;
  size_t i_ = 0;
  size_t open_ = npos;
  size_t close_ = npos;
};

// NAME=value: the name's '_'-separated parts. Secret when a part mentions
// PASS (PASSWORD, PASSPHRASE, PASSWD), SECRET or TOKEN, ends in KEY (KEY,
// APIKEY, SECRET_ACCESS_KEY), or is PWD/PW after another part (MYSQL_PWD,
// DB_PW; a lone PWD is the working directory); not when the last part says
// the value only points at the secret (PASSWORD_FILE, KEY_PATH,
// ACCESS_KEY_ID).
bool SecretName(absl::string_view name) {
  std::string upper = absl::AsciiStrToUpper(name);
  for (char& c : upper) {
    if (c == '-' || c == '.') c = '_';
  }
  std::vector<absl::string_view> parts = absl::StrSplit(upper, '_', absl::SkipEmpty());
  if (parts.empty()) return false;
  if (parts.size() > 1) {
    for (absl::string_view pointer :
         {"FILE", "PATH", "DIR", "FD", "ID", "NAME", "TYPE", "LENGTH", "SIZE", "STDIN", "COMMAND",
          "CMD", "URL", "SOCK", "METHOD", "MODE"}) {
      if (parts.back() == pointer) return false;
    }
    if (parts.back() == "AUTH") return true;  // REDISCLI_AUTH, BASIC_AUTH
  }
  for (absl::string_view part : parts) {
    if (absl::StrContains(part, "PASS") || absl::StrContains(part, "SECRET") ||
        absl::StrContains(part, "TOKEN") || absl::EndsWith(part, "KEY")) {
      return true;
    }
    if (parts.size() > 1 && (part == "PWD" || part == "PW")) return true;
    if (part.size() > 3 && absl::EndsWith(part, "PWD") && part != "OLDPWD") return true;
  }
  return false;
}

// --name / -name options that take a secret value. Parts are split on '-'
// and '_'. Flags without a value (--no-password, --ask-pass,
// --password-stdin) and pointers (--passphrase-file) are not secret.
bool SecretOption(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  std::vector<absl::string_view> parts =
      absl::StrSplit(lower, absl::ByAnyChar("-_"), absl::SkipEmpty());
  if (parts.empty()) return false;
  for (absl::string_view flag : {"no", "skip", "ask", "prompt", "disable", "without"}) {
    if (parts.front() == flag) return false;
  }
  for (absl::string_view pointer : {"file", "path", "dir", "fd", "id", "name", "type", "length",
                                    "size", "stdin", "env", "command", "cmd"}) {
    if (parts.back() == pointer) return false;
  }
  std::string joined;
  for (absl::string_view part : parts) {
    if (absl::StrContains(part, "password") || absl::StrContains(part, "passphrase") ||
        absl::StrContains(part, "passwd") || absl::StrContains(part, "secret") ||
        absl::StrContains(part, "token") || part == "pw" || part == "pwd" || part == "passin" ||
        part == "passout" || part == "bearer" ||
        (absl::EndsWith(part, "pass") && part != "bypass" && part != "compass")) {
      return true;
    }
    absl::StrAppend(&joined, part);
  }
  return absl::EndsWith(joined, "apikey") || absl::EndsWith(joined, "accesskey") ||
         absl::EndsWith(joined, "authkey");
}

// ---------------------------------------------------------------------------
// Programs with their own secret flags and positional secrets.

enum Take { kAttached = 1, kSeparate = 2, kBoth = 3 };
// Which part of the value is secret: all of it, or what follows the first
// separator (user:PASS, user%PASS, user,PASS), or Oracle's user/PASS@db.
enum class Part { kWhole, kAfterColon, kAfterPercent, kAfterComma, kOracle };

// Table rows (constructors so that rows may leave trailing fields out).
struct Flag {
  Flag(absl::string_view f, Take t = kBoth, Part p = Part::kWhole, bool any = false)
      : flag(f), take(t), part(p), any_value(any) {}
  absl::string_view flag;  // "-p", "--user", "/p:"
  Take take;               // -pX and/or -p X (for --long: --long=X and/or --long X)
  Part part;
  bool any_value;  // an attached value may start with '-' (mysql -p-x)
};

struct Positional {
  Positional(std::vector<absl::string_view> sub, size_t f, size_t t = npos, bool secret = false,
             Part p = Part::kWhole)
      : subcommand(std::move(sub)), from(f), to(t), needs_secret_name(secret), part(p) {}
  std::vector<absl::string_view> subcommand;  // consecutive words selecting it
  size_t from;  // arguments after the subcommand at index >= from (and < to)
  size_t to;
  bool needs_secret_name;  // only when argument from-1 is a SecretName
  Part part;
};

struct Program {
  Program(std::vector<absl::string_view> n, absl::string_view a, std::vector<Flag> f = {},
          std::vector<Positional> pos = {}, bool batch = false, bool service = false)
      : names(std::move(n)),
        after(a),
        flags(std::move(f)),
        positional(std::move(pos)),
        batch_last(batch),
        after_service(service) {}
  std::vector<absl::string_view> names;  // basenames
  absl::string_view after;               // flags count only after this word ("login")
  std::vector<Flag> flags;
  std::vector<Positional> positional;
  bool batch_last;     // htpasswd -b: the last argument is the password
  bool after_service;  // smbclient //srv/share PASSWORD
};

const std::vector<Program>& Programs() {
  static const auto* programs = new std::vector<Program>{
      {{"mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlcheck", "mysqlpump", "mysqlshow",
        "mysqlbinlog", "mysqlsh", "mysql_upgrade", "mariadb", "mariadb-dump", "mariadb-admin",
        "mariadb-import", "mariadb-check"},
       "",
       {{"-p", kAttached, Part::kWhole, true}}},  // a bare -p prompts
      {{"mongo", "mongosh", "mongodump", "mongorestore", "mongoexport", "mongoimport", "mongostat",
        "mongotop", "mongofiles", "sshpass", "cqlsh", "ncftp", "ncftpput", "ncftpget", "ncftpls"},
       "",
       {{"-p"}}},
      {{"redis-cli", "keydb-cli"}, "", {{"-a"}}},
      {{"openssl"}, "", {{"-k", kSeparate}}},
      {{"ldapsearch", "ldapmodify", "ldapadd", "ldapdelete", "ldapwhoami", "ldapcompare",
        "ldapmodrdn", "ldapexop", "ldapvc"},
       "",
       {{"-w"}}},
      {{"ldappasswd"}, "", {{"-w"}, {"-s"}, {"-a"}}},
      {{"smbclient"},
       "",
       {{"-U", kBoth, Part::kAfterPercent}, {"--user", kBoth, Part::kAfterPercent}},
       {},
       false,
       true},
      {{"rpcclient", "smbcacls", "smbget", "smbtree", "smbcquotas", "net", "smbcontrol"},
       "",
       {{"-U", kBoth, Part::kAfterPercent}, {"--user", kBoth, Part::kAfterPercent}}},
      {{"samba-tool"},
       "",
       {{"-U", kBoth, Part::kAfterPercent}, {"--user", kBoth, Part::kAfterPercent}},
       {{{"user", "create"}, 1, 2}, {{"user", "add"}, 1, 2}}},
      {{"wbinfo"},
       "",
       {{"-a", kBoth, Part::kAfterPercent}, {"--authenticate", kBoth, Part::kAfterPercent}}},
      {{"curl"},
       "",
       {{"-u", kBoth, Part::kAfterColon},
        {"--user", kBoth, Part::kAfterColon},
        {"-U", kBoth, Part::kAfterColon},
        {"--proxy-user", kBoth, Part::kAfterColon},
        {"-E", kBoth, Part::kAfterColon},
        {"--cert", kBoth, Part::kAfterColon}}},
      {{"http", "https", "xh", "xhs"},
       "",
       {{"-a", kBoth, Part::kAfterColon}, {"--auth", kBoth, Part::kAfterColon}}},
      {{"docker", "podman", "buildah", "skopeo", "nerdctl", "helm", "oras", "az", "crane",
        "regctl"},
       "login",
       {{"-p"}}},
      {{"lftp"}, "", {{"-u", kBoth, Part::kAfterComma}}},
      {{"zip", "unzip", "zipcloak"}, "", {{"-P"}}},
      {{"7z", "7za", "7zr", "rar", "unrar"}, "", {{"-p", kAttached}}},
      {{"ssh-keygen"}, "", {{"-N", kSeparate}, {"-P", kSeparate}}},
      {{"sqlcmd", "bcp", "osql"}, "", {{"-P"}}},
      {{"mosquitto_pub", "mosquitto_sub", "mosquitto_rr", "ipmitool"}, "", {{"-P"}}},
      {{"snmpwalk", "snmpget", "snmpset", "snmpbulkwalk", "snmpbulkget", "snmpgetnext", "snmptable",
        "snmptrap", "snmpdelta", "snmpstatus"},
       "",
       {{"-A"}, {"-X"}, {"-c"}}},
      {{"useradd", "usermod"}, "", {{"-p"}}},
      {{"xfreerdp", "wlfreerdp", "sdl-freerdp"}, "", {{"/p:", kAttached}}},
      {{"influx"}, "", {{"-t"}, {"-p", kBoth, Part::kAfterColon}}},
      {{"rabbitmqctl"}, "", {}, {{{"add_user"}, 1}, {{"change_password"}, 1}}},
      {{"mc", "mcli"}, "", {}, {{{"alias", "set"}, 3}, {{"config", "host", "add"}, 3}}},
      {{"aws"}, "", {}, {{{"configure", "set"}, 1, npos, true}}},
      {{"vault", "bao"}, "", {}, {{{"login"}, 0}}},
      {{"sqlplus", "rman", "expdp", "impdp", "sqlldr"}, "", {}, {{{}, 0, 1, false, Part::kOracle}}},
      {{"htpasswd"}, "", {}, {}, true},
  };
  return *programs;
}

// Options of any program whose value is user:PASSWORD.
constexpr absl::string_view kColonOptions[] = {"--creds", "--src-creds", "--dest-creds", "--auth"};

// The word's basename with quotes and escapes around it removed.
absl::string_view Basename(absl::string_view word) {
  while (!word.empty() && (IsQuote(word.front()) || word.front() == '\\')) word.remove_prefix(1);
  while (!word.empty() && IsQuote(word.back())) word.remove_suffix(1);
  size_t slash = word.rfind('/');
  if (slash != npos) word.remove_prefix(slash + 1);
  return word;
}

const Program* ProgramOf(absl::string_view word) {
  absl::string_view base = Basename(word);
  if (base.empty()) return nullptr;
  for (const Program& p : Programs()) {
    for (absl::string_view name : p.names) {
      if (base == name) return &p;
    }
  }
  return nullptr;
}

// "$NAME", ${NAME}, $NAME: a reference, expanded by the shell.
bool VariableReference(absl::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.size() < 2 || v[0] != '$') return false;
  v.remove_prefix(1);
  if (v.front() == '{') {
    if (v.back() != '}') return false;
    v = v.substr(1, v.size() - 2);
  }
  return !v.empty() && std::all_of(v.begin(), v.end(), IsNameChar);
}

class Scanner {
 public:
  Scanner(absl::string_view s, size_t base, Ranges& out) : s_(s), base_(base), out_(out) {}

  void Run(int depth) {
    tokens_ = Tokenize(s_);
    // Commands: runs of words between command-ending operators.
    std::vector<std::pair<size_t, size_t>> commands;  // token index [first, last)
    std::vector<bool> piped;                          // command i's output goes to command i+1
    size_t first = 0;
    for (size_t k = 0; k <= tokens_.size(); ++k) {
      bool end = k == tokens_.size();
      bool pipe = false;
      if (!end && tokens_[k].op) {
        absl::string_view op = Text(k);
        if (op.find_first_of("<>") == npos) {
          end = true;
          pipe = op == "|" || op == "|&";
        }
      }
      if (!end) continue;
      if (k > first) {
        commands.emplace_back(first, k);
        piped.push_back(pipe);
      } else if (!piped.empty()) {
        piped.back() = piped.back() && pipe;
      }
      first = k + 1;
    }
    for (size_t c = 0; c < commands.size(); ++c) {
      Command(commands[c].first, commands[c].second, depth);
      if (piped[c] && c + 1 < commands.size()) {
        Pipe(commands[c], commands[c + 1]);
      }
    }
  }

 private:
  absl::string_view Text(size_t k) const {
    return s_.substr(tokens_[k].start, tokens_[k].end - tokens_[k].start);
  }

  void Add(size_t begin, size_t end, const char* rule) {
    if (begin < end) out_.push_back({base_ + begin, base_ + end, rule});
  }

  // Masks the part of token k's text from `from` (a value) selected by `part`.
  void AddValue(size_t k, size_t from, Part part, const char* rule) {
    absl::string_view w = Text(k);
    if (from >= w.size()) return;
    ValueEnds ends(w);
    size_t end = ends.End(from);
    absl::string_view v = w.substr(from, end - from);
    if (v == "''" || v == "\"\"" || v == "-") return;  // empty, or "none"
    // 'user:pass' as a whole word: look for the separator inside the quotes
    // and keep the closing one.
    if (part != Part::kWhole && v.size() >= 2 && IsQuote(v.front()) &&
        SkipQuoted(v, 0) == v.size() - 1) {
      ++from;
      --end;
      v = w.substr(from, end - from);
    }
    const size_t at = tokens_[k].start;
    auto after = [&](char sep) {
      size_t p = v.find(sep);
      if (p != npos) Add(at + from + p + 1, at + end, rule);
    };
    switch (part) {
      case Part::kWhole:
        Add(at + from, at + end, rule);
        break;
      case Part::kAfterColon:
        after(':');
        break;
      case Part::kAfterPercent:
        after('%');
        break;
      case Part::kAfterComma:
        after(',');
        break;
      case Part::kOracle: {  // user/PASSWORD@db
        size_t slash = v.find('/');
        if (slash == npos) break;
        size_t at_sign = v.find('@', slash);
        Add(at + from + slash + 1, at + from + (at_sign == npos ? v.size() : at_sign), rule);
        break;
      }
    }
  }

  // The word after token k when it is in the same command and not an option.
  bool ValueWord(size_t k, size_t last) const {
    return k + 1 < last && !tokens_[k + 1].op && s_[tokens_[k + 1].start] != '-';
  }

  void Command(size_t first, size_t last, int depth) {
    const Program* program = nullptr;
    bool after_seen = false;
    std::vector<size_t> args;  // positional arguments after the program
    bool batch = false;
    for (size_t k = first; k < last; ++k) {
      if (tokens_[k].op) continue;  // a redirection
      absl::string_view text = Text(k);
      if (depth < 3) Nested(k, depth);
      Assignments(k);
      Options(k, last);
      if (const Program* p = ProgramOf(text); p != nullptr && (!text.empty() && text[0] != '-')) {
        program = p;
        after_seen = false;
        args.clear();
        batch = false;
        continue;
      }
      if (program == nullptr) continue;
      if (!program->after.empty() && !after_seen) {
        after_seen = text == program->after;
      } else {
        Flags(*program, k, last);
      }
      if (k > first && tokens_[k - 1].op) continue;  // the target of a redirection
      if (text[0] == '-') {
        if (program->batch_last && text.size() > 1 && text[1] != '-' && text.find('b') != npos) {
          batch = true;
        }
        continue;
      }
      if (text.find('=') == npos) args.push_back(k);
    }
    if (program == nullptr) return;
    PositionalRules(*program, args, batch);
  }

  // Quoted parts of token k, scanned as command lines of their own.
  void Nested(size_t k, int depth) {
    absl::string_view w = Text(k);
    for (size_t i = 0; i < w.size();) {
      if (w[i] == '\\') {
        i += 2;
        continue;
      }
      size_t open = QuoteOpenAt(w, i);
      if (open == npos) {
        ++i;
        continue;
      }
      size_t close = SkipQuoted(w, open);
      if (close > open + 1) {
        Scanner inner(w.substr(open + 1, close - open - 1), base_ + tokens_[k].start + open + 1,
                      out_);
        inner.Run(depth + 1);
      }
      i = close + 1;
    }
  }

  // NAME=value anywhere in the word. In a URL query (?token=x&…) the value
  // ends at '&', in a connection string (…;Password=x;…) at ';', in an
  // option list (…,password=x,…) at ','.
  void Assignments(size_t k) {
    absl::string_view text = Text(k);
    ValueEnds ends(text);
    size_t resume = 0;
    for (size_t e = text.find('='); e != npos; e = text.find('=', std::max(e + 1, resume))) {
      size_t b = e;
      while (b > 0 && IsNameChar(text[b - 1])) --b;
      if (b == e || e + 1 >= text.size()) continue;
      if (!SecretName(text.substr(b, e - b))) continue;
      size_t end = ends.End(e + 1);
      // Inside quotes that hold several words before the name ("host=db
      // password=x dbname=y", a libpq conninfo): the value ends at a blank.
      // Quoted values inside are masked whole by the nested scan.
      if (size_t open = ends.open(); open != npos && open < b) {
        const absl::string_view quoted = text.substr(0, end);
        if (quoted.find_first_of(" \t", open + 1) < b) {
          end = std::min(end, quoted.find_first_of(" \t", e + 1));
        }
      }
      if (b > 0) {
        absl::string_view stops;
        switch (text[b - 1]) {
          case '?':
          case '&':
            stops = "&#";
            break;
          case ';':
            stops = ";";
            break;
          case ',':
            stops = ",";
            break;
          default:
            break;
        }
        // mount.cifs doubles a comma inside a password: ",," does not end it.
        for (size_t stop = e + 1; !stops.empty() && stop < end; ++stop) {
          if (stops.find(text[stop]) == npos) continue;
          if (text[stop] == ',' && stop + 1 < end && text[stop + 1] == ',') {
            ++stop;
            continue;
          }
          end = stop;
        }
      }
      Add(tokens_[k].start + e + 1, tokens_[k].start + end, "assignment");
      resume = end;
    }
  }

  // --name=value, --name value, -name value.
  void Options(size_t k, size_t last) {
    absl::string_view text = Text(k);
    size_t p = 0;
    while (p < text.size() && IsQuote(text[p])) ++p;
    if (p >= text.size() || text[p] != '-') return;
    const size_t dash = p;
    while (p < text.size() && text[p] == '-') ++p;
    size_t name_start = p;
    while (p < text.size() && (IsNameChar(text[p]) || text[p] == '-')) ++p;
    absl::string_view name = text.substr(name_start, p - name_start);
    if (name.empty()) return;
    Part part = Part::kWhole;
    const char* rule = "option";
    if (!SecretOption(name)) {
      absl::string_view flag = text.substr(dash, p - dash);
      if (std::find(std::begin(kColonOptions), std::end(kColonOptions), flag) ==
          std::end(kColonOptions)) {
        return;
      }
      part = Part::kAfterColon;
    }
    size_t value_token = k, value_from = 0;
    if (p < text.size() && text[p] == '=') {
      value_from = p + 1;
    } else if ((p == text.size() || (IsQuote(text[p]) && p + 1 == text.size())) &&
               ValueWord(k, last)) {
      value_token = k + 1;
    } else {
      return;
    }
    // openssl -passin pass:X / env:VAR / file:path / fd:N / stdin.
    const std::string lower = absl::AsciiStrToLower(name);
    if (lower == "pass" || lower == "passin" || lower == "passout") {
      absl::string_view v = Text(value_token).substr(value_from);
      while (!v.empty() && IsQuote(v.front())) {
        v.remove_prefix(1);
        ++value_from;
      }
      if (absl::StartsWith(v, "pass:")) {
        value_from += 5;
      } else if (absl::StartsWith(v, "env:") || absl::StartsWith(v, "file:") ||
                 absl::StartsWith(v, "fd:") || absl::StartsWith(v, "stdin")) {
        return;
      }
    }
    AddValue(value_token, value_from, part, rule);
  }

  void Flags(const Program& program, size_t k, size_t last) {
    absl::string_view text = Text(k);
    for (const Flag& f : program.flags) {
      if (!absl::StartsWith(text, f.flag)) continue;
      const bool long_flag = absl::StartsWith(f.flag, "--");
      if (text.size() == f.flag.size()) {
        if ((f.take & kSeparate) && ValueWord(k, last)) {
          AddValue(k + 1, 0, f.part, "client-flag");
        }
        return;
      }
      if (!(f.take & kAttached)) continue;
      size_t from = f.flag.size();
      if (long_flag) {
        if (text[from] != '=') continue;
        ++from;
      } else if (!f.any_value && text[from] == '-') {
        continue;  // -p-x: an option cluster, not a value
      }
      AddValue(k, from, f.part, "client-flag");
      return;
    }
  }

  void PositionalRules(const Program& program, const std::vector<size_t>& args, bool batch) {
    if (batch && !args.empty()) AddValue(args.back(), 0, Part::kWhole, "positional");
    if (program.after_service) {
      for (size_t i = 0; i + 1 < args.size(); ++i) {
        absl::string_view a = Text(args[i]);
        if ((absl::StartsWith(a, "//") || absl::StartsWith(a, "'//") ||
             absl::StartsWith(a, "\"//")) &&
            args[i + 1] == args[i] + 1) {
          AddValue(args[i + 1], 0, Part::kWhole, "positional");
          break;
        }
      }
    }
    for (const Positional& pos : program.positional) {
      // The subcommand's words, consecutive, anywhere among the arguments.
      size_t start = npos;
      const size_t n = pos.subcommand.size();
      for (size_t i = 0; i + n <= args.size() && start == npos; ++i) {
        bool match = true;
        for (size_t j = 0; j < n && match; ++j) match = Text(args[i + j]) == pos.subcommand[j];
        if (match) start = i + n;
      }
      if (start == npos) continue;
      if (pos.needs_secret_name && (pos.from == 0 || start + pos.from - 1 >= args.size() ||
                                    !SecretName(Basename(Text(args[start + pos.from - 1]))))) {
        continue;
      }
      for (size_t i = start + pos.from; i < args.size() && i - start < pos.to; ++i) {
        AddValue(args[i], 0, pos.part, "positional");
      }
    }
  }

  // echo SECRET | chpasswd, printf X | docker login --password-stdin,
  // echo X | sudo -S cmd, and here-strings: cmd --password-stdin <<< X.
  void Pipe(std::pair<size_t, size_t> from, std::pair<size_t, size_t> to) {
    bool consumer = false, colon = false;
    for (size_t k = to.first; k < to.second && !consumer; ++k) {
      if (tokens_[k].op) continue;
      absl::string_view t = Basename(Text(k));
      absl::string_view raw = Text(k);
      if (t == "chpasswd" || t == "chgpasswd") {
        consumer = colon = true;
      } else if (raw == "--password-stdin" || raw == "--stdin" || t == "kinit" ||
                 t == "cryptsetup") {
        consumer = true;
      } else if ((t == "smbpasswd" || t == "sudo") && k + 1 < to.second) {
        const char want = t == "sudo" ? 'S' : 's';
        for (size_t j = k + 1; j < to.second && !tokens_[j].op; ++j) {
          absl::string_view f = Text(j);
          if (f.size() > 1 && f[0] == '-' && f[1] != '-' && f.find(want) != npos) consumer = true;
          if (f[0] != '-') break;
        }
      } else if (raw == "--passphrase-fd" && k + 1 < to.second && Text(k + 1) == "0") {
        consumer = true;
      }
    }
    if (!consumer) return;
    // The arguments of echo/printf in the producing command.
    bool printer = false, format_seen = false, is_printf = false;
    for (size_t k = from.first; k < from.second; ++k) {
      if (tokens_[k].op) continue;
      absl::string_view raw = Text(k);
      if (!printer) {
        absl::string_view b = Basename(raw);
        if (b == "echo" || b == "printf") {
          printer = true;
          is_printf = b == "printf";
        }
        continue;
      }
      if (raw[0] == '-' && !format_seen) continue;  // -n, -e
      if (is_printf && !format_seen) {
        format_seen = true;
        if (raw.find('%') != npos) continue;
      }
      format_seen = true;
      if (VariableReference(raw)) continue;
      AddValue(k, 0, colon ? Part::kAfterColon : Part::kWhole, "stdin-secret");
    }
  }

  absl::string_view s_;
  size_t base_;
  Ranges& out_;
  std::vector<Token> tokens_;
};

// Here-strings feeding a password reader: `--password-stdin <<< X`.
void HereStringRule(absl::string_view s, Ranges& out) {
  for (absl::string_view reader : {"--password-stdin", "chpasswd", "--stdin"}) {
    // The next "<<<" and the next separator after `from`, found again only
    // once `from` passes them: linear however many readers there are.
    size_t from = 0, h = npos, eol = npos;
    bool h_known = false, eol_known = false;
    for (size_t p; (p = s.find(reader, from)) != npos;) {
      from = p + reader.size();
      if (!h_known || (h != npos && h < from)) {
        h = s.find("<<<", from);
        h_known = true;
      }
      if (h == npos) break;
      if (!eol_known || (eol != npos && eol < from)) {
        eol = s.find_first_of(";|&\n", from);
        eol_known = true;
      }
      if (eol != npos && eol < h) continue;
      size_t v = h + 3;
      while (v < s.size() && IsSpace(s[v])) ++v;
      size_t end = v;
      if (end < s.size() && IsQuote(s[end])) {
        end = std::min(s.size(), SkipQuoted(s, end) + 1);
      } else {
        while (end < s.size() && !IsSpace(s[end]) && !IsOpChar(s[end])) ++end;
      }
      if (!VariableReference(s.substr(v, end - v)) && v < end)
        out.push_back({v, end, "stdin-secret"});
      from = std::max(from, end);
    }
  }
}

bool UrlEndChar(char c) {
  return IsSpace(c) || IsQuote(c) || c == '>' || c == '<' || c == '|' || c == ';' || c == '`' ||
         c == ')' || c == '?' || c == '#';
}

// scheme://user:password@host
void UrlRule(absl::string_view s, Ranges& out) {
  for (size_t p = s.find("://"); p != npos; p = s.find("://", p + 3)) {
    const size_t start = p + 3;
    size_t end = start;
    while (end < s.size() && !IsSpace(s[end]) && s[end] != '/' && s[end] != '?' && s[end] != '#' &&
           !IsQuote(s[end]) && s[end] != '>' && s[end] != '<') {
      ++end;
    }
    absl::string_view authority = s.substr(start, end - start);
    size_t at = authority.rfind('@');
    if (at == npos) continue;
    size_t colon = authority.substr(0, at).find(':');
    if (colon == npos || colon + 1 == at) continue;
    out.push_back({start + colon + 1, start + at, "url-credentials"});
  }
}

// Webhook URLs whose path is the credential, and Telegram bot URLs.
void WebhookRule(absl::string_view s, Ranges& out) {
  struct Hook {
    absl::string_view prefix;
    bool one_segment;  // only up to the next '/'
    const char* rule;
  };
  static constexpr Hook kHooks[] = {
      {"hooks.slack.com/services/", false, "webhook-url"},
      {"hooks.slack.com/workflows/", false, "webhook-url"},
      {"hooks.slack.com/triggers/", false, "webhook-url"},
      {"discord.com/api/webhooks/", false, "webhook-url"},
      {"discordapp.com/api/webhooks/", false, "webhook-url"},
      {".webhook.office.com/webhookb2/", false, "webhook-url"},
      {"api.telegram.org/bot", true, "telegram-bot"},
      {"api.telegram.org/file/bot", true, "telegram-bot"},
  };
  for (const Hook& h : kHooks) {
    size_t from = 0;
    for (size_t p; (p = s.find(h.prefix, from)) != npos;) {
      size_t b = p + h.prefix.size(), e = b;
      while (e < s.size() && !UrlEndChar(s[e]) && !(h.one_segment && s[e] == '/')) ++e;
      if (e > b) out.push_back({b, e, h.rule});
      from = std::max(e, p + 1);
    }
  }
}

size_t RunOf(absl::string_view s, size_t from, bool (*ok)(char)) {
  size_t e = from;
  while (e < s.size() && ok(s[e])) ++e;
  return e - from;
}

bool TokenChar(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '-'; }
bool DottedTokenChar(char c) { return TokenChar(c) || c == '.'; }
bool UpperOrDigit(char c) { return absl::ascii_isupper(c) || absl::ascii_isdigit(c); }
bool Digit(char c) { return absl::ascii_isdigit(c); }
bool HeaderValueChar(char c) { return !IsSpace(c) && !IsQuote(c); }
bool Alpha(char c) { return absl::ascii_isalpha(c); }

// Well-known token shapes.
void TokenRule(absl::string_view s, Ranges& out) {
  struct Prefix {
    absl::string_view text;
    size_t min_rest;
    bool dots = false;  // the rest may contain '.'
  };
  static constexpr Prefix kPrefixes[] = {
      {"ghp_", 20},    {"gho_", 20},        {"ghu_", 20},        {"ghs_", 20},
      {"ghr_", 20},    {"github_pat_", 20}, {"glpat-", 16},      {"glptt-", 16},
      {"gldt-", 16},   {"glrt-", 16},       {"xoxb-", 10},       {"xoxp-", 10},
      {"xoxa-", 10},   {"xoxr-", 10},       {"xoxs-", 10},       {"xoxe-", 10},
      {"xapp-", 10},   {"sk_live_", 16},    {"rk_live_", 16},    {"sk_test_", 16},
      {"AIza", 35},    {"GOCSPX-", 20},     {"ya29.", 20, true}, {"npm_", 30},
      {"pypi-", 50},   {"dckr_pat_", 20},   {"hvs.", 20, true},  {"hvb.", 20, true},
      {"dop_v1_", 40}, {"sntrys_", 30},     {"SG.", 40, true},   {"sk-", 32},
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && TokenChar(s[i - 1])) continue;
    absl::string_view rest = s.substr(i);
    for (const Prefix& p : kPrefixes) {
      if (!absl::StartsWith(rest, p.text)) continue;
      size_t n = RunOf(s, i + p.text.size(), p.dots ? DottedTokenChar : TokenChar);
      if (n >= p.min_rest) out.push_back({i, i + p.text.size() + n, "token"});
    }
    if ((absl::StartsWith(rest, "AKIA") || absl::StartsWith(rest, "ASIA")) &&
        RunOf(s, i + 4, UpperOrDigit) == 16) {
      out.push_back({i, i + 20, "token"});
    }
    if (absl::StartsWith(rest, "eyJ")) {  // JWT: header.payload.signature
      size_t a = RunOf(s, i, TokenChar);
      if (a >= 10 && i + a < s.size() && s[i + a] == '.') {
        size_t b = RunOf(s, i + a + 1, TokenChar);
        if (b >= 10) {
          size_t end = i + a + 1 + b;
          if (end < s.size() && s[end] == '.') end += 1 + RunOf(s, end + 1, TokenChar);
          out.push_back({i, end, "token"});
        }
      }
    }
    if (absl::ascii_isdigit(s[i])) {  // Telegram bot token: 123456789:AA…(35)
      size_t d = RunOf(s, i, Digit);
      if (d >= 6 && d <= 12 && i + d < s.size() && s[i + d] == ':') {
        size_t t = RunOf(s, i + d + 1, TokenChar);
        if (t >= 30) out.push_back({i + d + 1, i + d + 1 + t, "token"});
      }
      i += d - 1;  // digits inside the run cannot start a token
    }
  }
}

// Authorization: Bearer X, X-Api-Key: X and similar headers.
void HeaderRule(absl::string_view s, Ranges& out) {
  const std::string lower_text = absl::AsciiStrToLower(s);
  const absl::string_view lower = lower_text;
  struct Header {
    absl::string_view name;
    bool scheme;  // the value may start with a scheme word (Bearer, Basic)
  };
  static constexpr Header kHeaders[] = {
      {"authorization:", true}, {"api-key:", false},       {"apikey:", false},
      {"x-auth-token:", false}, {"private-token:", false}, {"x-vault-token:", false},
      {"x-api-token:", false},  {"job-token:", false},     {"x-access-token:", false},
      {"x-auth-key:", false},   {"x-secret:", false},      {"proxy-authorization:", true},
  };
  for (const Header& h : kHeaders) {
    size_t from = 0;
    for (size_t p; (p = lower.find(h.name, from)) != npos;) {
      size_t i = p + h.name.size();
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
      from = std::max(p + 1, i);
      size_t first = RunOf(s, i, HeaderValueChar);
      if (first == 0) continue;
      size_t begin = i, end = i + first;
      if (h.scheme && RunOf(s, i, Alpha) == first) {
        size_t j = i + first;
        while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
        size_t second = RunOf(s, j, HeaderValueChar);
        if (second > 0) {
          begin = j;  // Bearer X
          end = j + second;
        }
      }
      out.push_back({begin, end, "header"});
      from = end;
    }
  }
}

bool JsonNameChar(char c) { return IsNameChar(c) || c == '-' || c == '.'; }

// "password": "x", also with escaped quotes (\"password\":\"x\").
void JsonRule(absl::string_view s, Ranges& out) {
  for (size_t i = s.find('"'); i != npos; i = s.find('"', i + 1)) {
    size_t n = RunOf(s, i + 1, JsonNameChar);
    if (n == 0) continue;
    size_t j = i + 1 + n;
    if (j < s.size() && s[j] == '\\') ++j;
    if (j >= s.size() || s[j] != '"') continue;
    absl::string_view name = s.substr(i + 1, n);
    ++j;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
    if (j >= s.size() || s[j] != ':') continue;
    ++j;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
    bool escaped = false;
    if (j < s.size() && s[j] == '\\') {
      escaped = true;
      ++j;
    }
    if (j >= s.size() || s[j] != '"' || !SecretName(name)) continue;
    const size_t begin = j + 1;
    size_t end = begin;
    if (escaped) {
      end = s.find("\\\"", begin);
      if (end == npos) end = s.size();
    } else {
      while (end < s.size() && s[end] != '"') end += s[end] == '\\' ? 2 : 1;
      end = std::min(end, s.size());
    }
    if (end > begin) out.push_back({begin, end, "json"});
    i = std::max(i, end == s.size() ? end - 1 : end);
  }
}

bool PemPrivateKeyMarker(absl::string_view line) {
  return (absl::StrContains(line, "-----BEGIN") || absl::StrContains(line, "-----END")) &&
         absl::StrContains(line, "PRIVATE KEY");
}

bool Base64Char(char c) { return absl::ascii_isalnum(c) || c == '+' || c == '/' || c == '='; }

// A whole line of mixed-case base64 (PEM key material seen without its
// markers). Lower-case hex digests stay.
bool KeyMaterialLine(absl::string_view line) {
  line = absl::StripAsciiWhitespace(line);
  if (line.size() < 40 || RunOf(line, 0, Base64Char) != line.size()) return false;
  bool upper = false, lower = false, digit = false;
  for (char c : line) {
    upper |= absl::ascii_isupper(c);
    lower |= absl::ascii_islower(c);
    digit |= absl::ascii_isdigit(c);
  }
  return upper && lower && digit;
}

std::string MaskLine(absl::string_view line, std::vector<std::string>& rules) {
  Ranges ranges;
  Scanner(line, 0, ranges).Run(0);
  HereStringRule(line, ranges);
  UrlRule(line, ranges);
  WebhookRule(line, ranges);
  TokenRule(line, ranges);
  HeaderRule(line, ranges);
  JsonRule(line, ranges);
  ranges.erase(
      std::remove_if(ranges.begin(), ranges.end(),
                     [&](const Range& r) { return r.begin >= r.end || r.end > line.size(); }),
      ranges.end());
  if (ranges.empty()) return std::string(line);
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin; });
  std::string out;
  out.reserve(line.size());
  size_t pos = 0;
  for (size_t k = 0; k < ranges.size();) {
    size_t first = ranges[k].begin, last = ranges[k].end;
    rules.emplace_back(ranges[k].rule);
    for (++k; k < ranges.size() && ranges[k].begin <= last; ++k) {
      last = std::max(last, ranges[k].end);
      rules.emplace_back(ranges[k].rule);
    }
    absl::StrAppend(&out, line.substr(pos, first - pos), kMasked);
    pos = last;
  }
  absl::StrAppend(&out, line.substr(pos));
  return out;
}

}  // namespace

MaskResult MaskCommandLine(absl::string_view text) {
  MaskResult result;
  result.text.reserve(text.size());
  bool in_key_block = false;
  bool first = true;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!first) result.text.push_back('\n');
    first = false;
    if (PemPrivateKeyMarker(line)) {
      // Masked whole, with everything up to the END line.
      in_key_block = absl::StrContains(line, "-----BEGIN") && !absl::StrContains(line, "-----END");
      absl::StrAppend(&result.text, kMasked);
      result.rules.emplace_back("private-key");
      continue;
    }
    if (in_key_block || KeyMaterialLine(line)) {
      absl::StrAppend(&result.text, kMasked);
      result.rules.emplace_back("private-key");
      continue;
    }
    absl::StrAppend(&result.text, MaskLine(line, result.rules));
  }
  std::sort(result.rules.begin(), result.rules.end());
  result.rules.erase(std::unique(result.rules.begin(), result.rules.end()), result.rules.end());
  return result;
}

std::string MaskSecrets(absl::string_view text, bool* masked) {
  MaskResult r = MaskCommandLine(text);
  if (masked != nullptr) *masked = r.masked();
  return std::move(r.text);
}

std::string MaskAuthorizedKeysOption(absl::string_view option, bool* masked) {
  size_t eq = option.find('=');
  if (eq == npos) return MaskSecrets(option, masked);  // restrict, no-pty
  absl::string_view name = option.substr(0, eq);
  absl::string_view value = option.substr(eq + 1);
  const bool quoted = value.size() >= 2 && value.front() == '"' && value.back() == '"';
  if (quoted) value = value.substr(1, value.size() - 2);
  std::string inner = MaskSecrets(value, masked);
  return quoted ? absl::StrCat(name, "=\"", inner, "\"") : absl::StrCat(name, "=", inner);
}

std::string MaskSudoersCommands(absl::string_view commands, bool* masked) {
  std::string out;
  out.reserve(commands.size());
  bool any = false;
  size_t start = 0;
  for (size_t i = 0; i <= commands.size(); ++i) {
    if (i + 1 < commands.size() && commands[i] == '\\') {
      ++i;  // \, is a comma inside an argument
      continue;
    }
    if (i < commands.size() && commands[i] != ',') continue;
    bool m = false;
    absl::StrAppend(&out, MaskSecrets(commands.substr(start, i - start), &m));
    any |= m;
    if (i < commands.size()) out.push_back(',');
    start = i + 1;
  }
  if (masked != nullptr) *masked = any;
  return out;
}

std::string MaskDsn(absl::string_view dsn) {
  size_t sep = dsn.find("://");
  absl::string_view scheme = sep == npos ? absl::string_view() : dsn.substr(0, sep);
  const bool scheme_ok = !scheme.empty() && scheme.size() <= 16 &&
                         std::all_of(scheme.begin(), scheme.end(), [](char c) {
                           return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '+' ||
                                  c == '-' || c == '.';
                         });
  if (!scheme_ok) return std::string(kMasked);
  absl::string_view rest = dsn.substr(sep + 3);
  size_t end = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, end);
  absl::string_view tail = end == npos ? absl::string_view() : rest.substr(end);
  std::string out = absl::StrCat(scheme, "://");
  size_t at = authority.rfind('@');
  if (at != npos) {
    absl::StrAppend(&out, kMasked, "@");
    authority = authority.substr(at + 1);
  }
  // host[:port]; anything after a ':' that is not a port (a key written
  // without its '@') is masked.
  size_t colon = authority.rfind(':');
  absl::string_view port = colon == npos || authority.find(']', colon) != npos
                               ? absl::string_view()
                               : authority.substr(colon + 1);
  if (!port.empty() && !std::all_of(port.begin(), port.end(), [](char c) {
        return absl::ascii_isdigit(static_cast<unsigned char>(c));
      })) {
    absl::StrAppend(&out, authority.substr(0, colon), ":", kMasked);
  } else {
    absl::StrAppend(&out, authority);
  }
  // The path, segment by segment; a query or fragment is never shown.
  size_t query = tail.find_first_of("?#");
  absl::string_view path = tail.substr(0, query);
  for (size_t i = 0; i < path.size();) {
    size_t slash = path.find('/', i + 1);
    if (slash == npos) slash = path.size();
    absl::string_view segment = path.substr(i, slash - i);  // with its leading '/'
    absl::string_view name = absl::StripPrefix(segment, "/");
    const bool number = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return absl::ascii_isdigit(static_cast<unsigned char>(c));
    });
    if (name.size() > 16 && !number) {
      absl::StrAppend(&out, "/", kMasked);
    } else {
      absl::StrAppend(&out, MaskSecrets(segment));
    }
    i = slash;
  }
  if (query != npos) absl::StrAppend(&out, std::string(1, tail[query]), kMasked);
  if (out.size() > 300) out.resize(300);
  return out;
}

}  // namespace preflight::agent
