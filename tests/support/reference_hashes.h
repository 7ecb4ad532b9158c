// Password hashes made by independent implementations — bcrypt by
// python3-bcrypt (OpenBSD's, not the agent's libxcrypt), sha512 by Python's
// hashlib (not the agent's OpenSSL): the references the default-password
// tests compare the agent's verdicts with.
#ifndef PREFLIGHT_TESTS_SUPPORT_REFERENCE_HASHES_H_
#define PREFLIGHT_TESTS_SUPPORT_REFERENCE_HASHES_H_

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

// sha512 hex of salt || password (user-mgnt's generateOldHash before
// OpenCRVS v1.4).
inline std::string ReferenceSha512(const std::string& salt, const std::string& password) {
  RunResult r =
      RunProcess({"/usr/bin/python3", "-c",
                  "import hashlib, sys\n"
                  "print(hashlib.sha512(sys.argv[1].encode() + sys.argv[2].encode()).hexdigest())",
                  salt, password},
                 absl::Seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return std::string(absl::StripAsciiWhitespace(r.out));
}

}  // namespace preflight::testing

#endif  // PREFLIGHT_TESTS_SUPPORT_REFERENCE_HASHES_H_
