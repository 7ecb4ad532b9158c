// Check area "backups": checklist items 16 (test backups deleted) and 4
// (production backups restore on staging: the evidence beside the manual
// sign-off), and backup.recent beyond the checklist.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "collector/checks/check.h"

namespace preflight::collector {
namespace {

std::string DateTime(int64_t unix) { return UtcMinute(absl::FromUnixSeconds(unix)); }

// Midnight UTC of a YYYY-MM-DD date.
bool ParseDay(const std::string& date, absl::Time* out) {
  std::string err;
  return absl::ParseTime("%Y-%m-%d", date, absl::UTCTimeZone(), out, &err);
}

std::string CronSource(const v1::CronJob& job) { return SourceOf(job.file(), job.line()); }

std::string BackupDir(const v1::BackupsFact& fact) {
  return fact.backup_dir().empty() ? "/home/backup/backups" : fact.backup_dir();
}

v1::Verdict TestBackupsDeleted(const v1::FactReport& report, const EvalContext& ctx) {
  const v1::BackupsFact& fact = report.backups();
  const std::string dir = BackupDir(fact);
  v1::Verdict unusable = UnusableFact(report, fact, "backup inventory", dir);
  if (unusable.status() != v1::CHECK_STATUS_UNSPECIFIED) return unusable;
  if (!fact.dir_present()) {
    return MakeVerdict(
        v1::WARN, {MakeEvidence(absl::StrCat("no backup directory ", dir,
                                             ": no backups to judge (is the agent's backup_dir "
                                             "right?)"),
                                dir, "absent", "the backup directory")});
  }
  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = v1::PASS;
  absl::Time go_live;
  const bool have_go_live =
      !ctx.params.Str("go_live_date").empty() && ParseDay(ctx.params.Str("go_live_date"), &go_live);
  if (!have_go_live) {
    status = v1::UNKNOWN;
    evidence.push_back(MakeEvidence(
        ctx.params.Str("go_live_date").empty()
            ? "the policy has no go_live_date: backups before go-live cannot be told apart"
            : absl::StrCat("the policy's go_live_date '", ctx.params.Str("go_live_date"),
                           "' is not YYYY-MM-DD"),
        "policy", ctx.params.Str("go_live_date"), "go_live_date: YYYY-MM-DD"));
  }
  int dated = 0;
  std::vector<std::string> artefacts;
  for (const v1::BackupEntry& e : fact.entries()) {
    const std::string path = absl::StrCat(dir, "/", e.name());
    absl::Time day;
    const bool before_go_live =
        have_go_live && !e.date().empty() && ParseDay(e.date(), &day) && day < go_live;
    switch (e.kind()) {
      case v1::BackupEntry::DATED:
        ++dated;
        if (before_go_live) {
          status = Worst(status, v1::FAIL);
          evidence.push_back(
              MakeEvidence(absl::StrCat("backup ", e.name(), " (", e.files(), " file(s), ",
                                        e.size_bytes(), " bytes) predates go-live ",
                                        ctx.params.Str("go_live_date"), ": a test backup"),
                           path, e.date(), absl::StrCat(">= ", ctx.params.Str("go_live_date"))));
        }
        break;
      case v1::BackupEntry::LABELLED:
        status = Worst(status, before_go_live ? v1::FAIL : v1::WARN);
        evidence.push_back(MakeEvidence(
            absl::StrCat("labelled backup directory ", e.name(), " (", e.files(), " file(s), ",
                         e.size_bytes(), " bytes) is never deleted by rotate_backups.sh",
                         before_go_live ? absl::StrCat(", and its date predates go-live ",
                                                       ctx.params.Str("go_live_date"))
                                        : ""),
            path, "labelled", "dated YYYY-MM-DD directories only"));
        break;
      case v1::BackupEntry::ARTEFACT:
        artefacts.push_back(e.name());
        break;
      default:
        status = Worst(status, v1::WARN);
        evidence.push_back(MakeEvidence(
            absl::StrCat("unexpected file ", e.name(), " (", e.size_bytes(),
                         " bytes) beside the dated backups; rotation never deletes it"),
            path, "file", "dated YYYY-MM-DD directories only"));
    }
  }
  const uint32_t keep = ctx.params.Uint("backup_retention_count");
  if (dated > static_cast<int>(keep)) {
    status = Worst(status, v1::WARN);
    evidence.push_back(MakeEvidence(absl::StrCat(dated, " dated backups, more than the ", keep,
                                                 " rotation keeps: is rotate_backups.sh running?"),
                                    dir, absl::StrCat(dated), absl::StrCat("<= ", keep)));
  }
  if (fact.entries_truncated()) {
    status = Worst(status, v1::UNKNOWN);
    evidence.push_back(MakeEvidence("the backup directory walk stopped at its bound", dir));
  }
  if (!artefacts.empty()) {
    evidence.push_back(MakeEvidence(
        absl::StrCat("provisioning artefacts, not test backups: ", absl::StrJoin(artefacts, ", ")),
        dir));
  }
  if (status == v1::PASS) {
    evidence.insert(evidence.begin(),
                    MakeEvidence(absl::StrCat(dated, " dated backup(s), none before go-live ",
                                              ctx.params.Str("go_live_date"), ", no labelled ones"),
                                 dir, absl::StrCat(dated, " dated"), "none before go-live"));
  }
  return MakeVerdict(status, std::move(evidence));
}

v1::Verdict BackupRecent(const v1::FactReport& report, const EvalContext& ctx) {
  const bool backup_server = HasRole(ctx.host, "backup");
  const bool production_manager =
      HasRole(ctx.host, "manager") && ctx.host.environment() == "production";
  if (!backup_server && !production_manager) {
    return MakeVerdict(
        v1::NOT_APPLICABLE,
        {MakeEvidence(
            absl::StrCat("backups are taken on production's manager and kept on the "
                         "backup server; this host is a ",
                         ctx.host.environment(), " ", absl::StrJoin(ctx.host.roles(), ", ")),
            "inventory")});
  }
  const v1::BackupsFact& fact = report.backups();
  const std::string dir = BackupDir(fact);
  v1::Verdict unusable = UnusableFact(report, fact, "backups", "crontabs");
  if (unusable.status() != v1::CHECK_STATUS_UNSPECIFIED) return unusable;
  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = v1::PASS;
  if (production_manager) {
    const v1::CronJob* job = nullptr;
    for (const v1::CronJob& j : fact.cron_jobs()) {
      if (j.kind() == "backup" && job == nullptr) job = &j;
    }
    if (job == nullptr) {
      status = v1::FAIL;
      evidence.push_back(MakeEvidence(
          absl::StrCat("no nightly backup job (backup.sh) in root's crontab, /etc/crontab or "
                       "/etc/cron.d (crontabs read: ",
                       fact.cron_files().empty() ? std::string("none")
                                                 : absl::StrJoin(fact.cron_files(), ", "),
                       ")"),
          "crontabs", "absent", "a cron job running backup.sh"));
    } else {
      evidence.push_back(MakeEvidence(
          absl::StrCat("backup job '", job->schedule(), "' as ", job->user(), ": ", job->command()),
          CronSource(*job), job->schedule(), "nightly"));
    }
  }
  if (backup_server) {
    const v1::BackupEntry* newest = nullptr;
    for (const v1::BackupEntry& e : fact.entries()) {
      if (e.kind() != v1::BackupEntry::DATED) continue;
      if (newest == nullptr || e.date() > newest->date()) newest = &e;
    }
    absl::Time day;
    if (!fact.dir_present() || newest == nullptr) {
      status = v1::FAIL;
      evidence.push_back(MakeEvidence(absl::StrCat("no dated backup in ", dir), dir, "none",
                                      "a backup from the last night"));
    } else if (ParseDay(newest->date(), &day)) {
      const absl::Duration age = ctx.now - day;
      const absl::Duration max_age = absl::Hours(ctx.params.Uint("backup_max_age_hours"));
      const std::string what =
          absl::StrCat("newest backup ", newest->name(), " (", newest->files(), " file(s), ",
                       newest->size_bytes(), " bytes), ", absl::ToInt64Hours(age), " h old");
      if (age > max_age) status = v1::FAIL;
      if (newest->files() == 0 || newest->size_bytes() == 0) {
        status = v1::FAIL;
        evidence.push_back(MakeEvidence(absl::StrCat(what, "; it is empty"),
                                        absl::StrCat(dir, "/", newest->name()), "empty",
                                        "an encrypted archive"));
      } else {
        evidence.push_back(
            MakeEvidence(what, absl::StrCat(dir, "/", newest->name()),
                         absl::StrCat(absl::ToInt64Hours(age), " h"),
                         absl::StrCat("<= ", ctx.params.Uint("backup_max_age_hours"), " h")));
      }
    }
  }
  return MakeVerdict(status, std::move(evidence));
}

// Evidence beside the manual sign-off of backup.restore_verified: staging's
// download and restore jobs and what the restore log last said. PASS here
// only means the evidence looks right; the item still needs an attestation
// (a restore that leaves Postgres empty has been reported since v1.9).
v1::Verdict RestoreEvidence(const v1::FactReport& report, const EvalContext&) {
  const v1::BackupsFact& fact = report.backups();
  v1::Verdict unusable = UnusableFact(report, fact, "restore job", "crontabs");
  if (unusable.status() != v1::CHECK_STATUS_UNSPECIFIED) return unusable;
  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = v1::PASS;
  for (const char* kind : {"download", "restore"}) {
    const v1::CronJob* job = nullptr;
    for (const v1::CronJob& j : fact.cron_jobs()) {
      if (j.kind() == kind && job == nullptr) job = &j;
    }
    if (job == nullptr) {
      status = v1::FAIL;
      evidence.push_back(
          MakeEvidence(absl::StrCat("no nightly ", kind, " job (", kind, ".sh) in any crontab"),
                       "crontabs", "absent", absl::StrCat(kind, ".sh scheduled")));
    } else {
      evidence.push_back(MakeEvidence(
          absl::StrCat(kind, " job '", job->schedule(), "' as ", job->user(), ": ", job->command()),
          CronSource(*job), job->schedule(), "nightly"));
    }
  }
  const v1::RestoreLog& log = fact.restore_log();
  const std::string path = log.path().empty() ? "/var/log/opencrvs-restore.log" : log.path();
  if (!log.present()) {
    status = v1::FAIL;
    evidence.push_back(
        MakeEvidence("no restore log: no restore has run", path, "absent", "a recent restore"));
  } else {
    std::string when = log.last_time_unix() != 0
                           ? DateTime(log.last_time_unix())
                           : absl::StrCat("no time in its last lines (file modified ",
                                          DateTime(log.mtime_unix()), ")");
    std::vector<std::string> lines;
    for (uint32_t l : log.error_line_numbers()) lines.push_back(absl::StrCat(l));
    if (log.error_lines() > 0) status = Worst(status, v1::WARN);
    evidence.push_back(
        MakeEvidence(absl::StrCat("last restore logged ", when, "; ",
                                  log.error_lines() == 0
                                      ? std::string("no error lines")
                                      : absl::StrCat(log.error_lines(), " error line(s) (lines ",
                                                     absl::StrJoin(lines, ", "), ")")),
                     path, log.error_lines() == 0 ? "no errors" : "errors", "no errors"));
    if (!log.tail().empty()) {
      evidence.push_back(MakeEvidence(
          absl::StrCat("last lines (secrets masked): ", absl::StrJoin(log.tail(), " | ")), path));
    }
  }
  return MakeVerdict(status, std::move(evidence));
}

}  // namespace

void RegisterBackupChecks(CheckRegistry& registry) {
  registry.Bind("backup.test_backups_deleted", TestBackupsDeleted);
  registry.Bind("backup.recent", BackupRecent);
  registry.Bind("backup.restore_verified", RestoreEvidence);
}

}  // namespace preflight::collector
