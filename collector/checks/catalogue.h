// The check catalogue: the checklist's items and every check's spec (id,
// item, severity, roles, environments, title, remediation, parameters),
// declared once in collector/checks/catalogue.textproto and compiled in.
#ifndef PREFLIGHT_COLLECTOR_CHECKS_CATALOGUE_H_
#define PREFLIGHT_COLLECTOR_CHECKS_CATALOGUE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "preflight/v1/catalogue.pb.h"
#include "preflight/v1/verdict.pb.h"

namespace preflight::collector {

// The built-in catalogue, parsed and validated once. A catalogue that does
// not validate is a programming error: the first call aborts with the reason
// (the unit tests parse it too, so that never ships).
const v1::Catalogue& BuiltinCatalogue();

// Parses a catalogue in text format (errors name `name`:line:column) and
// validates it with ValidateCatalogue.
absl::StatusOr<v1::Catalogue> ParseCatalogue(absl::string_view text, absl::string_view name);

// A catalogue's own consistency: items numbered 1..N in order, unique check
// ids, items and vocabulary that exist, every parameter a field of the same
// name and a matching type in preflight.v1.Policy, declared once, with a
// default that parses and lies within its bounds.
absl::Status ValidateCatalogue(const v1::Catalogue& catalogue);

// The item with this number, or null.
const v1::ChecklistItem* FindItem(const v1::Catalogue& catalogue, uint32_t number);
// The spec with this id, or null.
const v1::CheckSpec* FindSpec(const v1::Catalogue& catalogue, absl::string_view id);
// The spec declaring parameter `name`, or null.
const v1::ParamSpec* FindParam(const v1::Catalogue& catalogue, absl::string_view name,
                               const v1::CheckSpec** owner = nullptr);

// The CheckInfo (as the query service and verdicts carry it) of a spec.
v1::CheckInfo InfoOf(const v1::CheckSpec& spec);

// The README's check table in Markdown, generated from the catalogue (a test
// compares it with README.md).
std::string CatalogueMarkdown(const v1::Catalogue& catalogue);

// "ssh.2fa_enabled" ... the names a parameter type is written as.
std::string ParamTypeName(v1::ParamType type);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_CHECKS_CATALOGUE_H_
