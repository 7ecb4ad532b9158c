#include "agent/facts/release.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/facts/docker_services.h"

namespace preflight::agent {

namespace {

constexpr absl::string_view kService = "opencrvs_base";

class ReleaseCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "release"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions&, v1::FactReport& report) override {
    v1::ReleaseFact& fact = *report.mutable_release();
    v1::Collection* collection = fact.mutable_collection();
    const std::vector<std::string> argv = ServiceListArgv();
    fact.set_source("docker service ls");
    auto out = env.Run(argv, absl::Seconds(15));
    if (!out.ok()) {
      if (!absl::IsUnavailable(out.status())) {
        NoteUnreadable(*collection, "docker service ls", out.status());
      }
      // No docker here (or, under --root, no recorded output): nothing deployed
      // that we can see.
      collection->set_state(absl::IsNotFound(out.status()) || absl::IsUnavailable(out.status())
                                ? v1::Collection::ABSENT
                                : v1::Collection::ERROR);
      collection->set_error(absl::StrCat("docker service ls: ", out.status().message()));
      return collection;
    }
    if (out->exit_code != 0) {
      // "This node is not a swarm manager." on workers and the backup server.
      collection->set_state(v1::Collection::ABSENT);
      std::string err(absl::StripAsciiWhitespace(out->err.substr(0, 300)));
      // "permission denied while trying to connect to the Docker daemon
      // socket": an agent without access to docker.sock sees no services,
      // which is not "none deployed".
      if (absl::StrContains(absl::AsciiStrToLower(err), "permission denied")) {
        collection->set_state(v1::Collection::ERROR);
        NoteUnreadable(*collection, "docker service ls", absl::PermissionDeniedError(err));
      }
      collection->set_error(
          absl::StrCat("docker service ls exited ", out->exit_code, err.empty() ? "" : ": ", err));
      return collection;
    }
    if (!ParseReleaseFromServices(out->out, fact)) {
      collection->set_state(v1::Collection::ABSENT);
      collection->set_error(absl::StrCat("docker service ls lists no ", kService,
                                         " service (OpenCRVS not deployed)"));
      return collection;
    }
    collection->set_state(v1::Collection::OK);
    return collection;
  }
};

}  // namespace

bool ParseReleaseFromServices(absl::string_view out, v1::ReleaseFact& fact) {
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    if (f.size() >= 5) {
      f = {f[1], f[4]};  // kServiceListFormat: id, NAME, mode, replicas, IMAGE, ports
    } else if (f.size() != 2) {
      f = absl::StrSplit(line, absl::MaxSplits(' ', 1), absl::SkipEmpty());
    }
    if (f.size() != 2) continue;
    absl::string_view name = absl::StripAsciiWhitespace(f[0]);
    absl::string_view image = absl::StripAsciiWhitespace(f[1]);
    if (!name.empty() && fact.services_size() < 200) {
      fact.add_services(std::string(name.substr(0, 128)));
    }
    if (name != kService || image.empty() || !fact.service().empty()) continue;
    fact.set_service(std::string(name));
    fact.set_image(std::string(image.substr(0, 512)));
    fact.set_version(ImageTag(image).substr(0, 128));
  }
  return !fact.service().empty();
}

std::unique_ptr<FactCollector> MakeReleaseCollector() {
  return std::make_unique<ReleaseCollector>();
}

}  // namespace preflight::agent
