// Check area "alerts": the evidence beside the manual sign-off of checklist
// item 7 (an alert is sent on SSH login). In OpenCRVS v1.x sshd logs to
// /var/log/auth.log (rsyslog), Filebeat on the swarm nodes ships it to
// Kibana, and a Kibana rule sends the email: so logins to the backup and
// jump servers raise no alert. FAIL here means the item cannot hold on this
// host: signing it off then needs `attest --despite-evidence`, and the
// export says so.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/checks/check.h"

namespace preflight::collector {
namespace {

v1::Verdict LoginAlertEvidence(const v1::FactReport& report, const EvalContext& ctx) {
  std::vector<v1::Evidence> evidence;
  const bool swarm = HasRole(ctx.host, "manager") || HasRole(ctx.host, "worker");
  if (!swarm) {
    return MakeVerdict(
        v1::FAIL,
        {MakeEvidence(absl::StrCat("logins to this ",
                                   ctx.host.roles().empty() ? std::string("host")
                                                            : absl::StrJoin(ctx.host.roles(), "/"),
                                   " server raise no alert in OpenCRVS v1.x: only swarm nodes "
                                   "ship /var/log/auth.log to Kibana (Filebeat)"),
                      "inventory", "no shipper", "auth.log shipped and alerted on")});
  }
  v1::CheckStatus status = v1::PASS;
  const v1::LogFile* auth = nullptr;
  for (const v1::LogFile& f : report.logrotate().logs()) {
    if (f.path() == "/var/log/auth.log") auth = &f;
  }
  if (v1::Verdict logs = UnusableFact(report, report.logrotate(), "the host's logs", "/var/log");
      logs.status() != v1::CHECK_STATUS_UNSPECIFIED) {
    status = v1::UNKNOWN;
    for (const v1::Evidence& e : logs.evidence()) evidence.push_back(e);
  } else if (auth == nullptr) {
    status = v1::FAIL;
    evidence.push_back(MakeEvidence(
        "no /var/log/auth.log: sshd logins reach only the journal (is rsyslog installed?), so "
        "Filebeat has nothing to ship",
        "/var/log/auth.log", "absent", "present"));
  } else {
    evidence.push_back(MakeEvidence(absl::StrCat("sshd logins are written to /var/log/auth.log (",
                                                 auth->size_bytes(), " bytes)"),
                                    "/var/log/auth.log", "present", "present"));
  }
  if (v1::Verdict unread =
          UnreadableParts(report, report.release(), "the swarm's services", "docker service ls");
      unread.status() != v1::CHECK_STATUS_UNSPECIFIED) {
    status = Worst(status, v1::UNKNOWN);
    for (const v1::Evidence& e : unread.evidence()) evidence.push_back(e);
  }
  const auto& services = report.release().services();
  if (!services.empty()) {
    auto it = std::find_if(services.begin(), services.end(),
                           [](const std::string& s) { return absl::StrContains(s, "filebeat"); });
    if (it == services.end()) {
      status = Worst(status, v1::FAIL);
      evidence.push_back(MakeEvidence("no Filebeat service in the swarm: auth.log is not shipped",
                                      "docker service ls", "absent", "a filebeat service"));
    } else {
      evidence.push_back(MakeEvidence(absl::StrCat("Filebeat runs as swarm service ", *it),
                                      "docker service ls", *it, "a filebeat service"));
    }
  }
  return MakeVerdict(status, std::move(evidence));
}

}  // namespace

void RegisterAlertChecks(CheckRegistry& registry) {
  registry.Bind("alert.ssh_login", LoginAlertEvidence);
}

}  // namespace preflight::collector
