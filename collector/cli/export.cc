#include "collector/cli/export.h"

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "collector/checks/catalogue.h"
#include "collector/cli/json_writer.h"
#include "collector/cli/render.h"
#include "collector/readiness/engine.h"
#include "collector/readiness/exceptions.h"

namespace preflight::cli {
namespace {

using collector::SeverityName;
using collector::StatusName;

// The checklist's items and their titles come from the catalogue
// (collector/checks/catalogue.textproto).
const google::protobuf::RepeatedPtrField<v1::ChecklistItem>& Items() {
  return collector::BuiltinCatalogue().items();
}

constexpr absl::string_view kDocumentTitle = "OpenCRVS pre-deployment checklist";
constexpr absl::string_view kBeyondTitle = "Checks beyond the checklist";

// ---------------------------------------------------------------------------
// The model every format renders: items in checklist order, each with its
// checks, each check with one row per host (automated) or environment
// (manual).

struct Row {
  const v1::CheckResult* result = nullptr;
  const v1::HostStatus* host = nullptr;  // null: a manual item's environment
  std::string environment;
  bool gating = false;
  bool blocking = false;   // counts against the fleet verdict
  std::string stale_note;  // the host is stale or has never reported
};

struct CheckEntry {
  v1::CheckInfo info;
  std::vector<Row> rows;
};

struct Item {
  uint32_t number = 0;  // 0: beyond the checklist
  std::string title;
  std::vector<CheckEntry> checks;
};

// A waiver or sign-off in force, as the export's Exceptions section lists it:
// who made it, why, on what evidence, until when, and what it hides.
struct Exception {
  bool waiver = false;  // else a sign-off
  const v1::CheckInfo* check = nullptr;
  std::string on;  // the host (waiver) or environment (sign-off)
  std::string who;
  std::string why;
  std::string evidence;
  int64_t until_ms = 0;
  std::string hides;
  std::string state;  // "applies", or why it does not
  bool applies = true;
  bool despite_evidence = false;
  std::string capped;  // "cut to the policy's limit on T (was T)"
};

struct Model {
  const v1::FleetStatus* fleet = nullptr;
  int64_t now_ms = 0;
  std::string audit_head_hex;
  std::vector<Item> items;
  std::vector<Exception> exceptions;  // waivers first, then sign-offs
};

// "message @ source" of each evidence line (the export's longer form is
// EvidenceText below).
std::vector<std::string> EvidenceLinesOf(const v1::CheckResult& r) {
  std::vector<std::string> out;
  for (const v1::Evidence& e : r.evidence()) {
    if (e.observed() == e.expected() && !e.observed().empty()) continue;  // a passing line
    out.push_back(e.source().empty() ? e.message() : absl::StrCat(e.message(), " @ ", e.source()));
  }
  return out;
}

bool BlocksReadiness(v1::CheckStatus status) {
  return status == v1::FAIL || status == v1::UNKNOWN || status == v1::PENDING ||
         status == v1::CHECK_STATUS_UNSPECIFIED;
}

std::string Time(int64_t unix_ms) {
  if (unix_ms == 0) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

std::string Capped(int64_t capped_at_ms, int64_t capped_from_ms) {
  if (capped_at_ms == 0) return "";
  return absl::StrCat("cut to the policy's limit on ", Time(capped_at_ms), " (was ",
                      capped_from_ms == 0 ? std::string("no expiry") : Time(capped_from_ms), ")");
}

// Every waiver and sign-off in force, from the results that carry them.
std::vector<Exception> CollectExceptions(const v1::FleetStatus& fleet, int64_t now_ms) {
  std::vector<Exception> out;
  const absl::Time now = absl::FromUnixMillis(now_ms);
  for (const v1::HostStatus& h : fleet.hosts()) {
    for (const v1::CheckResult& c : h.checks()) {
      if (!c.has_waiver() || !collector::InForce(c.waiver(), now)) continue;
      const v1::Waiver& w = c.waiver();
      Exception e;
      e.waiver = true;
      e.check = &c.check();
      e.on = h.host_id();
      e.who = w.operator_();
      if (!w.approved_by().empty()) absl::StrAppend(&e.who, ", approved by ", w.approved_by());
      e.why = w.reason();
      e.until_ms = w.expires_at_unix_ms();
      e.hides = c.status() == v1::WAIVED
                    ? absl::StrCat(StatusName(c.underlying_status()),
                                   " accepted: ", collector::AcceptedText(w))
                    : absl::StrCat("nothing now (the check shows ", StatusName(c.status()),
                                   "); it accepts ", collector::AcceptedText(w));
      e.evidence = absl::StrJoin(EvidenceLinesOf(c), "; ");
      e.applies = c.status() == v1::WAIVED;
      e.state = e.applies                      ? "applies"
                : !c.waiver_mismatch().empty() ? c.waiver_mismatch()
                                               : "does not apply: the check is not failing";
      e.capped = Capped(w.capped_at_unix_ms(), w.capped_from_unix_ms());
      out.push_back(std::move(e));
    }
  }
  for (const v1::CheckResult& r : fleet.manual_items()) {
    if (r.status() != v1::ATTESTED || !r.has_attestation()) continue;
    const v1::Attestation& a = r.attestation();
    Exception e;
    e.check = &r.check();
    e.on = r.environment();
    e.who = a.operator_();
    e.why = a.note();
    e.evidence = a.evidence_url().empty() ? std::string("none given") : a.evidence_url();
    e.until_ms = a.expires_at_unix_ms();
    e.despite_evidence = a.despite_evidence();
    e.hides = a.despite_evidence() ? absl::StrCat("signed off DESPITE preflight's evidence: ",
                                                  absl::StrJoin(a.evidence_against(), "; "))
                                   : "a manual item: the operator's word stands for the check";
    e.state = "applies";
    e.capped = Capped(a.capped_at_unix_ms(), a.capped_from_unix_ms());
    out.push_back(std::move(e));
  }
  return out;
}

Model BuildModel(const v1::FleetStatus& fleet, const v1::CheckCatalogue& catalogue) {
  Model model;
  model.fleet = &fleet;
  model.now_ms = fleet.generated_at_unix_ms();
  model.audit_head_hex = absl::BytesToHexString(fleet.audit_head());

  std::vector<const v1::CheckInfo*> checks;
  std::set<std::string> seen;
  auto add = [&](const v1::CheckInfo& info) {
    if (!info.id().empty() && seen.insert(info.id()).second) checks.push_back(&info);
  };
  for (const v1::CheckInfo& c : catalogue.checks()) add(c);
  for (const v1::CheckResult& m : fleet.manual_items()) add(m.check());
  for (const v1::HostStatus& h : fleet.hosts()) {
    for (const v1::CheckResult& c : h.checks()) add(c.check());
  }

  std::set<std::string> gating_envs(fleet.gating_environments().begin(),
                                    fleet.gating_environments().end());
  for (const v1::ChecklistItem& item : Items()) {
    model.items.push_back(Item{item.number(), item.title(), {}});
  }
  Item beyond{0, std::string(kBeyondTitle), {}};

  for (const v1::CheckInfo* info : checks) {
    CheckEntry entry{*info, {}};
    bool blocker = info->severity() != v1::ADVISORY;
    for (const v1::CheckResult& r : fleet.manual_items()) {
      if (r.check().id() != info->id()) continue;
      Row row;
      row.result = &r;
      row.environment = r.environment();
      row.gating = gating_envs.empty() || gating_envs.contains(r.environment());
      // The fleet verdict needs every manual item of a gating environment
      // ATTESTED (or WAIVED), whatever its severity.
      row.blocking = row.gating && BlocksReadiness(r.status());
      entry.rows.push_back(std::move(row));
    }
    for (const v1::HostStatus& h : fleet.hosts()) {
      for (const v1::CheckResult& c : h.checks()) {
        if (c.check().id() != info->id()) continue;
        Row row;
        row.result = &c;
        row.host = &h;
        row.environment = h.environment();
        row.gating = h.gating();
        if (!h.reported()) {
          row.stale_note = "host has never reported";
        } else if (h.stale()) {
          row.stale_note =
              absl::StrCat("host is stale: last report ", Time(h.last_report_unix_ms()));
        }
        row.blocking =
            row.gating && (!row.stale_note.empty() || (blocker && BlocksReadiness(c.status())));
        entry.rows.push_back(std::move(row));
        break;
      }
    }
    uint32_t n = info->checklist_item();
    if (collector::FindItem(collector::BuiltinCatalogue(), n) != nullptr) {
      model.items[n - 1].checks.push_back(std::move(entry));
    } else {
      beyond.checks.push_back(std::move(entry));
    }
  }
  if (!beyond.checks.empty()) model.items.push_back(std::move(beyond));
  model.exceptions = CollectExceptions(fleet, model.now_ms);
  return model;
}

// ---------------------------------------------------------------------------
// Text shared by every format.

std::string ItemLabel(const Item& item) {
  return item.number == 0 ? item.title : absl::StrCat(item.number, ". ", item.title);
}

enum class ItemState { kMet, kNotes, kExceptions, kNotMet, kNoResult };

// A result worth a reader's attention although it does not block.
bool Noteworthy(const Row& row) {
  v1::CheckStatus s = row.result->status();
  return s != v1::PASS && s != v1::ATTESTED && s != v1::NOT_APPLICABLE && s != v1::WAIVED;
}

// A waived result, or a sign-off made despite preflight's own evidence: met
// only because someone accepted it, never painted like a harmless WARN.
bool Excepted(const Row& row) {
  return row.result->status() == v1::WAIVED ||
         (row.result->status() == v1::ATTESTED && row.result->attestation().despite_evidence());
}

ItemState StateOf(const Item& item) {
  bool any_row = false, notes = false, exceptions = false;
  for (const CheckEntry& c : item.checks) {
    for (const Row& r : c.rows) {
      any_row = true;
      if (r.blocking) return ItemState::kNotMet;
      if (Excepted(r)) exceptions = true;
      if (Noteworthy(r)) notes = true;
    }
  }
  if (!any_row) return ItemState::kNoResult;
  if (exceptions) return ItemState::kExceptions;
  return notes ? ItemState::kNotes : ItemState::kMet;
}

absl::string_view StateName(ItemState s) {
  switch (s) {
    case ItemState::kMet:
      return "met";
    case ItemState::kNotes:
      return "met, with notes";
    case ItemState::kExceptions:
      return "met only by exception";
    case ItemState::kNotMet:
      return "NOT MET";
    case ItemState::kNoResult:
      return "no result";
  }
  return "";
}

absl::string_view StateClass(ItemState s) {
  switch (s) {
    case ItemState::kMet:
      return "i-met";
    case ItemState::kNotes:
      return "i-notes";
    case ItemState::kExceptions:
      return "i-except";
    case ItemState::kNotMet:
      return "i-notmet";
    case ItemState::kNoResult:
      return "i-none";
  }
  return "";
}

absl::string_view KindName(const v1::CheckInfo& info) { return info.manual() ? "manual" : "agent"; }

std::string HowText(const v1::CheckInfo& info) {
  return info.manual() ? "manual attestation per environment" : "agent, per host";
}

// "message (observed: X; expected: Y) @ source".
std::string EvidenceText(const v1::Evidence& e) {
  std::string out = e.message();
  std::vector<std::string> oe;
  if (!e.observed().empty()) oe.push_back(absl::StrCat("observed: ", e.observed()));
  if (!e.expected().empty()) oe.push_back(absl::StrCat("expected: ", e.expected()));
  if (!oe.empty()) absl::StrAppend(&out, out.empty() ? "" : " ", "(", absl::StrJoin(oe, "; "), ")");
  if (!e.source().empty()) absl::StrAppend(&out, " @ ", e.source());
  return out;
}

std::vector<std::string> EvidenceLines(const v1::CheckResult& r) {
  std::vector<std::string> lines;
  for (const v1::Evidence& e : r.evidence()) lines.push_back(EvidenceText(e));
  return lines;
}

std::string AttestationState(const v1::Attestation& a, int64_t now_ms) {
  if (a.revoked()) {
    return absl::StrCat("REVOKED", a.revoked_by().empty() ? "" : " by ", a.revoked_by(),
                        a.revoked_at_unix_ms() == 0 ? "" : " at ", Time(a.revoked_at_unix_ms()));
  }
  if (a.expires_at_unix_ms() != 0 && a.expires_at_unix_ms() <= now_ms) {
    return absl::StrCat("EXPIRED at ", Time(a.expires_at_unix_ms()));
  }
  return "in force";
}

std::string WaiverState(const v1::Waiver& w, int64_t now_ms) {
  if (w.revoked()) {
    return absl::StrCat("REVOKED", w.revoked_by().empty() ? "" : " by ", w.revoked_by(),
                        w.revoked_at_unix_ms() == 0 ? "" : " at ", Time(w.revoked_at_unix_ms()));
  }
  if (w.expires_at_unix_ms() <= now_ms) {
    return absl::StrCat("EXPIRED at ", Time(w.expires_at_unix_ms()));
  }
  return "in force";
}

// One line: "attested by OP at T: note; evidence URL; expires T; in force".
std::string AttestationText(const v1::Attestation& a, int64_t now_ms) {
  std::string out =
      absl::StrCat("attested by ", a.operator_(), " at ", Time(a.attested_at_unix_ms()));
  if (!a.note().empty()) absl::StrAppend(&out, ": ", a.note());
  if (!a.evidence_url().empty()) absl::StrAppend(&out, "; evidence ", a.evidence_url());
  if (a.despite_evidence()) {
    absl::StrAppend(&out,
                    "; DESPITE preflight's evidence: ", absl::StrJoin(a.evidence_against(), "; "));
  }
  absl::StrAppend(&out, "; ",
                  a.expires_at_unix_ms() == 0
                      ? "does not expire"
                      : absl::StrCat("expires ", Time(a.expires_at_unix_ms())));
  absl::StrAppend(&out, "; ", AttestationState(a, now_ms));
  return out;
}

// One line: "waived by OP at T until T: reason; in force (beneath: FAIL)".
std::string WaiverText(const Row& row, int64_t now_ms) {
  const v1::Waiver& w = row.result->waiver();
  std::string out = absl::StrCat("waived by ", w.operator_());
  if (w.created_at_unix_ms() != 0) absl::StrAppend(&out, " at ", Time(w.created_at_unix_ms()));
  absl::StrAppend(&out, " until ", Time(w.expires_at_unix_ms()), ": ", w.reason(), "; accepts ",
                  collector::AcceptedText(w), "; ", WaiverState(w, now_ms));
  if (row.result->status() == v1::WAIVED) {
    absl::StrAppend(&out, " (underlying status ", StatusName(row.result->underlying_status()), ")");
  } else if (!row.result->waiver_mismatch().empty()) {
    absl::StrAppend(&out, " (", row.result->waiver_mismatch(), ")");
  }
  return out;
}

bool ShowsWaiver(const Row& row) {
  return row.result->status() == v1::WAIVED || row.result->has_waiver();
}

std::string StatusText(const Row& row) {
  std::string out = StatusName(row.result->status());
  if (row.result->status() == v1::WAIVED) {
    absl::StrAppend(&out, " (underlying ", StatusName(row.result->underlying_status()), ")");
  }
  return out;
}

std::string RowName(const Row& row) {
  return row.host != nullptr ? row.host->host_id() : row.environment;
}

// Everything a reader needs about a result, one fact a line.
std::vector<std::string> RowDetail(const Row& row, const v1::CheckInfo& info, int64_t now_ms) {
  std::vector<std::string> lines;
  std::string head = absl::StrCat(StatusText(row), " on ", RowName(row));
  if (row.host != nullptr) absl::StrAppend(&head, " (", row.environment, ")");
  if (!row.gating) absl::StrAppend(&head, "; ", row.environment, " does not gate readiness");
  lines.push_back(std::move(head));
  if (!row.stale_note.empty()) lines.push_back(row.stale_note);
  for (std::string& e : EvidenceLines(*row.result)) lines.push_back(std::move(e));
  if (row.result->has_attestation())
    lines.push_back(AttestationText(row.result->attestation(), now_ms));
  if (ShowsWaiver(row)) lines.push_back(WaiverText(row, now_ms));
  if (row.result->first_failed_at_unix_ms() != 0) {
    lines.push_back(absl::StrCat("failing since ", Time(row.result->first_failed_at_unix_ms())));
  }
  if (row.result->last_changed_at_unix_ms() != 0) {
    lines.push_back(absl::StrCat("last changed ", Time(row.result->last_changed_at_unix_ms())));
  }
  if (row.blocking && row.stale_note.empty() && !info.remediation().empty()) {
    lines.push_back(absl::StrCat("remediation: ", info.remediation()));
  }
  return lines;
}

std::string FirstEvidence(const Row& row) {
  if (!row.stale_note.empty()) return row.stale_note;
  for (const v1::Evidence& e : row.result->evidence()) {
    if (!e.message().empty()) return EvidenceText(e);
  }
  return "";
}

// The audit anchor "HEX@SEQ" (collector/audit/audit_chain.h), "" when the
// trail is empty.
std::string Anchor(const Model& m) {
  if (m.audit_head_hex.empty()) return "";
  return absl::StrCat(m.audit_head_hex, "@", m.fleet->audit_entries());
}

// "2 waivers (1 of them no longer applies) and 9 sign-offs (1 despite
// preflight's evidence) are in force."
std::string ExceptionsSummary(const Model& m) {
  int waivers = 0, signoffs = 0, not_applying = 0, despite = 0;
  for (const Exception& e : m.exceptions) {
    (e.waiver ? waivers : signoffs)++;
    if (!e.applies) ++not_applying;
    if (e.despite_evidence) ++despite;
  }
  if (m.exceptions.empty()) return "None: no waiver or sign-off is in force.";
  return absl::StrCat(
      waivers, waivers == 1 ? " waiver" : " waivers",
      not_applying > 0 ? absl::StrCat(" (", not_applying, " of them not applying)") : "", " and ",
      signoffs, signoffs == 1 ? " sign-off" : " sign-offs",
      despite > 0 ? absl::StrCat(" (", despite, " despite preflight's evidence)") : "",
      " are in force. Each one is a result the team accepted instead of a check that passed.");
}

std::string AuditText(const Model& m) {
  if (m.audit_head_hex.empty())
    return absl::StrCat("none (", m.fleet->audit_entries(), " entries)");
  return absl::StrCat(Anchor(m), " (", m.fleet->audit_entries(), " entries)");
}

// Replaces control characters other than tab, CR and LF, which no format
// shows well (and XML 1.0 cannot carry at all), by a visible \xNN.
std::string Printable(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      absl::StrAppend(&out, absl::StrFormat("\\x%02x", c));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Markdown.

// Inline text for Markdown: HTML-significant characters as entities,
// Markdown punctuation backslash-escaped, line breaks as <br>.
std::string Md(absl::string_view raw) {
  std::string s = Printable(raw);
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\r':
        if (i + 1 < s.size() && s[i + 1] == '\n') break;
        out += "<br>";
        break;
      case '\n':
        out += "<br>";
        break;
      case '\t':
        out += ' ';
        break;
      case '|':
      case '\\':
      case '`':
      case '*':
      case '[':
      case ']':
      case '#':
      case '~':
        out.push_back('\\');
        out.push_back(c);
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string MdLines(const std::vector<std::string>& lines) {
  std::vector<std::string> escaped;
  for (const std::string& l : lines) escaped.push_back(Md(l));
  return absl::StrJoin(escaped, "<br>");
}

std::string MdStatus(const Row& row) {
  std::string out = absl::StrCat("**", Md(StatusText(row)), "**");
  if (row.blocking) absl::StrAppend(&out, " (blocks readiness)");
  if (!row.gating) absl::StrAppend(&out, " (not gating)");
  if (!row.stale_note.empty()) absl::StrAppend(&out, "<br>", Md(row.stale_note));
  return out;
}

std::string RenderMarkdown(const Model& m) {
  const v1::FleetStatus& f = *m.fleet;
  std::string out = absl::StrCat("# ", kDocumentTitle, "\n\n");
  absl::StrAppend(&out, "**Fleet verdict: ", f.ready() ? "READY" : "NOT READY", "**\n\n");
  absl::StrAppend(&out, "| | |\n|---|---|\n");
  absl::StrAppend(&out, "| Generated at | ", Time(f.generated_at_unix_ms()), " |\n");
  absl::StrAppend(&out, "| Gating environments | ",
                  Md(absl::StrJoin(f.gating_environments(), ", ")), " |\n");
  absl::StrAppend(&out, "| Staleness window | ", f.staleness_seconds(), " s |\n");
  absl::StrAppend(&out, "| Audit chain anchor | ",
                  m.audit_head_hex.empty() ? "none" : absl::StrCat("`", Anchor(m), "`"), " (",
                  f.audit_entries(), " entries) |\n\n");
  absl::StrAppend(&out,
                  "Compare with the head hash that `preflightctl audit --verify` reports: the "
                  "same hash means this document was generated from the verified audit trail. "
                  "Keep this document: `preflightctl audit --verify --anchor <anchor>` proves "
                  "later that the trail still holds what it was generated from.\n\n");

  absl::StrAppend(&out, "## Exceptions\n\n", ExceptionsSummary(m), "\n\n");
  if (!m.exceptions.empty()) {
    absl::StrAppend(&out,
                    "| Kind | Check | On | By | Why | Evidence | Until | What it hides | State |\n"
                    "|---|---|---|---|---|---|---|---|---|\n");
    for (const Exception& e : m.exceptions) {
      absl::StrAppend(&out, "| ", e.waiver ? "waiver" : "sign-off", " | ", Md(e.check->id()), " | ",
                      Md(e.on), " | ", Md(e.who), " | ", Md(e.why), " | ", Md(e.evidence), " | ",
                      Time(e.until_ms),
                      e.capped.empty() ? "" : absl::StrCat(" (", Md(e.capped), ")"), " | ",
                      e.despite_evidence ? "**" : "", Md(e.hides), e.despite_evidence ? "**" : "",
                      " | ", e.applies ? "" : "**", Md(e.state), e.applies ? "" : "**", " |\n");
    }
    absl::StrAppend(&out, "\n");
  }

  if (!f.reasons().empty()) {
    absl::StrAppend(&out, "## Not ready because\n\n");
    for (const std::string& r : f.reasons()) absl::StrAppend(&out, "- ", Md(r), "\n");
    absl::StrAppend(&out, "\n");
  }

  absl::StrAppend(&out, "## Hosts\n\n");
  absl::StrAppend(&out,
                  "| Host | Environment | Roles | Gates readiness | Last report | Stale | Ready |\n"
                  "|---|---|---|---|---|---|---|\n");
  for (const v1::HostStatus& h : f.hosts()) {
    absl::StrAppend(&out, "| ", Md(h.host_id()), " | ", Md(h.environment()), " | ",
                    Md(absl::StrJoin(h.roles(), ", ")), " | ", h.gating() ? "yes" : "no", " | ",
                    h.reported() ? Time(h.last_report_unix_ms()) : "never", " | ",
                    h.stale() ? "**STALE**" : "no", " | ", h.ready() ? "yes" : "**NO**", " |\n");
  }
  absl::StrAppend(&out, "\n## Summary\n\n| # | Item | Checks | Verdict |\n|---|---|---|---|\n");
  for (const Item& item : m.items) {
    std::vector<std::string> ids;
    for (const CheckEntry& c : item.checks) ids.push_back(Md(c.info.id()));
    absl::StrAppend(&out, "| ", item.number == 0 ? "-" : absl::StrCat(item.number), " | ",
                    Md(item.title), " | ", ids.empty() ? "none" : absl::StrJoin(ids, ", "), " | ",
                    StateName(StateOf(item)), " |\n");
  }

  for (const Item& item : m.items) {
    absl::StrAppend(&out, "\n## ", Md(ItemLabel(item)), "\n\n");
    absl::StrAppend(&out, "Verdict: **", StateName(StateOf(item)), "**\n");
    if (item.checks.empty()) {
      absl::StrAppend(&out, "\nNo check in the catalogue implements this item.\n");
    }
    for (const CheckEntry& c : item.checks) {
      absl::StrAppend(&out, "\n### ", Md(c.info.id()), ": ", Md(c.info.title()), "\n\n");
      absl::StrAppend(
          &out, "Severity: ", SeverityName(c.info.severity()), "; ", HowText(c.info), ".",
          collector::FindItem(collector::BuiltinCatalogue(), c.info.checklist_item()) == nullptr
              ? absl::StrCat(" Checklist item ", c.info.checklist_item(), ".")
              : "",
          "\n");
      if (!c.info.remediation().empty()) {
        absl::StrAppend(&out, "Remediation: ", Md(c.info.remediation()), "\n");
      }
      absl::StrAppend(&out, "\n");
      if (c.rows.empty()) {
        absl::StrAppend(&out, "No result: no host or environment reports this check.\n");
        continue;
      }
      if (c.info.manual()) {
        absl::StrAppend(&out,
                        "| Environment | Status | Attestation | Evidence | First failed at | "
                        "Last changed at |\n|---|---|---|---|---|---|\n");
      } else {
        absl::StrAppend(&out,
                        "| Host | Environment | Status | Evidence | Waiver | First failed at | "
                        "Last changed at |\n|---|---|---|---|---|---|---|\n");
      }
      for (const Row& r : c.rows) {
        const v1::CheckResult& res = *r.result;
        std::string attestation =
            res.has_attestation() ? Md(AttestationText(res.attestation(), m.now_ms)) : "none";
        std::string waiver = ShowsWaiver(r) ? Md(WaiverText(r, m.now_ms)) : "";
        std::string evidence = MdLines(EvidenceLines(res));
        if (c.info.manual()) {
          if (ShowsWaiver(r)) absl::StrAppend(&attestation, "<br>", waiver);
          absl::StrAppend(&out, "| ", r.host != nullptr ? Md(RowName(r)) + " " : "",
                          Md(r.environment), " | ", MdStatus(r), " | ", attestation, " | ",
                          evidence, " | ", Time(res.first_failed_at_unix_ms()), " | ",
                          Time(res.last_changed_at_unix_ms()), " |\n");
        } else {
          if (res.has_attestation())
            absl::StrAppend(&waiver, waiver.empty() ? "" : "<br>", attestation);
          absl::StrAppend(&out, "| ", Md(RowName(r)), " | ", Md(r.environment), " | ", MdStatus(r),
                          " | ", evidence, " | ", waiver, " | ",
                          Time(res.first_failed_at_unix_ms()), " | ",
                          Time(res.last_changed_at_unix_ms()), " |\n");
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// CSV (RFC 4180).

// Quotes a field when it holds a comma, a quote, CR or LF.
std::string CsvField(absl::string_view s) {
  if (s.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// Free text: a leading character that spreadsheets take for a formula is
// defused with a quote.
std::string CsvText(absl::string_view s) {
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
                     s[0] == '\r' || s[0] == '\n')) {
    return CsvField(absl::StrCat("'", s));
  }
  return CsvField(s);
}

constexpr std::array<absl::string_view, 23> kCsvColumns = {
    "item",
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
    "host_stale",
};

std::string RenderCsv(const Model& m) {
  std::string out;
  auto line = [&out](const std::vector<std::string>& fields) {
    absl::StrAppend(&out, absl::StrJoin(fields, ","), "\r\n");
  };
  std::vector<std::string> header;
  for (absl::string_view c : kCsvColumns) header.emplace_back(c);
  line(header);
  for (const Item& item : m.items) {
    for (const CheckEntry& c : item.checks) {
      std::vector<std::string> base = {absl::StrCat(c.info.checklist_item()),
                                       CsvText(item.title),
                                       CsvText(c.info.id()),
                                       CsvText(c.info.title()),
                                       SeverityName(c.info.severity()),
                                       std::string(KindName(c.info))};
      if (c.rows.empty()) {
        std::vector<std::string> f = base;
        f.insert(f.end(),
                 {"", "", "", "", CsvText("no result: no host or environment reports it")});
        f.resize(kCsvColumns.size());
        line(f);
        continue;
      }
      for (const Row& r : c.rows) {
        const v1::CheckResult& res = *r.result;
        std::vector<std::string> f = base;
        std::vector<std::string> evidence = EvidenceLines(res);
        if (!r.stale_note.empty()) evidence.insert(evidence.begin(), r.stale_note);
        f.push_back(r.host != nullptr ? CsvText(r.host->host_id()) : "");
        f.push_back(CsvText(r.environment));
        f.push_back(StatusName(res.status()));
        f.push_back(res.status() == v1::WAIVED || res.underlying_status() != 0
                        ? StatusName(res.underlying_status())
                        : "");
        f.push_back(CsvText(Printable(absl::StrJoin(evidence, " | "))));
        if (res.has_attestation()) {
          const v1::Attestation& a = res.attestation();
          std::string state = AttestationState(a, m.now_ms);
          f.push_back(CsvText(a.operator_()));
          f.push_back(Time(a.attested_at_unix_ms()));
          f.push_back(CsvText(Printable(
              state == "in force" ? a.note() : absl::StrCat(a.note(), " [", state, "]"))));
          f.push_back(CsvText(a.evidence_url()));
          f.push_back(Time(a.expires_at_unix_ms()));
        } else {
          f.insert(f.end(), 5, "");
        }
        if (ShowsWaiver(r)) {
          const v1::Waiver& w = res.waiver();
          std::string state = WaiverState(w, m.now_ms);
          f.push_back(CsvText(w.operator_()));
          f.push_back(CsvText(Printable(
              state == "in force" ? w.reason() : absl::StrCat(w.reason(), " [", state, "]"))));
          f.push_back(Time(w.expires_at_unix_ms()));
        } else {
          f.insert(f.end(), 3, "");
        }
        f.push_back(Time(res.first_failed_at_unix_ms()));
        f.push_back(Time(res.last_changed_at_unix_ms()));
        f.push_back(r.blocking ? "yes" : "no");
        f.push_back(r.host == nullptr ? "" : (r.stale_note.empty() ? "no" : "yes"));
        line(f);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// JSON.

void JsonTimeOrNull(JsonWriter& w, absl::string_view key, int64_t unix_ms) {
  w.Key(key);
  if (unix_ms == 0) {
    w.Null();
  } else {
    w.String(Time(unix_ms));
  }
}

// < > & as \u escapes, so that evidence such as "<script>" never appears raw
// (the document stays safe to paste into a web page). Outside strings JSON
// has none of these characters, so replacing them everywhere is exact.
std::string HtmlSafeJson(absl::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    switch (c) {
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string RenderJson(const Model& m) {
  const v1::FleetStatus& f = *m.fleet;
  JsonWriter w;
  w.BeginObject();
  w.Key("title").String(kDocumentTitle);
  w.Key("generated_at").String(Time(f.generated_at_unix_ms()));
  w.Key("ready").Bool(f.ready());
  w.Key("reasons").BeginArray();
  for (const std::string& r : f.reasons()) w.String(r);
  w.EndArray();
  w.Key("gating_environments").BeginArray();
  for (const std::string& e : f.gating_environments()) w.String(e);
  w.EndArray();
  w.Key("staleness_seconds").Int(f.staleness_seconds());
  w.Key("audit").BeginObject();
  w.Key("head").String(m.audit_head_hex);
  w.Key("entries").Int(static_cast<int64_t>(f.audit_entries()));
  w.Key("anchor").String(Anchor(m));
  w.EndObject();
  w.Key("exceptions").BeginArray();
  for (const Exception& e : m.exceptions) {
    w.BeginObject();
    w.Key("kind").String(e.waiver ? "waiver" : "sign-off");
    w.Key("check").String(e.check->id());
    w.Key(e.waiver ? "host" : "environment").String(e.on);
    w.Key("by").String(e.who);
    w.Key("why").String(e.why);
    w.Key("evidence").String(e.evidence);
    JsonTimeOrNull(w, "until", e.until_ms);
    w.Key("hides").String(e.hides);
    w.Key("applies").Bool(e.applies);
    w.Key("state").String(e.state);
    w.Key("despite_evidence").Bool(e.despite_evidence);
    if (!e.capped.empty()) w.Key("capped").String(e.capped);
    w.EndObject();
  }
  w.EndArray();
  w.Key("hosts").BeginArray();
  for (const v1::HostStatus& h : f.hosts()) {
    w.BeginObject();
    w.Key("host").String(h.host_id());
    w.Key("environment").String(h.environment());
    w.Key("roles").BeginArray();
    for (const std::string& r : h.roles()) w.String(r);
    w.EndArray();
    w.Key("gating").Bool(h.gating());
    JsonTimeOrNull(w, "last_report", h.reported() ? h.last_report_unix_ms() : 0);
    w.Key("stale").Bool(h.stale());
    w.Key("ready").Bool(h.ready());
    w.EndObject();
  }
  w.EndArray();
  w.Key("items").BeginArray();
  for (const Item& item : m.items) {
    w.BeginObject();
    w.Key("item").Int(item.number);
    w.Key("title").String(item.title);
    w.Key("verdict").String(StateName(StateOf(item)));
    w.Key("checks").BeginArray();
    for (const CheckEntry& c : item.checks) {
      w.BeginObject();
      w.Key("id").String(c.info.id());
      w.Key("title").String(c.info.title());
      w.Key("checklist_item").Int(c.info.checklist_item());
      w.Key("severity").String(SeverityName(c.info.severity()));
      w.Key("manual").Bool(c.info.manual());
      w.Key("remediation").String(c.info.remediation());
      w.Key("results").BeginArray();
      for (const Row& r : c.rows) {
        const v1::CheckResult& res = *r.result;
        w.BeginObject();
        w.Key("host");
        if (r.host != nullptr) {
          w.String(r.host->host_id());
        } else {
          w.Null();
        }
        w.Key("environment").String(r.environment);
        w.Key("status").String(StatusName(res.status()));
        w.Key("underlying_status");
        if (res.status() == v1::WAIVED || res.underlying_status() != 0) {
          w.String(StatusName(res.underlying_status()));
        } else {
          w.Null();
        }
        w.Key("gating").Bool(r.gating);
        w.Key("blocks_readiness").Bool(r.blocking);
        w.Key("stale").Bool(!r.stale_note.empty());
        WriteEvidenceJson(w, res.evidence());
        w.Key("attestation");
        if (res.has_attestation()) {
          const v1::Attestation& a = res.attestation();
          w.BeginObject();
          w.Key("operator").String(a.operator_());
          JsonTimeOrNull(w, "attested_at", a.attested_at_unix_ms());
          w.Key("note").String(a.note());
          w.Key("evidence_url").String(a.evidence_url());
          JsonTimeOrNull(w, "expires_at", a.expires_at_unix_ms());
          w.Key("state").String(a.revoked()                                   ? "revoked"
                                : AttestationState(a, m.now_ms) == "in force" ? "in force"
                                                                              : "expired");
          if (a.revoked()) {
            w.Key("revoked_by").String(a.revoked_by());
            JsonTimeOrNull(w, "revoked_at", a.revoked_at_unix_ms());
          }
          w.EndObject();
        } else {
          w.Null();
        }
        w.Key("waiver");
        if (ShowsWaiver(r)) {
          const v1::Waiver& wv = res.waiver();
          w.BeginObject();
          w.Key("operator").String(wv.operator_());
          w.Key("reason").String(wv.reason());
          JsonTimeOrNull(w, "created_at", wv.created_at_unix_ms());
          JsonTimeOrNull(w, "until", wv.expires_at_unix_ms());
          w.Key("state").String(wv.revoked()                              ? "revoked"
                                : WaiverState(wv, m.now_ms) == "in force" ? "in force"
                                                                          : "expired");
          if (wv.revoked()) {
            w.Key("revoked_by").String(wv.revoked_by());
            JsonTimeOrNull(w, "revoked_at", wv.revoked_at_unix_ms());
          }
          w.EndObject();
        } else {
          w.Null();
        }
        JsonTimeOrNull(w, "first_failed_at", res.first_failed_at_unix_ms());
        JsonTimeOrNull(w, "last_changed_at", res.last_changed_at_unix_ms());
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return HtmlSafeJson(w.Finish());
}

// HTML and XML escaping in one place: & < > " and the apostrophe as entities
// (&#39; in HTML, &apos; in XML). For XML attribute values (`text` false)
// line breaks and tabs become character references so that parsers do not
// normalise them away; a carriage return always does.
std::string MarkupEscape(absl::string_view raw, bool xml, bool text) {
  std::string s = Printable(raw);
  std::string out;
  out.reserve(s.size() + 8);
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += xml ? "&apos;" : "&#39;";
        break;
      case '\n':
        out += text ? "\n" : "&#10;";
        break;
      case '\r':
        out += xml ? "&#13;" : "\r";
        break;
      case '\t':
        out += text ? "\t" : "&#9;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// HTML: one self-contained page, no script, nothing loaded from anywhere.

// Text and attribute values: & < > " ' as entities.
std::string H(absl::string_view raw) { return MarkupEscape(raw, /*xml=*/false, /*text=*/true); }

// A timestamp that never wraps.
std::string HT(absl::string_view time) {
  return absl::StrCat("<span class=\"t\">", H(time), "</span>");
}

// A status as a CSS class suffix: the status names are [A-Z_] only.
std::string Badge(v1::CheckStatus status) {
  std::string name = StatusName(status);
  return absl::StrCat("<span class=\"badge s-", name, "\">", name, "</span>");
}

constexpr absl::string_view kCss = R"css(
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif;
  color: #1b1b1b; background: #fff; margin: 1.5em auto; max-width: 1150px; padding: 0 1em;
  line-height: 1.4; font-size: 14px; }
h1 { font-size: 1.7em; margin: 0 0 .4em; }
h2 { font-size: 1.3em; margin: 1.4em 0 .5em; padding-bottom: .2em; border-bottom: 2px solid #bbb; }
h3 { font-size: 1.05em; margin: 1.1em 0 .3em; }
h3 .id, code { font-family: "DejaVu Sans Mono", "Liberation Mono", Consolas, monospace; }
code { font-size: .92em; overflow-wrap: anywhere; }
p { margin: .3em 0; }
.t { white-space: nowrap; }
.verdict { display: inline-block; font-size: 1.5em; font-weight: 700; padding: .25em .9em;
  border: 3px solid; border-radius: 6px; margin: .2em 0 .6em; }
.verdict.ready { background: #e3f3e6; color: #0b5a22; border-color: #1e8e3e; }
.verdict.not-ready { background: #fde7e5; color: #9f0d0d; border-color: #d93025; }
table { border-collapse: collapse; width: 100%; margin: .4em 0 1em; font-size: .95em; }
th, td { border: 1px solid #c4c4c4; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #eef0f2; }
table.meta { width: auto; }
table.meta th { width: 13em; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; break-inside: avoid; }
td.ev { white-space: pre-wrap; overflow-wrap: anywhere; }
td.ev div + div { margin-top: .25em; }
tr.blocking td:first-child { border-left: 5px solid #d93025; }
.blocks { color: #9f0d0d; font-weight: 700; font-size: .85em; }
.muted { color: #5a5f66; }
.badge { display: inline-block; padding: .05em .5em; border: 1px solid; border-radius: 4px;
  font-weight: 700; font-size: .85em; white-space: nowrap; }
.s-PASS, .s-ATTESTED, .i-met { background: #e3f3e6; color: #0b5a22; border-color: #1e8e3e; }
.s-WARN, .i-notes { background: #fff4d6; color: #6b4500; border-color: #e0a000; }
.s-FAIL, .s-UNKNOWN, .i-notmet { background: #fde7e5; color: #9f0d0d; border-color: #d93025; }
.s-PENDING { background: #ffeedd; color: #853a00; border-color: #e8710a; }
.s-WAIVED, .i-except { background: #f1e6fd; color: #57189b; border-color: #9334e6; }
table.exceptions td { font-size: .92em; }
tr.despite td, tr.not-applying td { font-weight: 700; }
.s-NOT_APPLICABLE, .i-none { background: #eef0f2; color: #3c4043; border-color: #8a9096; }
section.item { margin-top: 1.6em; page-break-inside: avoid; break-inside: avoid; }
section.item > h2 .badge { font-size: .7em; vertical-align: middle; margin-left: .5em; }
div.check { margin-left: .2em; }
ol.reasons li { margin: .15em 0; }
footer { margin-top: 2em; font-size: .85em; }
@page { margin: 1.5cm; }
@media print {
  body { margin: 0; max-width: none; font-size: 9.5pt; color: #000; }
  .verdict, .badge, th { background: none !important; color: #000 !important; }
  .verdict.ready, .verdict.not-ready { border: 3px double #000; }
  .badge { border: 1px solid #000; }
  .blocks { color: #000; text-decoration: underline; }
  .muted { color: #333; }
  tr.blocking td:first-child { border-left: 4px solid #000; }
  a { color: #000; text-decoration: none; }
  h2, h3 { page-break-after: avoid; break-after: avoid; }
}
)css";

std::string HtmlLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) absl::StrAppend(&out, "<div>", H(l), "</div>");
  return out;
}

std::string HtmlStatusCell(const Row& row) {
  std::string out = Badge(row.result->status());
  if (row.result->status() == v1::WAIVED) {
    absl::StrAppend(&out, " <span class=\"muted\">underlying</span> ",
                    Badge(row.result->underlying_status()));
  }
  if (row.blocking) absl::StrAppend(&out, "<div class=\"blocks\">blocks readiness</div>");
  if (!row.gating) absl::StrAppend(&out, "<div class=\"muted\">not gating</div>");
  if (!row.stale_note.empty()) {
    absl::StrAppend(&out, "<div class=\"blocks\">", H(row.stale_note), "</div>");
  }
  return out;
}

std::string HtmlAttestation(const v1::Attestation& a, int64_t now_ms) {
  std::string state = AttestationState(a, now_ms);
  std::string out = absl::StrCat("<div>by <b>", H(a.operator_()), "</b> at ",
                                 HT(Time(a.attested_at_unix_ms())), "</div>");
  if (!a.note().empty()) absl::StrAppend(&out, "<div>note: ", H(a.note()), "</div>");
  if (!a.evidence_url().empty()) {
    absl::StrAppend(&out, "<div>evidence: <code>", H(a.evidence_url()), "</code></div>");
  }
  absl::StrAppend(&out, "<div>",
                  a.expires_at_unix_ms() == 0
                      ? std::string("does not expire")
                      : absl::StrCat("expires ", HT(Time(a.expires_at_unix_ms()))),
                  "</div>");
  absl::StrAppend(&out, state == "in force"
                            ? "<div class=\"muted\">in force</div>"
                            : absl::StrCat("<div class=\"blocks\">", H(state), "</div>"));
  return out;
}

std::string HtmlWaiver(const Row& row, int64_t now_ms) {
  const v1::Waiver& w = row.result->waiver();
  std::string state = WaiverState(w, now_ms);
  std::string out = absl::StrCat("<div>by <b>", H(w.operator_()), "</b>",
                                 w.created_at_unix_ms() == 0
                                     ? std::string()
                                     : absl::StrCat(" at ", HT(Time(w.created_at_unix_ms()))),
                                 "</div>");
  absl::StrAppend(&out, "<div>why: ", H(w.reason()), "</div>");
  absl::StrAppend(&out, "<div>until ", HT(Time(w.expires_at_unix_ms())), "</div>");
  if (row.result->status() == v1::WAIVED) {
    absl::StrAppend(&out, "<div>underlying status: ", StatusName(row.result->underlying_status()),
                    "</div>");
  }
  absl::StrAppend(&out, state == "in force"
                            ? "<div class=\"muted\">in force</div>"
                            : absl::StrCat("<div class=\"blocks\">", H(state), "</div>"));
  return out;
}

std::string HtmlTimes(const v1::CheckResult& r) {
  std::string out;
  if (r.first_failed_at_unix_ms() != 0) {
    absl::StrAppend(&out, "<div>first failed ", HT(Time(r.first_failed_at_unix_ms())), "</div>");
  }
  if (r.last_changed_at_unix_ms() != 0) {
    absl::StrAppend(&out, "<div>last changed ", HT(Time(r.last_changed_at_unix_ms())), "</div>");
  }
  return out;
}

std::string RenderHtml(const Model& m) {
  const v1::FleetStatus& f = *m.fleet;
  std::string verdict = f.ready() ? "READY" : "NOT READY";
  std::string out;
  absl::StrAppend(&out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
                  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                  "style-src 'unsafe-inline'\">\n",
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
                  "<title>", kDocumentTitle, ": ", verdict, "</title>\n<style>", kCss,
                  "</style>\n</head>\n<body>\n");

  absl::StrAppend(&out, "<header>\n<h1>", kDocumentTitle, "</h1>\n");
  absl::StrAppend(&out, "<div class=\"verdict ", f.ready() ? "ready" : "not-ready",
                  "\" id=\"verdict\">Fleet: ", verdict, "</div>\n");
  absl::StrAppend(&out, "<table class=\"meta\">\n");
  absl::StrAppend(&out, "<tr><th>Generated at</th><td>", HT(Time(f.generated_at_unix_ms())),
                  "</td></tr>\n");
  absl::StrAppend(&out, "<tr><th>Gating environments</th><td>",
                  H(absl::StrJoin(f.gating_environments(), ", ")), "</td></tr>\n");
  absl::StrAppend(&out, "<tr><th>Staleness window</th><td>", f.staleness_seconds(),
                  " s</td></tr>\n");
  absl::StrAppend(
      &out, "<tr><th>Audit chain anchor</th><td><code id=\"audit-head\">",
      m.audit_head_hex.empty() ? "none" : Anchor(m), "</code> (", f.audit_entries(),
      " entries)<div class=\"muted\">Compare with the head hash that <code>preflightctl audit "
      "--verify</code> reports: the same hash means this document was generated from "
      "the verified audit trail. Keep this document: <code>preflightctl audit --verify "
      "--anchor &lt;anchor&gt;</code> proves later that the trail still holds what it was "
      "generated from.",
      "</div></td></tr>\n</table>\n");
  absl::StrAppend(&out, "<h2 id=\"exceptions\">Exceptions</h2>\n<p>", H(ExceptionsSummary(m)),
                  "</p>\n");
  if (!m.exceptions.empty()) {
    absl::StrAppend(&out,
                    "<table class=\"exceptions\">\n<thead><tr><th>Kind</th><th>Check</th>"
                    "<th>On</th><th>By</th><th>Why</th><th>Evidence</th><th>Until</th>"
                    "<th>What it hides</th><th>State</th></tr></thead>\n<tbody>\n");
    for (const Exception& e : m.exceptions) {
      absl::StrAppend(
          &out, "<tr data-exception=\"", e.waiver ? "waiver" : "sign-off", "\" data-check=\"",
          H(e.check->id()), "\"",
          e.despite_evidence ? " class=\"despite\""
          : !e.applies       ? " class=\"not-applying\""
                             : "",
          "><td>", e.waiver ? "<span class=\"badge s-WAIVED\">waiver</span>" : "sign-off",
          "</td><td><code>", H(e.check->id()), "</code></td><td>", H(e.on), "</td><td>", H(e.who),
          "</td><td>", H(e.why), "</td><td class=\"ev\">", H(e.evidence), "</td><td>",
          HT(Time(e.until_ms)),
          e.capped.empty() ? "" : absl::StrCat("<div class=\"muted\">", H(e.capped), "</div>"),
          "</td><td>", H(e.hides), "</td><td>", H(e.state), "</td></tr>\n");
    }
    absl::StrAppend(&out, "</tbody>\n</table>\n");
  }
  if (!f.reasons().empty()) {
    absl::StrAppend(&out, "<h2>Not ready because</h2>\n<ol class=\"reasons\">\n");
    for (const std::string& r : f.reasons()) absl::StrAppend(&out, "<li>", H(r), "</li>\n");
    absl::StrAppend(&out, "</ol>\n");
  }
  absl::StrAppend(&out, "</header>\n");

  absl::StrAppend(&out,
                  "<h2>Hosts</h2>\n<table class=\"hosts\">\n<thead><tr><th>Host</th>"
                  "<th>Environment</th><th>Roles</th><th>Gates readiness</th><th>Last report</th>"
                  "<th>Ready</th></tr></thead>\n<tbody>\n");
  for (const v1::HostStatus& h : f.hosts()) {
    absl::StrAppend(&out, "<tr data-host=\"", H(h.host_id()), "\"><td>", H(h.host_id()),
                    "</td><td>", H(h.environment()), "</td><td>", H(absl::StrJoin(h.roles(), ", ")),
                    "</td><td>", h.gating() ? "yes" : "no", "</td><td>",
                    h.reported() ? HT(Time(h.last_report_unix_ms())) : "never",
                    h.stale() ? " <span class=\"blocks\">STALE</span>" : "", "</td><td>",
                    h.ready() ? "<span class=\"badge i-met\">yes</span>"
                              : "<span class=\"badge i-notmet\">NO</span>",
                    "</td></tr>\n");
  }
  absl::StrAppend(&out, "</tbody>\n</table>\n");

  absl::StrAppend(&out,
                  "<h2>Summary</h2>\n<table class=\"summary\">\n<thead><tr><th>#</th><th>Item</th>"
                  "<th>Checks</th><th>Verdict</th></tr></thead>\n<tbody>\n");
  for (const Item& item : m.items) {
    std::string anchor = item.number == 0 ? "beyond" : absl::StrCat("item-", item.number);
    std::vector<std::string> ids;
    for (const CheckEntry& c : item.checks)
      ids.push_back(absl::StrCat("<code>", H(c.info.id()), "</code>"));
    ItemState st = StateOf(item);
    absl::StrAppend(&out, "<tr><td>", item.number == 0 ? "-" : absl::StrCat(item.number),
                    "</td><td><a href=\"#", anchor, "\">", H(item.title), "</a></td><td>",
                    ids.empty() ? "none" : absl::StrJoin(ids, "<br>"),
                    "</td><td><span class=\"badge ", StateClass(st), "\">", StateName(st),
                    "</span></td></tr>\n");
  }
  absl::StrAppend(&out, "</tbody>\n</table>\n");

  for (const Item& item : m.items) {
    ItemState st = StateOf(item);
    std::string anchor = item.number == 0 ? "beyond" : absl::StrCat("item-", item.number);
    absl::StrAppend(&out, "\n<section id=\"", anchor, "\" class=\"item\">\n<h2>",
                    H(ItemLabel(item)), "<span class=\"badge ", StateClass(st), "\">",
                    StateName(st), "</span></h2>\n");
    if (item.checks.empty()) {
      absl::StrAppend(&out,
                      "<p class=\"muted\">No check in the catalogue implements this item.</p>\n");
    }
    for (const CheckEntry& c : item.checks) {
      absl::StrAppend(
          &out, "<div class=\"check\" data-check=\"", H(c.info.id()),
          "\">\n<h3><span class=\"id\">", H(c.info.id()), "</span>: ", H(c.info.title()),
          "</h3>\n<p class=\"muted\">", SeverityName(c.info.severity()), "; ", HowText(c.info),
          collector::FindItem(collector::BuiltinCatalogue(), c.info.checklist_item()) == nullptr
              ? absl::StrCat("; checklist item ", c.info.checklist_item())
              : "",
          "</p>\n");
      if (!c.info.remediation().empty()) {
        absl::StrAppend(&out, "<p>Remediation: ", H(c.info.remediation()), "</p>\n");
      }
      if (c.rows.empty()) {
        absl::StrAppend(&out,
                        "<p class=\"muted\">No result: no host or environment reports this "
                        "check.</p>\n</div>\n");
        continue;
      }
      absl::StrAppend(&out, "<table>\n<thead><tr>",
                      c.info.manual() ? "<th>Environment</th><th>Status</th><th>Attestation</th>"
                                      : "<th>Host</th><th>Environment</th><th>Status</th>",
                      "<th>Evidence</th>", c.info.manual() ? "" : "<th>Waiver</th>",
                      "<th>Since</th></tr></thead>\n<tbody>\n");
      for (const Row& r : c.rows) {
        const v1::CheckResult& res = *r.result;
        absl::StrAppend(
            &out, "<tr data-check=\"", H(c.info.id()), "\" data-status=\"",
            StatusName(res.status()), "\"", r.blocking ? " class=\"blocking\"" : "",
            r.host != nullptr ? absl::StrCat(" data-host=\"", H(r.host->host_id()), "\"") : "",
            " data-environment=\"", H(r.environment), "\">");
        std::string attestation = res.has_attestation()
                                      ? HtmlAttestation(res.attestation(), m.now_ms)
                                      : std::string("<span class=\"muted\">none</span>");
        std::string waiver = ShowsWaiver(r) ? HtmlWaiver(r, m.now_ms) : "";
        if (c.info.manual()) {
          if (!waiver.empty()) absl::StrAppend(&attestation, "<div><b>Waiver</b></div>", waiver);
          absl::StrAppend(&out, "<td>", H(r.environment),
                          r.host != nullptr ? absl::StrCat(" (", H(r.host->host_id()), ")") : "",
                          "</td><td>", HtmlStatusCell(r), "</td><td>", attestation, "</td>");
        } else {
          absl::StrAppend(&out, "<td>", H(RowName(r)), "</td><td>", H(r.environment), "</td><td>",
                          HtmlStatusCell(r), "</td>");
        }
        absl::StrAppend(&out, "<td class=\"ev\">", HtmlLines(EvidenceLines(res)), "</td>");
        if (!c.info.manual()) {
          if (res.has_attestation()) {
            absl::StrAppend(&waiver, "<div><b>Attestation</b></div>",
                            HtmlAttestation(res.attestation(), m.now_ms));
          }
          absl::StrAppend(&out, "<td>", waiver, "</td>");
        }
        absl::StrAppend(&out, "<td>", HtmlTimes(res), "</td></tr>\n");
      }
      absl::StrAppend(&out, "</tbody>\n</table>\n</div>\n");
    }
    absl::StrAppend(&out, "</section>\n");
  }
  absl::StrAppend(&out, "\n<footer class=\"muted\">Exported by preflight from the fleet status of ",
                  HT(Time(f.generated_at_unix_ms())), ". Audit chain anchor ",
                  m.audit_head_hex.empty() ? "none" : Anchor(m), ".</footer>\n");
  absl::StrAppend(&out, "</body>\n</html>\n");
  return out;
}

// ---------------------------------------------------------------------------
// JUnit XML.

// Attribute values (and, with `text`, element content). In attributes line
// breaks and tabs are character references, so that parsers do not
// normalise them away; in content they stay as they are.
std::string X(absl::string_view raw, bool text = false) {
  return MarkupEscape(raw, /*xml=*/true, text);
}

struct Suite {
  std::string name;
  int tests = 0, failures = 0, skipped = 0;
  std::string body;
};

void AddCase(Suite& s, absl::string_view classname, absl::string_view name,
             absl::string_view inner) {
  ++s.tests;
  absl::StrAppend(&s.body, "    <testcase classname=\"", X(classname), "\" name=\"", X(name), "\"",
                  inner.empty() ? "/>\n" : absl::StrCat(">\n", inner, "    </testcase>\n"));
}

std::string RenderJunit(const Model& m) {
  const v1::FleetStatus& f = *m.fleet;
  std::string timestamp = absl::FormatTime(
      "%Y-%m-%dT%H:%M:%S", absl::FromUnixMillis(f.generated_at_unix_ms()), absl::UTCTimeZone());
  std::vector<Suite> suites;

  Suite fleet{"fleet", 0, 0, 0, ""};
  if (f.ready()) {
    AddCase(fleet, "fleet.ready", "fleet",
            absl::StrCat("      <system-out>READY; audit chain head ", X(AuditText(m)),
                         "</system-out>\n"));
  } else {
    ++fleet.failures;
    std::string text = absl::StrCat("NOT READY\n", absl::StrJoin(f.reasons(), "\n"),
                                    "\naudit chain head ", AuditText(m));
    AddCase(fleet, "fleet.ready", "fleet",
            absl::StrCat(
                "      <failure message=\"",
                X(absl::StrCat("fleet is NOT READY: ",
                               f.reasons().empty() ? std::string("no reason given") : f.reasons(0),
                               f.reasons_size() > 1
                                   ? absl::StrCat(" (and ", f.reasons_size() - 1, " more)")
                                   : "")),
                "\" type=\"NOT_READY\">", X(text, true), "</failure>\n"));
  }
  suites.push_back(std::move(fleet));

  for (const Item& item : m.items) {
    Suite s{item.number == 0 ? std::string(kBeyondTitle)
                             : absl::StrCat("item ", item.number, ": ", item.title),
            0, 0, 0, ""};
    if (item.checks.empty()) {
      ++s.skipped;
      AddCase(s, absl::StrCat("item.", item.number), "no check",
              "      <skipped message=\"no check in the catalogue implements this item\"/>\n");
    }
    for (const CheckEntry& c : item.checks) {
      if (c.rows.empty()) {
        ++s.skipped;
        AddCase(s, c.info.id(), "no result",
                "      <skipped message=\"no host or environment reports this check\"/>\n");
        continue;
      }
      for (const Row& r : c.rows) {
        const v1::CheckResult& res = *r.result;
        std::string detail = absl::StrJoin(RowDetail(r, c.info, m.now_ms), "\n");
        std::string inner;
        if (r.blocking) {
          ++s.failures;
          std::string message = absl::StrCat(StatusText(r), ": ", FirstEvidence(r));
          inner = absl::StrCat("      <failure message=\"", X(message), "\" type=\"",
                               r.stale_note.empty() ? StatusName(res.status()) : "STALE", "\">",
                               X(detail, true), "</failure>\n");
        } else if (res.status() == v1::NOT_APPLICABLE) {
          ++s.skipped;
          inner = absl::StrCat("      <skipped message=\"", X(FirstEvidence(r)), "\"/>\n");
        } else if (res.status() == v1::WAIVED) {
          // Skipped, not passed: the check did not pass, a person accepted it.
          // CI gates count it apart and dashboards show it, yet it does not
          // fail the build the team decided not to fail.
          const v1::Waiver& wv = res.waiver();
          ++s.skipped;
          inner = absl::StrCat(
              "      <skipped message=\"",
              X(absl::StrCat("WAIVED (", StatusName(res.underlying_status()), " beneath) by ",
                             wv.operator_(), " until ", Time(wv.expires_at_unix_ms()), ": ",
                             wv.reason(), "; accepts ", collector::AcceptedText(wv))),
              "\"/>\n      <system-out>", X(detail, true), "</system-out>\n");
        } else if (res.status() != v1::PASS) {
          inner = absl::StrCat("      <system-out>", X(detail, true), "</system-out>\n");
        }
        AddCase(s, c.info.id(), RowName(r), inner);
      }
    }
    suites.push_back(std::move(s));
  }

  int tests = 0, failures = 0, skipped = 0;
  for (const Suite& s : suites) {
    tests += s.tests;
    failures += s.failures;
    skipped += s.skipped;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  absl::StrAppend(&out, "<testsuites name=\"", X(kDocumentTitle), "\" tests=\"", tests,
                  "\" failures=\"", failures, "\" errors=\"0\" skipped=\"", skipped,
                  "\" timestamp=\"", timestamp, "\">\n");
  for (const Suite& s : suites) {
    absl::StrAppend(&out, "  <testsuite name=\"", X(s.name), "\" tests=\"", s.tests,
                    "\" failures=\"", s.failures, "\" errors=\"0\" skipped=\"", s.skipped,
                    "\" timestamp=\"", timestamp, "\">\n", s.body, "  </testsuite>\n");
  }
  absl::StrAppend(&out, "</testsuites>\n");
  return out;
}

}  // namespace

absl::string_view ChecklistItemTitle(uint32_t item) {
  const v1::ChecklistItem* found = collector::FindItem(collector::BuiltinCatalogue(), item);
  return found == nullptr ? absl::string_view() : absl::string_view(found->title());
}

absl::StatusOr<ExportFormat> ParseExportFormat(absl::string_view name) {
  std::string n = absl::AsciiStrToLower(name);
  if (n == "md") return ExportFormat::kMarkdown;
  if (n == "csv") return ExportFormat::kCsv;
  if (n == "json") return ExportFormat::kJson;
  if (n == "html") return ExportFormat::kHtml;
  if (n == "junit") return ExportFormat::kJunit;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown export format '", name, "'; valid formats are md, csv, json, html, junit"));
}

std::string ExportChecklist(const v1::FleetStatus& fleet, const v1::CheckCatalogue& catalogue,
                            ExportFormat format) {
  Model model = BuildModel(fleet, catalogue);
  switch (format) {
    case ExportFormat::kMarkdown:
      return RenderMarkdown(model);
    case ExportFormat::kCsv:
      return RenderCsv(model);
    case ExportFormat::kJson:
      return RenderJson(model);
    case ExportFormat::kHtml:
      return RenderHtml(model);
    case ExportFormat::kJunit:
      return RenderJunit(model);
  }
  return "";
}

}  // namespace preflight::cli
