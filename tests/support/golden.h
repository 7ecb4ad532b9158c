// Runs a fixture host root through the agent's collectors and the collector's
// checks, in process, with the volatile parts (times, the root path) fixed.
#ifndef PREFLIGHT_TESTS_SUPPORT_GOLDEN_H_
#define PREFLIGHT_TESTS_SUPPORT_GOLDEN_H_

#include <string>

#include "preflight/v1/config.pb.h"
#include "preflight/v1/facts.pb.h"
#include "preflight/v1/verdict.pb.h"

namespace preflight::testing {

struct GoldenScenario {
  v1::InventoryHost host;
  v1::FactReport facts;
  v1::HostVerdicts verdicts;
};

// The inventory entry a fixture is evaluated as: "backup*" fixtures are
// backup servers, "staging*" staging, "*worker*" production workers,
// everything else a production manager.
v1::InventoryHost FixtureHost(const std::string& name);

// The fixture fleet's policy: go-live 2025-12-15, latest release v1.9.0,
// tls_hostnames opencrvs.example.gov with the fixture CA trusted
// (tests/fixtures/make_fixtures.py dates its hosts around 2026-01-01).
v1::Policy FixturePolicy();

// The fixture CA (tests/fixtures/tls/): agents in tests use it as tls_ca_file.
std::string FixtureCaFile();

// Collects tests/fixtures/hosts/<name> and evaluates it with the default
// policy, FixturePolicy(), and `policy` overrides on top.
GoldenScenario RunScenario(const std::string& name, const v1::Policy& policy = {});

// Every evidence line of a verdict as "message @ source\n", for assertions
// and failure messages.
std::string EvidenceText(const v1::Verdict& verdict);

// The verdict of `check` in `scenario` (a default Verdict if absent).
v1::Verdict VerdictOf(const GoldenScenario& scenario, const std::string& check);

}  // namespace preflight::testing

#endif  // PREFLIGHT_TESTS_SUPPORT_GOLDEN_H_
