#include "collector/store/fact_diff.h"

#include <google/protobuf/text_format.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::collector {
namespace {

constexpr size_t kMaxDiffLines = 1500;  // per side; beyond it, compare the tail bluntly

std::vector<std::string> TextLines(absl::string_view kind, const std::string& bytes) {
  if (bytes.empty()) return {};
  const google::protobuf::FieldDescriptor* field =
      v1::FactReport::descriptor()->FindFieldByName(std::string(kind));
  if (field == nullptr || field->message_type() == nullptr) return {"<unknown fact kind>"};
  std::unique_ptr<google::protobuf::Message> m(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(field->message_type())
          ->New());
  if (!m->ParseFromString(bytes)) return {"<undecodable>"};
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  printer.SetExpandAny(false);
  printer.PrintToString(*m, &text);
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  if (lines.size() > kMaxDiffLines) lines.resize(kMaxDiffLines);
  return lines;
}

}  // namespace

std::vector<std::string> DiffFactContent(absl::string_view kind, const std::string& before,
                                         const std::string& after, size_t max_lines) {
  const std::vector<std::string> a = TextLines(kind, before), b = TextLines(kind, after);
  const size_t n = a.size(), m = b.size();
  // lcs[i][j]: longest common subsequence of a[i:] and b[j:].
  std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::vector<std::string> out;
  size_t changed = 0;
  auto emit = [&](std::string line) {
    ++changed;
    if (out.size() < max_lines) out.push_back(std::move(line));
  };
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      ++i;
      ++j;
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      emit(absl::StrCat("- ", a[i++]));
    } else {
      emit(absl::StrCat("+ ", b[j++]));
    }
  }
  if (changed > out.size()) out.push_back(absl::StrCat("... ", changed - out.size(), " more"));
  return out;
}

}  // namespace preflight::collector
