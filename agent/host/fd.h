// File descriptors for the host layer: one owner that closes, and one wait
// with a deadline, shared by the file reads (rooted_host_env.cc), the TLS
// probe (tls_probe.cc) and the Docker Engine API client (docker_api.cc).
#ifndef PREFLIGHT_AGENT_HOST_FD_H_
#define PREFLIGHT_AGENT_HOST_FD_H_

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace preflight::agent {

// Owns a descriptor (-1: none) and closes it.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  // Closes the one held and holds `fd`.
  void Reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }
  // Gives the descriptor up without closing it.
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// Waits for `events` on fd until `deadline`: 1 ready, 0 timed out, -1 error
// (errno set).
inline int WaitFd(int fd, short events, absl::Time deadline) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return 0;
    const int ms =
        static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1 << 30));
    pollfd p = {fd, events, 0};
    const int r = poll(&p, 1, ms);
    if (r > 0) return 1;
    if (r == 0) continue;  // the loop re-checks the deadline
    if (errno != EINTR) return -1;
  }
}

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_HOST_FD_H_
