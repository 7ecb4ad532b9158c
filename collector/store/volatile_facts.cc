#include "collector/store/volatile_facts.h"

#include <algorithm>
#include <cmath>

#include "preflight/v1/facts.pb.h"

namespace preflight::collector {
namespace {

// Used percent as df (and the disks diff) computes it, rounded up: a change
// of a whole percent is a finding, bytes within it are not.
uint64_t UsedPercent(uint64_t used, uint64_t available) {
  const uint64_t total = used + available;
  if (total == 0) return 0;
  return (used * 100 + total - 1) / total;
}

void Disks(v1::DisksFact& f) {
  for (v1::Filesystem& fs : *f.mutable_filesystems()) {
    const uint64_t pct = UsedPercent(fs.used_bytes(), fs.available_bytes());
    fs.set_used_bytes(pct);
    fs.set_available_bytes(0);
    fs.set_inodes_free(fs.inodes() == 0
                           ? 0
                           : UsedPercent(fs.inodes() - std::min(fs.inodes(), fs.inodes_free()),
                                         std::min(fs.inodes(), fs.inodes_free())));
  }
}

void Logrotate(v1::LogrotateFact& f) {
  // Runs and rotations move these every day; whether they are recent is the
  // logs.rotation check's, on the latest facts.
  f.set_status_mtime_unix(0);
  f.set_last_rotation_unix(0);
  f.set_timer_last_trigger_unix(0);
  for (v1::LogFile& log : *f.mutable_logs()) {
    log.set_size_bytes(0);
    log.set_mtime_unix(0);
    log.set_last_rotated_unix(0);
    log.set_rotated_copies(0);
  }
}

void Time(v1::TimeFact& f) {
  const double ms = std::fabs(f.offset_seconds()) * 1000.0;
  double bucket = 0;
  if (ms >= kOffsetBucketMs) bucket = std::floor(std::log2(ms / kOffsetBucketMs)) + 1;
  f.set_offset_seconds(f.offset_seconds() < 0 ? -bucket : bucket);
}

void ShellHistory(v1::ShellHistoryFact& f) {
  for (v1::HistoryFile& h : *f.mutable_files()) {
    h.set_size_bytes(0);
    h.set_mtime_unix(0);
  }
}

void Sockets(v1::SocketsFact& f) {
  // The line in /proc/net/tcp moves with every connection; inode and pid
  // with every restart of the service.
  for (v1::ListeningSocket& s : *f.mutable_sockets()) {
    s.set_inode(0);
    s.set_pid(0);
    s.clear_source();
  }
}

}  // namespace

bool HasVolatileValues(absl::string_view kind) {
  return kind == "disks" || kind == "logrotate" || kind == "time" || kind == "shell_history" ||
         kind == "sockets";
}

void NormalizeVolatile(absl::string_view kind, google::protobuf::Message& fact) {
  if (kind == "disks") {
    if (auto* f = dynamic_cast<v1::DisksFact*>(&fact)) Disks(*f);
  } else if (kind == "logrotate") {
    if (auto* f = dynamic_cast<v1::LogrotateFact*>(&fact)) Logrotate(*f);
  } else if (kind == "time") {
    if (auto* f = dynamic_cast<v1::TimeFact*>(&fact)) Time(*f);
  } else if (kind == "shell_history") {
    if (auto* f = dynamic_cast<v1::ShellHistoryFact*>(&fact)) ShellHistory(*f);
  } else if (kind == "sockets") {
    if (auto* f = dynamic_cast<v1::SocketsFact*>(&fact)) Sockets(*f);
  }
}

}  // namespace preflight::collector
