// [pam] sshd's PAM stack in order: rules are compared as a sequence (what
// libpam runs depends on the order), by type, control, module and arguments;
// a rule only renumbered is no change. Then what the stack amounts to
// (Google Authenticator, nullok, pam_unix) and modules that went missing.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/diff/renderer.h"

namespace preflight::collector::diff {
namespace {

std::string RuleText(const v1::PamRule& r) {
  return absl::StrCat(r.optional_module() ? "-" : "", r.type(), " ", r.control(), " ", r.module(),
                      r.args().empty() ? "" : " ", absl::StrJoin(r.args(), " "));
}

std::string Where(const v1::PamRule& r) { return absl::StrCat(r.file(), ":", r.line()); }

}  // namespace

void RenderPam(const v1::PamFact& before, const v1::PamFact& after, Lines& out) {
  CollectionLines(before.collection(), after.collection(), out);
  std::vector<std::string> a, b;
  for (const v1::PamRule& r : before.rules()) a.push_back(RuleText(r));
  for (const v1::PamRule& r : after.rules()) b.push_back(RuleText(r));
  const size_t n = a.size(), m = b.size();
  // lcs[i][j]: longest common subsequence of a[i:] and b[j:] (stacks are short).
  std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      const v1::PamRule &x = before.rules(static_cast<int>(i)),
                        &y = after.rules(static_cast<int>(j));
      std::vector<std::string> parts = ScalarChanges(
          x, y, {"type", "control", "module", "file", "line", "optional_module", "depth"});
      if (!parts.empty()) {
        out.push_back(
            absl::StrCat("changed: ", b[j], " at ", Where(y), ": ", absl::StrJoin(parts, ", ")));
      }
      ++i;
      ++j;
    } else if (i < n && j < m && lcs[i + 1][j + 1] == lcs[i][j]) {
      // One rule replaced by another at the same place in the stack.
      out.push_back(absl::StrCat("changed: ", Arrow(a[i], b[j]), " at ",
                                 Where(after.rules(static_cast<int>(j)))));
      ++i;
      ++j;
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push_back(
          absl::StrCat("removed: ", a[i], " at ", Where(before.rules(static_cast<int>(i)))));
      ++i;
    } else {
      out.push_back(absl::StrCat("added: ", b[j], " at ", Where(after.rules(static_cast<int>(j)))));
      ++j;
    }
  }
  for (const std::string& c : ScalarChanges(before, after)) {
    out.push_back(absl::StrCat("changed: ", c));
  }
  SetLines("file", before.files(), after.files(), out);
  ProblemLines(before.problems(), after.problems(), out);
}

}  // namespace preflight::collector::diff
