#include "agent/facts/disks.h"

#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace preflight::agent {
namespace {

const std::set<std::string>& PseudoTypes() {
  static const std::set<std::string> kTypes = {
      "proc",   "sysfs",     "devtmpfs",   "devpts",      "tmpfs",      "cgroup",   "cgroup2",
      "pstore", "bpf",       "securityfs", "debugfs",     "tracefs",    "configfs", "fusectl",
      "mqueue", "hugetlbfs", "autofs",     "binfmt_misc", "rpc_pipefs", "nsfs",     "efivarfs",
      "ramfs",  "squashfs",  "overlay",    "fuse.lxcfs",  "nfsd",       "selinuxfs"};
  return kTypes;
}

std::string Unescape(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    bool octal = s[i] == '\\' && i + 3 < s.size();
    if (octal) {
      for (size_t k = 1; k <= 3; ++k) octal &= s[i + k] >= '0' && s[i + k] <= '7';
    }
    if (octal) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::vector<MountEntry> ParseMounts(absl::string_view content) {
  std::map<std::string, MountEntry> by_point;
  std::vector<std::string> order;
  uint32_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_no;
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 3) continue;
    MountEntry m{Unescape(f[0]), Unescape(f[1]), std::string(f[2]), line_no};
    if (PseudoTypes().count(m.fs_type) || absl::StartsWith(m.mount_point, "/proc") ||
        absl::StartsWith(m.mount_point, "/sys") || absl::StartsWith(m.mount_point, "/run/docker") ||
        absl::StartsWith(m.mount_point, "/var/lib/docker/")) {
      continue;
    }
    if (!by_point.count(m.mount_point)) order.push_back(m.mount_point);
    by_point[m.mount_point] = std::move(m);
    if (order.size() > 4096) break;
  }
  std::vector<MountEntry> out;
  for (const std::string& p : order) out.push_back(by_point[p]);
  return out;
}

namespace {

class DisksCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "disks"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::DisksFact& fact = *report.mutable_disks();
    v1::Collection* collection = fact.mutable_collection();
    auto mounts = env.ReadFile("/proc/mounts", options.max_file_bytes);
    if (!mounts.ok()) {
      NoteUnreadable(*collection, "/proc/mounts", mounts.status());
      collection->set_state(absl::IsNotFound(mounts.status()) ? v1::Collection::ABSENT
                                                              : v1::Collection::ERROR);
      collection->set_error(std::string(mounts.status().message()));
      return collection;
    }
    for (const MountEntry& m : ParseMounts(mounts->content)) {
      auto st = env.StatFs(m.mount_point);
      if (!st.ok()) {
        // A filesystem that cannot be measured may be the full one. (Under
        // --root, a mount with no recorded figures is UNAVAILABLE: the
        // image's mounts are not here to measure.)
        if (!absl::IsUnavailable(st.status())) {
          NoteUnreadable(*collection, m.mount_point, st.status());
        }
        v1::ParseProblem* p = fact.add_problems();
        p->set_file("/proc/mounts");
        p->set_line(m.line);
        p->set_message(std::string(st.status().message()));
        continue;
      }
      v1::Filesystem* fs = fact.add_filesystems();
      fs->set_mount_point(m.mount_point);
      fs->set_device(m.device);
      fs->set_fs_type(m.fs_type);
      fs->set_size_bytes(st->blocks * st->block_size);
      fs->set_used_bytes((st->blocks - st->blocks_free) * st->block_size);
      fs->set_available_bytes(st->blocks_available * st->block_size);
      fs->set_inodes(st->files);
      fs->set_inodes_free(st->files_free);
      fs->set_source(absl::StrCat("/proc/mounts:", m.line));
    }
    collection->set_state(v1::Collection::OK);
    return collection;
  }
};

}  // namespace

std::unique_ptr<FactCollector> MakeDisksCollector() { return std::make_unique<DisksCollector>(); }

}  // namespace preflight::agent
