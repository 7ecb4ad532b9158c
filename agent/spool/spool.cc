#include "agent/spool/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
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

void Log(const std::string& message) {
  std::fprintf(stderr, "preflight-agent: %s\n", message.c_str());
}

// Suffixes of the files this spool writes besides reports: set aside, and
// the temporary files of WriteFileDurably.
constexpr absl::string_view kOwnSuffixes[] = {".pb.bad", ".pb.oversize", ".pb.refused", ".pb.stale",
                                              ".tmp"};

// The sequence a report file name ("<20 digits>.pb", as ReportPath writes
// it) names, or why the name is not one.
absl::StatusOr<uint64_t> ParseReportName(absl::string_view name) {
  absl::string_view stem = name;
  if (!absl::ConsumeSuffix(&stem, ".pb")) {
    return absl::InvalidArgumentError("not a report file name (<20 digits>.pb)");
  }
  if (stem.size() != 20 || !std::all_of(stem.begin(), stem.end(), absl::ascii_isdigit)) {
    return absl::InvalidArgumentError("not a sequence of 20 decimal digits");
  }
  uint64_t sequence = 0;
  if (!absl::SimpleAtoi(stem, &sequence)) {
    return absl::OutOfRangeError("sequence beyond 18446744073709551615");
  }
  if (sequence == 0) return absl::OutOfRangeError("sequence 0 is never used");
  return sequence;
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
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (std::any_of(std::begin(kOwnSuffixes), std::end(kOwnSuffixes),
                    [&](absl::string_view suffix) { return absl::EndsWith(name, suffix); })) {
      continue;
    }
    const std::string shown = absl::StrCat(reports, "/", absl::CHexEscape(name));
    auto s = ParseReportName(name);
    if (!s.ok()) {
      Log(absl::StrCat("ignoring ", shown, ": ", s.status().message()));
      continue;
    }
    // A sequence file lost in a crash must never let a number be reused;
    // nor may a name that is not a report be overwritten.
    if (*s > spool->last_sequence_) spool->last_sequence_ = *s;
    struct stat st;
    std::string path = absl::StrCat(reports, "/", name);
    if (lstat(path.c_str(), &st) != 0) {
      Log(absl::StrCat("ignoring ", shown, ": ", std::strerror(errno)));
      continue;
    }
    if (!S_ISREG(st.st_mode)) {
      Log(absl::StrCat("ignoring ", shown, ": not a regular file (",
                       S_ISDIR(st.st_mode)   ? "a directory"
                       : S_ISLNK(st.st_mode) ? "a symbolic link"
                                             : "a special file",
                       "); its sequence is not used again"));
      continue;
    }
    spool->pending_[*s] = static_cast<uint64_t>(st.st_size);
    spool->pending_bytes_ += static_cast<uint64_t>(st.st_size);
  }
  closedir(d);

  if (spool->last_sequence_ >= kMaxSequence) {
    // No number is left for the next report. A new instance starts again
    // at 1 (the collector orders reports within an instance, so none is
    // taken for a duplicate); reports pending under the old counter would
    // arrive after the new instance's and be taken for the latest.
    Log(absl::StrCat("the sequence counter is at ", spool->last_sequence_, ", beyond its limit ",
                     kMaxSequence, ": starting a new agent instance at 1; ", spool->pending_.size(),
                     " unsent report(s) set aside as .stale"));
    spool->instance_ = RandomInstance();
    RETURN_IF_ERROR(WriteFileDurably(instance_path, spool->instance_ + "\n"));
    std::vector<uint64_t> old;
    for (const auto& [s, bytes] : spool->pending_) old.push_back(s);
    for (uint64_t s : old) RETURN_IF_ERROR(spool->SetAsideLocked(s, "stale"));
    spool->PruneSetAside("stale");
    spool->last_sequence_ = 0;
    RETURN_IF_ERROR(WriteFileDurably(seq_path, "0\n"));
  }
  return spool;
}

std::string Spool::ReportPath(uint64_t sequence) const {
  return absl::StrFormat("%s/reports/%020d.pb", dir_, sequence);
}

absl::StatusOr<uint64_t> Spool::Append(v1::FactReport& report) {
  absl::MutexLock lock(&mu_);
  if (last_sequence_ >= kMaxSequence) {
    // Open restarts a counter at the limit; 2^63 reports later it is here.
    return absl::FailedPreconditionError(
        "the sequence counter is at its limit; restart the agent to start a new instance");
  }
  uint64_t sequence = last_sequence_ + 1;
  // The counter is persisted before the report, so a crash between the two
  // at worst skips a number, never reuses one.
  RETURN_IF_ERROR(WriteFileDurably(absl::StrCat(dir_, "/sequence"), absl::StrCat(sequence, "\n")));
  last_sequence_ = sequence;
  report.set_agent_instance(instance_);
  report.set_sequence(sequence);
  std::string data;
  if (!report.SerializeToString(&data)) return absl::InternalError("cannot serialize report");
  if (limits_.max_report_bytes > 0 && data.size() > limits_.max_report_bytes) {
    // Sent whole, the collector would refuse it and every later report
    // would wait behind it. Kept as collected, for a look at what is big.
    const std::string aside = absl::StrCat(ReportPath(sequence), ".oversize");
    RETURN_IF_ERROR(WriteFileDurably(aside, data));
    const size_t original = data.size();
    std::vector<std::string> cleared = ShrinkReport(report, limits_.max_report_bytes);
    data.clear();
    if (!report.SerializeToString(&data)) return absl::InternalError("cannot serialize report");
    ++oversize_;
    Log(absl::StrCat("report ", sequence, " is ", original, " bytes, over max_report_bytes ",
                     limits_.max_report_bytes, ": kept as collected in ", aside,
                     "; spooled without ",
                     cleared.empty() ? "nothing" : absl::StrJoin(cleared, ", "), " (", data.size(),
                     " bytes); those checks are UNKNOWN"));
    PruneSetAside("oversize");
  }
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

absl::Status Spool::SetAside(uint64_t sequence, absl::string_view suffix) {
  absl::MutexLock lock(&mu_);
  if (!pending_.contains(sequence)) {
    return absl::NotFoundError(absl::StrCat("report ", sequence, " is not pending"));
  }
  RETURN_IF_ERROR(SetAsideLocked(sequence, suffix));
  PruneSetAside(suffix);
  return absl::OkStatus();
}

absl::Status Spool::SetAsideLocked(uint64_t sequence, absl::string_view suffix) {
  const std::string path = ReportPath(sequence);
  const std::string aside = absl::StrCat(path, ".", suffix);
  if (rename(path.c_str(), aside.c_str()) != 0 && errno != ENOENT) {
    return ErrnoToStatus(errno, absl::StrCat("rename ", path, " to ", aside));
  }
  pending_bytes_ -= pending_[sequence];
  pending_.erase(sequence);
  return absl::OkStatus();
}

void Spool::PruneSetAside(absl::string_view suffix) {
  const std::string reports = absl::StrCat(dir_, "/reports");
  const std::string ending = absl::StrCat(".pb.", suffix);
  DIR* d = opendir(reports.c_str());
  if (d == nullptr) return;
  // (mtime, name): the newest last.
  std::vector<std::pair<std::pair<int64_t, int64_t>, std::string>> found;
  while (struct dirent* e = readdir(d)) {
    absl::string_view name = e->d_name;
    if (!absl::ConsumeSuffix(&name, ending) || !ParseReportName(absl::StrCat(name, ".pb")).ok()) {
      continue;
    }
    const std::string path = absl::StrCat(reports, "/", e->d_name);
    struct stat st;
    if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    found.push_back(
        {{static_cast<int64_t>(st.st_mtim.tv_sec), static_cast<int64_t>(st.st_mtim.tv_nsec)},
         path});
  }
  closedir(d);
  if (found.size() <= static_cast<size_t>(kMaxSetAside)) return;
  std::sort(found.begin(), found.end());
  for (size_t i = 0; i + kMaxSetAside < found.size(); ++i) unlink(found[i].second.c_str());
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

uint64_t Spool::oversize() const {
  absl::MutexLock lock(&mu_);
  return oversize_;
}

std::vector<std::string> ShrinkReport(v1::FactReport& report, uint64_t max_bytes) {
  const size_t original = report.ByteSizeLong();
  std::vector<std::string> cleared;
  if (original <= max_bytes) return cleared;
  const std::string error =
      absl::StrCat("dropped for size: ", original - max_bytes,
                   " bytes over the agent's max_report_bytes (", max_bytes, ")");
  const google::protobuf::Descriptor* type = report.GetDescriptor();
  const google::protobuf::Reflection* reflection = report.GetReflection();
  // Every fact kind present (a message field with a Collection), largest
  // first; equal sizes in field order.
  std::vector<std::pair<size_t, const google::protobuf::FieldDescriptor*>> kinds;
  for (int i = 0; i < type->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = type->field(i);
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated() ||
        !reflection->HasField(report, f)) {
      continue;
    }
    const google::protobuf::FieldDescriptor* c = f->message_type()->FindFieldByName("collection");
    if (c == nullptr || c->message_type() != v1::Collection::descriptor()) continue;
    kinds.push_back({reflection->GetMessage(report, f).ByteSizeLong(), f});
  }
  std::stable_sort(kinds.begin(), kinds.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [bytes, f] : kinds) {
    if (report.ByteSizeLong() <= max_bytes) break;
    google::protobuf::Message* fact = reflection->MutableMessage(&report, f);
    const google::protobuf::FieldDescriptor* c = f->message_type()->FindFieldByName("collection");
    const int64_t duration_us =
        static_cast<const v1::Collection&>(fact->GetReflection()->GetMessage(*fact, c))
            .duration_us();
    fact->Clear();
    auto* collection = static_cast<v1::Collection*>(fact->GetReflection()->MutableMessage(fact, c));
    collection->set_state(v1::Collection::ERROR);
    collection->set_error(error);
    collection->set_duration_us(duration_us);
    // Checks that judge a kind gathered in part on what was read still see
    // that nothing of it may be relied on.
    v1::ReadError* read = collection->add_unreadable();
    read->set_path(absl::StrCat(f->name(), " facts of this report"));
    read->set_error(absl::StrCat("RESOURCE_EXHAUSTED: ", error));
    cleared.push_back(f->name());
  }
  return cleared;
}

}  // namespace preflight::agent
