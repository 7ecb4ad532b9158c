#include "proto/wire/did_you_mean.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace preflight {

size_t EditDistance(absl::string_view a, absl::string_view b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::string NearestName(absl::string_view typed, const std::vector<std::string>& candidates) {
  if (typed.size() > 256) return "";
  std::string best;
  size_t best_distance = 3;
  for (const std::string& c : candidates) {
    if (c.size() > 256) continue;
    size_t d = EditDistance(typed, c);
    if (d < best_distance && d * 2 < std::max<size_t>(typed.size(), 2)) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string DidYouMean(absl::string_view typed, const std::vector<std::string>& candidates) {
  std::string near = NearestName(typed, candidates);
  return near.empty() ? "" : absl::StrCat("; did you mean ", near, "?");
}

}  // namespace preflight
