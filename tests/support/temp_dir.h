// Temporary directories and file helpers for tests.
#ifndef PREFLIGHT_TESTS_SUPPORT_TEMP_DIR_H_
#define PREFLIGHT_TESTS_SUPPORT_TEMP_DIR_H_

#include <sys/types.h>

#include <string>

#include "absl/strings/string_view.h"

namespace preflight::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on
// destruction unless PREFLIGHT_KEEP_TEST_DIRS is set.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + relative.
  std::string Join(absl::string_view relative) const;

 private:
  std::string path_;
};

// Writes a file, creating parent directories. Aborts the test on failure.
void WriteFile(const std::string& path, absl::string_view content, mode_t mode = 0644);
// Reads a whole file; "" if it cannot be read.
std::string ReadFile(const std::string& path);
// mkdir -p.
void MakeDirs(const std::string& path);
// cp -a src dst (dst must not exist).
void CopyTree(const std::string& src, const std::string& dst);

}  // namespace preflight::testing

#endif  // PREFLIGHT_TESTS_SUPPORT_TEMP_DIR_H_
