// The latest facts of a host as the store keeps them (schema 4): one record
// per fact kind, rewritten only when that kind's content changed, and a small
// header record with the report's own fields (host, instance, sequence,
// times, ...) and, per kind, the hashes the next report is compared by. So
// an ingest reads one small record, hashes each kind once, and writes the
// header and the kinds that changed, never the whole report; LatestFacts
// assembles the whole FactReport again.
//
// "Kinds" are FactReport's message fields (sshd, pam, ..., and privileges).
// A kind's content is its deterministic encoding with the collection's
// duration_us cleared (it differs on every report); the duration is kept
// beside it, so a kind not rewritten keeps the duration of the report that
// last changed it.
#ifndef PREFLIGHT_COLLECTOR_STORE_LATEST_FACTS_H_
#define PREFLIGHT_COLLECTOR_STORE_LATEST_FACTS_H_

#include <google/protobuf/arena.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::collector {

// One kind of a report, encoded once.
struct KindContent {
  std::string kind;
  std::string content;  // deterministic, duration_us cleared
  uint64_t duration_us = 0;
  std::string content_hash;  // of content: decides whether the latest record is rewritten
  std::string history_hash;  // of content with volatile values cleared (volatile_facts.h):
                             // decides whether a FactChange is recorded
};

struct SplitFacts {
  std::string header;  // the report without its kinds, serialized
  std::vector<KindContent> kinds;
};
// `serialized` is DeterministicReport(report): the kinds are cut out of that
// encoding (the whole report's digest is taken of it too), not encoded again
// from a copy of the report: a deep copy and a second encoding of every fact
// were a fifth of the collector's CPU per report (README "Performance").
// The result is byte for byte what encoding each kind (duration_us cleared)
// and the rest of the report separately gives. An error only for bytes that
// are no encoding of a FactReport.
absl::StatusOr<SplitFacts> SplitSerializedReport(absl::string_view serialized);
absl::StatusOr<SplitFacts> SplitReport(const v1::FactReport& report);
// The report's deterministic encoding (map entries in key order).
std::string DeterministicReport(const v1::FactReport& report);

// Arena sizing for one report (ingest parses each report into an arena;
// SplitSerializedReport parses the kinds with volatile values onto one): a
// manager's report, 18-26 KB on the wire, takes about three times that
// parsed, so the first block holds it; larger ones grow to 1 MiB.
google::protobuf::ArenaOptions ReportArenaOptions();

// What the header record keeps per kind.
struct KindState {
  std::string kind;
  bool present = false;  // in the latest report (a kind record exists)
  std::string content_hash, history_hash;
  // The key of the newest FactChange of this kind ("" = none): when a newer
  // change replaces it, it goes into the time index (by_time 'F') and
  // retention may drop it; the newest one of each kind always stays.
  std::string change_key;
};
struct LatestHeader {
  std::vector<KindState> kinds;
  std::string report_header;
  KindState* Find(absl::string_view kind);
};
std::string EncodeLatestHeader(const LatestHeader& header);
std::optional<LatestHeader> DecodeLatestHeader(absl::string_view value);

std::string EncodeKindRecord(const KindContent& kind);
// Parses a kind record into `report`'s field `kind`.
absl::Status MergeKindRecord(absl::string_view kind, absl::string_view value,
                             v1::FactReport& report);

// The first 16 bytes of SHA-256: what kinds are compared by.
std::string ShortHash(absl::string_view bytes);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_STORE_LATEST_FACTS_H_
