// A throwaway Docker daemon for tests (Debian's docker.io, installed by
// deploy/install-deps.sh): dockerd with its data, exec root and socket in a
// temp dir, no bridge, no iptables, the vfs storage driver, stopped on
// destruction. Needs root. The Docker Engine API listings are compared with
// the Docker CLI's output against it (tests/unit/docker_api_listings_test.cc).
#ifndef PREFLIGHT_TESTS_SUPPORT_REAL_DOCKERD_H_
#define PREFLIGHT_TESTS_SUPPORT_REAL_DOCKERD_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <memory>
#include <string>
#include <vector>

#include "agent/host/host_env.h"
#include "agent/host/rooted_host_env.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight::testing {

class RealDockerd {
 public:
  RealDockerd();
  ~RealDockerd();
  RealDockerd(const RealDockerd&) = delete;
  RealDockerd& operator=(const RealDockerd&) = delete;

  // Whether the daemon answers; error() says why not.
  bool ok() const { return started_; }
  const std::string& error() const { return error_; }
  // "unix://<dir>/docker.sock", for DOCKER_HOST and `docker -H`.
  std::string host() const { return "unix://" + socket_; }
  // Runs the Docker CLI against this daemon.
  RunResult Docker(const std::vector<std::string>& args, int timeout_seconds = 120);
  // Imports a one-file image `name` holding Debian's static busybox (as
  // /bin/busybox, /bin/sh and /bin/sleep), so containers can run without a
  // registry. False (and error() says why) when it cannot.
  bool ImportBusybox(const std::string& name);

 private:
  TempDir dir_;
  std::string exec_root_;
  std::string socket_;
  std::unique_ptr<Process> daemon_;
  std::string error_;
  bool started_ = false;
};

// A test with its own daemon: DOCKER_HOST names it for the test's duration
// (the agent's Engine API path and the Docker CLI both follow it, so both
// talk to it), and env_ is the live host.
class RealDockerdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dockerd_.ok()) << dockerd_.error();
    const char* saved = getenv("DOCKER_HOST");
    had_ = saved != nullptr;
    if (had_) saved_ = saved;
    setenv("DOCKER_HOST", dockerd_.host().c_str(), 1);
    auto env = agent::RootedHostEnv::Create("/");
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = *std::move(env);
  }
  void TearDown() override {
    if (had_) {
      setenv("DOCKER_HOST", saved_.c_str(), 1);
    } else {
      unsetenv("DOCKER_HOST");
    }
  }

  RealDockerd dockerd_;
  std::unique_ptr<agent::HostEnv> env_;

 private:
  std::string saved_;
  bool had_ = false;
};

}  // namespace preflight::testing

#endif  // PREFLIGHT_TESTS_SUPPORT_REAL_DOCKERD_H_
