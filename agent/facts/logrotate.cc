#include "agent/facts/logrotate.h"

namespace preflight::agent {
namespace {

class LogrotateCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "logrotate"; }
  v1::Collection* Collect(HostEnv&, const CollectOptions&, v1::FactReport& report) override {
    v1::Collection* c = report.mutable_logrotate()->mutable_collection();
    c->set_state(v1::Collection::ABSENT);
    c->set_error("not implemented yet");
    return c;
  }
};

}  // namespace

std::unique_ptr<FactCollector> MakeLogrotateCollector() {
  return std::make_unique<LogrotateCollector>();
}

}  // namespace preflight::agent
