#include "agent/facts/admin_passwords.h"

namespace preflight::agent {
namespace {

class Collector : public FactCollector {
public:
  absl::string_view name() const override { return "admin_passwords"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection *Collect(HostEnv & /*env*/, const CollectOptions &options,
                          v1::FactReport &report) override {
    v1::AdminPasswordsFact &fact = *report.mutable_admin_passwords();
    v1::Collection *collection = fact.mutable_collection();
    fact.set_enabled(options.application_admin_passwords);
    if (!options.application_admin_passwords) {
      collection->set_state(v1::Collection::ABSENT);
      collection->set_error(kAdminPasswordsOff);
      return collection;
    }
    collection->set_state(v1::Collection::ERROR);
    collection->set_error("not built yet");
    return collection;
  }
};

} // namespace

std::unique_ptr<FactCollector> MakeAdminPasswordsCollector() {
  return std::make_unique<Collector>();
}

} // namespace preflight::agent
