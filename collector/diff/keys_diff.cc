// [authorized_keys] Keys that can open a session, compared by fingerprint
// and file: "added key SHA256:… (comment) to /home/alice/.ssh/authorized_keys:3".
// A key that only moved to another line of its file is no change.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collector/diff/renderer.h"

namespace preflight::collector::diff {
namespace {

std::string Comment(const v1::AuthorizedKey& k) {
  return absl::StrCat("(", k.comment().empty() ? "no comment" : k.comment(), ")");
}

// " with options restrict,from=\"10.0.0.0/8\"", " in an orphan home".
std::string Extra(const v1::AuthorizedKey& k) {
  std::string s;
  if (!k.options().empty()) absl::StrAppend(&s, " with options ", absl::StrJoin(k.options(), ","));
  if (k.orphan()) absl::StrAppend(&s, " (home of a removed account)");
  return s;
}

std::string Mode(uint32_t mode) { return absl::StrFormat("%04o", mode); }

}  // namespace

void RenderAuthorizedKeys(const v1::AuthorizedKeysFact& before, const v1::AuthorizedKeysFact& after,
                          Lines& out) {
  CollectionLines(before.collection(), after.collection(), out);
  KeyedDiff(
      before.keys(), after.keys(),
      [](const v1::AuthorizedKey& k) { return absl::StrCat(k.fingerprint(), "\n", k.file()); },
      [&](const v1::AuthorizedKey& k) {
        out.push_back(absl::StrCat("added key ", k.fingerprint(), " ", Comment(k), " to ", k.file(),
                                   ":", k.line(), Extra(k)));
      },
      [&](const v1::AuthorizedKey& k) {
        out.push_back(absl::StrCat("removed key ", k.fingerprint(), " ", Comment(k), " from ",
                                   k.file(), ":", k.line(), Extra(k)));
      },
      [&](const v1::AuthorizedKey& a, const v1::AuthorizedKey& b) {
        std::vector<std::string> parts =
            ScalarChanges(a, b, {"account", "file", "line", "fingerprint", "type", "bits"});
        const std::string opts = absl::StrJoin(a.options(), ","),
                          now = absl::StrJoin(b.options(), ",");
        if (opts != now)
          parts.push_back(absl::StrCat("options ", Arrow(OrNone(opts), OrNone(now))));
        if (parts.empty()) return;
        out.push_back(absl::StrCat("changed key ", b.fingerprint(), " ", Comment(b), " in ",
                                   b.file(), ":", b.line(), ": ", absl::StrJoin(parts, ", ")));
      });
  KeyedDiff(
      before.files(), after.files(), [](const v1::KeyFile& f) { return f.path(); },
      [&](const v1::KeyFile& f) {
        out.push_back(absl::StrCat(
            "added: key file ", f.path(), " of ", f.account(),
            f.exists() ? absl::StrCat(" (mode ", Mode(f.mode()), ")") : " (does not exist)"));
      },
      [&](const v1::KeyFile& f) {
        out.push_back(absl::StrCat("removed: key file ", f.path(), " of ", f.account()));
      },
      [&](const v1::KeyFile& a, const v1::KeyFile& b) {
        std::vector<std::string> parts;
        if (a.exists() != b.exists()) {
          parts.push_back(b.exists() ? "created" : "deleted");
        } else if (b.exists()) {
          if (a.mode() != b.mode()) {
            parts.push_back(absl::StrCat("mode ", Arrow(Mode(a.mode()), Mode(b.mode()))));
          }
          if (a.uid() != b.uid()) {
            parts.push_back(
                absl::StrCat("owner uid ", Arrow(absl::StrCat(a.uid()), absl::StrCat(b.uid()))));
          }
        }
        if (a.account() != b.account()) {
          parts.push_back(absl::StrCat("account ", Arrow(a.account(), b.account())));
        }
        if (std::string s = SetChange(a.problems(), b.problems()); !s.empty()) {
          parts.push_back(absl::StrCat("problems ", s));
        }
        if (parts.empty()) return;
        out.push_back(
            absl::StrCat("changed: key file ", b.path(), ": ", absl::StrJoin(parts, ", ")));
      });
  if (before.authorized_keys_command() != after.authorized_keys_command()) {
    out.push_back(absl::StrCat(
        "changed: AuthorizedKeysCommand ",
        Arrow(OrNone(before.authorized_keys_command()), OrNone(after.authorized_keys_command()))));
  }
  ProblemLines(before.problems(), after.problems(), out);
}

}  // namespace preflight::collector::diff
