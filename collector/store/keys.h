// RocksDB key encoding. Keys are ordered byte strings: every string component
// is length-prefixed (big-endian u16) and every number is big-endian, so a
// prefix scan over a host returns its entries in (instance, sequence) order.
#ifndef PREFLIGHT_COLLECTOR_STORE_KEYS_H_
#define PREFLIGHT_COLLECTOR_STORE_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace preflight::collector {

void AppendU16(std::string& out, uint16_t v);
void AppendU64(std::string& out, uint64_t v);
// Length-prefixed; strings longer than 65535 bytes are truncated (ids are
// validated far below that before they reach the store).
void AppendString(std::string& out, absl::string_view s);
// Their inverses: read one value from the front of `in` and drop it; false
// (in unchanged or partly consumed) when `in` is too short.
bool ReadU16(absl::string_view& in, uint16_t& v);
bool ReadU64(absl::string_view& in, uint64_t& v);
bool ReadString(absl::string_view& in, std::string& s);

// reports CF: (host, agent instance, sequence).
std::string ReportKey(absl::string_view host, absl::string_view instance, uint64_t sequence);
// The prefix of every report key of a host.
std::string HostPrefix(absl::string_view host);

struct ReportKeyParts {
  std::string host;
  std::string instance;
  uint64_t sequence = 0;
};
// Inverse of ReportKey; nullopt for a malformed key.
std::optional<ReportKeyParts> DecodeReportKey(absl::string_view key);

// The host of a key that is exactly HostPrefix(host); nullopt otherwise.
std::optional<std::string> DecodeHostKey(absl::string_view key);

// marks CF: (host, agent instance) -> InstanceMark.
std::string MarkKey(absl::string_view host, absl::string_view instance);

// latest_facts CF (schema 4): the header record of a host (its report
// without fact kinds, and the state of each kind) and one record per kind.
// The header's kind is the empty string, so it sorts first in the host.
std::string LatestHeaderKey(absl::string_view host);
std::string LatestKindKey(absl::string_view host, absl::string_view kind);
// The kind of a latest_facts key under HostPrefix(host) ("" for the header);
// nullopt for a key of another shape (the schema-3 whole-report key).
std::optional<std::string> DecodeLatestKind(absl::string_view host, absl::string_view key);

// fact_changes CF: (host, received at, kind, sequence) -> FactChange.
std::string FactChangeKey(absl::string_view host, absl::string_view kind, int64_t at,
                          uint64_t sequence);
// The receive time in a FactChangeKey; nullopt for a malformed key.
std::optional<int64_t> FactChangeTime(absl::string_view key);

// by_time CF: the time index retention and receipt compaction go by, so that
// neither scans nor parses the records themselves. A key is (family tag, time
// in ms, the record's key in its family); the value is empty. Tags:
enum class TimeIndexTag : char {
  kReceipt = 'R',           // a report receipt not compacted yet (received at)
  kCompactedReceipt = 'C',  // a compacted receipt (its newest receive time)
  kTransition = 'T',        // a verdict transition (its time)
  kSupersededChange = 'F',  // a fact change a newer one of its kind replaced
};
std::string TimeIndexKey(TimeIndexTag tag, int64_t at_ms, absl::string_view record_key);
// The first key of a tag at or after `at_ms`.
std::string TimeIndexBound(TimeIndexTag tag, int64_t at_ms);
struct TimeIndexEntry {
  int64_t at_ms = 0;
  std::string record_key;
};
// Inverse of TimeIndexKey for `tag`; nullopt for a key of another tag.
std::optional<TimeIndexEntry> DecodeTimeIndexKey(TimeIndexTag tag, absl::string_view key);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_STORE_KEYS_H_
