#include "agent/spool/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "proto/wire/status.h"
#include "proto/wire/textproto.h"

namespace preflight::agent {
namespace {

absl::Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoToStatus(errno, absl::StrCat("mkdir ", path));
  }
  return absl::OkStatus();
}

absl::Status SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, absl::StrCat("open ", dir));
  int r = fsync(fd);
  int err = errno;
  close(fd);
  if (r != 0) return ErrnoToStatus(err, absl::StrCat("fsync ", dir));
  return absl::OkStatus();
}

std::string RandomInstance() {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 4; ++i) absl::StrAppend(&out, absl::StrFormat("%08x", rd()));
  return out;
}

bool ValidInstance(absl::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(c) || absl::ascii_isupper(c)) return false;
  }
  return true;
}

}  // namespace

absl::Status WriteFileDurably(const std::string& path, const std::string& data) {
  std::string tmp = absl::StrCat(path, ".tmp");
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoToStatus(errno, absl::StrCat("create ", tmp));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return ErrnoToStatus(err, absl::StrCat("write ", tmp));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    int err = errno;
    close(fd);
    unlink(tmp.c_str());
    return ErrnoToStatus(err, absl::StrCat("fsync ", tmp));
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return ErrnoToStatus(err, absl::StrCat("rename ", tmp));
  }
  size_t slash = path.rfind('/');
  return SyncDir(slash == std::string::npos ? "." : path.substr(0, slash + 1));
}

absl::StatusOr<std::unique_ptr<Spool>> Spool::Open(const std::string& dir, Limits limits) {
  if (dir.empty()) return absl::InvalidArgumentError("spool directory is empty");
  RETURN_IF_ERROR(MakeDir(dir));
  RETURN_IF_ERROR(MakeDir(absl::StrCat(dir, "/reports")));
  std::unique_ptr<Spool> spool(new Spool(dir, limits));
  absl::MutexLock lock(&spool->mu_);  // uncontended: no other thread has the spool yet

  std::string instance_path = absl::StrCat(dir, "/instance");
  auto instance = ReadFileToString(instance_path, 1024);
  if (instance.ok()) {
    spool->instance_ = std::string(absl::StripAsciiWhitespace(*instance));
    if (!ValidInstance(spool->instance_)) {
      return absl::DataLossError(absl::StrCat(instance_path,
                                              ": not 32 lower-case hex characters; move the spool "
                                              "aside to start a new agent instance"));
    }
  } else if (absl::IsNotFound(instance.status())) {
    spool->instance_ = RandomInstance();
    RETURN_IF_ERROR(WriteFileDurably(instance_path, spool->instance_ + "\n"));
  } else {
    return instance.status();
  }

  std::string seq_path = absl::StrCat(dir, "/sequence");
  auto seq = ReadFileToString(seq_path, 1024);
  if (seq.ok()) {
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*seq), &spool->last_sequence_)) {
      return absl::DataLossError(absl::StrCat(seq_path, ": not a number"));
    }
  } else if (absl::IsNotFound(seq.status())) {
    if (instance.ok()) {
      // The counter is gone but the instance is not: numbers already acked
      // under this instance could be reused and dropped as duplicates. Start
      // a new instance instead (reports still pending keep their own).
      std::fprintf(stderr,
                   "preflight-agent: %s is missing; starting a new agent instance so no "
                   "sequence number is reused\n",
                   seq_path.c_str());
      spool->instance_ = RandomInstance();
      RETURN_IF_ERROR(WriteFileDurably(instance_path, spool->instance_ + "\n"));
    }
  } else {
    return seq.status();
  }

  std::string reports = absl::StrCat(dir, "/reports");
  DIR* d = opendir(reports.c_str());
  if (d == nullptr) return ErrnoToStatus(errno, absl::StrCat("opendir ", reports));
  while (struct dirent* e = readdir(d)) {
    absl::string_view name = e->d_name;
    if (!absl::ConsumeSuffix(&name, ".pb")) continue;
    uint64_t s = 0;
    if (!absl::SimpleAtoi(name, &s)) continue;
    struct stat st;
    std::string path = absl::StrCat(reports, "/", e->d_name);
    if (stat(path.c_str(), &st) != 0) continue;
    spool->pending_[s] = static_cast<uint64_t>(st.st_size);
    spool->pending_bytes_ += static_cast<uint64_t>(st.st_size);
    // A sequence file lost in a crash must never let a number be reused.
    if (s > spool->last_sequence_) spool->last_sequence_ = s;
  }
  closedir(d);
  return spool;
}

std::string Spool::ReportPath(uint64_t sequence) const {
  return absl::StrFormat("%s/reports/%020d.pb", dir_, sequence);
}

absl::StatusOr<uint64_t> Spool::Append(v1::FactReport& report) {
  absl::MutexLock lock(&mu_);
  uint64_t sequence = last_sequence_ + 1;
  // The counter is persisted before the report, so a crash between the two
  // at worst skips a number, never reuses one.
  RETURN_IF_ERROR(WriteFileDurably(absl::StrCat(dir_, "/sequence"), absl::StrCat(sequence, "\n")));
  last_sequence_ = sequence;
  report.set_agent_instance(instance_);
  report.set_sequence(sequence);
  std::string data;
  if (!report.SerializeToString(&data)) return absl::InternalError("cannot serialize report");
  RETURN_IF_ERROR(WriteFileDurably(ReportPath(sequence), data));
  pending_[sequence] = data.size();
  pending_bytes_ += data.size();
  while (pending_.size() > 1 &&
         (pending_.size() > limits_.max_reports || pending_bytes_ > limits_.max_bytes)) {
    uint64_t oldest = pending_.begin()->first;
    RETURN_IF_ERROR(Remove(oldest));
    ++dropped_;
    std::fprintf(stderr, "preflight-agent: spool full, dropped unsent report %llu\n",
                 static_cast<unsigned long long>(oldest));
  }
  return sequence;
}

std::vector<uint64_t> Spool::Pending() const {
  absl::MutexLock lock(&mu_);
  std::vector<uint64_t> out;
  out.reserve(pending_.size());
  for (const auto& [s, bytes] : pending_) out.push_back(s);
  return out;
}

absl::StatusOr<v1::FactReport> Spool::Load(uint64_t sequence) {
  std::string path;
  {
    absl::MutexLock lock(&mu_);
    if (!pending_.contains(sequence)) {
      return absl::NotFoundError(absl::StrCat("report ", sequence, " is not pending"));
    }
    path = ReportPath(sequence);
  }
  auto data = ReadFileToString(path, 1ull << 30);
  if (!data.ok()) return data.status();
  v1::FactReport report;
  // A report keeps the instance it was spooled under (the instance changes
  // only when the sequence file is lost); sequence numbers stay unique in
  // the spool either way.
  if (!report.ParseFromString(*data) || report.sequence() != sequence ||
      !ValidInstance(report.agent_instance())) {
    absl::MutexLock lock(&mu_);
    rename(path.c_str(), absl::StrCat(path, ".bad").c_str());
    pending_bytes_ -= pending_[sequence];
    pending_.erase(sequence);
    return absl::DataLossError(absl::StrCat(path, ": corrupt report set aside as .bad"));
  }
  return report;
}

absl::Status Spool::Ack(uint64_t sequence) {
  absl::MutexLock lock(&mu_);
  if (!pending_.contains(sequence)) return absl::OkStatus();
  return Remove(sequence);
}

absl::Status Spool::Remove(uint64_t sequence) {
  std::string path = ReportPath(sequence);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoToStatus(errno, absl::StrCat("unlink ", path));
  }
  pending_bytes_ -= pending_[sequence];
  pending_.erase(sequence);
  return absl::OkStatus();
}

uint64_t Spool::last_sequence() const {
  absl::MutexLock lock(&mu_);
  return last_sequence_;
}

uint64_t Spool::pending_bytes() const {
  absl::MutexLock lock(&mu_);
  return pending_bytes_;
}

uint64_t Spool::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

}  // namespace preflight::agent
