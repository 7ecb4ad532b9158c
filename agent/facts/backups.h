// Fact kind "backups": the backup directory's inventory (dated and labelled
// directories, provisioning artefacts, sizes), backup-related cron jobs from
// the user crontabs, /etc/crontab and /etc/cron.d (secrets masked), and the
// restore log's last lines (time, errors; masked).
#ifndef PREFLIGHT_AGENT_FACTS_BACKUPS_H_
#define PREFLIGHT_AGENT_FACTS_BACKUPS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// Classifies a backup directory entry by name: YYYY-MM-DD directories (a
// real date) are DATED, the provisioning artefacts (test_connection.txt,
// downloaded_from_backup.txt) are ARTEFACT, other directories are LABELLED
// (with the first real YYYY-MM-DD in the label as date), other files OTHER.
v1::BackupEntry ClassifyBackupEntry(absl::string_view name, bool is_dir);

// Scans a restore log: line count, error lines (whole file; the last 20
// line numbers), the newest timestamp in the last 50 lines, and the last 5
// non-empty lines, masked and capped at 200 bytes. Leaves path, present,
// size and mtime alone.
void ScanRestoreLog(absl::string_view content, v1::RestoreLog& log);

// Whether a log line reports an error ("error", "failed", "fatal",
// "cannot", "No such file", "Permission denied", "command not found", a
// non-zero exit code), not counting "0 errors", "\"failed\":0" and the like.
bool RestoreLogErrorLine(absl::string_view line);

// The newest timestamp in a log line, as Unix seconds; 0 when none.
// Understands "2026-11-26 01:00:03", "2026-11-26T01:00:03Z" (optionally with
// fractions and an offset) and date(1)'s "Thu Nov 26 01:00:03 UTC 2026".
// Times without an offset, and zone abbreviations, are taken as UTC.
int64_t LogLineTime(absl::string_view line);

std::unique_ptr<FactCollector> MakeBackupsCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_BACKUPS_H_
