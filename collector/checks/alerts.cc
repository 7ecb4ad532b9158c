// Check area "alerts": the evidence beside the manual sign-offs of checklist
// items 7 (an alert is sent on SSH login) and 8 (the disk usage alert fired
// in a test). In OpenCRVS v1.x sshd logs to
// /var/log/auth.log (rsyslog), Filebeat on the swarm nodes ships it to
// Kibana, and a Kibana rule sends the email: so logins to the backup and
// jump servers raise no alert. FAIL here means the item cannot hold on this
// host: signing it off then needs `attest --despite-evidence`, and the
// export says so.
//
// With application { elasticsearch: true }, the manager running
// Elasticsearch also reports the alert history (the alert_history fact):
// when each rule last fired, for which hosts, and whether ElastAlert sent
// the email. Beside item 7 a swarm node (the swarm fact of the same report)
// that never raised the SSH-login alert WARNs; beside item 8 a disk rule
// that never fired WARNs. Never FAIL: an alert not in the history may still
// have been tested another way, and the sign-off says so.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/checks/check.h"
#include "collector/checks/not_gathered.h"

namespace preflight::collector {
namespace {

constexpr absl::string_view kHistorySource =
    "Elasticsearch kibana-alert-history-default (docker exec curl)";
constexpr absl::string_view kElastalertSource = "Elasticsearch elastalert_status";
// The Kibana rules (agent/facts/alert_history.h names them too).
constexpr absl::string_view kSshRule = "Successful SSH login";
constexpr absl::string_view kDiskRules[] = {"Available disk space in root file system",
                                            "Low on available disk space in data partition"};

std::string When(int64_t unix_seconds) {
  return unix_seconds > 0 ? UtcMinute(absl::FromUnixSeconds(unix_seconds)) : "never";
}

const v1::AlertRuleHistory* Rule(const v1::AlertHistoryFact& fact, absl::string_view name) {
  for (const v1::AlertRuleHistory& r : fact.rules()) {
    if (r.name() == name) return &r;
  }
  return nullptr;
}

// Whether the alert history can be judged on this report. When it cannot,
// adds why to `evidence` (and raises `status` to UNKNOWN when that hides
// evidence the policy requires, or gathering failed) and returns false.
// Hosts that are not managers do not run Elasticsearch: nothing is added.
bool HistoryUsable(const v1::FactReport& report, const EvalContext& ctx, v1::CheckStatus& status,
                   std::vector<v1::Evidence>& evidence) {
  const v1::AlertHistoryFact& fact = report.alert_history();
  const v1::Collection& c = fact.collection();
  if (c.state() == v1::Collection::OK && c.unreadable().empty()) return true;
  if (!HasRole(ctx.host, "manager") && c.state() != v1::Collection::ERROR) return false;
  if (fact.enabled() && c.state() == v1::Collection::ABSENT) {
    // Elasticsearch runs on another node (labelled data1): its agent reports it.
    evidence.push_back(MakeEvidence(absl::StrCat("alert history: ", c.error()),
                                    std::string(kHistorySource), "not on this node"));
    return false;
  }
  v1::Verdict v = NotGathered(report, c, fact.enabled(), fact, "the alert history", ctx,
                              "elasticsearch", kHistorySource);
  if (v.status() == v1::CHECK_STATUS_UNSPECIFIED) return true;
  if (v.status() != v1::NOT_APPLICABLE) status = Worst(status, v.status());
  for (const v1::Evidence& e : v.evidence()) evidence.push_back(e);
  return false;
}

// ElastAlert's record of the emails it sent for `rule`.
void ElastalertEvidence(const v1::AlertHistoryFact& fact, const v1::AlertRuleHistory& rule,
                        v1::CheckStatus& status, std::vector<v1::Evidence>& evidence) {
  if (!fact.elastalert_index()) {
    status = Worst(status, v1::WARN);
    evidence.push_back(MakeEvidence(
        "elastalert_status does not exist: ElastAlert has never recorded an alert it handled "
        "(is the elastalert service running?)",
        std::string(kElastalertSource), "absent", "present"));
    return;
  }
  if (rule.sent_count() == 0) {
    if (rule.count() > 0) status = Worst(status, v1::WARN);
    evidence.push_back(MakeEvidence(
        absl::StrCat("ElastAlert's rule ", rule.elastalert_rule(),
                     " never sent an email (no alert_sent: true)",
                     rule.count() > 0 ? " although Kibana raised the alert: check SMTP and "
                                        "countryconfig's /email"
                                      : ""),
        std::string(kElastalertSource), "0 sent", "sent"));
    return;
  }
  evidence.push_back(MakeEvidence(
      absl::StrCat(
          "ElastAlert's rule ", rule.elastalert_rule(), " sent ", rule.sent_count(),
          " email(s), last ", When(rule.last_sent_unix()),
          rule.elastalert_rule() == "alert" ? " (it forwards the disk and CPU rules)" : ""),
      std::string(kElastalertSource), When(rule.last_sent_unix())));
}

// Adds "<rule> fired N times, last T" and one line per host; WARN when the
// rule never fired. Returns the hosts (lower case) that raised it.
std::set<std::string> RuleEvidence(const v1::AlertHistoryFact& fact, absl::string_view name,
                                   v1::CheckStatus& status, std::vector<v1::Evidence>& evidence) {
  std::set<std::string> hosts;
  const v1::AlertRuleHistory* rule = Rule(fact, name);
  if (!fact.history_index() || rule == nullptr || rule->count() == 0) {
    status = Worst(status, v1::WARN);
    evidence.push_back(MakeEvidence(
        absl::StrCat("the Kibana rule \"", name, "\" never fired",
                     fact.history_index() ? ""
                                          : " (kibana-alert-history-default does not exist: "
                                            "Kibana has written no alert at all)"),
        std::string(kHistorySource), "never", "fired"));
    return hosts;
  }
  evidence.push_back(
      MakeEvidence(absl::StrCat("the Kibana rule \"", name, "\" fired ", rule->count(),
                                " time(s), last ", When(rule->last_fired_unix())),
                   std::string(kHistorySource), When(rule->last_fired_unix())));
  for (const v1::AlertHost& h : rule->hosts()) {
    hosts.insert(absl::AsciiStrToLower(h.host()));
    evidence.push_back(
        MakeEvidence(absl::StrCat("  ", h.host(), ": last fired ", When(h.last_fired_unix()), " (",
                                  h.count(), " of the latest alerts)"),
                     std::string(kHistorySource), When(h.last_fired_unix())));
  }
  return hosts;
}

// Item 7 from the alert history: the SSH-login rule per swarm node.
void SshHistoryEvidence(const v1::FactReport& report, const EvalContext& ctx,
                        v1::CheckStatus& status, std::vector<v1::Evidence>& evidence) {
  if (!HistoryUsable(report, ctx, status, evidence)) return;
  const v1::AlertHistoryFact& fact = report.alert_history();
  std::set<std::string> hosts = RuleEvidence(fact, kSshRule, status, evidence);
  if (report.swarm().collection().state() == v1::Collection::OK) {
    for (const v1::SwarmNode& node : report.swarm().nodes()) {
      if (node.hostname().empty() || hosts.count(absl::AsciiStrToLower(node.hostname()))) {
        continue;
      }
      status = Worst(status, v1::WARN);
      evidence.push_back(Finding(
          MakeEvidence(absl::StrCat("swarm node ", node.hostname(),
                                    " never raised the SSH-login alert (among the latest alerts "
                                    "read): log in to it and confirm the email"),
                       std::string(kHistorySource), "never", "fired"),
          {{"host", node.hostname()}}));
    }
  }
  if (const v1::AlertRuleHistory* rule = Rule(fact, kSshRule); rule != nullptr) {
    ElastalertEvidence(fact, *rule, status, evidence);
  }
}

// Item 8: the disk rules in the alert history.
v1::Verdict DiskAlertEvidence(const v1::FactReport& report, const EvalContext& ctx) {
  v1::CheckStatus status = v1::PASS;
  std::vector<v1::Evidence> evidence;
  if (!HistoryUsable(report, ctx, status, evidence)) {
    if (status == v1::PASS) status = v1::NOT_APPLICABLE;
    if (evidence.empty()) {
      evidence.push_back(
          MakeEvidence("the alert history is read on the swarm manager that runs Elasticsearch",
                       std::string(kHistorySource), "not a manager"));
    }
    return MakeVerdict(status, std::move(evidence));
  }
  const v1::AlertHistoryFact& fact = report.alert_history();
  v1::CheckStatus fired = v1::PASS;
  std::vector<v1::Evidence> rules;
  bool any = false;
  for (absl::string_view name : kDiskRules) {
    v1::CheckStatus one = v1::PASS;
    RuleEvidence(fact, name, one, rules);
    if (one == v1::PASS) any = true;
  }
  // One disk rule firing is the test; the other never firing is normal.
  if (!any) fired = v1::WARN;
  for (v1::Evidence& e : rules) evidence.push_back(std::move(e));
  status = Worst(status, fired);
  const v1::AlertRuleHistory* forwarded = nullptr;
  for (absl::string_view name : kDiskRules) {
    const v1::AlertRuleHistory* r = Rule(fact, name);
    if (r != nullptr && (forwarded == nullptr || r->count() > forwarded->count())) forwarded = r;
  }
  if (forwarded != nullptr) ElastalertEvidence(fact, *forwarded, status, evidence);
  return MakeVerdict(status, std::move(evidence));
}

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
  SshHistoryEvidence(report, ctx, status, evidence);
  return MakeVerdict(status, std::move(evidence));
}

}  // namespace

void RegisterAlertChecks(CheckRegistry& registry) {
  registry.Bind("alert.ssh_login", LoginAlertEvidence);
  registry.Bind("alert.disk_tested", DiskAlertEvidence);
}

}  // namespace preflight::collector
