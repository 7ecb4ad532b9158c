// Check area "application", item 10: evidence beside the sign-off
// admin.password_changed from the admin_passwords fact (whether the default
// administrator passwords still work, compared on the host).
#include "collector/checks/check.h"

namespace preflight::collector {

void RegisterAdminPasswordChecks(CheckRegistry & /*registry*/) {}

} // namespace preflight::collector
