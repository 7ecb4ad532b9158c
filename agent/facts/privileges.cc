#include "agent/facts/privileges.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace preflight::agent {
namespace {

constexpr char kDockerSocket[] = "/var/run/docker.sock";

// One capability a fact kind needs, and what is lost without it.
struct Need {
  const char* fact;
  int cap;
  const char* why;
  bool live_only;      // commands and /proc: an image is only read
  bool evidence_only;  // the checks still decide; the evidence is poorer
};

// Reading files the agent does not own: root-only files (0600, 0640 root)
// and other users' homes. CAP_DAC_OVERRIDE also grants it.
constexpr Need kNeeds[] = {
    {"accounts", kCapDacReadSearch,
     "cannot read /etc/shadow (password states) or look into other users' homes "
     "(~/.google_authenticator)",
     false, false},
    {"sshd", kCapDacReadSearch,
     "cannot read root-only sshd configuration drop-ins (cloud-init writes "
     "/etc/ssh/sshd_config.d/50-cloud-init.conf 0600)",
     false, false},
    {"authorized_keys", kCapDacReadSearch,
     "cannot read other users' authorized_keys (/root/.ssh, homes 0700)", false, false},
    {"shell_history", kCapDacReadSearch, "cannot read other users' shell history (0600)", false,
     false},
    {"logrotate", kCapDacReadSearch,
     "cannot list root-only log directories or read root-only logrotate files", false, false},
    {"backups", kCapDacReadSearch,
     "cannot read user crontabs (/var/spool/cron/crontabs is 0730 root:crontab) or another "
     "user's backup directory",
     false, false},
    {"tls", kCapDacReadSearch, "cannot read Traefik's certificate store (acme.json is 0600)", false,
     false},
    {"firewall", kCapDacReadSearch, "cannot read ufw's rules (/etc/ufw/user.rules is 0640 root)",
     false, false},
    // Reading the kernel's rules: iptables-save and nft ask netlink, which
    // needs CAP_NET_ADMIN; the legacy tools open a raw socket.
    {"firewall", kCapNetAdmin, "cannot read the firewall rules (iptables-save, nft list ruleset)",
     true, false},
    {"firewall", kCapNetRaw, "cannot read legacy iptables rules (iptables-legacy-save)", true,
     false},
    // /proc/PID/fd of another user's process needs ptrace access.
    {"sockets", kCapSysPtrace,
     "cannot see which process owns another user's listening socket (/proc/PID/fd)", true, true},
};

bool Has(uint64_t effective, int cap) { return (effective >> cap) & 1u; }

bool Satisfied(uint64_t effective, int cap) {
  return cap == kCapDacReadSearch ? CanReadAnyFile(effective) : Has(effective, cap);
}

}  // namespace

std::string CapabilityName(int cap) {
  switch (cap) {
    case kCapDacOverride:
      return "CAP_DAC_OVERRIDE";
    case kCapDacReadSearch:
      return "CAP_DAC_READ_SEARCH";
    case kCapNetAdmin:
      return "CAP_NET_ADMIN";
    case kCapNetRaw:
      return "CAP_NET_RAW";
    case kCapSysPtrace:
      return "CAP_SYS_PTRACE";
    default:
      return absl::StrCat("CAP_", cap);
  }
}

absl::StatusOr<uint64_t> EffectiveCapabilities() {
  std::ifstream in("/proc/self/status");
  if (!in) return absl::UnavailableError("cannot open /proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "CapEff:")) continue;
    uint64_t mask = 0;
    if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(rest), &mask)) {
      return absl::DataLossError(absl::StrCat("/proc/self/status: unreadable CapEff '", rest, "'"));
    }
    return mask;
  }
  return absl::NotFoundError("/proc/self/status has no CapEff line");
}

bool CanReadAnyFile(uint64_t effective) {
  return Has(effective, kCapDacReadSearch) || Has(effective, kCapDacOverride);
}

v1::CollectionPrivileges JudgePrivileges(uint64_t effective, uint32_t euid, bool live,
                                         bool docker_socket_denied) {
  v1::CollectionPrivileges out;
  out.set_checked(true);
  out.set_euid(euid);
  std::set<int> wanted;
  for (const Need& n : kNeeds) wanted.insert(n.cap);
  wanted.insert(kCapDacOverride);
  for (int cap : wanted) {
    if (Has(effective, cap)) out.add_effective(CapabilityName(cap));
  }
  for (const Need& n : kNeeds) {
    if ((n.live_only && !live) || Satisfied(effective, n.cap)) continue;
    v1::MissingPrivilege* m = out.add_missing();
    m->set_fact(n.fact);
    m->set_capability(CapabilityName(n.cap));
    m->set_why(n.why);
    m->set_evidence_only(n.evidence_only);
  }
  if (live && docker_socket_denied) {
    v1::MissingPrivilege* m = out.add_missing();
    m->set_fact("release");
    m->set_capability(CapabilityName(kCapDacOverride));
    m->set_why(absl::StrCat("cannot connect to ", kDockerSocket,
                            " (nor is the agent in its group), so the swarm's services are "
                            "unknown"));
  }
  return out;
}

v1::CollectionPrivileges CurrentPrivileges(const HostEnv& env) {
  bool docker_denied = false;
  if (env.live() && faccessat(AT_FDCWD, kDockerSocket, R_OK | W_OK, AT_EACCESS) != 0) {
    docker_denied = errno == EACCES || errno == EPERM;
  }
  absl::StatusOr<uint64_t> effective = EffectiveCapabilities();
  v1::CollectionPrivileges out =
      JudgePrivileges(effective.ok() ? *effective : 0, geteuid(), env.live(), docker_denied);
  if (!effective.ok()) {
    out.set_checked(false);
    for (v1::MissingPrivilege& m : *out.mutable_missing()) {
      m.set_why(
          absl::StrCat(m.why(), " (capabilities unknown: ", effective.status().message(), ")"));
    }
  }
  return out;
}

std::vector<std::string> PrivilegeWarning(const v1::CollectionPrivileges& privileges) {
  std::vector<std::string> lines;
  if (privileges.missing().empty()) return lines;
  std::set<std::string> unknown_kinds;
  for (const v1::MissingPrivilege& m : privileges.missing()) {
    if (!m.evidence_only()) unknown_kinds.insert(m.fact());
  }
  lines.push_back(absl::StrCat(
      "WARNING: collecting WITHOUT the privileges some facts need (euid ", privileges.euid(),
      ", effective capabilities: ",
      privileges.effective().empty() ? "none" : absl::StrJoin(privileges.effective(), ", "),
      "). Reports are marked as collected without them, and the checks on ",
      unknown_kinds.empty() ? "no fact" : absl::StrJoin(unknown_kinds, ", "), " will be UNKNOWN:"));
  for (const v1::MissingPrivilege& m : privileges.missing()) {
    lines.push_back(absl::StrCat("WARNING:   ", m.fact(), ": lacks ", m.capability(), ": ", m.why(),
                                 m.evidence_only() ? " (evidence only)" : ""));
  }
  lines.push_back(
      "WARNING: run the agent as root, or grant it these capabilities "
      "(e.g. systemd AmbientCapabilities=CAP_DAC_READ_SEARCH CAP_NET_ADMIN CAP_NET_RAW "
      "CAP_SYS_PTRACE)");
  return lines;
}

}  // namespace preflight::agent
