// HostEnv: the only way fact collectors reach the host. Paths are host paths
// ("/etc/ssh/sshd_config"); an implementation decides where they really live
// (the live system, or a directory given with --root). Every read is capped,
// and a missing or unreadable file is an error Status, never a crash.
#ifndef PREFLIGHT_AGENT_HOST_HOST_ENV_H_
#define PREFLIGHT_AGENT_HOST_HOST_ENV_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace preflight::agent {

struct FileInfo {
  enum class Type { kRegular, kDirectory, kSymlink, kOther };
  Type type = Type::kOther;
  uint64_t size = 0;
  uint32_t mode = 0;  // permission bits
  uid_t uid = 0;
  gid_t gid = 0;
  int64_t mtime_unix = 0;
};

struct FileData {
  std::string content;
  FileInfo info;
};

struct DirEntry {
  std::string name;
  FileInfo::Type type = FileInfo::Type::kOther;
};

struct FsStats {
  uint64_t block_size = 0;
  uint64_t blocks = 0;
  uint64_t blocks_free = 0;
  uint64_t blocks_available = 0;
  uint64_t files = 0;
  uint64_t files_free = 0;
};

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;     // capped
  std::string err;     // capped
  bool timed_out = false;
};

// An answer of the Docker Engine API (agent/host/docker_api.h).
struct DockerApiResponse {
  int status = 0;    // the HTTP status code
  std::string body;  // decoded (chunked transfer undone)
};

class HostEnv {
 public:
  virtual ~HostEnv() = default;

  // Reads a regular file. NOT_FOUND when absent; FAILED_PRECONDITION when it
  // is not a regular file; RESOURCE_EXHAUSTED when larger than max_bytes.
  virtual absl::StatusOr<FileData> ReadFile(absl::string_view path, size_t max_bytes) = 0;

  // Stats a path without following a final symlink.
  virtual absl::StatusOr<FileInfo> Stat(absl::string_view path) = 0;

  // The target of a symbolic link, as stored.
  virtual absl::StatusOr<std::string> ReadLink(absl::string_view path) = 0;

  // Lists a directory, sorted by name, without "." and "..".
  virtual absl::StatusOr<std::vector<DirEntry>> ListDir(absl::string_view path) = 0;

  virtual absl::StatusOr<FsStats> StatFs(absl::string_view path) = 0;

  // The symbolic links directly in directory `dir`, as (name, target as
  // stored), sorted by name; entries that are not links (or vanish) are left
  // out. For scans of many links (every /proc/PID/fd): an implementation
  // resolves the directory once and reads each link in it, instead of a
  // full path resolution per link. This default does ListDir + ReadLink.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ReadLinksIn(
      absl::string_view dir) {
    auto entries = ListDir(dir);
    if (!entries.ok()) return entries.status();
    std::vector<std::pair<std::string, std::string>> links;
    for (const DirEntry& e : *entries) {
      if (e.type != FileInfo::Type::kSymlink) continue;
      auto target = ReadLink(absl::StrCat(dir, "/", e.name));
      if (target.ok()) links.emplace_back(e.name, *std::move(target));
    }
    return links;
  }

  // Runs argv (no shell) with a timeout and output caps. UNAVAILABLE when
  // commands cannot run here (e.g. reading an image with --root).
  virtual absl::StatusOr<CommandResult> Run(const std::vector<std::string>& argv,
                                            absl::Duration timeout) = 0;

  // Connects to `address` (host:port) over TLS with `sni` and returns the
  // certificate chain the server presents, leaf first, as PEM. No
  // verification here: the caller judges. UNAVAILABLE when not live.
  virtual absl::StatusOr<std::vector<std::string>> ProbeTls(const std::string& address,
                                                            const std::string& sni,
                                                            absl::Duration timeout) = 0;

  // Connects to the SMTP server at `address` (host:port) and, with
  // `starttls`, reads its greeting, sends EHLO and STARTTLS; then performs a
  // TLS handshake with SNI `sni` and returns the presented chain, leaf first,
  // as PEM, and says QUIT. Never sends mail, never authenticates. No
  // verification here: the caller judges. UNAVAILABLE when not live.
  virtual absl::StatusOr<std::vector<std::string>> ProbeSmtpTls(const std::string& address,
                                                                const std::string& /*sni*/,
                                                                bool /*starttls*/,
                                                                absl::Duration /*timeout*/) {
    return absl::UnavailableError(
        absl::StrCat("SMTP handshake with ", address, ": not the live system"));
  }

  // Resolves `name` with the system resolver (getaddrinfo: nsswitch, so
  // /etc/hosts and DNS) to numeric addresses. UNAVAILABLE when not live.
  virtual absl::StatusOr<std::vector<std::string>> ResolveName(const std::string& name) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", name, ": not the live system"));
  }

  // The addresses of this host's network interfaces. UNAVAILABLE when not
  // live.
  virtual absl::StatusOr<std::vector<std::string>> LocalAddresses() {
    return absl::UnavailableError("interface addresses: not the live system");
  }

  // GET `target` ("/v1.41/services?status=true") from the Docker Engine API
  // over the daemon's unix socket, instead of forking the Docker CLI for a
  // listing (agent/facts/docker_api_listings.h). UNAVAILABLE when not live,
  // or when the socket cannot be reached: the CLI is run then.
  virtual absl::StatusOr<DockerApiResponse> DockerGet(const std::string& target,
                                                      absl::Duration /*timeout*/) {
    return absl::UnavailableError(
        absl::StrCat("Docker Engine API GET ", target, ": not the live system"));
  }

  // POST the JSON `body` to `target` of the Docker Engine API, read to the
  // end of the connection (a started exec answers with its raw output
  // stream): how a `docker exec` runs without forking the CLI
  // (agent/facts/docker_api_exec.h). UNAVAILABLE when not live, or when the
  // socket cannot be reached: the CLI is run then.
  virtual absl::StatusOr<DockerApiResponse> DockerPost(const std::string& target,
                                                       const std::string& /*body*/,
                                                       absl::Duration /*timeout*/) {
    return absl::UnavailableError(
        absl::StrCat("Docker Engine API POST ", target, ": not the live system"));
  }

  // True when this is the running system ("/"), false for an image or fixture.
  virtual bool live() const = 0;

  // The directory host paths are resolved under ("/" when live).
  virtual const std::string& root() const = 0;
};

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_HOST_HOST_ENV_H_
