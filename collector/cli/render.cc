#include "collector/cli/render.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "collector/checks/catalogue.h"
#include "collector/checks/params.h"
#include "collector/cli/json_writer.h"
#include "collector/cli/terminal.h"
#include "collector/readiness/engine.h"

namespace preflight::cli {
namespace {

using collector::SeverityName;
using collector::StatusName;

std::string Rfc3339(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

// `s` left-aligned in a field of `width` columns (never cut: a longer `s`
// overflows it).
std::string Pad(absl::string_view s, size_t width) {
  std::string out(s);
  const size_t w = DisplayWidth(s);
  if (w < width) out.append(width - w, ' ');
  return out;
}

}  // namespace

void WriteUnknownNodesJson(JsonWriter& w,
                           const google::protobuf::RepeatedPtrField<v1::UnknownNode>& nodes) {
  w.Key("unknown_nodes").BeginArray();
  for (const v1::UnknownNode& n : nodes) {
    w.BeginObject();
    w.Key("hostname").String(n.hostname());
    w.Key("address").String(n.address());
    w.Key("role").String(n.role());
    w.Key("state").String(n.state());
    w.Key("reported_by").String(n.reported_by());
    w.Key("environment").String(n.environment());
    w.Key("gating").Bool(n.gating());
    w.Key("seen_at_unix_ms").Int(n.seen_at_unix_ms());
    if (!n.problem().empty()) w.Key("problem").String(n.problem());
    w.EndObject();
  }
  w.EndArray();
}

std::string UnknownNodesText(const google::protobuf::RepeatedPtrField<v1::UnknownNode>& nodes,
                             size_t width) {
  if (nodes.empty()) return "";
  std::string out = Wrap(absl::StrCat("UNKNOWN SWARM NODES: ", nodes.size(),
                                      " (no inventory host matches them, no agent vouches for "
                                      "them; add them with node_name or addresses)"),
                         width, 2);
  absl::StrAppend(&out, "\n");
  for (const v1::UnknownNode& n : nodes) {
    if (!n.problem().empty()) {
      absl::StrAppend(
          &out,
          WrapAfter("  ",
                    absl::StrCat("(nodes not listed) by manager ", n.reported_by(), " (",
                                 n.environment(), n.gating() ? ", gating" : ", not gating",
                                 "): ", n.problem(), ": a server may be hiding in this swarm"),
                    width, 4),
          "\n");
      continue;
    }
    std::string line =
        absl::StrCat(n.hostname().empty() ? "(no hostname)" : n.hostname(), " at ",
                     n.address().empty() ? "(no address)" : n.address(), " (", n.role(), ", ",
                     n.state(), ") reported by ", n.reported_by(), " (", n.environment(),
                     n.gating() ? ", gating" : ", not gating", ")");
    absl::StrAppend(&out, WrapAfter("  ", line, width, 4), "\n");
  }
  return out;
}

void WriteCountryconfigJson(JsonWriter& w, const v1::CountryconfigComparison& countryconfig) {
  const v1::CountryconfigComparison::Outcome outcome = countryconfig.outcome();
  if (outcome == v1::CountryconfigComparison::OUTCOME_UNSPECIFIED) return;
  w.Key("countryconfig").BeginObject();
  w.Key("outcome").String(outcome == v1::CountryconfigComparison::SAME        ? "same"
                          : outcome == v1::CountryconfigComparison::DIFFERENT ? "different"
                                                                              : "not_compared");
  w.Key("warning").Bool(outcome == v1::CountryconfigComparison::DIFFERENT);
  w.Key("summary").String(countryconfig.summary());
  w.Key("versions").BeginArray();
  for (const v1::CountryconfigVersion& v : countryconfig.versions()) {
    w.BeginObject();
    w.Key("environment").String(v.environment());
    w.Key("reported_by").String(v.reported_by());
    w.Key("service").String(v.service());
    w.Key("image").String(v.image());
    w.Key("version").String(v.version());
    w.Key("seen_at_unix_ms").Int(v.seen_at_unix_ms());
    if (!v.problem().empty()) w.Key("problem").String(v.problem());
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

std::string CountryconfigText(const v1::CountryconfigComparison& countryconfig, size_t width) {
  if (countryconfig.outcome() == v1::CountryconfigComparison::OUTCOME_UNSPECIFIED) return "";
  std::string out = WrapAfter(
      countryconfig.outcome() == v1::CountryconfigComparison::DIFFERENT ? "WARNING: " : "",
      countryconfig.summary(), width, 2);
  absl::StrAppend(&out, "\n");
  for (const v1::CountryconfigVersion& v : countryconfig.versions()) {
    if (!v.problem().empty()) continue;  // the summary says why when it matters
    absl::StrAppend(
        &out,
        WrapAfter("  ",
                  absl::StrCat(v.environment(), ": ", v.service(), " runs ", v.image(),
                               " (version ", v.version(), "; host ", v.reported_by(), ")"),
                  width, 4),
        "\n");
  }
  return out;
}

void WriteEvidenceJson(JsonWriter& w, const google::protobuf::RepeatedPtrField<v1::Evidence>& ev) {
  w.Key("evidence").BeginArray();
  for (const v1::Evidence& e : ev) {
    w.BeginObject();
    w.Key("message").String(e.message());
    w.Key("source").String(e.source());
    if (!e.observed().empty()) w.Key("observed").String(e.observed());
    if (!e.expected().empty()) w.Key("expected").String(e.expected());
    w.EndObject();
  }
  w.EndArray();
}

namespace {

void WriteCheck(JsonWriter& w, const v1::CheckResult& c) {
  w.BeginObject();
  w.Key("id").String(c.check().id());
  w.Key("status").String(StatusName(c.status()));
  w.Key("severity").String(SeverityName(c.check().severity()));
  w.Key("title").String(c.check().title());
  w.Key("checklist_item").Int(c.check().checklist_item());
  WriteEvidenceJson(w, c.evidence());
  w.Key("remediation").String(c.check().remediation());
  if (!c.environment().empty()) w.Key("environment").String(c.environment());
  if (c.has_attestation()) {
    const v1::Attestation& a = c.attestation();
    w.Key("attestation").BeginObject();
    w.Key("operator").String(a.operator_());
    w.Key("note").String(a.note());
    w.Key("evidence_url").String(a.evidence_url());
    w.Key("attested_at_unix_ms").Int(a.attested_at_unix_ms());
    w.Key("expires_at_unix_ms").Int(a.expires_at_unix_ms());
    w.Key("revoked").Bool(a.revoked());
    if (a.revoked()) w.Key("revoked_by").String(a.revoked_by());
    if (a.despite_evidence()) {
      w.Key("despite_evidence").BeginArray();
      for (const std::string& line : a.evidence_against()) w.String(line);
      w.EndArray();
    }
    w.EndObject();
  }
  if (c.has_waiver()) {
    const v1::Waiver& wv = c.waiver();
    w.Key("waiver").BeginObject();
    w.Key("operator").String(wv.operator_());
    w.Key("reason").String(wv.reason());
    w.Key("expires_at_unix_ms").Int(wv.expires_at_unix_ms());
    // What it accepts: another status or a new finding is not waived.
    if (wv.accepted_status() != v1::CHECK_STATUS_UNSPECIFIED) {
      w.Key("accepted_status").String(StatusName(wv.accepted_status()));
      w.Key("accepted_findings").BeginArray();
      for (const std::string& f : wv.accepted_findings()) w.String(f);
      w.EndArray();
    }
    if (wv.awaiting_approval()) w.Key("awaiting_approval").Bool(true);
    if (!wv.approved_by().empty()) w.Key("approved_by").String(wv.approved_by());
    w.EndObject();
    if (c.status() == v1::WAIVED)
      w.Key("underlying_status").String(StatusName(c.underlying_status()));
    if (!c.waiver_mismatch().empty()) w.Key("waiver_mismatch").String(c.waiver_mismatch());
  }
  if (c.last_changed_at_unix_ms() != 0) {
    w.Key("last_changed_at_unix_ms").Int(c.last_changed_at_unix_ms());
  }
  if (c.first_failed_at_unix_ms() != 0) {
    w.Key("first_failed_at_unix_ms").Int(c.first_failed_at_unix_ms());
  }
  if (!c.params().empty()) {
    w.Key("params").BeginArray();
    for (const v1::EffectiveParam& p : c.params()) {
      w.BeginObject();
      w.Key("name").String(p.name());
      w.Key("value").String(p.value());
      w.Key("origin").String(p.origin());
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

void WriteHost(JsonWriter& w, const v1::HostStatus& h) {
  w.BeginObject();
  w.Key("host").String(h.host_id());
  w.Key("environment").String(h.environment());
  w.Key("roles").BeginArray();
  for (const std::string& r : h.roles()) w.String(r);
  w.EndArray();
  w.Key("last_report");
  if (h.reported()) {
    w.String(Rfc3339(h.last_report_unix_ms()));
  } else {
    w.Null();
  }
  w.Key("stale").Bool(h.stale());
  w.Key("gating").Bool(h.gating());
  w.Key("ready").Bool(h.ready());
  if (!h.collected_without().empty()) {
    w.Key("collected_without").BeginArray();
    for (const std::string& m : h.collected_without()) w.String(m);
    w.EndArray();
  }
  if (!h.cert_serial().empty()) {
    // The client certificate of its latest stream, as the collector read it.
    w.Key("certificate").BeginObject();
    w.Key("serial").String(h.cert_serial());
    w.Key("not_after").String(Rfc3339(h.cert_not_after_unix_ms()));
    if (!h.cert_warning().empty()) w.Key("warning").String(h.cert_warning());
    w.EndObject();
  }
  w.Key("checks").BeginArray();
  for (const v1::CheckResult& c : h.checks()) WriteCheck(w, c);
  w.EndArray();
  w.EndObject();
}

// WAIVED is counted apart from PASS: an accepted failure is not a pass.
struct Counts {
  int pass = 0, waived = 0, warn = 0, fail = 0, unknown = 0;
};

Counts CountOf(const v1::HostStatus& h) {
  Counts c;
  for (const v1::CheckResult& r : h.checks()) {
    switch (r.status()) {
      case v1::PASS:
      case v1::ATTESTED:
        ++c.pass;
        break;
      case v1::WAIVED:
        ++c.waived;
        break;
      case v1::WARN:
        ++c.warn;
        break;
      case v1::FAIL:
        ++c.fail;
        break;
      case v1::NOT_APPLICABLE:
        break;
      default:
        ++c.unknown;
    }
  }
  return c;
}

std::string FirstEvidence(const v1::CheckResult& c) {
  for (const v1::Evidence& e : c.evidence()) {
    if (e.observed() == e.expected() && !e.observed().empty()) continue;  // a passing line
    return e.source().empty() ? e.message() : absl::StrCat(e.message(), " (", e.source(), ")");
  }
  if (c.evidence().empty()) return "";
  const v1::Evidence& e = c.evidence(0);
  return e.source().empty() ? e.message() : absl::StrCat(e.message(), " (", e.source(), ")");
}

}  // namespace

std::string Ago(int64_t unix_ms, absl::Time now) {
  if (unix_ms == 0) return "never";
  absl::Duration d = now - absl::FromUnixMillis(unix_ms);
  if (d < absl::ZeroDuration()) return "just now";
  int64_t s = absl::ToInt64Seconds(d);
  if (s < 60) return absl::StrCat(s, "s ago");
  if (s < 3600) return absl::StrCat(s / 60, "m ago");
  if (s < 86400 * 2) return absl::StrCat(s / 3600, "h ago");
  return absl::StrCat(s / 86400, "d ago");
}

std::string Wrap(const std::string& raw, size_t width, size_t indent) {
  const std::string text = EscapeControl(raw);
  std::string out, line;
  std::string pad(indent, ' ');
  size_t limit = width > indent + 10 ? width - indent : 10;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    // A word longer than a line (a long path) is cut into line-sized pieces.
    while (word.size() > limit) {
      if (!line.empty()) {
        absl::StrAppend(&out, out.empty() ? "" : "\n" + pad, line);
        line.clear();
      }
      absl::StrAppend(&out, out.empty() ? "" : "\n" + pad, word.substr(0, limit));
      word.remove_prefix(limit);
    }
    if (!line.empty() && line.size() + 1 + word.size() > limit) {
      absl::StrAppend(&out, out.empty() ? "" : "\n" + pad, line);
      line.clear();
    }
    if (!line.empty()) line.push_back(' ');
    line.append(word.data(), word.size());
  }
  if (!line.empty()) absl::StrAppend(&out, out.empty() ? "" : "\n" + pad, line);
  return out;
}

std::string WrapAfter(absl::string_view prefix, const std::string& raw, size_t width,
                      size_t indent) {
  const std::string text = EscapeControl(raw);
  std::string out(prefix);
  size_t col = DisplayWidth(prefix);
  bool line_start = true;  // no word on this line yet
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (col + (line_start ? 0 : 1) + word.size() > width && col > indent) {
      absl::StrAppend(&out, "\n", std::string(indent, ' '));
      col = indent;
      line_start = true;
    }
    // A word longer than a whole line (a long path) is cut into pieces.
    while (col + word.size() > width && width > col + 10) {
      const size_t n = width - col - (line_start ? 0 : 1);
      absl::StrAppend(&out, line_start ? "" : " ", word.substr(0, n), "\n",
                      std::string(indent, ' '));
      word.remove_prefix(n);
      col = indent;
      line_start = true;
    }
    absl::StrAppend(&out, line_start ? "" : " ", word);
    col += (line_start ? 0 : 1) + word.size();
    line_start = false;
  }
  return out;
}

std::string StatusJson(const v1::FleetStatus& fleet) {
  JsonWriter w;
  w.BeginObject();
  w.Key("ready").Bool(fleet.ready());
  w.Key("generated_at").String(Rfc3339(fleet.generated_at_unix_ms()));
  w.Key("gating_environments").BeginArray();
  for (const std::string& e : fleet.gating_environments()) w.String(e);
  w.EndArray();
  w.Key("staleness_seconds").Int(fleet.staleness_seconds());
  w.Key("reasons").BeginArray();
  for (const std::string& r : fleet.reasons()) w.String(r);
  w.EndArray();
  w.Key("hosts").BeginArray();
  for (const v1::HostStatus& h : fleet.hosts()) WriteHost(w, h);
  w.EndArray();
  w.Key("manual_items").BeginArray();
  for (const v1::CheckResult& c : fleet.manual_items()) WriteCheck(w, c);
  w.EndArray();
  if (!fleet.crl_warning().empty()) w.Key("crl_warning").String(fleet.crl_warning());
  if (!fleet.storage_error().empty()) w.Key("storage_error").String(fleet.storage_error());
  if (!fleet.cert_warnings().empty()) {
    w.Key("cert_warnings").BeginArray();
    for (const std::string& c : fleet.cert_warnings()) w.String(c);
    w.EndArray();
  }
  WriteUnknownNodesJson(w, fleet.unknown_nodes());
  WriteCountryconfigJson(w, fleet.countryconfig());
  w.EndObject();
  return w.Finish();
}

std::string HostJson(const v1::HostStatus& host) {
  JsonWriter w;
  WriteHost(w, host);
  return w.Finish();
}

std::string ChecksJson(const v1::CheckCatalogue& catalogue) {
  JsonWriter w;
  w.BeginObject();
  w.Key("checks").BeginArray();
  for (const v1::CheckInfo& c : catalogue.checks()) {
    w.BeginObject();
    w.Key("id").String(c.id());
    w.Key("title").String(c.title());
    w.Key("checklist_item").Int(c.checklist_item());
    w.Key("severity").String(SeverityName(c.severity()));
    w.Key("manual").Bool(c.manual());
    w.Key("environments").BeginArray();
    for (const std::string& e : c.environments()) w.String(e);
    w.EndArray();
    w.Key("roles").BeginArray();
    for (const std::string& r : c.roles()) w.String(r);
    w.EndArray();
    w.Key("remediation").String(c.remediation());
    const v1::CheckSpec* spec = nullptr;
    for (const v1::CheckSpec& s : catalogue.catalogue().checks()) {
      if (s.id() == c.id()) spec = &s;
    }
    if (spec != nullptr) {
      w.Key("unknown_when").String(spec->unknown_when());
      w.Key("params").BeginArray();
      for (const v1::ParamSpec& p : spec->params()) {
        collector::ParamValue v;
        (void)collector::DefaultOf(p, &v);
        w.BeginObject();
        w.Key("name").String(p.name());
        w.Key("type").String(collector::ParamTypeName(p.type()));
        w.Key("default").String(collector::FormatParam(p, v));
        if (!p.unit().empty()) w.Key("unit").String(p.unit());
        if (p.type() == v1::UINT) {
          w.Key("min").Int(static_cast<int64_t>(p.min()));
          if (p.max() != 0) w.Key("max").Int(static_cast<int64_t>(p.max()));
        }
        if (p.merge() != v1::LIST_MERGE_UNSPECIFIED) {
          w.Key("merge").String(p.merge() == v1::ADD ? "add" : "replace");
        }
        w.Key("doc").String(p.doc());
        w.EndObject();
      }
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("items").BeginArray();
  for (const v1::ChecklistItem& item : catalogue.catalogue().items()) {
    w.BeginObject();
    w.Key("number").Int(item.number());
    w.Key("title").String(item.title());
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Finish();
}

std::string ChecksMarkdown(const v1::CheckCatalogue& catalogue) {
  return collector::CatalogueMarkdown(catalogue.catalogue());
}

namespace {

// Whether the fleet table lists a check of this status under its host.
bool Listed(v1::CheckStatus s) {
  return s != v1::PASS && s != v1::NOT_APPLICABLE && s != v1::ATTESTED && s != v1::WAIVED;
}

}  // namespace

std::string StatusTable(const v1::FleetStatus& fleet, absl::Time now, size_t width) {
  std::string out;
  absl::StrAppend(&out, "FLEET: ", fleet.ready() ? "READY" : "NOT READY", "   (",
                  absl::FormatTime("%Y-%m-%d %H:%M UTC", now, absl::UTCTimeZone()), ")\n");
  absl::StrAppend(
      &out,
      Wrap(absl::StrCat("gating environments: ", absl::StrJoin(fleet.gating_environments(), ", "),
                        "; a host is stale after ", fleet.staleness_seconds() / 60,
                        "m without a report"),
           width, 2),
      "\n\n");
  if (!fleet.crl_warning().empty()) {
    absl::StrAppend(&out, Wrap(absl::StrCat("WARNING: ", fleet.crl_warning()), width, 2), "\n\n");
  }
  for (const std::string& c : fleet.cert_warnings()) {
    absl::StrAppend(&out, Wrap(absl::StrCat("WARNING: ", c), width, 2), "\n\n");
  }
  if (!fleet.storage_error().empty()) {
    absl::StrAppend(&out,
                    Wrap(absl::StrCat("STORAGE ERROR: reports are not stored nor acked: ",
                                      fleet.storage_error()),
                         width, 2),
                    "\n\n");
  }
  if (!fleet.unknown_nodes().empty()) {
    absl::StrAppend(&out, UnknownNodesText(fleet.unknown_nodes(), width), "\n");
  }
  if (std::string cc = CountryconfigText(fleet.countryconfig(), width); !cc.empty()) {
    absl::StrAppend(&out, cc, "\n");
  }
  // Columns as wide as their content; the host column gives way first (a
  // longer id gets a line of its own), nothing is cut.
  auto last_report = [&](const v1::HostStatus& h) {
    std::string last = Ago(h.reported() ? h.last_report_unix_ms() : 0, now);
    return h.reported() && h.stale() ? absl::StrCat("STALE ", last) : last;
  };
  size_t host_w = 4, env_w = 11, last_w = 11, status_w = 0;
  for (const v1::HostStatus& h : fleet.hosts()) {
    host_w = std::max(host_w, DisplayWidth(EscapeControl(h.host_id())));
    env_w = std::max(env_w, DisplayWidth(EscapeControl(h.environment())));
    last_w = std::max(last_w, last_report(h).size());
    for (const v1::CheckResult& r : h.checks()) {
      if (Listed(r.status())) status_w = std::max(status_w, StatusName(r.status()).size());
    }
  }
  constexpr size_t kCounts = 5 * 5 + 2 + 5;  // " PASS WAIV WARN FAIL UNKN  READY"
  const size_t rest = 1 + env_w + 1 + last_w + kCounts;
  if (host_w + rest > width) host_w = std::max<size_t>(4, width > rest ? width - rest : 0);
  auto row = [&](absl::string_view host, absl::string_view env, absl::string_view last,
                 const std::string& counts) {
    return absl::StrCat(Pad(host, host_w), " ", Pad(env, env_w), " ", Pad(last, last_w), counts,
                        "\n");
  };
  absl::StrAppend(&out, row("HOST", "ENVIRONMENT", "LAST REPORT",
                            absl::StrFormat(" %4s %4s %4s %4s %4s  %s", "PASS", "WAIV", "WARN",
                                            "FAIL", "UNKN", "READY")));
  for (const v1::HostStatus& h : fleet.hosts()) {
    Counts c = CountOf(h);
    std::string ready = h.ready() ? "yes" : (h.gating() ? "NO" : "no");
    std::string host = EscapeControl(h.host_id());
    if (DisplayWidth(host) > host_w) {
      absl::StrAppend(&out, host, "\n");
      host.clear();
    }
    absl::StrAppend(
        &out, row(host, EscapeControl(h.environment()), last_report(h),
                  h.reported() ? absl::StrFormat(" %4d %4d %4d %4d %4d  %s", c.pass, c.waived,
                                                 c.warn, c.fail, c.unknown, ready)
                               : absl::StrFormat(" %4s %4s %4s %4s %4s  %s", "-", "-", "-", "-",
                                                 "-", ready)));
    if (!h.cert_warning().empty()) {
      absl::StrAppend(&out, WrapAfter("  CERT    ", h.cert_warning(), width, 10), "\n");
    }
    if (!h.reported()) continue;
    for (const v1::CheckResult& r : h.checks()) {
      if (!Listed(r.status())) continue;
      absl::StrAppend(&out,
                      WrapAfter(absl::StrCat("  ", Pad(StatusName(r.status()), status_w), " ",
                                             EscapeControl(r.check().id()), ": "),
                                FirstEvidence(r), width, status_w + 3),
                      "\n");
    }
  }
  if (!fleet.manual_items().empty()) {
    absl::StrAppend(&out, "\nMANUAL ITEMS\n");
    size_t manual_w = 0;
    for (const v1::CheckResult& m : fleet.manual_items()) {
      manual_w = std::max(manual_w, StatusName(m.status()).size());
    }
    for (const v1::CheckResult& m : fleet.manual_items()) {
      std::string line = absl::StrCat("  ", Pad(StatusName(m.status()), manual_w), " ",
                                      absl::StrFormat("#%-3d ", m.check().checklist_item()),
                                      EscapeControl(m.check().id()));
      if (!m.environment().empty()) {
        // The environment after the id, or under it when the id is too long.
        const std::string env = absl::StrCat("(", EscapeControl(m.environment()), ")");
        const bool beside = DisplayWidth(line) + 1 + DisplayWidth(env) <= width;
        absl::StrAppend(&line, beside ? " " : absl::StrCat("\n", std::string(manual_w + 8, ' ')),
                        env);
      }
      absl::StrAppend(&out, line, "\n");
    }
  }
  if (!fleet.reasons().empty()) {
    absl::StrAppend(&out, "\nNot ready because:\n");
    for (const std::string& r : fleet.reasons()) {
      absl::StrAppend(&out, "  - ", Wrap(r, width, 4), "\n");
    }
  }
  return out;
}

std::string HostTable(const v1::HostStatus& h, absl::Time now, size_t width) {
  std::string out;
  absl::StrAppend(
      &out,
      Wrap(absl::StrCat(
               h.host_id(), " (", h.environment(),
               h.roles().empty() ? "" : absl::StrCat("; roles ", absl::StrJoin(h.roles(), ", ")),
               "): ", h.ready() ? "READY" : "NOT READY"),
           width, 2),
      "\n");
  if (h.reported()) {
    absl::StrAppend(&out, "last report ", Rfc3339(h.last_report_unix_ms()), " (",
                    Ago(h.last_report_unix_ms(), now), ")", h.stale() ? ", STALE" : "", "; agent ",
                    EscapeControl(h.agent_instance().substr(0, 8)), " report #", h.sequence(),
                    "\n");
  } else {
    absl::StrAppend(&out, "no report received yet\n");
  }
  if (!h.collected_without().empty()) {
    absl::StrAppend(
        &out,
        Wrap(absl::StrCat("COLLECTED WITHOUT PRIVILEGES: the agent lacked what ",
                          h.collected_without_size(), " fact(s) need; their checks are UNKNOWN"),
             width, 2),
        "\n");
    for (const std::string& m : h.collected_without()) {
      absl::StrAppend(&out, "  - ", Wrap(m, width, 4), "\n");
    }
  }
  // STATUS and CHECK as wide as their widest entry (NOT_APPLICABLE in full);
  // a check id too long for the width gets a line of its own.
  size_t status_w = 6, check_w = 5;
  for (const v1::CheckResult& c : h.checks()) {
    status_w = std::max(status_w, StatusName(c.status()).size());
    check_w = std::max(check_w, DisplayWidth(EscapeControl(c.check().id())));
  }
  constexpr size_t kItemSeverity = 1 + 4 + 2 + 8;  // " ITEM  SEVERITY"
  if (status_w + 1 + check_w + kItemSeverity > width) {
    const size_t used = status_w + 1 + kItemSeverity;
    check_w = std::max<size_t>(5, width > used ? width - used : 0);
  }
  const size_t in = status_w + 1;  // where titles, evidence and fixes start
  const std::string pad(in, ' ');
  absl::StrAppend(&out, "\n", Pad("STATUS", status_w), " ", Pad("CHECK", check_w),
                  absl::StrFormat(" %4s  %s\n", "ITEM", "SEVERITY"));
  for (const v1::CheckResult& c : h.checks()) {
    std::string id = EscapeControl(c.check().id());
    const std::string status = StatusName(c.status());
    if (DisplayWidth(id) > check_w) {
      absl::StrAppend(&out, Pad(status, status_w), " ", id, "\n");
      id.clear();
    }
    absl::StrAppend(
        &out, Pad(id.empty() ? "" : status, status_w), " ", Pad(id, check_w),
        absl::StrFormat(
            " %4s  %s\n",
            c.check().checklist_item() == 0 ? "-" : absl::StrCat(c.check().checklist_item()),
            SeverityName(c.check().severity())));
    absl::StrAppend(&out, pad, Wrap(c.check().title(), width, in), "\n");
    if (c.status() == v1::WAIVED && c.has_waiver()) {
      absl::StrAppend(
          &out, pad,
          Wrap(absl::StrCat("WAIVED (", StatusName(c.underlying_status()), " beneath) by ",
                            c.waiver().operator_(), " until ",
                            Rfc3339(c.waiver().expires_at_unix_ms()), ": ", c.waiver().reason()),
               width, in),
          "\n");
    }
    if (c.first_failed_at_unix_ms() != 0) {
      absl::StrAppend(&out, pad, "failing since ", Rfc3339(c.first_failed_at_unix_ms()), " (",
                      Ago(c.first_failed_at_unix_ms(), now), ")\n");
    }
    for (const v1::Evidence& e : c.evidence()) {
      std::string text = e.message();
      if (!e.expected().empty() && e.observed() != e.expected()) {
        absl::StrAppend(&text, " (expected '", e.expected(), "')");
      }
      absl::StrAppend(&out, pad, "- ", Wrap(text, width, in + 2), "\n");
      if (!e.source().empty()) {
        absl::StrAppend(&out, pad, "  at ", Wrap(e.source(), width, in + 5), "\n");
      }
    }
    if (c.status() != v1::PASS && c.status() != v1::NOT_APPLICABLE &&
        !c.check().remediation().empty()) {
      absl::StrAppend(&out, pad, "fix: ", Wrap(c.check().remediation(), width, in + 5), "\n");
    }
    for (const v1::EffectiveParam& p : c.params()) {
      absl::StrAppend(
          &out, pad,
          Wrap(absl::StrCat("param ", p.name(), " = ", p.value(), "  (", p.origin(), ")"), width,
               in + 2),
          "\n");
    }
  }
  return out;
}

std::string ChecksTable(const v1::CheckCatalogue& catalogue, size_t width) {
  // CHECK as wide as the longest id; TITLE wrapped in what is left, or under
  // the row when too little is left.
  size_t id_w = 5;
  for (const v1::CheckInfo& c : catalogue.checks()) {
    id_w = std::max(id_w, DisplayWidth(EscapeControl(c.id())));
  }
  constexpr size_t kMiddle = 1 + 4 + 2 + 8 + 2 + 6 + 2;  // " ITEM  SEVERITY  HOW    "
  constexpr size_t kMinTitle = 24;
  // Too wide for the terminal: the column gives way down to the longest id of
  // the usual dotted form; a longer id gets a line of its own.
  if (id_w + kMiddle + kMinTitle > width) {
    id_w = std::max<size_t>(5, width > kMiddle + kMinTitle ? width - kMiddle - kMinTitle : 0);
  }
  std::string out =
      absl::StrCat(Pad("CHECK", id_w),
                   absl::StrFormat(" %4s  %-8s  %-6s  %s\n", "ITEM", "SEVERITY", "HOW", "TITLE"));
  for (const v1::CheckInfo& c : catalogue.checks()) {
    std::string id = EscapeControl(c.id());
    if (DisplayWidth(id) > id_w) {
      absl::StrAppend(&out, id, "\n");
      id.clear();
    }
    std::string row = absl::StrCat(
        Pad(id, id_w),
        absl::StrFormat(" %4s  %-8s  %-6s  ",
                        c.checklist_item() == 0 ? "-" : absl::StrCat(c.checklist_item()),
                        SeverityName(c.severity()), c.manual() ? "manual" : "agent"));
    absl::StrAppend(&out, row, Wrap(c.title(), width, id_w + kMiddle), "\n");
    for (const v1::CheckSpec& spec : catalogue.catalogue().checks()) {
      if (spec.id() != c.id()) continue;
      for (const v1::ParamSpec& p : spec.params()) {
        collector::ParamValue v;
        (void)collector::DefaultOf(p, &v);
        absl::StrAppend(
            &out, "    ",
            Wrap(absl::StrCat("param ", p.name(), " = ", collector::FormatParam(p, v),
                              p.unit().empty() ? "" : absl::StrCat(" ", p.unit()), ": ", p.doc()),
                 width, 6),
            "\n");
      }
    }
  }
  return out;
}

}  // namespace preflight::cli
