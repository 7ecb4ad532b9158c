// Check area "disks": checklist item 8 (disk warning at 50%, alert at 70%).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "collector/checks/check.h"

namespace preflight::collector {
namespace {

std::string Gib(uint64_t bytes) {
  return absl::StrFormat("%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
}

v1::Verdict DiskHeadroom(const v1::FactReport& report, const EvalContext& ctx) {
  const v1::DisksFact& disks = report.disks();
  v1::Verdict unusable = UnusableFact(report, disks, "mount table", "/proc/mounts");
  if (unusable.status() != v1::CHECK_STATUS_UNSPECIFIED) return unusable;
  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = disks.filesystems().empty() ? v1::UNKNOWN : v1::PASS;
  const uint64_t warn = ctx.params.Uint("disk_warn_percent"),
                 fail = ctx.params.Uint("disk_fail_percent");
  for (const v1::Filesystem& fs : disks.filesystems()) {
    // As df: used / (used + available), rounded up.
    uint64_t denominator = fs.used_bytes() + fs.available_bytes();
    uint32_t percent =
        denominator == 0
            ? 0
            : static_cast<uint32_t>((fs.used_bytes() * 100 + denominator - 1) / denominator);
    std::string what =
        absl::StrCat(fs.mount_point(), " (", fs.device(), ", ", fs.fs_type(), ") is ", percent,
                     "% used, ", Gib(fs.available_bytes()), " free of ", Gib(fs.size_bytes()));
    v1::CheckStatus s = percent >= fail ? v1::FAIL : percent >= warn ? v1::WARN : v1::PASS;
    std::string expected = absl::StrCat("< ", warn, "%");
    if (fs.mount_point() == "/" &&
        fs.available_bytes() < uint64_t{ctx.params.Uint("root_min_free_gib")} << 30) {
      s = Worst(s, v1::WARN);
      absl::StrAppend(&what, "; the root filesystem needs ", ctx.params.Uint("root_min_free_gib"),
                      " GiB free");
      expected =
          absl::StrCat(expected, " and >= ", ctx.params.Uint("root_min_free_gib"), " GiB free");
    }
    status = Worst(status, s);
    evidence.push_back(MakeEvidence(what, fs.source(), absl::StrCat(percent, "%"),
                                    s == v1::PASS ? absl::StrCat(percent, "%") : expected));
    if (s != v1::PASS) evidence.back().set_finding(absl::StrCat("mount=", fs.mount_point()));
  }
  for (const v1::ParseProblem& p : disks.problems()) {
    status = Worst(status, v1::UNKNOWN);
    evidence.push_back(
        MakeEvidence(absl::StrCat("cannot measure: ", p.message()), SourceOf(p.file(), p.line())));
  }
  return MakeVerdict(status, std::move(evidence));
}

}  // namespace

void RegisterDiskChecks(CheckRegistry& registry) { registry.Bind("disk.headroom", DiskHeadroom); }

}  // namespace preflight::collector
