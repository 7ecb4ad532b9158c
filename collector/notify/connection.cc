#include "collector/notify/connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "proto/wire/status.h"

namespace preflight::collector::notify {
namespace {

absl::Status TimedOut(absl::string_view what, const std::string& peer, absl::Duration timeout) {
  return absl::DeadlineExceededError(
      absl::StrCat(what, " ", peer, ": no answer within ", absl::FormatDuration(timeout)));
}

bool IsAddress(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& host, uint16_t port,
                                                             absl::Duration timeout) {
  const std::string peer = absl::StrCat(host, ":", port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = absl::StrCat(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError(absl::StrCat("resolve ", host, ": ", gai_strerror(rc)));
  }
  absl::Status last = absl::UnavailableError(absl::StrCat("connect ", peer, ": no address"));
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      last = ErrnoToStatus(errno, absl::StrCat("socket for ", peer));
      continue;
    }
    std::unique_ptr<Connection> c(new Connection(fd, peer, timeout));
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = ErrnoToStatus(errno, absl::StrCat("connect ", peer));
        continue;
      }
      absl::Status waited = c->Wait(true, absl::Now() + timeout);
      if (!waited.ok()) {
        last = TimedOut("connect", peer, timeout);
        continue;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last = ErrnoToStatus(err, absl::StrCat("connect ", peer));
        continue;
      }
    }
    freeaddrinfo(found);
    return c;
  }
  freeaddrinfo(found);
  return last;
}

Connection::~Connection() {
  if (ssl_ != nullptr) SSL_shutdown(ssl_.get());
  ssl_.reset();
  if (fd_ >= 0) close(fd_);
}

absl::Status Connection::Wait(bool for_write, absl::Time deadline) {
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return TimedOut("talk to", peer_, timeout_);
    pollfd p{fd_, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    int rc = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (rc > 0) return absl::OkStatus();
    if (rc < 0 && errno != EINTR) return ErrnoToStatus(errno, absl::StrCat("poll ", peer_));
  }
}

absl::Status Connection::StartTls(const std::string& name, const std::string& ca_file) {
  ctx_.reset(SSL_CTX_new(TLS_client_method()));
  if (ctx_ == nullptr) return absl::InternalError("TLS: " + DrainOpenSslErrors());
  SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
  const int loaded = ca_file.empty()
                         ? SSL_CTX_set_default_verify_paths(ctx_.get())
                         : SSL_CTX_load_verify_locations(ctx_.get(), ca_file.c_str(), nullptr);
  if (loaded != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("TLS: cannot load ", ca_file.empty() ? "the system CA store" : ca_file, ": ",
                     DrainOpenSslErrors()));
  }
  ssl_.reset(SSL_new(ctx_.get()));
  if (ssl_ == nullptr) return absl::InternalError("TLS: " + DrainOpenSslErrors());
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_.get());
  if (IsAddress(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    SSL_set_tlsext_host_name(ssl_.get(), name.c_str());
  }
  SSL_set_fd(ssl_.get(), fd_);
  const absl::Time deadline = absl::Now() + timeout_;
  for (;;) {
    ERR_clear_error();
    int rc = SSL_connect(ssl_.get());
    if (rc == 1) break;
    int err = SSL_get_error(ssl_.get(), rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      RETURN_IF_ERROR(Wait(err == SSL_ERROR_WANT_WRITE, deadline));
      continue;
    }
    std::string why = DrainOpenSslErrors();
    long verify = SSL_get_verify_result(ssl_.get());
    if (verify != X509_V_OK) {
      absl::StrAppend(&why, why.empty() ? "" : ": ", X509_verify_cert_error_string(verify));
    }
    ssl_.reset();
    return absl::UnavailableError(absl::StrCat("TLS with ", peer_, " as ", name, ": ",
                                               why.empty() ? "handshake failed" : why));
  }
  return absl::OkStatus();
}

absl::Status Connection::Write(absl::string_view data) {
  const absl::Time deadline = absl::Now() + timeout_;
  while (!data.empty()) {
    if (ssl_ != nullptr) {
      ERR_clear_error();
      int rc = SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size()));
      if (rc > 0) {
        data.remove_prefix(static_cast<size_t>(rc));
        continue;
      }
      int err = SSL_get_error(ssl_.get(), rc);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        RETURN_IF_ERROR(Wait(err == SSL_ERROR_WANT_WRITE, deadline));
        continue;
      }
      return absl::UnavailableError(
          absl::StrCat("write to ", peer_, ": TLS: ", DrainOpenSslErrors()));
    }
    ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      RETURN_IF_ERROR(Wait(true, deadline));
    } else {
      return ErrnoToStatus(errno, absl::StrCat("write to ", peer_));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> Connection::Fill() {
  const absl::Time deadline = absl::Now() + timeout_;
  char chunk[4096];
  for (;;) {
    if (ssl_ != nullptr) {
      ERR_clear_error();
      int rc = SSL_read(ssl_.get(), chunk, sizeof(chunk));
      if (rc > 0) {
        buf_.append(chunk, static_cast<size_t>(rc));
        return static_cast<size_t>(rc);
      }
      int err = SSL_get_error(ssl_.get(), rc);
      if (err == SSL_ERROR_ZERO_RETURN) return 0;
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        RETURN_IF_ERROR(Wait(err == SSL_ERROR_WANT_WRITE, deadline));
        continue;
      }
      // A peer that closes without close_notify (common for HTTP servers
      // after Connection: close) ends the stream all the same.
      if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_SSL) {
        std::string why = DrainOpenSslErrors();
        if (why.empty() || why.find("unexpected eof") != std::string::npos) return 0;
        return absl::UnavailableError(absl::StrCat("read from ", peer_, ": TLS: ", why));
      }
      return absl::UnavailableError(absl::StrCat("read from ", peer_, ": TLS error ", err));
    }
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n >= 0) {
      buf_.append(chunk, static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
    if (errno == EAGAIN || errno == EINTR) {
      RETURN_IF_ERROR(Wait(false, deadline));
      continue;
    }
    return ErrnoToStatus(errno, absl::StrCat("read from ", peer_));
  }
}

absl::StatusOr<std::string> Connection::ReadLine(size_t max) {
  for (;;) {
    size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (buf_.size() > max) {
      return absl::DataLossError(absl::StrCat(peer_, " sent a line longer than ", max, " bytes"));
    }
    ASSIGN_OR_RETURN(size_t n, Fill());
    if (n == 0) {
      return absl::UnavailableError(absl::StrCat(peer_, " closed the connection"));
    }
  }
}

absl::StatusOr<std::string> Connection::ReadToEnd(size_t max) {
  for (;;) {
    if (buf_.size() >= max) break;
    ASSIGN_OR_RETURN(size_t n, Fill());
    if (n == 0) break;
  }
  std::string out = std::move(buf_);
  buf_.clear();
  if (out.size() > max) out.resize(max);
  return out;
}

}  // namespace preflight::collector::notify
