// Check area "tls": checklist item 3 (DNS & TLS, certificate valid). For every
// hostname of the policy, the certificate the manager serves (a live handshake
// with that SNI when the agent made one, else a stored certificate covering
// the name) must cover the name, be within its validity period, chain to a
// trusted root and not expire within the policy's thresholds.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "collector/checks/check.h"

namespace preflight::collector {
namespace {

constexpr int kMaxCertificateLines = 50;
constexpr int kMaxProblemLines = 5;
constexpr char kStores[] = "/data/traefik/acme.json, /data/traefik/certs";

std::string NormalizeName(absl::string_view name) {
  std::string out = absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

// RFC 6125 matching of one DNS name of a certificate against a hostname: a
// wildcard is only the whole leftmost label ("*.example.org" covers
// "a.example.org", not "example.org" nor "a.b.example.org") and needs at
// least two labels after it.
bool TlsNameMatches(absl::string_view pattern_in, absl::string_view host_in) {
  const std::string pattern = NormalizeName(pattern_in);
  const std::string host = NormalizeName(host_in);
  if (pattern.empty() || host.empty() || absl::StrContains(host, '*')) return false;
  if (!absl::StartsWith(pattern, "*.")) {
    return !absl::StrContains(pattern, '*') && pattern == host;
  }
  absl::string_view rest = absl::string_view(pattern).substr(2);
  if (absl::StrContains(rest, '*') || !absl::StrContains(rest, '.') ||
      absl::StartsWith(rest, ".") || absl::StrContains(rest, "..")) {
    return false;
  }
  size_t dot = host.find('.');
  if (dot == std::string::npos || dot == 0) return false;
  return absl::string_view(host).substr(dot + 1) == rest;
}

bool Covers(const v1::CertificateInfo& cert, absl::string_view host) {
  return std::any_of(cert.dns_names().begin(), cert.dns_names().end(),
                     [&](const std::string& n) { return TlsNameMatches(n, host); });
}

// Worst() is the shared one in check.h.

std::string Day(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(unix_seconds), absl::UTCTimeZone());
}

std::string Days(int64_t n) { return absl::StrCat(n, n == 1 || n == -1 ? " day" : " days"); }

// Where a certificate was seen, in words.
std::string KindOf(const v1::CertificateInfo& c) {
  if (absl::StartsWith(c.origin(), "tls://")) return "live handshake";
  if (absl::StrContains(c.origin(), "resolver=") || absl::StrContains(c.origin(), "acme")) {
    return "ACME store";
  }
  return "certificate file";
}

struct Thresholds {
  int64_t warn_days;
  int64_t fail_days;
  bool trust_private_ca;
};

struct Assessment {
  v1::CheckStatus status = v1::FAIL;
  std::string observed;
  int64_t days_left = 0;
};

// Validity, trust and expiry of one certificate at `now`.
Assessment Assess(const v1::CertificateInfo& c, absl::Time now, const Thresholds& t) {
  Assessment a;
  if (c.chain_length() == 0) {
    a.observed = absl::StrCat("unparsable certificate: ", c.verify_error());
    return a;
  }
  const int64_t now_s = absl::ToUnixSeconds(now);
  const int64_t left_s = c.not_after_unix() - now_s;
  a.days_left = left_s >= 0 ? left_s / 86400 : -((-left_s + 86399) / 86400);
  if (c.not_before_unix() > now_s) {
    a.observed = absl::StrCat("not yet valid: valid from ", Day(c.not_before_unix()), " (in ",
                              Days((c.not_before_unix() - now_s + 86399) / 86400), ")");
    return a;
  }
  if (c.not_after_unix() <= now_s) {
    a.observed = absl::StrCat("expired on ", Day(c.not_after_unix()), " (",
                              Days((now_s - c.not_after_unix()) / 86400), " ago)");
    return a;
  }
  const bool system_trusted = c.chain_verified() && c.verify_error().empty();
  const bool private_trusted = c.chain_verified() && !c.verify_error().empty();
  std::string trust_note;
  if (!system_trusted) {
    if (private_trusted && t.trust_private_ca) {
      trust_note = ", trusted via the configured private CA";
    } else if (private_trusted) {
      a.observed = absl::StrCat("untrusted: ", c.verify_error(),
                                " (it chains only to the private CA, and tls_trust_private_ca is "
                                "off)");
      return a;
    } else if (c.self_signed()) {
      a.observed = absl::StrCat("self-signed and untrusted (", c.verify_error(), ")");
      return a;
    } else {
      a.observed = absl::StrCat("untrusted: ",
                                c.verify_error().empty() ? "chain not verified" : c.verify_error());
      return a;
    }
  }
  const std::string until =
      absl::StrCat(Days(a.days_left), " left, until ", Day(c.not_after_unix()), trust_note);
  if (a.days_left < t.fail_days) {
    a.observed = absl::StrCat("expires soon: ", until);
  } else if (a.days_left < t.warn_days) {
    a.status = v1::WARN;
    a.observed = absl::StrCat("renewal due: ", until);
  } else {
    a.status = v1::PASS;
    a.observed = absl::StrCat("valid: ", until);
  }
  return a;
}

std::string Describe(const v1::CertificateInfo& c) {
  return absl::StrCat(KindOf(c), " ", c.origin(), " (issuer ",
                      c.issuer().empty() ? "unknown" : c.issuer(), ", names ",
                      c.dns_names().empty() ? "none" : absl::StrJoin(c.dns_names(), " "), ")");
}

// Problems met while probing `host` ("... (sni host): ...").
std::vector<const v1::ParseProblem*> ProbeProblemsFor(const v1::TlsFact& tls,
                                                      absl::string_view host) {
  std::vector<const v1::ParseProblem*> out;
  const std::string marker = absl::StrCat("(sni ", host, ")");
  for (const v1::ParseProblem& p : tls.problems()) {
    if (absl::StartsWith(p.file(), "tls://") && absl::StrContains(p.message(), marker)) {
      out.push_back(&p);
    }
  }
  return out;
}

// Picks the certificate for `host`: the live handshake with that SNI, else
// the best stored (or otherwise served) certificate covering the name.
// `incomplete`: some store could not be read, so a name no certificate
// covers cannot be judged.
v1::Evidence EvaluateHostname(const v1::TlsFact& tls, const std::string& host, absl::Time now,
                              const Thresholds& t, bool incomplete, v1::CheckStatus* status) {
  const std::string expected = absl::StrCat("a trusted certificate covering ", host,
                                            ", valid for at least ", t.warn_days, " more days");
  const v1::CertificateInfo* chosen = nullptr;
  Assessment best;
  for (const v1::CertificateInfo& c : tls.certificates()) {
    if (!c.sni().empty() && NormalizeName(c.sni()) == NormalizeName(host)) {
      chosen = &c;
      break;
    }
  }
  if (chosen != nullptr && !Covers(*chosen, host)) {
    *status = v1::FAIL;
    return MakeEvidence(
        absl::StrCat(host, ": FAIL: the server presents a certificate that does not cover ", host,
                     ": ", Describe(*chosen)),
        chosen->origin(),
        absl::StrCat("wrong name: certificate for ",
                     chosen->dns_names().empty() ? chosen->subject()
                                                 : absl::StrJoin(chosen->dns_names(), ", ")),
        expected);
  }
  if (chosen != nullptr) {
    best = Assess(*chosen, now, t);
  } else {
    for (const v1::CertificateInfo& c : tls.certificates()) {
      if (!Covers(c, host)) continue;
      Assessment a = Assess(c, now, t);
      // Strictly better: the worse of the two is not this one.
      if (chosen == nullptr || Worst(a.status, best.status) != a.status ||
          (a.status == best.status && c.not_after_unix() > chosen->not_after_unix())) {
        chosen = &c;
        best = std::move(a);
      }
    }
  }
  if (chosen == nullptr) {
    *status = incomplete ? v1::UNKNOWN : v1::FAIL;
    std::string why;
    for (const v1::ParseProblem* p : ProbeProblemsFor(tls, host)) {
      absl::StrAppend(&why, why.empty() ? "; " : ", ", p->message());
    }
    return MakeEvidence(
        absl::StrCat(host,
                     incomplete ? ": UNKNOWN: no certificate read covers "
                                : ": FAIL: no certificate covers ",
                     host, " (", tls.certificates_size(), " certificate(s) seen", why, ")"),
        tls.probed_hostnames().empty() ? kStores : absl::StrCat(kStores, ", live handshake"),
        "no certificate for this name", expected);
  }
  *status = best.status;
  std::string note;
  if (chosen->sni().empty()) {
    for (const v1::ParseProblem* p : ProbeProblemsFor(tls, host)) {
      absl::StrAppend(&note, "; live handshake failed: ", p->message());
    }
  }
  return MakeEvidence(absl::StrCat(host, ": ",
                                   best.status == v1::PASS   ? "PASS"
                                   : best.status == v1::WARN ? "WARN"
                                                             : "FAIL",
                                   ": ", best.observed, "; ", Describe(*chosen), note),
                      chosen->origin(), best.observed, expected);
}

// How the host resolves `host`: it must resolve, and to this host (else the
// certificate examined here may not be the one users get).
v1::Evidence EvaluateResolution(const v1::TlsFact& tls, const std::string& host,
                                v1::CheckStatus* status) {
  const v1::NameResolution* r = nullptr;
  for (const v1::NameResolution& x : tls.resolutions()) {
    if (NormalizeName(x.name()) == NormalizeName(host)) r = &x;
  }
  const std::string expected = absl::StrCat(host, " resolves to this host");
  if (r == nullptr) {
    *status = v1::UNKNOWN;
    return MakeEvidence(
        absl::StrCat(host,
                     ": resolution UNKNOWN: the agent did not resolve this name (it learns "
                     "the policy's names when it connects; the next report has them)"),
        "/etc/hosts, resolver", "not resolved", expected);
  }
  std::vector<std::string> addresses;
  std::string how;
  if (r->resolver_asked() && r->resolver_error().empty()) {
    addresses.assign(r->resolver_addresses().begin(), r->resolver_addresses().end());
    how = r->hosts_file_source().empty() ? "by the resolver"
                                         : absl::StrCat("pinned by ", r->hosts_file_source());
  } else if (r->resolver_asked()) {
    *status = v1::FAIL;
    return MakeEvidence(
        absl::StrCat(host, ": FAIL: does not resolve on this host (", r->resolver_error(), ")"),
        "resolver (getaddrinfo)", "does not resolve", expected);
  } else if (!r->hosts_file_addresses().empty()) {
    addresses.assign(r->hosts_file_addresses().begin(), r->hosts_file_addresses().end());
    how = absl::StrCat("by ", r->hosts_file_source());
  } else {
    *status = v1::UNKNOWN;
    return MakeEvidence(
        absl::StrCat(host,
                     ": resolution UNKNOWN: /etc/hosts does not list it and the resolver "
                     "cannot be asked when reading an image"),
        "/etc/hosts", "not resolved", expected);
  }
  const std::string source =
      r->hosts_file_source().empty() && r->resolver_asked()
          ? std::string("resolver (getaddrinfo)")
          : (r->hosts_file_source().empty() ? std::string("/etc/hosts") : r->hosts_file_source());
  const std::string list = absl::StrJoin(addresses, ", ");
  if (!tls.local_addresses_known()) {
    return MakeEvidence(absl::StrCat(host, ": resolves to ", list, " ", how,
                                     " (this host's addresses are not known reading an image)"),
                        source, list, expected);
  }
  for (const std::string& a : addresses) {
    for (const std::string& local : tls.local_addresses()) {
      if (a == local) {
        return MakeEvidence(absl::StrCat(host, ": resolves to ", list, " ", how, " (this host)"),
                            source, list, expected);
      }
    }
  }
  *status = v1::WARN;
  return MakeEvidence(
      absl::StrCat(
          host, ": WARN: resolves to ", list, " ", how,
          ", not to this host (its addresses: ", absl::StrJoin(tls.local_addresses(), ", "),
          "): the certificate examined here may not be the one users get, unless a "
          "load balancer or NAT forwards to this host"),
      source, list, expected);
}

v1::Verdict CertificateValid(const v1::FactReport& report, const EvalContext& ctx) {
  const v1::TlsFact& tls = report.tls();
  const v1::Collection::State state = tls.collection().state();
  if (state == v1::Collection::ABSENT) {
    // This check runs on the hosts that serve the web entry point (the
    // catalogue's roles): nothing to examine there is no pass and no
    // exemption. Reading an image, nothing could answer; live, nothing did.
    const bool image = !report.root().empty() && report.root() != "/";
    const std::vector<std::string>& names = ctx.params.List("tls_hostnames");
    const std::string what = absl::StrCat(
        "no TLS certificate store (", kStores, ") and ",
        names.empty() ? "no hostname to probe (policy tls_hostnames is empty)"
                      : absl::StrCat("no live handshake for ", absl::StrJoin(names, ", ")));
    return MakeVerdict(
        image ? v1::UNKNOWN : v1::FAIL,
        {MakeEvidence(
            absl::StrCat(what, image ? ": reading an image, nothing can answer a handshake; "
                                       "0 certificates examined"
                                     : ": this host serves the web entry point, yet no certificate "
                                       "was found; 0 certificates examined"),
            kStores, "no certificate", "a trusted certificate for every hostname")});
  }
  if (state != v1::Collection::OK && state != v1::Collection::ERROR) {
    return UnusableFact(report, tls, "TLS certificates", kStores);
  }
  // A store that exists but could not be read, or an agent without the
  // capability to read it: what it holds is unknown.
  if (v1::Verdict unread = UnreadableParts(report, tls, "TLS certificates", kStores);
      unread.status() != v1::CHECK_STATUS_UNSPECIFIED) {
    return unread;
  }

  Thresholds t;
  t.warn_days = static_cast<int64_t>(ctx.params.Uint("tls_warn_days"));
  t.fail_days = static_cast<int64_t>(ctx.params.Uint("tls_fail_days"));
  t.trust_private_ca = ctx.params.Bool("tls_trust_private_ca");

  const bool incomplete = state == v1::Collection::ERROR;
  v1::CheckStatus status = v1::PASS;
  std::vector<v1::Evidence> evidence;
  const std::vector<std::string>& hostnames = ctx.params.List("tls_hostnames");
  if (!hostnames.empty()) {
    for (const std::string& host : hostnames) {
      v1::CheckStatus s = v1::PASS;
      evidence.push_back(EvaluateHostname(tls, host, ctx.now, t, incomplete, &s));
      if (s != v1::PASS) evidence.back().set_finding(absl::StrCat("hostname=", host));
      status = Worst(status, s);
      s = v1::PASS;
      evidence.push_back(EvaluateResolution(tls, host, &s));
      if (s != v1::PASS) evidence.back().set_finding(absl::StrCat("hostname=", host));
      status = Worst(status, s);
    }
  } else {
    evidence.push_back(MakeEvidence(
        "no hostnames are configured (policy tls_hostnames): every certificate found is checked",
        "policy", absl::StrCat(tls.certificates_size(), " certificate(s)"),
        "tls_hostnames listing every name the manager serves"));
    if (tls.certificates().empty()) {
      status = incomplete ? v1::UNKNOWN : v1::FAIL;
      evidence.push_back(MakeEvidence("no certificate found in the stores or by a live handshake",
                                      kStores, "none", "at least one valid certificate"));
    }
    int shown = 0, hidden = 0;
    for (const v1::CertificateInfo& c : tls.certificates()) {
      Assessment a = Assess(c, ctx.now, t);
      if (!c.sni().empty() && a.status != v1::FAIL && !Covers(c, c.sni())) {
        a.status = v1::FAIL;
        a.observed = absl::StrCat(
            "wrong name: served for SNI ", c.sni(), " but covers only ",
            c.dns_names().empty() ? "no DNS name" : absl::StrJoin(c.dns_names(), ", "));
      }
      status = Worst(status, a.status);
      if (shown >= kMaxCertificateLines && a.status == v1::PASS) {
        ++hidden;
        continue;
      }
      ++shown;
      std::string name = c.dns_names().empty() ? c.subject() : c.dns_names(0);
      evidence.push_back(MakeEvidence(
          absl::StrCat(name, ": ", a.observed, "; ", Describe(c)), c.origin(), a.observed,
          absl::StrCat("trusted, valid for at least ", t.warn_days, " more days")));
    }
    if (hidden > 0) {
      evidence.push_back(
          MakeEvidence(absl::StrCat(hidden, " more valid certificate(s) not shown"), kStores));
    }
  }

  int problems = 0;
  for (const v1::ParseProblem& p : tls.problems()) {
    if (p.message() == "skipped private key file") continue;
    if (++problems > kMaxProblemLines) break;
    evidence.push_back(
        MakeEvidence(absl::StrCat("problem: ", p.file(), ": ", p.message()), p.file(), "", ""));
  }

  if (state == v1::Collection::ERROR && status != v1::FAIL) {
    // Some store could not be read: what was read cannot make this a pass.
    status = v1::UNKNOWN;
    evidence.insert(evidence.begin(),
                    MakeEvidence(absl::StrCat("TLS certificate store could not be read: ",
                                              tls.collection().error()),
                                 kStores, "unreadable"));
  }
  return MakeVerdict(status, std::move(evidence));
}

}  // namespace

void RegisterTlsChecks(CheckRegistry& registry) {
  registry.Bind("tls.certificate_valid", CertificateValid);
}

}  // namespace preflight::collector
