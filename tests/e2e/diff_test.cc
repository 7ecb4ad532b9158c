// `preflightctl diff` end to end, in the facts' language: a real agent reports
// a fixture host, the host's sshd gets a drop-in that permits root login and
// alice gets a new key, the agent reports again, and the real preflightctl
// prints what changed with the lines it came from.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/support/cluster.h"

namespace preflight::testing {
namespace {

// 1-based number of the first line of `path` that starts with `prefix`.
uint32_t LineOf(const std::string& path, absl::string_view prefix) {
  uint32_t n = 0;
  for (absl::string_view line : absl::StrSplit(ReadFile(path), '\n')) {
    ++n;
    if (absl::StartsWith(line, prefix)) return n;
  }
  return 0;
}

TEST(DiffTest, SshdAndKeyChangesReadAsTheFactsSayThem) {
  TestCluster cluster(OneManager());
  cluster.StartCollector();
  // A copy of its own: this test edits the host.
  const std::string root = cluster.dir().Join("root");
  CopyTree(FixtureRoot("opencrvs-manager"), root);
  RunResult first = cluster.AgentOnce("prod-01", root);
  ASSERT_EQ(first.exit_code, 0) << first.err;

  // Someone debugging: root login in a drop-in, and a vendor's key for alice.
  WriteFile(root + "/etc/ssh/sshd_config.d/99-debug.conf", "PermitRootLogin yes\n");
  const std::string key = cluster.dir().Join("vendor");
  RunResult gen =
      RunProcess({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vendor@laptop", "-f", key},
                 absl::Seconds(30));
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  const std::string alice = root + "/home/alice/.ssh/authorized_keys";
  std::string keys = ReadFile(alice);
  if (!keys.empty() && keys.back() != '\n') keys += "\n";
  keys += ReadFile(key + ".pub");
  WriteFile(alice, keys, 0600);  // as it was: a mode change would be a change too
  const size_t key_line = std::count(keys.begin(), keys.end(), '\n');
  RunResult fp = RunProcess({"ssh-keygen", "-lf", key + ".pub"}, absl::Seconds(10));
  ASSERT_EQ(fp.exit_code, 0) << fp.err;
  std::vector<std::string> words = absl::StrSplit(absl::StripAsciiWhitespace(fp.out), ' ');
  ASSERT_GE(words.size(), 4u) << fp.out;
  const std::string fingerprint = words[1];

  RunResult second = cluster.AgentOnce("prod-01", root);
  ASSERT_EQ(second.exit_code, 0) << second.err;

  RunResult diff = cluster.Ctl({"diff", "prod-01"});
  ASSERT_EQ(diff.exit_code, 0) << diff.err;
  const uint32_t was = LineOf(root + "/etc/ssh/sshd_config", "PermitRootLogin no");
  ASSERT_GT(was, 0u);
  for (const std::string& want :
       {std::string("== sshd: "),
        absl::StrCat("PermitRootLogin for root: no (sshd_config:", was,
                     ") → yes (sshd_config.d/99-debug.conf:1)"),
        std::string("added: PermitRootLogin yes at sshd_config.d/99-debug.conf:1"),
        std::string("== authorized_keys: "),
        absl::StrCat("added key ", fingerprint, " (vendor@laptop) to ",
                     "/home/alice/.ssh/authorized_keys:", key_line)}) {
    EXPECT_TRUE(absl::StrContains(diff.out, want)) << want << "\n" << diff.out;
  }
  // No protobuf text format for kinds with a renderer.
  EXPECT_FALSE(absl::StrContains(diff.out, "args: ")) << diff.out;
  EXPECT_FALSE(absl::StrContains(diff.out, "values: ")) << diff.out;
  // Unchanged kinds are left out.
  EXPECT_FALSE(absl::StrContains(diff.out, "== accounts")) << diff.out;
}

}  // namespace
}  // namespace preflight::testing
