#include "agent/facts/backups.h"

namespace preflight::agent {
namespace {

class BackupsCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "backups"; }
  v1::Collection* Collect(HostEnv&, const CollectOptions&, v1::FactReport& report) override {
    v1::Collection* c = report.mutable_backups()->mutable_collection();
    c->set_state(v1::Collection::ABSENT);
    c->set_error("not implemented yet");
    return c;
  }
};

}  // namespace

std::unique_ptr<FactCollector> MakeBackupsCollector() {
  return std::make_unique<BackupsCollector>();
}

}  // namespace preflight::agent
