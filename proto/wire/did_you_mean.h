// "Did you mean ...?" for names an operator types: environments, roles,
// config fields, commands, flags.
#ifndef PREFLIGHT_PROTO_WIRE_DID_YOU_MEAN_H_
#define PREFLIGHT_PROTO_WIRE_DID_YOU_MEAN_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace preflight {

// Damerau-Levenshtein distance (insertions, deletions, substitutions and
// adjacent transpositions), case-sensitive.
size_t EditDistance(absl::string_view a, absl::string_view b);

// The candidate nearest to `typed` when it is close enough to be a typo (at
// most 2 edits, and fewer than half of its length), else "".
std::string NearestName(absl::string_view typed, const std::vector<std::string>& candidates);

// "; did you mean production?" or "" when nothing is near.
std::string DidYouMean(absl::string_view typed, const std::vector<std::string>& candidates);

}  // namespace preflight

#endif  // PREFLIGHT_PROTO_WIRE_DID_YOU_MEAN_H_
