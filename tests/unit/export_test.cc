// Tests for `preflightctl export` (collector/cli/export): the completed
// pre-deployment checklist as Markdown, CSV, JSON, HTML and JUnit XML. Each
// format is checked for content (every check in checklist order, host rows,
// attestations, waivers, the audit head), escaping of hostile evidence, and
// well-formedness (an RFC 4180 reader, an XML reader and the JSON parser
// here; the HTML page is rendered by headless Chromium).
#include "collector/cli/export.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <png.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "collector/checks/catalogue.h"
#include "tests/support/json.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kNowMs = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
constexpr int64_t kDay = 86'400'000;
constexpr char kHostile[] = "<script>alert(\"x\")</script> & \"quoted\", comma";

// ---------------------------------------------------------------------------
// The fleet under review.

// The real catalogue (collector/checks/catalogue.textproto), listed in
// reverse: the export must sort by checklist item.
v1::CheckCatalogue MakeCatalogue() {
  v1::CheckCatalogue catalogue;
  const auto& specs = collector::BuiltinCatalogue().checks();
  for (auto it = specs.rbegin(); it != specs.rend(); ++it) {
    *catalogue.add_checks() = collector::InfoOf(*it);
  }
  return catalogue;
}

// The checklist's item numbers, in order.
std::vector<uint32_t> ItemNumbers() {
  std::vector<uint32_t> out;
  for (const v1::ChecklistItem& item : collector::BuiltinCatalogue().items()) {
    out.push_back(item.number());
  }
  return out;
}

const v1::CheckInfo& Info(const v1::CheckCatalogue& catalogue, const std::string& id) {
  for (const v1::CheckInfo& c : catalogue.checks()) {
    if (c.id() == id) return c;
  }
  ADD_FAILURE() << "no check " << id;
  return catalogue.checks(0);
}

// Check ids in the order the checklist puts them: its items, then the checks
// beyond it; catalogue order within an item.
std::vector<std::string> ChecklistOrder(const v1::CheckCatalogue& catalogue) {
  std::vector<std::string> ids;
  std::vector<uint32_t> items = ItemNumbers();
  items.push_back(0);
  for (uint32_t item : items) {
    for (const v1::CheckInfo& c : catalogue.checks()) {
      if (c.checklist_item() == item) ids.push_back(c.id());
    }
  }
  return ids;
}

v1::Evidence* AddEvidence(v1::CheckResult* r, const std::string& message, const std::string& source,
                          const std::string& observed = "", const std::string& expected = "") {
  v1::Evidence* e = r->add_evidence();
  e->set_message(message);
  e->set_source(source);
  e->set_observed(observed);
  e->set_expected(expected);
  return e;
}

v1::HostStatus MakeHost(const v1::CheckCatalogue& catalogue, const std::string& id,
                        const std::string& env) {
  v1::HostStatus h;
  h.set_host_id(id);
  h.set_environment(env);
  h.add_roles("app");
  h.set_reported(true);
  h.set_last_report_unix_ms(kNowMs - 60'000);
  h.set_gating(true);
  h.set_ready(true);
  for (const v1::CheckInfo& info : catalogue.checks()) {
    if (info.manual()) continue;
    v1::CheckResult* r = h.add_checks();
    *r->mutable_check() = info;
    r->set_status(v1::PASS);
    r->set_last_changed_at_unix_ms(kNowMs - 3 * kDay);
    AddEvidence(r, absl::StrCat(info.id(), " ok on ", id), "/etc/" + info.id(), "ok", "ok");
  }
  return h;
}

v1::CheckResult* Result(v1::HostStatus& h, const std::string& check_id) {
  for (v1::CheckResult& r : *h.mutable_checks()) {
    if (r.check().id() == check_id) return &r;
  }
  ADD_FAILURE() << "no check " << check_id;
  return nullptr;
}

void SetStatus(v1::CheckResult* r, v1::CheckStatus status, const std::string& message,
               const std::string& source) {
  r->set_status(status);
  r->clear_evidence();
  AddEvidence(r, message, source);
}

v1::FleetStatus MakeFleet(const v1::CheckCatalogue& catalogue) {
  v1::FleetStatus fleet;
  fleet.set_generated_at_unix_ms(kNowMs);
  fleet.add_gating_environments("production");
  fleet.add_gating_environments("staging");
  fleet.add_gating_environments("backup");
  fleet.set_staleness_seconds(900);
  std::string head;
  for (int i = 0; i < 32; ++i) head.push_back(static_cast<char>(0xa0 + i));
  fleet.set_audit_head(head);
  fleet.set_audit_entries(42);

  v1::HostStatus prod = MakeHost(catalogue, "prod-1", "production");
  v1::HostStatus stage = MakeHost(catalogue, "stage-1", "staging");

  // prod-1: a FAIL with hostile evidence, a waived FAIL, an UNKNOWN, an
  // advisory FAIL; stage-1: a WARN and a FAIL.
  v1::CheckResult* r = Result(prod, "ssh.password_auth_disabled");
  SetStatus(r, v1::FAIL, kHostile, "/etc/ssh/sshd_config.d/50-cloud-init.conf:1");
  AddEvidence(r, "PasswordAuthentication yes", "/etc/ssh/sshd_config:12", "yes", "no");
  r->set_first_failed_at_unix_ms(kNowMs - 2 * kDay);
  r->set_last_changed_at_unix_ms(kNowMs - 2 * kDay);

  r = Result(prod, "disk.headroom");
  SetStatus(r, v1::WAIVED, "/ is 74% full", "statvfs /");
  r->set_underlying_status(v1::FAIL);
  r->set_first_failed_at_unix_ms(kNowMs - kDay);
  v1::Waiver* w = r->mutable_waiver();
  w->set_check_id("disk.headroom");
  w->set_host_id("prod-1");
  w->set_operator_("spiffe://crvs.example/operator/bob");
  w->set_reason("disk resize booked for Friday <b>&</b>");
  w->set_created_at_unix_ms(kNowMs - kDay / 2);
  w->set_expires_at_unix_ms(kNowMs + 7 * kDay);

  SetStatus(Result(prod, "release.latest"), v1::UNKNOWN, "could not read the deployed version",
            "docker compose ps");
  SetStatus(Result(prod, "ssh.weak_keys"), v1::FAIL, "RSA key of 1024 bits",
            "/root/.ssh/authorized_keys:2");
  SetStatus(Result(prod, "backup.test_backups_deleted"), v1::NOT_APPLICABLE, "not a backup server",
            "inventory");
  SetStatus(Result(stage, "backup.test_backups_deleted"), v1::NOT_APPLICABLE, "not a backup server",
            "inventory");
  SetStatus(Result(stage, "tls.certificate_valid"), v1::WARN, "certificate expires in 20 days",
            "443/tcp staging.crvs.example");
  SetStatus(Result(stage, "logs.rotation"), v1::FAIL, "/var/log/opencrvs.log is 3 GiB",
            "/var/log/opencrvs.log");
  Result(stage, "logs.rotation")->set_first_failed_at_unix_ms(kNowMs - 5 * kDay);
  prod.set_ready(false);
  stage.set_ready(false);

  // Manual items: one per check and gating environment with hosts
  // (production, staging); PENDING unless signed off.
  for (const v1::CheckInfo& info : catalogue.checks()) {
    if (!info.manual()) continue;
    for (const char* env : {"production", "staging"}) {
      v1::CheckResult* m = fleet.add_manual_items();
      *m->mutable_check() = info;
      m->set_environment(env);
      m->set_status(v1::PENDING);
      AddEvidence(m, "not attested", "collector");
    }
  }
  auto manual = [&fleet](const std::string& id, const std::string& env) -> v1::CheckResult* {
    for (v1::CheckResult& m : *fleet.mutable_manual_items()) {
      if (m.check().id() == id && m.environment() == env) return &m;
    }
    ADD_FAILURE() << "no manual item " << id << " " << env;
    return nullptr;
  };
  for (const char* env : {"production", "staging"}) {
    v1::CheckResult* m = manual("pipelines.green", env);
    m->set_status(v1::ATTESTED);
    m->clear_evidence();
    AddEvidence(m, "attested by spiffe://crvs.example/operator/alice", "attestation");
    v1::Attestation* a = m->mutable_attestation();
    a->set_check_id("pipelines.green");
    a->set_environment(env);
    a->set_operator_("spiffe://crvs.example/operator/alice");
    a->set_note(absl::StrCat("All GitHub Actions green for ", env, ", run #4711"));
    a->set_evidence_url("https://github.com/crvs/countryconfig/actions/runs/4711");
    a->set_attested_at_unix_ms(kNowMs - kDay);
    a->set_expires_at_unix_ms(kNowMs + 30 * kDay);
  }
  // A revoked and an expired sign-off: PENDING again, shown as such.
  v1::CheckResult* m = manual("smtp.tested", "production");
  m->mutable_attestation()->set_operator_("spiffe://crvs.example/operator/carol");
  m->mutable_attestation()->set_note("mail received");
  m->mutable_attestation()->set_attested_at_unix_ms(kNowMs - 10 * kDay);
  m->mutable_attestation()->set_revoked(true);
  m->mutable_attestation()->set_revoked_by("spiffe://crvs.example/operator/dave");
  m->mutable_attestation()->set_revoked_at_unix_ms(kNowMs - kDay);
  m = manual("github.ownership", "production");
  m->mutable_attestation()->set_operator_("spiffe://crvs.example/operator/erin");
  m->mutable_attestation()->set_note("core team removed");
  m->mutable_attestation()->set_attested_at_unix_ms(kNowMs - 100 * kDay);
  m->mutable_attestation()->set_expires_at_unix_ms(kNowMs - 10 * kDay);
  // Host evidence folded into a manual item.
  AddEvidence(manual("backup.restore_verified", "staging"),
              "stage-1 (PASS): restore job ran 2023-11-13, exit 0 <ok>", "/var/log/restore.log:88");

  fleet.add_reasons("prod-1: ssh.password_auth_disabled is FAIL");
  fleet.add_reasons("prod-1: release.latest is UNKNOWN");
  fleet.add_reasons("stage-1: logs.rotation is FAIL");
  fleet.add_reasons("smtp.tested (production) is PENDING: <revoked> & \"gone\"");
  fleet.set_ready(false);
  *fleet.add_hosts() = std::move(prod);
  *fleet.add_hosts() = std::move(stage);
  return fleet;
}

bool Blocks(v1::CheckStatus s) {
  return s == v1::FAIL || s == v1::UNKNOWN || s == v1::PENDING || s == v1::CHECK_STATUS_UNSPECIFIED;
}

// The results that block readiness, counted independently of the exporter:
// in a gating environment, a host's blocker FAIL/UNKNOWN, every result of a
// stale or silent host, and a manual item not signed off.
int BlockingResults(const v1::FleetStatus& fleet) {
  std::set<std::string> gating(fleet.gating_environments().begin(),
                               fleet.gating_environments().end());
  int n = 0;
  for (const v1::HostStatus& h : fleet.hosts()) {
    if (!h.gating()) continue;
    for (const v1::CheckResult& c : h.checks()) {
      if (h.stale() || !h.reported() ||
          (c.check().severity() == v1::BLOCKER && Blocks(c.status()))) {
        ++n;
      }
    }
  }
  for (const v1::CheckResult& m : fleet.manual_items()) {
    if (gating.contains(m.environment()) && Blocks(m.status())) ++n;
  }
  return n;
}

std::string HeadHex() {
  std::string head;
  for (int i = 0; i < 32; ++i) head.push_back(static_cast<char>(0xa0 + i));
  return absl::BytesToHexString(head);
}

// Positions of `needles` in `haystack` are strictly increasing.
void ExpectInOrder(const std::string& haystack, const std::vector<std::string>& needles) {
  size_t last = 0;
  std::string last_needle = "(start)";
  for (const std::string& n : needles) {
    size_t at = haystack.find(n, last);
    ASSERT_NE(at, std::string::npos)
        << "'" << n << "' missing, or not after '" << last_needle << "'";
    last = at + n.size();
    last_needle = n;
  }
}

class ExportTest : public ::testing::Test {
 protected:
  v1::CheckCatalogue catalogue_ = MakeCatalogue();
  v1::FleetStatus fleet_ = MakeFleet(catalogue_);
  std::string Export(ExportFormat f) { return ExportChecklist(fleet_, catalogue_, f); }
};

// ---------------------------------------------------------------------------
// Format names.

TEST(ExportFormatTest, ParsesTheFiveNames) {
  EXPECT_EQ(*ParseExportFormat("md"), ExportFormat::kMarkdown);
  EXPECT_EQ(*ParseExportFormat("csv"), ExportFormat::kCsv);
  EXPECT_EQ(*ParseExportFormat("json"), ExportFormat::kJson);
  EXPECT_EQ(*ParseExportFormat("html"), ExportFormat::kHtml);
  EXPECT_EQ(*ParseExportFormat("junit"), ExportFormat::kJunit);
  EXPECT_EQ(*ParseExportFormat("JUnit"), ExportFormat::kJunit);
}

TEST(ExportFormatTest, RejectsOthersNamingTheValidOnes) {
  for (const char* bad : {"", "table", "xml", "pdf", "markdown "}) {
    absl::StatusOr<ExportFormat> f = ParseExportFormat(bad);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(f.status().message(), HasSubstr("md, csv, json, html, junit"));
  }
}

TEST(ExportFormatTest, ChecklistTitlesAsOpenCrvsWordsThem) {
  EXPECT_EQ(ChecklistItemTitle(3), "Setup DNS & TLS (HTTPS)");
  EXPECT_EQ(ChecklistItemTitle(13), "Root login is disabled");
  EXPECT_EQ(ChecklistItemTitle(18),
            "Remove OpenCRVS from SSH access to production, staging & backup servers");
  EXPECT_EQ(ChecklistItemTitle(0), "");
  const uint32_t past_the_end = static_cast<uint32_t>(ItemNumbers().size()) + 1;
  EXPECT_EQ(ChecklistItemTitle(past_the_end), "");
  for (uint32_t i : ItemNumbers()) EXPECT_FALSE(ChecklistItemTitle(i).empty()) << i;
}

// ---------------------------------------------------------------------------
// Markdown.

// The part of `md` from the heading of `check_id` to the next heading.
std::string MdCheckSection(const std::string& md, const std::string& check_id) {
  size_t at = md.find(absl::StrCat("\n### ", check_id, ": "));
  if (at == std::string::npos) return "";
  size_t end = md.find("\n#", at + 5);
  return md.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

TEST_F(ExportTest, MarkdownHasEveryItemAndCheckInChecklistOrder) {
  std::string md = Export(ExportFormat::kMarkdown);
  EXPECT_THAT(md, HasSubstr("**Fleet verdict: NOT READY**"));
  EXPECT_THAT(md, HasSubstr("| Generated at | 2023-11-14T22:13:20Z |"));
  EXPECT_THAT(md,
              HasSubstr(absl::StrCat("| Audit chain anchor | `", HeadHex(), "@42` (42 entries)")));
  EXPECT_THAT(md, HasSubstr("production, staging, backup"));
  EXPECT_THAT(md, HasSubstr("- prod-1: release.latest is UNKNOWN"));

  std::vector<std::string> headings;
  for (uint32_t i : ItemNumbers()) {
    headings.push_back(absl::StrCat("\n## ", i, ". "));
  }
  headings.push_back("\n## Checks beyond the checklist");
  ExpectInOrder(md, headings);
  EXPECT_THAT(md, HasSubstr("\n## 3. Setup DNS &amp; TLS (HTTPS)\n"));

  std::vector<std::string> checks;
  for (const std::string& id : ChecklistOrder(catalogue_)) {
    checks.push_back(absl::StrCat("\n### ", id, ": "));
  }
  ExpectInOrder(md.substr(md.find("\n## 1. ")), checks);
}

TEST_F(ExportTest, MarkdownRowsCarryHostsAttestationsAndWaivers) {
  std::string md = Export(ExportFormat::kMarkdown);
  std::string ssh = MdCheckSection(md, "ssh.password_auth_disabled");
  EXPECT_THAT(ssh, HasSubstr("| prod-1 | production | **FAIL** (blocks readiness) |"));
  EXPECT_THAT(ssh, HasSubstr("| stage-1 | staging | **PASS** |"));
  EXPECT_THAT(ssh, HasSubstr("2023-11-12T22:13:20Z"));  // first failed at
  EXPECT_THAT(ssh, HasSubstr("(observed: yes; expected: no) @ /etc/ssh/sshd_config:12"));

  std::string disk = MdCheckSection(md, "disk.headroom");
  EXPECT_THAT(disk, HasSubstr("**WAIVED (underlying FAIL)**"));
  EXPECT_THAT(disk, HasSubstr("waived by spiffe://crvs.example/operator/bob"));
  EXPECT_THAT(disk, HasSubstr("disk resize booked for Friday &lt;b&gt;&amp;&lt;/b&gt;"));

  std::string pipelines = MdCheckSection(md, "pipelines.green");
  EXPECT_THAT(pipelines, HasSubstr("| production | **ATTESTED** |"));
  EXPECT_THAT(pipelines, HasSubstr("attested by spiffe://crvs.example/operator/alice"));
  EXPECT_THAT(pipelines, HasSubstr("All GitHub Actions green for production, run \\#4711"));
  EXPECT_THAT(pipelines, HasSubstr("https://github.com/crvs/countryconfig/actions/runs/4711"));

  std::string smtp = MdCheckSection(md, "smtp.tested");
  EXPECT_THAT(smtp, HasSubstr("| production | **PENDING** (blocks readiness) |"));
  EXPECT_THAT(smtp, HasSubstr("REVOKED by spiffe://crvs.example/operator/dave"));
  EXPECT_THAT(MdCheckSection(md, "github.ownership"), HasSubstr("EXPIRED at 2023-11-04T22:13:20Z"));
  EXPECT_THAT(MdCheckSection(md, "backup.test_backups_deleted"),
              HasSubstr("| prod-1 | production | **NOT_APPLICABLE** |"));
}

TEST_F(ExportTest, MarkdownEscapesHostText) {
  std::string md = Export(ExportFormat::kMarkdown);
  EXPECT_THAT(absl::AsciiStrToLower(md), Not(HasSubstr("<script")));
  EXPECT_THAT(md, HasSubstr("&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; \"quoted\", comma"));
  // A | or a line break in evidence must not split or end a table row.
  fleet_.mutable_hosts(0)->mutable_checks(0)->mutable_evidence(0)->set_message("a | b\nc");
  md = Export(ExportFormat::kMarkdown);
  EXPECT_THAT(md, HasSubstr("a \\| b<br>c"));
  for (absl::string_view line : absl::StrSplit(md, '\n')) {
    if (!absl::StartsWith(line, "| prod-1 |") && !absl::StartsWith(line, "| stage-1 |")) continue;
    if (absl::StrContains(line, "| app |")) continue;  // the hosts table
    // Host rows of automated checks have 7 cells: 8 unescaped pipes.
    int pipes = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) ++pipes;
    }
    EXPECT_EQ(pipes, 8) << line;
  }
}

// ---------------------------------------------------------------------------
// CSV.

// An RFC 4180 reader: CRLF records, fields quoted when needed, "" for ".
// Fails the test on anything malformed.
std::vector<std::vector<std::string>> ParseCsv(const std::string& s) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '"') {
      ++i;
      while (true) {
        if (i >= s.size()) {
          ADD_FAILURE() << "unterminated quoted field";
          return rows;
        }
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(s[i++]);
      }
    } else {
      while (i < s.size() && s[i] != ',' && s[i] != '\r') {
        if (s[i] == '"' || s[i] == '\n') {
          ADD_FAILURE() << "unquoted field holds a quote or LF at byte " << i;
          return rows;
        }
        field.push_back(s[i++]);
      }
    }
    row.push_back(std::move(field));
    field.clear();
    if (i >= s.size()) break;
    if (s[i] == ',') {
      ++i;
      continue;
    }
    if (s.compare(i, 2, "\r\n") != 0) {
      ADD_FAILURE() << "expected CRLF or a comma at byte " << i;
      return rows;
    }
    i += 2;
    rows.push_back(std::move(row));
    row.clear();
  }
  if (!row.empty()) rows.push_back(std::move(row));
  return rows;
}

TEST(ExportCsvReaderTest, ReadsQuotedFields) {
  auto rows = ParseCsv("a,\"b,c\",\"d\"\"e\",\"f\r\ng\"\r\n,x,\r\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"a", "b,c", "d\"e", "f\r\ng"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"", "x", ""}));
}

const std::vector<std::string> kCsvHeader = {"item",
                                             "item_title",
                                             "check",
                                             "title",
                                             "severity",
                                             "kind",
                                             "host",
                                             "environment",
                                             "status",
                                             "underlying_status",
                                             "evidence",
                                             "attested_by",
                                             "attested_at",
                                             "attestation_note",
                                             "evidence_url",
                                             "expires_at",
                                             "waived_by",
                                             "waiver_reason",
                                             "waiver_until",
                                             "first_failed_at",
                                             "last_changed_at",
                                             "blocks_readiness",
                                             "host_stale"};

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
  const std::map<std::string, std::string>* Find(const std::string& check,
                                                 const std::string& host_or_env) const {
    for (const auto& r : rows) {
      if (r.at("check") == check &&
          (r.at("host") == host_or_env ||
           (r.at("host").empty() && r.at("environment") == host_or_env))) {
        return &r;
      }
    }
    return nullptr;
  }
};

CsvTable ReadCsv(const std::string& csv) {
  CsvTable t;
  auto rows = ParseCsv(csv);
  if (rows.empty()) return t;
  t.header = rows[0];
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].size(), t.header.size()) << "row " << i;
    std::map<std::string, std::string> r;
    for (size_t j = 0; j < t.header.size() && j < rows[i].size(); ++j) r[t.header[j]] = rows[i][j];
    t.rows.push_back(std::move(r));
  }
  return t;
}

TEST_F(ExportTest, CsvRoundTripsThroughAnRfc4180Reader) {
  std::string csv = Export(ExportFormat::kCsv);
  EXPECT_TRUE(absl::EndsWith(csv, "\r\n"));
  CsvTable t = ReadCsv(csv);
  EXPECT_EQ(t.header, kCsvHeader);

  // One row per (check, host) for automated checks, per (check, environment)
  // for manual ones, in checklist order.
  int automated = 0;
  for (const v1::HostStatus& h : fleet_.hosts()) automated += h.checks_size();
  EXPECT_EQ(t.rows.size(), static_cast<size_t>(automated + fleet_.manual_items_size()));
  std::vector<std::string> order;
  for (const auto& r : t.rows) {
    if (order.empty() || order.back() != r.at("check")) order.push_back(r.at("check"));
  }
  EXPECT_EQ(order, ChecklistOrder(catalogue_));

  const auto* ssh = t.Find("ssh.password_auth_disabled", "prod-1");
  ASSERT_NE(ssh, nullptr);
  EXPECT_EQ(ssh->at("item"), "12");
  EXPECT_EQ(ssh->at("item_title"), ChecklistItemTitle(12));
  EXPECT_EQ(ssh->at("kind"), "agent");
  EXPECT_EQ(ssh->at("environment"), "production");
  EXPECT_EQ(ssh->at("status"), "FAIL");
  EXPECT_EQ(ssh->at("severity"), "blocker");
  EXPECT_EQ(ssh->at("evidence"),
            absl::StrCat(kHostile,
                         " @ /etc/ssh/sshd_config.d/50-cloud-init.conf:1 | PasswordAuthentication "
                         "yes (observed: yes; expected: no) @ /etc/ssh/sshd_config:12"));
  EXPECT_EQ(ssh->at("first_failed_at"), "2023-11-12T22:13:20Z");
  EXPECT_EQ(ssh->at("blocks_readiness"), "yes");

  const auto* disk = t.Find("disk.headroom", "prod-1");
  ASSERT_NE(disk, nullptr);
  EXPECT_EQ(disk->at("status"), "WAIVED");
  EXPECT_EQ(disk->at("underlying_status"), "FAIL");
  EXPECT_EQ(disk->at("waived_by"), "spiffe://crvs.example/operator/bob");
  EXPECT_EQ(disk->at("waiver_reason"), "disk resize booked for Friday <b>&</b>");
  EXPECT_EQ(disk->at("waiver_until"), "2023-11-21T22:13:20Z");
  EXPECT_EQ(disk->at("blocks_readiness"), "no");

  const auto* attested = t.Find("pipelines.green", "production");
  ASSERT_NE(attested, nullptr);
  EXPECT_EQ(attested->at("kind"), "manual");
  EXPECT_EQ(attested->at("host"), "");
  EXPECT_EQ(attested->at("status"), "ATTESTED");
  EXPECT_EQ(attested->at("attested_by"), "spiffe://crvs.example/operator/alice");
  EXPECT_EQ(attested->at("attested_at"), "2023-11-13T22:13:20Z");
  EXPECT_EQ(attested->at("attestation_note"), "All GitHub Actions green for production, run #4711");
  EXPECT_EQ(attested->at("evidence_url"),
            "https://github.com/crvs/countryconfig/actions/runs/4711");
  EXPECT_EQ(attested->at("expires_at"), "2023-12-14T22:13:20Z");

  const auto* revoked = t.Find("smtp.tested", "production");
  ASSERT_NE(revoked, nullptr);
  EXPECT_EQ(revoked->at("status"), "PENDING");
  EXPECT_THAT(revoked->at("attestation_note"), HasSubstr("[REVOKED by"));
  const auto* folded = t.Find("backup.restore_verified", "staging");
  ASSERT_NE(folded, nullptr);
  EXPECT_THAT(folded->at("evidence"),
              HasSubstr("stage-1 (PASS): restore job ran 2023-11-13, exit 0 <ok> @ "
                        "/var/log/restore.log:88"));
  const auto* na = t.Find("backup.test_backups_deleted", "stage-1");
  ASSERT_NE(na, nullptr);
  EXPECT_EQ(na->at("status"), "NOT_APPLICABLE");
  EXPECT_EQ(t.Find("ssh.weak_keys", "prod-1")->at("item"), "0");
}

TEST_F(ExportTest, CsvDefusesSpreadsheetFormulas) {
  fleet_.mutable_hosts(0)->mutable_checks(0)->mutable_evidence(0)->set_message(
      "=HYPERLINK(\"http://evil\",\"x\")");
  fleet_.mutable_hosts(0)->mutable_checks(0)->mutable_evidence(0)->set_source("");
  fleet_.mutable_hosts(0)->mutable_checks(0)->mutable_evidence(0)->clear_observed();
  fleet_.mutable_hosts(0)->mutable_checks(0)->mutable_evidence(0)->clear_expected();
  CsvTable t = ReadCsv(Export(ExportFormat::kCsv));
  const auto* r = t.Find(fleet_.hosts(0).checks(0).check().id(), "prod-1");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->at("evidence"), "'=HYPERLINK(\"http://evil\",\"x\")");
}

// ---------------------------------------------------------------------------
// JSON.

TEST_F(ExportTest, JsonIsStableParsesAndFollowsTheChecklist) {
  using testing::Field;
  std::string json = Export(ExportFormat::kJson);
  EXPECT_EQ(json, Export(ExportFormat::kJson));
  EXPECT_THAT(absl::AsciiStrToLower(json), Not(HasSubstr("<script")));
  google::protobuf::Value doc = testing::ParseJson(json);
  EXPECT_EQ(Field(doc, "generated_at").string_value(), "2023-11-14T22:13:20Z");
  EXPECT_FALSE(Field(doc, "ready").bool_value());
  EXPECT_EQ(Field(doc, "reasons").list_value().values_size(), 4);
  EXPECT_EQ(Field(doc, "reasons").list_value().values(3).string_value(),
            "smtp.tested (production) is PENDING: <revoked> & \"gone\"");
  EXPECT_EQ(Field(doc, "gating_environments").list_value().values_size(), 3);
  EXPECT_EQ(Field(Field(doc, "audit"), "head").string_value(), HeadHex());
  EXPECT_EQ(Field(Field(doc, "audit"), "anchor").string_value(), HeadHex() + "@42");
  EXPECT_EQ(Field(Field(doc, "audit"), "entries").number_value(), 42);

  const auto& items = Field(doc, "items").list_value();
  const int n_items = static_cast<int>(ItemNumbers().size());
  ASSERT_EQ(items.values_size(), n_items + 1);
  std::vector<std::string> ids;
  for (int i = 0; i <= n_items; ++i) {
    const auto& item = items.values(i);
    uint32_t n = i < n_items ? ItemNumbers()[i] : 0;
    EXPECT_EQ(Field(item, "item").number_value(), n);
    if (n != 0) {
      EXPECT_EQ(Field(item, "title").string_value(), ChecklistItemTitle(n));
    }
    for (const auto& c : Field(item, "checks").list_value().values()) {
      ids.push_back(Field(c, "id").string_value());
    }
  }
  EXPECT_EQ(ids, ChecklistOrder(catalogue_));

  const auto* ssh =
      testing::FindBy(Field(items.values(11), "checks"), "id", "ssh.password_auth_disabled");
  ASSERT_NE(ssh, nullptr);
  EXPECT_EQ(Field(*ssh, "severity").string_value(), "blocker");
  EXPECT_FALSE(Field(*ssh, "manual").bool_value());
  const auto* prod = testing::FindBy(Field(*ssh, "results"), "host", "prod-1");
  ASSERT_NE(prod, nullptr);
  EXPECT_EQ(Field(*prod, "status").string_value(), "FAIL");
  EXPECT_TRUE(Field(*prod, "blocks_readiness").bool_value());
  EXPECT_EQ(Field(Field(*prod, "evidence").list_value().values(0), "message").string_value(),
            kHostile);
  EXPECT_EQ(Field(*prod, "first_failed_at").string_value(), "2023-11-12T22:13:20Z");

  const auto* disk = testing::FindBy(Field(items.values(7), "checks"), "id", "disk.headroom");
  ASSERT_NE(disk, nullptr);
  const auto* waived = testing::FindBy(Field(*disk, "results"), "host", "prod-1");
  ASSERT_NE(waived, nullptr);
  EXPECT_EQ(Field(*waived, "status").string_value(), "WAIVED");
  EXPECT_EQ(Field(*waived, "underlying_status").string_value(), "FAIL");
  EXPECT_EQ(Field(Field(*waived, "waiver"), "reason").string_value(),
            "disk resize booked for Friday <b>&</b>");
  EXPECT_EQ(Field(Field(*waived, "waiver"), "state").string_value(), "in force");

  const auto* pipelines =
      testing::FindBy(Field(items.values(0), "checks"), "id", "pipelines.green");
  ASSERT_NE(pipelines, nullptr);
  EXPECT_TRUE(Field(*pipelines, "manual").bool_value());
  const auto* att = testing::FindBy(Field(*pipelines, "results"), "environment", "staging");
  ASSERT_NE(att, nullptr);
  EXPECT_EQ(Field(*att, "status").string_value(), "ATTESTED");
  EXPECT_EQ(Field(*att, "host").kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_EQ(Field(Field(*att, "attestation"), "operator").string_value(),
            "spiffe://crvs.example/operator/alice");
  EXPECT_EQ(Field(Field(*att, "attestation"), "note").string_value(),
            "All GitHub Actions green for staging, run #4711");
  const auto* smtp = testing::FindBy(Field(items.values(1), "checks"), "id", "smtp.tested");
  ASSERT_NE(smtp, nullptr);
  const auto* revoked = testing::FindBy(Field(*smtp, "results"), "environment", "production");
  ASSERT_NE(revoked, nullptr);
  EXPECT_EQ(Field(Field(*revoked, "attestation"), "state").string_value(), "revoked");
}

// ---------------------------------------------------------------------------
// JUnit XML.

struct XmlNode {
  std::string name;
  std::map<std::string, std::string> attrs;
  std::vector<XmlNode> children;
  std::string text;

  std::vector<const XmlNode*> All(const std::string& tag) const {
    std::vector<const XmlNode*> out;
    for (const XmlNode& c : children) {
      if (c.name == tag) out.push_back(&c);
      for (const XmlNode* d : c.All(tag)) out.push_back(d);
    }
    return out;
  }
  const XmlNode* Child(const std::string& tag) const {
    for (const XmlNode& c : children) {
      if (c.name == tag) return &c;
    }
    return nullptr;
  }
  int IntAttr(const std::string& key) const {
    int v = -1;
    auto it = attrs.find(key);
    EXPECT_TRUE(it != attrs.end() && absl::SimpleAtoi(it->second, &v)) << name << "@" << key;
    return v;
  }
};

// A strict reader for the XML subset the exporter writes: a declaration,
// elements, quoted attributes, text, the five entities and character
// references. Anything else, or a mismatched tag, is an error.
class XmlReader {
 public:
  explicit XmlReader(absl::string_view s) : s_(s) {}

  bool Read(XmlNode* root) {
    if (s_.substr(0, 5) == "<?xml") {
      size_t end = s_.find("?>");
      if (end == absl::string_view::npos) return Fail("unterminated declaration");
      i_ = end + 2;
    }
    SkipSpace();
    if (!Element(root)) return false;
    SkipSpace();
    if (i_ != s_.size()) return Fail("content after the root element");
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  bool Fail(const std::string& what) {
    error_ = absl::StrCat(what, " at byte ", i_);
    return false;
  }
  void SkipSpace() {
    while (i_ < s_.size() && absl::ascii_isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool Name(std::string* out) {
    size_t start = i_;
    while (i_ < s_.size() && (absl::ascii_isalnum(static_cast<unsigned char>(s_[i_])) ||
                              s_[i_] == '_' || s_[i_] == '-' || s_[i_] == '.' || s_[i_] == ':')) {
      ++i_;
    }
    if (i_ == start) return Fail("expected a name");
    *out = std::string(s_.substr(start, i_ - start));
    return true;
  }
  bool Entity(std::string* out) {  // at '&'
    size_t end = s_.find(';', i_);
    if (end == absl::string_view::npos || end - i_ > 10) return Fail("bad entity");
    absl::string_view ref = s_.substr(i_ + 1, end - i_ - 1);
    i_ = end + 1;
    if (ref == "amp")
      *out += '&';
    else if (ref == "lt")
      *out += '<';
    else if (ref == "gt")
      *out += '>';
    else if (ref == "quot")
      *out += '"';
    else if (ref == "apos")
      *out += '\'';
    else if (ref.size() > 1 && ref[0] == '#') {
      uint32_t code = 0;
      bool ok = ref[1] == 'x' ? absl::SimpleHexAtoi(ref.substr(2), &code)
                              : absl::SimpleAtoi(ref.substr(1), &code);
      if (!ok || code >= 0x80) return Fail("unsupported character reference");
      *out += static_cast<char>(code);
    } else {
      return Fail(absl::StrCat("unknown entity &", ref, ";"));
    }
    return true;
  }
  bool Element(XmlNode* node) {
    if (i_ >= s_.size() || s_[i_] != '<') return Fail("expected '<'");
    ++i_;
    if (!Name(&node->name)) return false;
    while (true) {
      SkipSpace();
      if (i_ >= s_.size()) return Fail("unterminated tag");
      if (s_.substr(i_, 2) == "/>") {
        i_ += 2;
        return true;
      }
      if (s_[i_] == '>') {
        ++i_;
        break;
      }
      std::string key, value;
      if (!Name(&key)) return false;
      SkipSpace();
      if (i_ >= s_.size() || s_[i_] != '=') return Fail("expected '='");
      ++i_;
      SkipSpace();
      if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\'')) return Fail("unquoted attribute");
      char quote = s_[i_++];
      while (i_ < s_.size() && s_[i_] != quote) {
        if (s_[i_] == '<') return Fail("'<' in an attribute value");
        if (s_[i_] == '&') {
          if (!Entity(&value)) return false;
        } else {
          value += s_[i_++];
        }
      }
      if (i_ >= s_.size()) return Fail("unterminated attribute");
      ++i_;
      if (!node->attrs.emplace(key, value).second) return Fail("duplicate attribute " + key);
    }
    while (true) {
      if (i_ >= s_.size()) return Fail("unterminated element " + node->name);
      if (s_.substr(i_, 2) == "</") {
        i_ += 2;
        std::string end;
        if (!Name(&end)) return false;
        if (end != node->name) return Fail("</" + end + "> closes <" + node->name + ">");
        SkipSpace();
        if (i_ >= s_.size() || s_[i_] != '>') return Fail("expected '>'");
        ++i_;
        return true;
      }
      if (s_[i_] == '<') {
        node->children.emplace_back();
        if (!Element(&node->children.back())) return false;
      } else if (s_[i_] == '&') {
        if (!Entity(&node->text)) return false;
      } else {
        node->text += s_[i_++];
      }
    }
  }

  absl::string_view s_;
  size_t i_ = 0;
  std::string error_;
};

XmlNode ReadXml(const std::string& xml) {
  XmlNode root;
  XmlReader reader(xml);
  EXPECT_TRUE(reader.Read(&root)) << reader.error() << "\n" << xml;
  return root;
}

const XmlNode* FindCase(const XmlNode& root, const std::string& classname,
                        const std::string& name) {
  for (const XmlNode* c : root.All("testcase")) {
    if (c->attrs.at("classname") == classname && c->attrs.at("name") == name) return c;
  }
  return nullptr;
}

TEST_F(ExportTest, JunitFailsExactlyTheBlockingResultsAndTheFleet) {
  std::string xml = Export(ExportFormat::kJunit);
  EXPECT_THAT(absl::AsciiStrToLower(xml), Not(HasSubstr("<script")));
  XmlNode root = ReadXml(xml);
  ASSERT_EQ(root.name, "testsuites");

  // Counts add up, at the top and per suite.
  auto cases = root.All("testcase");
  EXPECT_EQ(root.IntAttr("tests"), static_cast<int>(cases.size()));
  EXPECT_EQ(root.IntAttr("failures"), static_cast<int>(root.All("failure").size()));
  EXPECT_EQ(root.IntAttr("skipped"), static_cast<int>(root.All("skipped").size()));
  EXPECT_EQ(root.IntAttr("errors"), 0);
  for (const XmlNode& suite : root.children) {
    ASSERT_EQ(suite.name, "testsuite");
    EXPECT_EQ(suite.IntAttr("tests"), static_cast<int>(suite.All("testcase").size()));
    EXPECT_EQ(suite.IntAttr("failures"), static_cast<int>(suite.All("failure").size()));
    EXPECT_EQ(suite.IntAttr("skipped"), static_cast<int>(suite.All("skipped").size()));
  }
  int blocking = BlockingResults(fleet_);
  // By hand: prod-1 ssh FAIL + release UNKNOWN, stage-1 logs FAIL, and 16 of
  // the manual items PENDING (pipelines.green x2 are ATTESTED).
  EXPECT_EQ(blocking, 3 + 16);
  EXPECT_EQ(root.IntAttr("failures"), blocking + 1);

  // One suite per checklist item in order, then the checks beyond it.
  std::vector<std::string> suites;
  for (const XmlNode& s : root.children) suites.push_back(s.attrs.at("name"));
  const size_t n_items = ItemNumbers().size();
  ASSERT_EQ(suites.size(), n_items + 2);
  EXPECT_EQ(suites[0], "fleet");
  for (uint32_t i : ItemNumbers()) {
    EXPECT_EQ(suites[i], absl::StrCat("item ", i, ": ", ChecklistItemTitle(i)));
  }
  EXPECT_EQ(suites[n_items + 1], "Checks beyond the checklist");

  const XmlNode* ready = FindCase(root, "fleet.ready", "fleet");
  ASSERT_NE(ready, nullptr);
  ASSERT_NE(ready->Child("failure"), nullptr);
  EXPECT_THAT(ready->Child("failure")->text,
              HasSubstr("smtp.tested (production) is PENDING: <revoked> & \"gone\""));
  EXPECT_THAT(ready->Child("failure")->text, HasSubstr(HeadHex()));

  const XmlNode* ssh = FindCase(root, "ssh.password_auth_disabled", "prod-1");
  ASSERT_NE(ssh, nullptr);
  ASSERT_NE(ssh->Child("failure"), nullptr);
  EXPECT_THAT(ssh->Child("failure")->attrs.at("message"), HasSubstr(kHostile));
  EXPECT_THAT(ssh->Child("failure")->text, HasSubstr("PasswordAuthentication yes"));
  EXPECT_THAT(ssh->Child("failure")->text,
              HasSubstr(absl::StrCat(
                  "remediation: ", Info(catalogue_, "ssh.password_auth_disabled").remediation())));

  const XmlNode* pass = FindCase(root, "ssh.password_auth_disabled", "stage-1");
  ASSERT_NE(pass, nullptr);
  EXPECT_TRUE(pass->children.empty());
  const XmlNode* waived = FindCase(root, "disk.headroom", "prod-1");
  ASSERT_NE(waived, nullptr);
  EXPECT_EQ(waived->Child("failure"), nullptr);
  ASSERT_NE(waived->Child("system-out"), nullptr);
  EXPECT_THAT(waived->Child("system-out")->text,
              HasSubstr("disk resize booked for Friday <b>&</b>"));
  const XmlNode* warn = FindCase(root, "tls.certificate_valid", "stage-1");
  ASSERT_NE(warn, nullptr);
  EXPECT_EQ(warn->Child("failure"), nullptr);
  ASSERT_NE(warn->Child("system-out"), nullptr);
  const XmlNode* advisory = FindCase(root, "ssh.weak_keys", "prod-1");
  ASSERT_NE(advisory, nullptr);
  EXPECT_EQ(advisory->Child("failure"), nullptr);
  EXPECT_NE(advisory->Child("system-out"), nullptr);
  const XmlNode* na = FindCase(root, "backup.test_backups_deleted", "prod-1");
  ASSERT_NE(na, nullptr);
  ASSERT_NE(na->Child("skipped"), nullptr);
  EXPECT_THAT(na->Child("skipped")->attrs.at("message"), HasSubstr("not a backup server"));
  const XmlNode* attested = FindCase(root, "pipelines.green", "production");
  ASSERT_NE(attested, nullptr);
  EXPECT_EQ(attested->Child("failure"), nullptr);
  ASSERT_NE(attested->Child("system-out"), nullptr);
  EXPECT_THAT(attested->Child("system-out")->text,
              HasSubstr("attested by spiffe://crvs.example/operator/alice"));
  const XmlNode* pending = FindCase(root, "smtp.tested", "production");
  ASSERT_NE(pending, nullptr);
  ASSERT_NE(pending->Child("failure"), nullptr);
  EXPECT_THAT(pending->Child("failure")->text, HasSubstr("REVOKED by"));
}

TEST_F(ExportTest, JunitFailsEveryResultOfAStaleHost) {
  fleet_.mutable_hosts(1)->set_stale(true);
  XmlNode root = ReadXml(Export(ExportFormat::kJunit));
  int blocking = BlockingResults(fleet_);
  EXPECT_EQ(blocking, 2 + fleet_.hosts(1).checks_size() + 16);
  EXPECT_EQ(root.IntAttr("failures"), blocking + 1);
  const XmlNode* c = FindCase(root, "ssh.password_auth_disabled", "stage-1");
  ASSERT_NE(c, nullptr);
  ASSERT_NE(c->Child("failure"), nullptr);
  EXPECT_EQ(c->Child("failure")->attrs.at("type"), "STALE");
  EXPECT_THAT(c->Child("failure")->attrs.at("message"), HasSubstr("host is stale"));
}

TEST_F(ExportTest, JunitPassesAReadyFleet) {
  v1::FleetStatus ready;
  ready.set_generated_at_unix_ms(kNowMs);
  ready.add_gating_environments("production");
  ready.set_ready(true);
  ready.set_audit_head(std::string(32, '\x11'));
  ready.set_audit_entries(7);
  *ready.add_hosts() = MakeHost(catalogue_, "prod-1", "production");
  for (const v1::CheckInfo& info : catalogue_.checks()) {
    if (!info.manual()) continue;
    v1::CheckResult* m = ready.add_manual_items();
    *m->mutable_check() = info;
    m->set_environment("production");
    m->set_status(v1::ATTESTED);
    m->mutable_attestation()->set_operator_("spiffe://crvs.example/operator/alice");
    m->mutable_attestation()->set_attested_at_unix_ms(kNowMs - kDay);
  }
  XmlNode root = ReadXml(ExportChecklist(ready, catalogue_, ExportFormat::kJunit));
  EXPECT_EQ(root.IntAttr("failures"), 0);
  const XmlNode* fleet = FindCase(root, "fleet.ready", "fleet");
  ASSERT_NE(fleet, nullptr);
  EXPECT_EQ(fleet->Child("failure"), nullptr);
  std::string md = ExportChecklist(ready, catalogue_, ExportFormat::kMarkdown);
  EXPECT_THAT(md, HasSubstr("**Fleet verdict: READY**"));
  EXPECT_THAT(md, Not(HasSubstr("Not ready because")));
}

TEST_F(ExportTest, ItemsWithoutChecksAndChecksWithoutResultsStillShow) {
  v1::CheckCatalogue small;
  *small.add_checks() = Info(catalogue_, "ssh.root_login_disabled");
  v1::CheckInfo* orphan = small.add_checks();
  orphan->set_id("ntp.orphan");
  orphan->set_checklist_item(0);
  v1::FleetStatus empty;
  empty.set_generated_at_unix_ms(kNowMs);
  XmlNode root = ReadXml(ExportChecklist(empty, small, ExportFormat::kJunit));
  EXPECT_EQ(root.IntAttr("failures"), 1);  // fleet.ready only
  EXPECT_NE(FindCase(root, "ntp.orphan", "no result"), nullptr);
  EXPECT_NE(FindCase(root, "item.1", "no check"), nullptr);
  std::string md = ExportChecklist(empty, small, ExportFormat::kMarkdown);
  EXPECT_THAT(md, HasSubstr("No check in the catalogue implements this item."));
  EXPECT_THAT(md, HasSubstr("No result: no host or environment reports this check."));
  EXPECT_THAT(md, HasSubstr("none (0 entries)"));
  CsvTable t = ReadCsv(ExportChecklist(empty, small, ExportFormat::kCsv));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].at("check"), "ssh.root_login_disabled");
  EXPECT_EQ(t.rows[1].at("check"), "ntp.orphan");
  testing::ParseJson(ExportChecklist(empty, small, ExportFormat::kJson));
}

// ---------------------------------------------------------------------------
// HTML.

TEST_F(ExportTest, HtmlIsSelfContainedAndEscaped) {
  std::string html = Export(ExportFormat::kHtml);
  EXPECT_TRUE(absl::StartsWith(html, "<!DOCTYPE html>"));
  std::string lower = absl::AsciiStrToLower(html);
  EXPECT_THAT(lower, Not(HasSubstr("<script")));
  EXPECT_THAT(lower, Not(HasSubstr("<link")));
  EXPECT_THAT(lower, Not(HasSubstr("<img")));
  EXPECT_THAT(lower, Not(HasSubstr("src=")));
  EXPECT_THAT(lower, Not(HasSubstr("url(")));
  EXPECT_THAT(lower, Not(HasSubstr("@import")));
  EXPECT_THAT(lower, Not(HasSubstr("@font-face")));
  // The only links are to anchors within the page.
  for (size_t at = lower.find("href="); at != std::string::npos; at = lower.find("href=", at + 1)) {
    EXPECT_EQ(lower.substr(at, 7), "href=\"#") << lower.substr(at, 60);
  }
  EXPECT_THAT(html, HasSubstr("@media print"));
  EXPECT_THAT(html, HasSubstr("page-break-inside: avoid"));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; "
                              "&quot;quoted&quot;, comma"));
  EXPECT_THAT(html, HasSubstr(HeadHex()));
  EXPECT_THAT(html, HasSubstr("Fleet: NOT READY"));
  EXPECT_THAT(html, HasSubstr("spiffe://crvs.example/operator/alice"));
  EXPECT_THAT(html, HasSubstr("disk resize booked for Friday &lt;b&gt;&amp;&lt;/b&gt;"));
  std::vector<std::string> order;
  for (uint32_t i : ItemNumbers()) order.push_back(absl::StrCat("<section id=\"item-", i, "\""));
  order.push_back("<section id=\"beyond\"");
  ExpectInOrder(html, order);
  std::vector<std::string> checks;
  for (const std::string& id : ChecklistOrder(catalogue_)) {
    checks.push_back(absl::StrCat("<div class=\"check\" data-check=\"", id, "\""));
  }
  ExpectInOrder(html, checks);
  EXPECT_THAT(html, HasSubstr("<tr data-check=\"ssh.password_auth_disabled\" data-status=\"FAIL\" "
                              "class=\"blocking\" data-host=\"prod-1\""));
}

// Non-white pixels of a PNG file (channels more than 24 away from 255).
struct PngStats {
  bool ok = false;
  uint32_t width = 0, height = 0;
  uint64_t non_white = 0;
  // Pixels of the exceptions' violet (the WAIVED badge's border #9334e6 and
  // text #57189b, give or take antialiasing).
  uint64_t violet = 0;
  std::string error;
};

PngStats ReadPng(const std::string& path) {
  PngStats stats;
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str())) {
    stats.error = image.message;
    return stats;
  }
  image.format = PNG_FORMAT_RGB;
  std::vector<png_byte> pixels(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr)) {
    stats.error = image.message;
    png_image_free(&image);
    return stats;
  }
  stats.ok = true;
  stats.width = image.width;
  stats.height = image.height;
  for (size_t i = 0; i + 2 < pixels.size(); i += 3) {
    if (pixels[i] < 231 || pixels[i + 1] < 231 || pixels[i + 2] < 231) ++stats.non_white;
    auto near = [&](int r, int g, int b) {
      return std::abs(pixels[i] - r) < 30 && std::abs(pixels[i + 1] - g) < 30 &&
             std::abs(pixels[i + 2] - b) < 30;
    };
    if (near(0x93, 0x34, 0xe6) || near(0x57, 0x18, 0x9b)) ++stats.violet;
  }
  return stats;
}

TEST_F(ExportTest, HtmlRendersInHeadlessChromium) {
  testing::TempDir dir;
  std::string html_path = dir.Join("checklist.html");
  std::string png_path = dir.Join("checklist.png");
  testing::WriteFile(html_path, Export(ExportFormat::kHtml));
  testing::MakeDirs(dir.Join("home"));
  std::map<std::string, std::string> env = {{"HOME", dir.Join("home")}};
  std::vector<std::string> common = {"chromium",
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--disable-dev-shm-usage",
                                     "--no-first-run",
                                     "--user-data-dir=" + dir.Join("profile")};
  std::string url = "file://" + html_path;

  std::vector<std::string> shot = common;
  shot.insert(shot.end(),
              {"--hide-scrollbars", "--window-size=1200,1600", "--screenshot=" + png_path, url});
  testing::RunResult r = testing::RunProcess(shot, absl::Seconds(90), env);
  ASSERT_NE(r.exit_code, 127) << "chromium is not installed (apt-get install chromium)";
  ASSERT_EQ(r.exit_code, 0) << r.err;
  PngStats png = ReadPng(png_path);
  ASSERT_TRUE(png.ok) << png_path << ": " << png.error << "\n" << r.err;
  EXPECT_EQ(png.width, 1200u);
  EXPECT_EQ(png.height, 1600u);
  uint64_t total = uint64_t{png.width} * png.height;
  EXPECT_GT(png.non_white * 100, total) << png.non_white << " of " << total << " pixels";

  std::vector<std::string> dump = common;
  dump.insert(dump.end(), {"--dump-dom", url});
  r = testing::RunProcess(dump, absl::Seconds(90), env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string& dom = r.out;
  EXPECT_THAT(dom, Not(HasSubstr("<script")));
  for (uint32_t i : ItemNumbers()) {
    EXPECT_THAT(dom, HasSubstr(absl::StrCat("<section id=\"item-", i, "\"")));
  }
  for (const v1::CheckInfo& c : catalogue_.checks()) {
    EXPECT_THAT(dom, HasSubstr(absl::StrCat("data-check=\"", c.id(), "\""))) << c.id();
  }
  // The hostile evidence is text in the DOM, not an element.
  EXPECT_THAT(dom, HasSubstr("&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; \"quoted\", comma"));
}

// The exceptions are the first thing a reviewer sees: at 1280x800, the
// first screen, the Exceptions section with its waiver is on screen.
TEST_F(ExportTest, ExceptionsAreAboveTheFoldInHeadlessChromium) {
  testing::TempDir dir;
  testing::MakeDirs(dir.Join("home"));
  std::map<std::string, std::string> env = {{"HOME", dir.Join("home")}};
  auto first_screen = [&](const std::string& name, const std::string& html) {
    const std::string html_path = dir.Join(name + ".html");
    const std::string png_path = dir.Join(name + ".png");
    testing::WriteFile(html_path, html);
    testing::RunResult r = testing::RunProcess(
        {"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--user-data-dir=" + dir.Join("profile-" + name), "--hide-scrollbars",
         "--window-size=1280,800", "--screenshot=" + png_path, "file://" + html_path},
        absl::Seconds(90), env);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    PngStats png = ReadPng(png_path);
    EXPECT_TRUE(png.ok) << png.error;
    EXPECT_EQ(png.height, 800u);
    return png;
  };
  const std::string html = Export(ExportFormat::kHtml);
  ASSERT_THAT(html, HasSubstr("<h2 id=\"exceptions\">Exceptions</h2>"));
  ASSERT_THAT(html, HasSubstr("data-exception=\"waiver\""));
  PngStats with = first_screen("with", html);
  // The same page with the exceptions section cut out: no violet up there.
  const size_t from = html.find("<h2 id=\"exceptions\">");
  const size_t to = html.find("</table>", from) + std::string("</table>").size();
  PngStats without = first_screen("without", html.substr(0, from) + html.substr(to));
  EXPECT_GT(with.violet, 50u) << "the waiver badge is not on the first screen";
  EXPECT_GT(with.violet, without.violet * 2 + 50) << with.violet << " vs " << without.violet;
}

}  // namespace
}  // namespace preflight::cli
