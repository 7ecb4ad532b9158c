// MaskSecrets: each line is split into shell-like words (quotes, escapes and
// $(...) kept inside a word, whitespace and |&;<>() between words). Rules
// mark byte ranges to replace; overlapping ranges are merged and each run is
// replaced by kMasked. A value is masked to the end of the word it starts in,
// so quoted values (and the quotes) disappear whole.
#include "agent/facts/mask.h"

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace preflight::agent {
namespace {

using Range = std::pair<size_t, size_t>;  // [first, second)

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

// Index of the character closing the construct opened at `open` (a quote, a
// backtick, or the bracket after '$'), or s.size() when it is never closed.
size_t SkipQuoted(absl::string_view s, size_t open) {
  const char q = s[open];
  if (q == '\'' || q == '`') {
    size_t close = s.find(q, open + 1);
    return close == absl::string_view::npos ? s.size() : close;
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
        } else if (w == '\'' || w == '"' || w == '`') {
          i = std::min(s.size(), SkipQuoted(s, i) + 1);
        } else if (w == '$' && i + 1 < s.size() && (s[i + 1] == '(' || s[i + 1] == '{')) {
          i = std::min(s.size(), SkipQuoted(s, i + 1) + 1);
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

// NAME=value: the name's '_'-separated parts. Secret when a part mentions
// PASS (PASSWORD, PASSPHRASE, PASSWD), SECRET or TOKEN, or ends in KEY
// (KEY, APIKEY, SECRET_ACCESS_KEY); not when the last part says the value
// only points at the secret (PASSWORD_FILE, KEY_PATH, ACCESS_KEY_ID).
bool SecretName(absl::string_view name) {
  std::string upper = absl::AsciiStrToUpper(name);
  std::vector<absl::string_view> parts = absl::StrSplit(upper, '_', absl::SkipEmpty());
  if (parts.empty()) return false;
  if (parts.size() > 1) {
    for (absl::string_view pointer :
         {"FILE", "PATH", "DIR", "FD", "ID", "NAME", "TYPE", "LENGTH", "SIZE", "STDIN"}) {
      if (parts.back() == pointer) return false;
    }
  }
  for (absl::string_view part : parts) {
    if (absl::StrContains(part, "PASS") || absl::StrContains(part, "SECRET") ||
        absl::StrContains(part, "TOKEN") || absl::EndsWith(part, "KEY")) {
      return true;
    }
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
  for (absl::string_view pointer :
       {"file", "path", "dir", "fd", "id", "name", "type", "length", "size", "stdin", "env"}) {
    if (parts.back() == pointer) return false;
  }
  std::string joined;
  for (absl::string_view part : parts) {
    if (absl::StrContains(part, "password") || absl::StrContains(part, "passphrase") ||
        absl::StrContains(part, "passwd") || absl::StrContains(part, "secret") ||
        absl::StrContains(part, "token") || part == "pass" || part == "passin" ||
        part == "passout" || part == "pw") {
      return true;
    }
    absl::StrAppend(&joined, part);
  }
  return absl::EndsWith(joined, "apikey") || absl::EndsWith(joined, "accesskey") ||
         absl::EndsWith(joined, "authkey");
}

bool IsQuote(char c) { return c == '"' || c == '\''; }

// Short password flags of well-known clients.
enum class ShortFlag { kNone, kMysql, kSeparateP, kRedis, kOpenssl };

ShortFlag ClientOf(absl::string_view word) {
  while (!word.empty() && IsQuote(word.front())) word.remove_prefix(1);
  while (!word.empty() && IsQuote(word.back())) word.remove_suffix(1);
  size_t slash = word.rfind('/');
  if (slash != absl::string_view::npos) word.remove_prefix(slash + 1);
  for (absl::string_view m :
       {"mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlcheck", "mysqlpump", "mysqlshow",
        "mariadb", "mariadb-dump", "mariadb-admin"}) {
    if (word == m) return ShortFlag::kMysql;
  }
  for (absl::string_view m : {"mongo", "mongosh", "mongodump", "mongorestore", "mongoexport",
                              "mongoimport", "mongostat", "mongotop", "sshpass"}) {
    if (word == m) return ShortFlag::kSeparateP;
  }
  if (word == "redis-cli") return ShortFlag::kRedis;
  if (word == "openssl") return ShortFlag::kOpenssl;
  return ShortFlag::kNone;
}

// An operator token that ends a command (not a redirection).
bool EndsCommand(absl::string_view op) { return op.find_first_of("<>") == absl::string_view::npos; }

void WordRules(absl::string_view s, const std::vector<Token>& tokens, std::vector<Range>& out) {
  auto next_value_word = [&](size_t k) -> const Token* {
    if (k + 1 >= tokens.size() || tokens[k + 1].op) return nullptr;
    const Token& n = tokens[k + 1];
    if (s[n.start] == '-') return nullptr;  // another option
    return &n;
  };
  ShortFlag client = ShortFlag::kNone;
  for (size_t k = 0; k < tokens.size(); ++k) {
    const Token& t = tokens[k];
    absl::string_view text = s.substr(t.start, t.end - t.start);
    if (t.op) {
      if (EndsCommand(text)) client = ShortFlag::kNone;
      continue;
    }
    // NAME=value anywhere in the word.
    for (size_t e = text.find('='); e != absl::string_view::npos; e = text.find('=', e + 1)) {
      size_t b = e;
      while (b > 0 && IsNameChar(text[b - 1])) --b;
      if (b == e || e + 1 >= text.size()) continue;
      if (SecretName(text.substr(b, e - b))) out.emplace_back(t.start + e + 1, t.end);
    }
    // --name=value, --name value.
    size_t p = 0;
    while (p < text.size() && IsQuote(text[p])) ++p;
    if (p < text.size() && text[p] == '-') {
      while (p < text.size() && text[p] == '-') ++p;
      size_t name_start = p;
      while (p < text.size() && (IsNameChar(text[p]) || text[p] == '-')) ++p;
      absl::string_view name = text.substr(name_start, p - name_start);
      if (!name.empty() && SecretOption(name)) {
        if (p < text.size() && text[p] == '=') {
          if (p + 1 < text.size()) out.emplace_back(t.start + p + 1, t.end);
        } else if (p == text.size() || (IsQuote(text[p]) && p + 1 == text.size())) {
          if (const Token* v = next_value_word(k)) out.emplace_back(v->start, v->end);
        }
      }
    }
    // Client-specific short flags, for the rest of the command.
    if (ShortFlag c = ClientOf(text); c != ShortFlag::kNone) {
      client = c;
      continue;
    }
    switch (client) {
      case ShortFlag::kNone:
        break;
      case ShortFlag::kMysql:  // -pSECRET; a bare -p prompts
        if (text.size() > 2 && absl::StartsWith(text, "-p")) out.emplace_back(t.start + 2, t.end);
        break;
      case ShortFlag::kSeparateP:  // -p SECRET or -pSECRET
      case ShortFlag::kRedis:      // -a SECRET or -aSECRET
      case ShortFlag::kOpenssl: {  // -k SECRET
        const absl::string_view flag = client == ShortFlag::kRedis     ? "-a"
                                       : client == ShortFlag::kOpenssl ? "-k"
                                                                       : "-p";
        if (text == flag) {
          if (const Token* v = next_value_word(k)) out.emplace_back(v->start, v->end);
        } else if (client != ShortFlag::kOpenssl && text.size() > 2 &&
                   absl::StartsWith(text, flag) && text[2] != '-') {
          out.emplace_back(t.start + 2, t.end);
        }
        break;
      }
    }
  }
}

// scheme://user:password@host
void UrlRule(absl::string_view s, std::vector<Range>& out) {
  for (size_t p = s.find("://"); p != absl::string_view::npos; p = s.find("://", p + 3)) {
    const size_t start = p + 3;
    size_t end = start;
    while (end < s.size() && !IsSpace(s[end]) && s[end] != '/' && s[end] != '?' && s[end] != '#' &&
           !IsQuote(s[end]) && s[end] != '>' && s[end] != '<') {
      ++end;
    }
    absl::string_view authority = s.substr(start, end - start);
    size_t at = authority.rfind('@');
    if (at == absl::string_view::npos) continue;
    size_t colon = authority.substr(0, at).find(':');
    if (colon == absl::string_view::npos || colon + 1 == at) continue;
    out.emplace_back(start + colon + 1, start + at);
  }
}

size_t RunOf(absl::string_view s, size_t from, bool (*ok)(char)) {
  size_t e = from;
  while (e < s.size() && ok(s[e])) ++e;
  return e - from;
}

bool TokenChar(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '-'; }
bool UpperOrDigit(char c) { return absl::ascii_isupper(c) || absl::ascii_isdigit(c); }
bool HeaderValueChar(char c) { return !IsSpace(c) && !IsQuote(c); }
bool Alpha(char c) { return absl::ascii_isalpha(c); }

// Well-known token shapes: GitHub, GitLab, Slack, Stripe, AWS access keys,
// JWTs.
void TokenRule(absl::string_view s, std::vector<Range>& out) {
  struct Prefix {
    absl::string_view text;
    size_t min_rest;
  };
  static constexpr Prefix kPrefixes[] = {
      {"ghp_", 20},        {"gho_", 20},   {"ghu_", 20},     {"ghs_", 20},     {"ghr_", 20},
      {"github_pat_", 20}, {"glpat-", 16}, {"xoxb-", 10},    {"xoxp-", 10},    {"xoxa-", 10},
      {"xoxr-", 10},       {"xoxs-", 10},  {"sk_live_", 16}, {"rk_live_", 16},
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && TokenChar(s[i - 1])) continue;
    absl::string_view rest = s.substr(i);
    for (const Prefix& p : kPrefixes) {
      if (!absl::StartsWith(rest, p.text)) continue;
      size_t n = RunOf(s, i + p.text.size(), TokenChar);
      if (n >= p.min_rest) out.emplace_back(i, i + p.text.size() + n);
    }
    if ((absl::StartsWith(rest, "AKIA") || absl::StartsWith(rest, "ASIA")) &&
        RunOf(s, i + 4, UpperOrDigit) == 16) {
      out.emplace_back(i, i + 20);
    }
    if (absl::StartsWith(rest, "eyJ")) {  // header.payload.signature
      size_t a = RunOf(s, i, TokenChar);
      if (a >= 10 && i + a < s.size() && s[i + a] == '.') {
        size_t b = RunOf(s, i + a + 1, TokenChar);
        if (b >= 10) {
          size_t end = i + a + 1 + b;
          if (end < s.size() && s[end] == '.') end += 1 + RunOf(s, end + 1, TokenChar);
          out.emplace_back(i, end);
        }
      }
    }
  }
}

// Authorization: Bearer X, X-Api-Key: X and similar headers.
void HeaderRule(absl::string_view s, std::vector<Range>& out) {
  const std::string lower_text = absl::AsciiStrToLower(s);
  const absl::string_view lower = lower_text;
  struct Header {
    absl::string_view name;
    bool scheme;  // the value may start with a scheme word (Bearer, Basic)
  };
  static constexpr Header kHeaders[] = {{"authorization:", true},
                                        {"x-api-key:", false},
                                        {"x-auth-token:", false},
                                        {"private-token:", false},
                                        {"x-vault-token:", false}};
  for (const Header& h : kHeaders) {
    // Each search resumes after the value just masked: linear on hostile
    // lines repeating the header.
    size_t from = 0;
    for (size_t p; (p = lower.find(h.name, from)) != absl::string_view::npos;) {
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
      out.emplace_back(begin, end);
      from = end;
    }
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

std::string MaskLine(absl::string_view line, bool& masked) {
  std::vector<Range> ranges;
  WordRules(line, Tokenize(line), ranges);
  UrlRule(line, ranges);
  TokenRule(line, ranges);
  HeaderRule(line, ranges);
  ranges.erase(std::remove_if(ranges.begin(), ranges.end(),
                              [](const Range& r) { return r.first >= r.second; }),
               ranges.end());
  if (ranges.empty()) return std::string(line);
  masked = true;
  std::sort(ranges.begin(), ranges.end());
  std::string out;
  out.reserve(line.size());
  size_t pos = 0;
  for (size_t k = 0; k < ranges.size();) {
    size_t first = ranges[k].first, last = ranges[k].second;
    for (++k; k < ranges.size() && ranges[k].first <= last; ++k) {
      last = std::max(last, ranges[k].second);
    }
    absl::StrAppend(&out, line.substr(pos, first - pos));
    absl::StrAppend(&out, kMasked);
    pos = last;
  }
  absl::StrAppend(&out, line.substr(pos));
  return out;
}

}  // namespace

std::string MaskSecrets(absl::string_view text, bool* masked) {
  bool any = false;
  std::string out;
  out.reserve(text.size());
  bool in_key_block = false;
  bool first = true;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!first) out.push_back('\n');
    first = false;
    if (PemPrivateKeyMarker(line)) {
      // Masked whole, with everything up to the END line.
      in_key_block = absl::StrContains(line, "-----BEGIN") && !absl::StrContains(line, "-----END");
      absl::StrAppend(&out, kMasked);
      any = true;
      continue;
    }
    if (in_key_block || KeyMaterialLine(line)) {
      absl::StrAppend(&out, kMasked);
      any = true;
      continue;
    }
    absl::StrAppend(&out, MaskLine(line, any));
  }
  if (masked != nullptr) *masked = any;
  return out;
}

}  // namespace preflight::agent
