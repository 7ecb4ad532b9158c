// A TLS client handshake that returns what the server presents, directly or
// after an SMTP STARTTLS exchange.
#ifndef PREFLIGHT_AGENT_HOST_TLS_PROBE_H_
#define PREFLIGHT_AGENT_HOST_TLS_PROBE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace preflight::agent {

// Connects to `address` ("host:port", IPv4, [IPv6] or a name), performs a TLS
// handshake with SNI `sni` (none when empty) without verifying anything, and
// returns the presented chain as PEM, leaf first. Errors name the address.
absl::StatusOr<std::vector<std::string>> ProbeTlsChain(const std::string& address,
                                                       const std::string& sni,
                                                       absl::Duration timeout);

// The same handshake with the SMTP server at `address` ("host:port": no port
// is implied). With `starttls`: reads the 220 greeting, sends EHLO, checks
// that STARTTLS is offered, sends STARTTLS and expects 220; without it the
// handshake comes at once (port 465). After the handshake it sends QUIT
// (best effort, within the timeout); it never authenticates and never sends
// MAIL, RCPT or DATA. Every reply line is capped (4 KiB, 100 lines per
// reply) and the whole exchange ends by `timeout`. Errors name the address
// and the step: "smtp://mail.example:587: EHLO: 554 go away".
absl::StatusOr<std::vector<std::string>> ProbeSmtpTlsChain(const std::string& address,
                                                           const std::string& sni, bool starttls,
                                                           absl::Duration timeout);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_HOST_TLS_PROBE_H_
