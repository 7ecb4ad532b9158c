#include "collector/diff/fact_diff.h"

#include "absl/strings/str_cat.h"
#include "collector/diff/renderer.h"
#include "collector/store/fact_diff.h"

namespace preflight::collector {
namespace {

using diff::Lines;

// Decodes both contents as T ("" is an empty message) and runs `render`;
// false when either does not decode.
template <typename T>
bool Run(void (*render)(const T&, const T&, Lines&), const std::string& before,
         const std::string& after, Lines& out) {
  T a, b;
  if (!a.ParseFromString(before) || !b.ParseFromString(after)) return false;
  render(a, b, out);
  return true;
}

// The renderer of `kind` on the two contents; false when there is none or
// the contents do not decode.
bool Render(absl::string_view kind, const std::string& before, const std::string& after,
            Lines& out) {
  if (kind == "sshd") return Run(&diff::RenderSshd, before, after, out);
  if (kind == "authorized_keys") return Run(&diff::RenderAuthorizedKeys, before, after, out);
  if (kind == "sockets") return Run(&diff::RenderSockets, before, after, out);
  if (kind == "firewall") return Run(&diff::RenderFirewall, before, after, out);
  if (kind == "accounts") return Run(&diff::RenderAccounts, before, after, out);
  if (kind == "pam") return Run(&diff::RenderPam, before, after, out);
  if (kind == "tls") return Run(&diff::RenderTls, before, after, out);
  if (kind == "disks") return Run(&diff::RenderDisks, before, after, out);
  if (kind == "logrotate") return Run(&diff::RenderLogrotate, before, after, out);
  if (kind == "shell_history") return Run(&diff::RenderShellHistory, before, after, out);
  if (kind == "release") return Run(&diff::RenderRelease, before, after, out);
  if (kind == "time") return Run(&diff::RenderTime, before, after, out);
  if (kind == "swarm") return Run(&diff::RenderSwarm, before, after, out);
  if (kind == "services") return Run(&diff::RenderServices, before, after, out);
  return false;
}

}  // namespace

bool HasFactRenderer(absl::string_view kind) {
  Lines ignored;
  return Render(kind, "", "", ignored);
}

std::vector<std::string> RenderFactDiff(absl::string_view kind, const std::string& before,
                                        const std::string& after, size_t max_lines) {
  Lines lines;
  if (!Render(kind, before, after, lines)) return DiffFactContent(kind, before, after, max_lines);
  if (lines.size() > max_lines) {
    const size_t more = lines.size() - max_lines;
    lines.resize(max_lines);
    lines.push_back(absl::StrCat("... ", more, " more"));
  }
  return lines;
}

}  // namespace preflight::collector
