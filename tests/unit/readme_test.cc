// The README's configuration reference names every field of every
// configuration schema (proto/preflight/v1/config.proto), and the example
// collector configuration shows every collector field: a field added to the
// schema without its documentation fails here.
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "preflight/v1/config.pb.h"
#include "tests/support/temp_dir.h"

namespace preflight::testing {
namespace {

const std::string kTop = std::string(PREFLIGHT_FIXTURES) + "/../..";

// The text of `heading`'s section: up to the next heading of its level or
// above.
std::string Section(const std::string& text, const std::string& heading) {
  size_t start = text.find("\n" + heading + "\n");
  if (start == std::string::npos) return "";
  size_t end = text.find("\n## ", start + 1);
  size_t next = text.find("\n### ", start + 1);
  if (next != std::string::npos && (end == std::string::npos || next < end)) end = next;
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

TEST(Readme, ConfigurationReferenceNamesEveryField) {
  const std::string reference =
      Section(ReadFile(kTop + "/README.md"), "### Configuration reference");
  ASSERT_FALSE(reference.empty()) << "README.md has no '### Configuration reference' section";
  const google::protobuf::Descriptor* schemas[] = {
      v1::CollectorConfig::descriptor(), v1::AgentConfig::descriptor(),
      v1::TlsFiles::descriptor(),        v1::Inventory::descriptor(),
      v1::InventoryHost::descriptor(),   v1::Policy::descriptor(),
      v1::PolicyOverride::descriptor(),  v1::RolePorts::descriptor()};
  int fields = 0;
  for (const google::protobuf::Descriptor* schema : schemas) {
    for (int i = 0; i < schema->field_count(); ++i, ++fields) {
      const std::string& name = schema->field(i)->name();
      EXPECT_TRUE(absl::StrContains(reference, absl::StrCat("`", name, "`")))
          << schema->name() << "." << name << " is not in README.md's configuration reference";
    }
  }
  EXPECT_GT(fields, 60);
}

TEST(Readme, ExampleCollectorConfigurationShowsEveryField) {
  const std::string example = ReadFile(kTop + "/deploy/collector.textproto");
  const google::protobuf::Descriptor* schema = v1::CollectorConfig::descriptor();
  for (int i = 0; i < schema->field_count(); ++i) {
    const std::string& name = schema->field(i)->name();
    EXPECT_TRUE(absl::StrContains(example, name))
        << "CollectorConfig." << name << " is not in deploy/collector.textproto";
  }
}

}  // namespace
}  // namespace preflight::testing
