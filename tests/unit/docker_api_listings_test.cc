// The Docker listings read from the Engine API (agent/facts/docker_api_listings.h)
// must say exactly what the Docker CLI says: every rendering is compared with
// the CLI's output for the same command against a real dockerd started by
// the test (tests/support/real_dockerd.h), in the states a manager meets (no
// swarm, a swarm with replicated, global, job and port-publishing services).
#include "agent/facts/docker_api_listings.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/facts/docker_services.h"
#include "agent/facts/firewall.h"
#include "agent/facts/run_cache.h"
#include "agent/facts/service_container.h"
#include "agent/facts/swarm.h"
#include "agent/host/docker_api.h"
#include "agent/host/rooted_host_env.h"
#include "tests/support/real_dockerd.h"
#include "tests/support/recording_env.h"
#include "tests/support/temp_dir.h"

namespace preflight::agent {
namespace {

using ::testing::HasSubstr;

TEST(HttpResponse, ContentLengthChunkedAndUntilTheEnd) {
  auto sized = ParseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 100);
  ASSERT_TRUE(sized.ok()) << sized.status();
  EXPECT_EQ(sized->status, 200);
  EXPECT_EQ(sized->body, "hello");
  auto chunked = ParseHttpResponse(
      "HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\n\r\n"
      "3\r\nabc\r\na;ext=1\r\n0123456789\r\n0\r\n\r\n",
      100);
  ASSERT_TRUE(chunked.ok()) << chunked.status();
  EXPECT_EQ(chunked->status, 503);
  EXPECT_EQ(chunked->body, "abc0123456789");
  auto open = ParseHttpResponse("HTTP/1.0 200 OK\r\n\r\n[1,2]", 100);
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->body, "[1,2]");
}

TEST(HttpResponse, MalformedAndOversizedAreErrors) {
  EXPECT_TRUE(absl::IsDataLoss(ParseHttpResponse("HTTP/1.1 200 OK\r\n", 100).status()));
  EXPECT_TRUE(absl::IsDataLoss(ParseHttpResponse("SSH-2.0-OpenSSH\r\n\r\n", 100).status()));
  EXPECT_TRUE(absl::IsDataLoss(
      ParseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", 100).status()));
  EXPECT_TRUE(absl::IsDataLoss(
      ParseHttpResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 100)
          .status()));
  EXPECT_TRUE(absl::IsDataLoss(
      ParseHttpResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nabc", 100)
          .status()));
  EXPECT_TRUE(absl::IsResourceExhausted(
      ParseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", 100).status()));
  EXPECT_TRUE(absl::IsResourceExhausted(
      ParseHttpResponse("HTTP/1.1 200 OK\r\n\r\n" + std::string(101, 'x'), 100).status()));
}

TEST(DockerApiGet, NamesTheSocketWhenItCannotConnect) {
  testing::TempDir dir;
  auto missing = DockerApiGet(dir.Join("docker.sock"), "/v1.41/nodes", absl::Seconds(2), 1 << 20);
  EXPECT_TRUE(absl::IsUnavailable(missing.status())) << missing.status();
  EXPECT_THAT(missing.status().message(), HasSubstr(dir.Join("docker.sock")));
  EXPECT_THAT(missing.status().message(), HasSubstr("No such file"));
}

// A peer that accepts and never answers: the GET ends at its deadline.
TEST(DockerApiGet, ASilentDaemonTimesOut) {
  testing::TempDir dir;
  const std::string path = dir.Join("silent.sock");
  int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  const absl::Time start = absl::Now();
  auto silent = DockerApiGet(path, "/v1.41/nodes", absl::Milliseconds(300), 1 << 20);
  EXPECT_TRUE(absl::IsDeadlineExceeded(silent.status())) << silent.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  close(listener);
}

TEST(DockerSocket, FollowsDockerHostLikeTheCli) {
  const char* saved = getenv("DOCKER_HOST");
  const std::string was = saved == nullptr ? "" : saved;
  unsetenv("DOCKER_HOST");
  EXPECT_EQ(DockerSocketPath(), "/var/run/docker.sock");
  setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock", 1);
  EXPECT_EQ(DockerSocketPath(), "/run/user/1000/docker.sock");
  setenv("DOCKER_HOST", "tcp://10.0.0.5:2376", 1);
  EXPECT_EQ(DockerSocketPath(), std::nullopt);
  if (saved == nullptr) {
    unsetenv("DOCKER_HOST");
  } else {
    setenv("DOCKER_HOST", was.c_str(), 1);
  }
}

TEST(NaturalOrder, DigitsCompareAsNumbers) {
  EXPECT_TRUE(NaturalLess("node2", "node10"));
  EXPECT_FALSE(NaturalLess("node10", "node2"));
  EXPECT_TRUE(NaturalLess("a1", "aa"));     // digits before other bytes
  EXPECT_TRUE(NaturalLess("x01", "x001"));  // equal numbers: fewer zeros first
  EXPECT_FALSE(NaturalLess("x001", "x01"));
  EXPECT_FALSE(NaturalLess("same", "same"));
  EXPECT_TRUE(NaturalLess("ab", "abc"));
}

TEST(FamiliarImage, UnshapedReferencesStayAsGiven) {
  // No tag: the CLI prints the image string unchanged, digest and all.
  const std::string digest = "sha256:" + std::string(64, 'a');
  EXPECT_EQ(FamiliarImage("opencrvs/ocrvs-gateway@" + digest), "opencrvs/ocrvs-gateway@" + digest);
  EXPECT_EQ(FamiliarImage("localhost:5000/x"), "localhost:5000/x");
  EXPECT_EQ(FamiliarImage("Upper/Case:1"), "Upper/Case:1");
  EXPECT_EQ(FamiliarImage(""), "");
}

// Shapes the CLI could not decode are left to the CLI (its error is the
// evidence then); no ports, or null ones, are an empty column.
TEST(RenderContainerPorts, LeavesWhatTheCliCannotDecodeToTheCli) {
  EXPECT_FALSE(
      RenderContainerPorts(R"([{"Names":["/a"],"Ports":[{"PrivatePort":70000,"Type":"tcp"}]}])")
          .has_value());
  EXPECT_FALSE(RenderContainerPorts(R"([{"Names":[""],"Ports":[]}])").has_value());
  // Numbers beyond any port, even beyond uint64, are refused, not cast.
  EXPECT_FALSE(
      RenderContainerPorts(R"([{"Names":["/a"],"Ports":[{"PrivatePort":1e20,"Type":"tcp"}]}])")
          .has_value());
  EXPECT_FALSE(RenderContainerPorts(R"([{"Names":"/a"}])").has_value());
  EXPECT_FALSE(RenderContainerPorts(R"({"Names":["/a"]})").has_value());
  EXPECT_EQ(RenderContainerPorts(R"([{"Names":["/a"],"Ports":null},{"Names":["/b"]}])"),
            "a\t\nb\t\n");
  // A legacy link's name ("/web/db") is dropped for the container's own.
  EXPECT_EQ(RenderContainerPorts(R"([{"Names":["/web/db","/db"],"Ports":[]}])"), "db\t\n");
}

// A service without a ContainerSpec (a plugin service) fails the CLI's
// template: left to the CLI, as a reference no service answers is.
TEST(RenderServiceInspect, LeavesWhatTheCliCannotRenderToTheCli) {
  EXPECT_FALSE(
      RenderServiceInspect(R"([{"ID":"abc","Spec":{"Name":"p","TaskTemplate":{}}}])", {"abc"})
          .has_value());
  EXPECT_FALSE(
      RenderServiceInspect(
          R"([{"ID":"abc","Spec":{"Name":"p","TaskTemplate":{"ContainerSpec":{}}}}])", {"nosuch"})
          .has_value());
  EXPECT_EQ(RenderServiceInspect(
                R"([{"ID":"abc","Spec":{"Name":"p","TaskTemplate":{"ContainerSpec":{}}}}])", {"p"}),
            "abc\tp\t\t\"\"\tnull\n");
}

// A TCP port nobody listens on now.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

// A port P, TCP and UDP, with P + 1 free too (for a published range).
int FreePortPair() {
  auto free = [](int type, int port) {
    int fd = socket(AF_INET, type, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    close(fd);
    return ok;
  };
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int p = FreePort();
    if (p < 65535 && free(SOCK_DGRAM, p) && free(SOCK_STREAM, p + 1) && free(SOCK_DGRAM, p + 1)) {
      return p;
    }
  }
  ADD_FAILURE() << "no two free consecutive ports";
  return 0;
}

// Whether the Docker CLI on PATH is version 28 or later: its renderings
// (IPv6 ports bracketed, Go 1.22's \b and \f) are the ones the API path
// writes byte for byte; against 20.10 (Debian's) what the fact kinds parse of
// both is compared instead.
bool CliIsAtLeast28() {
  auto version =
      RunCommand({"docker", "version", "--format", "{{.Client.Version}}"}, absl::Seconds(30));
  EXPECT_TRUE(version.ok()) << version.status();
  int major = 0;
  return version.ok() && absl::SimpleAtoi(version->out.substr(0, version->out.find('.')), &major) &&
         major >= 28;
}

// The daemon's answer to every listing, and the CLI's, must agree byte for
// byte: stdout, stderr and exit code. A task may change state between the
// two reads, so each comparison is retried a few times; a wrong rendering
// never agrees.
class DockerApiListingsTest : public testing::RealDockerdTest {
 protected:
  // The API's answer for an argv (from a DockerApiListings of its own, so
  // a fresh GET) and the CLI's (DOCKER_HOST names the test's daemon for
  // both).
  struct Answers {
    CommandResult api;
    CommandResult cli;
  };

  // Answers `argv` both ways until `agrees(api, cli)`: a task may change
  // state between the two reads, so up to 10 tries, 1 s apart. `answers`
  // holds the last try's; a fatal failure when the API does not answer or
  // the CLI cannot run.
  void AnswerUntilAgreed(
      const std::vector<std::string>& argv,
      const std::function<bool(const CommandResult& api, const CommandResult& cli)>& agrees,
      Answers& answers) {
    for (int attempt = 0; attempt < 10; ++attempt) {
      if (attempt > 0) absl::SleepFor(absl::Seconds(1));
      DockerApiListings listings;
      std::optional<CommandResult> api = listings.Answer(argv, *env_, absl::Seconds(15));
      absl::StatusOr<CommandResult> cli = RunCommand(argv, absl::Seconds(30));
      ASSERT_TRUE(api.has_value()) << "the API did not answer " << absl::StrJoin(argv, " ");
      ASSERT_TRUE(cli.ok()) << cli.status();
      answers = {*std::move(api), *std::move(cli)};
      if (agrees(answers.api, answers.cli)) return;
    }
  }

  // Compares the API's answer for argv with the CLI's: stdout, stderr and
  // exit code.
  void ExpectSameAsCli(const std::vector<std::string>& argv) {
    Answers got;
    ASSERT_NO_FATAL_FAILURE(AnswerUntilAgreed(
        argv,
        [](const CommandResult& api, const CommandResult& cli) {
          return api.out == cli.out && api.err == cli.err && api.exit_code == cli.exit_code;
        },
        got));
    SCOPED_TRACE(absl::StrJoin(argv, " "));
    EXPECT_EQ(got.api.exit_code, got.cli.exit_code);
    EXPECT_EQ(got.api.out, got.cli.out);
    EXPECT_EQ(got.api.err, got.cli.err);
  }

  // `docker service inspect --format kServiceInspectFormat` of every listed
  // service: byte for byte against Docker CLI 28; against 20.10 (whose Go
  // wrote \b as \u0008) what the services kind parses of both must agree.
  void ExpectSameInspect() {
    testing::RunResult ids = dockerd_.Docker({"service", "ls", "-q"});
    ASSERT_EQ(ids.exit_code, 0) << ids.err;
    std::vector<DockerService> listed;
    std::vector<std::string> argv = ServiceInspectArgv({});
    for (absl::string_view id : absl::StrSplit(ids.out, '\n', absl::SkipEmpty())) {
      DockerService service;
      service.id = std::string(id);
      listed.push_back(std::move(service));
      argv.emplace_back(id);
    }
    ASSERT_GE(listed.size(), 6u);
    const bool same_go = CliIsAtLeast28();
    auto parsed = [&listed](absl::string_view out) {
      std::vector<DockerService> services = listed;
      std::vector<std::string> problems;
      ParseServiceInspect(out, services, problems);
      std::string text = absl::StrJoin(problems, "; ");
      for (const DockerService& s : services) {
        absl::StrAppend(&text, "\n", s.id, " inspected=", s.inspected, " state=", s.update_state,
                        " message=", s.update_message);
        for (const auto& [k, v] : s.env) absl::StrAppend(&text, " ", k, "=", v);
      }
      return text;
    };
    Answers got;
    ASSERT_NO_FATAL_FAILURE(AnswerUntilAgreed(
        argv,
        [&](const CommandResult& api, const CommandResult& cli) {
          return parsed(api.out) == parsed(cli.out) && (!same_go || api.out == cli.out);
        },
        got));
    EXPECT_EQ(got.cli.exit_code, 0) << got.cli.err;
    EXPECT_EQ(got.api.exit_code, 0);
    EXPECT_EQ(parsed(got.api.out), parsed(got.cli.out));
    if (same_go) {
      EXPECT_EQ(got.api.out, got.cli.out);
    }
    // The test's values reached the parser (not a vacuous comparison).
    EXPECT_THAT(parsed(got.cli.out), HasSubstr("SMTP_HOST=<smtp&relay>.example"));
    // svc9's update (updating, then paused: its image cannot be pulled).
    EXPECT_THAT(parsed(got.cli.out),
                ::testing::ContainsRegex("inspected=1 state=[a-z_]+ message=."))
        << got.cli.out;
  }

  // Waits until `docker service ls` shows `replicas` for `name`.
  void WaitForReplicas(const std::string& name, const std::string& replicas) {
    const bool converged = testing::WaitFor(
        [&] {
          testing::RunResult r = dockerd_.Docker(
              {"service", "ls", "--filter", "name=" + name, "--format", "{{.Replicas}}"});
          return r.out == replicas + "\n";
        },
        absl::Seconds(90));
    ASSERT_TRUE(converged) << name << " never reached " << replicas;
  }
};

TEST_F(DockerApiListingsTest, SayWhatTheCliSaysOnASwarmManager) {
  // Not in a swarm: the daemon refuses both listings, and the CLI's error
  // (exit 1, "Error response from daemon: ...") is what the API path gives.
  ExpectSameAsCli(ServiceListArgv());
  ExpectSameAsCli({"docker", "node", "ls", "-q"});

  // The swarm's port is a free one, not 2377: another daemon may hold that.
  const std::string addr = absl::StrCat("127.0.0.1:", FreePort());
  testing::RunResult init =
      dockerd_.Docker({"swarm", "init", "--advertise-addr", addr, "--listen-addr", addr});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  ExpectSameAsCli(ServiceListArgv());  // no services yet: empty
  ASSERT_TRUE(dockerd_.ImportBusybox("preflight-test/busybox:1")) << dockerd_.error();
  const std::string digest = "sha256:" + std::string(64, 'e');
  // Services as OpenCRVS runs them, and the shapes the CLI renders
  // differently: an image that cannot be pulled (0/2), a running one (1/1),
  // a digest-pinned library image, other registries, a port range, UDP,
  // host-mode ports (not shown), max per node, global, a replicated job,
  // names that sort naturally (svc9 before svc10).
  const std::vector<std::vector<std::string>> creates = {
      {"--name", "opencrvs_gateway", "--replicas", "2", "-p", "7070:7070",
       "opencrvs/ocrvs-gateway:v1.9.0"},
      // The environment the services kind keeps, with what Go's JSON
      // escapes (quotes, backslash, controls, U+2028) and what it does not
      // with HTML escaping off (<, >, &, non-ASCII).
      {"--name", "opencrvs_web", "--env", "SMTP_HOST=<smtp&relay>.example", "--env",
       "SENDER_EMAIL_ADDRESS=\"Reg\u00e9\" <noreply@example.org>", "--env",
       "SENTRY_DSN=https://k@sentry.example/1\\\b\f\x01\x7f", "--env",
       "ALERT_EMAIL=ops\u2028\u2029@example.org\ttab", "preflight-test/busybox:1", "/bin/sleep",
       "3600"},
      {"--name", "svc10", "--mode", "global", "docker.io/library/nginx:1.25@" + digest},
      {"--name", "svc9", "--replicas", "3", "--replicas-max-per-node", "2", "-p",
       "8000-8002:8000-8002", "-p", "published=9000,target=80,protocol=udp", "-p",
       "published=9001,target=81,protocol=udp", "-p", "published=8005,target=8003", "-p",
       "mode=host,published=9100,target=9100", "ghcr.io/opencrvs/x:v1"},
      {"--name", "registry_local", "-p", "5000:5000", "-p", "5001:5000", "localhost:5000/y:2"},
      {"--name", "seed", "--mode", "replicated-job", "preflight-test/busybox:1", "/bin/sleep", "1"},
  };
  for (const auto& args : creates) {
    std::vector<std::string> argv = {"service", "create", "--detach", "--no-resolve-image"};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::RunResult created = dockerd_.Docker(argv);
    ASSERT_EQ(created.exit_code, 0) << absl::StrJoin(argv, " ") << ": " << created.err;
  }
  WaitForReplicas("opencrvs_web", "1/1");
  WaitForReplicas("seed", "0/1 (1/1 completed)");
  ExpectSameAsCli(ServiceListArgv());

  // The services kind's inspect of every listed service, one of them
  // mid-update (its UpdateStatus and message are printed).
  testing::RunResult updated =
      dockerd_.Docker({"service", "update", "--detach", "--env-add", "SMTP_PORT=587", "svc9"});
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  ExpectSameInspect();

  // The node listing and the swarm fact's inspect of every listed node.
  ExpectSameAsCli({"docker", "node", "ls", "-q"});
  testing::RunResult ids = dockerd_.Docker({"node", "ls", "-q"});
  ASSERT_EQ(ids.exit_code, 0);
  ExpectSameAsCli(SwarmNodeInspectArgv(ParseSwarmNodeIds(ids.out)));
  // A node the listing does not hold is left to the CLI.
  DockerApiListings listings;
  EXPECT_FALSE(
      listings.Answer(SwarmNodeInspectArgv({"nosuchnode"}), *env_, absl::Seconds(5)).has_value());
  // The containers of swarm tasks (opencrvs_web's runs; seed's has ended).
  ExpectSameAsCli(ContainerListArgv());

  // In a collection the listings cost no process: RunCache answers them
  // from the API (one GET per target), and what it read is what the CLI
  // prints. One test, one daemon: two would both claim the swarm's port.
  testing::RecordingEnv recording("/");
  RunCache cache(recording);
  auto ls = cache.Run(ServiceListArgv(), absl::Seconds(15));
  auto nodes = cache.Run({"docker", "node", "ls", "-q"}, absl::Seconds(15));
  ASSERT_TRUE(ls.ok() && nodes.ok());
  const std::vector<std::string> inspect_argv = SwarmNodeInspectArgv(ParseSwarmNodeIds(nodes->out));
  auto inspect = cache.Run(inspect_argv, absl::Seconds(15));
  ASSERT_TRUE(inspect.ok());
  DockerServices services = ReadDockerServices(cache);  // ls (cached) and inspect
  EXPECT_EQ(services.state, v1::Collection::OK) << services.error;
  EXPECT_TRUE(std::all_of(services.services.begin(), services.services.end(),
                          [](const DockerService& s) { return s.inspected; }));
  EXPECT_TRUE(recording.argvs.empty()) << "forked: " << absl::StrJoin(recording.argvs[0], " ");
  EXPECT_EQ(recording.gets,
            (std::vector<std::string>{"/v1.41/services?status=true", "/v1.41/nodes"}));
  EXPECT_THAT(ls->out, HasSubstr("\topencrvs_web\t"));
  // What the collection read is what the CLI prints.
  for (const auto& [argv, got] :
       {std::pair{ServiceListArgv(), *ls},
        std::pair{std::vector<std::string>{"docker", "node", "ls", "-q"}, *nodes},
        std::pair{inspect_argv, *inspect}}) {
    auto cli = RunCommand(argv, absl::Seconds(30));
    ASSERT_TRUE(cli.ok());
    EXPECT_EQ(got.out, cli->out) << absl::StrJoin(argv, " ");
    EXPECT_EQ(got.exit_code, 0);
  }
  // Not a listing this covers: the CLI runs.
  auto version =
      cache.Run({"docker", "version", "--format", "{{.Server.Version}}"}, absl::Seconds(15));
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(recording.argvs.size(), 1u);
}

// The firewall's listing: every running container's names and published
// ports (the daemon's order; ports grouped into ranges per address, mapped
// ports last). Against Docker CLI 28 the API's rendering is byte for byte
// the CLI's; 20.10's CLI writes IPv6 addresses unbracketed (":::80->"), so
// what is compared then is each line's names and what the firewall reads
// of the whole (ParseDockerPorts), which must be equal.
TEST_F(DockerApiListingsTest, PortsAsTheFirewallReadsThem) {
  ASSERT_TRUE(dockerd_.ImportBusybox("preflight-test/busybox:1")) << dockerd_.error();
  // A user-defined bridge (the daemon runs with --bridge=none); removed at
  // the end so no bridge interface outlives the test.
  testing::RunResult net = dockerd_.Docker({"network", "create", "pfports"});
  ASSERT_EQ(net.exit_code, 0) << net.err;
  struct Cleanup {
    testing::RealDockerd& d;
    ~Cleanup() {
      d.Docker({"rm", "-f", "web", "same", "plain"});
      d.Docker({"network", "rm", "pfports"});
    }
  } cleanup{dockerd_};
  const std::string image = "preflight-test/busybox:1";
  const int mapped = FreePort(), local = FreePort(), range = FreePortPair(), same = FreePortPair();
  ASSERT_NE(range, 0);
  ASSERT_NE(same, 0);
  const std::vector<std::vector<std::string>> runs = {
      // Mapped to another number, loopback-only, a UDP range, exposed only.
      {"--name", "web", "--network", "pfports", "-p", absl::StrCat(mapped, ":80"), "-p",
       absl::StrCat("127.0.0.1:", local, ":81"), "-p",
       absl::StrCat(range, "-", range + 1, ":", range, "-", range + 1, "/udp"), "--expose", "99"},
      // Published on its own number, TCP and UDP, and the next port exposed.
      {"--name", "same", "--network", "pfports", "-p", absl::StrCat(same, ":", same), "-p",
       absl::StrCat(same, ":", same, "/udp"), "--expose", absl::StrCat(same + 1)},
      // No network, no ports.
      {"--name", "plain", "--network", "none"},
  };
  for (const auto& args : runs) {
    std::vector<std::string> argv = {"run", "--detach"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {image, "/bin/sleep", "3600"});
    testing::RunResult ran = dockerd_.Docker(argv);
    ASSERT_EQ(ran.exit_code, 0) << absl::StrJoin(argv, " ") << ": " << ran.err;
  }

  DockerApiListings listings;
  std::optional<CommandResult> api =
      listings.Answer(ContainerPortsArgv(), *env_, absl::Seconds(15));
  absl::StatusOr<CommandResult> cli = RunCommand(ContainerPortsArgv(), absl::Seconds(30));
  ASSERT_TRUE(api.has_value()) << "the API did not answer";
  ASSERT_TRUE(cli.ok()) << cli.status();
  ASSERT_EQ(cli->exit_code, 0) << cli->err;
  EXPECT_EQ(api->exit_code, 0);
  EXPECT_EQ(api->err, "");
  auto names = [](absl::string_view out) {
    std::vector<std::string> n;
    for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
      n.emplace_back(line.substr(0, line.find('\t')));
    }
    return n;
  };
  EXPECT_EQ(names(api->out), names(cli->out));
  EXPECT_EQ(names(cli->out).size(), 3u) << cli->out;
  v1::FirewallFact from_api, from_cli;
  ParseDockerPorts(api->out, "docker ps", from_api);
  ParseDockerPorts(cli->out, "docker ps", from_cli);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(from_api, from_cli))
      << "API:\n"
      << api->out << from_api.DebugString() << "CLI:\n"
      << cli->out << from_cli.DebugString();
  // The firewall sees the published ports, not the loopback-only one.
  EXPECT_GE(from_cli.docker_published_size(), 3) << cli->out;
  for (const v1::DockerPublished& d : from_cli.docker_published()) {
    EXPECT_NE(d.port(), static_cast<uint32_t>(local)) << d.DebugString();
  }
  if (CliIsAtLeast28()) {
    EXPECT_EQ(api->out, cli->out);
  }

  // In a collection the firewall's listing costs no process either.
  testing::RecordingEnv recording("/");
  RunCache cache(recording);
  auto ps = cache.Run(ContainerPortsArgv(), absl::Seconds(15));
  ASSERT_TRUE(ps.ok());
  EXPECT_TRUE(recording.argvs.empty()) << "forked: " << absl::StrJoin(recording.argvs[0], " ");
  EXPECT_EQ(recording.gets, (std::vector<std::string>{"/v1.41/containers/json"}));
  EXPECT_EQ(names(ps->out), names(cli->out));
}

}  // namespace
}  // namespace preflight::agent
