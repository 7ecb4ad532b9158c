// The repository's documents stay true and self-contained:
//   - collector/checks/README.md names every check area of the built-in
//     catalogue with its checks, and every field and enum value of
//     catalogue.proto (every check id and parameter is in README.md's
//     generated tables already: Catalogue.ReadmeTableIsTheCatalogues);
//   - agent/README.md names every fact kind of FactReport;
//   - every relative link of every README.md resolves to a file or folder
//     of the repository;
//   - no file of the repository points at a document outside it (the design
//     notes and the description of OpenCRVS servers the project started from).
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "collector/checks/catalogue.h"
#include "preflight/v1/catalogue.pb.h"
#include "preflight/v1/facts.pb.h"
#include "tests/support/temp_dir.h"

namespace preflight::testing {
namespace {

namespace fs = std::filesystem;

std::string Top() {
  return fs::weakly_canonical(fs::path(PREFLIGHT_FIXTURES) / ".." / "..").string();
}

// The text of `heading`'s section, up to the next heading of its level or
// above ("" when there is none).
std::string Section(const std::string& text, const std::string& heading) {
  const size_t start = text.find("\n" + heading + "\n");
  if (start == std::string::npos) return "";
  const std::string level = heading.substr(0, heading.find(' ') + 1);
  size_t end = std::string::npos;
  for (std::string h = "\n#"; h.size() <= level.size(); h += "#") {
    end = std::min(end, text.find(h + " ", start + 1));
  }
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The repository's files, relative to its top: git's tracked files in a
// checkout, otherwise every file under the top but build directories and
// dot-directories.
std::vector<std::string> RepositoryFiles(const std::string& top) {
  std::vector<std::string> files;
  if (fs::exists(fs::path(top) / ".git")) {
    const std::string command = absl::StrCat("git -C '", top, "' ls-files -z 2>/dev/null");
    if (FILE* pipe = popen(command.c_str(), "r"); pipe != nullptr) {
      std::string out;
      char buf[65536];
      for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
      pclose(pipe);
      for (absl::string_view f : absl::StrSplit(out, '\0', absl::SkipEmpty())) {
        files.emplace_back(f);
      }
    }
  }
  if (!files.empty()) return files;
  for (auto it = fs::recursive_directory_iterator(top); it != fs::recursive_directory_iterator();
       ++it) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() &&
        (absl::StartsWith(name, ".") || (it.depth() == 0 && absl::StartsWith(name, "build")))) {
      it.disable_recursion_pending();
    } else if (it->is_regular_file()) {
      files.push_back(fs::relative(it->path(), top).string());
    }
  }
  return files;
}

TEST(Docs, CheckAreasTableNamesEveryAreaAndCheck) {
  const std::string top = Top();
  const std::string areas = Section(ReadFile(top + "/collector/checks/README.md"), "## Areas");
  ASSERT_FALSE(areas.empty()) << "collector/checks/README.md has no '## Areas' section";
  // The table's rows by their first cell, the area.
  std::map<std::string, std::string> rows;
  for (absl::string_view line : absl::StrSplit(areas, '\n')) {
    if (!absl::ConsumePrefix(&line, "| `")) continue;
    const size_t end = line.find("` |");
    if (end != absl::string_view::npos) rows[std::string(line.substr(0, end))] = std::string(line);
  }
  std::map<std::string, bool> has_file;  // every area of the catalogue
  int checks = 0;
  for (const v1::CheckSpec& spec : collector::BuiltinCatalogue().checks()) {
    ++checks;
    auto row = rows.find(spec.area());
    ASSERT_NE(row, rows.end()) << "area '" << spec.area() << "' (of " << spec.id()
                               << ") has no row in collector/checks/README.md's areas table";
    EXPECT_TRUE(absl::StrContains(row->second, absl::StrCat("`", spec.id(), "`")))
        << spec.id() << " is not in the row of its area '" << spec.area()
        << "' in collector/checks/README.md";
    const bool file = fs::exists(absl::StrCat(top, "/collector/checks/", spec.area(), ".cc"));
    has_file[spec.area()] = file;
    // An automated check's code lives in its area's file.
    if (!spec.manual()) {
      EXPECT_TRUE(file) << spec.id() << ": collector/checks/" << spec.area()
                        << ".cc does not exist";
    }
  }
  EXPECT_GT(checks, 20);
  for (const auto& [area, file] : has_file) {
    if (file) {
      EXPECT_TRUE(absl::StrContains(rows[area], absl::StrCat("`", area, ".cc`")))
          << "the areas table does not name " << area << ".cc";
    }
  }
  // No row for an area the catalogue does not have.
  for (const auto& [area, row] : rows) {
    EXPECT_TRUE(has_file.count(area)) << "collector/checks/README.md lists area '" << area
                                      << "', which no check of the catalogue has";
  }
}

TEST(Docs, CatalogueFieldsAreDocumented) {
  const std::string fields =
      Section(ReadFile(Top() + "/collector/checks/README.md"), "## The catalogue's fields");
  ASSERT_FALSE(fields.empty()) << "collector/checks/README.md has no '## The catalogue's fields'";
  const google::protobuf::FileDescriptor* file = v1::Catalogue::descriptor()->file();
  int named = 0;
  for (int m = 0; m < file->message_type_count(); ++m) {
    const google::protobuf::Descriptor* message = file->message_type(m);
    EXPECT_TRUE(absl::StrContains(fields, absl::StrCat("`", message->name(), "`")))
        << "message " << message->name() << " of catalogue.proto is not documented";
    for (int i = 0; i < message->field_count(); ++i, ++named) {
      EXPECT_TRUE(absl::StrContains(fields, absl::StrCat("`", message->field(i)->name(), "`")))
          << message->name() << "." << message->field(i)->name()
          << " is not in collector/checks/README.md's catalogue fields";
    }
  }
  for (int e = 0; e < file->enum_type_count(); ++e) {
    const google::protobuf::EnumDescriptor* type = file->enum_type(e);
    for (int i = 0; i < type->value_count(); ++i) {
      const std::string& value = type->value(i)->name();
      if (absl::EndsWith(value, "_UNSPECIFIED")) continue;
      ++named;
      EXPECT_TRUE(absl::StrContains(fields, absl::StrCat("`", value, "`")))
          << type->name() << "." << value << " is not in collector/checks/README.md";
    }
  }
  EXPECT_GT(named, 35);
}

TEST(Docs, AgentReadmeNamesEveryFactKind) {
  const std::string readme = ReadFile(Top() + "/agent/README.md");
  const google::protobuf::Descriptor* report = v1::FactReport::descriptor();
  int kinds = 0;
  for (int i = 0; i < report->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = report->field(i);
    // Fact kinds are the message fields numbered 10..49 (facts.proto).
    if (f->number() < 10 || f->number() > 49) continue;
    ++kinds;
    EXPECT_TRUE(absl::StrContains(readme, absl::StrCat("`", f->name(), "`")))
        << "fact kind " << f->name() << " is not in agent/README.md";
  }
  EXPECT_GT(kinds, 10);
}

// Link targets of a Markdown text: inline links `[text](target "title")`
// and reference definitions `[label]: target`, outside fenced code.
std::vector<std::string> LinkTargets(const std::string& text) {
  std::vector<std::string> targets;
  bool fenced = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "```")) {
      fenced = !fenced;
      continue;
    }
    if (fenced) continue;
    for (size_t at = line.find("]("); at != absl::string_view::npos; at = line.find("](", at + 2)) {
      const size_t end = line.find(')', at + 2);
      if (end == absl::string_view::npos) break;
      absl::string_view target = line.substr(at + 2, end - at - 2);
      target = target.substr(0, target.find(' '));  // a title
      targets.emplace_back(target);
    }
    if (absl::StartsWith(line, "[")) {
      const size_t colon = line.find("]: ");
      if (colon != absl::string_view::npos) {
        absl::string_view target = absl::StripAsciiWhitespace(line.substr(colon + 3));
        targets.emplace_back(target.substr(0, target.find(' ')));
      }
    }
  }
  return targets;
}

TEST(Docs, ReadmeLinksResolveInsideTheRepository) {
  const std::string top = Top();
  const std::vector<std::string> files = RepositoryFiles(top);
  std::set<std::string> paths;  // files and the folders holding them
  for (const std::string& f : files) {
    for (fs::path p = f; !p.empty(); p = p.parent_path()) paths.insert(p.string());
  }
  int readmes = 0, links = 0;
  for (const std::string& f : files) {
    if (fs::path(f).filename() != "README.md" || !fs::exists(fs::path(top) / f)) continue;
    ++readmes;
    for (std::string target : LinkTargets(ReadFile(absl::StrCat(top, "/", f)))) {
      if (absl::StrContains(target, "://") || absl::StartsWith(target, "mailto:") ||
          absl::StartsWith(target, "#")) {
        continue;
      }
      ++links;
      target = target.substr(0, target.find('#'));
      const fs::path resolved = (fs::path(f).parent_path() / target).lexically_normal();
      std::string rel = resolved.string();
      if (absl::EndsWith(rel, "/")) rel.pop_back();
      EXPECT_FALSE(absl::StartsWith(rel, "..") || resolved.is_absolute())
          << f << " links outside the repository: " << target;
      EXPECT_TRUE(paths.count(rel) > 0 || rel == ".")
          << f << " links to " << target << ", which is not a file of the repository";
    }
  }
  EXPECT_GE(readmes, 5);
  EXPECT_GT(links, 5);
}

TEST(Docs, NothingPointsOutsideTheRepository) {
  const std::string top = Top();
  // Split, so that this file does not name them.
  const std::string outside[] = {absl::StrCat("DESIGN", ".md"), absl::StrCat("..", "/shared"),
                                 absl::StrCat("opencrvs-servers", ".md")};
  int scanned = 0;
  for (const std::string& f : RepositoryFiles(top)) {
    const fs::path path = fs::path(top) / f;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec) || fs::file_size(path, ec) > (4u << 20)) continue;
    const std::string text = ReadFile(path.string());
    if (text.find('\0') != std::string::npos) continue;  // binary
    ++scanned;
    for (const std::string& name : outside) {
      EXPECT_FALSE(absl::StrContains(text, name))
          << f << " mentions " << name << ", which is not in the repository";
    }
  }
  EXPECT_GT(scanned, 100);
}

}  // namespace
}  // namespace preflight::testing
