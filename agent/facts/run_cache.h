// RunCache: a HostEnv that runs each command once. CollectReport wraps the
// host in one per collection, so fact kinds that read the same source (the
// "services" and "app_config" kinds both read `docker service ls` and
// `docker service inspect`) share one run of it instead of forking the
// command again: a collection is one look at the host. The Docker listings
// of agent/facts/docker_api_listings.h are answered from the Engine API when
// its socket answers, and so is every `docker exec` (agent/facts/
// docker_api_exec.h), without forking the CLI. Everything else is passed
// through unchanged.
#ifndef PREFLIGHT_AGENT_FACTS_RUN_CACHE_H_
#define PREFLIGHT_AGENT_FACTS_RUN_CACHE_H_

#include <map>
#include <string>
#include <vector>

#include "agent/facts/docker_api_listings.h"
#include "agent/host/host_env.h"

namespace preflight::agent {

class RunCache : public HostEnv {
 public:
  // `host` must outlive this.
  explicit RunCache(HostEnv& host) : host_(host) {}

  // The first Run of an argv runs it on the host; later ones with the same
  // argv return that result (or error) again, whatever their timeout.
  // A Docker listing is read from the Engine API first (DockerApiListings),
  // and a `docker exec` run through it (DockerApiExec).
  absl::StatusOr<CommandResult> Run(const std::vector<std::string>& argv,
                                    absl::Duration timeout) override;

  absl::StatusOr<FileData> ReadFile(absl::string_view path, size_t max_bytes) override {
    return host_.ReadFile(path, max_bytes);
  }
  absl::StatusOr<FileInfo> Stat(absl::string_view path) override { return host_.Stat(path); }
  absl::StatusOr<std::string> ReadLink(absl::string_view path) override {
    return host_.ReadLink(path);
  }
  absl::StatusOr<std::vector<DirEntry>> ListDir(absl::string_view path) override {
    return host_.ListDir(path);
  }
  absl::StatusOr<FsStats> StatFs(absl::string_view path) override { return host_.StatFs(path); }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ReadLinksIn(
      absl::string_view dir) override {
    return host_.ReadLinksIn(dir);
  }
  absl::StatusOr<std::vector<std::string>> ProbeTls(const std::string& address,
                                                    const std::string& sni,
                                                    absl::Duration timeout) override {
    return host_.ProbeTls(address, sni, timeout);
  }
  absl::StatusOr<std::vector<std::string>> ProbeSmtpTls(const std::string& address,
                                                        const std::string& sni, bool starttls,
                                                        absl::Duration timeout) override {
    return host_.ProbeSmtpTls(address, sni, starttls, timeout);
  }
  absl::StatusOr<std::vector<std::string>> ResolveName(const std::string& name) override {
    return host_.ResolveName(name);
  }
  absl::StatusOr<std::vector<std::string>> LocalAddresses() override {
    return host_.LocalAddresses();
  }
  absl::StatusOr<DockerApiResponse> DockerGet(const std::string& target,
                                              absl::Duration timeout) override {
    return host_.DockerGet(target, timeout);
  }
  absl::StatusOr<DockerApiResponse> DockerPost(const std::string& target, const std::string& body,
                                               absl::Duration timeout) override {
    return host_.DockerPost(target, body, timeout);
  }
  bool live() const override { return host_.live(); }
  const std::string& root() const override { return host_.root(); }

 private:
  HostEnv& host_;
  DockerApiListings docker_api_;
  std::map<std::vector<std::string>, absl::StatusOr<CommandResult>> runs_;
};

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_RUN_CACHE_H_
