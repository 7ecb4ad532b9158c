// Tests for preflightctl's output (collector/cli/json_writer and render): the
// stable JSON documents of README.md ("Stable JSON") and 80-column tables.
#include "collector/cli/render.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "collector/cli/json_writer.h"

namespace preflight::cli {
namespace {

using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);  // 2023-11-14T22:13:20Z

// Parses `json` as JSON (fails the test when it is not valid JSON).
Struct ParseJson(const std::string& json) {
  Struct out;
  auto status = google::protobuf::util::JsonStringToMessage(json, &out);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return out;
}

std::vector<std::string> Keys(const Struct& s) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : s.fields()) keys.push_back(k);
  return keys;
}

const Value& Field(const Struct& s, const std::string& key) {
  static const Value* const kMissing = new Value();
  auto it = s.fields().find(key);
  EXPECT_NE(it, s.fields().end()) << "missing key " << key;
  return it == s.fields().end() ? *kMissing : it->second;
}

v1::CheckResult RootLoginResult(v1::CheckStatus status, v1::Severity severity) {
  v1::CheckResult c;
  c.mutable_check()->set_id("ssh.root_login_disabled");
  c.mutable_check()->set_title("Root login is disabled");
  c.mutable_check()->set_checklist_item(13);
  c.mutable_check()->set_severity(severity);
  c.mutable_check()->set_remediation("Set 'PermitRootLogin no' in /etc/ssh/sshd_config.");
  c.set_status(status);
  v1::Evidence* e = c.add_evidence();
  e->set_message("PermitRootLogin is 'yes'");
  e->set_source("/etc/ssh/sshd_config:3");
  e->set_observed("yes");
  e->set_expected("no");
  return c;
}

v1::FleetStatus OneHostFleet(bool reported) {
  v1::FleetStatus f;
  f.set_ready(false);
  f.add_reasons("prod-01: ssh.root_login_disabled is FAIL");
  f.add_gating_environments("production");
  f.set_generated_at_unix_ms(absl::ToUnixMillis(kNow));
  f.set_staleness_seconds(900);
  v1::HostStatus* h = f.add_hosts();
  h->set_host_id("prod-01");
  h->set_environment("production");
  h->add_roles("manager");
  h->set_reported(reported);
  h->set_gating(true);
  h->set_stale(!reported);
  if (reported) {
    h->set_last_report_unix_ms(absl::ToUnixMillis(kNow - absl::Seconds(42)));
    h->set_agent_instance("0123456789abcdef0123456789abcdef");
    h->set_sequence(17);
  }
  *h->add_checks() = RootLoginResult(v1::FAIL, v1::BLOCKER);
  v1::CheckResult* manual = f.add_manual_items();
  manual->mutable_check()->set_id("smtp.tested");
  manual->mutable_check()->set_title("SMTP tested for emails and alerts");
  manual->mutable_check()->set_checklist_item(2);
  manual->mutable_check()->set_severity(v1::ADVISORY);
  manual->mutable_check()->set_manual(true);
  manual->set_status(v1::PENDING);
  *manual->add_evidence() = v1::Evidence();
  manual->mutable_evidence(0)->set_message("not attested");
  manual->mutable_evidence(0)->set_source("collector");
  return f;
}

// ----------------------------------------------------------------- JsonQuote

TEST(JsonQuote, Escapes) {
  EXPECT_EQ(JsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuote(""), "\"\"");
  EXPECT_EQ(JsonQuote("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(JsonQuote("C:\\path"), "\"C:\\\\path\"");
  EXPECT_EQ(JsonQuote("a\nb"), "\"a\\nb\"");
  EXPECT_EQ(JsonQuote("a\tb\rc"), "\"a\\tb\\rc\"");
  EXPECT_EQ(JsonQuote("\x01"), "\"\\u0001\"");
  EXPECT_EQ(JsonQuote("\x1f"), "\"\\u001f\"");
  EXPECT_EQ(JsonQuote(std::string("a\0b", 3)), "\"a\\u0000b\"");
  EXPECT_EQ(JsonQuote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");  // UTF-8 passes through
  EXPECT_EQ(JsonQuote("</script>"), "\"</script>\"");
  // Bytes that start no UTF-8 character (a hostile file name) become U+FFFD:
  // the output stays valid UTF-8; DEL and C1 controls are escaped.
  EXPECT_EQ(JsonQuote("a\xff\xc3"
                      "b"),
            "\"a\xEF\xBF\xBD\xEF\xBF\xBD"
            "b\"");
  EXPECT_EQ(JsonQuote("\x7f\xc2\x9b"), "\"\\u007f\\u009b\"");
}

TEST(JsonQuote, EveryControlCharacterRoundTripsThroughAJsonParser) {
  std::string all;
  for (int c = 0; c < 0x20; ++c) all.push_back(static_cast<char>(c));
  all += "\"\\/ end";
  Struct s = ParseJson(absl::StrCat("{\"k\": ", JsonQuote(all), "}"));
  EXPECT_EQ(Field(s, "k").string_value(), all);
}

TEST(JsonWriter, NestedDocumentIsValid) {
  JsonWriter w;
  w.BeginObject();
  w.Key("a").BeginArray().EndArray();
  w.Key("b").BeginObject().EndObject();
  w.Key("c").BeginArray().Int(1).Bool(false).Null().String("x").BeginObject().Key("d").Int(-5);
  w.EndObject().EndArray();
  w.EndObject();
  std::string json = w.Finish();
  EXPECT_EQ(json.back(), '\n');
  Struct s = ParseJson(json);
  EXPECT_THAT(Keys(s), UnorderedElementsAre("a", "b", "c"));
  const auto& c = Field(s, "c").list_value();
  ASSERT_EQ(c.values_size(), 5);
  EXPECT_EQ(c.values(0).number_value(), 1);
  EXPECT_FALSE(c.values(1).bool_value());
  EXPECT_EQ(c.values(2).kind_case(), Value::kNullValue);
  EXPECT_EQ(c.values(3).string_value(), "x");
  EXPECT_EQ(c.values(4).struct_value().fields().at("d").number_value(), -5);
}

// ---------------------------------------------------------------- StatusJson

TEST(StatusJson, HasTheDocumentedKeys) {
  v1::FleetStatus fleet = OneHostFleet(/*reported=*/true);
  Struct doc = ParseJson(StatusJson(fleet));
  // Top level.
  EXPECT_FALSE(Field(doc, "ready").bool_value());
  EXPECT_EQ(Field(doc, "ready").kind_case(), Value::kBoolValue);
  ASSERT_EQ(Field(doc, "hosts").list_value().values_size(), 1);
  ASSERT_EQ(Field(doc, "manual_items").list_value().values_size(), 1);

  // Host.
  const Struct& host = Field(doc, "hosts").list_value().values(0).struct_value();
  for (const char* key : {"host", "environment", "last_report", "stale", "checks"}) {
    EXPECT_TRUE(host.fields().contains(key)) << key;
  }
  EXPECT_EQ(Field(host, "host").string_value(), "prod-01");
  EXPECT_EQ(Field(host, "environment").string_value(), "production");
  EXPECT_EQ(Field(host, "last_report").string_value(), "2023-11-14T22:12:38Z");
  EXPECT_EQ(Field(host, "stale").kind_case(), Value::kBoolValue);
  EXPECT_FALSE(Field(host, "stale").bool_value());

  // Check.
  ASSERT_EQ(Field(host, "checks").list_value().values_size(), 1);
  const Struct& check = Field(host, "checks").list_value().values(0).struct_value();
  for (const char* key :
       {"id", "status", "severity", "title", "checklist_item", "evidence", "remediation"}) {
    EXPECT_TRUE(check.fields().contains(key)) << key;
  }
  const v1::CheckResult& want = fleet.hosts(0).checks(0);
  EXPECT_EQ(Field(check, "id").string_value(), want.check().id());
  EXPECT_EQ(Field(check, "status").string_value(), "FAIL");
  EXPECT_EQ(Field(check, "severity").string_value(), "blocker");
  EXPECT_EQ(Field(check, "title").string_value(), want.check().title());
  EXPECT_EQ(Field(check, "checklist_item").number_value(), want.check().checklist_item());
  EXPECT_EQ(Field(check, "remediation").string_value(), want.check().remediation());
  const auto& evidence = Field(check, "evidence").list_value();
  ASSERT_EQ(evidence.values_size(), 1);
  const Struct& e = evidence.values(0).struct_value();
  EXPECT_EQ(Field(e, "message").string_value(), want.evidence(0).message());
  EXPECT_EQ(Field(e, "source").string_value(), "/etc/ssh/sshd_config:3");

  // Manual items are checks too, with lower-case severity.
  const Struct& manual = Field(doc, "manual_items").list_value().values(0).struct_value();
  EXPECT_EQ(Field(manual, "id").string_value(), "smtp.tested");
  EXPECT_EQ(Field(manual, "status").string_value(), "PENDING");
  EXPECT_EQ(Field(manual, "severity").string_value(), "advisory");
}

TEST(StatusJson, NeverReportedHostHasNullLastReport) {
  Struct doc = ParseJson(StatusJson(OneHostFleet(/*reported=*/false)));
  const Struct& host = Field(doc, "hosts").list_value().values(0).struct_value();
  EXPECT_EQ(Field(host, "last_report").kind_case(), Value::kNullValue);
  EXPECT_TRUE(Field(host, "stale").bool_value());
}

TEST(StatusJson, ReadyFleetAndEmptyLists) {
  v1::FleetStatus f;
  f.set_ready(true);
  Struct doc = ParseJson(StatusJson(f));
  EXPECT_TRUE(Field(doc, "ready").bool_value());
  EXPECT_EQ(Field(doc, "hosts").list_value().values_size(), 0);
  EXPECT_EQ(Field(doc, "manual_items").list_value().values_size(), 0);
}

TEST(StatusJson, HostileStringsStayValidAndRoundTrip) {
  v1::FleetStatus fleet = OneHostFleet(true);
  const std::string hostile = "line1\nline2\t\"quoted\" back\\slash \x01\x7f caf\xc3\xa9 }]";
  v1::CheckResult* c = fleet.mutable_hosts(0)->mutable_checks(0);
  c->mutable_evidence(0)->set_message(hostile);
  c->mutable_evidence(0)->set_source(hostile);
  c->mutable_check()->set_remediation(hostile);
  Struct doc = ParseJson(StatusJson(fleet));
  const Struct& check = Field(Field(doc, "hosts").list_value().values(0).struct_value(), "checks")
                            .list_value()
                            .values(0)
                            .struct_value();
  EXPECT_EQ(Field(check, "remediation").string_value(), hostile);
  const Struct& e = Field(check, "evidence").list_value().values(0).struct_value();
  EXPECT_EQ(Field(e, "message").string_value(), hostile);
  EXPECT_EQ(Field(e, "source").string_value(), hostile);
}

TEST(HostJson, IsAHostObject) {
  v1::FleetStatus fleet = OneHostFleet(true);
  Struct host = ParseJson(HostJson(fleet.hosts(0)));
  EXPECT_EQ(Field(host, "host").string_value(), "prod-01");
  EXPECT_EQ(Field(host, "checks").list_value().values_size(), 1);
  EXPECT_TRUE(host.fields().contains("last_report"));
  EXPECT_TRUE(host.fields().contains("stale"));
}

TEST(ChecksJson, IsValid) {
  v1::CheckCatalogue cat;
  *cat.add_checks() = RootLoginResult(v1::PASS, v1::BLOCKER).check();
  cat.add_checks()->set_id("manual.x");
  Struct doc = ParseJson(ChecksJson(cat));
  EXPECT_EQ(Field(doc, "checks").list_value().values_size(), 2);
}

// -------------------------------------------------------------------- tables

std::vector<std::string> Lines(const std::string& text) { return absl::StrSplit(text, '\n'); }

// Every line within 80 columns, but for an id longer than that on a line of
// its own (after its status, before a colon): ids are never cut.
void ExpectWithin80(const std::string& text) {
  for (const std::string& line : Lines(text)) {
    if (line.size() <= 80) continue;
    std::vector<std::string> words =
        absl::StrSplit(absl::StripSuffix(line, ": "), ' ', absl::SkipEmpty());
    EXPECT_TRUE(!words.empty() && words.back().size() > 60)
        << "line of " << line.size() << " columns:\n"
        << line;
  }
}

std::string Words(const std::string& stem, int n) {
  std::vector<std::string> w;
  for (int i = 0; i < n; ++i) w.push_back(absl::StrCat(stem, i));
  return absl::StrJoin(w, " ");
}

v1::FleetStatus LongFleet() {
  v1::FleetStatus fleet = OneHostFleet(true);
  v1::HostStatus* h = fleet.mutable_hosts(0);
  v1::CheckResult* c = h->mutable_checks(0);
  c->mutable_check()->set_title(Words("title", 40));
  c->mutable_check()->set_remediation(Words("remediation", 60));
  c->mutable_evidence(0)->set_message(Words("evidence", 80));
  c->mutable_evidence(0)->set_source("/etc/ssh/sshd_config.d/50-cloud-init.conf:123");
  c->mutable_evidence(0)->set_expected(Words("expected", 10));
  *c->add_evidence() = c->evidence(0);
  // A second check with a very long id, and a WARN one.
  v1::CheckResult* d = h->add_checks();
  *d = *c;
  d->mutable_check()->set_id(std::string(120, 'i'));
  d->set_status(v1::WARN);
  fleet.add_reasons(Words("reason", 50));
  fleet.mutable_manual_items(0)->mutable_check()->set_id(std::string(100, 'm'));
  for (int i = 0; i < 20; ++i) fleet.add_gating_environments(absl::StrCat("environment-", i));
  return fleet;
}

TEST(StatusTable, EveryLineWithin80ColumnsWithLongStrings) {
  v1::FleetStatus fleet = LongFleet();
  std::string table = StatusTable(fleet, kNow);
  ExpectWithin80(table);
  EXPECT_THAT(table, HasSubstr("prod-01"));
  EXPECT_THAT(table, HasSubstr("NOT READY"));
  EXPECT_THAT(table, HasSubstr("reason0"));
  EXPECT_THAT(table, HasSubstr("reason49"));  // wrapped, not cut
}

TEST(StatusTable, NeverReportedAndStaleHosts) {
  v1::FleetStatus fleet = OneHostFleet(false);
  v1::HostStatus* stale = fleet.add_hosts();
  *stale = fleet.hosts(0);
  stale->set_host_id("prod-02");
  stale->set_reported(true);
  stale->set_stale(true);
  stale->set_last_report_unix_ms(absl::ToUnixMillis(kNow - absl::Hours(5)));
  std::string table = StatusTable(fleet, kNow);
  ExpectWithin80(table);
  EXPECT_THAT(table, HasSubstr("never"));
  EXPECT_THAT(table, HasSubstr("STALE"));
}

TEST(HostTable, EveryLineWithin80ColumnsWithLongStrings) {
  v1::FleetStatus fleet = LongFleet();
  std::string table = HostTable(fleet.hosts(0), kNow);
  ExpectWithin80(table);
  EXPECT_THAT(table, HasSubstr("evidence79"));     // wrapped, not cut
  EXPECT_THAT(table, HasSubstr("remediation59"));  // wrapped, not cut
  EXPECT_THAT(table, HasSubstr("/etc/ssh/sshd_config.d/50-cloud-init.conf:123"));
}

// Host ids may be 63 characters (ParseSpiffeId); environments and roles are
// free text from the inventory.
TEST(HostTable, MaximumLengthHostIdStaysWithin80Columns) {
  v1::FleetStatus fleet = OneHostFleet(true);
  v1::HostStatus host = fleet.hosts(0);
  host.set_host_id(std::string(63, 'h'));
  host.add_roles("backup");
  ExpectWithin80(HostTable(host, kNow));
  *fleet.mutable_hosts(0) = host;
  ExpectWithin80(StatusTable(fleet, kNow));
}

// Evidence sources are host paths; Docker's container logs, for one, live at
// /var/lib/docker/containers/<64 hex>/<64 hex>-json.log.
TEST(HostTable, LongUnbrokenSourcePathStaysWithin80Columns) {
  v1::FleetStatus fleet = OneHostFleet(true);
  v1::HostStatus host = fleet.hosts(0);
  const std::string id(64, 'c');
  host.mutable_checks(0)->mutable_evidence(0)->set_source(
      absl::StrCat("/var/lib/docker/containers/", id, "/", id, "-json.log"));
  ExpectWithin80(HostTable(host, kNow));
}

TEST(HostTable, NeverReported) {
  v1::FleetStatus fleet = OneHostFleet(false);
  std::string table = HostTable(fleet.hosts(0), kNow);
  ExpectWithin80(table);
  EXPECT_THAT(table, HasSubstr("NOT READY"));
}

TEST(ChecksTable, Within80Columns) {
  v1::CheckCatalogue cat;
  v1::CheckInfo* c = cat.add_checks();
  *c = RootLoginResult(v1::PASS, v1::BLOCKER).check();
  c->set_title(Words("t", 50));
  cat.add_checks()->set_id(std::string(90, 'x'));
  ExpectWithin80(ChecksTable(cat));
}

// ------------------------------------------------------------------ Ago/Wrap

TEST(Ago, Units) {
  auto ms = [](absl::Time t) { return absl::ToUnixMillis(t); };
  EXPECT_EQ(Ago(0, kNow), "never");
  EXPECT_EQ(Ago(ms(kNow), kNow), "0s ago");
  EXPECT_EQ(Ago(ms(kNow - absl::Seconds(45)), kNow), "45s ago");
  EXPECT_EQ(Ago(ms(kNow - absl::Seconds(59)), kNow), "59s ago");
  EXPECT_EQ(Ago(ms(kNow - absl::Minutes(12)), kNow), "12m ago");
  EXPECT_EQ(Ago(ms(kNow - absl::Hours(3)), kNow), "3h ago");
  EXPECT_EQ(Ago(ms(kNow - absl::Hours(47)), kNow), "47h ago");
  EXPECT_EQ(Ago(ms(kNow - absl::Hours(48)), kNow), "2d ago");
  EXPECT_EQ(Ago(ms(kNow - absl::Hours(24 * 30)), kNow), "30d ago");
  EXPECT_EQ(Ago(ms(kNow + absl::Minutes(5)), kNow), "just now");
}

TEST(Wrap, GreedyWithIndent) {
  EXPECT_EQ(Wrap("the quick brown fox jumps over the lazy dog", 20, 4),
            "the quick brown\n    fox jumps over\n    the lazy dog");
  EXPECT_EQ(Wrap("short", 80, 2), "short");
  EXPECT_EQ(Wrap("", 80, 2), "");
  EXPECT_EQ(Wrap("  many   spaces  ", 80, 2), "many spaces");
}

TEST(Wrap, LinesFitAndNoWordIsLost) {
  const std::string text = Words("word", 100);
  for (size_t indent : {0u, 2u, 9u, 14u}) {
    std::string out = Wrap(text, 80, indent);
    std::vector<std::string> lines = Lines(out);
    ASSERT_GT(lines.size(), 1u);
    std::vector<std::string> words;
    for (size_t i = 0; i < lines.size(); ++i) {
      // The caller puts `indent` columns before the first line.
      EXPECT_LE(lines[i].size() + (i == 0 ? indent : 0), 80u) << lines[i];
      if (i > 0) {
        EXPECT_EQ(lines[i].substr(0, indent), std::string(indent, ' '));
      }
      for (absl::string_view w : absl::StrSplit(lines[i], ' ', absl::SkipEmpty())) {
        words.emplace_back(w);
      }
    }
    EXPECT_EQ(absl::StrJoin(words, " "), text);
  }
}

}  // namespace
}  // namespace preflight::cli
