#include "collector/diff/renderer.h"

#include <google/protobuf/descriptor.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace preflight::collector::diff {

std::string Arrow(absl::string_view before, absl::string_view after) {
  return absl::StrCat(before, " → ", after);
}

std::string OrNone(absl::string_view s) { return s.empty() ? "(none)" : std::string(s); }

std::string YesNo(bool b) { return b ? "yes" : "no"; }

std::string Time(int64_t unix_seconds) {
  if (unix_seconds == 0) return "never";
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

std::string Bytes(uint64_t bytes) {
  constexpr double kKiB = 1024.0;
  const double b = static_cast<double>(bytes);
  if (b >= kKiB * kKiB * kKiB) return absl::StrFormat("%.1f GiB", b / (kKiB * kKiB * kKiB));
  if (b >= kKiB * kKiB) return absl::StrFormat("%.1f MiB", b / (kKiB * kKiB));
  if (b >= kKiB) return absl::StrFormat("%.1f KiB", b / kKiB);
  return absl::StrCat(bytes, " B");
}

namespace {

std::string ScalarText(const google::protobuf::Message& m,
                       const google::protobuf::FieldDescriptor* f) {
  using FD = google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m.GetReflection();
  switch (f->cpp_type()) {
    case FD::CPPTYPE_BOOL:
      return YesNo(r->GetBool(m, f));
    case FD::CPPTYPE_ENUM:
      return r->GetEnum(m, f)->name();
    case FD::CPPTYPE_STRING:
      return OrNone(r->GetString(m, f));
    case FD::CPPTYPE_INT32:
      return absl::StrCat(r->GetInt32(m, f));
    case FD::CPPTYPE_INT64:
      return absl::StrCat(r->GetInt64(m, f));
    case FD::CPPTYPE_UINT32:
      return absl::StrCat(r->GetUInt32(m, f));
    case FD::CPPTYPE_UINT64:
      return absl::StrCat(r->GetUInt64(m, f));
    case FD::CPPTYPE_DOUBLE:
      return absl::StrCat(r->GetDouble(m, f));
    case FD::CPPTYPE_FLOAT:
      return absl::StrCat(r->GetFloat(m, f));
    case FD::CPPTYPE_MESSAGE:
      break;
  }
  return "";
}

}  // namespace

std::vector<std::string> ScalarChanges(const google::protobuf::Message& before,
                                       const google::protobuf::Message& after,
                                       std::initializer_list<absl::string_view> skip) {
  std::vector<std::string> out;
  const google::protobuf::Descriptor* d = after.GetDescriptor();
  if (before.GetDescriptor() != d) return out;
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    if (f->is_repeated() || f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    bool skipped = false;
    for (absl::string_view s : skip) skipped |= s == f->name();
    if (skipped) continue;
    std::string a = ScalarText(before, f), b = ScalarText(after, f);
    if (a != b) out.push_back(absl::StrCat(f->name(), " ", Arrow(a, b)));
  }
  return out;
}

std::string SetChange(const google::protobuf::RepeatedPtrField<std::string>& before,
                      const google::protobuf::RepeatedPtrField<std::string>& after) {
  const std::set<std::string> a(before.begin(), before.end()), b(after.begin(), after.end());
  std::vector<std::string> parts;
  for (const std::string& x : b) {
    if (!a.count(x)) parts.push_back(absl::StrCat("+", x));
  }
  for (const std::string& x : a) {
    if (!b.count(x)) parts.push_back(absl::StrCat("-", x));
  }
  return absl::StrJoin(parts, " ");
}

void SetLines(absl::string_view what, const google::protobuf::RepeatedPtrField<std::string>& before,
              const google::protobuf::RepeatedPtrField<std::string>& after, Lines& out) {
  const std::set<std::string> a(before.begin(), before.end()), b(after.begin(), after.end());
  for (const std::string& x : a) {
    if (!b.count(x)) out.push_back(absl::StrCat("removed: ", what, " ", x));
  }
  for (const std::string& x : b) {
    if (!a.count(x)) out.push_back(absl::StrCat("added: ", what, " ", x));
  }
}

void CollectionLines(const v1::Collection& before, const v1::Collection& after, Lines& out) {
  if (before.state() != after.state()) {
    out.push_back(
        absl::StrCat("changed: collection ",
                     Arrow(v1::Collection::State_Name(before.state()),
                           v1::Collection::State_Name(after.state())),
                     after.error().empty() ? "" : absl::StrCat(" (", after.error(), ")")));
  } else if (before.error() != after.error()) {
    out.push_back(absl::StrCat("changed: collection error ",
                               Arrow(OrNone(before.error()), OrNone(after.error()))));
  }
  KeyedDiff(
      before.unreadable(), after.unreadable(), [](const v1::ReadError& e) { return e.path(); },
      [&](const v1::ReadError& e) {
        out.push_back(absl::StrCat("added: cannot read ", e.path(), ": ", e.error()));
      },
      [&](const v1::ReadError& e) {
        out.push_back(absl::StrCat("removed: cannot read ", e.path(), " (read now)"));
      },
      [&](const v1::ReadError& a, const v1::ReadError& b) {
        if (a.error() != b.error()) {
          out.push_back(
              absl::StrCat("changed: cannot read ", b.path(), ": ", Arrow(a.error(), b.error())));
        }
      });
}

void ProblemLines(const google::protobuf::RepeatedPtrField<v1::ParseProblem>& before,
                  const google::protobuf::RepeatedPtrField<v1::ParseProblem>& after, Lines& out) {
  auto where = [](const v1::ParseProblem& p) {
    return p.line() == 0 ? p.file() : absl::StrCat(p.file(), ":", p.line());
  };
  KeyedDiff(
      before, after,
      [](const v1::ParseProblem& p) { return absl::StrCat(p.file(), "\n", p.message()); },
      [&](const v1::ParseProblem& p) {
        out.push_back(absl::StrCat("added: problem at ", where(p), ": ", p.message()));
      },
      [&](const v1::ParseProblem& p) {
        out.push_back(absl::StrCat("removed: problem at ", where(p), ": ", p.message()));
      },
      [](const v1::ParseProblem&, const v1::ParseProblem&) {});
}

}  // namespace preflight::collector::diff
