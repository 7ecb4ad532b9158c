// Check area "application", item 15: evidence beside the sign-off
// data.test_cleared from the test_data fact (records created before go-live,
// the test data set's seed users and offices, the reset marker).
#include "collector/checks/check.h"

namespace preflight::collector {

void RegisterTestDataChecks(CheckRegistry & /*registry*/) {}

} // namespace preflight::collector
