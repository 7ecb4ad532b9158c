// The real preflight-agent run without the capabilities its facts need (as
// root, with CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH dropped by setpriv(1):
// uid 0 alone reads nothing it does not own) against a --root tree whose
// private files belong to their users and are 0600, as on a real host: it
// warns loudly at start, marks the report, and the collector's checks are
// UNKNOWN, never PASS. Without the drop the same tree FAILs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/support/cluster.h"
#include "tests/support/json.h"

namespace preflight::testing {
namespace {

constexpr uid_t kOwner = 23456;  // the accounts' own uid: not the agent's

// setpriv(1) from util-linux: the agent as uid 0 without the DAC capabilities.
std::vector<std::string> WithoutDac(std::vector<std::string> argv) {
  std::vector<std::string> out = {"setpriv", "--inh-caps=-all",
                                  "--bounding-set=-dac_override,-dac_read_search", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

// A copy of fixture `name` in `dir` with `files` owned by kOwner, mode 0600.
std::string PrivateCopy(TempDir& dir, const std::string& name,
                        const std::vector<std::string>& files) {
  std::string root = dir.Join(name);
  CopyTree(absl::StrCat(PREFLIGHT_FIXTURES, "/hosts/", name), root);
  for (const std::string& f : files) {
    const std::string path = root + f;
    EXPECT_EQ(chown(path.c_str(), kOwner, kOwner), 0) << path;
    EXPECT_EQ(chmod(path.c_str(), 0600), 0) << path;
  }
  return root;
}

const google::protobuf::Value& CheckOf(const google::protobuf::Value& host, const std::string& id) {
  const google::protobuf::Value* c = FindBy(Field(host, "checks"), "id", id);
  EXPECT_NE(c, nullptr) << "no check " << id;
  static const google::protobuf::Value kNull;
  return c == nullptr ? kNull : *c;
}

std::string EvidenceOf(const google::protobuf::Value& check) {
  std::string out;
  const google::protobuf::Value& ev = Field(check, "evidence");
  for (const google::protobuf::Value& e : ev.list_value().values()) {
    absl::StrAppend(&out, Field(e, "message").string_value(), " @ ",
                    Field(e, "source").string_value(), "\n");
  }
  return out;
}

class PrivilegesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The test needs root (to chown) and setpriv; CI runs as root.
    ASSERT_EQ(geteuid(), 0u) << "run as root: the test gives files to another uid";
    RunResult probe = RunProcess(WithoutDac({"true"}), absl::Seconds(10));
    ASSERT_EQ(probe.exit_code, 0) << "setpriv cannot drop capabilities here: " << probe.err;
  }
  TempDir dir_;
};

TEST_F(PrivilegesTest, DryRunWarnsLoudlyAndTheReportSaysWhatWasNotRead) {
  const std::string root =
      PrivateCopy(dir_, "removed-user",
                  {"/home/provision/.ssh/authorized_keys", "/home/carol/.ssh/authorized_keys"});
  RunResult r =
      RunProcess(WithoutDac({PREFLIGHT_AGENT_BIN, "--dry-run", "--root", root}), absl::Seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "WARNING: collecting WITHOUT the privileges")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "authorized_keys: lacks CAP_DAC_READ_SEARCH")) << r.err;

  auto report = ParseJson(r.out);
  const auto& privileges = Field(report, "privileges");
  EXPECT_TRUE(Field(privileges, "checked").bool_value());
  const auto* missing = FindBy(Field(privileges, "missing"), "fact", "authorized_keys");
  ASSERT_NE(missing, nullptr) << r.out.substr(0, 2000);
  EXPECT_EQ(Field(*missing, "capability").string_value(), "CAP_DAC_READ_SEARCH");
  // The files themselves are on the fact, with the kernel's answer.
  const auto* unread =
      FindBy(Field(Field(Field(report, "authorized_keys"), "collection"), "unreadable"), "path",
             "/home/provision/.ssh/authorized_keys");
  ASSERT_NE(unread, nullptr);
  EXPECT_TRUE(absl::StrContains(Field(*unread, "error").string_value(), "PERMISSION_DENIED"));

  // With its capabilities the agent warns of nothing.
  RunResult full =
      RunProcess({PREFLIGHT_AGENT_BIN, "--dry-run", "--root", root}, absl::Seconds(60));
  ASSERT_EQ(full.exit_code, 0) << full.err;
  EXPECT_FALSE(absl::StrContains(full.err, "WARNING")) << full.err;
}

class PrivilegesPipelineTest : public PrivilegesTest {
 protected:
  PrivilegesPipelineTest() : cluster_(OneManager()) {}
  void SetUp() override {
    PrivilegesTest::SetUp();
    cluster_.StartCollector();
  }
  // The agent delivers one report of `root`, with or without the DAC
  // capabilities; returns the host as preflightctl shows it.
  google::protobuf::Value Deliver(const std::string& root, bool drop, std::string* table) {
    std::vector<std::string> argv = {
        PREFLIGHT_AGENT_BIN, "--config", cluster_.AgentConfig("prod-01"), "--once", "--root", root};
    RunResult agent = RunProcess(drop ? WithoutDac(argv) : argv, absl::Seconds(90));
    EXPECT_EQ(agent.exit_code, 0) << agent.err;
    RunResult host = cluster_.Ctl({"host", "prod-01", "--format", "json"});
    // preflightctl host exits 1 for a host that is not ready.
    EXPECT_TRUE(host.exit_code == 0 || host.exit_code == 1) << host.exit_code << host.err;
    if (table != nullptr) *table = cluster_.Ctl({"host", "prod-01"}).out;
    return ParseJson(host.out);
  }
  TestCluster cluster_;
};

// Run live as a non-root user, root's authorized_keys could not be read and
// ssh.vendor_access_removed passed with a vendor key present.
TEST_F(PrivilegesPipelineTest, VendorKeyInAnUnreadableFileIsUnknownNotPass) {
  const std::string root =
      PrivateCopy(dir_, "removed-user",
                  {"/home/provision/.ssh/authorized_keys", "/home/carol/.ssh/authorized_keys"});
  auto with_caps = Deliver(root, /*drop=*/false, nullptr);
  EXPECT_EQ(Field(CheckOf(with_caps, "ssh.vendor_access_removed"), "status").string_value(),
            "FAIL");

  std::string table;
  auto without = Deliver(root, /*drop=*/true, &table);
  const auto& vendor = CheckOf(without, "ssh.vendor_access_removed");
  EXPECT_EQ(Field(vendor, "status").string_value(), "UNKNOWN") << EvidenceOf(vendor);
  EXPECT_TRUE(absl::StrContains(EvidenceOf(vendor), "agent lacked CAP_DAC_READ_SEARCH"))
      << EvidenceOf(vendor);
  EXPECT_TRUE(absl::StrContains(table, "COLLECTED WITHOUT PRIVILEGES")) << table;
  EXPECT_TRUE(absl::StrContains(table, "authorized_keys: lacks CAP_DAC_READ_SEARCH")) << table;
  EXPECT_FALSE(Field(without, "ready").bool_value());
}

// A /proc/net/tcp the agent cannot read made an exposed port disappear.
TEST_F(PrivilegesPipelineTest, UnreadableProcNetTcpIsUnknownNotPass) {
  const std::string root = PrivateCopy(dir_, "firewall-inactive", {"/proc/net/tcp"});
  auto with_caps = Deliver(root, /*drop=*/false, nullptr);
  EXPECT_EQ(Field(CheckOf(with_caps, "firewall.public_exposure"), "status").string_value(), "FAIL");

  auto without = Deliver(root, /*drop=*/true, nullptr);
  const auto& exposure = CheckOf(without, "firewall.public_exposure");
  EXPECT_EQ(Field(exposure, "status").string_value(), "UNKNOWN") << EvidenceOf(exposure);
  EXPECT_TRUE(absl::StrContains(EvidenceOf(exposure), "/proc/net/tcp")) << EvidenceOf(exposure);
  EXPECT_TRUE(absl::StrContains(EvidenceOf(exposure), "PERMISSION_DENIED")) << EvidenceOf(exposure);
}

}  // namespace
}  // namespace preflight::testing
