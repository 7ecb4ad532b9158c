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

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_STORE_KEYS_H_
