// Readable differences between two stored contents of one fact kind, in the
// fact's own language: "PermitRootLogin for root: no (sshd_config:32) → yes
// (sshd_config.d/99-debug.conf:1)", "added key SHA256:… (alice@laptop) to
// /home/alice/.ssh/authorized_keys:3", "added: tcp 0.0.0.0:8080 ...".
//
// Each fact kind with a renderer (collector/diff/*_diff.cc) decodes both
// messages and compares them by a stable key (the sshd keyword and its file
// and Match block, a key's fingerprint and file, a socket's protocol, address
// and port, an account's name, ...), one line per change, each saying where
// it is (`file:line`, command, socket). Values that move all the time and are
// no finding (disk usage under a point, log sizes) are summarised in one line.
// Kinds without a renderer (backups), and contents that do not decode, fall
// back to the line diff of the text format (collector/store/fact_diff.h).
//
// Nothing is added to what the agent sent: facts are masked on the host, and
// a renderer prints only fields of the fact.
#ifndef PREFLIGHT_COLLECTOR_DIFF_FACT_DIFF_H_
#define PREFLIGHT_COLLECTOR_DIFF_FACT_DIFF_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace preflight::collector {

// `kind` is the FactReport field name ("sshd"); contents are serialized fact
// messages ("" = none yet: everything in `after` is added). Returns one line
// per change, at most `max_lines` of them, and then a last line "... N more".
// An empty result means nothing worth reading changed (e.g. only a process
// id or a log size).
std::vector<std::string> RenderFactDiff(absl::string_view kind, const std::string& before,
                                        const std::string& after, size_t max_lines = 200);

// Whether `kind` has a renderer (otherwise RenderFactDiff gives the text diff).
bool HasFactRenderer(absl::string_view kind);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_DIFF_FACT_DIFF_H_
