#include "collector/config.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "collector/readiness/engine.h"
#include "proto/wire/identity.h"
#include "proto/wire/status.h"
#include "proto/wire/textproto.h"

namespace preflight::collector {

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

absl::StatusOr<CollectorSettings> LoadCollectorSettings(const std::string& path) {
  CollectorSettings s;
  RETURN_IF_ERROR(LoadTextProtoFile(path, &s.config));
  v1::CollectorConfig& c = s.config;
  auto resolve = [&](std::string* p) { *p = ResolveRelativeTo(*p, path); };
  resolve(c.mutable_tls()->mutable_cert_file());
  resolve(c.mutable_tls()->mutable_key_file());
  resolve(c.mutable_tls()->mutable_ca_file());
  if (!c.tls().crl_file().empty()) resolve(c.mutable_tls()->mutable_crl_file());
  resolve(c.mutable_data_dir());
  resolve(c.mutable_inventory_file());
  resolve(c.mutable_policy_file());
  if (c.listen().empty()) c.set_listen("127.0.0.1:7443");
  if (c.data_dir().empty()) c.set_data_dir("/var/lib/preflight-collector");
  if (c.worker_threads() == 0) c.set_worker_threads(2);
  if (c.max_report_bytes() == 0) c.set_max_report_bytes(4 << 20);
  if (c.history_retention_days() == 0) c.set_history_retention_days(400);
  if (c.trust_domain().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": trust_domain is required"));
  }
  if (c.tls().cert_file().empty() || c.tls().key_file().empty() || c.tls().ca_file().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": tls { cert_file key_file ca_file } are required"));
  }

  s.inventory = c.inventory();
  std::string inventory_source = path;
  if (!c.inventory_file().empty()) {
    v1::Inventory from_file;
    RETURN_IF_ERROR(LoadTextProtoFile(c.inventory_file(), &from_file));
    for (auto& h : *from_file.mutable_hosts()) *s.inventory.add_hosts() = std::move(h);
    inventory_source = absl::StrCat(path, " + ", c.inventory_file());
  }
  RETURN_IF_ERROR(ValidateInventory(s.inventory, inventory_source));

  s.policy = c.policy();
  if (!c.policy_file().empty()) {
    v1::Policy from_file;
    RETURN_IF_ERROR(LoadTextProtoFile(c.policy_file(), &from_file));
    s.policy.MergeFrom(from_file);
  }
  s.policy = WithPolicyDefaults(s.policy);
  return s;
}

}  // namespace preflight::collector
