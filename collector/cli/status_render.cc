#include "collector/cli/status_render.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collector/cli/json_writer.h"
#include "collector/cli/render.h"
#include "collector/cli/terminal.h"
#include "collector/readiness/engine.h"

namespace preflight::cli {
namespace {

std::string Rfc3339(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

std::string Verdict(const v1::HostSummary& h) {
  if (!h.reported()) return "NO REPORT";
  if (h.stale()) return "STALE";
  return h.ready() ? "ready" : "NOT READY";
}

void WriteHostSummary(JsonWriter& w, const v1::HostSummary& h) {
  w.BeginObject();
  w.Key("host").String(h.host_id());
  w.Key("environment").String(h.environment());
  w.Key("roles").BeginArray();
  for (const std::string& r : h.roles()) w.String(r);
  w.EndArray();
  w.Key("reported").Bool(h.reported());
  w.Key("last_report");
  if (h.last_report_unix_ms() == 0) {
    w.Null();
  } else {
    w.String(Rfc3339(h.last_report_unix_ms()));
  }
  w.Key("stale").Bool(h.stale());
  w.Key("gating").Bool(h.gating());
  w.Key("ready").Bool(h.ready());
  w.Key("counts").BeginObject();
  w.Key("PASS").Int(h.pass());
  w.Key("WARN").Int(h.warn());
  w.Key("FAIL").Int(h.fail());
  w.Key("UNKNOWN").Int(h.unknown());
  w.Key("NOT_APPLICABLE").Int(h.not_applicable());
  w.Key("WAIVED").Int(h.waived());
  if (h.other() > 0) w.Key("OTHER").Int(h.other());
  w.EndObject();
  w.Key("blocking").BeginArray();
  for (const v1::BlockingCheck& b : h.blocking()) {
    w.BeginObject()
        .Key("id")
        .String(b.check_id())
        .Key("status")
        .String(collector::StatusName(b.status()))
        .EndObject();
  }
  w.EndArray();
  w.Key("waived").BeginArray();
  for (const std::string& id : h.waived_checks()) w.String(id);
  w.EndArray();
  w.Key("collected_without").Int(h.collected_without());
  if (!h.cert_warning().empty()) w.Key("cert_warning").String(h.cert_warning());
  w.EndObject();
}

}  // namespace

std::string SummaryJson(const v1::FleetSummaryHeader& header,
                        const std::vector<v1::HostSummary>& hosts) {
  JsonWriter w;
  w.BeginObject();
  w.Key("format_version").Int(kStatusFormatVersion);
  w.Key("ready").Bool(header.ready());
  w.Key("generated_at").String(Rfc3339(header.generated_at_unix_ms()));
  w.Key("gating_environments").BeginArray();
  for (const std::string& e : header.gating_environments()) w.String(e);
  w.EndArray();
  w.Key("staleness_seconds").Int(header.staleness_seconds());
  w.Key("reasons").BeginArray();
  for (const std::string& r : header.reasons()) w.String(r);
  w.EndArray();
  w.Key("reasons_left_out").Int(static_cast<int64_t>(header.reasons_left_out()));
  w.Key("total_hosts").Int(header.total_hosts());
  w.Key("matched_hosts").Int(header.matched_hosts());
  w.Key("hosts").BeginArray();
  for (const v1::HostSummary& h : hosts) WriteHostSummary(w, h);
  w.EndArray();
  w.Key("manual_items").BeginArray();
  for (const v1::ManualItemSummary& m : header.manual_items()) {
    w.BeginObject();
    w.Key("id").String(m.check_id());
    w.Key("environment").String(m.environment());
    w.Key("status").String(collector::StatusName(m.status()));
    if (!m.attested_by().empty()) {
      w.Key("attested_by").String(m.attested_by());
      w.Key("attested_at_unix_ms").Int(m.attested_at_unix_ms());
      w.Key("expires_at_unix_ms").Int(m.expires_at_unix_ms());
      w.Key("revoked").Bool(m.revoked());
      if (m.revoked()) w.Key("revoked_by").String(m.revoked_by());
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("checks").BeginArray();
  for (const v1::CheckSummary& c : header.checks()) {
    w.BeginObject()
        .Key("id")
        .String(c.id())
        .Key("title")
        .String(c.title())
        .Key("severity")
        .String(collector::SeverityName(c.severity()))
        .Key("checklist_item")
        .Int(c.checklist_item())
        .Key("manual")
        .Bool(c.manual())
        .EndObject();
  }
  w.EndArray();
  if (!header.crl_warning().empty()) w.Key("crl_warning").String(header.crl_warning());
  if (!header.storage_error().empty()) w.Key("storage_error").String(header.storage_error());
  if (!header.cert_warnings().empty()) {
    w.Key("cert_warnings").BeginArray();
    for (const std::string& c : header.cert_warnings()) w.String(c);
    w.EndArray();
  }
  WriteUnknownNodesJson(w, header.unknown_nodes());
  WriteCountryconfigJson(w, header.countryconfig());
  w.EndObject();
  return w.Finish();
}

std::string SummaryTable(const v1::FleetSummaryHeader& header,
                         const std::vector<v1::HostSummary>& hosts, absl::Time now, size_t width) {
  // Every line fits `width` (terminal.h): text wraps, a host id too long for
  // its column goes on a line of its own, ids are never cut.
  auto para = [&](const std::string& lead, const std::string& text) {
    // Continuation lines are indented by two, as in every table of
    // preflightctl: a reader (or a script) joins "\n  " back into one line.
    return absl::StrCat(WrapAfter(lead, text, width, 2), "\n");
  };
  std::string out =
      para("", absl::StrCat("FLEET: ", header.ready() ? "READY" : "NOT READY",
                            "  (gating: ", absl::StrJoin(header.gating_environments(), ", "),
                            "; stale after ", header.staleness_seconds(), "s; generated ",
                            Ago(header.generated_at_unix_ms(), now), ")"));
  for (const std::string& r : header.reasons()) absl::StrAppend(&out, para("  - ", r));
  if (header.reasons_left_out() > 0) {
    absl::StrAppend(&out, para("  ", absl::StrCat("... and ", header.reasons_left_out(),
                                                  " more (status --failing lists the hosts)")));
  }
  if (!header.crl_warning().empty()) {
    absl::StrAppend(&out, para("WARNING: ", header.crl_warning()));
  }
  if (!header.storage_error().empty()) {
    absl::StrAppend(&out, para("STORAGE ERROR: ", absl::StrCat("reports are not stored nor acked: ",
                                                               header.storage_error())));
  }
  for (const std::string& w : header.cert_warnings()) absl::StrAppend(&out, para("WARNING: ", w));
  absl::StrAppend(&out, UnknownNodesText(header.unknown_nodes(), width));
  absl::StrAppend(&out, CountryconfigText(header.countryconfig(), width));
  int pending = 0;
  for (const v1::ManualItemSummary& m : header.manual_items()) {
    if (m.status() != v1::ATTESTED) ++pending;
  }
  absl::StrAppend(&out, "manual items: ", header.manual_items_size() - pending, " attested, ",
                  pending, " pending\n");
  absl::StrAppend(&out, "\nHOSTS: ", header.matched_hosts(), " of ", header.total_hosts(),
                  " listed\n");
  // HOST, then ENV, VERDICT, six counts and REPORTED: 63 columns.
  constexpr size_t kRest = 1 + 11 + 1 + 9 + 6 * 5 + 2 + 9;
  size_t host_w = 4;
  for (const v1::HostSummary& h : hosts) {
    host_w = std::max(host_w, DisplayWidth(EscapeControl(h.host_id())));
  }
  if (host_w + kRest > width) host_w = std::max<size_t>(4, width > kRest ? width - kRest : 0);
  absl::StrAppend(&out, absl::StrFormat("%-*s %-11s %-9s %4s %4s %4s %4s %4s %4s  %s\n",
                                        static_cast<int>(host_w), "HOST", "ENV", "VERDICT", "PASS",
                                        "WAIV", "WARN", "FAIL", "UNKN", "N/A", "REPORTED"));
  for (const v1::HostSummary& h : hosts) {
    std::string host = EscapeControl(h.host_id());
    if (DisplayWidth(host) > host_w) {
      absl::StrAppend(&out, host, "\n");
      host.clear();
    }
    absl::StrAppend(&out, host, std::string(host_w - DisplayWidth(host), ' '),
                    absl::StrFormat(" %-11s %-9s %4d %4d %4d %4d %4d %4d  %s\n",
                                    EscapeControl(h.environment()), Verdict(h), h.pass(),
                                    h.waived(), h.warn(), h.fail(), h.unknown() + h.other(),
                                    h.not_applicable(), Ago(h.last_report_unix_ms(), now)));
    if (!h.cert_warning().empty()) absl::StrAppend(&out, para("  CERT    ", h.cert_warning()));
    std::vector<std::string> blocking;
    for (const v1::BlockingCheck& b : h.blocking()) blocking.push_back(b.check_id());
    if (!blocking.empty()) {
      absl::StrAppend(&out, para("  blocking: ", absl::StrJoin(blocking, ", ")));
    }
    if (h.waived() > 0) {
      absl::StrAppend(&out, para("  waived: ", absl::StrJoin(h.waived_checks(), ", ")));
    }
  }
  // Listed hosts that never reported: in the inventory, but no agent vouches
  // for them (the verdict's reasons name only the gating ones).
  std::vector<std::string> silent;
  for (const v1::HostSummary& h : hosts) {
    if (!h.reported()) silent.push_back(EscapeControl(h.host_id()));
  }
  if (!silent.empty()) {
    constexpr size_t kNamed = 20;
    std::string names =
        absl::StrJoin(silent.begin(), silent.begin() + std::min(kNamed, silent.size()), ", ");
    if (silent.size() > kNamed) absl::StrAppend(&names, " and ", silent.size() - kNamed, " more");
    absl::StrAppend(&out, para("", absl::StrCat("no agent vouches for ", silent.size(),
                                                " inventory host(s) (never reported): ", names)));
  }
  absl::StrAppend(&out, "\n",
                  para("",
                       "details: preflightctl host HOST; every check of every host: "
                       "status --full (small fleets) or export"));
  return out;
}

}  // namespace preflight::cli
