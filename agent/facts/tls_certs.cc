#include "agent/facts/tls_certs.h"

#include <arpa/inet.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "proto/wire/openssl_ptr.h"

namespace preflight::agent {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr absl::string_view kBeginCert = "-----BEGIN CERTIFICATE-----";
constexpr absl::string_view kPrivateKey = "PRIVATE KEY";
constexpr size_t kMaxAcmeCertificates = 10'000;
constexpr size_t kMaxCertsPerChain = 32;
constexpr size_t kMaxCertFilesPerDir = 1'000;
constexpr size_t kMaxNamesPerCert = 1'000;
constexpr absl::Duration kProbeTimeout = absl::Seconds(5);

// ---------------------------------------------------------------------------
// acme.json

// A field by any of the spellings Traefik has used ("Certificates",
// "certificates").
const Value* FieldOf(const Struct& s, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    auto it = s.fields().find(name);
    if (it != s.fields().end()) return &it->second;
  }
  return nullptr;
}

std::string StringOf(const Value* v) {
  return v != nullptr && v->kind_case() == Value::kStringValue ? v->string_value() : "";
}

// Overwrites every "key" string of the parsed document before it is freed, so
// that private keys do not linger in freed heap memory.
void ScrubKeys(Struct& doc) {
  for (auto& [resolver, value] : *doc.mutable_fields()) {
    if (value.kind_case() != Value::kStructValue) continue;
    Struct* r = value.mutable_struct_value();
    for (const char* list_name : {"Certificates", "certificates"}) {
      auto it = r->mutable_fields()->find(list_name);
      if (it == r->mutable_fields()->end() || it->second.kind_case() != Value::kListValue) {
        continue;
      }
      for (Value& entry : *it->second.mutable_list_value()->mutable_values()) {
        if (entry.kind_case() != Value::kStructValue) continue;
        for (auto& [name, field] : *entry.mutable_struct_value()->mutable_fields()) {
          if (field.kind_case() == Value::kStringValue && absl::EqualsIgnoreCase(name, "key")) {
            std::string* s = field.mutable_string_value();
            OPENSSL_cleanse(s->data(), s->size());
          }
        }
      }
    }
  }
}

// Reads one resolver's certificates. `resolver` is "" for a Traefik v1
// document, whose top level holds "Certificates" directly.
void ReadResolver(const std::string& resolver, const Struct& r, std::vector<std::string>& chains,
                  std::vector<std::string>* origins, std::vector<std::string>* problems) {
  const Value* list = FieldOf(r, {"Certificates", "certificates"});
  if (list == nullptr || list->kind_case() == Value::kNullValue) return;
  auto problem = [&](std::string message) {
    if (problems != nullptr) problems->push_back(std::move(message));
  };
  const std::string where = resolver.empty() ? "" : absl::StrCat("resolver=", resolver);
  if (list->kind_case() != Value::kListValue) {
    problem(absl::StrCat(where, ": Certificates is not a list"));
    return;
  }
  int index = 0;
  for (const Value& entry : list->list_value().values()) {
    ++index;
    if (chains.size() >= kMaxAcmeCertificates) {
      problem(absl::StrCat("more than ", kMaxAcmeCertificates, " certificates; the rest skipped"));
      return;
    }
    std::string origin = where;
    if (entry.kind_case() != Value::kStructValue) {
      problem(absl::StrCat(origin, " certificate #", index, ": not an object"));
      continue;
    }
    const Struct& cert = entry.struct_value();
    std::string main;
    if (const Value* domain = FieldOf(cert, {"domain", "Domain"});
        domain != nullptr && domain->kind_case() == Value::kStructValue) {
      main = StringOf(FieldOf(domain->struct_value(), {"main", "Main"}));
    }
    absl::StrAppend(&origin, origin.empty() ? "" : " ",
                    main.empty() ? absl::StrCat("#", index) : absl::StrCat("main=", main));
    const Value* b64 = FieldOf(cert, {"certificate", "Certificate"});
    if (b64 == nullptr || b64->kind_case() != Value::kStringValue) {
      problem(absl::StrCat(origin, ": no certificate"));
      continue;
    }
    std::string pem;
    if (!absl::Base64Unescape(absl::StripAsciiWhitespace(b64->string_value()), &pem)) {
      problem(absl::StrCat(origin, ": certificate is not valid base64"));
      continue;
    }
    if (absl::StrContains(pem, kPrivateKey)) {
      OPENSSL_cleanse(pem.data(), pem.size());
      problem(absl::StrCat(origin, ": certificate field holds a private key; skipped"));
      continue;
    }
    if (!absl::StrContains(pem, kBeginCert)) {
      problem(absl::StrCat(origin, ": certificate is not a PEM certificate"));
      continue;
    }
    chains.push_back(std::move(pem));
    if (origins != nullptr) origins->push_back(std::move(origin));
  }
}

// ---------------------------------------------------------------------------
// Describing certificates.

std::string NameOf(const X509_NAME* name) {
  if (name == nullptr) return "";
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) return "";
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  return MemoryBioContents(bio.get());
}

int64_t UnixOf(const ASN1_TIME* t) {
  if (t == nullptr) return 0;
  struct tm tm;
  std::memset(&tm, 0, sizeof(tm));
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

std::string Hex(const unsigned char* data, size_t len, bool colons) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < len; ++i) {
    if (colons && i > 0) out.push_back(':');
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

void DescribeKey(X509* cert, v1::CertificateInfo& info) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) {
    info.set_key_type("unknown");
    return;
  }
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
      info.set_key_type("RSA");
      break;
    case EVP_PKEY_EC:
      info.set_key_type("EC");
      break;
    case EVP_PKEY_ED25519:
      info.set_key_type("ED25519");
      break;
    case EVP_PKEY_ED448:
      info.set_key_type("ED448");
      break;
    case EVP_PKEY_DSA:
      info.set_key_type("DSA");
      break;
    default:
      info.set_key_type(OBJ_nid2sn(EVP_PKEY_get_base_id(key)));
  }
  int bits = EVP_PKEY_get_bits(key);
  info.set_key_bits(bits > 0 ? static_cast<uint32_t>(bits) : 0);
}

void DescribeNames(X509* cert, v1::CertificateInfo& info) {
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (names == nullptr) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    if (static_cast<size_t>(info.dns_names_size() + info.ip_addresses_size()) >= kMaxNamesPerCert) {
      break;
    }
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_IPADD) {
      // 4 or 16 bytes; anything else (a malformed name) is not an address.
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      const int length = ASN1_STRING_length(ip);
      char text[INET6_ADDRSTRLEN] = {};
      if ((length == 4 || length == 16) &&
          inet_ntop(length == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), text,
                    sizeof(text)) != nullptr) {
        info.add_ip_addresses(text);
      }
      continue;
    }
    if (name->type != GEN_DNS) continue;
    const ASN1_IA5STRING* dns = name->d.dNSName;
    info.add_dns_names(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                   static_cast<size_t>(ASN1_STRING_length(dns))));
  }
}

// Reads every certificate of the inputs, in order. Inputs holding a private
// key are skipped unread.
std::vector<X509Ptr> ReadCertificates(const std::vector<std::string>& inputs) {
  std::vector<X509Ptr> certs;
  for (const std::string& input : inputs) {
    if (absl::StrContains(input, kPrivateKey)) continue;
    BioPtr bio = MemoryBio(input);  // null when too large
    if (bio == nullptr) continue;
    while (certs.size() < kMaxCertsPerChain) {
      X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
      if (cert == nullptr) break;
      certs.emplace_back(cert);
    }
  }
  ERR_clear_error();  // the end of the input reads as "no start line"
  return certs;
}

// Trust stores (the system default paths, plus an extra CA file) are costly
// to load (the system bundle alone is ~150 certificates), so each is loaded
// once and reused for a few minutes.
absl::StatusOr<X509StorePtr> TrustStore(const std::string& extra_ca_file) {
  struct Cached {
    X509_STORE* store = nullptr;
    absl::Time loaded;
  };
  static constexpr absl::Duration kReloadAfter = absl::Minutes(5);
  static std::mutex mu;
  static auto* cache = new std::map<std::string, Cached>();
  std::lock_guard<std::mutex> lock(mu);
  Cached& entry = (*cache)[extra_ca_file];
  absl::Time wall = absl::Now();
  if (entry.store == nullptr || wall - entry.loaded > kReloadAfter || wall < entry.loaded) {
    ERR_clear_error();
    X509StorePtr store(X509_STORE_new());
    if (store == nullptr) return absl::ResourceExhaustedError("out of memory");
    X509_STORE_set_default_paths(store.get());
    if (!extra_ca_file.empty() && X509_STORE_load_file(store.get(), extra_ca_file.c_str()) != 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot load CA file ", extra_ca_file, ": ", DrainOpenSslErrors()));
    }
    ERR_clear_error();
    if (entry.store != nullptr) X509_STORE_free(entry.store);
    entry.store = store.release();
    entry.loaded = wall;
  }
  X509_STORE_up_ref(entry.store);
  return X509StorePtr(entry.store);
}

// X509_verify_cert of the leaf with `certs[1..]` as untrusted intermediates;
// OK or the error string. Only the leaf's own dates are not held against it.
bool Verify(const std::vector<X509Ptr>& certs, const std::string& extra_ca_file, absl::Time now,
            std::string* error) {
  ERR_clear_error();
  absl::StatusOr<X509StorePtr> store = TrustStore(extra_ca_file);
  if (!store.ok()) {
    *error = std::string(store.status().message());
    return false;
  }
  X509StackPtr untrusted(sk_X509_new_null());
  if (untrusted == nullptr) {
    *error = "out of memory";
    return false;
  }
  for (size_t i = 1; i < certs.size(); ++i) sk_X509_push(untrusted.get(), certs[i].get());
  for (bool ignore_leaf_time : {false, true}) {
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (ctx == nullptr ||
        X509_STORE_CTX_init(ctx.get(), store->get(), certs[0].get(), untrusted.get()) != 1) {
      *error = absl::StrCat("cannot set up verification: ", DrainOpenSslErrors());
      return false;
    }
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    if (ignore_leaf_time) {
      // Intermediates' dates were checked in the first pass (OpenSSL verifies
      // from the trust anchor down, so a leaf-date error means all above passed).
      X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME);
    } else {
      X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(absl::ToUnixSeconds(now)));
    }
    int ok = X509_verify_cert(ctx.get());
    ERR_clear_error();
    if (ok == 1) {
      error->clear();
      return true;
    }
    int code = X509_STORE_CTX_get_error(ctx.get());
    *error = X509_verify_cert_error_string(code);
    bool leaf_date = X509_STORE_CTX_get_error_depth(ctx.get()) == 0 &&
                     (code == X509_V_ERR_CERT_HAS_EXPIRED || code == X509_V_ERR_CERT_NOT_YET_VALID);
    if (ignore_leaf_time || !leaf_date) return false;
  }
  return false;
}

// ---------------------------------------------------------------------------
// The collector.

bool HasCertExtension(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  return absl::EndsWith(lower, ".crt") || absl::EndsWith(lower, ".pem") ||
         absl::EndsWith(lower, ".cert");
}

std::string JoinPath(absl::string_view dir, absl::string_view name) {
  return absl::StrCat(absl::StripSuffix(dir, "/"), "/", name);
}

// How the host resolves each hostname: /etc/hosts (read from the host, so
// also in an image), then the system resolver and the interface addresses
// (live only).
void ResolveNames(HostEnv& env, const CollectOptions& options, v1::TlsFact& fact) {
  if (options.tls_hostnames.empty()) return;
  std::string hosts;
  if (auto data = env.ReadFile("/etc/hosts", options.max_file_bytes); data.ok()) {
    hosts = std::move(data->content);
  } else {
    NoteUnreadable(*fact.mutable_collection(), "/etc/hosts", data.status());
  }
  if (auto local = env.LocalAddresses(); local.ok()) {
    fact.set_local_addresses_known(true);
    for (std::string& a : *local) fact.add_local_addresses(std::move(a));
  }
  for (const std::string& name : options.tls_hostnames) {
    v1::NameResolution* r = fact.add_resolutions();
    r->set_name(name);
    uint32_t line_no = 0;
    for (absl::string_view line : absl::StrSplit(hosts, '\n')) {
      ++line_no;
      line = line.substr(0, line.find('#'));
      std::vector<absl::string_view> words =
          absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
      if (words.size() < 2) continue;
      for (size_t i = 1; i < words.size(); ++i) {
        if (!absl::EqualsIgnoreCase(words[i], name)) continue;
        if (r->hosts_file_source().empty()) {
          r->set_hosts_file_source(absl::StrCat("/etc/hosts:", line_no));
        }
        r->add_hosts_file_addresses(std::string(words[0]));
        break;
      }
    }
    if (!env.live()) continue;
    r->set_resolver_asked(true);
    auto addresses = env.ResolveName(name);
    if (!addresses.ok()) {
      r->set_resolver_error(std::string(addresses.status().message()));
      continue;
    }
    for (std::string& a : *addresses) r->add_resolver_addresses(std::move(a));
  }
}

class TlsCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "tls"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::TlsFact& fact = *report.mutable_tls();
    v1::Collection* collection = fact.mutable_collection();
    const absl::Time now = absl::Now();
    bool found_store = false;
    std::vector<std::string> unreadable;  // stores that exist but could not be read at all

    auto problem = [&](absl::string_view file, std::string message) {
      v1::ParseProblem* p = fact.add_problems();
      p->set_file(std::string(file));
      p->set_message(std::move(message));
    };

    // Traefik's ACME store.
    if (!options.tls_acme_file.empty()) {
      const std::string& path = options.tls_acme_file;
      absl::StatusOr<FileData> data = env.ReadFile(path, options.max_file_bytes);
      if (data.ok()) {
        found_store = true;
        std::vector<std::string> origins, problems;
        absl::StatusOr<std::vector<std::string>> chains =
            ParseAcmeJson(data->content, &origins, &problems);
        OPENSSL_cleanse(data->content.data(), data->content.size());
        if (!chains.ok()) {
          unreadable.push_back(absl::StrCat(path, ": ", chains.status().message()));
          problem(path, std::string(chains.status().message()));
        } else {
          for (size_t i = 0; i < chains->size(); ++i) {
            *fact.add_certificates() = DescribeChain(
                {(*chains)[i]}, absl::StrCat(path, " ", origins[i]), options.tls_ca_file, now);
          }
        }
        for (std::string& p : problems) problem(path, std::move(p));
      } else if (NoteUnreadable(*collection, path, data.status())) {
        found_store = true;
        unreadable.push_back(std::string(data.status().message()));
        problem(path, std::string(data.status().message()));
      }
    }

    // Static certificate files.
    for (const std::string& dir : options.tls_cert_dirs) {
      absl::StatusOr<std::vector<DirEntry>> entries = env.ListDir(dir);
      if (!entries.ok()) {
        if (NoteUnreadable(*collection, dir, entries.status())) {
          found_store = true;
          unreadable.push_back(std::string(entries.status().message()));
          problem(dir, std::string(entries.status().message()));
        }
        continue;
      }
      size_t files = 0;
      for (const DirEntry& entry : *entries) {
        if (entry.type == FileInfo::Type::kDirectory || !HasCertExtension(entry.name)) continue;
        const std::string path = JoinPath(dir, entry.name);
        if (++files > kMaxCertFilesPerDir) {
          problem(dir, absl::StrCat("more than ", kMaxCertFilesPerDir,
                                    " certificate files; the rest skipped"));
          break;
        }
        found_store = true;
        absl::StatusOr<FileData> data = env.ReadFile(path, options.max_file_bytes);
        if (!data.ok()) {
          NoteUnreadable(*collection, path, data.status());
          problem(path, std::string(data.status().message()));
          continue;
        }
        if (absl::StrContains(data->content, kPrivateKey)) {
          OPENSSL_cleanse(data->content.data(), data->content.size());
          problem(path, "skipped private key file");
          continue;
        }
        if (!absl::StrContains(data->content, kBeginCert)) {
          problem(path, "no PEM certificate in the file");
          continue;
        }
        *fact.add_certificates() = DescribeChain({data->content}, path, options.tls_ca_file, now);
      }
    }

    // Live handshakes, one per hostname.
    const bool probing = env.live() && !options.tls_hostnames.empty();
    if (probing) {
      found_store = true;
      // Once the address is unreachable (or a handshake hangs), no other SNI
      // will do better: the remaining names are not tried, so that a dead
      // entry point costs one timeout, not one per hostname.
      std::string address_error;
      std::string timed_out_for;
      const std::string where = absl::StrCat("tls://", options.tls_probe_address);
      for (const std::string& hostname : options.tls_hostnames) {
        fact.add_probed_hostnames(hostname);
        const std::string sni = absl::StrCat("(sni ", hostname, ")");
        if (!address_error.empty()) {
          problem(where, absl::StrCat(address_error, " ", sni));
          continue;
        }
        if (!timed_out_for.empty()) {
          problem(where,
                  absl::StrCat("TLS handshake with ", options.tls_probe_address, " ", sni,
                               ": not tried, the handshake for ", timed_out_for, " timed out"));
          continue;
        }
        absl::StatusOr<std::vector<std::string>> chain =
            env.ProbeTls(options.tls_probe_address, hostname, kProbeTimeout);
        if (!chain.ok()) {
          std::string message(chain.status().message());
          if (!absl::StartsWith(message, "TLS handshake")) {
            address_error = message;  // connect, resolve, or a malformed address
          } else if (absl::IsDeadlineExceeded(chain.status())) {
            timed_out_for = hostname;
          }
          if (!absl::StrContains(message, sni)) absl::StrAppend(&message, " ", sni);
          problem(where, std::move(message));
          continue;
        }
        v1::CertificateInfo info =
            DescribeChain(*chain, absl::StrCat(where, " sni=", hostname), options.tls_ca_file, now);
        info.set_sni(hostname);
        *fact.add_certificates() = std::move(info);
      }
    }

    ResolveNames(env, options, fact);

    if (!found_store) {
      collection->set_state(v1::Collection::ABSENT);
    } else if (!unreadable.empty()) {
      collection->set_state(v1::Collection::ERROR);
      collection->set_error(absl::StrJoin(unreadable, "; "));
    } else {
      collection->set_state(v1::Collection::OK);
    }
    return collection;
  }
};

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseAcmeJson(absl::string_view json,
                                                       std::vector<std::string>* origins,
                                                       std::vector<std::string>* problems) {
  std::vector<std::string> chains;
  if (absl::StripAsciiWhitespace(json).empty()) return chains;  // Traefik's fresh, empty file
  Struct doc;
  google::protobuf::util::JsonParseOptions parse_options;
  parse_options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &doc, parse_options);
  if (!status.ok()) {
    ScrubKeys(doc);
    // The parser's message quotes the input around the error on its next
    // lines, which may be part of a private key: keep the first line only.
    std::string message(status.message().data(), status.message().size());
    message = message.substr(0, std::min(message.find('\n'), size_t{200}));
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON: ", message));
  }
  if (FieldOf(doc, {"Certificates", "certificates"}) != nullptr &&
      FieldOf(doc, {"Account", "account"}) != nullptr) {
    ReadResolver("", doc, chains, origins, problems);  // Traefik v1 layout
  } else {
    // Map order is unspecified: read resolvers sorted by name, for stable output.
    std::vector<std::string> names;
    for (const auto& [name, value] : doc.fields()) names.push_back(name);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      const Value& value = doc.fields().at(name);
      if (value.kind_case() == Value::kNullValue) continue;
      if (value.kind_case() != Value::kStructValue) {
        if (problems != nullptr) {
          problems->push_back(absl::StrCat("resolver=", name, ": not an object"));
        }
        continue;
      }
      ReadResolver(name, value.struct_value(), chains, origins, problems);
    }
  }
  ScrubKeys(doc);
  return chains;
}

v1::CertificateInfo DescribeChain(const std::vector<std::string>& pem_chain_or_bundle,
                                  absl::string_view origin, const std::string& extra_ca_file,
                                  absl::Time now) {
  v1::CertificateInfo info;
  info.set_origin(std::string(origin));
  std::vector<X509Ptr> certs = ReadCertificates(pem_chain_or_bundle);
  if (certs.empty()) {
    info.set_verify_error("no certificate could be parsed");
    return info;
  }
  X509* leaf = certs[0].get();
  info.set_chain_length(static_cast<uint32_t>(certs.size()));
  info.set_subject(NameOf(X509_get_subject_name(leaf)));
  info.set_issuer(NameOf(X509_get_issuer_name(leaf)));
  DescribeNames(leaf, info);
  info.set_not_before_unix(UnixOf(X509_get0_notBefore(leaf)));
  info.set_not_after_unix(UnixOf(X509_get0_notAfter(leaf)));
  DescribeKey(leaf, info);
  info.set_self_signed(X509_self_signed(leaf, 1) == 1);
  info.set_serial(HexSerial(X509_get0_serialNumber(leaf)));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(leaf, EVP_sha256(), digest, &len) == 1) {
    info.set_fingerprint_sha256(Hex(digest, len, true));
  }

  std::string system_error;
  if (Verify(certs, "", now, &system_error)) {
    info.set_chain_verified(true);
  } else if (!extra_ca_file.empty()) {
    std::string private_error;
    if (Verify(certs, extra_ca_file, now, &private_error)) {
      info.set_chain_verified(true);
      info.set_verify_error(system_error);  // trusted only via the configured CA
    } else {
      info.set_verify_error(private_error);
    }
  } else {
    info.set_verify_error(system_error);
  }
  ERR_clear_error();
  return info;
}

std::unique_ptr<FactCollector> MakeTlsCollector() { return std::make_unique<TlsCollector>(); }

}  // namespace preflight::agent
