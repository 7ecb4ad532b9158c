// [shell_history] [release] [time] [swarm] [services] Small kinds: history files by
// path (how many command lines and secret-looking lines, never a line
// itself: the agent sends none), the deployed release and swarm services,
// whether the clock is kept in step (the measured offset moves at every
// report and is left out), the swarm's nodes by node id, and the swarm's
// services by name (application evidence).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/diff/renderer.h"

namespace preflight::collector::diff {
namespace {

std::string Secrets(const v1::HistoryFile& f) {
  std::vector<std::string> parts;
  for (const v1::SecretMatch& s : f.secrets())
    parts.push_back(absl::StrCat(s.pattern(), " ×", s.count()));
  return parts.empty() ? "" : absl::StrCat(", secret-looking: ", absl::StrJoin(parts, ", "));
}

std::string History(const v1::HistoryFile& f) {
  return absl::StrCat(f.path(), " of ", f.account(), f.orphan() ? " (removed account)" : "", " (",
                      f.lines(), f.lines() == 1 ? " line" : " lines", Secrets(f), ")");
}

}  // namespace

void RenderShellHistory(const v1::ShellHistoryFact& before, const v1::ShellHistoryFact& after,
                        Lines& out) {
  CollectionLines(before.collection(), after.collection(), out);
  KeyedDiff(
      before.files(), after.files(), [](const v1::HistoryFile& f) { return f.path(); },
      [&](const v1::HistoryFile& f) {
        out.push_back(absl::StrCat("added: history file ", History(f)));
      },
      [&](const v1::HistoryFile& f) {
        out.push_back(absl::StrCat("removed: history file ", History(f)));
      },
      [&](const v1::HistoryFile& a, const v1::HistoryFile& b) {
        if (a.lines() == b.lines() && Secrets(a) == Secrets(b)) return;  // size, mtime
        out.push_back(absl::StrCat(
            "changed: history file ", b.path(), ": ",
            Arrow(absl::StrCat(a.lines(), Secrets(a)), absl::StrCat(b.lines(), Secrets(b))),
            " lines"));
      });
  ProblemLines(before.problems(), after.problems(), out);
}

void RenderRelease(const v1::ReleaseFact& before, const v1::ReleaseFact& after, Lines& out) {
  CollectionLines(before.collection(), after.collection(), out);
  for (const std::string& c : ScalarChanges(before, after, {"source"})) {
    out.push_back(absl::StrCat("changed: ", c, after.source().empty() ? "" : " (", after.source(),
                               after.source().empty() ? "" : ")"));
  }
  SetLines("swarm service", before.services(), after.services(), out);
}

void RenderTime(const v1::TimeFact& before, const v1::TimeFact& after, Lines& out) {
  CollectionLines(before.collection(), after.collection(), out);
  for (const std::string& c : ScalarChanges(before, after, {"offset_seconds"})) {
    out.push_back(absl::StrCat("changed: ", c));
  }
  SetLines("source", before.sources(), after.sources(), out);
  ProblemLines(before.problems(), after.problems(), out);
}

void RenderSwarm(const v1::SwarmFact& before, const v1::SwarmFact& after, Lines& out) {
  CollectionLines(before.collection(), after.collection(), out);
  if (before.manager() != after.manager()) {
    out.push_back(absl::StrCat("changed: swarm manager ",
                               Arrow(YesNo(before.manager()), YesNo(after.manager()))));
  }
  auto node = [](const v1::SwarmNode& n) {
    return absl::StrCat(OrNone(n.hostname()), " (", OrNone(n.address()), ", ", n.role(), ", ",
                        n.state(), ", ", n.availability(), ")");
  };
  KeyedDiff(
      before.nodes(), after.nodes(), [](const v1::SwarmNode& n) { return n.id(); },
      [&](const v1::SwarmNode& n) { out.push_back(absl::StrCat("added: swarm node ", node(n))); },
      [&](const v1::SwarmNode& n) { out.push_back(absl::StrCat("removed: swarm node ", node(n))); },
      [&](const v1::SwarmNode& a, const v1::SwarmNode& b) {
        for (const std::string& c : ScalarChanges(a, b, {"id"})) {
          out.push_back(absl::StrCat("changed: swarm node ", OrNone(b.hostname()), ": ", c));
        }
      });
}

void RenderServices(const v1::ServicesFact& before, const v1::ServicesFact& after, Lines& out) {
  CollectionLines(before.collection(), after.collection(), out);
  if (before.enabled() != after.enabled()) {
    out.push_back(
        absl::StrCat("changed: application evidence ",
                     Arrow(before.enabled() ? "on" : "off", after.enabled() ? "on" : "off")));
  }
  auto service = [](const v1::ServiceState& s) {
    return absl::StrCat(s.name(), " (", s.image(), ", ", s.running(), "/", s.desired(), ")");
  };
  KeyedDiff(
      before.services(), after.services(), [](const v1::ServiceState& s) { return s.name(); },
      [&](const v1::ServiceState& s) {
        out.push_back(absl::StrCat("added: service ", service(s)));
      },
      [&](const v1::ServiceState& s) {
        out.push_back(absl::StrCat("removed: service ", service(s)));
      },
      [&](const v1::ServiceState& a, const v1::ServiceState& b) {
        for (const std::string& c : ScalarChanges(a, b, {"name"})) {
          out.push_back(absl::StrCat("changed: service ", b.name(), ": ", c));
        }
      });
}

}  // namespace preflight::collector::diff
