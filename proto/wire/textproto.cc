#include "proto/wire/textproto.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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
  CollectingErrors errors(name);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(content), message) || !errors.errors().empty()) {
    if (errors.errors().empty()) return absl::InvalidArgumentError(absl::StrCat(name, ": invalid"));
    return absl::InvalidArgumentError(absl::StrJoin(errors.errors(), "\n"));
  }
  return absl::OkStatus();
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
