#include "agent/host/rooted_host_env.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "agent/host/docker_api.h"
#include "agent/host/fd.h"
#include "agent/host/net_lookup.h"
#include "agent/host/tls_probe.h"
#include "proto/wire/status.h"

namespace preflight::agent {
namespace {

constexpr int kMaxSymlinks = 40;

FileInfo::Type TypeOf(mode_t mode) {
  if (S_ISREG(mode)) return FileInfo::Type::kRegular;
  if (S_ISDIR(mode)) return FileInfo::Type::kDirectory;
  if (S_ISLNK(mode)) return FileInfo::Type::kSymlink;
  return FileInfo::Type::kOther;
}

FileInfo InfoOf(const struct stat& st) {
  FileInfo info;
  info.type = TypeOf(st.st_mode);
  info.size = static_cast<uint64_t>(st.st_size);
  info.mode = st.st_mode & 07777;
  info.uid = st.st_uid;
  info.gid = st.st_gid;
  info.mtime_unix = st.st_mtim.tv_sec;
  return info;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RootedHostEnv>> RootedHostEnv::Create(const std::string& root) {
  if (root.empty() || root[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("root '", root, "' must be an absolute path"));
  }
  struct stat st;
  if (stat(root.c_str(), &st) != 0) return ErrnoToStatus(errno, absl::StrCat("root ", root));
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("root ", root, " is not a directory"));
  }
  std::string clean = root;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  return std::unique_ptr<RootedHostEnv>(new RootedHostEnv(clean));
}

std::string RootedHostEnv::Real(const std::vector<std::string>& parts) const {
  std::string joined = absl::StrJoin(parts, "/");
  if (root_ == "/") return absl::StrCat("/", joined);
  return parts.empty() ? root_ : absl::StrCat(root_, "/", joined);
}

absl::StatusOr<std::string> RootedHostEnv::Resolve(absl::string_view host_path,
                                                   bool follow_last) const {
  if (host_path.empty() || host_path[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("'", host_path, "' is not an absolute path"));
  }
  std::deque<std::string> pending;
  for (absl::string_view p : absl::StrSplit(host_path, '/', absl::SkipEmpty())) {
    pending.emplace_back(p);
  }
  std::vector<std::string> done;
  int links = 0;
  while (!pending.empty()) {
    std::string part = std::move(pending.front());
    pending.pop_front();
    if (part == ".") continue;
    if (part == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    done.push_back(part);
    bool last = pending.empty();
    if (last && !follow_last) break;
    std::string real = Real(done);
    struct stat st;
    if (lstat(real.c_str(), &st) != 0) {
      if (errno == ENOENT && last) break;  // the caller reports it
      return ErrnoToStatus(errno, absl::StrCat("stat ", host_path));
    }
    if (!S_ISLNK(st.st_mode)) continue;
    if (++links > kMaxSymlinks) {
      return absl::InvalidArgumentError(absl::StrCat(host_path, ": too many symbolic links"));
    }
    char buf[4096];
    ssize_t n = readlink(real.c_str(), buf, sizeof buf);
    if (n < 0) return ErrnoToStatus(errno, absl::StrCat("readlink ", host_path));
    if (static_cast<size_t>(n) >= sizeof buf) {
      return absl::InvalidArgumentError(absl::StrCat(host_path, ": symbolic link too long"));
    }
    absl::string_view target(buf, static_cast<size_t>(n));
    done.pop_back();
    if (!target.empty() && target[0] == '/') done.clear();
    std::vector<absl::string_view> target_parts = absl::StrSplit(target, '/', absl::SkipEmpty());
    for (auto it = target_parts.rbegin(); it != target_parts.rend(); ++it) {
      pending.emplace_front(*it);
    }
  }
  return Real(done);
}

absl::StatusOr<FileData> RootedHostEnv::ReadFile(absl::string_view path, size_t max_bytes) {
  ASSIGN_OR_RETURN(std::string real, Resolve(path, /*follow_last=*/true));
  UniqueFd fd(open(real.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) return ErrnoToStatus(errno, absl::StrCat("open ", path));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoToStatus(errno, absl::StrCat("stat ", path));
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(path, " is ", st.st_size, " bytes, over the cap of ", max_bytes));
  }
  FileData data;
  data.info = InfoOf(st);
  // Read to EOF rather than st_size: /proc files report size 0, and a file
  // may grow while it is read. Never more than max_bytes.
  char buf[64 * 1024];
  while (true) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, absl::StrCat("read ", path));
    }
    if (n == 0) break;
    if (data.content.size() + static_cast<size_t>(n) > max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat(path, " is over the cap of ", max_bytes, " bytes"));
    }
    data.content.append(buf, static_cast<size_t>(n));
  }
  return data;
}

absl::StatusOr<FileInfo> RootedHostEnv::Stat(absl::string_view path) {
  ASSIGN_OR_RETURN(std::string real, Resolve(path, /*follow_last=*/false));
  struct stat st;
  if (lstat(real.c_str(), &st) != 0) return ErrnoToStatus(errno, absl::StrCat("stat ", path));
  return InfoOf(st);
}

absl::StatusOr<std::string> RootedHostEnv::ReadLink(absl::string_view path) {
  ASSIGN_OR_RETURN(std::string real, Resolve(path, /*follow_last=*/false));
  char buf[4096];
  ssize_t n = readlink(real.c_str(), buf, sizeof buf);
  if (n < 0) return ErrnoToStatus(errno, absl::StrCat("readlink ", path));
  return std::string(buf, static_cast<size_t>(std::min<ssize_t>(n, sizeof buf)));
}

absl::StatusOr<std::vector<DirEntry>> RootedHostEnv::ListDir(absl::string_view path) {
  ASSIGN_OR_RETURN(std::string real, Resolve(path, /*follow_last=*/true));
  UniqueFd fd(open(real.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoToStatus(errno, absl::StrCat("open ", path));
  DIR* dir = fdopendir(fd.get());
  if (dir == nullptr) return ErrnoToStatus(errno, absl::StrCat("opendir ", path));
  fd.Release();
  std::vector<DirEntry> entries;
  while (struct dirent* e = readdir(dir)) {
    absl::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    DirEntry entry;
    entry.name = std::string(name);
    struct stat st;
    if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      entry.type = TypeOf(st.st_mode);
    }
    entries.push_back(std::move(entry));
    if (entries.size() > 100'000) break;  // a hostile directory
  }
  closedir(dir);
  std::sort(entries.begin(), entries.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return entries;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> RootedHostEnv::ReadLinksIn(
    absl::string_view dir_path) {
  ASSIGN_OR_RETURN(std::string real, Resolve(dir_path, /*follow_last=*/true));
  UniqueFd fd(open(real.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoToStatus(errno, absl::StrCat("open ", dir_path));
  DIR* dir = fdopendir(fd.get());
  if (dir == nullptr) return ErrnoToStatus(errno, absl::StrCat("opendir ", dir_path));
  fd.Release();
  std::vector<std::pair<std::string, std::string>> links;
  size_t seen = 0;
  while (struct dirent* e = readdir(dir)) {
    if (e->d_type != DT_LNK && e->d_type != DT_UNKNOWN) continue;
    if (++seen > 100'000) break;  // a hostile directory, as ListDir
    // The link itself, never followed: its target as stored.
    char buf[4096];
    const ssize_t n = readlinkat(dirfd(dir), e->d_name, buf, sizeof buf);
    if (n < 0) continue;  // not a link, or gone since
    links.emplace_back(e->d_name, std::string(buf, static_cast<size_t>(n)));
  }
  closedir(dir);
  std::sort(links.begin(), links.end());
  return links;
}

absl::StatusOr<FsStats> RootedHostEnv::StatFs(absl::string_view path) {
  if (!live()) {
    // An image's filesystems are not mounted here: recorded figures stand in,
    // one line per mount point: "<path> <bsize> <blocks> <bfree> <bavail>
    // <files> <ffree>".
    auto recorded = ReadFile(kRecordedStatfsFile, 1 << 20);
    if (!recorded.ok()) {
      return absl::UnavailableError(absl::StrCat("statvfs ", path, ": not live, and no ",
                                                 kRecordedStatfsFile, " under ", root_));
    }
    for (absl::string_view line : absl::StrSplit(recorded->content, '\n', absl::SkipEmpty())) {
      std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() != 7 || f[0] != path) continue;
      FsStats st;
      if (absl::SimpleAtoi(f[1], &st.block_size) && absl::SimpleAtoi(f[2], &st.blocks) &&
          absl::SimpleAtoi(f[3], &st.blocks_free) && absl::SimpleAtoi(f[4], &st.blocks_available) &&
          absl::SimpleAtoi(f[5], &st.files) && absl::SimpleAtoi(f[6], &st.files_free)) {
        return st;
      }
    }
    return absl::NotFoundError(absl::StrCat("statvfs ", path, ": not in ", kRecordedStatfsFile));
  }
  ASSIGN_OR_RETURN(std::string real, Resolve(path, /*follow_last=*/true));
  struct statvfs sv;
  if (statvfs(real.c_str(), &sv) != 0) return ErrnoToStatus(errno, absl::StrCat("statvfs ", path));
  FsStats s;
  s.block_size = sv.f_frsize;
  s.blocks = sv.f_blocks;
  s.blocks_free = sv.f_bfree;
  s.blocks_available = sv.f_bavail;
  s.files = sv.f_files;
  s.files_free = sv.f_ffree;
  return s;
}

std::string RecordedCommandKey(const std::vector<std::string>& argv) {
  std::string key;
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string part = argv[i];
    if (i == 0) part = part.substr(part.rfind('/') + 1);
    if (i > 0) key.push_back('_');
    for (char c : part) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '-' || c == '_';
      key.push_back(ok ? c : '_');
    }
  }
  return key.substr(0, 200);
}

absl::StatusOr<CommandResult> RootedHostEnv::Run(const std::vector<std::string>& argv,
                                                 absl::Duration timeout) {
  if (live()) return RunCommand(argv, timeout);
  if (argv.empty()) return absl::InvalidArgumentError("empty command");
  // Under --root, commands are not run; a recorded output stands in.
  std::string path = absl::StrCat(kRecordedCommandsDir, "/", RecordedCommandKey(argv));
  auto out = ReadFile(path, 16 << 20);
  if (!out.ok()) {
    // A recorded output that exists but cannot be read is a read error of
    // that command, not "not recorded".
    if (!absl::IsNotFound(out.status())) return out.status();
    return absl::UnavailableError(absl::StrCat("'", absl::StrJoin(argv, " "),
                                               "' is not run when reading the host from ", root_,
                                               " and no output is recorded at ", path));
  }
  CommandResult result;
  result.exit_code = 0;
  result.out = std::move(out->content);
  if (auto code = ReadFile(path + ".exit", 64); code.ok()) {
    int c = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(code->content), &c)) result.exit_code = c;
  }
  if (auto err = ReadFile(path + ".err", 64 << 10); err.ok()) result.err = std::move(err->content);
  return result;
}

absl::StatusOr<std::vector<std::string>> RootedHostEnv::ProbeTls(const std::string& address,
                                                                 const std::string& sni,
                                                                 absl::Duration timeout) {
  if (!live()) {
    return absl::UnavailableError(
        absl::StrCat("no live TLS handshake when reading the host from ", root_));
  }
  return ProbeTlsChain(address, sni, timeout);
}

absl::StatusOr<std::vector<std::string>> RootedHostEnv::ProbeSmtpTls(const std::string& address,
                                                                     const std::string& sni,
                                                                     bool starttls,
                                                                     absl::Duration timeout) {
  if (!live()) {
    return absl::UnavailableError(
        absl::StrCat("no live SMTP handshake when reading the host from ", root_));
  }
  return ProbeSmtpTlsChain(address, sni, starttls, timeout);
}

absl::StatusOr<std::vector<std::string>> RootedHostEnv::ResolveName(const std::string& name) {
  if (!live()) return HostEnv::ResolveName(name);
  return ResolveHostName(name);
}

absl::StatusOr<std::vector<std::string>> RootedHostEnv::LocalAddresses() {
  if (!live()) return HostEnv::LocalAddresses();
  return InterfaceAddresses();
}

absl::StatusOr<DockerApiResponse> RootedHostEnv::DockerGet(const std::string& target,
                                                           absl::Duration timeout) {
  if (!live()) return HostEnv::DockerGet(target, timeout);
  std::optional<std::string> socket = DockerSocketPath();
  if (!socket.has_value()) {
    return absl::UnavailableError("DOCKER_HOST is not a unix socket: the Docker CLI is used");
  }
  return DockerApiGet(*socket, target, timeout, 16 << 20);
}

absl::StatusOr<DockerApiResponse> RootedHostEnv::DockerPost(const std::string& target,
                                                            const std::string& body,
                                                            absl::Duration timeout) {
  if (!live()) return HostEnv::DockerPost(target, body, timeout);
  std::optional<std::string> socket = DockerSocketPath();
  if (!socket.has_value()) {
    return absl::UnavailableError("DOCKER_HOST is not a unix socket: the Docker CLI is used");
  }
  return DockerApiRequest(*socket, "POST", target, body, timeout, 16 << 20);
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         absl::Duration timeout, size_t cap) {
  if (argv.empty()) return absl::InvalidArgumentError("empty command");
  // out and err. posix_spawn (a vfork: the child shares the agent's memory
  // until it execs) instead of fork, which copied the page tables of the
  // agent and made every page it wrote afterwards fault: ~1 ms of CPU per
  // command in the agent, and a collection runs several. A program that
  // cannot be run is posix_spawnp's error, not exit code 127 (which a
  // program that ran may return).
  int pipes[2][2];
  for (int i = 0; i < 2; ++i) {
    if (pipe2(pipes[i], O_CLOEXEC) != 0) {
      int err = errno;
      for (int j = 0; j < i; ++j) {
        close(pipes[j][0]);
        close(pipes[j][1]);
      }
      return ErrnoToStatus(err, "pipe");
    }
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // stdin from /dev/null, stdout and stderr to the pipes (dup2 clears their
  // close-on-exec; every other descriptor of ours is close-on-exec), in a
  // process group of its own so a timeout kills all it started.
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipes[0][1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipes[1][1], 2);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = -1;
  const int spawn_error = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  for (auto& p : pipes) close(p[1]);
  if (spawn_error != 0) {
    for (auto& p : pipes) close(p[0]);
    return ErrnoToStatus(spawn_error, absl::StrCat("cannot run ", argv[0]));
  }
  CommandResult result;
  absl::Time deadline = absl::Now() + timeout;
  pollfd fds[2] = {{pipes[0][0], POLLIN, 0}, {pipes[1][0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left_ms <= 0) {
      result.timed_out = true;
      break;
    }
    int r = poll(fds, 2, static_cast<int>(std::min<int64_t>(left_ms, 1000)));
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[8192];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      std::string& dst = i == 0 ? result.out : result.err;
      if (dst.size() < cap) dst.append(buf, std::min(static_cast<size_t>(n), cap - dst.size()));
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  // The child may close its output and go on running: the deadline holds.
  if (result.timed_out) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, result.timed_out ? 0 : WNOHANG);
    if (r == pid) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (absl::Now() >= deadline) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);  // in case it had not made its process group yet
      continue;
    }
    usleep(5000);
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

}  // namespace preflight::agent
