// The SMTP TLS probe (agent/host/tls_probe.h, ProbeSmtpTlsChain) against a
// real aiosmtpd (tests/notify/smtp_server.py, STARTTLS and implicit TLS, with
// certificates made by preflight-certs for the test) and against scripted
// hostile peers on loopback: silent, endless lines, garbage, refusals.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "agent/host/rooted_host_env.h"
#include "agent/host/tls_probe.h"
#include "tests/notify/peers.h"
#include "tests/support/pki.h"
#include "tests/support/temp_dir.h"

namespace preflight {
namespace {

using preflight::testing::Peer;
using preflight::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A loopback listener; port 0, the kernel picks.
int Listen(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(fd, 8) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ADD_FAILURE() << "cannot listen on loopback: " << strerror(errno);
  }
  *port = ntohs(a.sin_port);
  return fd;
}

// A peer that speaks from a script: on connect it sends script[0], then for
// each later entry it reads one line from the client and sends the entry,
// each send `delay` late. After the script it keeps the connection open,
// reading, until destroyed. It records the lines the client sent.
class ScriptedPeer {
 public:
  explicit ScriptedPeer(std::vector<std::string> script,
                        absl::Duration delay = absl::ZeroDuration())
      : script_(std::move(script)), delay_(delay) {
    listen_fd_ = Listen(&port_);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedPeer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close(listen_fd_);
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  // What the client sent, one entry per line (without CRLF). Call after the
  // probe returned.
  std::vector<std::string> lines() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return lines_;
  }

 private:
  // Waits for `events` on fd in 20 ms slices until stop_: false when stopped.
  bool Ready(int fd, short events) {
    while (!stop_) {
      pollfd p = {fd, events, 0};
      if (poll(&p, 1, 20) > 0) return true;
    }
    return false;
  }
  bool SendAll(int fd, absl::string_view data) {
    while (!data.empty()) {
      if (!Ready(fd, POLLOUT)) return false;
      ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // One line from the client into lines_; false at EOF or stop.
  bool ReadLine(int fd, std::string& pending) {
    while (pending.find('\n') == std::string::npos) {
      if (!Ready(fd, POLLIN)) return false;
      char buf[4096];
      ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) return false;
      pending.append(buf, static_cast<size_t>(n));
    }
    size_t eol = pending.find('\n');
    std::string line = pending.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines_.push_back(line);
    pending.erase(0, eol + 1);
    return true;
  }
  void Serve() {
    if (!Ready(listen_fd_, POLLIN)) return;
    int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    std::string pending;
    bool ok = true;
    for (size_t i = 0; ok && i < script_.size(); ++i) {
      if (i > 0) ok = ReadLine(fd, pending);
      for (absl::Time at = absl::Now() + delay_; ok && absl::Now() < at;) {
        ok = !stop_;
        absl::SleepFor(absl::Milliseconds(5));
      }
      if (ok) ok = SendAll(fd, script_[i]);
    }
    while (ok) ok = ReadLine(fd, pending);
    close(fd);
  }

  const std::vector<std::string> script_;
  const absl::Duration delay_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<std::string> lines_;
  std::thread thread_;
};

class SmtpProbeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_dir_ = new TempDir();
    pki_ = new preflight::testing::TestPki(pki_dir_->Join("pki"), "example.org");
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete pki_dir_;
  }
  // The certificate the peers present (localhost, 127.0.0.1), and its key.
  static std::string Cert() { return pki_->CollectorTls().cert_file(); }
  static std::string Key() { return pki_->CollectorTls().key_file(); }
  // The first PEM block of the certificate file: the leaf the test made.
  static std::string Leaf() {
    std::string pem = preflight::testing::ReadFile(Cert());
    const std::string end = "-----END CERTIFICATE-----\n";
    size_t at = pem.find(end);
    return at == std::string::npos ? pem : pem.substr(0, at + end.size());
  }

  std::unique_ptr<Peer> StartPeer(const std::string& name, const std::string& mode) {
    std::vector<std::string> args = {"--out-dir", "@OUT"};
    if (mode == "--plain") {
      args.push_back(mode);
    } else {
      args.insert(args.end(), {"--cert", Cert(), "--key", Key()});
      if (!mode.empty()) args.push_back(mode);
    }
    return std::make_unique<Peer>(dir_.Join(name), "smtp_server.py", args);
  }
  // The command lines aiosmtpd read, in order.
  static std::vector<std::string> Commands(const Peer& peer) {
    std::vector<std::string> out = absl::StrSplit(
        preflight::testing::ReadFile(peer.out_dir() + "/log"), '\n', absl::SkipEmpty());
    return out;
  }

  TempDir dir_;
  static TempDir* pki_dir_;
  static preflight::testing::TestPki* pki_;
};

TempDir* SmtpProbeTest::pki_dir_ = nullptr;
preflight::testing::TestPki* SmtpProbeTest::pki_ = nullptr;

TEST_F(SmtpProbeTest, StartTlsReturnsTheChainAndNeverSendsMail) {
  auto peer = StartPeer("smtp", "");
  const std::string address = absl::StrCat("127.0.0.1:", peer->port());
  auto chain = agent::ProbeSmtpTlsChain(address, "localhost", true, absl::Seconds(20));
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_FALSE(chain->empty());
  EXPECT_EQ((*chain)[0], Leaf());

  // EHLO, STARTTLS, then (inside TLS) QUIT: no AUTH, MAIL, RCPT or DATA.
  std::vector<std::string> commands = Commands(*peer);
  ASSERT_EQ(commands.size(), 3u) << absl::StrJoin(commands, "|");
  EXPECT_THAT(commands[0], StartsWith("EHLO "));
  EXPECT_GT(commands[0].size(), 5u);
  EXPECT_EQ(commands[1], "STARTTLS");
  EXPECT_EQ(commands[2], "QUIT");
  EXPECT_TRUE(peer->Received().empty());

  // The live host env takes the same path; under another root it refuses.
  auto live = agent::RootedHostEnv::Create("/");
  ASSERT_TRUE(live.ok()) << live.status();
  auto again = (*live)->ProbeSmtpTls(address, "localhost", true, absl::Seconds(20));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)[0], Leaf());
  TempDir image;
  auto rooted = agent::RootedHostEnv::Create(image.path());
  ASSERT_TRUE(rooted.ok()) << rooted.status();
  auto refused = (*rooted)->ProbeSmtpTls(address, "localhost", true, absl::Seconds(20));
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
  EXPECT_EQ(Commands(*peer).size(), 6u) << "the rooted env must not connect";
}

TEST_F(SmtpProbeTest, ImplicitTlsReturnsTheChain) {
  auto peer = StartPeer("smtps", "--implicit-tls");
  const std::string address = absl::StrCat("127.0.0.1:", peer->port());
  auto chain = agent::ProbeSmtpTlsChain(address, "localhost", false, absl::Seconds(20));
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ((*chain)[0], Leaf());
  EXPECT_THAT(Commands(*peer), ::testing::ElementsAre("QUIT"));
  EXPECT_TRUE(peer->Received().empty());

  // STARTTLS expected of an implicit-TLS port: the greeting never comes in
  // clear text, so the probe times out at the greeting.
  absl::Time start = absl::Now();
  auto wrong = agent::ProbeSmtpTlsChain(address, "localhost", true, absl::Milliseconds(700));
  absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(wrong.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(wrong.status())) << wrong.status();
  EXPECT_EQ(wrong.status().message(),
            absl::StrCat("smtp://", address, ": greeting: timed out after 700ms"));
  EXPECT_LT(took, absl::Seconds(3));
}

TEST_F(SmtpProbeTest, ImplicitTlsAgainstAStartTlsPortFailsTheHandshake) {
  auto peer = StartPeer("smtp", "");
  const std::string address = absl::StrCat("127.0.0.1:", peer->port());
  auto r = agent::ProbeSmtpTlsChain(address, "localhost", false, absl::Seconds(20));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              StartsWith(absl::StrCat("smtp://", address, ": TLS handshake (sni localhost): ")));
  EXPECT_TRUE(peer->Received().empty());
}

TEST_F(SmtpProbeTest, ServerWithoutStartTlsIsAClearError) {
  auto peer = StartPeer("plain", "--plain");
  const std::string address = absl::StrCat("127.0.0.1:", peer->port());
  auto r = agent::ProbeSmtpTlsChain(address, "localhost", true, absl::Seconds(20));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_EQ(r.status().message(),
            absl::StrCat("smtp://", address, ": EHLO: server does not offer STARTTLS"));
  std::vector<std::string> commands = Commands(*peer);
  ASSERT_EQ(commands.size(), 1u) << absl::StrJoin(commands, "|");
  EXPECT_THAT(commands[0], StartsWith("EHLO "));
  EXPECT_TRUE(peer->Received().empty());
}

TEST_F(SmtpProbeTest, SilentPeerTimesOutWithinTheBound) {
  // Accepted by the kernel (listen backlog), never answered.
  int port = 0;
  int fd = Listen(&port);
  const std::string address = absl::StrCat("127.0.0.1:", port);
  for (bool starttls : {true, false}) {
    absl::Time start = absl::Now();
    auto r = agent::ProbeSmtpTlsChain(address, "localhost", starttls, absl::Milliseconds(500));
    absl::Duration took = absl::Now() - start;
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
    EXPECT_EQ(r.status().message(),
              absl::StrCat("smtp://", address, ": ",
                           starttls ? "greeting" : "TLS handshake (sni localhost)",
                           ": timed out after 500ms"));
    EXPECT_GE(took, absl::Milliseconds(450));
    EXPECT_LT(took, absl::Seconds(2));
  }
  close(fd);
}

TEST_F(SmtpProbeTest, SlowPeerCannotStretchTheBound) {
  // Every reply comes 250 ms late, each well within the 600 ms timeout: the
  // bound is the whole exchange, so the third reply is too late.
  ScriptedPeer peer(
      {"220 slow.example ESMTP\r\n", "250-slow.example\r\n250 STARTTLS\r\n", "220 go ahead\r\n"},
      absl::Milliseconds(250));
  absl::Time start = absl::Now();
  auto r = agent::ProbeSmtpTlsChain(peer.address(), "localhost", true, absl::Milliseconds(600));
  absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  EXPECT_EQ(r.status().message(),
            absl::StrCat("smtp://", peer.address(), ": STARTTLS: timed out after 600ms"));
  EXPECT_GE(took, absl::Milliseconds(550));
  EXPECT_LT(took, absl::Seconds(2));
}

TEST_F(SmtpProbeTest, HugeLineIsRefusedWithoutWaiting) {
  ScriptedPeer peer({std::string(1 << 20, 'A')});  // 1 MiB, no newline
  absl::Time start = absl::Now();
  auto r = agent::ProbeSmtpTlsChain(peer.address(), "localhost", true, absl::Seconds(10));
  absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), absl::StrCat("smtp://", peer.address(),
                                               ": greeting: reply line longer than 4096 bytes"));
  EXPECT_LT(took, absl::Seconds(3));
}

TEST_F(SmtpProbeTest, EndlessReplyIsRefusedWithoutWaiting) {
  std::string endless;
  for (int i = 0; i < 20000; ++i) endless += "220-still greeting you\r\n";
  ScriptedPeer peer({endless});
  absl::Time start = absl::Now();
  auto r = agent::ProbeSmtpTlsChain(peer.address(), "localhost", true, absl::Seconds(10));
  absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            absl::StrCat("smtp://", peer.address(), ": greeting: reply longer than 100 lines"));
  EXPECT_LT(took, absl::Seconds(3));
  EXPECT_TRUE(peer.lines().empty()) << "nothing may be sent before the greeting ends";
}

TEST_F(SmtpProbeTest, GarbageIsNotAnSmtpReply) {
  ScriptedPeer peer({"HTTP/1.1 400 Bad Request\r\n\x01\x02\r\n"});
  auto r = agent::ProbeSmtpTlsChain(peer.address(), "localhost", true, absl::Seconds(10));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            absl::StrCat("smtp://", peer.address(),
                         ": greeting: not an SMTP reply: \"HTTP/1.1 400 Bad Request\""));
}

TEST_F(SmtpProbeTest, RefusalsNameTheStepAndTheReply) {
  {
    ScriptedPeer peer({"554 5.3.2 no service here\r\n"});
    auto r = agent::ProbeSmtpTlsChain(peer.address(), "localhost", true, absl::Seconds(10));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(),
              absl::StrCat("smtp://", peer.address(), ": greeting: 554 5.3.2 no service here"));
    EXPECT_TRUE(peer.lines().empty());
  }
  {
    ScriptedPeer peer({"220-mail.example ESMTP\r\n220 hello\r\n", "554 5.7.1 go away\r\n"});
    auto r = agent::ProbeSmtpTlsChain(peer.address(), "localhost", true, absl::Seconds(10));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(),
              absl::StrCat("smtp://", peer.address(), ": EHLO: 554 5.7.1 go away"));
    std::vector<std::string> lines = peer.lines();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_THAT(lines[0], StartsWith("EHLO "));
  }
  {
    ScriptedPeer peer({"220 mail.example ESMTP\r\n",
                       "250-mail.example\r\n250-SIZE 100\r\n250 starttls\r\n",
                       "454 4.7.0 TLS not available\r\n"});
    auto r = agent::ProbeSmtpTlsChain(peer.address(), "localhost", true, absl::Seconds(10));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(),
              absl::StrCat("smtp://", peer.address(), ": STARTTLS: 454 4.7.0 TLS not available"));
    EXPECT_THAT(peer.lines(), ::testing::ElementsAre(StartsWith("EHLO "), "STARTTLS"));
  }
  {
    // Bytes after the 220 to STARTTLS arrived before any TLS: refused.
    ScriptedPeer peer({"220 mail.example ESMTP\r\n", "250-mail.example\r\n250 STARTTLS\r\n",
                       "220 go ahead\r\n250 injected\r\n"});
    auto r = agent::ProbeSmtpTlsChain(peer.address(), "localhost", true, absl::Seconds(10));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), absl::StrCat("smtp://", peer.address(),
                                                 ": STARTTLS: the server sent data after its "
                                                 "220 reply"));
  }
}

TEST_F(SmtpProbeTest, ConnectionRefusedNamesTheAddress) {
  int port = 0;
  close(Listen(&port));
  const std::string address = absl::StrCat("127.0.0.1:", port);
  auto r = agent::ProbeSmtpTlsChain(address, "localhost", true, absl::Seconds(5));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            absl::StrCat("smtp://", address, ": connect: Connection refused"));

  // No port is implied for SMTP.
  r = agent::ProbeSmtpTlsChain("mail.example", "mail.example", true, absl::Seconds(5));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "address mail.example: expected host:port");
}

}  // namespace
}  // namespace preflight
