#include "collector/checks/check.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace preflight::collector {

void CheckRegistry::Bind(absl::string_view id, EvaluateFn fn) {
  bound_.emplace_back(std::string(id), std::move(fn));
}

absl::Status CheckRegistry::Finalize(const v1::Catalogue& catalogue) {
  std::vector<std::string> errors;
  std::map<std::string, EvaluateFn> fns;
  for (auto& [id, fn] : bound_) {
    if (FindSpec(catalogue, id) == nullptr) {
      errors.push_back(absl::StrCat("check function '", id,
                                    "' has no entry in the catalogue "
                                    "(collector/checks/catalogue.textproto)"));
    } else if (!fns.emplace(id, std::move(fn)).second) {
      errors.push_back(absl::StrCat("check '", id, "' is bound twice"));
    }
  }
  bound_.clear();
  std::vector<Check> checks;
  for (const v1::CheckSpec& spec : catalogue.checks()) {
    Check c;
    c.info = InfoOf(spec);
    c.spec = &spec;
    auto it = fns.find(spec.id());
    if (it != fns.end()) c.evaluate = std::move(it->second);
    if (!spec.manual() && !c.evaluate) {
      errors.push_back(absl::StrCat("catalogue check '", spec.id(),
                                    "' has no evaluate function: bind one in collector/checks/",
                                    spec.area(), ".cc"));
    }
    checks.push_back(std::move(c));
  }
  if (!errors.empty()) return absl::FailedPreconditionError(absl::StrJoin(errors, "\n"));
  checks_ = std::move(checks);
  return absl::OkStatus();
}

void CheckRegistry::AddForTest(Check check) {
  if (Find(check.info.id()) != nullptr) {
    std::fprintf(stderr, "duplicate check id %s\n", check.info.id().c_str());
    std::abort();
  }
  checks_.push_back(std::move(check));
}

const Check* CheckRegistry::Find(absl::string_view id) const {
  for (const Check& c : checks_) {
    if (c.info.id() == id) return &c;
  }
  return nullptr;
}

void RegisterBuiltinChecks(CheckRegistry& registry) {
  RegisterSshChecks(registry);
  RegisterFirewallChecks(registry);
  RegisterTlsChecks(registry);
  RegisterDiskChecks(registry);
  RegisterHistoryChecks(registry);
  RegisterLogChecks(registry);
  RegisterBackupChecks(registry);
  RegisterReleaseChecks(registry);
  RegisterAlertChecks(registry);
  RegisterTimeChecks(registry);
  RegisterApplicationChecks(registry);
  RegisterAdminPasswordChecks(registry);
  RegisterTestDataChecks(registry);
  if (absl::Status st = registry.Finalize(BuiltinCatalogue()); !st.ok()) {
    std::fprintf(stderr, "preflight: the checks and their catalogue disagree:\n%s\n",
                 std::string(st.message()).c_str());
    std::exit(70);  // EX_SOFTWARE
  }
}

v1::Evidence MakeEvidence(std::string message, std::string source, std::string observed,
                          std::string expected) {
  v1::Evidence e;
  e.set_message(std::move(message));
  e.set_source(std::move(source));
  e.set_observed(std::move(observed));
  e.set_expected(std::move(expected));
  return e;
}

v1::Evidence Finding(v1::Evidence evidence,
                     std::initializer_list<std::pair<absl::string_view, absl::string_view>> keys) {
  std::string finding;
  for (const auto& [key, value] : keys) {
    absl::StrAppend(&finding, finding.empty() ? "" : " ", key, "=", value);
  }
  evidence.set_finding(std::move(finding));
  return evidence;
}

v1::Verdict MakeVerdict(v1::CheckStatus status, std::vector<v1::Evidence> evidence) {
  v1::Verdict v;
  v.set_status(status);
  for (auto& e : evidence) *v.add_evidence() = std::move(e);
  return v;
}

v1::CheckStatus Worst(v1::CheckStatus a, v1::CheckStatus b) {
  auto rank = [](v1::CheckStatus s) {
    switch (s) {
      case v1::FAIL:
        return 4;
      case v1::UNKNOWN:
        return 3;
      case v1::WARN:
        return 2;
      case v1::PASS:
        return 1;
      default:
        return 0;
    }
  };
  return rank(a) >= rank(b) ? a : b;
}

std::string SourceOf(absl::string_view file, uint32_t line) {
  return absl::StrCat(file, ":", line);
}

namespace {

constexpr int kUnreadableNamed = 5;  // read errors named in the evidence

// The FactReport field that holds messages of `fact`'s type ("sshd"), and the
// fact's Collection. A message that is not a fact kind is a programming error.
std::pair<std::string, const v1::Collection*> KindAndCollection(
    const google::protobuf::Message& fact) {
  const google::protobuf::Descriptor* type = fact.GetDescriptor();
  const google::protobuf::Descriptor* report = v1::FactReport::descriptor();
  std::string kind;
  for (int i = 0; i < report->field_count(); ++i) {
    if (report->field(i)->message_type() == type) kind = report->field(i)->name();
  }
  const google::protobuf::FieldDescriptor* field = type->FindFieldByName("collection");
  if (kind.empty() || field == nullptr || field->message_type() != v1::Collection::descriptor()) {
    std::fprintf(stderr, "UnusableFact: %s is not a fact kind of FactReport\n",
                 type->full_name().c_str());
    std::abort();
  }
  return {kind, static_cast<const v1::Collection*>(&fact.GetReflection()->GetMessage(fact, field))};
}

}  // namespace

v1::Verdict UnusableFact(const v1::FactReport& report, const google::protobuf::Message& fact,
                         absl::string_view what, absl::string_view source) {
  const v1::Collection& collection = *KindAndCollection(fact).second;
  v1::Verdict verdict;
  switch (collection.state()) {
    case v1::Collection::OK:
      return UnreadableParts(report, fact, what, source);
    case v1::Collection::ABSENT:
      verdict = MakeVerdict(
          v1::UNKNOWN, {MakeEvidence(absl::StrCat(what, " not found on the host: cannot assess"),
                                     std::string(source), "absent")});
      break;
    case v1::Collection::ERROR:
      verdict = MakeVerdict(
          v1::UNKNOWN, {MakeEvidence(absl::StrCat(what, " could not be read: ", collection.error()),
                                     std::string(source), "unreadable")});
      break;
    default:
      return MakeVerdict(v1::UNKNOWN,
                         {MakeEvidence(absl::StrCat(what, " not in the report (agent too old?)"),
                                       std::string(source), "not reported")});
  }
  // Absent or unreadable as a whole: also name what could not be read and
  // why, and the capabilities the agent lacked (they may be the reason).
  v1::Verdict parts = UnreadableParts(report, fact, what, source);
  for (v1::Evidence& e : *parts.mutable_evidence()) *verdict.add_evidence() = std::move(e);
  return verdict;
}

v1::Verdict UnreadableParts(const v1::FactReport& report, const google::protobuf::Message& fact,
                            absl::string_view what, absl::string_view source) {
  auto [kind, collection_ptr] = KindAndCollection(fact);
  const v1::Collection& collection = *collection_ptr;
  // Gathered, but not all of it: the agent lacked a capability this kind
  // needs, or some paths could not be read. Either may hide what the check
  // looks for, so it cannot pass.
  std::vector<v1::Evidence> evidence;
  for (const v1::MissingPrivilege& m : report.privileges().missing()) {
    if (m.fact() != kind || m.evidence_only()) continue;
    evidence.push_back(MakeEvidence(
        absl::StrCat("agent lacked ", m.capability(), ": ", m.why(), "; ", what,
                     " may be incomplete, so this cannot be assessed"),
        "agent capabilities", absl::StrCat("without ", m.capability()), m.capability()));
  }
  const int unreadable = collection.unreadable_size();
  for (int i = 0; i < unreadable && i < kUnreadableNamed; ++i) {
    const v1::ReadError& e = collection.unreadable(i);
    evidence.push_back(MakeEvidence(absl::StrCat(what, ": ", e.path(), " could not be read (",
                                                 e.error(), "), so this cannot be assessed"),
                                    e.path(), "unreadable", "readable"));
  }
  if (unreadable > kUnreadableNamed) {
    evidence.push_back(MakeEvidence(
        absl::StrCat(what, ": ", unreadable - kUnreadableNamed, " more paths could not be read"),
        std::string(source), "unreadable", "readable"));
  }
  if (evidence.empty()) return v1::Verdict();
  return MakeVerdict(v1::UNKNOWN, std::move(evidence));
}

std::string UtcMinute(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone());
}

bool HasRole(const v1::InventoryHost& host, absl::string_view role) {
  return std::find(host.roles().begin(), host.roles().end(), role) != host.roles().end();
}

}  // namespace preflight::collector
