// Host files may hold any bytes; protobuf string fields must be valid UTF-8
// or the report cannot be parsed back (by the spool or the collector).
#ifndef PREFLIGHT_AGENT_FACTS_UTF8_H_
#define PREFLIGHT_AGENT_FACTS_UTF8_H_

#include <google/protobuf/message.h>

#include <string>

#include "absl/strings/string_view.h"

namespace preflight::agent {

// `s` with every byte that is not part of a valid UTF-8 sequence replaced by
// U+FFFD.
std::string ToValidUtf8(absl::string_view s);

// Applies ToValidUtf8 to every string field of `message`, recursively.
// Returns the number of fields changed.
int SanitizeUtf8(google::protobuf::Message& message);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_UTF8_H_
