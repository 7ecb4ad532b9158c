// RecordingEnv: the host under a root (a fixture, a temp dir, or "/" for the
// live system) through the real RootedHostEnv, recording every argv the
// code under test runs (and every Docker Engine API GET and POST), so a test can say which commands
// ran, how often, and that none carried a secret.
#ifndef PREFLIGHT_TESTS_SUPPORT_RECORDING_ENV_H_
#define PREFLIGHT_TESTS_SUPPORT_RECORDING_ENV_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/host/host_env.h"
#include "agent/host/rooted_host_env.h"

namespace preflight::testing {

class RecordingEnv : public agent::HostEnv {
 public:
  explicit RecordingEnv(const std::string& root) {
    auto env = agent::RootedHostEnv::Create(root);
    EXPECT_TRUE(env.ok()) << env.status();
    inner_ = std::move(*env);
  }
  absl::StatusOr<agent::FileData> ReadFile(absl::string_view path, size_t max_bytes) override {
    return inner_->ReadFile(path, max_bytes);
  }
  absl::StatusOr<agent::FileInfo> Stat(absl::string_view path) override {
    return inner_->Stat(path);
  }
  absl::StatusOr<std::string> ReadLink(absl::string_view path) override {
    return inner_->ReadLink(path);
  }
  absl::StatusOr<std::vector<agent::DirEntry>> ListDir(absl::string_view path) override {
    return inner_->ListDir(path);
  }
  absl::StatusOr<agent::FsStats> StatFs(absl::string_view path) override {
    return inner_->StatFs(path);
  }
  absl::StatusOr<agent::CommandResult> Run(const std::vector<std::string>& argv,
                                           absl::Duration timeout) override {
    argvs.push_back(argv);
    return inner_->Run(argv, timeout);
  }
  absl::StatusOr<std::vector<std::string>> ProbeTls(const std::string& address,
                                                    const std::string& sni,
                                                    absl::Duration timeout) override {
    return inner_->ProbeTls(address, sni, timeout);
  }
  absl::StatusOr<std::vector<std::string>> ProbeSmtpTls(const std::string& address,
                                                        const std::string& sni, bool starttls,
                                                        absl::Duration timeout) override {
    return inner_->ProbeSmtpTls(address, sni, starttls, timeout);
  }
  absl::StatusOr<agent::DockerApiResponse> DockerGet(const std::string& target,
                                                     absl::Duration timeout) override {
    gets.push_back(target);
    return inner_->DockerGet(target, timeout);
  }
  absl::StatusOr<agent::DockerApiResponse> DockerPost(const std::string& target,
                                                      const std::string& body,
                                                      absl::Duration timeout) override {
    posts.emplace_back(target, body);
    return inner_->DockerPost(target, body, timeout);
  }
  bool live() const override { return inner_->live(); }
  const std::string& root() const override { return inner_->root(); }

  // Every argv run, in order.
  std::vector<std::vector<std::string>> argvs;
  // Every Docker Engine API target read, in order.
  std::vector<std::string> gets;
  // Every Docker Engine API POST (target, body), in order: the body of an
  // exec carries its command line, so what leaves the agent is scanned too.
  std::vector<std::pair<std::string, std::string>> posts;

 private:
  std::unique_ptr<agent::HostEnv> inner_;
};

}  // namespace preflight::testing

#endif  // PREFLIGHT_TESTS_SUPPORT_RECORDING_ENV_H_
