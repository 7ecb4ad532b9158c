#include "agent/facts/services.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/facts/mask.h"

namespace preflight::agent {

namespace {

constexpr size_t kMaxUpdateMessage = 300;

// Cuts at most `max` bytes without splitting a UTF-8 sequence.
std::string Cut(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s;
}

class ServicesCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "services"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::ServicesFact& fact = *report.mutable_services();
    v1::Collection* collection = fact.mutable_collection();
    fact.set_enabled(options.application_docker);
    if (SourceOff(options.application_docker, kApplicationOff, *collection)) return collection;
    DockerServices services = ReadDockerServices(env);
    fact.set_source(services.source);
    ApplyTo(services, *collection);
    for (const DockerService& s : services.services) *fact.add_services() = DescribeService(s);
    return collection;
  }
};

}  // namespace

v1::ServiceState DescribeService(const DockerService& service) {
  v1::ServiceState s;
  s.set_name(service.name);
  s.set_image(ImageWithoutDigest(service.image));
  s.set_version(ImageTag(service.image).substr(0, 128));
  s.set_mode(service.mode);
  s.set_replicas_known(service.replicas_known);
  s.set_running(service.running);
  s.set_desired(service.desired);
  s.set_update_state(service.update_state);
  // Masked first, then cut: a cut secret would no longer look like one.
  s.set_update_message(Cut(MaskSecrets(service.update_message), kMaxUpdateMessage));
  s.set_core(IsCoreService(service));
  s.set_countryconfig(IsCountryconfigService(service.name));
  return s;
}

std::unique_ptr<FactCollector> MakeServicesCollector() {
  return std::make_unique<ServicesCollector>();
}

}  // namespace preflight::agent
