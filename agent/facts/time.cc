#include "agent/facts/time.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace preflight::agent {
namespace {

class TimeCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "time"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions&, v1::FactReport& report) override {
    v1::TimeFact& fact = *report.mutable_time();
    v1::Collection* collection = fact.mutable_collection();
    std::vector<std::string> failures;
    bool answered = false;

    auto td = env.Run({"timedatectl", "show"}, absl::Seconds(10));
    // Not installed, or (--root) not recorded, is no answer; any other
    // failure to run it is named.
    if (!td.ok() && !absl::IsUnavailable(td.status())) {
      NoteUnreadable(*collection, "timedatectl show", td.status());
    }
    if (td.ok() && td->exit_code == 0 && ParseTimedatectl(td->out, fact)) {
      answered = true;
      fact.add_sources("timedatectl show");
      fact.set_service("systemd-timesyncd");
    } else {
      failures.push_back(absl::StrCat(
          "timedatectl show: ",
          !td.ok() ? std::string(td.status().message())
                   : absl::StrCat("exited ", td->exit_code, " ",
                                  absl::StripAsciiWhitespace(td->err.substr(0, 200)))));
    }
    // chrony, when it runs, is the authority on synchronisation and offset.
    auto chrony = env.Run({"chronyc", "-c", "tracking"}, absl::Seconds(10));
    if (!chrony.ok() && !absl::IsUnavailable(chrony.status())) {
      NoteUnreadable(*collection, "chronyc -c tracking", chrony.status());
    }
    if (chrony.ok() && chrony->exit_code == 0 && ParseChronyTracking(chrony->out, fact)) {
      answered = true;
      fact.add_sources("chronyc -c tracking");
      fact.set_service("chrony");
      fact.set_ntp_enabled(true);
    }
    if (!answered) {
      collection->set_state(v1::Collection::ABSENT);
      collection->set_error(absl::StrCat("no time service answered (",
                                         failures.empty() ? "" : failures.front(),
                                         "; chronyc -c tracking did not answer)"));
      return collection;
    }
    collection->set_state(v1::Collection::OK);
    return collection;
  }
};

}  // namespace

bool ParseTimedatectl(absl::string_view out, v1::TimeFact& fact) {
  bool seen = false;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    absl::string_view value = absl::StripAsciiWhitespace(kv.second);
    if (kv.first == "NTP") {
      fact.set_ntp_enabled(value == "yes");
      seen = true;
    } else if (kv.first == "NTPSynchronized") {
      fact.set_synchronized(value == "yes");
      seen = true;
    }
  }
  return seen;
}

bool ParseChronyTracking(absl::string_view out, v1::TimeFact& fact) {
  absl::string_view line = out.substr(0, out.find('\n'));
  std::vector<absl::string_view> f = absl::StrSplit(line, ',');
  if (f.size() < 14) return false;
  double offset = 0;
  if (!absl::SimpleAtod(f[4], &offset) || !std::isfinite(offset)) return false;
  absl::string_view leap = absl::StripAsciiWhitespace(f[13]);
  fact.set_synchronized(leap != "Not synchronised" && !leap.empty());
  fact.set_offset_known(true);
  fact.set_offset_seconds(offset);
  return true;
}

std::unique_ptr<FactCollector> MakeTimeCollector() { return std::make_unique<TimeCollector>(); }

}  // namespace preflight::agent
