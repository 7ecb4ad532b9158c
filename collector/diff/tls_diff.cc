// [tls] Certificates by where they are served or stored and the names they
// cover: renewed (new serial, new expiry), verification, issuer; how each
// probed hostname resolves.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/diff/renderer.h"

namespace preflight::collector::diff {
namespace {

std::string Names(const v1::CertificateInfo& c) {
  return c.dns_names().empty() ? OrNone(c.subject()) : absl::StrJoin(c.dns_names(), ", ");
}

std::string Cert(const v1::CertificateInfo& c) {
  return absl::StrCat("certificate for ", Names(c), " from ", c.origin(), " (issuer ",
                      OrNone(c.issuer()), ", expires ", Time(c.not_after_unix()),
                      c.chain_verified() ? ", verified" : ", not verified", ")");
}

std::string Addresses(const google::protobuf::RepeatedPtrField<std::string>& a) {
  return OrNone(absl::StrJoin(a, " "));
}

}  // namespace

void RenderTls(const v1::TlsFact& before, const v1::TlsFact& after, Lines& out) {
  CollectionLines(before.collection(), after.collection(), out);
  KeyedDiff(
      before.certificates(), after.certificates(),
      [](const v1::CertificateInfo& c) { return absl::StrCat(c.origin(), "\n", Names(c)); },
      [&](const v1::CertificateInfo& c) { out.push_back(absl::StrCat("added: ", Cert(c))); },
      [&](const v1::CertificateInfo& c) { out.push_back(absl::StrCat("removed: ", Cert(c))); },
      [&](const v1::CertificateInfo& a, const v1::CertificateInfo& b) {
        std::vector<std::string> parts;
        if (a.serial() != b.serial() || a.fingerprint_sha256() != b.fingerprint_sha256()) {
          parts.push_back(absl::StrCat("replaced (serial ",
                                       Arrow(OrNone(a.serial()), OrNone(b.serial())), ")"));
        }
        if (a.not_after_unix() != b.not_after_unix()) {
          parts.push_back(
              absl::StrCat("expires ", Arrow(Time(a.not_after_unix()), Time(b.not_after_unix()))));
        }
        for (std::string& p : ScalarChanges(
                 a, b,
                 {"origin", "serial", "fingerprint_sha256", "not_before_unix", "not_after_unix"})) {
          parts.push_back(std::move(p));
        }
        if (parts.empty()) return;
        out.push_back(absl::StrCat("changed: certificate for ", Names(b), " from ", b.origin(),
                                   ": ", absl::StrJoin(parts, ", ")));
      });
  SetLines("probed hostname", before.probed_hostnames(), after.probed_hostnames(), out);
  KeyedDiff(
      before.resolutions(), after.resolutions(),
      [](const v1::NameResolution& r) { return r.name(); },
      [&](const v1::NameResolution& r) {
        out.push_back(absl::StrCat(
            "added: ", r.name(), " resolves to ",
            Addresses(r.resolver_asked() ? r.resolver_addresses() : r.hosts_file_addresses())));
      },
      [&](const v1::NameResolution& r) {
        out.push_back(absl::StrCat("removed: resolution of ", r.name()));
      },
      [&](const v1::NameResolution& a, const v1::NameResolution& b) {
        if (std::string s = SetChange(a.hosts_file_addresses(), b.hosts_file_addresses());
            !s.empty()) {
          out.push_back(absl::StrCat("changed: ", b.name(), " in /etc/hosts ", s,
                                     b.hosts_file_source().empty() ? "" : " (",
                                     b.hosts_file_source(),
                                     b.hosts_file_source().empty() ? "" : ")"));
        }
        if (std::string s = SetChange(a.resolver_addresses(), b.resolver_addresses()); !s.empty()) {
          out.push_back(absl::StrCat("changed: ", b.name(), " resolves to ", s));
        }
        if (a.resolver_error() != b.resolver_error()) {
          out.push_back(
              absl::StrCat("changed: ", b.name(), " resolver error ",
                           Arrow(OrNone(a.resolver_error()), OrNone(b.resolver_error()))));
        }
      });
  SetLines("local address", before.local_addresses(), after.local_addresses(), out);
  ProblemLines(before.problems(), after.problems(), out);
}

}  // namespace preflight::collector::diff
