// The collector's health (file, --health, grpc.health.v1), and the collector
// when descriptors run out: more idle TCP connections than its
// descriptor limit make gRPC 1.51 give up its listener (accept4: EMFILE).
// The collector notices (its health says so), the handshake timeout frees
// the descriptors, the server is rebuilt on the same port in the same
// process, and real agents are served again.
#include <arpa/inet.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "proto/wire/tls.h"
#include "tests/support/cluster.h"

namespace preflight::testing {
namespace {

constexpr int kLimit = 128;        // the collector's descriptors
constexpr int kIdleSockets = 300;  // more than that

// A TCP connection to the collector that never says a word.
int IdleConnection(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

class HealthTest : public ::testing::Test {
 protected:
  HealthTest() : cluster_(OneManager()) {
    v1::CollectorConfig extra;
    extra.set_health_file(cluster_.dir().Join("collector.health"));
    extra.set_handshake_timeout_seconds(5);
    cluster_.SetCollectorConfig(extra);
    cluster_.pki().IssueAuditor("monitor");
  }

  RunResult Health() {
    return RunProcess({PREFLIGHT_COLLECTOR_BIN, "--config",
                       cluster_.dir().Join("collector.textproto"), "--health"},
                      absl::Seconds(20));
  }

  // grpc.health.v1.Health/Check for `service` over mutual TLS (an
  // auditor's certificate): 1 SERVING, 2 NOT_SERVING, -1 on error. The
  // messages are tiny and fixed (HealthCheckRequest{service = 1},
  // HealthCheckResponse{status = 1}), so they are written by hand.
  int HealthOverTls(const std::string& service) {
    auto channel = MakeChannel(cluster_.target(), cluster_.pki().AuditorTls("monitor"));
    if (!channel.ok()) return -1;
    std::string request;
    if (!service.empty()) {
      request.push_back(0x0a);
      request.push_back(static_cast<char>(service.size()));
      request += service;
    }
    grpc::Slice slice(request);
    grpc::ByteBuffer in(&slice, 1), out;
    grpc::GenericStub stub(*channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    std::promise<grpc::Status> done;
    stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &in, &out,
                   [&done](grpc::Status s) { done.set_value(s); });
    if (!done.get_future().get().ok()) return -1;
    std::vector<grpc::Slice> slices;
    if (!out.Dump(&slices).ok()) return -1;
    std::string bytes;
    for (const grpc::Slice& s : slices)
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : -1;
  }

  TestCluster cluster_;
};

// The collector runs on the allocator it was built with (tcmalloc unless
// built with sanitizers: collector/service/heap.h) and says which at start.
TEST_F(HealthTest, TheCollectorSaysWhichHeapItRunsOn) {
  cluster_.StartCollector();
  std::ifstream maps(absl::StrCat("/proc/", cluster_.collector_pid(), "/maps"));
  const std::string mapped((std::istreambuf_iterator<char>(maps)),
                           std::istreambuf_iterator<char>());
  ASSERT_FALSE(mapped.empty());
#if PREFLIGHT_TCMALLOC
  EXPECT_TRUE(absl::StrContains(mapped, "libtcmalloc_minimal.so"));
  EXPECT_TRUE(absl::StrContains(cluster_.collector_log(), "heap allocator: tcmalloc\n"))
      << cluster_.collector_log();
#else
  EXPECT_FALSE(absl::StrContains(mapped, "libtcmalloc"));
  EXPECT_TRUE(absl::StrContains(cluster_.collector_log(), "heap allocator: glibc\n"))
      << cluster_.collector_log();
#endif
  // And it serves: a real agent's report is stored.
  EXPECT_EQ(cluster_.AgentOnce("prod-01", FixtureRoot("opencrvs-manager")).exit_code, 0)
      << cluster_.collector_log();
}

// gRPC's own list of its experiments (printed at GRPC_VERBOSITY=DEBUG) says
// tcp_read_chunks is off in the collector (proto/wire/server_transport.h,
// BoundTcpReadBuffers), and an operator's GRPC_EXPERIMENTS naming it wins.
TEST_F(HealthTest, TheCollectorReadsTcpInBoundedChunks) {
  auto experiment_line = [&] {
    const std::string log = cluster_.collector_log();
    const size_t at = log.rfind("gRPC EXPERIMENT tcp_read_chunks ");  // the latest start
    return at == std::string::npos ? std::string() : log.substr(at, log.find('\n', at) - at);
  };
  setenv("GRPC_VERBOSITY", "DEBUG", 1);
  unsetenv("GRPC_EXPERIMENTS");
  cluster_.StartCollector();
  std::string line = experiment_line();
  EXPECT_TRUE(absl::StrContains(line, " OFF (default:ON)")) << cluster_.collector_log();
  EXPECT_TRUE(absl::StrContains(cluster_.collector_log(), "GRPC_EXPERIMENTS=-tcp_read_chunks "))
      << cluster_.collector_log();
  // It serves with it: a real agent's report (20 KB) is stored.
  EXPECT_EQ(cluster_.AgentOnce("prod-01", FixtureRoot("opencrvs-manager")).exit_code, 0)
      << cluster_.collector_log();
  cluster_.StopCollector(SIGTERM);

  setenv("GRPC_EXPERIMENTS", "tcp_read_chunks", 1);
  cluster_.StartCollector();
  line = experiment_line();
  unsetenv("GRPC_EXPERIMENTS");
  unsetenv("GRPC_VERBOSITY");
  EXPECT_TRUE(absl::StrContains(line, " ON ")) << cluster_.collector_log();
  EXPECT_TRUE(absl::StrContains(cluster_.collector_log(), "GRPC_EXPERIMENTS=tcp_read_chunks "))
      << cluster_.collector_log();
}

TEST_F(HealthTest, IdleConnectionsOverTheLimitThenAgentsAreServedAgain) {
  cluster_.StartCollector();
  const std::string root = FixtureRoot("opencrvs-manager");
  ASSERT_EQ(cluster_.AgentOnce("prod-01", root).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return Health().exit_code == 0; }, absl::Seconds(10))) << Health().out;
  // The collector raised its soft limit to the hard one at start; lower both,
  // as a unit with systemd's default LimitNOFILE would have them.
  const pid_t pid = cluster_.collector_pid();
  RunResult lowered = RunProcess(
      {"prlimit", "--pid", std::to_string(pid), absl::StrCat("--nofile=", kLimit, ":", kLimit)},
      absl::Seconds(10));
  ASSERT_EQ(lowered.exit_code, 0) << lowered.err;

  std::vector<int> idle;
  for (int i = 0; i < kIdleSockets; ++i) {
    int fd = IdleConnection(cluster_.port());
    if (fd >= 0) idle.push_back(fd);
  }
  EXPECT_GT(static_cast<int>(idle.size()), kLimit);
  // gRPC gives up the listener; the collector sees it and says so.
  EXPECT_TRUE(WaitFor(
      [&] { return absl::StrContains(cluster_.collector_log(), "stopped accepting connections"); },
      absl::Seconds(20)))
      << cluster_.collector_log();
  EXPECT_TRUE(WaitFor(
      [&] { return absl::StrContains(cluster_.collector_log(), "health: listener: gRPC stopped"); },
      absl::Seconds(10)))
      << cluster_.collector_log();

  // Nobody closes the idle sockets here: the handshake timeout does, and the
  // same process listens again.
  EXPECT_TRUE(WaitFor([&] { return absl::StrContains(cluster_.collector_log(), " again\n"); },
                      absl::Seconds(40)))
      << cluster_.collector_log();
  EXPECT_TRUE(cluster_.collector_running());
  EXPECT_EQ(cluster_.collector_pid(), pid);
  RunResult agent = cluster_.AgentOnce("prod-01", root);
  EXPECT_EQ(agent.exit_code, 0) << agent.err << cluster_.collector_log();
  EXPECT_TRUE(WaitFor([&] { return Health().exit_code == 0; }, absl::Seconds(10))) << Health().out;
  EXPECT_TRUE(absl::StrContains(cluster_.Ctl({"audit"}).out, "listener-rebuilt"))
      << cluster_.Ctl({"audit"}).out;
  // The standard health service of the rebuilt server answers too.
  EXPECT_EQ(HealthOverTls(""), 1);
  EXPECT_EQ(HealthOverTls("preflight.v1.Ingest"), 1);
  for (int fd : idle) close(fd);
}

TEST_F(HealthTest, HealthFileSaysWhenTheCollectorIsGone) {
  cluster_.StartCollector();
  ASSERT_TRUE(WaitFor([&] { return Health().exit_code == 0; }, absl::Seconds(10)));
  EXPECT_EQ(Health().out, "ok\n");
  cluster_.StopCollector(SIGKILL);
  // The file stays behind, but ages: after 15 s it no longer says healthy.
  EXPECT_TRUE(WaitFor([&] { return Health().exit_code == 1; }, absl::Seconds(30)));
  EXPECT_TRUE(absl::StrContains(Health().out, "not running")) << Health().out;
}

// A CRL past its nextUpdate refuses every certificate: the collector is
// unfit to take reports, and says so everywhere until the CRL is re-signed.
TEST_F(HealthTest, ExpiredCrlMakesItUnhealthyUntilResigned) {
  cluster_.StartCollector();
  ASSERT_TRUE(WaitFor([&] { return Health().exit_code == 0; }, absl::Seconds(10)));
  EXPECT_EQ(HealthOverTls("preflight.v1.Ingest"), 1);
  const absl::Time now = absl::Now();
  cluster_.pki().ResignCrlValid(now - absl::Hours(48), now - absl::Hours(24));
  ASSERT_TRUE(WaitFor([&] { return Health().exit_code == 1; }, absl::Seconds(15)));
  RunResult health = Health();
  EXPECT_TRUE(absl::StrContains(health.out, "unhealthy: revocation: the CRL")) << health.out;
  EXPECT_TRUE(absl::StrContains(health.out, "expired")) << health.out;
  EXPECT_EQ(HealthOverTls(""), 2);
  EXPECT_EQ(HealthOverTls("preflight.v1.Ingest"), 2);
  EXPECT_EQ(HealthOverTls("preflight.v1.Query"), 1);
  EXPECT_TRUE(absl::StrContains(cluster_.collector_log(), "health: revocation: the CRL"))
      << cluster_.collector_log();
  cluster_.pki().ResignCrl(30);
  EXPECT_TRUE(WaitFor([&] { return Health().exit_code == 0; }, absl::Seconds(15))) << Health().out;
  EXPECT_EQ(HealthOverTls("preflight.v1.Ingest"), 1);
  EXPECT_TRUE(absl::StrContains(cluster_.collector_log(), "health: ok"));
}

}  // namespace
}  // namespace preflight::testing
