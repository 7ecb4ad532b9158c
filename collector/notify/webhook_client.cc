#include "collector/notify/webhook_client.h"

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "collector/notify/connection.h"
#include "proto/wire/json_quote.h"
#include "proto/wire/status.h"

namespace preflight::collector::notify {
namespace {

// "HTTP/1.1 200 OK" -> 200.
absl::StatusOr<int> StatusCode(const std::string& line, const std::string& peer) {
  int code = 0;
  if (!absl::StartsWith(line, "HTTP/1.") || line.size() < 12 ||
      !absl::SimpleAtoi(line.substr(9, 3), &code)) {
    return absl::DataLossError(absl::StrCat(peer, " answered without an HTTP status line: \"",
                                            absl::CEscape(line.substr(0, 80)), "\""));
  }
  return code;
}

}  // namespace

absl::StatusOr<Url> ParseUrl(absl::string_view url, bool proxy, absl::string_view field) {
  Url u;
  absl::string_view rest = url;
  const absl::string_view want = proxy ? "http://" : "https://";
  if (!absl::ConsumePrefix(&rest, want)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must start with ", want));  // never the URL: its path is a secret
  }
  u.scheme = std::string(want.substr(0, want.size() - 3));
  size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  u.path = slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": user info in the URL is not supported"));
  }
  if (u.path.find_first_of(" \r\n") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": the path has spaces or line ends"));
  }
  absl::string_view host = authority;
  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {  // [v6]:port
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": unclosed ["));
    }
    host = authority.substr(1, close - 1);
    absl::string_view after = authority.substr(close + 1);
    if (absl::ConsumePrefix(&after, ":")) port = after;
  } else if (size_t colon = authority.rfind(':'); colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": no host"));
  u.host = std::string(host);
  if (port.empty()) {
    u.port = proxy ? 3128 : 443;
  } else {
    uint32_t p = 0;
    if (!absl::SimpleAtoi(port, &p) || p == 0 || p > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": bad port \"", port, "\""));
    }
    u.port = static_cast<uint16_t>(p);
  }
  return u;
}

std::string SlackJson(absl::string_view text) {
  std::string out = "{\"text\":";
  wire::AppendJsonQuoted(out, text);
  out += "}";
  return out;
}

WebhookClient::WebhookClient(v1::WebhookChannel config, std::string https_proxy,
                             absl::Duration timeout)
    : config_(std::move(config)), proxy_(std::move(https_proxy)), timeout_(timeout) {}

absl::Status WebhookClient::Validate(const v1::WebhookChannel& config,
                                     const std::string& https_proxy) {
  if (config.name().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("notifications.webhook (", config.url(), "): name is empty"));
  }
  RETURN_IF_ERROR(
      ParseUrl(config.url(), false, absl::StrCat("notifications.webhook ", config.name(), ": url"))
          .status());
  if (!https_proxy.empty()) {
    RETURN_IF_ERROR(ParseUrl(https_proxy, true, "notifications.https_proxy").status());
  }
  return absl::OkStatus();
}

absl::Status WebhookClient::Send(absl::string_view message_id, absl::string_view text) const {
  RETURN_IF_ERROR(Validate(config_, proxy_));
  ASSIGN_OR_RETURN(Url url, ParseUrl(config_.url(), false, "url"));
  const std::string authority = absl::StrCat(
      url.host.find(':') != std::string::npos ? absl::StrCat("[", url.host, "]") : url.host, ":",
      url.port);
  std::unique_ptr<Connection> c;
  if (proxy_.empty()) {
    ASSIGN_OR_RETURN(c, Connection::Open(url.host, url.port, timeout_));
  } else {
    ASSIGN_OR_RETURN(Url proxy, ParseUrl(proxy_, true, "https_proxy"));
    ASSIGN_OR_RETURN(c, Connection::Open(proxy.host, proxy.port, timeout_));
    RETURN_IF_ERROR(c->Write(
        absl::StrCat("CONNECT ", authority, " HTTP/1.1\r\nHost: ", authority, "\r\n\r\n")));
    ASSIGN_OR_RETURN(std::string status_line, c->ReadLine());
    ASSIGN_OR_RETURN(int code, StatusCode(status_line, c->peer()));
    for (;;) {  // the proxy's headers, up to the blank line
      ASSIGN_OR_RETURN(std::string header, c->ReadLine());
      if (header.empty()) break;
    }
    if (code != 200) {
      return absl::UnavailableError(
          absl::StrCat("proxy ", c->peer(), " refused CONNECT ", authority, ": ", status_line));
    }
  }
  RETURN_IF_ERROR(c->StartTls(url.host, config_.ca_file()));
  const std::string body = SlackJson(text);
  const std::string id(message_id);
  std::string request =
      absl::StrCat("POST ", url.path, " HTTP/1.1\r\nHost: ", url.port == 443 ? url.host : authority,
                   "\r\nUser-Agent: preflight-collector\r\nContent-Type: application/json\r\n"
                   "Idempotency-Key: ",
                   id, "\r\nX-Preflight-Message-Id: ", id, "\r\nContent-Length: ", body.size(),
                   "\r\nConnection: close\r\n\r\n", body);
  RETURN_IF_ERROR(c->Write(request));
  ASSIGN_OR_RETURN(std::string status_line, c->ReadLine());
  ASSIGN_OR_RETURN(int code, StatusCode(status_line, c->peer()));
  if (code < 200 || code > 299) {
    auto rest = c->ReadToEnd(4096);
    std::string answer = rest.ok() ? *rest : "";
    size_t blank = answer.find("\r\n\r\n");
    answer = blank == std::string::npos ? "" : answer.substr(blank + 4, 200);
    return absl::UnavailableError(absl::StrCat("webhook ", config_.name(), " (", c->peer(),
                                               "): ", status_line, answer.empty() ? "" : ": ",
                                               absl::CEscape(answer)));
  }
  return absl::OkStatus();
}

}  // namespace preflight::collector::notify
