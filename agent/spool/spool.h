// The agent's durable on-disk spool. A report is written here (and fsynced)
// before it is sent, and leaves only when the collector acks it, so a report
// survives agent restarts and collector outages. The spool also owns the agent
// instance id and the sequence counter, both persisted.
//
// Layout of the spool directory:
//   instance              32 hex characters, made once (and again if the
//                         sequence file is lost, so no number is reused)
//   sequence              the last sequence number handed out (decimal)
//   reports/<seq>.pb      one serialized FactReport each (seq: 20 digits)
//   reports/<seq>.pb.bad  a report that could not be read back, kept aside
//   reports/<seq>.pb.oversize  a report over max_report_bytes, as collected;
//                         the spooled <seq>.pb has its largest kinds cleared
//   reports/<seq>.pb.refused   a report the collector refused as too large
//   reports/<seq>.pb.stale     a report left unsent when the counter restarted
// At most kMaxSetAside files of each set-aside suffix are kept (the newest).
//
// Anything else in reports/ (other names, numbers out of range, directories,
// symlinks) is ignored with a log line; a name that is a sequence number
// still moves the counter past it, so it is never overwritten. Sequences stay
// within 1..kMaxSequence: a counter found at the limit (a sequence file or a
// report name at it) starts a new agent instance at 1, so the collector does
// not take the new reports for duplicates, and the reports pending under the
// old counter are set aside as .stale (each report is a full snapshot).
//
// Bounded: beyond max_reports or max_bytes the oldest reports are dropped
// (each report is a full snapshot, so the newest one carries current state).
// Thread-safe: the agent's delivery loop appends and loads while the stream's
// reader thread acks (agent/client/agent_loop.h).
#ifndef PREFLIGHT_AGENT_SPOOL_SPOOL_H_
#define PREFLIGHT_AGENT_SPOOL_SPOOL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::agent {

class Spool {
 public:
  struct Limits {
    size_t max_reports = 1000;
    uint64_t max_bytes = 64ull << 20;
    // Serialized size above which Append shrinks a report (ShrinkReport);
    // 0: no limit.
    uint64_t max_report_bytes = 3ull << 20;
  };
  // The largest sequence handed out: every sequence fits a signed 64-bit
  // integer (JSON output, other tools).
  static constexpr uint64_t kMaxSequence = 0x7fffffffffffffffull;
  static constexpr int kMaxSetAside = 5;

  // Opens (creating if needed) the spool in `dir`.
  static absl::StatusOr<std::unique_ptr<Spool>> Open(const std::string& dir, Limits limits);

  const std::string& instance() const { return instance_; }

  // Assigns the next sequence number and this instance to `report`, writes it
  // durably, and returns the sequence. Drops the oldest reports if over the
  // limits (the number dropped is added to dropped()). A report over
  // max_report_bytes is written as collected to reports/<seq>.pb.oversize and
  // spooled shrunk (ShrinkReport; `report` is shrunk too), with a log line.
  absl::StatusOr<uint64_t> Append(v1::FactReport& report) ABSL_LOCKS_EXCLUDED(mu_);

  // Sequences waiting for an ack, oldest first.
  std::vector<uint64_t> Pending() const ABSL_LOCKS_EXCLUDED(mu_);

  // Reads a pending report back. NOT_FOUND if acked or dropped meanwhile;
  // DATA_LOSS if the file is corrupt (it is then set aside as .bad).
  absl::StatusOr<v1::FactReport> Load(uint64_t sequence) ABSL_LOCKS_EXCLUDED(mu_);

  // Removes an acked report. Acking an unknown sequence is a no-op.
  absl::Status Ack(uint64_t sequence) ABSL_LOCKS_EXCLUDED(mu_);

  // Takes a pending report out of the queue, keeping its file as
  // reports/<seq>.pb.<suffix> (e.g. "refused"). NOT_FOUND if not pending.
  absl::Status SetAside(uint64_t sequence, absl::string_view suffix) ABSL_LOCKS_EXCLUDED(mu_);

  // The spool's directory (reports live in its reports/ subdirectory).
  const std::string& dir() const { return dir_; }

  uint64_t last_sequence() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t pending_bytes() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t dropped() const ABSL_LOCKS_EXCLUDED(mu_);
  // Reports spooled shrunk because they were over max_report_bytes.
  uint64_t oversize() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Spool(std::string dir, Limits limits) : dir_(std::move(dir)), limits_(limits) {}
  std::string ReportPath(uint64_t sequence) const;
  absl::Status Remove(uint64_t sequence) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SetAsideLocked(uint64_t sequence, absl::string_view suffix)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes all but the newest kMaxSetAside reports/*.pb.<suffix> files.
  void PruneSetAside(absl::string_view suffix) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  const Limits limits_;
  std::string instance_;  // set by Open, read-only afterwards
  // Held across the fsyncs of Append, so a sequence number is on disk
  // before anyone can see it. A leaf: nothing is taken under it.
  mutable absl::Mutex mu_;
  uint64_t last_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, uint64_t> pending_ ABSL_GUARDED_BY(mu_);  // sequence -> bytes
  uint64_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t oversize_ ABSL_GUARDED_BY(mu_) = 0;
};

// Makes `report` at most `max_bytes` serialized by clearing its largest fact
// kinds, largest first, until it fits. Each cleared kind keeps only its
// Collection: state ERROR, an error "dropped for size: N bytes over the
// agent's max_report_bytes (M)" and the same as a read error, so the checks
// that depend on it are UNKNOWN, never PASS. Returns the cleared kinds'
// names (FactReport field names), in the order cleared. A report that does
// not fit even with every kind cleared is left with every kind cleared.
std::vector<std::string> ShrinkReport(v1::FactReport& report, uint64_t max_bytes);

// Writes `data` to `path` atomically and durably: a temp file, fsync, rename,
// fsync of the directory.
absl::Status WriteFileDurably(const std::string& path, const std::string& data);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_SPOOL_SPOOL_H_
