// A fact collector gathers one fact kind from a HostEnv into a FactReport.
// Collectors never judge; they record what they saw, where, and how gathering
// went (Collection), so the collector service can tell absent from unreadable.
#ifndef PREFLIGHT_AGENT_FACTS_FACT_COLLECTOR_H_
#define PREFLIGHT_AGENT_FACTS_FACT_COLLECTOR_H_

#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/host/host_env.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::agent {

struct CollectOptions {
  size_t max_file_bytes = 4 << 20;  // cap on any host file read
};

class FactCollector {
 public:
  virtual ~FactCollector() = default;
  // Stable name of the fact kind, e.g. "sshd".
  virtual absl::string_view name() const = 0;
  // Fills this kind's field of `report` and returns that field's Collection
  // (never null). Must not crash on any host content; problems go into the
  // Collection and the fact's ParseProblems.
  virtual v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                                  v1::FactReport& report) = 0;
};

// Every built-in fact collector, in report order. The one explicit list: add a
// new fact kind here.
std::vector<std::unique_ptr<FactCollector>> BuiltinCollectors();

// Runs every collector and fills the report's header (hostname, time, root).
// Sequence and agent instance are assigned by the spool.
v1::FactReport CollectReport(HostEnv& env, const CollectOptions& options,
                             const std::vector<std::unique_ptr<FactCollector>>& collectors);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_FACT_COLLECTOR_H_
