#include "collector/checks/params.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace preflight::collector {
namespace {

using google::protobuf::FieldDescriptor;

bool HasRoleOf(const v1::InventoryHost& host, absl::string_view role) {
  return std::find(host.roles().begin(), host.roles().end(), role) != host.roles().end();
}

std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// "policy.textproto:40:5", or `fallback` when the loader recorded nothing.
std::string Where(const v1::Policy& policy, const std::string& key, absl::string_view fallback) {
  auto it = policy.locations().find(key);
  return it != policy.locations().end() ? it->second : std::string(fallback);
}

}  // namespace

bool IsFullDate(absl::string_view date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (date[i] < '0' || date[i] > '9') return false;
  }
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d", std::string(date), absl::UTCTimeZone(), &t, &err)) return false;
  // absl normalises 2026-02-30 to March: a real day formats back unchanged.
  return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()) == date;
}

absl::Status CheckParamValue(const v1::ParamSpec& spec, const ParamValue& value) {
  switch (spec.type()) {
    case v1::UINT:
      if (value.uint_value < spec.min() || (spec.max() != 0 && value.uint_value > spec.max())) {
        return absl::OutOfRangeError(
            absl::StrCat(spec.name(), " is ", value.uint_value, ", outside ", spec.min(), "..",
                         spec.max() == 0 ? std::string("") : absl::StrCat(spec.max()),
                         spec.unit().empty() ? "" : absl::StrCat(" ", spec.unit())));
      }
      return absl::OkStatus();
    case v1::DATE:
      if (!value.string_value.empty() && !IsFullDate(value.string_value)) {
        return absl::InvalidArgumentError(
            absl::StrCat(spec.name(), " is ", Quote(value.string_value),
                         ": not an RFC 3339 date (YYYY-MM-DD, e.g. \"2026-12-01\")"));
      }
      return absl::OkStatus();
    case v1::PORT_LIST:
      for (const std::string& p : value.list) {
        std::vector<std::string> parts = absl::StrSplit(p, '/');
        uint32_t port = 0;
        if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &port) || port == 0 || port > 65535 ||
            (parts[1] != "tcp" && parts[1] != "udp")) {
          return absl::InvalidArgumentError(absl::StrCat(
              spec.name(), " entry ", Quote(p), " is not PORT/tcp or PORT/udp (e.g. \"443/tcp\")"));
        }
      }
      return absl::OkStatus();
    case v1::STRING_LIST:
      for (const std::string& s : value.list) {
        if (s.empty())
          return absl::InvalidArgumentError(absl::StrCat(spec.name(), " has an empty entry"));
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

bool ReadParam(const google::protobuf::Message& policy, const v1::ParamSpec& spec,
               ParamValue* out) {
  const FieldDescriptor* f = policy.GetDescriptor()->FindFieldByName(spec.name());
  if (f == nullptr) return false;
  const google::protobuf::Reflection* r = policy.GetReflection();
  if (f->is_repeated()) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_STRING || r->FieldSize(policy, f) == 0) {
      return false;
    }
    out->list.clear();
    for (int i = 0; i < r->FieldSize(policy, f); ++i) {
      out->list.push_back(r->GetRepeatedString(policy, f, i));
    }
    return true;
  }
  if (!r->HasField(policy, f)) return false;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_UINT32:
      out->uint_value = r->GetUInt32(policy, f);
      return true;
    case FieldDescriptor::CPPTYPE_UINT64:
      out->uint_value = r->GetUInt64(policy, f);
      return true;
    case FieldDescriptor::CPPTYPE_BOOL:
      out->bool_value = r->GetBool(policy, f);
      return true;
    case FieldDescriptor::CPPTYPE_STRING:
      out->string_value = r->GetString(policy, f);
      return true;
    default:
      return false;
  }
}

absl::Status DefaultOf(const v1::ParamSpec& spec, ParamValue* out) {
  *out = ParamValue();
  switch (spec.type()) {
    case v1::UINT:
      if (!absl::SimpleAtoi(spec.default_value(), &out->uint_value)) {
        return absl::InvalidArgumentError(absl::StrCat(
            spec.name(), ": default_value ", Quote(spec.default_value()), " is not a number"));
      }
      break;
    case v1::BOOL:
      if (spec.default_value() != "true" && spec.default_value() != "false" &&
          !spec.default_value().empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(spec.name(), ": default_value must be true or false"));
      }
      out->bool_value = spec.default_value() == "true";
      break;
    case v1::STRING:
    case v1::DATE:
      out->string_value = spec.default_value();
      break;
    case v1::STRING_LIST:
    case v1::PORT_LIST:
      out->list.assign(spec.default_values().begin(), spec.default_values().end());
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(spec.name(), ": no type"));
  }
  return CheckParamValue(spec, *out);
}

std::string FormatParam(const v1::ParamSpec& spec, const ParamValue& value) {
  switch (spec.type()) {
    case v1::UINT:
      return absl::StrCat(value.uint_value);
    case v1::BOOL:
      return value.bool_value ? "true" : "false";
    case v1::STRING:
    case v1::DATE:
      return Quote(value.string_value);
    default: {
      std::vector<std::string> quoted;
      for (const std::string& s : value.list) quoted.push_back(Quote(s));
      return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
    }
  }
}

void Params::Set(const v1::ParamSpec& spec, ParamValue value, std::string origin) {
  v1::EffectiveParam shown;
  shown.set_name(spec.name());
  shown.set_value(FormatParam(spec, value));
  shown.set_origin(std::move(origin));
  entries_.push_back(Entry{&spec, std::move(value)});
  effective_.push_back(std::move(shown));
}

const Params::Entry& Params::Get(absl::string_view name,
                                 std::initializer_list<v1::ParamType> types) const {
  for (const Entry& e : entries_) {
    if (e.spec->name() != name) continue;
    if (std::find(types.begin(), types.end(), e.spec->type()) == types.end()) break;
    return e;
  }
  std::fprintf(stderr,
               "preflight: a check asked for parameter %s, which its catalogue entry does not "
               "declare with that type (collector/checks/catalogue.textproto)\n",
               std::string(name).c_str());
  std::abort();
}

uint64_t Params::Uint(absl::string_view name) const {
  return Get(name, {v1::UINT}).value.uint_value;
}
bool Params::Bool(absl::string_view name) const { return Get(name, {v1::BOOL}).value.bool_value; }
const std::string& Params::Str(absl::string_view name) const {
  return Get(name, {v1::STRING, v1::DATE}).value.string_value;
}
const std::vector<std::string>& Params::List(absl::string_view name) const {
  return Get(name, {v1::STRING_LIST, v1::PORT_LIST}).value.list;
}

Params ResolveParams(const v1::CheckSpec& spec, const v1::Policy& policy,
                     const v1::InventoryHost& host) {
  Params params;
  for (const v1::ParamSpec& p : spec.params()) {
    ParamValue value;
    std::vector<std::string> origins;
    if (!DefaultOf(p, &value).ok()) value = ParamValue();  // ValidateCatalogue rules this out
    origins.push_back("default");
    // The catalogue's own value for some roles (a host with several roles
    // gets the union).
    bool role_default = false;
    for (const v1::RoleDefault& rd : p.role_defaults()) {
      if (!HasRoleOf(host, rd.role())) continue;
      if (!role_default) value.list.clear();
      role_default = true;
      for (const std::string& v : rd.values()) {
        if (std::find(value.list.begin(), value.list.end(), v) == value.list.end()) {
          value.list.push_back(v);
        }
      }
      origins = {absl::StrCat("default for role ", rd.role())};
    }

    // Applies one level's value: replace, or add for ADD lists.
    auto apply = [&](const ParamValue& v, std::string origin) {
      if (p.merge() == v1::ADD) {
        for (const std::string& s : v.list) {
          if (std::find(value.list.begin(), value.list.end(), s) == value.list.end()) {
            value.list.push_back(s);
          }
        }
        origins.push_back(std::move(origin));
      } else {
        value = v;
        origins = {std::move(origin)};
      }
    };

    ParamValue v;
    if (ReadParam(policy, p, &v)) {
      // The fleet's value is the base, even of an ADD list.
      value = v;
      origins = {Where(policy, p.name(), "policy")};
    }
    // The older per-role form of the allowed ports: when given, it replaces
    // the catalogue's role defaults, as it always has.
    if (p.name() == "allowed_ports" && !policy.allowed_public_ports().empty()) {
      ParamValue legacy;
      std::vector<std::string> where;
      for (int i = 0; i < policy.allowed_public_ports_size(); ++i) {
        const v1::RolePorts& rp = policy.allowed_public_ports(i);
        if (rp.role() != "*" && !HasRoleOf(host, rp.role())) continue;
        for (const std::string& port : rp.ports()) legacy.list.push_back(port);
        where.push_back(
            absl::StrCat(Where(policy, absl::StrCat("allowed_public_ports[", i, "]"), "policy"),
                         " (role ", rp.role(), ")"));
      }
      value = legacy;
      origins = where.empty() ? std::vector<std::string>{"policy: allowed_public_ports names "
                                                         "none of this host's roles"}
                              : where;
    }
    // Overrides, least specific first.
    for (const char* level : {"environment", "role", "host"}) {
      for (int i = 0; i < policy.override_size(); ++i) {
        const v1::PolicyOverride& o = policy.override(i);
        bool matches = false;
        std::string selector;
        if (absl::string_view(level) == "environment" && !o.environment().empty()) {
          matches = o.environment() == host.environment();
          selector = absl::StrCat("environment ", o.environment());
        } else if (absl::string_view(level) == "role" && !o.role().empty()) {
          matches = HasRoleOf(host, o.role());
          selector = absl::StrCat("role ", o.role());
        } else if (absl::string_view(level) == "host" && !o.host().empty()) {
          matches = o.host() == host.id();
          selector = absl::StrCat("host ", o.host());
        }
        if (!matches || !ReadParam(o.set(), p, &v)) continue;
        apply(v, absl::StrCat(
                     Where(policy, absl::StrCat("override[", i, "].set.", p.name()), "policy"),
                     " (", selector, ")"));
      }
    }
    params.Set(p, std::move(value), absl::StrJoin(origins, " + "));
  }
  return params;
}

}  // namespace preflight::collector
