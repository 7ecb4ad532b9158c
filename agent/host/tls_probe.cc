#include "agent/host/tls_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "agent/host/fd.h"
#include "proto/wire/openssl_ptr.h"
#include "proto/wire/status.h"

namespace preflight::agent {
namespace {

struct AddrinfoFree {
  void operator()(addrinfo* p) const { freeaddrinfo(p); }
};

// Blocks SIGPIPE in this thread while alive (OpenSSL writes with write(2), and
// a peer that hangs up must not kill the agent), then discards any SIGPIPE
// raised meanwhile and restores the mask.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe, &old_);
  }
  ~ScopedSigpipeBlock() {
    if (!was_pending_) {
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      timespec zero = {0, 0};
      while (sigtimedwait(&pipe, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t old_;
  bool was_pending_ = false;
};

// Splits "host:port", "[v6]:port", "host" and a bare IPv6 literal (the last
// two take `default_port`, and are refused when it is empty).
absl::Status SplitAddress(const std::string& address, const std::string& default_port,
                          std::string* host, std::string* port) {
  if (address.empty()) return absl::InvalidArgumentError("empty TLS probe address");
  if (address[0] == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("address ", address, ": missing ']'"));
    }
    *host = address.substr(1, close - 1);
    absl::string_view rest = absl::string_view(address).substr(close + 1);
    if (rest.empty()) {
      *port = default_port;
    } else if (rest[0] == ':' && rest.size() > 1) {
      *port = std::string(rest.substr(1));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("address ", address, ": expected [host]:port"));
    }
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string::npos) {
      *host = address;
      *port = default_port;
    } else if (address.find(':') != colon) {
      *host = address;  // a bare IPv6 literal
      *port = default_port;
    } else {
      *host = address.substr(0, colon);
      *port = address.substr(colon + 1);
    }
  }
  uint32_t port_number = 0;
  if (host->empty() || port->empty() || !absl::SimpleAtoi(*port, &port_number) ||
      port_number == 0 || port_number > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("address ", address, ": expected host:port"));
  }
  return absl::OkStatus();
}

int RemainingMs(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1 << 30));
}

// Connects a non-blocking socket to one resolved address.
absl::Status ConnectOne(const addrinfo& ai, absl::Time deadline, UniqueFd& sock) {
  int fd = socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol);
  if (fd < 0) return absl::UnavailableError(strerror(errno));
  sock.Reset(fd);
  if (connect(fd, ai.ai_addr, ai.ai_addrlen) == 0) return absl::OkStatus();
  if (errno != EINPROGRESS) return absl::UnavailableError(strerror(errno));
  int ready = WaitFd(fd, POLLOUT, deadline);
  if (ready == 0) return absl::DeadlineExceededError("timed out");
  if (ready < 0) return absl::UnavailableError(strerror(errno));
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) return absl::UnavailableError(strerror(err));
  return absl::OkStatus();
}

bool IsIpLiteral(const std::string& s) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, s.c_str(), &a4) == 1 || inet_pton(AF_INET6, s.c_str(), &a6) == 1;
}

// The state shared with a resolver thread, which may outlive the caller.
struct Resolution {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool abandoned = false;
  int gai = 0;
  int sys_errno = 0;
  addrinfo* result = nullptr;
};

// Names a failed step for the error message: the caller decides how the
// address and the step read together ("connect 10.0.0.1:443" for a TLS
// probe, "smtp://mail.example:587: EHLO" for an SMTP one).
using StepNamer = std::function<std::string(absl::string_view step)>;

constexpr absl::string_view kResolveStep = "resolve";
constexpr absl::string_view kConnectStep = "connect";
constexpr absl::string_view kHandshakeStep = "TLS handshake";

// One probe's connection: a non-blocking TCP socket, then optionally TLS
// over it, every operation bounded by one deadline. Reads and writes go
// through the TLS session once Handshake() succeeded, straight to the socket
// before. Not thread-safe; lives on the caller's stack.
class ProbeConnection {
 public:
  ProbeConnection(const std::string& address, absl::Duration timeout, StepNamer name)
      : address_(address),
        deadline_(absl::Now() + timeout),
        timeout_text_(absl::FormatDuration(timeout)),
        name_(std::move(name)) {}

  // Resolves `address` ("host:port"; `default_port` when it has none, and
  // an error when that is empty too) and connects to the first address that
  // answers.
  absl::Status Connect(const std::string& default_port) {
    std::string host, port;
    if (absl::Status s = SplitAddress(address_, default_port, &host, &port); !s.ok()) return s;
    auto addrs = Resolve(host, port);
    if (!addrs.ok()) return addrs.status();
    absl::Status connected = absl::UnavailableError("no address");
    for (const addrinfo* ai = addrs->get(); ai != nullptr; ai = ai->ai_next) {
      connected = ConnectOne(*ai, deadline_, sock_);
      if (connected.ok() || absl::IsDeadlineExceeded(connected)) break;
    }
    if (absl::IsDeadlineExceeded(connected)) return TimedOut(kConnectStep);
    if (!connected.ok()) return Failed(kConnectStep, connected.message());
    return absl::OkStatus();
  }

  // A TLS client handshake over the connected socket, SNI `sni` (none when
  // empty or an IP literal), verifying nothing: the caller judges the chain.
  absl::Status Handshake(const std::string& sni) {
    ERR_clear_error();
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    if (ctx_ == nullptr) return Internal(kHandshakeStep, DrainOpenSslErrors());
    // Observe whatever the server presents: no verification, nothing refused
    // for being old or weak (the check judges the certificate, not this probe).
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_security_level(ctx_.get(), 0);
    SSL_CTX_set_options(ctx_.get(), SSL_OP_LEGACY_SERVER_CONNECT);
    ssl_.reset(SSL_new(ctx_.get()));
    if (ssl_ == nullptr || SSL_set_fd(ssl_.get(), sock_.get()) != 1) {
      ssl_.reset();
      return Internal(kHandshakeStep, DrainOpenSslErrors());
    }
    if (!sni.empty() && !IsIpLiteral(sni) &&
        SSL_set_tlsext_host_name(ssl_.get(), sni.c_str()) != 1) {
      ssl_.reset();
      return absl::InvalidArgumentError(
          absl::StrCat(name_(kHandshakeStep), ": invalid server name: ", DrainOpenSslErrors()));
    }
    while (true) {
      ERR_clear_error();
      errno = 0;
      int r = SSL_connect(ssl_.get());
      if (r == 1) break;
      if (absl::Status s = WaitForSsl(r, kHandshakeStep); !s.ok()) {
        ssl_.reset();
        return s;
      }
    }
    handshaken_ = true;
    return absl::OkStatus();
  }

  // The chain the server presented in Handshake(), as PEM, leaf first.
  absl::StatusOr<std::vector<std::string>> PeerChain() {
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl_.get());
    std::vector<std::string> pems;
    for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
      BioPtr bio(BIO_new(BIO_s_mem()));
      if (bio == nullptr || PEM_write_bio_X509(bio.get(), sk_X509_value(chain, i)) != 1) {
        return Internal(kHandshakeStep, absl::StrCat("cannot encode certificate ", i));
      }
      pems.push_back(MemoryBioContents(bio.get()));
    }
    if (pems.empty()) return Failed(kHandshakeStep, "the server presented no certificate");
    return pems;
  }

  // Reads what is available, at most `n` bytes, waiting until the deadline:
  // the count, or 0 when the server closed the connection.
  absl::StatusOr<size_t> Read(char* buf, size_t n, absl::string_view step) {
    while (true) {
      if (handshaken_) {
        ERR_clear_error();
        errno = 0;
        size_t got = 0;
        int r = SSL_read_ex(ssl_.get(), buf, n, &got);
        if (r == 1) return got;
        int err = SSL_get_error(ssl_.get(), r);
        if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0)) return 0;
        if (absl::Status s = WaitForSsl(r, step); !s.ok()) return s;
        continue;
      }
      ssize_t r = recv(sock_.get(), buf, n, 0);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return Failed(step, strerror(errno));
      if (absl::Status s = Wait(POLLIN, step); !s.ok()) return s;
    }
  }

  // Writes all of `data` before the deadline.
  absl::Status Write(absl::string_view data, absl::string_view step) {
    while (!data.empty()) {
      if (handshaken_) {
        ERR_clear_error();
        errno = 0;
        size_t put = 0;
        int r = SSL_write_ex(ssl_.get(), data.data(), data.size(), &put);
        if (r == 1) {
          data.remove_prefix(put);
          continue;
        }
        if (absl::Status s = WaitForSsl(r, step); !s.ok()) return s;
        continue;
      }
      ssize_t r = send(sock_.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (r >= 0) {
        data.remove_prefix(static_cast<size_t>(r));
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return Failed(step, strerror(errno));
      if (absl::Status s = Wait(POLLOUT, step); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // Brings the deadline forward (never later than the probe's own).
  void LimitDeadline(absl::Time at) { deadline_ = std::min(deadline_, at); }

  // A best-effort close_notify; never waits.
  void Shutdown() {
    if (handshaken_) SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }

  absl::Status Failed(absl::string_view step, absl::string_view why) const {
    return absl::UnavailableError(absl::StrCat(name_(step), ": ", why));
  }
  absl::Status TimedOut(absl::string_view step) const {
    return absl::DeadlineExceededError(
        absl::StrCat(name_(step), ": timed out after ", timeout_text_));
  }

 private:
  absl::Status Internal(absl::string_view step, absl::string_view why) const {
    return absl::InternalError(absl::StrCat(name_(step), ": ", why));
  }

  absl::Status Wait(short events, absl::string_view step) {
    int ready = WaitFd(sock_.get(), events, deadline_);
    if (ready == 0) return TimedOut(step);
    if (ready < 0) return Failed(step, strerror(errno));
    return absl::OkStatus();
  }

  // After an OpenSSL call on ssl_ returned `r` (not success): waits for the
  // socket when OpenSSL wants it, or returns the failure.
  absl::Status WaitForSsl(int r, absl::string_view step) {
    int saved_errno = errno;
    int err = SSL_get_error(ssl_.get(), r);
    if (err == SSL_ERROR_WANT_READ) return Wait(POLLIN, step);
    if (err == SSL_ERROR_WANT_WRITE) return Wait(POLLOUT, step);
    std::string reason = DrainOpenSslErrors();
    if (reason.empty()) {
      if (err == SSL_ERROR_SYSCALL && saved_errno != 0) {
        reason = strerror(saved_errno);
      } else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN) {
        reason = "connection closed by the server";
      } else {
        reason = absl::StrCat("SSL error ", err);
      }
    }
    return Failed(step, reason);
  }

  absl::StatusOr<std::unique_ptr<addrinfo, AddrinfoFree>> Resolve(const std::string& host,
                                                                  const std::string& port);

  const std::string address_;
  absl::Time deadline_;
  const std::string timeout_text_;
  const StepNamer name_;
  // OpenSSL writes with write(2): a peer that hangs up must not kill the agent.
  ScopedSigpipeBlock no_sigpipe_;
  UniqueFd sock_;
  SslCtxPtr ctx_;
  SslPtr ssl_;  // declared after sock_: freed before the socket closes
  bool handshaken_ = false;
};

// getaddrinfo bounded by the deadline: IP literals resolve at once; a name is
// resolved on a helper thread so that a slow DNS server cannot hold the probe
// past its timeout (the thread finishes, and frees its result, on its own).
absl::StatusOr<std::unique_ptr<addrinfo, AddrinfoFree>> ProbeConnection::Resolve(
    const std::string& host, const std::string& port) {
  addrinfo hints;
  std::memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  auto fail = [&](int gai, int sys_errno) {
    return Failed(kResolveStep, gai == EAI_SYSTEM ? strerror(sys_errno) : gai_strerror(gai));
  };
  if (IsIpLiteral(host)) {
    hints.ai_flags |= AI_NUMERICHOST;
    addrinfo* found = nullptr;
    int gai = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (gai != 0) return fail(gai, errno);
    return std::unique_ptr<addrinfo, AddrinfoFree>(found);
  }
  auto state = std::make_shared<Resolution>();
  std::thread([state, host, port, hints] {
    addrinfo* found = nullptr;
    int gai = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    int sys_errno = errno;
    std::lock_guard<std::mutex> lock(state->mu);
    if (state->abandoned) {
      if (found != nullptr) freeaddrinfo(found);
      return;
    }
    state->gai = gai;
    state->sys_errno = sys_errno;
    state->result = found;
    state->done = true;
    state->cv.notify_all();
  }).detach();
  std::unique_lock<std::mutex> lock(state->mu);
  while (!state->done) {
    int ms = RemainingMs(deadline_);
    if (ms == 0) {
      state->abandoned = true;
      return TimedOut(kResolveStep);
    }
    state->cv.wait_for(lock, std::chrono::milliseconds(ms));
  }
  if (state->gai != 0) return fail(state->gai, state->sys_errno);
  return std::unique_ptr<addrinfo, AddrinfoFree>(std::exchange(state->result, nullptr));
}

// --- SMTP ------------------------------------------------------------------

// A hostile or broken server must not make the probe hang or grow: one reply
// line is at most this long (RFC 5321 allows 512), one reply at most this
// many lines (an EHLO reply lists a dozen extensions).
constexpr size_t kMaxSmtpLine = 4096;
constexpr int kMaxSmtpLines = 100;
// QUIT and the implicit-TLS greeting are courtesy: they get at most this
// long (within the probe's timeout) and their failure is not the probe's.
constexpr absl::Duration kSmtpCourtesy = absl::Seconds(2);

struct SmtpReply {
  int code = 0;
  std::vector<std::string> lines;  // the text after "ddd-" / "ddd "
};

// Server text quoted in an error: printable ASCII only, at most 200 bytes.
std::string Quote(absl::string_view text) {
  std::string out;
  for (char c : text.substr(0, 200)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (text.size() > 200) out += "...";
  return out;
}

std::string ReplyText(const SmtpReply& reply) {
  return Quote(absl::StrCat(reply.code, " ", reply.lines.empty() ? "" : reply.lines.front()));
}

// Reads one reply ("250-first", ..., "250 last"); bytes read beyond it stay
// in `pending` for the next one.
absl::StatusOr<SmtpReply> ReadReply(ProbeConnection& conn, std::string& pending,
                                    absl::string_view step) {
  SmtpReply reply;
  while (true) {
    size_t eol = pending.find('\n');
    if (eol == std::string::npos) {
      if (pending.size() > kMaxSmtpLine) {
        return conn.Failed(step, absl::StrCat("reply line longer than ", kMaxSmtpLine, " bytes"));
      }
      char buf[kMaxSmtpLine];
      ASSIGN_OR_RETURN(size_t got, conn.Read(buf, sizeof(buf), step));
      if (got == 0) {
        return conn.Failed(step, pending.empty() && reply.lines.empty()
                                     ? "connection closed by the server"
                                     : "connection closed by the server mid-reply");
      }
      pending.append(buf, got);
      continue;
    }
    if (eol > kMaxSmtpLine) {
      return conn.Failed(step, absl::StrCat("reply line longer than ", kMaxSmtpLine, " bytes"));
    }
    std::string line = pending.substr(0, eol);
    pending.erase(0, eol + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    int code = 0;
    bool digits = line.size() >= 3 && absl::ascii_isdigit(line[0]) &&
                  absl::ascii_isdigit(line[1]) && absl::ascii_isdigit(line[2]);
    if (!digits || !absl::SimpleAtoi(absl::string_view(line).substr(0, 3), &code) ||
        (line.size() > 3 && line[3] != '-' && line[3] != ' ') ||
        (!reply.lines.empty() && code != reply.code)) {
      return conn.Failed(step, absl::StrCat("not an SMTP reply: \"", Quote(line), "\""));
    }
    reply.code = code;
    reply.lines.push_back(line.size() > 4 ? line.substr(4) : "");
    if (line.size() <= 3 || line[3] == ' ') return reply;
    if (static_cast<int>(reply.lines.size()) >= kMaxSmtpLines) {
      return conn.Failed(step, absl::StrCat("reply longer than ", kMaxSmtpLines, " lines"));
    }
  }
}

// Sends `command` (without CRLF) and reads the reply; an error unless its
// code is `expect`. The step in errors is the command's verb.
absl::StatusOr<SmtpReply> Exchange(ProbeConnection& conn, std::string& pending,
                                   absl::string_view command, absl::string_view step, int expect) {
  RETURN_IF_ERROR(conn.Write(absl::StrCat(command, "\r\n"), step));
  ASSIGN_OR_RETURN(SmtpReply reply, ReadReply(conn, pending, step));
  if (reply.code != expect) return conn.Failed(step, ReplyText(reply));
  return reply;
}

// This host's name for EHLO: the kernel's host name when it reads as a
// domain, else "localhost". No DNS lookup for a canonical name (it could
// stall the probe); servers only log the name, none refuses STARTTLS over it.
std::string EhloName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  std::string out(name);
  if (out.empty() || out.size() > 253) return "localhost";
  for (char c : out) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '-') return "localhost";
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ProbeTlsChain(const std::string& address,
                                                       const std::string& sni,
                                                       absl::Duration timeout) {
  const std::string sni_text = sni.empty() ? "none" : sni;
  ProbeConnection conn(address, timeout, [&](absl::string_view step) {
    if (step == kHandshakeStep) {
      return absl::StrCat("TLS handshake with ", address, " (sni ", sni_text, ")");
    }
    return absl::StrCat(step, " ", address);
  });
  RETURN_IF_ERROR(conn.Connect("443"));
  RETURN_IF_ERROR(conn.Handshake(sni));
  auto chain = conn.PeerChain();
  conn.Shutdown();
  return chain;
}

absl::StatusOr<std::vector<std::string>> ProbeSmtpTlsChain(const std::string& address,
                                                           const std::string& sni, bool starttls,
                                                           absl::Duration timeout) {
  const std::string sni_text = sni.empty() ? "none" : sni;
  ProbeConnection conn(address, timeout, [&](absl::string_view step) {
    if (step == kHandshakeStep) {
      return absl::StrCat("smtp://", address, ": TLS handshake (sni ", sni_text, ")");
    }
    return absl::StrCat("smtp://", address, ": ", step);
  });
  RETURN_IF_ERROR(conn.Connect(""));  // an SMTP port is never implied
  std::string pending;
  if (starttls) {
    ASSIGN_OR_RETURN(SmtpReply greeting, ReadReply(conn, pending, "greeting"));
    if (greeting.code != 220) return conn.Failed("greeting", ReplyText(greeting));
    ASSIGN_OR_RETURN(SmtpReply ehlo,
                     Exchange(conn, pending, absl::StrCat("EHLO ", EhloName()), "EHLO", 250));
    bool offered = false;
    for (size_t i = 1; i < ehlo.lines.size(); ++i) {
      absl::string_view keyword =
          absl::string_view(ehlo.lines[i])
              .substr(0, std::min(ehlo.lines[i].find(' '), ehlo.lines[i].size()));
      offered = offered || absl::EqualsIgnoreCase(keyword, "STARTTLS");
    }
    if (!offered) return conn.Failed("EHLO", "server does not offer STARTTLS");
    RETURN_IF_ERROR(Exchange(conn, pending, "STARTTLS", "STARTTLS", 220).status());
    // Nothing may follow the 220 in clear text: bytes that did were sent
    // before the handshake and must not be read as if protected by it.
    if (!pending.empty()) {
      return conn.Failed("STARTTLS", "the server sent data after its 220 reply");
    }
  }
  RETURN_IF_ERROR(conn.Handshake(sni));
  ASSIGN_OR_RETURN(std::vector<std::string> chain, conn.PeerChain());

  // The chain is what the probe is for; the rest is manners, bounded, and
  // its failure is not reported.
  conn.LimitDeadline(absl::Now() + kSmtpCourtesy);
  bool polite = true;
  if (!starttls) polite = ReadReply(conn, pending, "greeting").ok();
  if (polite) (void)Exchange(conn, pending, "QUIT", "QUIT", 221);
  conn.Shutdown();
  return chain;
}

}  // namespace preflight::agent
