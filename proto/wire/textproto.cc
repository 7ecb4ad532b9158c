#include "proto/wire/textproto.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "proto/wire/did_you_mean.h"
#include "proto/wire/status.h"

namespace preflight {
namespace {

class CollectingErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectingErrors(absl::string_view name) : name_(name) {}
  void AddError(int line, int column, const std::string& message) override {
    errors_.push_back(absl::StrCat(name_, ":", line + 1, ":", column + 1, ": ", message));
  }
  void AddWarning(int line, int column, const std::string& message) override {
    errors_.push_back(absl::StrCat(name_, ":", line + 1, ":", column + 1, ": warning: ", message));
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string name_;
  std::vector<std::string> errors_;
};

// Adds "; did you mean X?" to the parser's 'has no field named "Y"' errors.
std::string WithSuggestion(const std::string& error) {
  static const std::regex kUnknown(
      R"re(Message type "([A-Za-z0-9_.]+)" has no field named "([A-Za-z0-9_]+)")re");
  std::smatch m;
  if (!std::regex_search(error, m, kUnknown)) return error;
  const google::protobuf::Descriptor* d =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(m[1].str());
  if (d == nullptr) return error;
  std::vector<std::string> names;
  for (int i = 0; i < d->field_count(); ++i) names.push_back(d->field(i)->name());
  std::string suggestion = DidYouMean(m[2].str(), names);
  if (suggestion.empty()) return error;
  std::string out = error;
  if (!out.empty() && out.back() == '.') out.pop_back();
  return absl::StrCat(out, suggestion);
}

void Record(const google::protobuf::Message& message,
            const google::protobuf::TextFormat::ParseInfoTree* tree, absl::string_view name,
            const std::string& prefix, TextLocations* out) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Descriptor* d = message.GetDescriptor();
  const google::protobuf::Reflection* r = message.GetReflection();
  auto where = [&](const google::protobuf::TextFormat::ParseLocation& loc) {
    return absl::StrCat(name, ":", loc.line + 1, ":", loc.column + 1);
  };
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const std::string key = prefix + f->name();
    if (f->is_repeated()) {
      const int n = r->FieldSize(message, f);
      for (int k = 0; k < n; ++k) {
        auto loc = tree->GetLocation(f, k);
        if (loc.line < 0) continue;
        const std::string indexed = absl::StrCat(key, "[", k, "]");
        (*out)[indexed] = where(loc);
        if (k == 0) (*out)[key] = where(loc);
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_map()) {
          const auto* nested = tree->GetTreeForNested(f, k);
          if (nested != nullptr) {
            Record(r->GetRepeatedMessage(message, f, k), nested, name, indexed + ".", out);
          }
        }
      }
      continue;
    }
    auto loc = tree->GetLocation(f, -1);
    if (loc.line < 0) continue;
    (*out)[key] = where(loc);
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      const auto* nested = tree->GetTreeForNested(f, -1);
      if (nested != nullptr) Record(r->GetMessage(message, f), nested, name, key + ".", out);
    }
  }
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoToStatus(errno, absl::StrCat("open ", path));
  std::string data;
  char buf[64 * 1024];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > max_bytes) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": larger than ", max_bytes, " bytes"));
    }
  }
  if (in.bad()) return ErrnoToStatus(errno, absl::StrCat("read ", path));
  return data;
}

absl::Status ParseTextProto(absl::string_view content, absl::string_view name,
                            google::protobuf::Message* message) {
  return ParseTextProtoWithLocations(content, name, message, nullptr);
}

absl::Status ParseTextProtoWithLocations(absl::string_view content, absl::string_view name,
                                         google::protobuf::Message* message,
                                         TextLocations* locations, absl::string_view prefix) {
  CollectingErrors errors(name);
  google::protobuf::TextFormat::Parser parser;
  google::protobuf::TextFormat::ParseInfoTree tree;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(content), message) || !errors.errors().empty()) {
    if (errors.errors().empty()) return absl::InvalidArgumentError(absl::StrCat(name, ": invalid"));
    std::vector<std::string> lines;
    for (const std::string& e : errors.errors()) lines.push_back(WithSuggestion(e));
    return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
  }
  if (locations != nullptr) Record(*message, &tree, name, std::string(prefix), locations);
  return absl::OkStatus();
}

absl::Status LoadTextProtoFileWithLocations(const std::string& path,
                                            google::protobuf::Message* message,
                                            TextLocations* locations) {
  ASSIGN_OR_RETURN(std::string content, ReadFileToString(path));
  return ParseTextProtoWithLocations(content, path, message, locations);
}

absl::Status LoadTextProtoFile(const std::string& path, google::protobuf::Message* message) {
  ASSIGN_OR_RETURN(std::string content, ReadFileToString(path));
  return ParseTextProto(content, path, message);
}

std::string ResolveRelativeTo(const std::string& path, const std::string& relative_to) {
  if (path.empty() || path[0] == '/') return path;
  size_t slash = relative_to.rfind('/');
  if (slash == std::string::npos) return path;
  return absl::StrCat(relative_to.substr(0, slash + 1), path);
}

}  // namespace preflight
