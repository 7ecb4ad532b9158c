// A minimal streaming JSON writer: keys in the order written, strings escaped
// per RFC 8259. Enough for preflightctl's stable output; no parsing.
#ifndef PREFLIGHT_COLLECTOR_CLI_JSON_WRITER_H_
#define PREFLIGHT_COLLECTOR_CLI_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace preflight::cli {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(absl::string_view key);
  JsonWriter& String(absl::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  // The document, pretty-printed with two-space indentation and a final
  // newline.
  std::string Finish();

 private:
  void BeforeValue();
  JsonWriter& Close(char bracket);
  void Newline();
  std::string out_;
  // Per open container: whether it has an element yet.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

// `s` as a quoted JSON string (wire::JsonQuoted: always valid UTF-8).
std::string JsonQuote(absl::string_view s);

}  // namespace preflight::cli

#endif  // PREFLIGHT_COLLECTOR_CLI_JSON_WRITER_H_
