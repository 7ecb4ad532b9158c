// A TCP connection for the notification clients (SMTP, webhooks): connect
// with a deadline, line and byte reads with a deadline, and an upgrade to TLS
// in place (STARTTLS, or after an HTTP CONNECT through a proxy) that verifies
// the server's certificate chain against a CA file or the system store and
// its name (DNS name or IP address) against the host connected to.
// Not thread-safe: one connection per send.
#ifndef PREFLIGHT_COLLECTOR_NOTIFY_CONNECTION_H_
#define PREFLIGHT_COLLECTOR_NOTIFY_CONNECTION_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/wire/openssl_ptr.h"

namespace preflight::collector::notify {

class Connection {
 public:
  // Connects to host:port (every address it resolves to, in turn). Every
  // later read or write must finish within `timeout` of its start.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& host, uint16_t port,
                                                          absl::Duration timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts TLS on the open connection and verifies the server as `name`
  // (an address is matched against the certificate's IP SANs) against
  // `ca_file` (empty: the system store). Fails with the verification's
  // reason: "certificate verify failed: ...".
  absl::Status StartTls(const std::string& name, const std::string& ca_file);
  bool tls() const { return ssl_ != nullptr; }

  absl::Status Write(absl::string_view data);
  // One line without its CRLF (or LF); at most `max` bytes.
  absl::StatusOr<std::string> ReadLine(size_t max = 8192);
  // Everything until the peer closes, at most `max` bytes (the rest ignored).
  absl::StatusOr<std::string> ReadToEnd(size_t max);

  // "host:port", for messages.
  const std::string& peer() const { return peer_; }

 private:
  Connection(int fd, std::string peer, absl::Duration timeout)
      : fd_(fd), peer_(std::move(peer)), timeout_(timeout) {}
  // Waits until fd_ is readable (or writable) or the deadline passes.
  absl::Status Wait(bool for_write, absl::Time deadline);
  // Reads some bytes into buf_; 0 at the end of the stream.
  absl::StatusOr<size_t> Fill();

  int fd_;
  std::string peer_;
  absl::Duration timeout_;
  SslCtxPtr ctx_;
  SslPtr ssl_;
  std::string buf_;  // read but not yet consumed
};

}  // namespace preflight::collector::notify

#endif  // PREFLIGHT_COLLECTOR_NOTIFY_CONNECTION_H_
