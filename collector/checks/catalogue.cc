#include "collector/checks/catalogue.h"

#include <cstdio>
#include <cstdlib>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "collector/checks/params.h"
#include "proto/wire/textproto.h"

namespace preflight::collector {

extern const char kCatalogueText[];  // generated from catalogue.textproto

namespace {

using google::protobuf::FieldDescriptor;

// Policy fields that are not check parameters: the fleet's own settings.
const std::set<std::string>& FleetFields() {
  static const auto* fields = new std::set<std::string>{
      "gating_environments", "staleness_seconds", "environments", "roles", "override", "locations",
      "allowed_public_ports",
      // Exceptions (collector/readiness/exceptions.h).
      "max_waiver_days", "max_signoff_days", "waiver_approval_environments",
      // Application evidence (collector/checks/application.cc).
      "require_application_evidence"};
  return *fields;
}

// Whether the Policy field can carry a parameter of this type.
bool FieldFits(const FieldDescriptor& f, v1::ParamType type) {
  switch (type) {
    case v1::UINT:
      return !f.is_repeated() && f.has_presence() &&
             (f.cpp_type() == FieldDescriptor::CPPTYPE_UINT32 ||
              f.cpp_type() == FieldDescriptor::CPPTYPE_UINT64);
    case v1::BOOL:
      return !f.is_repeated() && f.has_presence() && f.cpp_type() == FieldDescriptor::CPPTYPE_BOOL;
    case v1::STRING:
    case v1::DATE:
      return !f.is_repeated() && f.has_presence() &&
             f.cpp_type() == FieldDescriptor::CPPTYPE_STRING;
    case v1::STRING_LIST:
    case v1::PORT_LIST:
      return f.is_repeated() && f.cpp_type() == FieldDescriptor::CPPTYPE_STRING;
    default:
      return false;
  }
}

std::string Cell(absl::string_view s) {
  return absl::StrReplaceAll(s, {{"|", "\\|"}, {"\n", " "}});
}

}  // namespace

std::string ParamTypeName(v1::ParamType type) {
  switch (type) {
    case v1::UINT:
      return "integer";
    case v1::STRING:
      return "string";
    case v1::BOOL:
      return "bool";
    case v1::DATE:
      return "date";
    case v1::STRING_LIST:
      return "list";
    case v1::PORT_LIST:
      return "port list";
    default:
      return "?";
  }
}

absl::Status ValidateCatalogue(const v1::Catalogue& c) {
  std::vector<std::string> errors;
  std::set<std::string> envs, roles;
  for (const v1::Vocabulary& v : c.environments()) envs.insert(v.name());
  for (const v1::Vocabulary& v : c.roles()) roles.insert(v.name());
  auto known = [&](const auto& list, const std::set<std::string>& vocab, absl::string_view what,
                   absl::string_view where) {
    for (const std::string& n : list) {
      if (!vocab.count(n)) {
        errors.push_back(absl::StrCat(where, ": ", what, " '", n, "' is not declared"));
      }
    }
  };
  for (int i = 0; i < c.items_size(); ++i) {
    const v1::ChecklistItem& item = c.items(i);
    if (item.number() != static_cast<uint32_t>(i + 1)) {
      errors.push_back(
          absl::StrCat("items[", i, "]: number ", item.number(), ", expected ", i + 1));
    }
    if (item.title().empty()) errors.push_back(absl::StrCat("item ", item.number(), ": no title"));
    known(item.environments(), envs, "environment", absl::StrCat("item ", item.number()));
  }
  const google::protobuf::Descriptor* policy = v1::Policy::descriptor();
  std::set<std::string> ids, params;
  for (const v1::CheckSpec& s : c.checks()) {
    const std::string where = absl::StrCat("check ", s.id());
    if (s.id().empty()) errors.push_back("a check has no id");
    if (!ids.insert(s.id()).second) errors.push_back(absl::StrCat(where, ": listed twice"));
    if (s.title().empty() || s.remediation().empty() || s.area().empty()) {
      errors.push_back(absl::StrCat(where, ": needs a title, a remediation and an area"));
    }
    if (s.severity() == v1::SEVERITY_UNSPECIFIED) {
      errors.push_back(absl::StrCat(where, ": no severity"));
    }
    if (s.item() != 0 && FindItem(c, s.item()) == nullptr) {
      errors.push_back(absl::StrCat(where, ": item ", s.item(), " is not in the checklist"));
    }
    known(s.environments(), envs, "environment", where);
    known(s.roles(), roles, "role", where);
    for (const v1::ParamSpec& p : s.params()) {
      const std::string pwhere = absl::StrCat(where, ": parameter ", p.name());
      if (!params.insert(p.name()).second) {
        errors.push_back(absl::StrCat(pwhere, ": declared twice"));
      }
      const FieldDescriptor* f = policy->FindFieldByName(p.name());
      if (f == nullptr || FleetFields().count(p.name())) {
        errors.push_back(
            absl::StrCat(pwhere, ": no such field in preflight.v1.Policy (config.proto)"));
      } else if (!FieldFits(*f, p.type())) {
        errors.push_back(absl::StrCat(pwhere, ": the Policy field does not fit type ",
                                      ParamTypeName(p.type()),
                                      " (scalars must be 'optional', lists 'repeated string')"));
      }
      const bool list = p.type() == v1::STRING_LIST || p.type() == v1::PORT_LIST;
      if (list != (p.merge() != v1::LIST_MERGE_UNSPECIFIED)) {
        errors.push_back(
            absl::StrCat(pwhere, ": lists need a merge (REPLACE or ADD), scalars none"));
      }
      ParamValue v;
      if (absl::Status st = DefaultOf(p, &v); !st.ok()) {
        errors.push_back(absl::StrCat(pwhere, ": default: ", st.message()));
      }
      for (const v1::RoleDefault& rd : p.role_defaults()) {
        known(std::vector<std::string>{rd.role()}, roles, "role", pwhere);
      }
      for (const std::string* other : {&p.less_than(), &p.greater_than()}) {
        if (other->empty()) continue;
        bool found = false;
        for (const v1::ParamSpec& q : s.params()) {
          found |= q.name() == *other && q.type() == v1::UINT && p.type() == v1::UINT;
        }
        if (!found) {
          errors.push_back(
              absl::StrCat(pwhere, ": compares with ", *other, ", not an integer of this check"));
        }
      }
    }
  }
  // Every Policy field is a fleet setting or some check's parameter.
  for (int i = 0; i < policy->field_count(); ++i) {
    const std::string& name = policy->field(i)->name();
    if (!FleetFields().count(name) && !params.count(name)) {
      errors.push_back(absl::StrCat("Policy field ", name,
                                    " is no check's parameter: declare it in the catalogue"));
    }
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return absl::OkStatus();
}

absl::StatusOr<v1::Catalogue> ParseCatalogue(absl::string_view text, absl::string_view name) {
  v1::Catalogue c;
  if (absl::Status st = ParseTextProto(text, name, &c); !st.ok()) return st;
  if (absl::Status st = ValidateCatalogue(c); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", st.message()));
  }
  return c;
}

const v1::Catalogue& BuiltinCatalogue() {
  static const v1::Catalogue* catalogue = [] {
    auto parsed = ParseCatalogue(kCatalogueText, "collector/checks/catalogue.textproto");
    if (!parsed.ok()) {
      std::fprintf(stderr, "preflight: the built-in catalogue is broken:\n%s\n",
                   std::string(parsed.status().message()).c_str());
      std::abort();
    }
    return new v1::Catalogue(*std::move(parsed));
  }();
  return *catalogue;
}

const v1::ChecklistItem* FindItem(const v1::Catalogue& catalogue, uint32_t number) {
  for (const v1::ChecklistItem& item : catalogue.items()) {
    if (item.number() == number) return &item;
  }
  return nullptr;
}

const v1::CheckSpec* FindSpec(const v1::Catalogue& catalogue, absl::string_view id) {
  for (const v1::CheckSpec& s : catalogue.checks()) {
    if (s.id() == id) return &s;
  }
  return nullptr;
}

const v1::ParamSpec* FindParam(const v1::Catalogue& catalogue, absl::string_view name,
                               const v1::CheckSpec** owner) {
  for (const v1::CheckSpec& s : catalogue.checks()) {
    for (const v1::ParamSpec& p : s.params()) {
      if (p.name() != name) continue;
      if (owner != nullptr) *owner = &s;
      return &p;
    }
  }
  return nullptr;
}

v1::CheckInfo InfoOf(const v1::CheckSpec& spec) {
  v1::CheckInfo info;
  info.set_id(spec.id());
  info.set_title(spec.title());
  info.set_checklist_item(spec.item());
  info.set_severity(spec.severity());
  *info.mutable_environments() = spec.environments();
  *info.mutable_roles() = spec.roles();
  info.set_remediation(spec.remediation());
  info.set_manual(spec.manual());
  return info;
}

std::string CatalogueMarkdown(const v1::Catalogue& catalogue) {
  std::string out =
      "| check | item | severity | applies to | how | UNKNOWN when |\n"
      "|---|---|---|---|---|---|\n";
  for (const v1::CheckSpec& s : catalogue.checks()) {
    std::vector<std::string> scope;
    if (!s.roles().empty()) scope.push_back(absl::StrCat("roles ", absl::StrJoin(s.roles(), ", ")));
    if (!s.environments().empty()) {
      scope.push_back(absl::StrCat("environments ", absl::StrJoin(s.environments(), ", ")));
    }
    absl::StrAppend(&out, "| `", s.id(), "` | ", s.item() == 0 ? "–" : absl::StrCat(s.item()),
                    " | ",
                    s.manual() ? "manual" : (s.severity() == v1::ADVISORY ? "advisory" : "blocker"),
                    " | ", scope.empty() ? "every host" : absl::StrJoin(scope, "; "), " | ",
                    Cell(s.how().empty() ? "an operator's sign-off per environment" : s.how()),
                    " | ", Cell(s.unknown_when().empty() ? "–" : s.unknown_when()), " |\n");
  }
  absl::StrAppend(&out,
                  "\n| parameter | check | type | default | merge | doc |\n"
                  "|---|---|---|---|---|---|\n");
  for (const v1::CheckSpec& s : catalogue.checks()) {
    for (const v1::ParamSpec& p : s.params()) {
      ParamValue v;
      (void)DefaultOf(p, &v);
      std::string def = FormatParam(p, v);
      for (const v1::RoleDefault& rd : p.role_defaults()) {
        ParamValue rv;
        rv.list.assign(rd.values().begin(), rd.values().end());
        absl::StrAppend(&def, "; ", rd.role(), ": ", FormatParam(p, rv));
      }
      std::string type = ParamTypeName(p.type());
      if (p.type() == v1::UINT) {
        absl::StrAppend(&type, " ", p.min(), "..", p.max() == 0 ? "" : absl::StrCat(p.max()),
                        p.unit().empty() ? "" : absl::StrCat(" ", p.unit()));
      }
      absl::StrAppend(&out, "| `", p.name(), "` | `", s.id(), "` | ", type, " | `", Cell(def),
                      "` | ",
                      p.merge() == v1::ADD       ? "adds"
                      : p.merge() == v1::REPLACE ? "replaces"
                                                 : "–",
                      " | ", Cell(p.doc()), " |\n");
    }
  }
  return out;
}

}  // namespace preflight::collector
