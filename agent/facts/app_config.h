// Fact kind "app_config" (checklist items 2 and 9): what the services'
// environment says about SMTP and Sentry, derived on the host from the same
// `docker service inspect` as "services" (docker_services.h; the command runs
// once per collection). Only derived values leave the host: whether SMTP is
// configured, its host, port, secure flag and sender addresses (and whether
// those are placeholders), whether a username and a password are set (never
// their values); SENTRY_DSN masked to its host and project (MaskDsn). With
// application { smtp_probe: true }, a TLS handshake (STARTTLS unless port 465
// or SMTP_SECURE=true) to the SMTP server: its certificate, verified against
// the system store, and whether it names SMTP_HOST. Never sends mail.
// Off unless application { docker: true }: then ABSENT and docker is not run.
#ifndef PREFLIGHT_AGENT_FACTS_APP_CONFIG_H_
#define PREFLIGHT_AGENT_FACTS_APP_CONFIG_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/facts/docker_services.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// A placeholder address: empty, or its domain (after the last '@') is
// localhost, example.com/.org/.net (or below them), or ends in .example,
// .test, .invalid or .localhost (RFC 2606 / 6761 names).
bool IsPlaceholderEmail(absl::string_view address);

// OK when `dsn` is a well-formed Sentry DSN: scheme https or http, a key
// before '@', a host, and a numeric project id as the last path segment.
// Otherwise INVALID_ARGUMENT saying what is wrong (never the DSN's text).
absl::Status CheckDsn(absl::string_view dsn);

// SMTP settings across the services (inspected ones only): the country
// configuration's values first, else the first service's that sets them;
// every other service that sets a value differently is a conflict. No probe.
v1::SmtpEvidence SmtpFromServices(const std::vector<DockerService>& services);

// SENTRY_DSN across the services (inspected ones only).
v1::SentryEvidence SentryFromServices(const std::vector<DockerService>& services);

// True when `cert` names `host` as a client checks it: a host name against
// the DNS names (case-insensitive; a "*.example.org" name matches exactly
// one more label); an IP literal ("10.0.0.5", "2001:db8::1", "[::1]")
// against the IP addresses only (RFC 6125 section 6.2.1, and what Node's
// tls.checkServerIdentity does for OpenCRVS's mailer), never against a DNS
// name that spells the address.
bool CertificateNames(const v1::CertificateInfo& cert, absl::string_view host);

// Reads no other fact. Options: application_docker, application_smtp_probe.
std::unique_ptr<FactCollector> MakeAppConfigCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_APP_CONFIG_H_
