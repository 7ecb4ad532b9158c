#include "collector/service/listener.h"

#include <dirent.h>
#include <grpc/support/log.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace preflight::collector {
namespace {

absl::Mutex failure_mu;
std::optional<std::string> failure ABSL_GUARDED_BY(failure_mu);

const char* SeverityName(gpr_log_severity s) {
  switch (s) {
    case GPR_LOG_SEVERITY_DEBUG:
      return "D";
    case GPR_LOG_SEVERITY_INFO:
      return "I";
    case GPR_LOG_SEVERITY_ERROR:
      return "E";
  }
  return "?";
}

// gRPC logs a line per event (e.g. per handshake that timed out): a flood of
// idle sockets must not flood the log. Each source line of gRPC's is printed
// at most kLinesPerMinute times a minute; the next one printed says how many
// were held back.
constexpr int kLinesPerMinute = 5;
struct LineCount {
  int64_t minute = 0;
  int printed = 0;
  int64_t held_back = 0;
};
absl::Mutex lines_mu;
absl::flat_hash_map<std::string, LineCount>* lines ABSL_GUARDED_BY(lines_mu) =
    new absl::flat_hash_map<std::string, LineCount>();

void LogHook(gpr_log_func_args* args) {
  const char* message = args->message != nullptr ? args->message : "";
  const char* file = args->file != nullptr ? args->file : "?";
  if (absl::StrContains(message, "Failed accept4")) {
    absl::MutexLock lock(&failure_mu);
    failure = message;
  }
  int64_t held_back = 0;
  {
    absl::MutexLock lock(&lines_mu);
    const int64_t minute = absl::ToUnixSeconds(absl::Now()) / 60;
    if (lines->size() > 10'000) lines->clear();
    LineCount& c = (*lines)[absl::StrCat(file, ":", args->line)];
    if (c.minute != minute) {
      c.minute = minute;
      c.printed = 0;
    }
    if (c.printed >= kLinesPerMinute) {
      ++c.held_back;
      return;
    }
    ++c.printed;
    held_back = c.held_back;
    c.held_back = 0;
  }
  std::fprintf(
      stderr, "%s grpc %s:%d] %s%s\n", SeverityName(args->severity), file, args->line, message,
      held_back > 0 ? absl::StrCat(" (", held_back, " more like it before, not printed)").c_str()
                    : "");
}

}  // namespace

void InstallGrpcLogHook() { gpr_set_log_function(&LogHook); }

std::optional<std::string> TakeListenerFailure() {
  absl::MutexLock lock(&failure_mu);
  std::optional<std::string> out = std::move(failure);
  failure.reset();
  return out;
}

std::string RaiseDescriptorLimit() {
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return absl::StrCat("cannot read RLIMIT_NOFILE: ", std::strerror(errno));
  }
  const rlim_t before = lim.rlim_cur;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
      return absl::StrCat("descriptors: cannot raise the limit from ", before, " to ", lim.rlim_max,
                          ": ", std::strerror(errno));
    }
  }
  return absl::StrCat("descriptors: limit ", lim.rlim_cur,
                      before != lim.rlim_cur ? absl::StrCat(" (raised from ", before, ")") : "",
                      lim.rlim_cur < 4096 ? "; low for a fleet: set LimitNOFILE" : "");
}

int OpenDescriptors() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int n = 0;
  while (readdir(dir) != nullptr) ++n;
  closedir(dir);
  return n - 3;  // ".", ".." and the directory's own descriptor
}

int DescriptorLimit() {
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return -1;
  return static_cast<int>(lim.rlim_cur);
}

}  // namespace preflight::collector
