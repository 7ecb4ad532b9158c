// Check parameters: the values a policy sets for a check, resolved per host.
//
// Each parameter is declared in the catalogue (type, default, unit, bounds,
// how lists merge) and is a field of the same name in preflight.v1.Policy.
// For one host the effective value is, most specific last:
//   catalogue default (and its default for the host's roles)
//   < the policy's fleet value (its top-level fields)
//   < overrides for the host's environment
//   < overrides for one of the host's roles
//   < overrides for the host itself.
// Scalars and REPLACE lists take the most specific value. ADD lists
// (deny-lists) start from the fleet's value (or the default) and every
// matching override adds to them, so no override can open a hole.
#ifndef PREFLIGHT_COLLECTOR_CHECKS_PARAMS_H_
#define PREFLIGHT_COLLECTOR_CHECKS_PARAMS_H_

#include <google/protobuf/message.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "preflight/v1/catalogue.pb.h"
#include "preflight/v1/config.pb.h"

namespace preflight::collector {

// A parameter's value, parsed.
struct ParamValue {
  uint64_t uint_value = 0;
  bool bool_value = false;
  std::string string_value;       // STRING, DATE
  std::vector<std::string> list;  // STRING_LIST, PORT_LIST
};

// Whether `value` is valid for `spec`: bounds for UINT, an RFC 3339
// full-date for DATE, "PORT/tcp|udp" for each PORT_LIST entry. The error
// says what is wrong, without a location.
absl::Status CheckParamValue(const v1::ParamSpec& spec, const ParamValue& value);

// Reads `spec`'s field from `policy` (a Policy, or an override's `set`).
// False when the field is not set there (an unset optional scalar, an empty
// list).
bool ReadParam(const google::protobuf::Message& policy, const v1::ParamSpec& spec, ParamValue* out);

// The catalogue's default (default_value / default_values, not the role
// defaults), parsed.
absl::Status DefaultOf(const v1::ParamSpec& spec, ParamValue* out);

// The value as text format writes it: 50, true, "v1.9.0", ["a", "b"].
std::string FormatParam(const v1::ParamSpec& spec, const ParamValue& value);

// The effective parameters of one check for one host.
class Params {
 public:
  // Typed access for evaluate functions. Asking for a parameter the check's
  // spec does not declare, or with the wrong type, is a programming error
  // and aborts (the unit tests evaluate every check).
  uint64_t Uint(absl::string_view name) const;
  bool Bool(absl::string_view name) const;
  const std::string& Str(absl::string_view name) const;  // STRING and DATE
  const std::vector<std::string>& List(absl::string_view name) const;

  // Every parameter with its value and where it came from, in the spec's
  // order, as `preflightctl host` shows them.
  const std::vector<v1::EffectiveParam>& effective() const { return effective_; }

  // Used by ResolveParams.
  void Set(const v1::ParamSpec& spec, ParamValue value, std::string origin);

 private:
  struct Entry {
    const v1::ParamSpec* spec;
    ParamValue value;
  };
  const Entry& Get(absl::string_view name, std::initializer_list<v1::ParamType> types) const;

  std::vector<Entry> entries_;
  std::vector<v1::EffectiveParam> effective_;
};

// Resolves every parameter of `spec` for `host` (see the top of this file).
// Origins name the policy's file:line:column where the loader recorded it
// (Policy.locations), or "default", "default for role R".
Params ResolveParams(const v1::CheckSpec& spec, const v1::Policy& policy,
                     const v1::InventoryHost& host);

// Whether the date is an RFC 3339 full-date (YYYY-MM-DD, a real day).
bool IsFullDate(absl::string_view date);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_CHECKS_PARAMS_H_
