// Fact kind "backups": the backup directory's inventory (dated and labelled
// directories, provisioning artefacts, sizes), backup-related cron jobs from
// root's crontab, /etc/crontab and /etc/cron.d (secrets masked), and the
// restore log's last lines (time, errors; masked).
#ifndef PREFLIGHT_AGENT_FACTS_BACKUPS_H_
#define PREFLIGHT_AGENT_FACTS_BACKUPS_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// Classifies a backup directory entry by name: YYYY-MM-DD directories are
// DATED, the provisioning artefacts are ARTEFACT, other directories are
// LABELLED, other files OTHER. Sets date for dated entries.
v1::BackupEntry ClassifyBackupEntry(absl::string_view name, bool is_dir);

// Scans a restore log: line count, errors, newest timestamp in the last
// lines, and a masked tail.
void ScanRestoreLog(absl::string_view content, v1::RestoreLog& log);

std::unique_ptr<FactCollector> MakeBackupsCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_BACKUPS_H_
