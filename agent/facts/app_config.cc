#include "agent/facts/app_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "agent/facts/mask.h"
#include "agent/facts/services.h"
#include "agent/facts/tls_certs.h"

namespace preflight::agent {

namespace {

constexpr absl::Duration kSmtpProbeTimeout = absl::Seconds(10);
constexpr size_t kMaxShown = 254;  // an address or a host name
constexpr int kMaxConflicts = 20;
constexpr int kMaxDsns = 10;

// A value shown in the report: masked in case it holds a secret after all
// (a password written into SMTP_HOST), and cut.
std::string Shown(absl::string_view value) {
  std::string s = MaskSecrets(value);
  if (s.size() > kMaxShown) s.resize(kMaxShown);
  return s;
}

// SMTP_HOST as shown: a "user:password@" written before the host is masked.
std::string ShownHost(absl::string_view host) {
  size_t at = host.rfind('@');
  if (at == absl::string_view::npos) return Shown(host);
  return Shown(absl::StrCat(kMasked, host.substr(at)));
}

std::string Env(const DockerService& s, const char* name) {
  auto it = s.env.find(name);
  return it == s.env.end() ? std::string() : it->second;
}

// Inspected services, the country configuration first (it sends OpenCRVS's
// mail), then in `docker service ls` order.
std::vector<const DockerService*> Ordered(const std::vector<DockerService>& services) {
  std::vector<const DockerService*> out;
  for (const DockerService& s : services) {
    if (s.inspected && IsCountryconfigService(s.name)) out.push_back(&s);
  }
  for (const DockerService& s : services) {
    if (s.inspected && !IsCountryconfigService(s.name)) out.push_back(&s);
  }
  return out;
}

bool AllDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
}

class AppConfigCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "app_config"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::AppConfigFact& fact = *report.mutable_app_config();
    v1::Collection* collection = fact.mutable_collection();
    if (SourceOff(options.application_docker, kApplicationOff, *collection)) return collection;
    DockerServices services = ReadDockerServices(env);
    fact.set_source(services.source);
    ApplyTo(services, *collection);
    if (services.state != v1::Collection::OK) return collection;
    size_t inspected = 0;
    for (const DockerService& s : services.services) inspected += s.inspected ? 1 : 0;
    if (inspected < services.services.size()) {
      // A service whose environment was not read may be the one that sets
      // SMTP or lacks SENTRY_DSN.
      collection->set_state(v1::Collection::ERROR);
      collection->set_error(absl::StrCat("docker service inspect described ", inspected, " of the ",
                                         services.services.size(), " services listed"));
      return collection;
    }
    *fact.mutable_smtp() = SmtpFromServices(services.services);
    *fact.mutable_sentry() = SentryFromServices(services.services);
    v1::SmtpEvidence& smtp = *fact.mutable_smtp();
    if (options.application_smtp_probe && smtp.configured() && smtp.port() > 0) {
      Probe(env, smtp);
      fact.set_source(absl::StrCat(fact.source(), ", SMTP ", smtp.probe_mode(), " handshake"));
    }
    return collection;
  }

 private:
  static void Probe(HostEnv& env, v1::SmtpEvidence& smtp) {
    const std::string& host = smtp.host();
    const bool tls = smtp.port() == 465 || smtp.secure() == "true";
    smtp.set_probed(true);
    smtp.set_probe_mode(tls ? "tls" : "starttls");
    if (host.empty() || absl::StrContains(host, kMasked) ||
        host.find_first_of(" \t/@") != std::string::npos) {
      smtp.set_probe_error("SMTP_HOST is not a host name");
      return;
    }
    // An IPv6 literal may be written bracketed ("[::1]"), as in a URL: the
    // address gets one pair of brackets either way, the SNI none.
    std::string bare = host;
    if (absl::StartsWith(bare, "[") && absl::EndsWith(bare, "]")) {
      bare = bare.substr(1, bare.size() - 2);
    }
    const std::string address = bare.find(':') != std::string::npos
                                    ? absl::StrCat("[", bare, "]:", smtp.port())
                                    : absl::StrCat(bare, ":", smtp.port());
    auto chain = env.ProbeSmtpTls(address, bare, !tls, kSmtpProbeTimeout);
    if (!chain.ok()) {
      smtp.set_probe_error(Shown(chain.status().message()));
      return;
    }
    if (chain->empty()) {
      smtp.set_probe_error(absl::StrCat(address, " presented no certificate"));
      return;
    }
    // Mail servers are public: the system store judges them, not a private
    // CA configured for the web entry point.
    *smtp.mutable_certificate() = DescribeChain(
        *chain, absl::StrCat("smtp://", address, " ", smtp.probe_mode()), "", absl::Now());
    smtp.mutable_certificate()->set_sni(host);
    smtp.set_name_matches(CertificateNames(smtp.certificate(), host));
  }
};

}  // namespace

bool IsPlaceholderEmail(absl::string_view address) {
  address = absl::StripAsciiWhitespace(address);
  if (address.empty()) return true;
  size_t at = address.rfind('@');
  std::string domain =
      absl::AsciiStrToLower(at == absl::string_view::npos ? address : address.substr(at + 1));
  while (!domain.empty() && (domain.back() == '.' || domain.back() == '>')) domain.pop_back();
  if (domain.empty() || domain == "localhost") return true;
  for (absl::string_view reserved : {"example.com", "example.org", "example.net"}) {
    if (domain == reserved || absl::EndsWith(domain, absl::StrCat(".", reserved))) return true;
  }
  for (absl::string_view tld : {".example", ".test", ".invalid", ".localhost"}) {
    if (absl::EndsWith(domain, tld) || domain == tld.substr(1)) return true;
  }
  return false;
}

absl::Status CheckDsn(absl::string_view dsn) {
  absl::string_view rest = dsn;
  if (!absl::ConsumePrefix(&rest, "https://") && !absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError("the scheme is not https:// or http://");
  }
  size_t end = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, end);
  size_t at = authority.rfind('@');
  if (at == absl::string_view::npos || at == 0 || authority[0] == ':') {
    return absl::InvalidArgumentError("no key before '@'");
  }
  absl::string_view host = authority.substr(at + 1);
  if (host.empty() || host[0] == ':') return absl::InvalidArgumentError("no host");
  if (end == absl::string_view::npos || rest[end] != '/') {
    return absl::InvalidArgumentError("no project id");
  }
  absl::string_view path = rest.substr(end);
  path = path.substr(0, path.find_first_of("?#"));
  absl::string_view project = path.substr(path.rfind('/') + 1);
  if (!AllDigits(project)) return absl::InvalidArgumentError("the project id is not a number");
  return absl::OkStatus();
}

v1::SmtpEvidence SmtpFromServices(const std::vector<DockerService>& services) {
  v1::SmtpEvidence smtp;
  const std::vector<const DockerService*> ordered = Ordered(services);
  const DockerService* primary = nullptr;
  for (const DockerService* s : ordered) {
    if (Env(*s, "SMTP_HOST").empty()) continue;
    smtp.add_services(s->name);
    if (primary == nullptr) primary = s;
  }
  // Each value: the primary's, else the first service's that sets it.
  auto value = [&](const char* name) -> std::pair<std::string, const DockerService*> {
    if (primary != nullptr && !Env(*primary, name).empty()) return {Env(*primary, name), primary};
    for (const DockerService* s : ordered) {
      if (!Env(*s, name).empty()) return {Env(*s, name), s};
    }
    return {"", nullptr};
  };
  const auto host = value("SMTP_HOST");
  const auto port = value("SMTP_PORT");
  const auto secure = value("SMTP_SECURE");
  const auto sender = value("SENDER_EMAIL_ADDRESS");
  const auto alert = value("ALERT_EMAIL");
  smtp.set_configured(!host.first.empty() && !port.first.empty());
  smtp.set_host(ShownHost(host.first));
  uint32_t p = 0;
  if (absl::SimpleAtoi(port.first, &p) && p <= 65535) smtp.set_port(p);
  smtp.set_secure(Shown(secure.first));
  if (primary != nullptr) {
    smtp.set_username_set(!Env(*primary, "SMTP_USERNAME").empty());
    smtp.set_password_set(!Env(*primary, "SMTP_PASSWORD").empty());
  }
  smtp.set_sender(Shown(sender.first));
  smtp.set_sender_placeholder(IsPlaceholderEmail(sender.first));
  smtp.set_alert_email(Shown(alert.first));
  smtp.set_alert_email_placeholder(IsPlaceholderEmail(alert.first));
  for (const DockerService* s : ordered) {
    for (const auto& [name, shown] :
         std::vector<std::pair<const char*, std::pair<std::string, const DockerService*>>>{
             {"SMTP_HOST", host},
             {"SMTP_PORT", port},
             {"SMTP_SECURE", secure},
             {"SENDER_EMAIL_ADDRESS", sender},
             {"ALERT_EMAIL", alert}}) {
      std::string v = Env(*s, name);
      if (v.empty() || s == shown.second || v == shown.first) continue;
      if (smtp.conflicts_size() >= kMaxConflicts) break;
      smtp.add_conflicts(absl::StrCat(s->name, ": ", name, " differs (",
                                      name == std::string("SMTP_HOST") ? ShownHost(v) : Shown(v),
                                      ")"));
    }
  }
  return smtp;
}

v1::SentryEvidence SentryFromServices(const std::vector<DockerService>& services) {
  v1::SentryEvidence sentry;
  std::set<std::string> raw;
  std::set<std::string> masked;
  bool well_formed = true;
  for (const DockerService* s : Ordered(services)) {
    const std::string dsn = Env(*s, "SENTRY_DSN");
    if (dsn.empty()) {
      if (IsCoreService(*s)) sentry.add_services_without(s->name);
      continue;
    }
    sentry.add_services_with(s->name);
    raw.insert(dsn);
    std::string shown = MaskDsn(dsn);
    if (masked.insert(shown).second && sentry.dsns_size() < kMaxDsns) sentry.add_dsns(shown);
    if (absl::Status ok = CheckDsn(dsn); !ok.ok()) {
      if (well_formed) {
        sentry.set_problem(absl::StrCat(s->name, ": SENTRY_DSN ", shown, ": ", ok.message()));
      }
      well_formed = false;
    }
  }
  sentry.set_present(!raw.empty());
  sentry.set_well_formed(!raw.empty() && well_formed);
  sentry.set_consistent(raw.size() == 1);
  return sentry;
}

namespace {

// An IP literal in inet_ntop's spelling (so "2001:DB8:0::1" equals
// "2001:db8::1"); nullopt for anything else.
std::optional<std::string> CanonicalIp(absl::string_view text) {
  if (absl::StartsWith(text, "[") && absl::EndsWith(text, "]")) {
    text = text.substr(1, text.size() - 2);
  }
  const std::string s(text);
  unsigned char bytes[sizeof(in6_addr)];
  char out[INET6_ADDRSTRLEN] = {};
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, s.c_str(), bytes) == 1 &&
        inet_ntop(family, bytes, out, sizeof(out)) != nullptr) {
      return std::string(out);
    }
  }
  return std::nullopt;
}

}  // namespace

bool CertificateNames(const v1::CertificateInfo& cert, absl::string_view host) {
  if (std::optional<std::string> ip = CanonicalIp(host); ip.has_value()) {
    return std::any_of(cert.ip_addresses().begin(), cert.ip_addresses().end(),
                       [&](const std::string& a) { return CanonicalIp(a) == ip; });
  }
  std::string want = absl::AsciiStrToLower(absl::StripSuffix(host, "."));
  if (want.empty()) return false;
  for (const std::string& name : cert.dns_names()) {
    std::string n = absl::AsciiStrToLower(absl::StripSuffix(name, "."));
    if (n == want) return true;
    if (absl::StartsWith(n, "*.")) {
      size_t dot = want.find('.');
      if (dot != std::string::npos && dot > 0 && want.substr(dot) == n.substr(1)) return true;
    }
  }
  return false;
}

std::unique_ptr<FactCollector> MakeAppConfigCollector() {
  return std::make_unique<AppConfigCollector>();
}

}  // namespace preflight::agent
