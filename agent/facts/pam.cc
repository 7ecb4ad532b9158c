#include "agent/facts/pam.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace preflight::agent {
namespace {

constexpr size_t kMaxRules = 1000;
constexpr int kMaxDepth = 8;

std::string Basename(absl::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

// Splits a PAM line into words; a [...] control is one word.
std::vector<std::string> PamWords(absl::string_view line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && absl::ascii_isspace(line[i])) ++i;
    if (i >= line.size()) break;
    size_t start = i;
    if (line[i] == '[') {
      size_t close = line.find(']', i);
      i = close == absl::string_view::npos ? line.size() : close + 1;
    } else {
      while (i < line.size() && !absl::ascii_isspace(line[i])) ++i;
    }
    words.emplace_back(line.substr(start, i - start));
  }
  return words;
}

}  // namespace

void ParsePam(absl::string_view content, absl::string_view file, absl::string_view only_type,
              v1::PamFact& fact, const PamIncludeFn& on_include) {
  uint32_t line_no = 0;
  for (absl::string_view raw : absl::StrSplit(content, '\n')) {
    ++line_no;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty()) continue;
    if (line[0] == '#') {
      absl::string_view rest = absl::StripLeadingAsciiWhitespace(line.substr(1));
      if (absl::StartsWith(rest, "@include") && absl::StrContains(rest, "common-auth")) {
        fact.set_common_auth_commented(true);
      }
      continue;
    }
    size_t hash = line.find('#');
    if (hash != absl::string_view::npos)
      line = absl::StripTrailingAsciiWhitespace(line.substr(0, hash));
    std::vector<std::string> w = PamWords(line);
    if (w.empty()) continue;
    if (w[0] == "@include") {
      if (w.size() < 2) continue;
      if (w[1] == "common-auth" && (only_type.empty() || only_type == "auth")) {
        fact.set_common_auth_included(true);
      }
      if (on_include) on_include(w[1], only_type);
      continue;
    }
    if (w.size() < 3) {
      v1::ParseProblem* p = fact.add_problems();
      p->set_file(std::string(file));
      p->set_line(line_no);
      p->set_message("PAM line needs type, control and module");
      continue;
    }
    bool optional = absl::StartsWith(w[0], "-");
    std::string type = absl::AsciiStrToLower(optional ? w[0].substr(1) : w[0]);
    if (!only_type.empty() && type != only_type) continue;
    if (w[1] == "include" || w[1] == "substack") {
      if (type == "auth" && w[2] == "common-auth") fact.set_common_auth_included(true);
      if (on_include) on_include(w[2], type);
      continue;
    }
    if (static_cast<size_t>(fact.rules_size()) >= kMaxRules) break;
    v1::PamRule* r = fact.add_rules();
    r->set_type(type);
    r->set_control(w[1]);
    r->set_module(w[2]);
    for (size_t i = 3; i < w.size(); ++i) r->add_args(w[i]);
    r->set_file(std::string(file));
    r->set_line(line_no);
    r->set_optional_module(optional);
  }
}

void SummarizePam(v1::PamFact& fact) {
  for (const v1::PamRule& r : fact.rules()) {
    if (r.type() != "auth") continue;
    std::string module = Basename(r.module());
    if (module == "pam_google_authenticator.so") {
      fact.set_google_authenticator(true);
      for (const std::string& a : r.args()) {
        if (a == "nullok") fact.set_google_authenticator_nullok(true);
      }
    }
    if (module == "pam_unix.so") fact.set_unix_password_auth(true);
  }
}

namespace {

class PamCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "pam"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::PamFact& fact = *report.mutable_pam();
    v1::Collection* collection = fact.mutable_collection();
    fact.set_file("/etc/pam.d/sshd");
    auto data = env.ReadFile("/etc/pam.d/sshd", options.max_file_bytes);
    if (!data.ok()) {
      collection->set_state(absl::IsNotFound(data.status()) ? v1::Collection::ABSENT
                                                            : v1::Collection::ERROR);
      collection->set_error(std::string(data.status().message()));
      return collection;
    }
    fact.add_files("/etc/pam.d/sshd");
    Parse(env, options, data->content, "/etc/pam.d/sshd", "", 0, fact);
    SummarizePam(fact);
    collection->set_state(v1::Collection::OK);
    return collection;
  }

 private:
  void Parse(HostEnv& env, const CollectOptions& options, absl::string_view content,
             absl::string_view file, absl::string_view type, int depth, v1::PamFact& fact) {
    ParsePam(content, file, type, fact, [&](absl::string_view name, absl::string_view t) {
      std::string path = name[0] == '/' ? std::string(name) : absl::StrCat("/etc/pam.d/", name);
      if (depth + 1 > kMaxDepth) {
        v1::ParseProblem* p = fact.add_problems();
        p->set_file(std::string(file));
        p->set_message(absl::StrCat("include of ", path, " nested too deep"));
        return;
      }
      auto data = env.ReadFile(path, options.max_file_bytes);
      if (!data.ok()) {
        v1::ParseProblem* p = fact.add_problems();
        p->set_file(std::string(file));
        p->set_message(absl::StrCat("include ", path, ": ", data.status().message()));
        return;
      }
      fact.add_files(path);
      Parse(env, options, data->content, path, t, depth + 1, fact);
    });
  }
};

}  // namespace

std::unique_ptr<FactCollector> MakePamCollector() { return std::make_unique<PamCollector>(); }

}  // namespace preflight::agent
