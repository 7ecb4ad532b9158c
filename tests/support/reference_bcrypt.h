// A bcrypt hash made by python3-bcrypt (OpenBSD's bcrypt, not the agent's
// libxcrypt): the independent reference the default-password tests compare
// the agent's verdicts with.
#ifndef PREFLIGHT_TESTS_SUPPORT_REFERENCE_BCRYPT_H_
#define PREFLIGHT_TESTS_SUPPORT_REFERENCE_BCRYPT_H_

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/strip.h"
#include "tests/support/process.h"

namespace preflight::testing {

// bcrypt of `password` with prefix "2a" (bcryptjs's) or "2b" and `rounds`.
inline std::string ReferenceBcrypt(const std::string& password, const std::string& prefix,
                                   int rounds = 10) {
  RunResult r = RunProcess(
      {"/usr/bin/python3", "-c",
       "import bcrypt, sys\n"
       "print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(rounds=int(sys.argv[3]), "
       "prefix=sys.argv[2].encode())).decode())",
       password, prefix, std::to_string(rounds)},
      absl::Seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.err << " (python3-bcrypt: deploy/install-deps.sh installs it)";
  return std::string(absl::StripAsciiWhitespace(r.out));
}

}  // namespace preflight::testing

#endif  // PREFLIGHT_TESTS_SUPPORT_REFERENCE_BCRYPT_H_
