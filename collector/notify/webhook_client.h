// Posts one Slack-compatible message ({"text": "..."}) to an HTTPS webhook
// (WebhookChannel in config.proto): HTTP/1.1 over TLS, the server verified
// against ca_file or the system store and its name against the URL's host,
// directly or through an HTTP proxy's CONNECT tunnel (https_proxy,
// "http://proxy:3128"; TLS is end to end, the proxy sees only the host and
// port). The message id goes in Idempotency-Key and X-Preflight-Message-Id,
// so a receiver can recognise a resend. Every step has a deadline.
#ifndef PREFLIGHT_COLLECTOR_NOTIFY_WEBHOOK_CLIENT_H_
#define PREFLIGHT_COLLECTOR_NOTIFY_WEBHOOK_CLIENT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "preflight/v1/config.pb.h"

namespace preflight::collector::notify {

// scheme://host[:port][/path], split.
struct Url {
  std::string scheme, host, path;
  uint16_t port = 0;
};
// Accepts https:// (or, for `proxy`, http://) URLs without user info;
// `field` names the setting in errors.
absl::StatusOr<Url> ParseUrl(absl::string_view url, bool proxy, absl::string_view field);

// {"text": "..."} with the text escaped for JSON.
std::string SlackJson(absl::string_view text);

class WebhookClient {
 public:
  WebhookClient(v1::WebhookChannel config, std::string https_proxy,
                absl::Duration timeout = absl::Seconds(30));

  // The URL, the proxy and the name, each naming the field when wrong.
  static absl::Status Validate(const v1::WebhookChannel& config, const std::string& https_proxy);

  // POSTs `text` with `message_id`. OK on a 2xx answer; an error names the
  // status and the start of the answer's body.
  absl::Status Send(absl::string_view message_id, absl::string_view text) const;

 private:
  v1::WebhookChannel config_;
  std::string proxy_;
  absl::Duration timeout_;
};

}  // namespace preflight::collector::notify

#endif  // PREFLIGHT_COLLECTOR_NOTIFY_WEBHOOK_CLIENT_H_
