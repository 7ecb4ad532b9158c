// What one collection costs the host: `preflight-agent --dry-run` run as a
// child process, its CPU time (user + system) and peak RSS read from
// wait4's rusage, live (this machine) and under --root (the
// opencrvs-application manager fixture, application sources on and off),
// next to the audit tools a country might run instead — `lynis audit
// system --quick` and `oscap xccdf eval` — when they are installed, as
// ratios from the same run. Prints figures; asserts nothing (README,
// "Evidence from the application": the agent stays light).
//
//   agent_cost_bench [--runs N]      (default 5 runs per case; medians)
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct Cost {
  double cpu_ms = 0;
  double rss_mib = 0;
  int exit_code = -1;
};

// Runs argv with stdout and stderr to /dev/null; its rusage.
Cost RunOnce(const std::vector<std::string>& argv) {
  Cost cost;
  const pid_t pid = fork();
  if (pid < 0) return cost;
  if (pid == 0) {
    const int null = open("/dev/null", O_RDWR);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  if (wait4(pid, &status, 0, &usage) != pid) return cost;
  cost.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  cost.cpu_ms = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000.0 +
                (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000.0;
  cost.rss_mib = usage.ru_maxrss / 1024.0;  // kilobytes on Linux
  return cost;
}

// The median CPU and peak RSS of `runs` runs.
Cost Median(const std::vector<std::string>& argv, int runs) {
  std::vector<Cost> all;
  for (int i = 0; i < runs; ++i) all.push_back(RunOnce(argv));
  auto middle = [&](auto key) {
    std::vector<double> v;
    for (const Cost& c : all) v.push_back(key(c));
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  Cost out;
  out.cpu_ms = middle([](const Cost& c) { return c.cpu_ms; });
  out.rss_mib = middle([](const Cost& c) { return c.rss_mib; });
  out.exit_code = all.back().exit_code;
  return out;
}

bool Installed(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: agent_cost_bench [--runs N]\n");
      return 2;
    }
  }
  const std::string agent = PREFLIGHT_AGENT_BIN;
  const std::string fixture =
      std::string(PREFLIGHT_SOURCE_DIR) + "/tests/fixtures/hosts/opencrvs-application";
  char dir_template[] = "/tmp/agent-cost-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) return 1;
  const std::string on = std::string(dir) + "/application-on.textproto";
  // Every application source: the Docker listings, the SMTP handshake and
  // the three that exec into the databases (each ABSENT where no such
  // container runs on this node).
  std::ofstream(on) << "application { docker: true smtp_probe: true elasticsearch: true "
                       "admin_passwords: true test_data: true }\n";
  const std::string off = std::string(dir) + "/application-off.textproto";
  std::ofstream(off) << "# application sources off (the default)\n";

  struct Case {
    std::string name;
    std::vector<std::string> argv;
  };
  std::vector<Case> cases = {
      {"agent --root manager fixture, application on",
       {agent, "--dry-run", "--config", on, "--root", fixture}},
      {"agent --root manager fixture, application off",
       {agent, "--dry-run", "--config", off, "--root", fixture}},
      {"agent live (this machine), application on", {agent, "--dry-run", "--config", on}},
      {"agent live (this machine), application off", {agent, "--dry-run", "--config", off}},
  };
  if (Installed("lynis")) {
    cases.push_back({"lynis audit system --quick", {"lynis", "audit", "system", "--quick"}});
  }
  const std::string ssg = "/usr/share/xml/scap/ssg/content/ssg-debian12-ds.xml";
  if (Installed("oscap") && access(ssg.c_str(), R_OK) == 0) {
    cases.push_back({"oscap xccdf eval (ssg-debian12, standard profile)",
                     {"oscap", "xccdf", "eval", "--profile",
                      "xccdf_org.ssgproject.content_profile_standard", ssg}});
  }

  std::printf("one collection, median of %d runs (CPU = user + system, RSS = peak)\n", runs);
  std::printf("%-52s %10s %9s %7s\n", "case", "CPU ms", "RSS MiB", "exit");
  double live_cpu = 0, live_rss = 0;
  std::vector<std::pair<std::string, Cost>> results;
  for (const Case& c : cases) {
    const Cost cost = Median(c.argv, runs);
    results.emplace_back(c.name, cost);
    std::printf("%-52s %10.1f %9.1f %7d\n", c.name.c_str(), cost.cpu_ms, cost.rss_mib,
                cost.exit_code);
    if (c.name == "agent live (this machine), application on") {
      live_cpu = cost.cpu_ms;
      live_rss = cost.rss_mib;
    }
  }
  if (!Installed("lynis")) std::printf("lynis: not installed (no ratio)\n");
  if (!Installed("oscap")) std::printf("oscap: not installed (no ratio)\n");
  for (const auto& [name, cost] : results) {
    if (name.rfind("agent", 0) == 0 || live_cpu <= 0) continue;
    std::printf("%s / agent live: CPU x%.1f, RSS x%.1f\n", name.c_str(), cost.cpu_ms / live_cpu,
                cost.rss_mib / live_rss);
  }
  std::printf(
      "targets (issue 16): < 100 ms CPU and < 15 MB (14.3 MiB) RSS per live collection on a "
      "manager\n");
  std::remove(on.c_str());
  std::remove(off.c_str());
  rmdir(dir);
  return 0;
}
