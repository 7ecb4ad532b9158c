#include "agent/facts/test_data.h"

namespace preflight::agent {
namespace {

class Collector : public FactCollector {
public:
  absl::string_view name() const override { return "test_data"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection *Collect(HostEnv & /*env*/, const CollectOptions &options,
                          v1::FactReport &report) override {
    v1::TestDataFact &fact = *report.mutable_test_data();
    v1::Collection *collection = fact.mutable_collection();
    fact.set_enabled(options.application_test_data);
    if (!options.application_test_data) {
      collection->set_state(v1::Collection::ABSENT);
      collection->set_error(kTestDataOff);
      return collection;
    }
    collection->set_state(v1::Collection::ERROR);
    collection->set_error("not built yet");
    return collection;
  }
};

} // namespace

std::unique_ptr<FactCollector> MakeTestDataCollector() {
  return std::make_unique<Collector>();
}

} // namespace preflight::agent
