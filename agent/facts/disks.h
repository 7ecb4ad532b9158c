// Fact kind "disks": every real filesystem of the mount table (pseudo
// filesystems skipped; /data, device-mapper and LUKS volumes included) with
// its size, use and inodes.
#ifndef PREFLIGHT_AGENT_FACTS_DISKS_H_
#define PREFLIGHT_AGENT_FACTS_DISKS_H_

#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

struct MountEntry {
  std::string device;
  std::string mount_point;
  std::string fs_type;
  uint32_t line = 0;
};

// Parses /proc/mounts (octal escapes such as \040 decoded) and keeps real
// filesystems only, one entry per mount point (the last mount wins).
std::vector<MountEntry> ParseMounts(absl::string_view content);

std::unique_ptr<FactCollector> MakeDisksCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_DISKS_H_
