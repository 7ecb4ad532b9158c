#include "proto/wire/identity.h"

#include <grpc/grpc_security_constants.h>
#include <openssl/pem.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "proto/wire/openssl_ptr.h"

namespace preflight {
namespace {

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!absl::ascii_isalnum(name[0])) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

bool ValidTrustDomain(absl::string_view td) {
  if (td.empty() || td.size() > 255) return false;
  for (char c : td) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '.' && c != '-') return false;
  }
  return true;
}

}  // namespace

absl::string_view KindName(PeerIdentity::Kind kind) {
  switch (kind) {
    case PeerIdentity::Kind::kHost:
      return "host";
    case PeerIdentity::Kind::kOperator:
      return "operator";
    case PeerIdentity::Kind::kAuditor:
      return "auditor";
    case PeerIdentity::Kind::kCollector:
      return "collector";
  }
  return "unknown";
}

std::string PeerIdentity::ToString() const {
  if (kind == Kind::kCollector) return "collector";
  return absl::StrCat(KindName(kind), "/", name);
}

absl::StatusOr<PeerIdentity> ParseSpiffeId(absl::string_view uri) {
  constexpr absl::string_view kScheme = "spiffe://";
  if (!absl::StartsWith(uri, kScheme)) {
    return absl::InvalidArgumentError(absl::StrCat("'", uri, "' is not a spiffe:// URI"));
  }
  std::vector<absl::string_view> parts = absl::StrSplit(uri.substr(kScheme.size()), '/');
  PeerIdentity id;
  if (!ValidTrustDomain(parts[0])) {
    return absl::InvalidArgumentError(absl::StrCat("'", uri, "' has an invalid trust domain"));
  }
  id.trust_domain = std::string(parts[0]);
  if (parts.size() == 2 && parts[1] == "collector") {
    id.kind = PeerIdentity::Kind::kCollector;
    return id;
  }
  if (parts.size() != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", uri, "' is not of the form spiffe://<domain>/<kind>/<name>"));
  }
  if (parts[1] == "host") {
    id.kind = PeerIdentity::Kind::kHost;
  } else if (parts[1] == "operator") {
    id.kind = PeerIdentity::Kind::kOperator;
  } else if (parts[1] == "auditor") {
    id.kind = PeerIdentity::Kind::kAuditor;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("'", uri, "': unknown kind '", parts[1],
                                                   "' (expected host, operator or auditor)"));
  }
  if (!ValidName(parts[2])) {
    return absl::InvalidArgumentError(absl::StrCat("'", uri, "' has an invalid name"));
  }
  id.name = std::string(parts[2]);
  return id;
}

absl::StatusOr<PeerIdentity> IdentityFromPem(absl::string_view pem) {
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return absl::ResourceExhaustedError("out of memory");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) return absl::InvalidArgumentError("peer certificate is not valid PEM");
  GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  std::vector<std::string> uris;
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
    if (gn->type != GEN_URI) continue;
    const ASN1_IA5STRING* s = gn->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                      static_cast<size_t>(ASN1_STRING_length(s)));
  }
  if (uris.size() != 1) {
    return absl::UnauthenticatedError(absl::StrCat(
        "certificate must carry exactly one URI SAN (spiffe://...), it has ", uris.size()));
  }
  return ParseSpiffeId(uris[0]);
}

absl::StatusOr<PeerIdentity> IdentityFromAuthContext(const grpc::AuthContext& context,
                                                     absl::string_view trust_domain) {
  std::vector<grpc::string_ref> pems = context.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pems.empty()) return absl::UnauthenticatedError("no client certificate presented");
  auto id = IdentityFromPem(absl::string_view(pems[0].data(), pems[0].size()));
  if (!id.ok()) return absl::UnauthenticatedError(id.status().message());
  if (id->trust_domain != trust_domain) {
    return absl::UnauthenticatedError(absl::StrCat("certificate is for trust domain '",
                                                   id->trust_domain, "', this collector serves '",
                                                   trust_domain, "'"));
  }
  return id;
}

}  // namespace preflight
