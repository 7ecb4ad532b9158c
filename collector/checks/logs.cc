#include "collector/checks/check.h"

namespace preflight::collector {

void RegisterLogChecks(CheckRegistry&) {}

}  // namespace preflight::collector
