// Sends one e-mail through an SMTP server (SmtpChannel in config.proto), the
// way OpenCRVS sends its own alerts: STARTTLS before anything else (required
// unless allow_plaintext), the server's certificate verified against ca_file
// or the system store and its name against `host`, AUTH PLAIN or LOGIN when
// a user is set, with the password read from password_file at each send
// (never logged, never in an error message). Every step has a deadline.
#ifndef PREFLIGHT_COLLECTOR_NOTIFY_SMTP_CLIENT_H_
#define PREFLIGHT_COLLECTOR_NOTIFY_SMTP_CLIENT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "preflight/v1/config.pb.h"

namespace preflight::collector::notify {

struct MailMessage {
  // Stable across resends (the outbox's id): becomes Message-ID
  // <id@preflight> and X-Preflight-Message-Id.
  std::string id;
  std::string subject;  // one line; control characters are replaced
  std::string body;     // plain text, lines separated by \n
};

class SmtpClient {
 public:
  // Each connect, read or write must finish within `timeout`.
  explicit SmtpClient(v1::SmtpChannel config, absl::Duration timeout = absl::Seconds(30));

  // The configuration's mistakes (no host, no from, no recipient, a user
  // without password_file), each naming the field. OK means Send may work.
  static absl::Status Validate(const v1::SmtpChannel& config);

  // Sends `message` dated `date`. OK once the server accepted it (250 after
  // DATA). An error names the step and the server's reply.
  absl::Status Send(const MailMessage& message, absl::Time date) const;

  // The message as it goes after DATA (headers, body, CRLF line ends,
  // without dot-stuffing).
  std::string Format(const MailMessage& message, absl::Time date) const;

 private:
  v1::SmtpChannel config_;
  absl::Duration timeout_;
};

}  // namespace preflight::collector::notify

#endif  // PREFLIGHT_COLLECTOR_NOTIFY_SMTP_CLIENT_H_
