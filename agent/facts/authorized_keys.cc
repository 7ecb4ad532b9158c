#include "agent/facts/authorized_keys.h"

#include <openssl/evp.h>

#include <array>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/facts/mask.h"

namespace preflight::agent {
namespace {

constexpr size_t kMaxLine = 64 * 1024;
constexpr size_t kMaxKeysPerFile = 10'000;

struct KeyType {
  absl::string_view name;
  absl::string_view label;
  uint32_t fixed_bits;  // 0: computed from the blob
};

constexpr std::array<KeyType, 8> kKeyTypes = {{
    {"ssh-rsa", "RSA", 0},
    {"ssh-dss", "DSA", 0},
    {"ecdsa-sha2-nistp256", "ECDSA", 256},
    {"ecdsa-sha2-nistp384", "ECDSA", 384},
    {"ecdsa-sha2-nistp521", "ECDSA", 521},
    {"ssh-ed25519", "ED25519", 256},
    {"sk-ecdsa-sha2-nistp256@openssh.com", "ECDSA-SK", 256},
    {"sk-ssh-ed25519@openssh.com", "ED25519-SK", 256},
}};

const KeyType* FindType(absl::string_view name) {
  for (const KeyType& t : kKeyTypes) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// SSH wire format readers (RFC 4251 string / mpint).
bool ReadString(absl::string_view& in, absl::string_view& out) {
  if (in.size() < 4) return false;
  uint32_t len = (static_cast<uint32_t>(static_cast<uint8_t>(in[0])) << 24) |
                 (static_cast<uint32_t>(static_cast<uint8_t>(in[1])) << 16) |
                 (static_cast<uint32_t>(static_cast<uint8_t>(in[2])) << 8) |
                 static_cast<uint32_t>(static_cast<uint8_t>(in[3]));
  in.remove_prefix(4);
  if (len > in.size()) return false;
  out = in.substr(0, len);
  in.remove_prefix(len);
  return true;
}

uint32_t MpintBits(absl::string_view m) {
  size_t i = 0;
  while (i < m.size() && m[i] == 0) ++i;
  if (i == m.size()) return 0;
  uint8_t top = static_cast<uint8_t>(m[i]);
  uint32_t bits = static_cast<uint32_t>((m.size() - i - 1) * 8);
  while (top != 0) {
    ++bits;
    top >>= 1;
  }
  return bits;
}

std::string Sha256Fingerprint(absl::string_view blob) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(blob.data(), blob.size(), digest, &len, EVP_sha256(), nullptr);
  std::string b64 =
      absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(digest), len));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return absl::StrCat("SHA256:", b64);
}

// Splits the options field at the first unquoted whitespace. Returns false on
// an unterminated quote.
bool TakeOptions(absl::string_view& rest, std::vector<std::string>& options) {
  std::string current;
  bool quoted = false;
  size_t i = 0;
  for (; i < rest.size(); ++i) {
    char c = rest[i];
    if (!quoted && (c == ' ' || c == '\t')) break;
    if (c == '\\' && quoted && i + 1 < rest.size() && rest[i + 1] == '"') {
      current += "\\\"";
      ++i;
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) {
      options.push_back(std::move(current));
      current.clear();
      continue;
    }
    current.push_back(c);
  }
  if (quoted) return false;
  if (!current.empty()) options.push_back(std::move(current));
  rest.remove_prefix(i);
  return true;
}

}  // namespace

absl::StatusOr<PublicKeyInfo> DescribePublicKey(absl::string_view type, absl::string_view base64) {
  const KeyType* known = FindType(type);
  if (known == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown key type '", type, "'"));
  }
  std::string blob;
  if (base64.find_first_of(" \t\r\n") != absl::string_view::npos ||
      !absl::Base64Unescape(base64, &blob) || blob.empty()) {
    return absl::InvalidArgumentError("key is not valid base64");
  }
  absl::string_view in = blob;
  absl::string_view embedded;
  if (!ReadString(in, embedded)) return absl::InvalidArgumentError("truncated key blob");
  if (embedded != type) {
    return absl::InvalidArgumentError(
        absl::StrCat("key blob says '", embedded, "', the line says '", type, "'"));
  }
  PublicKeyInfo info;
  info.type = std::string(type);
  info.label = std::string(known->label);
  info.bits = known->fixed_bits;
  if (type == "ssh-rsa") {
    absl::string_view e, n;
    if (!ReadString(in, e) || !ReadString(in, n)) {
      return absl::InvalidArgumentError("truncated RSA key");
    }
    info.bits = MpintBits(n);
  } else if (type == "ssh-dss") {
    absl::string_view p;
    if (!ReadString(in, p)) return absl::InvalidArgumentError("truncated DSA key");
    info.bits = MpintBits(p);
  } else {
    absl::string_view field;
    if (!ReadString(in, field)) return absl::InvalidArgumentError("truncated key");
  }
  info.fingerprint = Sha256Fingerprint(blob);
  return info;
}

void ParseAuthorizedKeys(absl::string_view content, absl::string_view file,
                         absl::string_view account, bool orphan, v1::AuthorizedKeysFact& fact) {
  auto problem = [&](uint32_t line, std::string message) {
    v1::ParseProblem* p = fact.add_problems();
    p->set_file(std::string(file));
    p->set_line(line);
    p->set_message(std::move(message));
  };
  std::string block;
  uint32_t line_no = 0;
  size_t keys = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_no;
    if (line.size() > kMaxLine) {
      problem(line_no, "line too long; skipped");
      continue;
    }
    absl::string_view rest = absl::StripAsciiWhitespace(line);
    if (rest.empty()) continue;
    if (rest[0] == '#') {
      absl::string_view marker = rest;
      if (absl::ConsumePrefix(&marker, "# BEGIN ANSIBLE MANAGED BLOCK")) {
        block = std::string(absl::StripAsciiWhitespace(marker));
        if (block.empty()) block = "ansible";
      } else if (absl::StartsWith(rest, "# END ANSIBLE MANAGED BLOCK")) {
        block.clear();
      }
      continue;
    }
    if (++keys > kMaxKeysPerFile) {
      problem(line_no, absl::StrCat("more than ", kMaxKeysPerFile, " keys; rest ignored"));
      break;
    }
    std::vector<std::string> options;
    absl::string_view first = rest.substr(0, rest.find_first_of(" \t"));
    if (FindType(first) == nullptr) {
      if (!TakeOptions(rest, options)) {
        problem(line_no, "unterminated quote in key options");
        continue;
      }
      rest = absl::StripLeadingAsciiWhitespace(rest);
    }
    // type, base64 and comment, separated by runs of blanks.
    std::vector<absl::string_view> parts;
    for (int field = 0; field < 2 && !rest.empty(); ++field) {
      size_t end = rest.find_first_of(" \t");
      parts.push_back(rest.substr(0, end));
      rest = end == absl::string_view::npos ? absl::string_view()
                                            : absl::StripLeadingAsciiWhitespace(rest.substr(end));
    }
    if (!rest.empty()) parts.push_back(rest);
    if (parts.size() < 2) {
      problem(line_no, "not a key line (expected [options] type base64 [comment])");
      continue;
    }
    auto info = DescribePublicKey(parts[0], parts[1]);
    if (!info.ok()) {
      problem(line_no, MaskSecrets(info.status().message()));
      continue;
    }
    v1::AuthorizedKey* key = fact.add_keys();
    key->set_account(std::string(account));
    key->set_file(std::string(file));
    key->set_line(line_no);
    key->set_type(info->type);
    key->set_bits(info->bits);
    key->set_fingerprint(info->fingerprint);
    if (parts.size() > 2) {
      key->set_comment(std::string(absl::StripAsciiWhitespace(parts[2])));
    }
    // command="…" and environment="…" may carry secrets: masked (mask.h).
    for (const std::string& o : options) key->add_options(MaskAuthorizedKeysOption(o));
    key->set_orphan(orphan);
    key->set_managed_block(block);
  }
}

std::string ExpandAuthorizedKeysFile(absl::string_view pattern, absl::string_view user,
                                     absl::string_view home, uint32_t uid) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%' || i + 1 >= pattern.size()) {
      out.push_back(pattern[i]);
      continue;
    }
    char t = pattern[++i];
    if (t == 'h') {
      out.append(home.data(), home.size());
    } else if (t == 'u') {
      out.append(user.data(), user.size());
    } else if (t == 'U') {
      absl::StrAppend(&out, uid);
    } else if (t == '%') {
      out.push_back('%');
    } else {
      out.push_back('%');
      out.push_back(t);
    }
  }
  if (out.empty() || out[0] != '/') {
    out = absl::StrCat(home, home.empty() || home.back() == '/' ? "" : "/", out);
  }
  return out;
}

namespace {

constexpr absl::string_view kDefaultAuthorizedKeysFile[] = {".ssh/authorized_keys",
                                                            ".ssh/authorized_keys2"};

// The effective AuthorizedKeysFile patterns of `user` from the sshd fact.
std::vector<std::string> PatternsFor(const v1::SshdConfigFact& sshd, absl::string_view user,
                                     std::string* command) {
  for (const v1::SshdEffective& e : sshd.effective()) {
    if (e.user() != user) continue;
    std::vector<std::string> out;
    for (const v1::SshdSetting& s : e.settings()) {
      if (s.keyword() == "authorizedkeysfile") {
        for (const std::string& v : s.values()) {
          if (v != "none") out.push_back(v);
        }
      } else if (s.keyword() == "authorizedkeyscommand" && !s.values().empty() &&
                 s.values(0) != "none") {
        *command = absl::StrJoin(s.values(), " ");
      }
    }
    return out;
  }
  return std::vector<std::string>(std::begin(kDefaultAuthorizedKeysFile),
                                  std::end(kDefaultAuthorizedKeysFile));
}

class AuthorizedKeysCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "authorized_keys"; }
  std::vector<absl::string_view> reads() const override { return {"accounts", "sshd"}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::AuthorizedKeysFact& fact = *report.mutable_authorized_keys();
    v1::Collection* collection = fact.mutable_collection();
    const v1::AccountsFact& accounts = report.accounts();
    if (accounts.collection().state() != v1::Collection::OK) {
      collection->set_state(v1::Collection::ERROR);
      collection->set_error("accounts could not be read, so key files are unknown");
      return collection;
    }
    std::set<std::string> seen;
    for (const v1::Account& a : accounts.accounts()) {
      std::string command;
      for (const std::string& pattern : PatternsFor(report.sshd(), a.name(), &command)) {
        std::string path = ExpandAuthorizedKeysFile(pattern, a.name(), a.home(), a.uid());
        if (!seen.insert(absl::StrCat(a.name(), "\n", path)).second) continue;
        ReadKeyFile(env, options, path, a.name(), a.uid(), false, fact);
      }
      if (!command.empty()) fact.set_authorized_keys_command(command);
    }
    for (const v1::Orphan& o : accounts.orphans()) {
      if (o.kind() != v1::Orphan::HOME) continue;
      for (absl::string_view rel : kDefaultAuthorizedKeysFile) {
        ReadKeyFile(env, options, absl::StrCat(o.path(), "/", rel), o.name(), 0, true, fact);
      }
    }
    collection->set_state(v1::Collection::OK);
    return collection;
  }

 private:
  void ReadKeyFile(HostEnv& env, const CollectOptions& options, const std::string& path,
                   const std::string& account, uint32_t uid, bool orphan,
                   v1::AuthorizedKeysFact& fact) {
    auto data = env.ReadFile(path, options.max_file_bytes);
    if (!data.ok()) {
      // An unread key file may hold the vendor's key: the whole fact is
      // unusable (fail closed), not "no keys here".
      NoteUnreadable(*fact.mutable_collection(), path, data.status());
      return;
    }
    v1::KeyFile* kf = fact.add_files();
    kf->set_account(account);
    kf->set_path(path);
    kf->set_exists(true);
    kf->set_uid(data->info.uid);
    kf->set_mode(data->info.mode);
    if (!orphan && data->info.uid != uid && data->info.uid != 0) {
      kf->add_problems(absl::StrCat("owned by uid ", data->info.uid, ", not ", account));
    }
    if (data->info.mode & 022) {
      kf->add_problems(absl::StrCat("writable by group or others (mode ",
                                    absl::StrFormat("%04o", data->info.mode), ")"));
    }
    ParseAuthorizedKeys(data->content, path, account, orphan, fact);
  }
};

}  // namespace

std::unique_ptr<FactCollector> MakeAuthorizedKeysCollector() {
  return std::make_unique<AuthorizedKeysCollector>();
}

}  // namespace preflight::agent
