// Check area "logs": checklist item 5 (logs roll over).
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "collector/checks/check.h"

namespace preflight::collector {
namespace {

std::string Size(uint64_t bytes) {
  if (bytes >= (uint64_t{1} << 30)) {
    return absl::StrFormat("%.1f GiB", static_cast<double>(bytes) / (uint64_t{1} << 30));
  }
  if (bytes >= (uint64_t{1} << 20)) {
    return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  }
  if (bytes >= 1024) return absl::StrFormat("%.1f KiB", static_cast<double>(bytes) / 1024);
  return absl::StrCat(bytes, " bytes");
}

std::string Date(int64_t unix) { return UtcMinute(absl::FromUnixSeconds(unix)); }

// Logs OpenCRVS writes itself (opencrvs-servers.md, "Logs"), including the
// backup server's rotate-backups log that no OpenCRVS stanza covers.
bool IsOpencrvsLog(absl::string_view path) {
  if (!absl::StartsWith(path, "/var/log/")) return false;
  absl::string_view name = path.substr(9);
  if (absl::StrContains(name, "/")) return false;
  return (absl::StartsWith(name, "opencrvs-") && absl::EndsWith(name, ".log")) ||
         name == "rotate-secrets.log" || name == "papertrail.log" || name == "cryptfs-reboot.log";
}

bool IsContainerLog(absl::string_view path) {
  return absl::StartsWith(path, "/var/lib/docker/containers/") && absl::EndsWith(path, ".log");
}

v1::Verdict LogsRotation(const v1::FactReport& report, const EvalContext& ctx) {
  const v1::LogrotateFact& fact = report.logrotate();
  const std::string main_file = fact.main_file().empty() ? "/etc/logrotate.conf" : fact.main_file();
  if (fact.collection().state() == v1::Collection::ABSENT) {
    // Observed: there is no logrotate here at all.
    return MakeVerdict(
        v1::FAIL,
        {MakeEvidence(absl::StrCat("logrotate is not installed (", fact.collection().error(), ")"),
                      main_file, "absent", "logrotate installed")});
  }
  v1::Verdict unusable = UnusableFact(report, fact, "logrotate configuration", main_file);
  if (unusable.status() != v1::CHECK_STATUS_UNSPECIFIED) return unusable;

  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = v1::PASS;
  auto finding = [&](v1::CheckStatus s, std::string message, std::string source,
                     std::string observed, std::string expected) {
    status = Worst(status, s);
    evidence.push_back(MakeEvidence(std::move(message), std::move(source), std::move(observed),
                                    std::move(expected)));
  };

  // Scheduled?
  if (!fact.timer_enabled() && !fact.cron_daily()) {
    finding(v1::FAIL,
            "logrotate is not scheduled: logrotate.timer is not enabled and there is no "
            "/etc/cron.daily/logrotate",
            "/etc/systemd/system/timers.target.wants", "not scheduled",
            "logrotate.timer enabled or /etc/cron.daily/logrotate");
  }
  // Run recently?
  const absl::Duration max_age = absl::Hours(ctx.params.Uint("logrotate_max_age_hours"));
  const std::string status_file =
      fact.status_file().empty() ? "/var/lib/logrotate/status" : fact.status_file();
  if (!fact.status_present() || fact.last_run_unix() == 0) {
    finding(v1::FAIL, "logrotate has never run: its status file lists no rotation", status_file,
            "never", absl::StrCat("within ", ctx.params.Uint("logrotate_max_age_hours"), " h"));
  } else if (ctx.now - absl::FromUnixSeconds(fact.last_run_unix()) > max_age) {
    finding(v1::FAIL,
            absl::StrCat("logrotate last ran ", Date(fact.last_run_unix()), ", over ",
                         ctx.params.Uint("logrotate_max_age_hours"), " hours ago"),
            status_file, Date(fact.last_run_unix()),
            absl::StrCat("within ", ctx.params.Uint("logrotate_max_age_hours"), " h"));
  }

  // Coverage of the logs that matter, and size.
  size_t covered = 0, container_logs = 0, container_uncovered = 0;
  uint64_t container_uncovered_bytes = 0;
  for (const v1::LogFile& log : fact.logs()) {
    const bool is_covered = !log.covered_by().empty();
    covered += is_covered;
    const bool big = log.size_bytes() > ctx.params.Uint("log_max_bytes");
    const std::string size = Size(log.size_bytes());
    if (IsContainerLog(log.path())) {
      ++container_logs;
      if (!is_covered) {
        ++container_uncovered;
        container_uncovered_bytes += log.size_bytes();
      }
    }
    if (!is_covered && (IsOpencrvsLog(log.path()) || big)) {
      if (IsContainerLog(log.path()) && !big) continue;  // summarised below
      finding(v1::FAIL,
              absl::StrCat(log.path(), " (", size, ") is ",
                           big ? "over the size limit and " : "an OpenCRVS log and ",
                           "no logrotate stanza covers it"),
              log.path(), "not rotated", "covered by a logrotate stanza");
    } else if (is_covered && big) {
      finding(
          v1::WARN,
          absl::StrCat(log.path(), " is ", size, ", over ", Size(ctx.params.Uint("log_max_bytes")),
                       " though rotated by the stanza at ", log.covered_by()),
          log.covered_by(), size, absl::StrCat("< ", Size(ctx.params.Uint("log_max_bytes"))));
    }
  }
  if (container_uncovered > 0) {
    finding(
        v1::FAIL,
        absl::StrCat(container_uncovered, " of ", container_logs, " Docker container log(s) (",
                     Size(container_uncovered_bytes), ") are not covered by any logrotate stanza"),
        "/var/lib/docker/containers/*/*.log", "not rotated",
        "a stanza for /var/lib/docker/containers/*/*.log");
  }
  for (const v1::ParseProblem& p : fact.problems()) {
    evidence.push_back(MakeEvidence(absl::StrCat("logrotate would complain: ", p.message()),
                                    SourceOf(p.file(), p.line())));
  }
  if (fact.logs_truncated()) {
    evidence.push_back(
        MakeEvidence("the log walk stopped at its bound; some logs were not seen", "/var/log"));
  }
  if (status == v1::PASS) {
    evidence.push_back(MakeEvidence(
        absl::StrCat(covered, " of ", fact.logs_size(), " log file(s) covered by ",
                     fact.stanzas_size(), " stanza(s); scheduled by ",
                     fact.timer_enabled() ? "logrotate.timer" : "/etc/cron.daily/logrotate",
                     "; last run ", Date(fact.last_run_unix())),
        main_file, "rotating", "rotating"));
  }
  if (fact.has_journald()) {
    evidence.push_back(MakeEvidence(
        absl::StrCat("journald SystemMaxUse: ", fact.journald().system_max_use().empty()
                                                    ? "journald's default (10% of the filesystem)"
                                                    : fact.journald().system_max_use()),
        fact.journald().source()));
  }
  return MakeVerdict(status, std::move(evidence));
}

}  // namespace

void RegisterLogChecks(CheckRegistry& registry) { registry.Bind("logs.rotation", LogsRotation); }

}  // namespace preflight::collector
