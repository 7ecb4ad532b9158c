#include "collector/store/keys.h"

#include <algorithm>

namespace preflight::collector {
bool ReadU16(absl::string_view& in, uint16_t& v) {
  if (in.size() < 2) return false;
  v = static_cast<uint16_t>((static_cast<uint8_t>(in[0]) << 8) | static_cast<uint8_t>(in[1]));
  in.remove_prefix(2);
  return true;
}

bool ReadU64(absl::string_view& in, uint64_t& v) {
  if (in.size() < 8) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  in.remove_prefix(8);
  return true;
}

bool ReadString(absl::string_view& in, std::string& s) {
  uint16_t len = 0;
  if (!ReadU16(in, len) || in.size() < len) return false;
  s.assign(in.data(), len);
  in.remove_prefix(len);
  return true;
}

void AppendU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void AppendU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void AppendString(std::string& out, absl::string_view s) {
  size_t len = std::min<size_t>(s.size(), 0xffff);
  AppendU16(out, static_cast<uint16_t>(len));
  out.append(s.data(), len);
}

std::string ReportKey(absl::string_view host, absl::string_view instance, uint64_t sequence) {
  std::string key = HostPrefix(host);
  AppendString(key, instance);
  AppendU64(key, sequence);
  return key;
}

std::string HostPrefix(absl::string_view host) {
  std::string key;
  AppendString(key, host);
  return key;
}

std::optional<ReportKeyParts> DecodeReportKey(absl::string_view key) {
  ReportKeyParts parts;
  if (!ReadString(key, parts.host) || !ReadString(key, parts.instance) ||
      !ReadU64(key, parts.sequence) || !key.empty()) {
    return std::nullopt;
  }
  return parts;
}

std::optional<std::string> DecodeHostKey(absl::string_view key) {
  std::string host;
  if (!ReadString(key, host) || !key.empty()) return std::nullopt;
  return host;
}

std::string MarkKey(absl::string_view host, absl::string_view instance) {
  std::string key = HostPrefix(host);
  AppendString(key, instance);
  return key;
}

std::string LatestHeaderKey(absl::string_view host) { return LatestKindKey(host, ""); }

std::string LatestKindKey(absl::string_view host, absl::string_view kind) {
  std::string key = HostPrefix(host);
  AppendString(key, kind);
  return key;
}

std::optional<std::string> DecodeLatestKind(absl::string_view host, absl::string_view key) {
  const std::string prefix = HostPrefix(host);
  if (key.substr(0, prefix.size()) != prefix) return std::nullopt;
  key.remove_prefix(prefix.size());
  std::string kind;
  if (!ReadString(key, kind) || !key.empty()) return std::nullopt;
  return kind;
}

std::string FactChangeKey(absl::string_view host, absl::string_view kind, int64_t at,
                          uint64_t sequence) {
  std::string key = HostPrefix(host);
  AppendU64(key, static_cast<uint64_t>(at));
  AppendString(key, kind);
  AppendU64(key, sequence);
  return key;
}

std::optional<int64_t> FactChangeTime(absl::string_view key) {
  std::string host;
  uint64_t at = 0;
  if (!ReadString(key, host) || !ReadU64(key, at)) return std::nullopt;
  return static_cast<int64_t>(at);
}

std::string TimeIndexBound(TimeIndexTag tag, int64_t at_ms) {
  std::string key(1, static_cast<char>(tag));
  AppendU64(key, static_cast<uint64_t>(std::max<int64_t>(at_ms, 0)));
  return key;
}

std::string TimeIndexKey(TimeIndexTag tag, int64_t at_ms, absl::string_view record_key) {
  std::string key = TimeIndexBound(tag, at_ms);
  key.append(record_key.data(), record_key.size());
  return key;
}

std::optional<TimeIndexEntry> DecodeTimeIndexKey(TimeIndexTag tag, absl::string_view key) {
  if (key.empty() || key[0] != static_cast<char>(tag)) return std::nullopt;
  key.remove_prefix(1);
  uint64_t at = 0;
  if (!ReadU64(key, at)) return std::nullopt;
  return TimeIndexEntry{static_cast<int64_t>(at), std::string(key)};
}

}  // namespace preflight::collector
