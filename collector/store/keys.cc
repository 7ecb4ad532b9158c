#include "collector/store/keys.h"

#include <algorithm>

namespace preflight::collector {
namespace {

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

}  // namespace

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

}  // namespace preflight::collector
