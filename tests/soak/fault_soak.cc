// preflight_fault_soak: a fault soak with figures. Dozens of real
// preflight-agent processes stream reports to a real preflight-collector
// while the collector is SIGKILLed at random moments and restarted on the
// same RocksDB directory, and a TCP proxy between the agents and the
// collector cuts connections mid-message. At the end the collector is
// stopped cleanly and every report an agent saw acked must be in the store
// exactly once.
//
// Short form (ctest fault_soak_short, about 3 minutes on 2 slow cores):
//   preflight_fault_soak --kills 40 --agents 24 --kill-max-ms 1200
// Long form, on demand:
//   preflight_fault_soak --kills 1000 --agents 48 --disk-fill --revoke
//
// Flags:
//   --kills N           SIGKILLs of the collector (default 100)
//   --agents N          agents streaming at once, one host each (default 24)
//   --interval S        seconds between an agent's reports (default 2)
//   --kill-min-ms MS    a kill comes MS..--kill-max-ms after the collector
//   --kill-max-ms MS    listens again (defaults 300 and 1500)
//   --cut-rate F        fraction of proxied connections cut mid-stream at a
//                       random byte (default 0.3; 0 turns the cuts off)
//   --max-unrecovered N after N restarts in a row killed before any new
//                       ack, the next kill waits for one (default 4)
//   --recover-timeout S a restart not followed by an ack within S seconds
//                       breaks the soak (default 90)
//   --disk-fill         (needs root) the data directory is a small tmpfs;
//                       once, mid-soak, it is filled up for a few seconds
//   --revoke            once, mid-soak, one host's certificate is revoked:
//                       its stream must end and its later reports must not
//                       be stored; the other hosts must go on
//   --seed N            random seed (default: from the clock; printed)
//
// PREFLIGHT_SOAK_DEBUG=1 in the environment: the proxy logs each connection
// (how it ended, bytes each way) on stderr.
//
// Invariants (exit 1 when one breaks): the collector comes back after every
// kill, some report is acked within --recover-timeout of each restart that
// waits for one, every sequence an agent saw acked (gone from its spool) is
// stored exactly once, none is stored twice, no report is set aside by an
// agent, every spool drains once the faults stop.
//
// Figures (one line each, at the end): kills survived, reports acked,
// reports found exactly once, time to recover (restart to the first new
// ack: min/median/max), connections cut, and what the optional faults did.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/support/cluster.h"

namespace preflight::testing {
namespace {

struct Options {
  int kills = 100;
  int agents = 24;
  int interval = 2;
  int kill_min_ms = 300;
  int kill_max_ms = 1500;
  double cut_rate = 0.3;
  int max_unrecovered = 4;
  int recover_timeout = 90;
  bool disk_fill = false;
  bool revoke = false;
  uint64_t seed = 0;
};

constexpr char kUsage[] =
    "usage: preflight_fault_soak [--kills N] [--agents N] [--interval S]\n"
    "         [--kill-min-ms MS] [--kill-max-ms MS] [--cut-rate F]\n"
    "         [--max-unrecovered N] [--recover-timeout S] [--disk-fill] [--revoke]\n"
    "         [--seed N]\n"
    "\n"
    "Real agents stream to a real collector that is SIGKILLed at random moments\n"
    "and restarted on its data directory; a proxy between them cuts connections\n"
    "mid-message. Every report an agent saw acked must be stored exactly once.\n"
    "\n"
    "  --kills N            SIGKILLs of the collector (default 100)\n"
    "  --agents N           agents streaming at once, one host each (default 24)\n"
    "  --interval S         seconds between an agent's reports (default 2)\n"
    "  --kill-min-ms MS     a kill comes MS..MAX ms after the collector listens\n"
    "  --kill-max-ms MAX    again (defaults 300 and 1500)\n"
    "  --cut-rate F         fraction of proxied connections cut at a random byte\n"
    "                       (default 0.3; 0: no cuts)\n"
    "  --max-unrecovered N  after N restarts in a row killed before a new ack, the\n"
    "                       next kill waits for one (default 4)\n"
    "  --recover-timeout S  no ack within S s of such a restart breaks the soak\n"
    "                       (default 90)\n"
    "  --disk-fill          (root) data directory on a small tmpfs, filled up once\n"
    "                       mid-soak for a few seconds\n"
    "  --revoke             revoke one host's certificate once, mid-soak\n"
    "  --seed N             random seed (default from the clock, printed)\n"
    "\n"
    "Short form (ctest): --kills 40 --agents 24 --kill-max-ms 1200. Long form:\n"
    "--kills 1000 "
    "--agents 48 --disk-fill --revoke. Exit 0: every invariant held; 1: one broke\n"
    "(the test directory is kept and named); 2: usage.\n";

bool ParseOptions(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](auto& out) {
      if (i + 1 >= argc) return false;
      return static_cast<bool>(absl::SimpleAtoi(argv[++i], &out));
    };
    bool ok = true;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--kills") {
      ok = value(o.kills) && o.kills >= 0;
    } else if (a == "--agents") {
      ok = value(o.agents) && o.agents > 0 && o.agents < 1000;
    } else if (a == "--interval") {
      ok = value(o.interval) && o.interval > 0;
    } else if (a == "--kill-min-ms") {
      ok = value(o.kill_min_ms) && o.kill_min_ms >= 0;
    } else if (a == "--kill-max-ms") {
      ok = value(o.kill_max_ms) && o.kill_max_ms >= 0;
    } else if (a == "--cut-rate") {
      ok = i + 1 < argc && absl::SimpleAtod(argv[++i], &o.cut_rate) && o.cut_rate >= 0 &&
           o.cut_rate <= 1;
    } else if (a == "--max-unrecovered") {
      ok = value(o.max_unrecovered) && o.max_unrecovered >= 0;
    } else if (a == "--recover-timeout") {
      ok = value(o.recover_timeout) && o.recover_timeout > 0;
    } else if (a == "--disk-fill") {
      o.disk_fill = true;
    } else if (a == "--revoke") {
      o.revoke = true;
    } else if (a == "--seed") {
      ok = value(o.seed);
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "preflight_fault_soak: bad flag or value: %s\n\n%s", a.c_str(), kUsage);
      return false;
    }
  }
  if (o.kill_max_ms < o.kill_min_ms) o.kill_max_ms = o.kill_min_ms;
  return true;
}

void Say(const std::string& line) {
  std::fprintf(stdout, "%s %s\n",
               absl::FormatTime("%H:%M:%E3S", absl::Now(), absl::UTCTimeZone()).c_str(),
               line.c_str());
  std::fflush(stdout);
}

// A child that outlives this program only to SIGKILL what it started: the
// soak registers every long-lived process it starts, and when the soak ends
// in any way (even SIGKILL by ctest's timeout) the pipe closes and the
// watchdog kills those that are still there.
class Watchdog {
 public:
  Watchdog() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[1]);
      signal(SIGINT, SIG_IGN);
      signal(SIGTERM, SIG_IGN);
      std::string all;
      char buf[256];
      ssize_t n;
      while ((n = read(fds[0], buf, sizeof buf)) != 0) {
        if (n > 0) all.append(buf, static_cast<size_t>(n));
        if (n < 0 && errno != EINTR) break;
      }
      for (absl::string_view line : absl::StrSplit(all, '\n', absl::SkipEmpty())) {
        int p = 0;
        if (absl::SimpleAtoi(line, &p) && p > 1) kill(p, SIGKILL);
      }
      _exit(0);
    }
    close(fds[0]);
    write_fd_ = fds[1];
  }
  // The child is this program's: it is reaped by its Process object.
  void Watch(pid_t pid) {
    if (write_fd_ < 0 || pid <= 0) return;
    std::string line = absl::StrCat(pid, "\n");
    (void)!write(write_fd_, line.data(), line.size());
  }

 private:
  int write_fd_ = -1;
};

// A TCP proxy on loopback between the agents and the collector: it forwards
// to the collector's current port (which changes at each restart), and cuts
// a chosen fraction of connections after a random number of bytes in one
// direction, mid-message, with a reset.
class CuttingProxy {
 public:
  CuttingProxy(double cut_rate, uint64_t seed) : cut_rate_(cut_rate), rng_(seed) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 256) != 0) {
      std::fprintf(stderr, "proxy: cannot listen: %s\n", std::strerror(errno));
      std::exit(1);
    }
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~CuttingProxy() {
    stop_ = true;
    acceptor_.join();
    close(listen_fd_);
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return active_ == 0; });
  }

  int port() const { return port_; }
  void SetUpstream(int port) { upstream_ = port; }
  void SetCutRate(double rate) { cut_rate_ = rate; }
  int64_t connections() const { return connections_; }
  int64_t cuts() const { return cuts_; }
  int64_t cuts_up() const { return cuts_up_; }
  int64_t refused() const { return refused_; }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      ++connections_;
      // The plan for this connection, drawn here (one thread draws).
      int64_t budget = -1;
      bool up = true;
      if (std::uniform_real_distribution<double>(0, 1)(rng_) < cut_rate_.load()) {
        // Log-uniform from 64 bytes (inside the TLS handshake) to 256 KiB
        // (several reports into the stream).
        double lg =
            std::uniform_real_distribution<double>(std::log(64.0), std::log(256.0 * 1024))(rng_);
        budget = static_cast<int64_t>(std::exp(lg));
        up = std::uniform_real_distribution<double>(0, 1)(rng_) < 0.7;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++active_;
      }
      std::thread([this, client, budget, up] {
        Serve(client, budget, up);
        std::lock_guard<std::mutex> lock(mu_);
        if (--active_ == 0) done_.notify_all();
      }).detach();
    }
  }

  static void Reset(int fd) {
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
  }

  static bool WriteAll(int fd, const char* data, size_t n) {
    while (n > 0) {
      ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      data += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  // budget < 0: no cut; else after `budget` bytes agent->collector (`up`)
  // or collector->agent, both sides are reset.
  void Serve(int client, int64_t budget, bool up) {
    int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(upstream_.load()));
    if (upstream_ == 0 || connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ++refused_;
      close(server);
      Reset(client);
      return;
    }
    const int fds[2] = {client, server};  // [0] agent side, [1] collector side
    bool open_in[2] = {true, true};       // still reading from fds[i]
    char buf[16384];
    int64_t moved[2] = {0, 0};
    const char* why = "both ended";
    while (!stop_ && (open_in[0] || open_in[1])) {
      pollfd p[2] = {{open_in[0] ? fds[0] : -1, POLLIN, 0}, {open_in[1] ? fds[1] : -1, POLLIN, 0}};
      if (poll(p, 2, 100) <= 0) continue;
      bool broken = false;
      for (int i = 0; i < 2 && !broken; ++i) {
        if (p[i].revents == 0) continue;
        ssize_t n = recv(fds[i], buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          why = i == 0 ? "agent side error" : "collector side error";
          broken = true;
          break;
        }
        moved[i] += n;
        if (n == 0) {
          open_in[i] = false;
          shutdown(fds[1 - i], SHUT_WR);
          continue;
        }
        const bool counted = budget >= 0 && ((i == 0) == up);
        if (counted && n >= budget) {
          // Mid-message: part of this chunk, then a reset both ways.
          WriteAll(fds[1 - i], buf, static_cast<size_t>(budget));
          ++cuts_;
          if (up) ++cuts_up_;
          Reset(client);
          Reset(server);
          return;
        }
        if (counted) budget -= n;
        if (!WriteAll(fds[1 - i], buf, static_cast<size_t>(n))) {
          why = "write failed";
          broken = true;
        }
      }
      if (broken) break;
    }
    if (getenv("PREFLIGHT_SOAK_DEBUG") != nullptr) {
      std::fprintf(stderr, "proxy: %s, up %lld down %lld, open %d %d\n", why,
                   static_cast<long long>(moved[0]), static_cast<long long>(moved[1]), open_in[0],
                   open_in[1]);
    }
    Reset(client);
    Reset(server);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> upstream_{0};
  std::atomic<bool> stop_{false};
  std::atomic<double> cut_rate_;
  std::mt19937_64 rng_;  // the acceptor's
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable done_;
  int active_ = 0;
  std::atomic<int64_t> connections_{0}, cuts_{0}, cuts_up_{0}, refused_{0};
};

// Sequences of the reports waiting in a spool (reports/<seq>.pb), and the
// names of the files set aside there (reports/<seq>.pb.<why>).
void ListSpool(const std::string& spool, std::set<uint64_t>* pending,
               std::vector<std::string>* set_aside) {
  DIR* d = opendir((spool + "/reports").c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    absl::string_view name = e->d_name;
    uint64_t seq = 0;
    if (absl::EndsWith(name, ".pb")) {
      if (absl::SimpleAtoi(name.substr(0, name.size() - 3), &seq)) pending->insert(seq);
    } else if (set_aside != nullptr && absl::StrContains(name, ".pb.") &&
               !absl::EndsWith(name, ".tmp")) {
      set_aside->push_back(std::string(name));
    }
  }
  closedir(d);
}

// The last sequence a spool handed out (0: none yet).
uint64_t LastSequence(const std::string& spool) {
  uint64_t last = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(spool + "/sequence")), &last)) return 0;
  return last;
}

// The reports of a spool acked so far (see AckWatch).
int64_t AckedOf(const std::string& spool) {
  const uint64_t last = LastSequence(spool);
  std::set<uint64_t> pending;
  ListSpool(spool, &pending, nullptr);
  int64_t n = static_cast<int64_t>(last);
  for (uint64_t s : pending)
    if (s <= last) --n;
  return n;
}

// --disk-fill: the collector's data directory is a tmpfs of its own, so it
// can be filled without filling the machine's disk; unmounted on the way out
// (before the test directory goes).
class DataMount {
 public:
  bool Mount(const std::string& dir) {
    MakeDirs(dir);
    if (mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=4g,mode=0700") != 0) {
      std::fprintf(stderr, "cannot mount a tmpfs on %s: %s\n", dir.c_str(), std::strerror(errno));
      return false;
    }
    dir_ = dir;
    return true;
  }
  // Shrinks the file system to what it holds plus `room`, then fills that
  // with a file: writes fail with ENOSPC until Free.
  bool Fill(uint64_t room) {
    struct statvfs v;
    if (statvfs(dir_.c_str(), &v) != 0) return false;
    const uint64_t used = (v.f_blocks - v.f_bfree) * v.f_frsize;
    const std::string size = absl::StrCat("size=", used + room);
    if (mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, size.c_str()) != 0) return false;
    int fd = open(Filler().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    std::string zeros(4096, '\0');
    while (write(fd, zeros.data(), zeros.size()) > 0) {
    }
    close(fd);
    return true;
  }
  bool Free() {
    unlink(Filler().c_str());
    return mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, "size=4g") == 0;
  }
  ~DataMount() {
    if (!dir_.empty() && umount2(dir_.c_str(), 0) != 0) umount2(dir_.c_str(), MNT_DETACH);
  }

 private:
  std::string Filler() const { return dir_ + "/soak-filler"; }
  std::string dir_;
};

// Watches the agents' spools every 25 ms and records when acks were seen, to
// time the recoveries. A spool's acked reports: every sequence handed out and
// no longer pending (the spool drops a report only on an ack, on its limits,
// or to set it aside; the limits are not reached here and set-aside files
// are checked at the end). The sequence is read first: a report spooled
// meanwhile, above it, is not taken for pending.
class AckWatch {
 public:
  explicit AckWatch(std::vector<std::string> spools)
      : spools_(std::move(spools)), acked_(spools_.size(), 0) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~AckWatch() {
    stop_ = true;
    thread_.join();
  }
  // The first time an ack was seen that came after `t` (one not yet seen by
  // a look that began at or after `t`); InfiniteFuture if none yet.
  absl::Time FirstAckAfter(absl::Time t) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
      if (it->not_yet < t) {
        if (it == events_.rbegin()) return absl::InfiniteFuture();
        return std::prev(it)->seen;
      }
    }
    return events_.empty() ? absl::InfiniteFuture() : events_.front().seen;
  }
  // Hosts (indices) that have had a report acked and had none pending at
  // some look since `t`.
  std::set<size_t> DrainedSince(absl::Time t) {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<size_t> out;
    for (const auto& [i, when] : empty_at_)
      if (when >= t) out.insert(i);
    return out;
  }
  int64_t acks() const { return acks_; }

 private:
  struct Event {
    absl::Time not_yet;  // the previous look, which had not seen the ack
    absl::Time seen;     // the look that saw it
  };
  void Loop() {
    absl::Time previous = absl::Now();
    while (!stop_) {
      const absl::Time look = absl::Now();
      int64_t more = 0;
      for (size_t i = 0; i < spools_.size(); ++i) {
        const uint64_t last = LastSequence(spools_[i]);
        std::set<uint64_t> pending;
        ListSpool(spools_[i], &pending, nullptr);
        int64_t acked = static_cast<int64_t>(last);
        bool empty = true;
        for (uint64_t s : pending) {
          if (s <= last) {
            --acked;
            empty = false;
          }
        }
        if (acked > acked_[i]) {
          more += acked - acked_[i];
          acked_[i] = acked;
        }
        if (empty && acked > 0) {
          std::lock_guard<std::mutex> lock(mu_);
          empty_at_[i] = look;
        }
      }
      if (more > 0) {
        acks_ += more;
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back({previous, absl::Now()});
      }
      previous = look;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }

  std::vector<std::string> spools_;
  std::vector<int64_t> acked_;  // the loop's
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> acks_{0};
  std::mutex mu_;
  std::vector<Event> events_;
  std::map<size_t, absl::Time> empty_at_;
  std::thread thread_;
};

std::string Seconds(absl::Duration d) {
  return absl::StrFormat("%.2f s", absl::ToDoubleSeconds(d));
}

std::string HostName(int i) { return absl::StrFormat("soak-%02d", i + 1); }

class Soak {
 public:
  explicit Soak(const Options& o)
      : o_(o), rng_(o.seed), cluster_(Inventory(o.agents)), proxy_(o.cut_rate, o.seed ^ 0x5eed) {}

  int Run();

 private:
  static v1::Inventory Inventory(int n) {
    v1::Inventory inv;
    for (int i = 0; i < n; ++i) {
      auto* h = inv.add_hosts();
      h->set_id(HostName(i));
      h->set_environment("production");
      h->add_roles("manager");
    }
    return inv;
  }

  void Fail(const std::string& why) {
    failures_.push_back(why);
    Say("INVARIANT BROKEN: " + why);
  }
  bool Failed() const { return !failures_.empty() || ::testing::Test::HasFailure(); }

  // Starts the collector and points the proxy at it.
  bool StartCollector() {
    cluster_.StartCollector();
    if (::testing::Test::HasFailure() || !cluster_.collector_running()) {
      Fail("the collector did not come back up");
      return false;
    }
    watchdog_.Watch(cluster_.collector_pid());
    proxy_.SetUpstream(cluster_.port());
    return true;
  }

  // An agent for host `i` running until stopped, reaching the collector
  // through the proxy, collecting every --interval seconds and retrying
  // within a second.
  std::unique_ptr<Process> StartAgent(int i) {
    const std::string host = HostName(i);
    const std::string path = cluster_.AgentConfig(host);
    std::string text;
    for (absl::string_view line : absl::StrSplit(ReadFile(path), '\n')) {
      if (absl::StartsWith(line, "collector:")) {
        absl::StrAppend(&text, "collector: \"localhost:", proxy_.port(), "\"\n");
      } else {
        absl::StrAppend(&text, line, "\n");
      }
    }
    absl::StrAppend(&text, "interval_seconds: ", o_.interval, "\nmax_backoff_seconds: 1\n",
                    "spool_max_reports: 100000\n");
    WriteFile(path, text);
    const std::string base = cluster_.dir().Join(absl::StrCat("agent-", host, "/daemon"));
    auto p = Process::Start({PREFLIGHT_AGENT_BIN, "--config", path, "--root", root_}, base + ".out",
                            base + ".err");
    watchdog_.Watch(p->pid());
    return p;
  }

  // --revoke: host 0's certificate is revoked while its stream is open.
  void RevokeMidStream(const std::string& spool);
  // --disk-fill: the data directory fills up for a few seconds.
  void FillDisk(AckWatch& watch);

  const Options o_;
  std::mt19937_64 rng_;
  Watchdog watchdog_;
  TestCluster cluster_;
  DataMount mount_;  // before cluster_ goes
  CuttingProxy proxy_;
  // What the optional faults did, one line each.
  std::vector<std::string> notes_;
  bool revoked_ = false;
  int64_t acked_when_revoked_ = 0;
  std::string root_;
  std::vector<std::string> failures_;
};

void Soak::RevokeMidStream(const std::string& spool) {
  const std::string host = HostName(0);
  // Its stream is open: a report of it is acked by this collector.
  const int64_t before = AckedOf(spool);
  if (!WaitFor([&] { return AckedOf(spool) > before; }, absl::Seconds(30))) {
    Fail(host + " was not streaming before its revocation");
    return;
  }
  const int64_t streaming = AckedOf(spool);
  const std::string log_path = cluster_.dir().Join(absl::StrCat("agent-", host, "/daemon.err"));
  const size_t log_at = ReadFile(log_path).size();
  const absl::Time at = absl::Now();
  Say("revoking " + host);
  cluster_.pki().Revoke(cluster_.pki().HostTls(host).cert_file());
  const bool ended = WaitFor(
      [&] {
        return absl::StrContains(ReadFile(log_path).substr(log_at),
                                 "stream ended (PERMISSION_DENIED");
      },
      absl::Seconds(15));
  if (!ended) {
    Fail(host + ": its stream was not ended within 15 s of the revocation");
    return;
  }
  revoked_ = true;
  acked_when_revoked_ = AckedOf(spool);
  notes_.push_back(absl::StrCat("revocation: ", host, "'s open stream ended ",
                                Seconds(absl::Now() - at), " after its certificate was revoked (",
                                acked_when_revoked_ - streaming,
                                " more report(s) acked meanwhile)"));
}

void Soak::FillDisk(AckWatch& watch) {
  const std::string marker = "reports are refused (not acked) until it clears";
  auto refusals = [&] {
    int n = 0;
    for (absl::string_view line : absl::StrSplit(cluster_.collector_log(), '\n'))
      n += absl::StrContains(line, marker) ? 1 : 0;
    return n;
  };
  const int refusals_before = refusals();
  const int64_t acks_before = watch.acks();
  const absl::Time at = absl::Now();
  if (!mount_.Fill(64 << 10)) {
    Fail(absl::StrCat("cannot fill the data directory: ", std::strerror(errno)));
    return;
  }
  const bool refused = WaitFor([&] { return refusals() > refusals_before; }, absl::Seconds(20));
  const absl::Duration to_refusal = absl::Now() - at;
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const int64_t acks_while_full = watch.acks() - acks_before;
  if (!cluster_.collector_running()) {
    Fail("the collector died while its disk was full");
    return;
  }
  const absl::Time freed = absl::Now();
  if (!mount_.Free()) Fail(absl::StrCat("cannot free the data directory: ", std::strerror(errno)));
  if (!WaitFor([&] { return watch.FirstAckAfter(freed) != absl::InfiniteFuture(); },
               absl::Seconds(o_.recover_timeout))) {
    Fail(absl::StrCat("no report acked within ", o_.recover_timeout, " s of the disk's room"));
    return;
  }
  notes_.push_back(absl::StrCat(
      "disk fill: ",
      refused ? absl::StrCat("reports refused ", Seconds(to_refusal), " after the disk filled")
              : "no refusal logged within 20 s",
      " (", acks_while_full, " acked before it); acked again ",
      Seconds(watch.FirstAckAfter(freed) - freed), " after room came back, same process"));
}

int Soak::Run() {
  const absl::Time began = absl::Now();
  if (o_.disk_fill && geteuid() != 0) {
    std::fprintf(stderr, "preflight_fault_soak: --disk-fill needs root (a tmpfs is mounted)\n");
    return 2;
  }
  if (o_.disk_fill && !mount_.Mount(cluster_.data_dir())) return 2;
  Say(absl::StrCat("fault soak: ", o_.kills, " kills, ", o_.agents, " agents, seed ", o_.seed,
                   ", dir ", cluster_.dir().path()));
  root_ = FixtureRoot("opencrvs-manager");
  {
    // No report budget in the way: the soak counts every report.
    v1::CollectorConfig extra;
    extra.set_max_reports_per_minute(6000);
    extra.set_report_burst(10000);
    cluster_.SetCollectorConfig(extra);
  }
  if (!StartCollector()) return 1;

  std::vector<std::string> spools;
  std::vector<std::unique_ptr<Process>> agents;
  for (int i = 0; i < o_.agents; ++i) {
    spools.push_back(cluster_.SpoolDir(HostName(i)));
    agents.push_back(StartAgent(i));
  }
  AckWatch watch(spools);
  // Everyone streams before the first kill.
  if (!WaitFor([&] { return watch.DrainedSince(began).size() == spools.size(); },
               absl::Seconds(o_.recover_timeout))) {
    Fail("not every agent delivered its first report");
  }
  Say(absl::StrCat("all ", o_.agents, " agents delivered; killing"));

  std::vector<absl::Duration> recoveries;
  int survived = 0, unrecovered_in_a_row = 0, waited = 0, killed_before_ack = 0;
  // A recovery: from the restart (a new collector process) to the first ack
  // seen after it listens (an ack seen earlier was the killed one's, applied
  // late).
  absl::Time restarted = absl::Now(), listening = restarted;
  for (int k = 0; k < o_.kills && !Failed(); ++k) {
    if (unrecovered_in_a_row >= o_.max_unrecovered) {
      ++waited;
      if (!WaitFor([&] { return watch.FirstAckAfter(listening) != absl::InfiniteFuture(); },
                   absl::Seconds(o_.recover_timeout))) {
        Fail(absl::StrCat("no report acked within ", o_.recover_timeout, " s of restart ", k));
        break;
      }
    }
    // The optional faults come in a pause of the others (no cuts, no kill),
    // so that what they do is theirs.
    if (o_.revoke && k == o_.kills / 2) {
      proxy_.SetCutRate(0);
      RevokeMidStream(spools[0]);
      proxy_.SetCutRate(o_.cut_rate);
    }
    if (o_.disk_fill && k == o_.kills / 3) {
      proxy_.SetCutRate(0);
      FillDisk(watch);
      proxy_.SetCutRate(o_.cut_rate);
    }
    if (Failed()) break;
    const absl::Duration delay = absl::Milliseconds(
        std::uniform_int_distribution<int>(o_.kill_min_ms, o_.kill_max_ms)(rng_));
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(delay));
    if (!cluster_.collector_running()) {
      Fail(absl::StrCat("the collector died on its own before kill ", k + 1));
      break;
    }
    cluster_.StopCollector(SIGKILL);
    const absl::Time ack = watch.FirstAckAfter(listening);
    if (k == 0) {
      // Not a restart yet: the collector started before the agents.
    } else if (ack != absl::InfiniteFuture()) {
      recoveries.push_back(ack - restarted);
      unrecovered_in_a_row = 0;
    } else {
      ++killed_before_ack;
      ++unrecovered_in_a_row;
    }
    restarted = absl::Now();
    if (!StartCollector()) break;
    listening = absl::Now();
    ++survived;
    if ((k + 1) % 10 == 0) {
      Say(absl::StrCat("kill ", k + 1, "/", o_.kills, ": ", watch.acks(), " acks seen, ",
                       proxy_.cuts(), " cuts"));
    }
  }

  // The faults stop; every spool must drain.
  proxy_.SetCutRate(0);
  std::set<size_t> drained;
  if (!Failed()) {
    const absl::Time calm = absl::Now();
    if (watch.FirstAckAfter(listening) == absl::InfiniteFuture() &&
        WaitFor([&] { return watch.FirstAckAfter(listening) != absl::InfiniteFuture(); },
                absl::Seconds(o_.recover_timeout))) {
      recoveries.push_back(watch.FirstAckAfter(listening) - restarted);
    }
    // A revoked host's reports stay in its spool.
    auto all_drained = [&] {
      drained = watch.DrainedSince(calm);
      if (revoked_) drained.insert(0);
      return drained.size() == spools.size();
    };
    if (!WaitFor(all_drained, absl::Seconds(o_.recover_timeout))) {
      for (size_t i = 0; i < spools.size(); ++i) {
        if (drained.count(i) == 0) Fail(HostName(static_cast<int>(i)) + ": spool never drained");
      }
    }
  }
  for (auto& a : agents) a->Signal(SIGTERM);
  for (auto& a : agents) {
    if (a->Wait(absl::Seconds(20)) < 0) Fail("an agent did not stop on SIGTERM");
  }
  if (cluster_.collector_running()) cluster_.StopCollector(SIGTERM);
  const std::string log = cluster_.collector_log();

  // What the agents saw acked against what the store holds.
  int64_t acked = 0, once = 0, missing = 0, twice = 0, unacked_stored = 0, pending_end = 0;
  for (int i = 0; i < o_.agents; ++i) {
    const std::string host = HostName(i);
    std::set<uint64_t> pending;
    std::vector<std::string> aside;
    ListSpool(spools[static_cast<size_t>(i)], &pending, &aside);
    for (const std::string& f : aside) Fail(absl::StrCat(host, ": report set aside: ", f));
    const uint64_t last = LastSequence(spools[static_cast<size_t>(i)]);
    if (last == 0) Fail(host + ": the agent made no report");
    pending_end += static_cast<int64_t>(pending.size());
    if (i == 0 && revoked_) {
      const int64_t after = AckedOf(spools[0]) - acked_when_revoked_;
      if (after != 0)
        Fail(absl::StrCat(host, ": ", after, " report(s) acked after its revocation"));
      notes_.push_back(absl::StrCat("revocation: ", after, " report(s) of ", host,
                                    " acked after it (must be 0); ", pending.size(),
                                    " left in its spool"));
    }
    std::map<uint64_t, int> stored = StoredSequences(cluster_.data_dir(), host);
    for (uint64_t s = 1; s <= last; ++s) {
      auto it = stored.find(s);
      const int n = it == stored.end() ? 0 : it->second;
      if (pending.count(s) != 0) {
        if (n > 0) ++unacked_stored;
        if (n > 1) Fail(absl::StrCat(host, " #", s, " (not acked) stored ", n, " times"));
        continue;
      }
      ++acked;
      if (n == 1) {
        ++once;
      } else if (n == 0) {
        ++missing;
        if (missing <= 10) Fail(absl::StrCat(host, " #", s, " was acked but is not stored"));
      } else {
        ++twice;
        if (twice <= 10) Fail(absl::StrCat(host, " #", s, " is stored ", n, " times"));
      }
    }
    for (const auto& [s, n] : stored) {
      if (s > last) Fail(absl::StrCat(host, " #", s, " stored but never made by the agent"));
    }
  }
  if (missing > 10 || twice > 10) Fail("(more acked reports missing or doubled than listed)");
  int duplicates = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, "(duplicate)")) ++duplicates;
  }

  std::sort(recoveries.begin(), recoveries.end());
  std::printf("\n");
  std::printf(
      "kills survived: %d of %d SIGKILLs (collector back up each time; %d killed again "
      "before any new ack, %d waited for one)\n",
      survived, o_.kills, killed_before_ack, waited);
  std::printf(
      "reports acked: %lld (by %d agents, seen gone from their spools; %lld still "
      "pending at the end)\n",
      static_cast<long long>(acked), o_.agents, static_cast<long long>(pending_end));
  std::printf(
      "reports found exactly once: %lld of %lld acked (missing %lld, stored twice "
      "%lld; %d resends taken as duplicates; %lld unacked but stored)\n",
      static_cast<long long>(once), static_cast<long long>(acked), static_cast<long long>(missing),
      static_cast<long long>(twice), duplicates, static_cast<long long>(unacked_stored));
  if (recoveries.empty()) {
    std::printf("time to recover: no restart was followed by an ack before the next kill\n");
  } else {
    std::printf(
        "time to recover (restart to first new ack): min %s, median %s, max %s "
        "(%zu restarts)\n",
        Seconds(recoveries.front()).c_str(), Seconds(recoveries[recoveries.size() / 2]).c_str(),
        Seconds(recoveries.back()).c_str(), recoveries.size());
  }
  std::printf(
      "connections cut mid-stream: %lld of %lld proxied (%lld agent->collector, %lld "
      "collector->agent; %lld found the collector down)\n",
      static_cast<long long>(proxy_.cuts()), static_cast<long long>(proxy_.connections()),
      static_cast<long long>(proxy_.cuts_up()),
      static_cast<long long>(proxy_.cuts() - proxy_.cuts_up()),
      static_cast<long long>(proxy_.refused()));
  for (const std::string& note : notes_) std::printf("%s\n", note.c_str());
  std::printf("soak took %s\n", Seconds(absl::Now() - began).c_str());
  if (Failed()) {
    std::printf("\nFAILED (%zu): the test directory is kept: %s\n", failures_.size(),
                cluster_.dir().path().c_str());
    for (const std::string& f : failures_) std::printf("  %s\n", f.c_str());
    setenv("PREFLIGHT_KEEP_TEST_DIRS", "1", 1);
    return 1;
  }
  std::printf("PASSED\n");
  return 0;
}

}  // namespace
}  // namespace preflight::testing

int main(int argc, char** argv) {
  preflight::testing::Options o;
  if (!preflight::testing::ParseOptions(argc, argv, o)) return 2;
  if (o.seed == 0) o.seed = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  signal(SIGPIPE, SIG_IGN);
  preflight::testing::Soak soak(o);
  return soak.Run();
}
