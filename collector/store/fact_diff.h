// Readable differences between two stored contents of one fact kind: both
// printed in protobuf text format, compared line by line (longest common
// subsequence), changed lines as "- old" / "+ new".
#ifndef PREFLIGHT_COLLECTOR_STORE_FACT_DIFF_H_
#define PREFLIGHT_COLLECTOR_STORE_FACT_DIFF_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace preflight::collector {

// `kind` is the FactReport field name ("sshd"); contents are serialized fact
// messages ("" = none). At most `max_lines` lines are returned; a last line
// says how many more changed.
std::vector<std::string> DiffFactContent(absl::string_view kind, const std::string& before,
                                         const std::string& after, size_t max_lines = 200);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_STORE_FACT_DIFF_H_
