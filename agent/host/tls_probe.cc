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
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "proto/wire/openssl_ptr.h"
#include "proto/wire/status.h"

namespace preflight::agent {
namespace {

struct AddrinfoFree {
  void operator()(addrinfo* p) const { freeaddrinfo(p); }
};

class Socket {
 public:
  Socket() = default;
  ~Socket() { Reset(-1); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  void Reset(int fd) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }
  int get() const { return fd_; }

 private:
  int fd_ = -1;
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

// Splits "host:port", "[v6]:port", "host" (port 443) and a bare IPv6 literal.
absl::Status SplitAddress(const std::string& address, std::string* host, std::string* port) {
  if (address.empty()) return absl::InvalidArgumentError("empty TLS probe address");
  if (address[0] == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("address ", address, ": missing ']'"));
    }
    *host = address.substr(1, close - 1);
    absl::string_view rest = absl::string_view(address).substr(close + 1);
    if (rest.empty()) {
      *port = "443";
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
      *port = "443";
    } else if (address.find(':') != colon) {
      *host = address;  // a bare IPv6 literal
      *port = "443";
    } else {
      *host = address.substr(0, colon);
      *port = address.substr(colon + 1);
    }
  }
  uint32_t port_number = 0;
  if (host->empty() || !absl::SimpleAtoi(*port, &port_number) || port_number == 0 ||
      port_number > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("address ", address, ": expected host:port"));
  }
  return absl::OkStatus();
}

int RemainingMs(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1 << 30));
}

// Waits for `events` on fd until the deadline: 1 ready, 0 timed out, -1 error.
int WaitFd(int fd, short events, absl::Time deadline) {
  while (true) {
    int ms = RemainingMs(deadline);
    if (ms == 0) return 0;
    pollfd p = {fd, events, 0};
    int r = poll(&p, 1, ms);
    if (r > 0) return 1;
    if (r == 0) continue;  // loop re-checks the deadline
    if (errno != EINTR) return -1;
  }
}

// Connects a non-blocking socket to one resolved address.
absl::Status ConnectOne(const addrinfo& ai, absl::Time deadline, Socket& sock) {
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

// Every queued OpenSSL error, joined; "" when the queue is empty.
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

// getaddrinfo bounded by the deadline: IP literals resolve at once; a name is
// resolved on a helper thread so that a slow DNS server cannot hold the probe
// past its timeout (the thread finishes, and frees its result, on its own).
absl::StatusOr<std::unique_ptr<addrinfo, AddrinfoFree>> Resolve(const std::string& address,
                                                                const std::string& host,
                                                                const std::string& port,
                                                                absl::Time deadline,
                                                                const std::string& timeout_text) {
  addrinfo hints;
  std::memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  auto fail = [&](int gai, int sys_errno) {
    return absl::UnavailableError(absl::StrCat(
        "resolve ", address, ": ", gai == EAI_SYSTEM ? strerror(sys_errno) : gai_strerror(gai)));
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
    int ms = RemainingMs(deadline);
    if (ms == 0) {
      state->abandoned = true;
      return absl::DeadlineExceededError(
          absl::StrCat("resolve ", address, ": timed out after ", timeout_text));
    }
    state->cv.wait_for(lock, std::chrono::milliseconds(ms));
  }
  if (state->gai != 0) return fail(state->gai, state->sys_errno);
  return std::unique_ptr<addrinfo, AddrinfoFree>(std::exchange(state->result, nullptr));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ProbeTlsChain(const std::string& address,
                                                       const std::string& sni,
                                                       absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  const std::string timeout_text = absl::FormatDuration(timeout);
  std::string host, port;
  if (absl::Status s = SplitAddress(address, &host, &port); !s.ok()) return s;

  ASSIGN_OR_RETURN(auto addrs, Resolve(address, host, port, deadline, timeout_text));

  ScopedSigpipeBlock no_sigpipe;
  Socket sock;
  absl::Status connected = absl::UnavailableError("no address");
  for (const addrinfo* ai = addrs.get(); ai != nullptr; ai = ai->ai_next) {
    connected = ConnectOne(*ai, deadline, sock);
    if (connected.ok() || absl::IsDeadlineExceeded(connected)) break;
  }
  if (!connected.ok()) {
    std::string why(connected.message());
    if (absl::IsDeadlineExceeded(connected)) {
      return absl::DeadlineExceededError(
          absl::StrCat("connect ", address, ": timed out after ", timeout_text));
    }
    return absl::UnavailableError(absl::StrCat("connect ", address, ": ", why));
  }

  const std::string what =
      absl::StrCat("TLS handshake with ", address, " (sni ", sni.empty() ? "none" : sni, ")");
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) {
    return absl::InternalError(absl::StrCat(what, ": ", DrainOpenSslErrors()));
  }
  // Observe whatever the server presents: no verification, nothing refused
  // for being old or weak (the check judges the certificate, not this probe).
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_options(ctx.get(), SSL_OP_LEGACY_SERVER_CONNECT);
  SslPtr ssl(SSL_new(ctx.get()));
  if (ssl == nullptr || SSL_set_fd(ssl.get(), sock.get()) != 1) {
    return absl::InternalError(absl::StrCat(what, ": ", DrainOpenSslErrors()));
  }
  if (!sni.empty() && !IsIpLiteral(sni) && SSL_set_tlsext_host_name(ssl.get(), sni.c_str()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": invalid server name: ", DrainOpenSslErrors()));
  }

  while (true) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_connect(ssl.get());
    if (r == 1) break;
    int err = SSL_get_error(ssl.get(), r);
    int saved_errno = errno;
    short events = 0;
    if (err == SSL_ERROR_WANT_READ) {
      events = POLLIN;
    } else if (err == SSL_ERROR_WANT_WRITE) {
      events = POLLOUT;
    } else {
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
      return absl::UnavailableError(absl::StrCat(what, ": ", reason));
    }
    int ready = WaitFd(sock.get(), events, deadline);
    if (ready == 0) {
      return absl::DeadlineExceededError(absl::StrCat(what, ": timed out after ", timeout_text));
    }
    if (ready < 0) return absl::UnavailableError(absl::StrCat(what, ": ", strerror(errno)));
  }

  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl.get());
  std::vector<std::string> pems;
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (bio == nullptr || PEM_write_bio_X509(bio.get(), sk_X509_value(chain, i)) != 1) {
      return absl::InternalError(absl::StrCat(what, ": cannot encode certificate ", i));
    }
    pems.push_back(MemoryBioContents(bio.get()));
  }
  SSL_shutdown(ssl.get());  // best effort close_notify; never waits
  ERR_clear_error();
  if (pems.empty()) {
    return absl::UnavailableError(absl::StrCat(what, ": the server presented no certificate"));
  }
  return pems;
}

}  // namespace preflight::agent
