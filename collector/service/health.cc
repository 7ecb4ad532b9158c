#include "collector/service/health.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "proto/wire/revocation.h"

namespace preflight::collector {

std::string Health::Summary() const {
  return problems.empty() ? "ok" : absl::StrJoin(problems, "; ");
}

Health CheckHealth(const CollectorState& state, const std::string& listener_problem) {
  Health h;
  if (state.store != nullptr) {
    if (absl::Status s = state.store->Health(); !s.ok()) {
      h.problems.push_back(absl::StrCat("storage: ", s.message()));
    }
  }
  const CrlState crl = state.CrlStateNow();
  if (crl.enabled && (crl.expired || !crl.usable.ok())) {
    h.problems.push_back(absl::StrCat("revocation: ", CrlWarning(crl)));
  }
  if (!listener_problem.empty()) h.problems.push_back(absl::StrCat("listener: ", listener_problem));
  return h;
}

absl::Status WriteHealthFile(const std::string& path, const Health& health, absl::Time now) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << absl::ToUnixSeconds(now) << " "
        << (health.ok() ? "ok" : absl::StrCat("unhealthy: ", health.Summary())) << "\n";
    out.close();
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

int CheckHealthFile(const std::string& path, absl::Time now, absl::Duration max_age,
                    std::string* message) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    *message = absl::StrCat(path,
                            ": cannot read it: the collector is not running, or runs "
                            "without health_file set to this path");
    return 1;
  }
  absl::string_view rest = line;
  const size_t space = rest.find(' ');
  int64_t written = 0;
  if (space == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(0, space), &written)) {
    *message = absl::StrCat(path, ":1: not a health line: ", line);
    return 1;
  }
  rest = rest.substr(space + 1);
  const absl::Duration age = now - absl::FromUnixSeconds(written);
  if (age > max_age) {
    *message = absl::StrCat(path, ": last written ", absl::FormatDuration(age), " ago (more than ",
                            absl::FormatDuration(max_age),
                            "): the collector is not running or its main loop hangs");
    return 1;
  }
  *message = std::string(rest);
  return rest == "ok" ? 0 : 1;
}

}  // namespace preflight::collector
