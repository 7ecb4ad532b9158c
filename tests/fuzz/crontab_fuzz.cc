// Fuzz target: crontabs through ParseCrontab (user and system form) and
// CronJobKind, any text through MaskSecrets, and restore logs through
// ScanRestoreLog, all on the same bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "agent/facts/backups.h"
#include "agent/facts/cron.h"
#include "agent/facts/mask.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

bool KnownKind(const std::string& kind) {
  return kind.empty() || kind == "backup" || kind == "download" || kind == "restore" ||
         kind == "rotate";
}

// MaskSecrets masks every value after NAME= when NAME mentions PASS, SECRET
// or TOKEN, to the end of its word. So no masked text can hold such a name,
// then '=', then a letter or digit: that character would have been masked
// (and "****" cannot supply one).
bool HoldsSecretAssignment(absl::string_view text) {
  const std::string lower_text = absl::AsciiStrToLower(text);
  const absl::string_view lower = lower_text;
  for (absl::string_view name :
       {"passphrase=", "password=", "passwd=", "pass=", "secret=", "token="}) {
    for (size_t p = lower.find(name); p != absl::string_view::npos; p = lower.find(name, p + 1)) {
      size_t v = p + name.size();
      if (v < lower.size() && absl::ascii_isalnum(lower[v])) return true;
    }
  }
  return false;
}

// For every "--passphrase=<v>" in the input with v a simple token (letters,
// digits, '_') of at least 4 characters, `--passphrase=<v>` must not be in
// the output.
void CheckPassphrasesGone(absl::string_view in, absl::string_view out) {
  constexpr absl::string_view kOpt = "--passphrase=";
  for (size_t p = in.find(kOpt); p != absl::string_view::npos; p = in.find(kOpt, p + 1)) {
    size_t e = p + kOpt.size();
    while (e < in.size() && (absl::ascii_isalnum(in[e]) || in[e] == '_')) ++e;
    if (e - (p + kOpt.size()) < 4) continue;
    PREFLIGHT_FUZZ_CHECK(!absl::StrContains(out, in.substr(p, e - p)));
  }
}

void CheckJobs(const std::vector<preflight::v1::CronJob>& jobs, absl::string_view file) {
  uint32_t previous = 0;
  for (const auto& job : jobs) {
    PREFLIGHT_FUZZ_CHECK(job.line() >= 1);
    PREFLIGHT_FUZZ_CHECK(job.line() > previous);
    previous = job.line();
    PREFLIGHT_FUZZ_CHECK(job.file() == file);
    PREFLIGHT_FUZZ_CHECK(!job.schedule().empty());
    PREFLIGHT_FUZZ_CHECK(!job.user().empty());
    PREFLIGHT_FUZZ_CHECK(!job.command().empty());
    PREFLIGHT_FUZZ_CHECK(job.command().size() <= 512);
    PREFLIGHT_FUZZ_CHECK(KnownKind(job.kind()));
    PREFLIGHT_FUZZ_CHECK(!HoldsSecretAssignment(job.command()));
    // The cap (512 bytes, cut back by at most 3 to a UTF-8 boundary) may
    // have cut the marker off.
    if (job.masked()) {
      PREFLIGHT_FUZZ_CHECK(absl::StrContains(job.command(), "****") || job.command().size() >= 509);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace preflight;
  const absl::string_view content(reinterpret_cast<const char*>(data), size);

  // Crontabs, both forms.
  for (absl::string_view owner : {"root", ""}) {
    const absl::string_view file = owner.empty() ? "/etc/crontab" : "/var/spool/cron/crontabs/root";
    std::vector<v1::ParseProblem> problems;
    auto jobs = agent::ParseCrontab(content, file, owner, &problems);
    CheckJobs(jobs, file);
    if (!owner.empty()) {
      for (const auto& job : jobs) PREFLIGHT_FUZZ_CHECK(job.user() == owner);
    }
    PREFLIGHT_FUZZ_CHECK(problems.size() <= 101);
    for (const auto& p : problems) {
      PREFLIGHT_FUZZ_CHECK(p.line() >= 1);
      PREFLIGHT_FUZZ_CHECK(p.file() == file);
    }
    // A line is a job or a problem, never both.
    for (const auto& p : problems) {
      for (const auto& job : jobs) PREFLIGHT_FUZZ_CHECK(p.line() != job.line());
    }
  }
  PREFLIGHT_FUZZ_CHECK(KnownKind(agent::CronJobKind(content)));

  // Masking.
  bool masked = true;
  const std::string out = agent::MaskSecrets(content, &masked);
  if (!masked) {
    PREFLIGHT_FUZZ_CHECK(out == content);
  } else {
    PREFLIGHT_FUZZ_CHECK(absl::StrContains(out, agent::kMasked));
  }
  CheckPassphrasesGone(content, out);
  PREFLIGHT_FUZZ_CHECK(!HoldsSecretAssignment(out));
  // Lines are masked one by one: the line structure stays.
  PREFLIGHT_FUZZ_CHECK(std::count(out.begin(), out.end(), '\n') ==
                       std::count(content.begin(), content.end(), '\n'));

  // Restore logs.
  v1::RestoreLog log;
  agent::ScanRestoreLog(content, log);
  PREFLIGHT_FUZZ_CHECK(log.error_lines() <= log.lines());
  PREFLIGHT_FUZZ_CHECK(log.error_line_numbers_size() <= 20);
  PREFLIGHT_FUZZ_CHECK(static_cast<uint32_t>(log.error_line_numbers_size()) <= log.error_lines());
  uint32_t previous = 0;
  for (uint32_t n : log.error_line_numbers()) {
    PREFLIGHT_FUZZ_CHECK(n > previous && n <= log.lines());
    previous = n;
  }
  PREFLIGHT_FUZZ_CHECK(log.tail_size() <= 5);
  for (const std::string& line : log.tail()) {
    PREFLIGHT_FUZZ_CHECK(line.size() <= 200);
    PREFLIGHT_FUZZ_CHECK(line.find('\n') == std::string::npos);
    PREFLIGHT_FUZZ_CHECK(!HoldsSecretAssignment(line));
  }
  PREFLIGHT_FUZZ_CHECK(log.last_time_unix() >= 0);
  return 0;
}
