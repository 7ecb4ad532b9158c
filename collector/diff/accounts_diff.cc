// [accounts] Accounts by name (uid, shell, password state, groups, 2FA
// enrolment), members of the privileged groups, sudo rules by file and who
// they name, and homes or sudoers drop-ins left by removed accounts.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/diff/renderer.h"

namespace preflight::collector::diff {
namespace {

std::string At(absl::string_view where) {
  return where.empty() ? "" : absl::StrCat(" (", where, ")");
}

std::string Sudo(const v1::SudoRule& r) {
  return absl::StrCat(r.who(), " ", OrNone(r.commands()), r.nopasswd() ? " NOPASSWD" : "", " at ",
                      r.file(), ":", r.line());
}

std::string Orphan(const v1::Orphan& o) {
  return absl::StrCat(o.kind() == v1::Orphan::HOME ? "home " : "sudoers drop-in ", o.path(),
                      " of removed account ", o.name(),
                      o.has_authorized_keys() ? " (with authorized keys)" : "");
}

}  // namespace

void RenderAccounts(const v1::AccountsFact& before, const v1::AccountsFact& after, Lines& out) {
  CollectionLines(before.collection(), after.collection(), out);
  KeyedDiff(
      before.accounts(), after.accounts(), [](const v1::Account& a) { return a.name(); },
      [&](const v1::Account& a) {
        out.push_back(absl::StrCat(
            "added: account ", a.name(), " (uid ", a.uid(), ", shell ", OrNone(a.shell()),
            ", password ", v1::PasswordState_Name(a.password()),
            a.groups().empty() ? "" : absl::StrCat(", groups ", absl::StrJoin(a.groups(), " ")),
            ")", At(a.passwd_source())));
      },
      [&](const v1::Account& a) {
        out.push_back(absl::StrCat("removed: account ", a.name(), " (uid ", a.uid(), ")",
                                   At(a.passwd_source())));
      },
      [&](const v1::Account& a, const v1::Account& b) {
        std::vector<std::string> parts = ScalarChanges(a, b, {"name", "passwd_source"});
        if (std::string g = SetChange(a.groups(), b.groups()); !g.empty()) {
          parts.push_back(absl::StrCat("groups ", g));
        }
        if (parts.empty()) return;
        out.push_back(absl::StrCat("changed: account ", b.name(), ": ", absl::StrJoin(parts, ", "),
                                   At(b.passwd_source())));
      });
  KeyedDiff(
      before.privileged_groups(), after.privileged_groups(),
      [](const v1::GroupMembers& g) { return g.group(); },
      [&](const v1::GroupMembers& g) {
        out.push_back(absl::StrCat("added: group ", g.group(), " members ",
                                   OrNone(absl::StrJoin(g.members(), " ")), At(g.source())));
      },
      [&](const v1::GroupMembers& g) {
        out.push_back(absl::StrCat("removed: group ", g.group(), At(g.source())));
      },
      [&](const v1::GroupMembers& a, const v1::GroupMembers& b) {
        std::string m = SetChange(a.members(), b.members());
        if (m.empty()) return;
        out.push_back(absl::StrCat("changed: group ", b.group(), " members ", m, At(b.source())));
      });
  KeyedDiff(
      before.sudo_rules(), after.sudo_rules(),
      [](const v1::SudoRule& r) { return absl::StrCat(r.file(), "\n", r.who()); },
      [&](const v1::SudoRule& r) { out.push_back(absl::StrCat("added: sudo rule ", Sudo(r))); },
      [&](const v1::SudoRule& r) { out.push_back(absl::StrCat("removed: sudo rule ", Sudo(r))); },
      [&](const v1::SudoRule& a, const v1::SudoRule& b) {
        std::vector<std::string> parts = ScalarChanges(a, b, {"who", "file", "line"});
        if (parts.empty()) return;
        out.push_back(absl::StrCat("changed: sudo rule for ", b.who(), " at ", b.file(), ":",
                                   b.line(), ": ", absl::StrJoin(parts, ", ")));
      });
  KeyedDiff(
      before.orphans(), after.orphans(),
      [](const v1::Orphan& o) { return absl::StrCat(o.kind(), "\n", o.path()); },
      [&](const v1::Orphan& o) { out.push_back(absl::StrCat("added: ", Orphan(o))); },
      [&](const v1::Orphan& o) { out.push_back(absl::StrCat("removed: ", Orphan(o))); },
      [&](const v1::Orphan& a, const v1::Orphan& b) {
        if (a.has_authorized_keys() == b.has_authorized_keys()) return;
        out.push_back(absl::StrCat("changed: ", Orphan(b)));
      });
  SetLines("file", before.files(), after.files(), out);
  ProblemLines(before.problems(), after.problems(), out);
}

}  // namespace preflight::collector::diff
