// The HostEnv of a real file tree: "/" (live) or an image/fixture directory.
// Paths are resolved like a chroot: ".." stops at the root and symlinks, even
// absolute ones, are interpreted inside the root, so a hostile link never
// leads out of it.
#ifndef PREFLIGHT_AGENT_HOST_ROOTED_HOST_ENV_H_
#define PREFLIGHT_AGENT_HOST_ROOTED_HOST_ENV_H_

#include <memory>
#include <string>
#include <vector>

#include "agent/host/host_env.h"

namespace preflight::agent {

class RootedHostEnv : public HostEnv {
 public:
  // `root` must be an existing directory. Commands run only when root is "/".
  static absl::StatusOr<std::unique_ptr<RootedHostEnv>> Create(const std::string& root);

  absl::StatusOr<FileData> ReadFile(absl::string_view path, size_t max_bytes) override;
  absl::StatusOr<FileInfo> Stat(absl::string_view path) override;
  absl::StatusOr<std::string> ReadLink(absl::string_view path) override;
  absl::StatusOr<std::vector<DirEntry>> ListDir(absl::string_view path) override;
  absl::StatusOr<FsStats> StatFs(absl::string_view path) override;
  // One resolution of `dir`, then readlinkat for each entry.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ReadLinksIn(
      absl::string_view dir) override;
  absl::StatusOr<CommandResult> Run(const std::vector<std::string>& argv,
                                    absl::Duration timeout) override;
  // Live: a real handshake (agent/host/tls_probe.h). Under another root:
  // UNAVAILABLE.
  absl::StatusOr<std::vector<std::string>> ProbeTls(const std::string& address,
                                                    const std::string& sni,
                                                    absl::Duration timeout) override;
  // Live: an SMTP STARTTLS or implicit-TLS handshake (agent/host/tls_probe.h).
  // Under another root: UNAVAILABLE.
  absl::StatusOr<std::vector<std::string>> ProbeSmtpTls(const std::string& address,
                                                        const std::string& sni, bool starttls,
                                                        absl::Duration timeout) override;
  // Live: getaddrinfo and getifaddrs (agent/host/net_lookup.h). Under
  // another root: UNAVAILABLE (the image's resolver cannot be asked).
  absl::StatusOr<std::vector<std::string>> ResolveName(const std::string& name) override;
  absl::StatusOr<std::vector<std::string>> LocalAddresses() override;
  // Live: agent/host/docker_api.h on the CLI's socket. Under another root:
  // UNAVAILABLE (recorded CLI outputs stand in).
  absl::StatusOr<DockerApiResponse> DockerGet(const std::string& target,
                                              absl::Duration timeout) override;
  absl::StatusOr<DockerApiResponse> DockerPost(const std::string& target, const std::string& body,
                                               absl::Duration timeout) override;
  bool live() const override { return root_ == "/"; }
  const std::string& root() const override { return root_; }

  // Resolve(), for tests that check where a path really leads.
  absl::StatusOr<std::string> ResolveForTest(absl::string_view host_path, bool follow_last) const {
    return Resolve(host_path, follow_last);
  }

 private:
  explicit RootedHostEnv(std::string root) : root_(std::move(root)) {}
  // The real path of a host path, every symlink resolved inside the root.
  absl::StatusOr<std::string> Resolve(absl::string_view host_path, bool follow_last) const;
  std::string Real(const std::vector<std::string>& parts) const;

  std::string root_;
};

// Under a root other than "/", Run() reads a recorded stdout from
// <root>/.preflight/commands/<RecordedCommandKey(argv)> (and the exit code
// from the same path + ".exit", default 0; standard error from + ".err") instead of running
// anything.
inline constexpr char kRecordedCommandsDir[] = "/.preflight/commands";
// Likewise StatFs() reads recorded figures from this file under the root.
inline constexpr char kRecordedStatfsFile[] = "/.preflight/statfs";
// "iptables-save" for {"/usr/sbin/iptables-save"}, "nft_-j_list_ruleset" for
// {"nft", "-j", "list", "ruleset"}: the basename, then the arguments, joined
// by '_', every other character replaced by '_'.
std::string RecordedCommandKey(const std::vector<std::string>& argv);

// Runs argv with a timeout, capturing at most `cap` bytes of each stream.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         absl::Duration timeout, size_t cap = 1 << 20);

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_HOST_ROOTED_HOST_ENV_H_
