// Tests for collector/cli/terminal (width, escaping) and for the tables of
// collector/cli/render laid out at the widths operators' terminals have.
#include "collector/cli/terminal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "collector/cli/json_writer.h"
#include "collector/cli/render.h"
#include "collector/readiness/engine.h"

namespace preflight::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

// ------------------------------------------------------------------- width

TEST(ChooseWidth, ColumnsThenTerminalThenEighty) {
  EXPECT_EQ(ChooseWidth(std::nullopt, std::nullopt), 80u);
  EXPECT_EQ(ChooseWidth(std::nullopt, 132), 132u);
  EXPECT_EQ(ChooseWidth("120", 132), 120u);
  EXPECT_EQ(ChooseWidth("200", std::nullopt), 200u);
  // Not a number, zero, negative: as if unset.
  EXPECT_EQ(ChooseWidth("wide", 100), 100u);
  EXPECT_EQ(ChooseWidth("0", std::nullopt), 80u);
  EXPECT_EQ(ChooseWidth("-5", std::nullopt), 80u);
  EXPECT_EQ(ChooseWidth("", 90), 90u);
  // Clamped.
  EXPECT_EQ(ChooseWidth("10", std::nullopt), kMinWidth);
  EXPECT_EQ(ChooseWidth("99999999999999999999", std::nullopt), 80u);  // does not parse
  EXPECT_EQ(ChooseWidth("100000", std::nullopt), kMaxWidth);
  EXPECT_EQ(ChooseWidth(std::nullopt, 12), kMinWidth);
}

TEST(TerminalWidth, NotATerminalIsEightyUnlessColumnsSays) {
  // A pipe is not a terminal.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  unsetenv("COLUMNS");
  EXPECT_EQ(TerminalWidth(fds[1]), 80u);
  setenv("COLUMNS", "123", 1);
  EXPECT_EQ(TerminalWidth(fds[1]), 123u);
  unsetenv("COLUMNS");
  close(fds[0]);
  close(fds[1]);
}

// ---------------------------------------------------------------- escaping

TEST(EscapeControl, EveryControlCharacterIsShownNotActedOn) {
  EXPECT_EQ(EscapeControl("plain text, with ünïcödé and C:\\path"),
            "plain text, with ünïcödé and C:\\path");
  EXPECT_EQ(EscapeControl("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(EscapeControl("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(EscapeControl(std::string("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(EscapeControl("del\x7f"), "del\\x7f");
  EXPECT_EQ(EscapeControl("bell\a"), "bell\\x07");
  // C1 as UTF-8 (U+009B is CSI, U+0085 NEL), and as raw bytes.
  EXPECT_EQ(EscapeControl("\xc2\x9b"
                          "31m"),
            "\\u009b31m");
  EXPECT_EQ(EscapeControl("next\xc2\x85line"), "next\\u0085line");
  EXPECT_EQ(EscapeControl("raw\x9b"), "raw\\x9b");
  // Separators and bidirectional overrides ("Trojan source").
  EXPECT_EQ(EscapeControl("a\xe2\x80\xa8z"), "a\\u2028z");
  EXPECT_EQ(EscapeControl("\xe2\x80\xae"
                          "cba"),
            "\\u202ecba");
  // Truncated UTF-8 and overlong forms are bytes.
  EXPECT_EQ(EscapeControl("cut\xc3"), "cut\\xc3");
  EXPECT_EQ(EscapeControl("\xc0\x8a"), "\\xc0\\x8a");
  // Escaping twice changes nothing more.
  const std::string once = EscapeControl("x\ny\x1b");
  EXPECT_EQ(EscapeControl(once), once);
}

TEST(EscapeControl, NoControlByteSurvives) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  for (const std::string& out : {EscapeControl(all), Wrap(all, 80, 4)}) {
    for (size_t i = 0; i < out.size(); ++i) {
      const unsigned char c = out[i];
      if (c == '\n' && &out != &all) continue;  // Wrap's own line breaks
      EXPECT_FALSE(
          c < 0x20 || c == 0x7f ||
          (c >= 0x80 && c <= 0x9f && i > 0 && static_cast<unsigned char>(out[i - 1]) == 0xc2))
          << "byte " << static_cast<int>(c) << " at " << i;
    }
  }
  EXPECT_THAT(EscapeControl(all), Not(HasSubstr("\n")));
}

// JSON keeps every character but shows the ones that act on a terminal.
TEST(JsonQuote, EscapesDelAndC1) {
  EXPECT_EQ(JsonQuote("a\x7f"
                      "b"),
            "\"a\\u007fb\"");
  EXPECT_EQ(JsonQuote("\xc2\x9b"
                      "31m"),
            "\"\\u009b31m\"");
  EXPECT_EQ(JsonQuote("\xc2\x85"), "\"\\u0085\"");
  EXPECT_EQ(JsonQuote("caf\xc3\xa9 \xc2\xa0"), "\"caf\xc3\xa9 \xc2\xa0\"");  // é, NBSP kept
}

TEST(DisplayWidth, CodePoints) {
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("ünï"), 3u);
  EXPECT_EQ(DisplayWidth(""), 0u);
}

// ------------------------------------------------------------ tables' width

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(absl::StripSuffix(text, "\n"), '\n');
}

// Every line fits `width`, except one that holds nothing but an id (or an
// id and its status) longer than the width allows: ids are never cut.
void ExpectFits(const std::string& table, size_t width, const std::vector<std::string>& ids) {
  for (const std::string& line : Lines(table)) {
    if (DisplayWidth(line) <= width) continue;
    bool id_line = false;
    const absl::string_view bare = absl::StripSuffix(absl::StripTrailingAsciiWhitespace(line), ":");
    for (const std::string& id : ids) id_line |= absl::EndsWith(bare, id) && id.size() > width / 2;
    EXPECT_TRUE(id_line) << "line of " << line.size() << " columns (width " << width << "):\n"
                         << line;
  }
}

v1::CheckResult Result(const std::string& id, v1::CheckStatus status, const std::string& title) {
  v1::CheckResult c;
  c.mutable_check()->set_id(id);
  c.mutable_check()->set_title(title);
  c.mutable_check()->set_checklist_item(14);
  c.mutable_check()->set_severity(v1::BLOCKER);
  c.mutable_check()->set_remediation("Close the port, or allow it in the policy.");
  c.set_status(status);
  v1::Evidence* e = c.add_evidence();
  e->set_message("port 5432 is open to the world");
  e->set_source("ss -tlnp");
  return c;
}

v1::FleetStatus Fleet(const std::string& host_id, const std::vector<std::string>& check_ids) {
  v1::FleetStatus f;
  f.set_ready(false);
  f.add_gating_environments("production");
  f.set_staleness_seconds(900);
  v1::HostStatus* h = f.add_hosts();
  h->set_host_id(host_id);
  h->set_environment("production");
  h->set_reported(true);
  h->set_gating(true);
  h->set_last_report_unix_ms(absl::ToUnixMillis(kNow - absl::Seconds(30)));
  const v1::CheckStatus statuses[] = {v1::FAIL, v1::NOT_APPLICABLE, v1::UNKNOWN, v1::PASS};
  size_t i = 0;
  for (const std::string& id : check_ids) {
    *h->add_checks() = Result(id, statuses[i++ % 4],
                              "Only the ports the policy allows are reachable from the internet, "
                              "whatever Docker publishes behind ufw's back");
  }
  v1::CheckResult* m = f.add_manual_items();
  *m = Result("backup.restore_verified", v1::PENDING, "Production backups restore on staging");
  m->set_environment("staging");
  return f;
}

const std::vector<std::string> kIds = {"firewall.public_exposure", "ssh.password_auth_disabled",
                                       "backup.test_backups_deleted", "release.latest"};

class TablesAtWidth : public ::testing::TestWithParam<size_t> {};

TEST_P(TablesAtWidth, FitAndCutNothing) {
  const size_t width = GetParam();
  std::vector<std::string> ids = kIds;
  ids.push_back(std::string(70, 'l') + ".long_check_id");     // longer than a column
  ids.push_back(std::string(230, 'x') + ".absurd_check_id");  // longer than any width
  const std::string host = "prod-db-01.ministry-of-interior.example.gov";
  v1::FleetStatus fleet = Fleet(host, ids);

  const std::string status = StatusTable(fleet, kNow, width);
  const std::string host_table = HostTable(fleet.hosts(0), kNow, width);
  v1::CheckCatalogue catalogue;
  for (const v1::CheckResult& c : fleet.hosts(0).checks()) *catalogue.add_checks() = c.check();
  const std::string checks = ChecksTable(catalogue, width);

  std::vector<std::string> whole = ids;
  whole.push_back(host);
  for (const std::string* table : {&status, &host_table, &checks}) {
    ExpectFits(*table, width, whole);
    EXPECT_THAT(*table, Not(HasSubstr("~")));
  }
  // Every id in full: in the host table and the catalogue all of them, in
  // the fleet table those that are not PASS or NOT_APPLICABLE.
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_THAT(host_table, HasSubstr(ids[i]));
    EXPECT_THAT(checks, HasSubstr(ids[i]));
    if (i % 4 == 0 || i % 4 == 2) {
      EXPECT_THAT(status, HasSubstr(ids[i]));
    }
  }
  EXPECT_THAT(status, HasSubstr(host));
  EXPECT_THAT(host_table, HasSubstr(host));
  // Statuses in full.
  EXPECT_THAT(host_table, HasSubstr("NOT_APPLICABLE"));
  EXPECT_THAT(host_table, HasSubstr("UNKNOWN"));
  EXPECT_THAT(status, HasSubstr("backup.restore_verified (staging)"));
  // Titles are wrapped, never cut: every word of it is there, in order.
  for (const std::string* table : {&host_table, &checks}) {
    std::string flat;
    for (const std::string& line : Lines(*table)) {
      absl::StrAppend(&flat, " ", absl::StripAsciiWhitespace(line));
    }
    EXPECT_THAT(flat, HasSubstr("whatever Docker publishes behind ufw's back"));
  }
}

INSTANTIATE_TEST_SUITE_P(Widths, TablesAtWidth, ::testing::Values(80, 120, 200));

// A wider terminal is used: at 200 columns the catalogue's rows hold their
// titles on one line, at 80 they do not.
TEST(Tables, UseTheWidthTheyAreGiven) {
  v1::CheckCatalogue catalogue;
  const v1::FleetStatus fleet = Fleet("h", kIds);
  for (const v1::CheckResult& c : fleet.hosts(0).checks()) {
    *catalogue.add_checks() = c.check();
  }
  EXPECT_EQ(Lines(ChecksTable(catalogue, 200)).size(), 1 + kIds.size());
  EXPECT_GT(Lines(ChecksTable(catalogue, 80)).size(), 1 + kIds.size());
}

// Text from hosts and operators cannot start a line of its own, nor reach
// the terminal as an escape sequence.
TEST(Tables, EscapeWhatOthersWrote) {
  v1::FleetStatus fleet = Fleet("prod-01", kIds);
  v1::HostStatus* h = fleet.mutable_hosts(0);
  h->mutable_checks(0)->mutable_evidence(0)->set_message(
      "ok\nFAIL    ssh.root_login_disabled: forged\x1b[2J");
  h->mutable_checks(0)->mutable_evidence(0)->set_source("/etc/x\r");
  h->set_environment("prod\x1b]0;title\x07");
  h->mutable_checks(0)->mutable_check()->set_id("evil\nid");
  for (const std::string& table : {StatusTable(fleet, kNow, 120), HostTable(*h, kNow, 120)}) {
    EXPECT_THAT(table, Not(HasSubstr("\x1b"))) << table;
    EXPECT_THAT(table, Not(HasSubstr("\r")));
    EXPECT_THAT(table, Not(HasSubstr("\x07")));
    for (const std::string& line : Lines(table)) {
      EXPECT_FALSE(absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "FAIL    ssh"))
          << line;
      EXPECT_FALSE(absl::StartsWith(line, "id")) << line;
    }
    EXPECT_THAT(table, HasSubstr("\\x1b[2J"));
    EXPECT_THAT(table, HasSubstr("evil\\nid"));
  }
}

}  // namespace
}  // namespace preflight::cli
