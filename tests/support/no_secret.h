// The byte scan of what leaves the host, shared by the application fact
// tests: a planted secret must appear neither in the serialized report (the
// wire) nor in its text form (what logs and goldens show).
#ifndef PREFLIGHT_TESTS_SUPPORT_NO_SECRET_H_
#define PREFLIGHT_TESTS_SUPPORT_NO_SECRET_H_

#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"

namespace preflight::testing {

// `m` in protobuf text format.
inline std::string Text(const google::protobuf::Message& m) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(m, &text);
  return text;
}

// No `secrets` (each non-empty) in `report`, serialized or as text.
inline void ExpectNoSecret(const google::protobuf::Message& report,
                           const std::vector<std::string>& secrets) {
  const std::string wire = report.SerializeAsString();
  const std::string text = Text(report);
  for (const std::string& secret : secrets) {
    ASSERT_FALSE(secret.empty());
    EXPECT_FALSE(absl::StrContains(wire, secret)) << secret << " in the serialized report";
    EXPECT_FALSE(absl::StrContains(text, secret)) << secret << " in:\n" << text;
  }
}

}  // namespace preflight::testing

#endif  // PREFLIGHT_TESTS_SUPPORT_NO_SECRET_H_
