// Fuzz target: the same bytes as a logrotate configuration file (through
// ParseLogrotateConfig, with include, glob and name hooks standing in for a
// host), as logrotate's status file, and as a file name (RotatedBaseName).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "agent/facts/logrotate.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using preflight::agent::LogrotateParseState;

const std::set<std::string>& Frequencies() {
  static const std::set<std::string> kFrequencies = {"",       "hourly",  "daily",
                                                     "weekly", "monthly", "yearly"};
  return kFrequencies;
}

void CheckStanza(const preflight::v1::LogrotateStanza& s, uint32_t lines) {
  PREFLIGHT_FUZZ_CHECK(Frequencies().count(s.frequency()) == 1);
  PREFLIGHT_FUZZ_CHECK(s.rotate() >= -1);
  PREFLIGHT_FUZZ_CHECK(s.line() <= lines);
}

// Hooks standing in for a host: includes of odd length fail, every pattern
// matches itself (so identical patterns are duplicates), "nobody" and
// "nogroup" do not exist.
void SetHooks(LogrotateParseState& state, uint32_t lines, bool* include_failed) {
  state.include = [&state, lines, include_failed](const std::string& arg, uint32_t line) {
    PREFLIGHT_FUZZ_CHECK(line >= 1 && line <= lines);
    PREFLIGHT_FUZZ_CHECK(state.include_depth >= 1);
    const bool ok = arg.size() % 2 == 0;
    *include_failed |= !ok;
    return ok;
  };
  state.expand = [lines](const std::string& pattern, uint32_t line) {
    PREFLIGHT_FUZZ_CHECK(line >= 1 && line <= lines);
    PREFLIGHT_FUZZ_CHECK(!pattern.empty());
    return std::vector<std::string>{pattern};
  };
  state.user_known = [](const std::string& name) { return name != "nobody"; };
  state.group_known = [](const std::string& name) { return name != "nogroup"; };
}

void CheckConfig(absl::string_view content) {
  const uint32_t lines =
      static_cast<uint32_t>(std::count(content.begin(), content.end(), '\n')) + 1;
  preflight::v1::LogrotateFact fact;
  LogrotateParseState state;
  bool include_failed = false;
  SetHooks(state, lines, &include_failed);
  const bool ok = preflight::agent::ParseLogrotateConfig(content, "fuzz.conf", fact, state);

  PREFLIGHT_FUZZ_CHECK(fact.problems_size() <= 1000);
  for (const auto& p : fact.problems()) {
    PREFLIGHT_FUZZ_CHECK(p.file() == "fuzz.conf");
    PREFLIGHT_FUZZ_CHECK(p.line() >= 1 && p.line() <= lines);
    PREFLIGHT_FUZZ_CHECK(!p.message().empty());
  }
  if (!ok && !include_failed) PREFLIGHT_FUZZ_CHECK(fact.problems_size() > 0);
  PREFLIGHT_FUZZ_CHECK(state.include_depth == 0);

  // A path is matched by one stanza at most, and only by its own pattern.
  std::set<std::string> matched;
  size_t total = 0;
  PREFLIGHT_FUZZ_CHECK(fact.stanzas_size() <= 10000);
  for (const auto& s : fact.stanzas()) {
    CheckStanza(s, lines);
    PREFLIGHT_FUZZ_CHECK(s.line() >= 1);
    PREFLIGHT_FUZZ_CHECK(s.file() == "fuzz.conf");
    PREFLIGHT_FUZZ_CHECK(s.patterns_size() >= 1 && s.patterns_size() <= 1000);
    std::set<std::string> patterns(s.patterns().begin(), s.patterns().end());
    for (const std::string& m : s.matched()) {
      PREFLIGHT_FUZZ_CHECK(patterns.count(m) == 1);
      PREFLIGHT_FUZZ_CHECK(matched.insert(m).second);
      ++total;
    }
  }
  std::set<std::string> claimed;
  for (const auto& [name, ignore] : state.claimed) claimed.insert(name);
  PREFLIGHT_FUZZ_CHECK(claimed == matched);
  PREFLIGHT_FUZZ_CHECK(state.matched_total == total);
  CheckStanza(fact.defaults(), lines);
  PREFLIGHT_FUZZ_CHECK(fact.defaults().patterns().empty());
  PREFLIGHT_FUZZ_CHECK(fact.defaults().matched().empty());

  // Parsing is deterministic.
  preflight::v1::LogrotateFact again;
  LogrotateParseState fresh;
  SetHooks(fresh, lines, &include_failed);
  PREFLIGHT_FUZZ_CHECK(preflight::agent::ParseLogrotateConfig(content, "fuzz.conf", again, fresh) ==
                       ok);
  PREFLIGHT_FUZZ_CHECK(again.SerializeAsString() == fact.SerializeAsString());
}

void CheckStatus(absl::string_view content) {
  std::vector<preflight::v1::ParseProblem> problems;
  auto entries = preflight::agent::ParseLogrotateStatus(content, "status", &problems);
  const int64_t earliest = absl::ToUnixSeconds(
      absl::FromCivil(absl::CivilSecond(1899, 12, 31, 0, 0, 0), absl::UTCTimeZone()));
  const int64_t latest = absl::ToUnixSeconds(
      absl::FromCivil(absl::CivilSecond(2101, 1, 1, 0, 0, 0), absl::UTCTimeZone()));
  for (const auto& [path, when] : entries) {
    PREFLIGHT_FUZZ_CHECK(when >= earliest && when < latest);
  }
  PREFLIGHT_FUZZ_CHECK(problems.size() <= 1000);
  for (const auto& p : problems) PREFLIGHT_FUZZ_CHECK(p.line() >= 1);
  PREFLIGHT_FUZZ_CHECK(entries.size() <= 200000);
}

void CheckRotatedName(absl::string_view content) {
  const absl::string_view name = content.substr(0, 255);
  const std::string base = preflight::agent::RotatedBaseName(name);
  if (!base.empty()) {
    PREFLIGHT_FUZZ_CHECK(base.size() < name.size());
    PREFLIGHT_FUZZ_CHECK(absl::StartsWith(name, base));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view content(reinterpret_cast<const char*>(data), size);
  CheckConfig(content);
  CheckStatus(content);
  CheckRotatedName(content);
  return 0;
}
