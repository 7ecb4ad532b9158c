#include "tests/support/real_dockerd.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace preflight::testing {

RealDockerd::RealDockerd() {
  if (access("/usr/sbin/dockerd", X_OK) != 0) {
    error_ = "no /usr/sbin/dockerd (deploy/install-deps.sh installs docker.io)";
    return;
  }
  if (geteuid() != 0) {
    error_ = "dockerd needs root";
    return;
  }
  // containerd's sockets live under the exec root: a short path keeps them
  // under the 108 bytes of a unix socket address.
  char exec_root[] = "/tmp/pfdk.XXXXXX";
  if (mkdtemp(exec_root) == nullptr) {
    error_ = "mkdtemp for the exec root failed";
    return;
  }
  exec_root_ = exec_root;
  socket_ = dir_.Join("docker.sock");
  WriteFile(dir_.Join("daemon.json"), "{}\n");
  daemon_ = Process::Start(
      {"/usr/sbin/dockerd", "--config-file", dir_.Join("daemon.json"), "--iptables=false",
       "--ip6tables=false", "--bridge=none", "--storage-driver=vfs", "--shutdown-timeout=1", "-H",
       host(), "--data-root", dir_.Join("data"), "--exec-root", exec_root_, "--pidfile",
       dir_.Join("docker.pid")},
      dir_.Join("dockerd.out"), dir_.Join("dockerd.err"));
  if (daemon_ == nullptr) {
    error_ = "dockerd did not start";
    return;
  }
  const bool up =
      WaitFor([&] { return !daemon_->running() || Docker({"version"}, 10).exit_code == 0; },
              absl::Seconds(60));
  if (!up || !daemon_->running()) {
    error_ = absl::StrCat("dockerd does not answer on ", host(), ": ",
                          ReadFile(dir_.Join("dockerd.err")).substr(0, 2000));
    return;
  }
  started_ = true;
}

RealDockerd::~RealDockerd() {
  if (daemon_ != nullptr && daemon_->running()) {
    daemon_->Signal(SIGTERM);
    if (daemon_->Wait(absl::Seconds(30)) < 0) daemon_->Signal(SIGKILL);
  }
  daemon_.reset();
  if (!exec_root_.empty()) {
    // Network namespaces a swarm left mounted under the exec root, then the
    // directory itself.
    RunProcess({"/bin/sh", "-c",
                "grep -o ' " + exec_root_ +
                    "[^ ]*' /proc/self/mounts | sort -r | "
                    "xargs -r -n1 umount -l; rm -rf " +
                    exec_root_},
               absl::Seconds(30));
  }
  RunProcess({"/bin/sh", "-c",
              "grep -o ' " + dir_.path() +
                  "[^ ]*' /proc/self/mounts | sort -r | "
                  "xargs -r -n1 umount -l"},
             absl::Seconds(30));
}

RunResult RealDockerd::Docker(const std::vector<std::string>& args, int timeout_seconds) {
  std::vector<std::string> argv = {"docker", "-H", host()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, absl::Seconds(timeout_seconds));
}

bool RealDockerd::ImportBusybox(const std::string& name) {
  if (access("/bin/busybox", X_OK) != 0) {
    error_ = "no /bin/busybox (deploy/install-deps.sh installs busybox-static)";
    return false;
  }
  const std::string root = dir_.Join("image");
  RunResult made = RunProcess({"/bin/sh", "-c",
                               "set -e; mkdir -p " + root + "/bin; cp /bin/busybox " + root +
                                   "/bin/; ln -s busybox " + root + "/bin/sh; ln -s busybox " +
                                   root + "/bin/sleep; tar -C " + root + " -cf " + root + ".tar ."},
                              absl::Seconds(30));
  if (made.exit_code != 0) {
    error_ = "building the busybox image: " + made.err;
    return false;
  }
  RunResult imported = Docker({"import", root + ".tar", name});
  if (imported.exit_code != 0) {
    error_ = "docker import: " + imported.err;
    return false;
  }
  return true;
}

}  // namespace preflight::testing
