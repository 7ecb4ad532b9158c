// Loading configuration written in protobuf text format, with errors that name
// the file, line and column.
#ifndef PREFLIGHT_PROTO_WIRE_TEXTPROTO_H_
#define PREFLIGHT_PROTO_WIRE_TEXTPROTO_H_

#include <google/protobuf/message.h>

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace preflight {

// Reads a whole file (up to max_bytes) into a string.
absl::StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes = 16 << 20);

// Parses `content` into `message`. On error the status message is
// "<name>:<line>:<column>: <what>" (1-based), one line per error.
absl::Status ParseTextProto(absl::string_view content, absl::string_view name,
                            google::protobuf::Message* message);

// ReadFileToString + ParseTextProto.
absl::Status LoadTextProtoFile(const std::string& path, google::protobuf::Message* message);

// Where each field of a parsed message was written: "staleness_seconds",
// "hosts[3].environment", "override[0].set.tls_hostnames[1]" ->
// "<name>:<line>:<column>". A repeated field's key without an index names its
// first element. Only fields present in the text have keys.
using TextLocations = std::map<std::string, std::string>;

// ParseTextProto that also records locations (prefixed with `prefix`, e.g.
// "policy." for a message nested in another file); `locations` may be null.
absl::Status ParseTextProtoWithLocations(absl::string_view content, absl::string_view name,
                                         google::protobuf::Message* message,
                                         TextLocations* locations, absl::string_view prefix = "");
absl::Status LoadTextProtoFileWithLocations(const std::string& path,
                                            google::protobuf::Message* message,
                                            TextLocations* locations);

// `path` made absolute relative to the directory of `relative_to` (a file).
// Absolute paths and empty strings are returned unchanged.
std::string ResolveRelativeTo(const std::string& path, const std::string& relative_to);

}  // namespace preflight

#endif  // PREFLIGHT_PROTO_WIRE_TEXTPROTO_H_
