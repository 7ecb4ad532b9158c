// Check area "application": evidence from OpenCRVS itself, read on the swarm
// managers when the agent's config enables it (AgentConfig.application; the
// agent derives these facts on the host: no environment value, DSN key or
// password reaches the collector).
//   - services.healthy (item 1, the on-server half of "pipelines green"):
//     every swarm service at its desired replicas, no failed last update;
//   - smtp.tested (item 2, signed off): SMTP configured, sender and
//     ALERT_EMAIL not placeholders, a live handshake to the server;
//   - sentry.slack (item 9, signed off): SENTRY_DSN present, well formed and
//     the same across services.
// release.latest (release.cc) also reads the services fact: every OpenCRVS
// core image, not only opencrvs_base, must be the adopted release.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/checks/check.h"
#include "collector/checks/not_gathered.h"

namespace preflight::collector {
namespace {

constexpr absl::string_view kServicesSource = "docker service ls, docker service inspect";

bool FailedUpdate(absl::string_view state) {
  return state == "paused" || state == "rollback_started" || state == "rollback_paused" ||
         state == "rollback_completed";
}

bool IsJob(absl::string_view mode) { return absl::EndsWith(mode, "-job"); }

v1::Verdict ServicesHealthy(const v1::FactReport& report, const EvalContext& ctx) {
  const v1::ServicesFact& fact = report.services();
  if (v1::Verdict v =
          NotGathered(report, fact.collection(), fact.enabled(), fact, "the swarm's services", ctx);
      v.status() != v1::CHECK_STATUS_UNSPECIFIED) {
    return v;
  }
  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = v1::PASS;
  int healthy = 0;
  for (const v1::ServiceState& s : fact.services()) {
    bool ok = true;
    if (s.replicas_known() && !IsJob(s.mode()) && s.running() < s.desired()) {
      ok = false;
      evidence.push_back(
          Finding(MakeEvidence(absl::StrCat(s.name(), " runs ", s.running(), " of ", s.desired(),
                                            " replicas (", s.image(), ")"),
                               "docker service ls", absl::StrCat(s.running(), "/", s.desired()),
                               absl::StrCat(s.desired(), "/", s.desired())),
                  {{"service", s.name()}}));
    }
    if (FailedUpdate(s.update_state())) {
      ok = false;
      evidence.push_back(Finding(
          MakeEvidence(absl::StrCat(s.name(), ": the last update ended ", s.update_state(),
                                    s.update_message().empty() ? "" : ": ", s.update_message()),
                       "docker service inspect (UpdateStatus)", s.update_state(), "completed"),
          {{"service", s.name()}}));
    }
    if (ok) ++healthy;
    if (!ok) status = v1::FAIL;
  }
  if (v1::Verdict unread = UnreadableParts(report, fact, "the swarm's services", kServicesSource);
      unread.status() != v1::CHECK_STATUS_UNSPECIFIED) {
    status = Worst(status, v1::UNKNOWN);
    for (const v1::Evidence& e : unread.evidence()) evidence.push_back(e);
  }
  if (fact.services().empty()) {
    return MakeVerdict(v1::UNKNOWN,
                       {MakeEvidence("Docker listed no swarm service on this manager",
                                     std::string(kServicesSource), "0 services", "services")});
  }
  evidence.insert(evidence.begin(),
                  MakeEvidence(absl::StrCat(healthy, " of ", fact.services_size(),
                                            " services at their desired replicas with no failed "
                                            "last update"),
                               std::string(kServicesSource), absl::StrCat(healthy),
                               absl::StrCat(fact.services_size())));
  return MakeVerdict(status, std::move(evidence));
}

v1::Verdict SmtpEvidenceOf(const v1::FactReport& report, const EvalContext& ctx) {
  const v1::AppConfigFact& fact = report.app_config();
  if (v1::Verdict v = NotGathered(report, fact.collection(), report.services().enabled(), fact,
                                  "the services' settings", ctx);
      v.status() != v1::CHECK_STATUS_UNSPECIFIED) {
    return v;
  }
  const v1::SmtpEvidence& smtp = fact.smtp();
  const std::string source = "docker service inspect (environment)";
  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = v1::PASS;
  if (!smtp.configured()) {
    return MakeVerdict(
        v1::FAIL,
        {MakeEvidence("no service sets SMTP_HOST and SMTP_PORT: no email or alert can be sent",
                      source, "not configured", "SMTP_HOST, SMTP_PORT")});
  }
  evidence.push_back(MakeEvidence(
      absl::StrCat("SMTP ", smtp.host(), ":", smtp.port(),
                   smtp.secure().empty() ? "" : absl::StrCat(" (SMTP_SECURE=", smtp.secure(), ")"),
                   smtp.username_set() ? ", with a user" : ", no SMTP_USERNAME",
                   smtp.password_set() ? " and a password" : ", no SMTP_PASSWORD", "; set by ",
                   absl::StrJoin(smtp.services(), ", ")),
      source, absl::StrCat(smtp.host(), ":", smtp.port())));
  for (const std::string& c : smtp.conflicts()) {
    status = Worst(status, v1::WARN);
    evidence.push_back(MakeEvidence(absl::StrCat("services disagree: ", c), source));
  }
  auto address = [&](absl::string_view name, const std::string& value, bool placeholder,
                     absl::string_view why) {
    if (placeholder) {
      status = v1::FAIL;
      evidence.push_back(Finding(
          MakeEvidence(
              absl::StrCat(name, " is ", value.empty() ? "empty" : value, ", a placeholder: ", why),
              source, value.empty() ? "empty" : value, "a real address"),
          {{"setting", std::string(name)}}));
    } else {
      evidence.push_back(MakeEvidence(absl::StrCat(name, " is ", value), source, value));
    }
  };
  address("SENDER_EMAIL_ADDRESS", smtp.sender(), smtp.sender_placeholder(),
          "mail from it is refused or lands in spam");
  address("ALERT_EMAIL", smtp.alert_email(), smtp.alert_email_placeholder(),
          "alerts are silently dropped");
  if (!smtp.probed()) {
    evidence.push_back(MakeEvidence(
        "no live handshake: application { smtp_probe: true } is not set in the agent's config",
        "agent config", "not probed"));
  } else if (!smtp.probe_error().empty()) {
    status = v1::FAIL;
    evidence.push_back(MakeEvidence(
        absl::StrCat("the ", smtp.probe_mode(), " handshake with ", smtp.host(), ":", smtp.port(),
                     " from this manager failed: ", smtp.probe_error()),
        absl::StrCat("smtp://", smtp.host(), ":", smtp.port()), "failed", "a TLS handshake"));
  } else {
    const v1::CertificateInfo& cert = smtp.certificate();
    const bool good = cert.chain_verified() && smtp.name_matches() &&
                      absl::FromUnixSeconds(cert.not_after_unix()) > ctx.now;
    if (!good) status = v1::FAIL;
    evidence.push_back(MakeEvidence(
        absl::StrCat(smtp.probe_mode(), " handshake with ", smtp.host(), ":", smtp.port(),
                     ": certificate ", cert.subject(), " issued by ", cert.issuer(), ", until ",
                     UtcMinute(absl::FromUnixSeconds(cert.not_after_unix())),
                     cert.chain_verified() ? ", verified"
                                           : absl::StrCat(", NOT verified: ", cert.verify_error()),
                     smtp.name_matches() ? "" : absl::StrCat(", does not name ", smtp.host())),
        absl::StrCat("smtp://", smtp.host(), ":", smtp.port()), good ? "valid" : "not valid",
        "valid for the host"));
  }
  return MakeVerdict(status, std::move(evidence));
}

v1::Verdict SentryEvidenceOf(const v1::FactReport& report, const EvalContext& ctx) {
  const v1::AppConfigFact& fact = report.app_config();
  if (v1::Verdict v = NotGathered(report, fact.collection(), report.services().enabled(), fact,
                                  "the services' settings", ctx);
      v.status() != v1::CHECK_STATUS_UNSPECIFIED) {
    return v;
  }
  const v1::SentryEvidence& sentry = fact.sentry();
  const std::string source = "docker service inspect (SENTRY_DSN)";
  if (!sentry.present()) {
    return MakeVerdict(v1::FAIL, {MakeEvidence("no service sets SENTRY_DSN: errors reach no one",
                                               source, "absent", "SENTRY_DSN set")});
  }
  std::vector<v1::Evidence> evidence;
  v1::CheckStatus status = v1::PASS;
  evidence.push_back(
      MakeEvidence(absl::StrCat("SENTRY_DSN ", absl::StrJoin(sentry.dsns(), ", "), " set by ",
                                absl::StrJoin(sentry.services_with(), ", ")),
                   source, absl::StrJoin(sentry.dsns(), ", ")));
  if (!sentry.well_formed()) {
    status = v1::FAIL;
    evidence.push_back(MakeEvidence(absl::StrCat("SENTRY_DSN is malformed: ", sentry.problem()),
                                    source, "malformed", "scheme://key@host/project"));
  }
  if (!sentry.consistent()) {
    status = Worst(status, v1::WARN);
    evidence.push_back(MakeEvidence("services send their errors to different Sentry projects",
                                    source, absl::StrCat(sentry.dsns_size(), " DSNs"), "one"));
  }
  if (!sentry.services_without().empty()) {
    status = Worst(status, v1::WARN);
    evidence.push_back(MakeEvidence(absl::StrCat("core services without SENTRY_DSN: ",
                                                 absl::StrJoin(sentry.services_without(), ", ")),
                                    source, "unset", "set"));
  }
  return MakeVerdict(status, std::move(evidence));
}

}  // namespace

void RegisterApplicationChecks(CheckRegistry& registry) {
  registry.Bind("services.healthy", ServicesHealthy);
  registry.Bind("smtp.tested", SmtpEvidenceOf);
  registry.Bind("sentry.slack", SentryEvidenceOf);
}

}  // namespace preflight::collector
