#include "collector/checks/check.h"

namespace preflight::collector {

void RegisterBackupChecks(CheckRegistry&) {}

}  // namespace preflight::collector
