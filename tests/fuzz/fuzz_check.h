// Invariant checks for fuzz targets: a violated contract aborts, so the
// fuzzer reports it like a crash and the replay test fails on it.
#ifndef PREFLIGHT_TESTS_FUZZ_FUZZ_CHECK_H_
#define PREFLIGHT_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define PREFLIGHT_FUZZ_CHECK(cond)                                                           \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

#endif  // PREFLIGHT_TESTS_FUZZ_FUZZ_CHECK_H_
