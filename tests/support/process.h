// Real child processes for end-to-end tests.
#ifndef PREFLIGHT_TESTS_SUPPORT_PROCESS_H_
#define PREFLIGHT_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace preflight::testing {

struct RunResult {
  int exit_code = -1;  // 128+N when killed by signal N; -1 on timeout
  std::string out;
  std::string err;
};

// Runs argv to completion (killed after `timeout`), capturing its output.
// `env` entries are added to the inherited environment.
RunResult RunProcess(const std::vector<std::string>& argv, absl::Duration timeout,
                     const std::map<std::string, std::string>& env = {});

// A background child whose stdout and stderr go to files.
class Process {
 public:
  static std::unique_ptr<Process> Start(const std::vector<std::string>& argv,
                                        const std::string& stdout_path,
                                        const std::string& stderr_path);
  ~Process();  // SIGKILLs a still-running child

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // Exit code (128+N for signal N), or -1 if it did not end within timeout.
  int Wait(absl::Duration timeout);
  bool running();

 private:
  explicit Process(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;
};

// Polls `done` every 20 ms until it is true or the timeout passes.
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout);

}  // namespace preflight::testing

#endif  // PREFLIGHT_TESTS_SUPPORT_PROCESS_H_
