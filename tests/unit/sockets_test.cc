// The sockets kind attributes each listening socket to the process holding
// it by reading /proc/PID/fd. On a busy manager that is thousands of links
// (Elasticsearch's files, every connection): each fd directory is read in
// one ReadLinksIn, and the scan stops once every listener has its process.
#include "agent/facts/sockets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/support/recording_env.h"
#include "tests/support/temp_dir.h"

namespace preflight::agent {
namespace {

// A /proc/net/tcp line as the kernel prints it: 0.0.0.0:port, LISTEN.
std::string Listener(int slot, int port, int inode) {
  char line[256];
  std::snprintf(line, sizeof line,
                "%4d: 00000000:%04X 00000000:0000 0A 00000000:00000000 00:00000000 00000000     "
                "0        0 %d 1 0000000000000000 100 0 0 10 0\n",
                slot, port, inode);
  return line;
}

// Records which fd directories were read.
class CountingEnv : public testing::RecordingEnv {
 public:
  using RecordingEnv::RecordingEnv;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ReadLinksIn(
      absl::string_view dir) override {
    dirs.emplace_back(dir);
    return RecordingEnv::ReadLinksIn(dir);
  }
  std::vector<std::string> dirs;
};

class SocketsTest : public ::testing::Test {
 protected:
  void Link(int pid, int fd, const std::string& target) {
    testing::MakeDirs(root_.Join(absl::StrCat("proc/", pid, "/fd")));
    ASSERT_EQ(symlink(target.c_str(), root_.Join(absl::StrCat("proc/", pid, "/fd/", fd)).c_str()),
              0);
  }
  void Comm(int pid, const std::string& name) {
    testing::WriteFile(root_.Join(absl::StrCat("proc/", pid, "/comm")), name + "\n");
  }
  void Tables(const std::string& tcp) {
    const std::string header =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n";
    testing::WriteFile(root_.Join("proc/net/tcp"), header + tcp);
    for (const char* f : {"tcp6", "udp", "udp6"}) {
      testing::WriteFile(root_.Join(std::string("proc/net/") + f), header);
    }
  }
  v1::SocketsFact Collect(CountingEnv& env) {
    v1::FactReport report;
    MakeSocketsCollector()->Collect(env, CollectOptions{}, report);
    return report.sockets();
  }
  testing::TempDir root_;
};

TEST_F(SocketsTest, EveryListenerAttributedAndTheScanStopsThere) {
  Tables(Listener(0, 22, 111) + Listener(1, 5432, 222));
  // pid 1: sshd with its listener among other descriptors; pid 15: postgres;
  // pid 2 and 900: many descriptors and no listener.
  Link(1, 3, "socket:[999]");
  Link(1, 4, "socket:[111]");
  Comm(1, "sshd");
  for (int fd = 0; fd < 50; ++fd) Link(2, fd, absl::StrCat("/var/lib/es/file", fd));
  Comm(2, "java");
  Link(15, 7, "socket:[222]");
  Comm(15, "postgres");
  for (int fd = 0; fd < 50; ++fd) Link(900, fd, absl::StrCat("socket:[", 5000 + fd, "]"));
  Comm(900, "dockerd");
  CountingEnv env(root_.path());
  v1::SocketsFact fact = Collect(env);
  ASSERT_EQ(fact.collection().state(), v1::Collection::OK) << fact.collection().error();
  ASSERT_EQ(fact.sockets_size(), 2);
  for (const v1::ListeningSocket& s : fact.sockets()) {
    if (s.port() == 22) {
      EXPECT_EQ(s.pid(), 1u);
      EXPECT_EQ(s.process(), "sshd");
    } else {
      EXPECT_EQ(s.port(), 5432u);
      EXPECT_EQ(s.pid(), 15u);
      EXPECT_EQ(s.process(), "postgres");
    }
  }
  // /proc in name order: 1, 15 (both listeners found: stop), never 2 or 900.
  EXPECT_THAT(env.dirs, ::testing::ElementsAre("/proc/1/fd", "/proc/15/fd"));
}

TEST_F(SocketsTest, AListenerNobodyHoldsReadsAllOfProc) {
  Tables(Listener(0, 22, 111) + Listener(1, 80, 333));
  Link(1, 4, "socket:[111]");
  Comm(1, "sshd");
  Link(7, 0, "/dev/null");
  CountingEnv env(root_.path());
  v1::SocketsFact fact = Collect(env);
  ASSERT_EQ(fact.sockets_size(), 2);
  EXPECT_THAT(env.dirs, ::testing::ElementsAre("/proc/1/fd", "/proc/7/fd"));
  for (const v1::ListeningSocket& s : fact.sockets()) {
    if (s.port() == 80) {
      EXPECT_EQ(s.pid(), 0u) << "no process holds it here";
    }
  }
}

}  // namespace
}  // namespace preflight::agent
