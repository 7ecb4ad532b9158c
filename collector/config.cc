#include "collector/config.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/checks/catalogue.h"
#include "collector/checks/params.h"
#include "collector/readiness/engine.h"
#include "proto/wire/did_you_mean.h"
#include "proto/wire/identity.h"
#include "proto/wire/openssl_ptr.h"
#include "proto/wire/status.h"
#include "proto/wire/textproto.h"

namespace preflight::collector {
namespace {

using google::protobuf::FieldDescriptor;

// Collects every error of a configuration, each prefixed with where it is.
class Errors {
 public:
  explicit Errors(const TextLocations* locations, std::string fallback)
      : locations_(locations), fallback_(std::move(fallback)) {}
  // `key` is a field path ("hosts[2].environment"); the message says what is
  // wrong with it.
  void Add(const std::string& key, const std::string& message) {
    std::string where = fallback_;
    if (locations_ != nullptr) {
      // The most specific recorded location on the key's path.
      for (std::string k = key; !k.empty();) {
        auto it = locations_->find(k);
        if (it != locations_->end()) {
          where = it->second;
          break;
        }
        size_t cut = k.find_last_of(".[");
        k = cut == std::string::npos ? "" : k.substr(0, cut);
      }
    }
    lines_.push_back(absl::StrCat(where, ": ", message));
  }
  void AddRaw(std::string line) { lines_.push_back(std::move(line)); }
  bool empty() const { return lines_.empty(); }
  absl::Status ToStatus() const {
    if (lines_.empty()) return absl::OkStatus();
    // Deduplicated, in order.
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (const std::string& l : lines_) {
      if (seen.insert(l).second) out.push_back(l);
    }
    return absl::InvalidArgumentError(absl::StrJoin(out, "\n"));
  }

 private:
  const TextLocations* locations_;
  std::string fallback_;
  std::vector<std::string> lines_;
};

std::vector<std::string> Names(const google::protobuf::RepeatedPtrField<v1::Vocabulary>& vocab) {
  std::vector<std::string> out;
  for (const v1::Vocabulary& v : vocab) out.push_back(v.name());
  return out;
}

// Whether a Policy field is set (a present scalar or a non-empty list).
bool IsSet(const google::protobuf::Message& m, const FieldDescriptor* f) {
  const auto* r = m.GetReflection();
  if (f->is_map()) return r->FieldSize(m, f) > 0;
  return f->is_repeated() ? r->FieldSize(m, f) > 0 : r->HasField(m, f);
}

// Rewrites "prefix[i]..." keys to "prefix[i + shift]..." (after merging two
// lists of messages).
void ShiftIndexes(TextLocations& locations, const std::string& prefix, int shift) {
  if (shift == 0) return;
  TextLocations out;
  for (auto& [key, where] : locations) {
    if (absl::StartsWith(key, prefix + "[")) {
      size_t close = key.find(']', prefix.size());
      int index = std::stoi(key.substr(prefix.size() + 1, close - prefix.size() - 1));
      out[absl::StrCat(prefix, "[", index + shift, key.substr(close))] = where;
    } else {
      out[key] = where;
    }
  }
  locations = std::move(out);
}

// Keys under `prefix` with the prefix removed.
TextLocations Strip(const TextLocations& in, const std::string& prefix) {
  TextLocations out;
  for (const auto& [key, where] : in) {
    if (absl::StartsWith(key, prefix)) out[key.substr(prefix.size())] = where;
  }
  return out;
}

// The TLS files exist, parse, and the key belongs to the certificate.
void CheckTlsFiles(const v1::TlsFiles& tls, Errors& errors) {
  // BIO_new_mem_buf does not copy: keep the text alive while reading.
  auto read_cert = [&](const std::string& key, const std::string& path) -> X509Ptr {
    auto content = ReadFileToString(path, 1 << 20);
    if (!content.ok()) {
      errors.Add(key, absl::StrCat("cannot read ", path, ": ", content.status().message()));
      return nullptr;
    }
    BioPtr bio(BIO_new_mem_buf(content->data(), static_cast<int>(content->size())));
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) errors.Add(key, absl::StrCat(path, " holds no PEM certificate"));
    return cert;
  };
  auto cert = read_cert("tls.cert_file", tls.cert_file());
  (void)read_cert("tls.ca_file", tls.ca_file());
  auto key_text = ReadFileToString(tls.key_file(), 1 << 20);
  if (!key_text.ok()) {
    errors.Add("tls.key_file",
               absl::StrCat("cannot read ", tls.key_file(), ": ", key_text.status().message()));
    return;
  }
  BioPtr bio(BIO_new_mem_buf(key_text->data(), static_cast<int>(key_text->size())));
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    errors.Add("tls.key_file", absl::StrCat(tls.key_file(), " holds no PEM private key"));
    return;
  }
  if (cert != nullptr && X509_check_private_key(cert.get(), key.get()) != 1) {
    errors.Add("tls.key_file",
               absl::StrCat(tls.key_file(), " does not match the certificate ", tls.cert_file()));
  }
}

}  // namespace

absl::Status ValidateInventory(const v1::Inventory& inventory, const std::string& source) {
  std::set<std::string> seen;
  for (const v1::InventoryHost& h : inventory.hosts()) {
    if (!ParseSpiffeId(absl::StrCat("spiffe://x/host/", h.id())).ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": host id '", h.id(), "' is invalid (1-63 of [A-Za-z0-9._-])"));
    }
    if (!seen.insert(h.id()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": host '", h.id(), "' is listed twice"));
    }
    if (h.environment().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": host '", h.id(), "' has no environment"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePolicy(const v1::Catalogue& catalogue, const v1::Policy& policy,
                            const v1::Inventory& inventory,
                            const TextLocations& inventory_locations) {
  // Policy.locations is a protobuf map; copy it for lookups.
  TextLocations policy_locations(policy.locations().begin(), policy.locations().end());
  Errors perr(&policy_locations, "policy");
  Errors ierr(&inventory_locations, "inventory");

  std::vector<std::string> envs = Names(catalogue.environments());
  std::vector<std::string> roles = Names(catalogue.roles());
  envs.insert(envs.end(), policy.environments().begin(), policy.environments().end());
  roles.insert(roles.end(), policy.roles().begin(), policy.roles().end());
  auto declared = [](const std::vector<std::string>& names, const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  auto undeclared = [&](const char* what, const std::string& n,
                        const std::vector<std::string>& names) {
    return absl::StrCat(what, " '", n, "' is not declared", DidYouMean(n, names),
                        " (declared: ", absl::StrJoin(names, ", "), "; declare more with policy ",
                        what, "s)");
  };

  for (int i = 0; i < policy.gating_environments_size(); ++i) {
    const std::string& e = policy.gating_environments(i);
    if (!declared(envs, e)) {
      perr.Add(absl::StrCat("gating_environments[", i, "]"), undeclared("environment", e, envs));
    }
  }
  std::vector<std::string> host_ids;
  for (int k = 0; k < inventory.hosts_size(); ++k) {
    const v1::InventoryHost& h = inventory.hosts(k);
    host_ids.push_back(h.id());
    if (!h.environment().empty() && !declared(envs, h.environment())) {
      ierr.Add(
          absl::StrCat("hosts[", k, "].environment"),
          absl::StrCat("host ", h.id(), ": ", undeclared("environment", h.environment(), envs)));
    }
    for (int j = 0; j < h.roles_size(); ++j) {
      if (!declared(roles, h.roles(j))) {
        ierr.Add(absl::StrCat("hosts[", k, "].roles[", j, "]"),
                 absl::StrCat("host ", h.id(), ": ", undeclared("role", h.roles(j), roles)));
      }
    }
  }
  if (policy_locations.count("locations")) {
    perr.Add("locations", "locations is filled by the loader; do not set it");
  }

  // Parameter values, at the fleet level and in every override.
  auto check_values = [&](const v1::Policy& p, const std::string& prefix) {
    for (const v1::CheckSpec& spec : catalogue.checks()) {
      for (const v1::ParamSpec& ps : spec.params()) {
        ParamValue v;
        if (!ReadParam(p, ps, &v)) continue;
        if (absl::Status st = CheckParamValue(ps, v); !st.ok()) {
          perr.Add(prefix + ps.name(), absl::StrCat(st.message(), " (", spec.id(), ")"));
        }
      }
    }
  };
  check_values(policy, "");
  for (int i = 0; i < policy.allowed_public_ports_size(); ++i) {
    const v1::RolePorts& rp = policy.allowed_public_ports(i);
    const std::string key = absl::StrCat("allowed_public_ports[", i, "]");
    if (rp.role() != "*" && !declared(roles, rp.role())) {
      perr.Add(key + ".role", undeclared("role", rp.role(), roles));
    }
    v1::ParamSpec ports;
    ports.set_name("allowed_public_ports.ports");
    ports.set_type(v1::PORT_LIST);
    ParamValue v;
    v.list.assign(rp.ports().begin(), rp.ports().end());
    if (absl::Status st = CheckParamValue(ports, v); !st.ok())
      perr.Add(key + ".ports", std::string(st.message()));
  }
  for (int i = 0; i < policy.override_size(); ++i) {
    const v1::PolicyOverride& o = policy.override(i);
    const std::string key = absl::StrCat("override[", i, "]");
    const int selectors = !o.environment().empty() + !o.role().empty() + !o.host().empty();
    if (selectors != 1) {
      perr.Add(key, "an override names exactly one of environment, role or host");
    }
    if (!o.environment().empty() && !declared(envs, o.environment())) {
      perr.Add(key + ".environment", undeclared("environment", o.environment(), envs));
    }
    if (!o.role().empty() && !declared(roles, o.role())) {
      perr.Add(key + ".role", undeclared("role", o.role(), roles));
    }
    if (!o.host().empty() && !declared(host_ids, o.host())) {
      perr.Add(key + ".host", absl::StrCat("host '", o.host(), "' is not in the inventory",
                                           DidYouMean(o.host(), host_ids)));
    }
    if (!o.has_set()) perr.Add(key, "an override needs `set { ... }` with check parameters");
    const google::protobuf::Descriptor* d = v1::Policy::descriptor();
    for (int f = 0; f < d->field_count(); ++f) {
      const FieldDescriptor* field = d->field(f);
      if (IsSet(o.set(), field) && FindParam(catalogue, field->name()) == nullptr) {
        perr.Add(absl::StrCat(key, ".set.", field->name()),
                 absl::StrCat(field->name(),
                              " is a fleet setting, not a check parameter: it cannot be set in "
                              "an override"));
      }
    }
    check_values(o.set(), key + ".set.");
  }

  // Orderings (warn < fail) on every host's effective values; a fleet with no
  // hosts is checked as a host with no environment or role.
  std::vector<v1::InventoryHost> hosts(inventory.hosts().begin(), inventory.hosts().end());
  if (hosts.empty()) hosts.emplace_back();
  for (const v1::CheckSpec& spec : catalogue.checks()) {
    for (const v1::InventoryHost& h : hosts) {
      Params params = ResolveParams(spec, policy, h);
      auto shown = [&](const std::string& name) {
        for (const v1::EffectiveParam& e : params.effective()) {
          if (e.name() == name) return absl::StrCat(e.value(), " from ", e.origin());
        }
        return std::string();
      };
      for (const v1::ParamSpec& ps : spec.params()) {
        for (const auto& [other, below] :
             {std::pair{ps.less_than(), true}, std::pair{ps.greater_than(), false}}) {
          if (other.empty()) continue;
          uint64_t a = params.Uint(ps.name()), b = params.Uint(other);
          if (below ? a < b : a > b) continue;
          perr.AddRaw(absl::StrCat("policy: ", ps.name(), " (", shown(ps.name()), ") must be ",
                                   below ? "below " : "above ", other, " (", shown(other), ")",
                                   h.id().empty() ? "" : absl::StrCat(" for host ", h.id())));
        }
      }
    }
  }
  std::vector<std::string> all;
  for (const Errors* e : {&ierr, &perr}) {
    absl::Status st = e->ToStatus();
    if (!st.ok()) all.emplace_back(st.message());
  }
  if (!all.empty()) return absl::InvalidArgumentError(absl::StrJoin(all, "\n"));
  return absl::OkStatus();
}

uint32_t DefaultWorkerThreads() {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return std::clamp<uint32_t>(4 * cores, 4, 64);
}

absl::StatusOr<CollectorSettings> LoadCollectorSettings(const std::string& path) {
  CollectorSettings s;
  TextLocations config_locations;
  RETURN_IF_ERROR(LoadTextProtoFileWithLocations(path, &s.config, &config_locations));
  v1::CollectorConfig& c = s.config;
  auto resolve = [&](std::string* p) { *p = ResolveRelativeTo(*p, path); };
  resolve(c.mutable_tls()->mutable_cert_file());
  resolve(c.mutable_tls()->mutable_key_file());
  resolve(c.mutable_tls()->mutable_ca_file());
  if (!c.tls().crl_file().empty()) resolve(c.mutable_tls()->mutable_crl_file());
  resolve(c.mutable_data_dir());
  resolve(c.mutable_inventory_file());
  resolve(c.mutable_policy_file());
  if (!c.health_file().empty()) resolve(c.mutable_health_file());
  if (c.listen().empty()) c.set_listen("127.0.0.1:7443");
  if (c.data_dir().empty()) c.set_data_dir("/var/lib/preflight-collector");
  if (c.worker_threads() == 0) c.set_worker_threads(DefaultWorkerThreads());
  if (c.max_report_bytes() == 0) c.set_max_report_bytes(4 << 20);
  if (c.max_streams_per_host() == 0) c.set_max_streams_per_host(4);
  if (c.handshake_timeout_seconds() == 0) c.set_handshake_timeout_seconds(10);
  if (c.max_connection_idle_seconds() == 0) c.set_max_connection_idle_seconds(300);
  if (c.keepalive_seconds() == 0) c.set_keepalive_seconds(120);
  if (c.max_queries_per_identity() == 0) c.set_max_queries_per_identity(8);
  if (c.history_retention_days() == 0) c.set_history_retention_days(400);
  if (c.max_reports_per_minute() == 0) c.set_max_reports_per_minute(12);
  if (c.report_burst() == 0) c.set_report_burst(1000);
  if (c.max_audited_transitions_per_hour() == 0) c.set_max_audited_transitions_per_hour(60);

  Errors errors(&config_locations, path);
  if (c.trust_domain().empty()) errors.Add("trust_domain", "trust_domain is required");
  // Limits: 0 takes the default above; absurd values are refused rather than
  // silently clamped.
  if (c.max_reports_per_minute() > 6000) {
    errors.Add("max_reports_per_minute",
               absl::StrCat("max_reports_per_minute ", c.max_reports_per_minute(),
                            " is over 6000 (100 reports a second from one host): no limit at all"));
  }
  if (c.report_burst() > 100000) {
    errors.Add("report_burst", absl::StrCat("report_burst ", c.report_burst(),
                                            " is over 100000; size it to the agents' "
                                            "spool_max_reports (default 1000)"));
  }
  if (c.max_audited_transitions_per_hour() > 100000) {
    errors.Add("max_audited_transitions_per_hour",
               absl::StrCat("max_audited_transitions_per_hour ",
                            c.max_audited_transitions_per_hour(), " is over 100000"));
  }
  if (c.max_queries_per_identity() > 1000) {
    errors.Add("max_queries_per_identity",
               absl::StrCat("max_queries_per_identity ", c.max_queries_per_identity(),
                            " is over 1000: no limit at all"));
  }
  if (c.audit_retention_days() > 0 && c.audit_retention_days() < 7) {
    errors.Add("audit_retention_days",
               absl::StrCat("audit_retention_days ", c.audit_retention_days(),
                            " is under 7: keep the audit trail at least a week (0 keeps it "
                            "forever)"));
  }
  if (c.tls().cert_file().empty() || c.tls().key_file().empty() || c.tls().ca_file().empty()) {
    errors.Add("tls", "tls { cert_file key_file ca_file } are required");
  } else {
    CheckTlsFiles(c.tls(), errors);
  }

  // The inventory: inline hosts first, then the file's.
  s.inventory = c.inventory();
  TextLocations inventory_locations = Strip(config_locations, "inventory.");
  std::string inventory_source = path;
  if (!c.inventory_file().empty()) {
    v1::Inventory from_file;
    TextLocations file_locations;
    RETURN_IF_ERROR(
        LoadTextProtoFileWithLocations(c.inventory_file(), &from_file, &file_locations));
    ShiftIndexes(file_locations, "hosts", s.inventory.hosts_size());
    inventory_locations.insert(file_locations.begin(), file_locations.end());
    for (auto& h : *from_file.mutable_hosts()) *s.inventory.add_hosts() = std::move(h);
    inventory_source = absl::StrCat(path, " + ", c.inventory_file());
  }
  RETURN_IF_ERROR(ValidateInventory(s.inventory, inventory_source));

  // The policy: inline and from its file. A setting may be made in one place
  // only (lists would otherwise concatenate by accident); overrides add up.
  s.policy = c.policy();
  TextLocations policy_locations = Strip(config_locations, "policy.");
  if (!c.policy_file().empty()) {
    v1::Policy from_file;
    TextLocations file_locations;
    RETURN_IF_ERROR(LoadTextProtoFileWithLocations(c.policy_file(), &from_file, &file_locations));
    const google::protobuf::Descriptor* d = v1::Policy::descriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (f->name() == "override" || f->name() == "locations") continue;
      if (IsSet(s.policy, f) && IsSet(from_file, f)) {
        errors.AddRaw(absl::StrCat(file_locations[f->name()], ": ", f->name(), " is also set at ",
                                   policy_locations[f->name()], ": set it in one place"));
      }
    }
    ShiftIndexes(file_locations, "override", s.policy.override_size());
    policy_locations.insert(file_locations.begin(), file_locations.end());
    s.policy.MergeFrom(from_file);
  }
  s.policy.mutable_locations()->clear();
  s.policy = WithPolicyDefaults(s.policy);
  for (const auto& [key, where] : policy_locations) (*s.policy.mutable_locations())[key] = where;

  if (absl::Status st =
          ValidatePolicy(BuiltinCatalogue(), s.policy, s.inventory, inventory_locations);
      !st.ok()) {
    errors.AddRaw(std::string(st.message()));
  }
  RETURN_IF_ERROR(errors.ToStatus());
  return s;
}

}  // namespace preflight::collector
