// Parsing JSON output of the programs under test, via protobuf's Struct.
#ifndef PREFLIGHT_TESTS_SUPPORT_JSON_H_
#define PREFLIGHT_TESTS_SUPPORT_JSON_H_

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <string>

namespace preflight::testing {

// Parses a JSON document; fails the test (and returns null) when invalid.
inline google::protobuf::Value ParseJson(const std::string& text) {
  google::protobuf::Value value;
  auto status = google::protobuf::util::JsonStringToMessage(text, &value);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << text;
  return value;
}

inline const google::protobuf::Value& Field(const google::protobuf::Value& object,
                                            const std::string& key) {
  static const google::protobuf::Value kNull;
  const auto& fields = object.struct_value().fields();
  auto it = fields.find(key);
  EXPECT_NE(it, fields.end()) << "no key '" << key << "'";
  return it == fields.end() ? kNull : it->second;
}

// The element of `array` whose `key` is the string `value`, or null.
inline const google::protobuf::Value* FindBy(const google::protobuf::Value& array,
                                             const std::string& key, const std::string& value) {
  for (const auto& v : array.list_value().values()) {
    auto it = v.struct_value().fields().find(key);
    if (it != v.struct_value().fields().end() && it->second.string_value() == value) return &v;
  }
  return nullptr;
}

}  // namespace preflight::testing

#endif  // PREFLIGHT_TESTS_SUPPORT_JSON_H_
