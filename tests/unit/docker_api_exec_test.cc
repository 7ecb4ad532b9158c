// `docker exec` through the Engine API (agent/facts/docker_api_exec.h) must
// give what the Docker CLI gives for the same argv: standard output, standard
// error and exit code, compared byte for byte against a real dockerd started
// by the test (tests/support/real_dockerd.h), for the shapes the application
// sources meet: output on both streams and a failing exit, a script with
// awkward arguments, output past the cap, a program missing from the
// container, a container that does not exist or is stopped.
#include "agent/facts/docker_api_exec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "agent/facts/run_cache.h"
#include "agent/host/rooted_host_env.h"
#include "tests/support/real_dockerd.h"
#include "tests/support/recording_env.h"
#include "tests/support/temp_dir.h"

namespace preflight::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Frame(char kind, absl::string_view payload) {
  std::string f(4, '\0');
  f[0] = kind;
  const uint32_t n = static_cast<uint32_t>(payload.size());
  f.push_back(static_cast<char>(n >> 24));
  f.push_back(static_cast<char>(n >> 16));
  f.push_back(static_cast<char>(n >> 8));
  f.push_back(static_cast<char>(n));
  return absl::StrCat(f, payload);
}

TEST(DemuxExecStream, SplitsStdoutAndStderrFrames) {
  std::string out, err;
  ASSERT_TRUE(DemuxExecStream(
      absl::StrCat(Frame(1, "one\n"), Frame(2, "bad\n"), Frame(1, ""), Frame(1, "two\n")), 100, out,
      err));
  EXPECT_EQ(out, "one\ntwo\n");
  EXPECT_EQ(err, "bad\n");
}

TEST(DemuxExecStream, CapsEachStream) {
  std::string out, err;
  ASSERT_TRUE(DemuxExecStream(absl::StrCat(Frame(1, "abcdef"), Frame(2, "xy"), Frame(1, "ghij")), 4,
                              out, err));
  EXPECT_EQ(out, "abcd");
  EXPECT_EQ(err, "xy");
}

TEST(DemuxExecStream, RefusesWhatIsNotAnExecStream) {
  std::string out, err;
  // A daemon error frame (3), a frame cut short, a header cut short, bytes
  // that are not a frame header at all (a TTY stream, or HTML).
  EXPECT_FALSE(DemuxExecStream(Frame(3, "error"), 100, out, err));
  EXPECT_FALSE(DemuxExecStream(Frame(1, "abcdef").substr(0, 10), 100, out, err));
  EXPECT_FALSE(DemuxExecStream(std::string("\x01\0\0", 3), 100, out, err));
  EXPECT_FALSE(DemuxExecStream("<html>not a stream</html>", 100, out, err));
}

// Not `docker exec CONTAINER CMD...`: the CLI runs (nullopt), whatever the
// host; nothing reaches the daemon.
TEST(DockerApiExec, LeavesOtherCommandsToTheCli) {
  testing::TempDir root;
  testing::RecordingEnv env(root.path());
  for (const std::vector<std::string>& argv :
       std::vector<std::vector<std::string>>{{"docker", "exec", "c1"},
                                             {"docker", "exec", "-u", "root", "c1", "id"},
                                             {"docker", "exec", "../containers/x", "id"},
                                             {"docker", "exec", "c1/../../x", "id"},
                                             {"docker", "run", "c1", "id"},
                                             {"sudo", "docker", "exec", "c1", "id"}}) {
    EXPECT_FALSE(DockerApiExec(argv, env, absl::Seconds(1)).has_value())
        << absl::StrJoin(argv, " ");
  }
  EXPECT_THAT(env.posts, IsEmpty());
  // Under --root the daemon is not asked either: the recorded output stands.
  EXPECT_FALSE(DockerApiExec({"docker", "exec", "c1", "id"}, env, absl::Seconds(1)).has_value());
}

class DockerApiExecTest : public testing::RealDockerdTest {
 protected:
  void SetUp() override {
    RealDockerdTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(dockerd_.ImportBusybox("preflight-test/busybox:1")) << dockerd_.error();
  }

  // A running container named `name`; its id.
  std::string Start(const std::string& name) {
    testing::RunResult r = dockerd_.Docker({"run", "-d", "--name", name, "--network", "none",
                                            "preflight-test/busybox:1", "/bin/sleep", "600"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return std::string(absl::StripAsciiWhitespace(r.out));
  }

  // The API's result for argv and the CLI's must be the same bytes.
  CommandResult ExpectSameAsCli(const std::vector<std::string>& argv) {
    SCOPED_TRACE(absl::StrJoin(argv, " "));
    std::optional<CommandResult> api = DockerApiExec(argv, *env_, absl::Seconds(30));
    absl::StatusOr<CommandResult> cli = RunCommand(argv, absl::Seconds(30));
    EXPECT_TRUE(api.has_value()) << "the API did not run it";
    EXPECT_TRUE(cli.ok()) << cli.status();
    if (!api.has_value() || !cli.ok()) return {};
    EXPECT_FALSE(api->timed_out);
    EXPECT_EQ(api->exit_code, cli->exit_code);
    EXPECT_EQ(api->out, cli->out);
    EXPECT_EQ(api->err, cli->err);
    return *api;
  }
};

TEST_F(DockerApiExecTest, SaysWhatTheCliSays) {
  const std::string id = Start("pfexec");
  ASSERT_FALSE(id.empty());

  // Both streams, and the script's own exit code; by name and by id.
  CommandResult r = ExpectSameAsCli(
      {"docker", "exec", "pfexec", "sh", "-c", "echo out; echo err >&2; echo more; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\nmore\n");
  EXPECT_EQ(r.err, "err\n");
  ExpectSameAsCli({"docker", "exec", id, "sh", "-c", "echo by id"});

  // Arguments reach the command as they are: quotes, backslashes, white
  // space, non-ASCII, a "$" the host must not expand, a control byte.
  r = ExpectSameAsCli({"docker", "exec", "pfexec", "sh", "-c", "printf '[%s]' \"$@\"", "preflight",
                       "a b", "\"q\"", "back\\slash", "\u00e9\u2028", "$HOME", "tab\tnl\nend",
                       "\x01", "</script>&"});
  EXPECT_THAT(r.out, HasSubstr("[$HOME]"));

  // Output past the cap (1 MiB each, as RunCommand keeps), on both streams.
  r = ExpectSameAsCli({"docker", "exec", "pfexec", "sh", "-c",
                       "busybox yes 0123456789abcdef | busybox head -c 3000000; "
                       "busybox yes err | busybox head -c 1500000 >&2"});
  EXPECT_EQ(r.out.size(), size_t{1} << 20);
  EXPECT_EQ(r.err.size(), size_t{1} << 20);

  // A program the container does not have: the runtime's message and its
  // exit code (126/127); a script's missing program: the shell's 127.
  r = ExpectSameAsCli({"docker", "exec", "pfexec", "/usr/bin/psql", "-c", "select 1"});
  EXPECT_GE(r.exit_code, 126);
  EXPECT_EQ(ExpectSameAsCli({"docker", "exec", "pfexec", "sh", "-c", "psql -At"}).exit_code, 127);

  // No such container; a stopped one: the daemon's refusal, as the CLI
  // prints it.
  r = ExpectSameAsCli({"docker", "exec", "pf-no-such", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error response from daemon: "));
  ASSERT_EQ(dockerd_.Docker({"stop", "-t", "0", "pfexec"}).exit_code, 0);
  r = ExpectSameAsCli({"docker", "exec", "pfexec", "true"});
  EXPECT_EQ(r.exit_code, 1);
}

TEST_F(DockerApiExecTest, RunsInACollectionWithoutForkingAndTimesOut) {
  ASSERT_FALSE(Start("pfexec2").empty());
  testing::RecordingEnv host("/");
  RunCache cache(host);
  const std::vector<std::string> argv = {"docker", "exec", "pfexec2", "sh", "-c", "echo once"};
  auto first = cache.Run(argv, absl::Seconds(30));
  auto again = cache.Run(argv, absl::Seconds(30));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(first->out, "once\n");
  EXPECT_EQ(again->out, "once\n");
  // No process forked; one exec created and started, one inspect.
  EXPECT_THAT(host.argvs, IsEmpty());
  ASSERT_EQ(host.posts.size(), 2u);
  EXPECT_EQ(host.posts[0].first, "/v1.41/containers/pfexec2/exec");
  EXPECT_THAT(host.posts[0].second, HasSubstr(R"("Cmd":["sh","-c","echo once"])"));
  EXPECT_EQ(host.gets.size(), 1u);

  // Past its timeout the result says so, and does not wait for the command.
  const absl::Time start = absl::Now();
  std::optional<CommandResult> slow = DockerApiExec(
      {"docker", "exec", "pfexec2", "sh", "-c", "sleep 20"}, *env_, absl::Milliseconds(500));
  ASSERT_TRUE(slow.has_value());
  EXPECT_TRUE(slow->timed_out);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));

  // A DOCKER_HOST the agent cannot speak to itself: the CLI runs.
  setenv("DOCKER_HOST", "tcp://127.0.0.1:1", 1);
  EXPECT_FALSE(DockerApiExec(argv, *env_, absl::Seconds(5)).has_value());
  setenv("DOCKER_HOST", dockerd_.host().c_str(), 1);
  // Removed now, not by the daemon's shutdown (its sleep ignores SIGTERM).
  EXPECT_EQ(dockerd_.Docker({"rm", "-f", "pfexec2"}).exit_code, 0);
}

}  // namespace
}  // namespace preflight::agent
