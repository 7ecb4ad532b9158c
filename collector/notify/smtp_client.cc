#include "collector/notify/smtp_client.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "collector/notify/connection.h"
#include "proto/wire/status.h"
#include "proto/wire/textproto.h"

namespace preflight::collector::notify {
namespace {

struct Reply {
  int code = 0;
  std::vector<std::string> lines;  // the text after each code
  std::string Text() const { return absl::StrJoin(lines, " / "); }
};

// One reply, multi-line ("250-...") included.
absl::StatusOr<Reply> ReadReply(Connection& c) {
  Reply r;
  for (;;) {
    ASSIGN_OR_RETURN(std::string line, c.ReadLine());
    int code = 0;
    if (line.size() < 3 || !absl::SimpleAtoi(line.substr(0, 3), &code)) {
      return absl::DataLossError(absl::StrCat(c.peer(), " is not speaking SMTP: \"",
                                              absl::CEscape(line.substr(0, 80)), "\""));
    }
    r.code = code;
    r.lines.push_back(line.size() > 4 ? line.substr(4) : "");
    if (line.size() < 4 || line[3] != '-') return r;
  }
}

// Sends `command` (without CRLF) and reads the reply; an error unless its
// code is `want`. `shown` is what an error says was sent (never a secret).
absl::StatusOr<Reply> Command(Connection& c, absl::string_view command, int want,
                              absl::string_view shown) {
  RETURN_IF_ERROR(c.Write(absl::StrCat(command, "\r\n")));
  ASSIGN_OR_RETURN(Reply r, ReadReply(c));
  if (r.code != want) {
    // 4xx: try again later; 5xx: refused. Both are retried by the notifier.
    return absl::UnavailableError(absl::StrCat("SMTP ", c.peer(), ": ", shown, ": ", r.code, " ",
                                               r.Text(), " (expected ", want, ")"));
  }
  return r;
}

std::string Base64(absl::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool Advertises(const Reply& ehlo, absl::string_view keyword) {
  for (const std::string& l : ehlo.lines) {
    if (absl::StartsWithIgnoreCase(l, keyword)) return true;
  }
  return false;
}

bool AuthOffers(const Reply& ehlo, absl::string_view mechanism) {
  for (const std::string& l : ehlo.lines) {
    if (!absl::StartsWithIgnoreCase(l, "AUTH")) continue;
    for (absl::string_view m : absl::StrSplit(l, absl::ByAnyChar(" ="), absl::SkipEmpty())) {
      if (absl::EqualsIgnoreCase(m, mechanism)) return true;
    }
  }
  return false;
}

// Printable ASCII only: a header must not be split or smuggle another.
std::string HeaderSafe(absl::string_view s) {
  std::string out;
  for (char ch : s) out.push_back(ch >= 0x20 && ch < 0x7f ? ch : '?');
  return out;
}

}  // namespace

SmtpClient::SmtpClient(v1::SmtpChannel config, absl::Duration timeout)
    : config_(std::move(config)), timeout_(timeout) {}

absl::Status SmtpClient::Validate(const v1::SmtpChannel& c) {
  if (c.host().empty()) return absl::InvalidArgumentError("notifications.smtp.host is empty");
  if (c.port() > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("notifications.smtp.port ", c.port(), " > 65535"));
  }
  if (c.from().empty()) return absl::InvalidArgumentError("notifications.smtp.from is empty");
  if (c.to().empty()) return absl::InvalidArgumentError("notifications.smtp.to lists nobody");
  for (absl::string_view a :
       absl::StrSplit(absl::StrCat(c.from(), ",", absl::StrJoin(c.to(), ",")), ',')) {
    if (a.find_first_of("<>\r\n ") != std::string::npos || a.find('@') == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("notifications.smtp: \"", absl::CEscape(a), "\" is not an address"));
    }
  }
  if (!c.user().empty() && c.password_file().empty()) {
    return absl::InvalidArgumentError("notifications.smtp.user is set but password_file is not");
  }
  return absl::OkStatus();
}

std::string SmtpClient::Format(const MailMessage& m, absl::Time date) const {
  std::string out;
  absl::StrAppend(&out, "Message-ID: <", HeaderSafe(m.id), "@preflight>\r\n");
  absl::StrAppend(&out, "X-Preflight-Message-Id: ", HeaderSafe(m.id), "\r\n");
  absl::StrAppend(
      &out, "Date: ", absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", date, absl::UTCTimeZone()),
      "\r\n");
  absl::StrAppend(&out, "From: ", config_.from(), "\r\n");
  absl::StrAppend(&out, "To: ", absl::StrJoin(config_.to(), ", "), "\r\n");
  absl::StrAppend(&out, "Subject: ", HeaderSafe(m.subject), "\r\n");
  absl::StrAppend(&out, "MIME-Version: 1.0\r\n");
  absl::StrAppend(&out, "Content-Type: text/plain; charset=utf-8\r\n");
  absl::StrAppend(&out, "Content-Transfer-Encoding: 8bit\r\n\r\n");
  for (absl::string_view line : absl::StrSplit(m.body, '\n')) {
    absl::ConsumeSuffix(&line, "\r");
    absl::StrAppend(&out, line, "\r\n");
  }
  return out;
}

absl::Status SmtpClient::Send(const MailMessage& m, absl::Time date) const {
  RETURN_IF_ERROR(Validate(config_));
  std::string password;
  if (!config_.user().empty()) {
    auto read = ReadFileToString(config_.password_file(), 4096);
    if (!read.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("notifications.smtp.password_file ", config_.password_file(),
                       ": cannot read it (", absl::StatusCodeToString(read.status().code()), ")"));
    }
    password = std::string(absl::StripTrailingAsciiWhitespace(*read));
  }
  const uint16_t port = static_cast<uint16_t>(config_.port() == 0 ? 587 : config_.port());
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> c, Connection::Open(config_.host(), port, timeout_));
  ASSIGN_OR_RETURN(Reply greeting, ReadReply(*c));
  if (greeting.code != 220) {
    return absl::UnavailableError(
        absl::StrCat("SMTP ", c->peer(), ": greeting ", greeting.code, " ", greeting.Text()));
  }
  char name[256] = "localhost";
  gethostname(name, sizeof(name) - 1);
  const std::string ehlo_cmd = absl::StrCat("EHLO ", HeaderSafe(name));
  ASSIGN_OR_RETURN(Reply ehlo, Command(*c, ehlo_cmd, 250, "EHLO"));
  if (Advertises(ehlo, "STARTTLS")) {
    RETURN_IF_ERROR(Command(*c, "STARTTLS", 220, "STARTTLS").status());
    RETURN_IF_ERROR(c->StartTls(config_.host(), config_.ca_file()));
    ASSIGN_OR_RETURN(ehlo, Command(*c, ehlo_cmd, 250, "EHLO after STARTTLS"));
  } else if (!config_.allow_plaintext()) {
    return absl::FailedPreconditionError(
        absl::StrCat("SMTP ", c->peer(),
                     " does not offer STARTTLS and notifications.smtp.allow_plaintext is false: "
                     "nothing sent"));
  }
  if (!config_.user().empty()) {
    if (AuthOffers(ehlo, "PLAIN")) {
      const std::string token = Base64(
          absl::StrCat(std::string(1, '\0'), config_.user(), std::string(1, '\0'), password));
      RETURN_IF_ERROR(Command(*c, absl::StrCat("AUTH PLAIN ", token), 235,
                              absl::StrCat("AUTH PLAIN as ", config_.user()))
                          .status());
    } else if (AuthOffers(ehlo, "LOGIN")) {
      RETURN_IF_ERROR(Command(*c, "AUTH LOGIN", 334, "AUTH LOGIN").status());
      RETURN_IF_ERROR(
          Command(*c, Base64(config_.user()), 334, absl::StrCat("AUTH LOGIN user ", config_.user()))
              .status());
      RETURN_IF_ERROR(Command(*c, Base64(password), 235,
                              absl::StrCat("AUTH LOGIN password of ", config_.user()))
                          .status());
    } else {
      return absl::FailedPreconditionError(absl::StrCat(
          "SMTP ", c->peer(), " offers neither AUTH PLAIN nor AUTH LOGIN",
          c->tls() ? "" : " (before TLS)", " but notifications.smtp.user is set: nothing sent"));
    }
  }
  RETURN_IF_ERROR(
      Command(*c, absl::StrCat("MAIL FROM:<", config_.from(), ">"), 250, "MAIL FROM").status());
  for (const std::string& to : config_.to()) {
    RETURN_IF_ERROR(
        Command(*c, absl::StrCat("RCPT TO:<", to, ">"), 250, absl::StrCat("RCPT TO ", to))
            .status());
  }
  RETURN_IF_ERROR(Command(*c, "DATA", 354, "DATA").status());
  std::string data;
  for (absl::string_view line : absl::StrSplit(Format(m, date), "\r\n")) {
    if (absl::StartsWith(line, ".")) data.push_back('.');  // dot-stuffing (RFC 5321 4.5.2)
    absl::StrAppend(&data, line, "\r\n");
  }
  // Format ends with CRLF, so the split's last piece is empty: drop its CRLF.
  data.resize(data.size() - 2);
  RETURN_IF_ERROR(Command(*c, absl::StrCat(data, "."), 250, "end of DATA").status());
  // The message is accepted; a failed QUIT changes nothing.
  (void)Command(*c, "QUIT", 221, "QUIT");
  return absl::OkStatus();
}

}  // namespace preflight::collector::notify
