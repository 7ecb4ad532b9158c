// The agent's durable on-disk spool. A report is written here (and fsynced)
// before it is sent, and leaves only when the collector acks it, so a report
// survives agent restarts and collector outages. The spool also owns the agent
// instance id and the sequence counter, both persisted.
//
// Layout of the spool directory:
//   instance              32 hex characters, made once (and again if the
//                         sequence file is lost, so no number is reused)
//   sequence              the last sequence number handed out (decimal)
//   reports/<seq>.pb      one serialized FactReport each (seq zero-padded)
//   reports/<seq>.pb.bad  a report that could not be read back, kept aside
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
#include "absl/synchronization/mutex.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::agent {

class Spool {
 public:
  struct Limits {
    size_t max_reports = 1000;
    uint64_t max_bytes = 64ull << 20;
  };

  // Opens (creating if needed) the spool in `dir`.
  static absl::StatusOr<std::unique_ptr<Spool>> Open(const std::string& dir, Limits limits);

  const std::string& instance() const { return instance_; }

  // Assigns the next sequence number and this instance to `report`, writes it
  // durably, and returns the sequence. Drops the oldest reports if over the
  // limits (the number dropped is added to dropped()).
  absl::StatusOr<uint64_t> Append(v1::FactReport& report) ABSL_LOCKS_EXCLUDED(mu_);

  // Sequences waiting for an ack, oldest first.
  std::vector<uint64_t> Pending() const ABSL_LOCKS_EXCLUDED(mu_);

  // Reads a pending report back. NOT_FOUND if acked or dropped meanwhile;
  // DATA_LOSS if the file is corrupt (it is then set aside as .bad).
  absl::StatusOr<v1::FactReport> Load(uint64_t sequence) ABSL_LOCKS_EXCLUDED(mu_);

  // Removes an acked report. Acking an unknown sequence is a no-op.
  absl::Status Ack(uint64_t sequence) ABSL_LOCKS_EXCLUDED(mu_);

  // The spool's directory (reports live in its reports/ subdirectory).
  const std::string& dir() const { return dir_; }

  uint64_t last_sequence() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t pending_bytes() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t dropped() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Spool(std::string dir, Limits limits) : dir_(std::move(dir)), limits_(limits) {}
  std::string ReportPath(uint64_t sequence) const;
  absl::Status Remove(uint64_t sequence) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

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
};

// Writes `data` to `path` atomically and durably: a temp file, fsync, rename,
// fsync of the directory.
absl::Status WriteFileDurably(const std::string& path, const std::string& data);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_SPOOL_SPOOL_H_
