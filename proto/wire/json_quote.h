// The one JSON string quoter, shared by preflightctl's JSON output, the
// events file for Elasticsearch and the webhook body.
#ifndef PREFLIGHT_PROTO_WIRE_JSON_QUOTE_H_
#define PREFLIGHT_PROTO_WIRE_JSON_QUOTE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace preflight::wire {

// Appends `s` as a JSON string (RFC 8259) to `out`, quotes included.
// Escaped: '"', '\\', the C0 controls, DEL and the C1 controls (U+0080..
// U+009F: legal in JSON but they act on a terminal — U+009B is CSI — that
// shows the output). A byte that starts no well-formed UTF-8 character
// (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF) becomes
// U+FFFD, so the result is always valid UTF-8: Elasticsearch refuses a
// document that is not, and host content (file names, masked lines) may be
// any bytes.
void AppendJsonQuoted(std::string& out, absl::string_view s);

// AppendJsonQuoted into a new string.
std::string JsonQuoted(absl::string_view s);

}  // namespace preflight::wire

#endif  // PREFLIGHT_PROTO_WIRE_JSON_QUOTE_H_
