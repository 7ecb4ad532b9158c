// Check area "logs": checklist item 5 (logs roll over).
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
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

// Logs OpenCRVS writes itself, including the backup server's rotate-backups
// log that no OpenCRVS stanza covers.
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

using Finding =
    std::function<void(v1::CheckStatus, std::string, std::string, std::string, std::string)>;

// Whether logrotate runs at all, as the host would run it: logrotate.timer
// under systemd; /etc/cron.daily/logrotate only where cron runs it and its
// Debian guard does not send it away ("skip in favour of systemd timer").
// Returns what schedules it, for the PASS line.
std::string Schedule(const v1::LogrotateFact& fact, const Finding& finding) {
  const std::string kWants = "/etc/systemd/system/timers.target.wants/logrotate.timer";
  const bool systemd = fact.init() == "systemd";
  const bool unknown_init = fact.init().empty();
  const bool timer_runs = fact.timer_enabled() && !fact.timer_masked() &&
                          !fact.timer_unit().empty() && (systemd || unknown_init);
  const bool cron_present = fact.cron_daily() && fact.cron_installed();
  const bool cron_runs = cron_present && (!fact.cron_daily_guarded() || fact.init() == "other");
  const std::string init = fact.init_source().empty() ? std::string("init could not be told")
                                                      : absl::StrCat("init: ", fact.init_source());
  if (timer_runs) return "logrotate.timer";
  if (cron_runs) return "/etc/cron.daily/logrotate";
  if (unknown_init && cron_present) {
    finding(v1::UNKNOWN,
            "logrotate is scheduled only by /etc/cron.daily/logrotate, which exits at once when "
            "systemd is init; which init runs this host could not be told",
            "/etc/cron.daily/logrotate", "guarded cron.daily, init unknown",
            "logrotate.timer enabled");
    return "/etc/cron.daily/logrotate (if systemd is not init)";
  }
  // Not scheduled: say exactly why.
  std::vector<std::string> why;
  if (fact.timer_masked()) {
    why.push_back("logrotate.timer is masked (/etc/systemd/system/logrotate.timer -> /dev/null)");
  } else if (!fact.timer_unit().empty() && !fact.timer_enabled()) {
    why.push_back(
        absl::StrCat("logrotate.timer (", fact.timer_unit(), ") is disabled: no ", kWants));
  } else if (fact.timer_unit().empty()) {
    why.push_back(fact.timer_enabled() ? "logrotate.timer is enabled but its unit file is missing"
                                       : "there is no logrotate.timer");
  } else if (!systemd) {
    why.push_back("logrotate.timer is enabled but systemd is not init");
  }
  if (!fact.cron_daily()) {
    why.push_back("there is no /etc/cron.daily/logrotate");
  } else if (!fact.cron_installed()) {
    why.push_back("/etc/cron.daily/logrotate exists but cron is not installed");
  } else if (fact.cron_daily_guarded() && systemd) {
    why.push_back(
        "/etc/cron.daily/logrotate exits at once because systemd is init (\"skip in favour of "
        "systemd timer\")");
  }
  finding(v1::FAIL,
          absl::StrCat("logrotate is not scheduled: ", absl::StrJoin(why, "; "), " (", init, ")"),
          fact.timer_unit().empty() ? kWants : fact.timer_unit(), "not scheduled",
          "logrotate.timer enabled (systemctl enable --now logrotate.timer)");
  return "nothing";
}

// How long a stanza's frequency lets a log go unrotated; 0 when it rotates
// only by size or the frequency is unknown. logrotate.timer runs daily, so an
// hourly stanza rotates at most daily.
absl::Duration Period(absl::string_view frequency) {
  if (frequency == "hourly" || frequency == "daily") return absl::Hours(24);
  if (frequency == "weekly") return absl::Hours(24 * 7);
  if (frequency == "monthly") return absl::Hours(24 * 31);
  if (frequency == "yearly") return absl::Hours(24 * 366);
  return absl::ZeroDuration();
}

// Logs that grow without rotating: covered by a stanza whose frequency has
// passed twice over since the status file last recorded the log (its last
// rotation, or when logrotate first saw it), not empty, not held back by a
// size threshold it has not reached, while logrotate itself runs.
void Growing(const v1::LogrotateFact& fact, int64_t last_run, absl::Time now,
             const Finding& finding) {
  if (last_run == 0) return;
  for (const v1::LogFile& log : fact.logs()) {
    if (log.covered_by().empty() || log.size_bytes() == 0 || log.last_rotated_unix() == 0) continue;
    const v1::LogrotateStanza* stanza = nullptr;
    for (const v1::LogrotateStanza& st : fact.stanzas()) {
      if (SourceOf(st.file(), st.line()) == log.covered_by()) stanza = &st;
    }
    if (stanza == nullptr) continue;
    if (stanza->size_bytes() != 0 && log.size_bytes() < stanza->size_bytes()) continue;
    const absl::Duration period = Period(stanza->frequency());
    if (period == absl::ZeroDuration()) continue;
    const absl::Time recorded = absl::FromUnixSeconds(log.last_rotated_unix());
    if (absl::FromUnixSeconds(last_run) - recorded <= 2 * period || now - recorded <= 2 * period) {
      continue;
    }
    finding(v1::WARN,
            absl::StrCat(log.path(), " (", Size(log.size_bytes()), ") grows without rotating: ",
                         log.rotated_copies() == 0 ? "no rotated copy, " : "",
                         "logrotate's state records it last on ", Date(log.last_rotated_unix()),
                         " though its stanza at ", log.covered_by(), " says ", stanza->frequency()),
            log.covered_by(), absl::StrCat("last rotated ", Date(log.last_rotated_unix())),
            absl::StrCat("rotated ", stanza->frequency()));
  }
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

  // Scheduled, as the system runs it?
  const std::string schedule = Schedule(fact, finding);
  // Run recently? logrotate rewrites its state file on every run, so the
  // file's mtime is the last run; the per-log dates inside are the last
  // rotations (a weekly-only host rotates nothing on most runs).
  const absl::Duration max_age = absl::Hours(ctx.params.Uint("logrotate_max_age_hours"));
  const std::string within =
      absl::StrCat("within ", ctx.params.Uint("logrotate_max_age_hours"), " h");
  const std::string status_file =
      fact.status_file().empty() ? "/var/lib/logrotate/status" : fact.status_file();
  const int64_t last_run =
      fact.status_mtime_unix() != 0 ? fact.status_mtime_unix() : fact.timer_last_trigger_unix();
  const std::string last_run_source = fact.status_mtime_unix() != 0
                                          ? absl::StrCat(status_file, " (its mtime)")
                                          : "/var/lib/systemd/timers/stamp-logrotate.timer";
  if (!fact.status_present() && last_run == 0) {
    finding(v1::FAIL, "logrotate has never run: it has no state file", status_file, "never",
            within);
  } else if (last_run == 0) {
    finding(v1::UNKNOWN, "when logrotate last ran cannot be told: its state file has no time",
            status_file, "no time", within);
  } else if (ctx.now - absl::FromUnixSeconds(last_run) > max_age) {
    finding(v1::FAIL,
            absl::StrCat("logrotate last ran ", Date(last_run), ", over ",
                         ctx.params.Uint("logrotate_max_age_hours"), " hours ago"),
            last_run_source, Date(last_run), within);
  }
  if (fact.timer_last_trigger_unix() != 0 && fact.status_mtime_unix() != 0 &&
      fact.timer_last_trigger_unix() - fact.status_mtime_unix() > 6 * 3600) {
    finding(v1::WARN,
            absl::StrCat("logrotate.timer last fired ", Date(fact.timer_last_trigger_unix()),
                         " but logrotate last wrote its state ", Date(fact.status_mtime_unix()),
                         ": the run fails (journalctl -u logrotate.service)"),
            "/var/lib/systemd/timers/stamp-logrotate.timer", "run failing", "state written");
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
  Growing(fact, last_run, ctx.now, finding);
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
                     fact.stanzas_size(), " stanza(s); scheduled by ", schedule, "; last run ",
                     Date(last_run),
                     fact.last_rotation_unix() != 0
                         ? absl::StrCat(", last rotation ", Date(fact.last_rotation_unix()))
                         : ""),
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
