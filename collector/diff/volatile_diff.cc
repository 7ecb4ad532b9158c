// [disks] [logrotate] Kinds whose content moves all the time (bytes used,
// log sizes, modification times) without being a finding. What is a finding
// gets one line (a filesystem crossing a whole percent, a log no stanza
// rotates any more, a changed stanza); the rest is counted in one line.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collector/diff/renderer.h"

namespace preflight::collector::diff {
namespace {

// Used percent as df computes it: used / (used + available), rounded up.
int UsedPercent(const v1::Filesystem& f) {
  const uint64_t total = f.used_bytes() + f.available_bytes();
  if (total == 0) return 0;
  return static_cast<int>((f.used_bytes() * 100 + total - 1) / total);
}

std::string Stanza(const v1::LogrotateStanza& s) {
  return absl::StrCat("stanza ", absl::StrJoin(s.patterns(), " "), " at ", s.file(), ":", s.line());
}

}  // namespace

void RenderDisks(const v1::DisksFact& before, const v1::DisksFact& after, Lines& out) {
  CollectionLines(before.collection(), after.collection(), out);
  int small = 0;
  KeyedDiff(
      before.filesystems(), after.filesystems(),
      [](const v1::Filesystem& f) { return f.mount_point(); },
      [&](const v1::Filesystem& f) {
        out.push_back(absl::StrCat("added: filesystem ", f.mount_point(), " (", f.fs_type(), " on ",
                                   f.device(), ", ", Bytes(f.size_bytes()), ", ", UsedPercent(f),
                                   "% used) (", f.source(), ")"));
      },
      [&](const v1::Filesystem& f) {
        out.push_back(absl::StrCat("removed: filesystem ", f.mount_point(), " (", f.fs_type(),
                                   " on ", f.device(), ")"));
      },
      [&](const v1::Filesystem& a, const v1::Filesystem& b) {
        std::vector<std::string> parts =
            ScalarChanges(a, b,
                          {"mount_point", "size_bytes", "used_bytes", "available_bytes", "inodes",
                           "inodes_free", "source"});
        if (a.size_bytes() != b.size_bytes()) {
          parts.push_back(
              absl::StrCat("size ", Arrow(Bytes(a.size_bytes()), Bytes(b.size_bytes()))));
        }
        if (UsedPercent(a) != UsedPercent(b)) {
          parts.push_back(absl::StrCat(
              "used ", Arrow(absl::StrCat(UsedPercent(a), "%"), absl::StrCat(UsedPercent(b), "%")),
              " (", Bytes(b.available_bytes()), " free)"));
        }
        if (parts.empty()) {
          small += a.used_bytes() != b.used_bytes() || a.inodes_free() != b.inodes_free();
          return;
        }
        out.push_back(absl::StrCat("changed: filesystem ", b.mount_point(), ": ",
                                   absl::StrJoin(parts, ", ")));
      });
  if (small > 0) {
    out.push_back(absl::StrCat("changed: ", small, small == 1 ? " filesystem" : " filesystems",
                               " used a little more or less space (under a percent)"));
  }
  ProblemLines(before.problems(), after.problems(), out);
}

void RenderLogrotate(const v1::LogrotateFact& before, const v1::LogrotateFact& after, Lines& out) {
  CollectionLines(before.collection(), after.collection(), out);
  for (const std::string& c : ScalarChanges(
           before, after, {"last_rotation_unix", "status_mtime_unix", "timer_last_trigger_unix"})) {
    out.push_back(absl::StrCat("changed: ", c));
  }
  // Runs move these forward every day: one line.
  std::vector<std::string> runs;
  if (before.status_mtime_unix() != after.status_mtime_unix()) {
    runs.push_back(absl::StrCat(
        "last run ", Arrow(Time(before.status_mtime_unix()), Time(after.status_mtime_unix()))));
  }
  if (before.last_rotation_unix() != after.last_rotation_unix()) {
    runs.push_back(absl::StrCat("last rotation ", Arrow(Time(before.last_rotation_unix()),
                                                        Time(after.last_rotation_unix()))));
  }
  if (before.timer_last_trigger_unix() != after.timer_last_trigger_unix()) {
    runs.push_back(absl::StrCat(
        "timer last triggered ",
        Arrow(Time(before.timer_last_trigger_unix()), Time(after.timer_last_trigger_unix()))));
  }
  if (!runs.empty()) out.push_back(absl::StrCat("changed: ", absl::StrJoin(runs, ", ")));
  for (const std::string& c :
       ScalarChanges(before.defaults(), after.defaults(), {"file", "line"})) {
    out.push_back(absl::StrCat("changed: global option ", c, " (", after.main_file(), ")"));
  }
  if (std::string j = absl::StrJoin(ScalarChanges(before.journald(), after.journald()), ", ");
      !j.empty()) {
    out.push_back(absl::StrCat("changed: journald ", j));
  }
  KeyedDiff(
      before.stanzas(), after.stanzas(),
      [](const v1::LogrotateStanza& s) {
        return absl::StrCat(s.file(), "\n", absl::StrJoin(s.patterns(), "\n"));
      },
      [&](const v1::LogrotateStanza& s) {
        out.push_back(absl::StrCat("added: ", Stanza(s), " (", OrNone(s.frequency()), ", rotate ",
                                   s.rotate(), ")"));
      },
      [&](const v1::LogrotateStanza& s) { out.push_back(absl::StrCat("removed: ", Stanza(s))); },
      [&](const v1::LogrotateStanza& a, const v1::LogrotateStanza& b) {
        std::vector<std::string> parts = ScalarChanges(a, b, {"file", "line"});
        if (a.matched_size() != b.matched_size()) {
          parts.push_back(absl::StrCat(
              "matches ", Arrow(absl::StrCat(a.matched_size()), absl::StrCat(b.matched_size())),
              " files"));
        }
        if (parts.empty()) return;
        out.push_back(absl::StrCat("changed: ", Stanza(b), ": ", absl::StrJoin(parts, ", ")));
      });
  // Logs: which exist and who rotates them are findings; sizes, times and
  // copies are counted.
  int grew = 0, rotated = 0;
  std::vector<std::string> appeared, gone;
  KeyedDiff(
      before.logs(), after.logs(), [](const v1::LogFile& l) { return l.path(); },
      [&](const v1::LogFile& l) {
        appeared.push_back(l.path());
        if (l.covered_by().empty()) {
          out.push_back(absl::StrCat("added: log ", l.path(), " (", Bytes(l.size_bytes()),
                                     "), rotated by no stanza"));
        }
      },
      [&](const v1::LogFile& l) { gone.push_back(l.path()); },
      [&](const v1::LogFile& a, const v1::LogFile& b) {
        if (a.covered_by() != b.covered_by()) {
          out.push_back(absl::StrCat("changed: log ", b.path(), " rotated by ",
                                     Arrow(OrNone(a.covered_by()), OrNone(b.covered_by()))));
        }
        grew += a.size_bytes() != b.size_bytes();
        rotated += a.last_rotated_unix() != b.last_rotated_unix() ||
                   a.rotated_copies() != b.rotated_copies();
      });
  std::vector<std::string> counts;
  if (grew > 0)
    counts.push_back(absl::StrCat(grew, grew == 1 ? " log file" : " log files", " changed size"));
  if (rotated > 0) counts.push_back(absl::StrCat(rotated, " rotated"));
  if (!appeared.empty()) counts.push_back(absl::StrCat(appeared.size(), " appeared"));
  if (!gone.empty()) counts.push_back(absl::StrCat(gone.size(), " gone"));
  if (!counts.empty()) out.push_back(absl::StrCat("changed: ", absl::StrJoin(counts, ", ")));
  SetLines("file", before.files(), after.files(), out);
  ProblemLines(before.problems(), after.problems(), out);
}

}  // namespace preflight::collector::diff
