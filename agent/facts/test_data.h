// Fact kind "test_data" (checklist item 15): registrations per creation day,
// the test data set's seed users and offices still present, and the newest
// migration applied, as counts. Off unless the agent's config enables
// application { test_data: true }.
#ifndef PREFLIGHT_AGENT_FACTS_TEST_DATA_H_
#define PREFLIGHT_AGENT_FACTS_TEST_DATA_H_

#include <memory>

#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// The error of the test_data kind when its source is off.
inline constexpr char kTestDataOff[] =
    "test data is off: set application { test_data: true } in the agent's "
    "config";

// Reads no other fact. Options: application_test_data.
std::unique_ptr<FactCollector> MakeTestDataCollector();

} // namespace preflight::agent

#endif // PREFLIGHT_AGENT_FACTS_TEST_DATA_H_
