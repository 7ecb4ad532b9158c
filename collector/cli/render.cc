#include "collector/cli/render.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "collector/checks/catalogue.h"
#include "collector/checks/params.h"
#include "collector/cli/json_writer.h"
#include "collector/readiness/engine.h"

namespace preflight::cli {
namespace {

using collector::SeverityName;
using collector::StatusName;

constexpr size_t kWidth = 80;

std::string Rfc3339(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

std::string Fit(absl::string_view s, size_t width) {
  if (s.size() <= width) return std::string(s);
  return absl::StrCat(s.substr(0, width - 1), "~");
}

}  // namespace

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
    w.EndObject();
  }
  if (c.has_waiver()) {
    const v1::Waiver& wv = c.waiver();
    w.Key("waiver").BeginObject();
    w.Key("operator").String(wv.operator_());
    w.Key("reason").String(wv.reason());
    w.Key("expires_at_unix_ms").Int(wv.expires_at_unix_ms());
    w.EndObject();
    if (c.status() == v1::WAIVED)
      w.Key("underlying_status").String(StatusName(c.underlying_status()));
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

struct Counts {
  int pass = 0, warn = 0, fail = 0, unknown = 0;
};

Counts CountOf(const v1::HostStatus& h) {
  Counts c;
  for (const v1::CheckResult& r : h.checks()) {
    switch (r.status()) {
      case v1::PASS:
      case v1::ATTESTED:
      case v1::WAIVED:
        ++c.pass;
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

std::string Wrap(const std::string& text, size_t width, size_t indent) {
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

std::string StatusTable(const v1::FleetStatus& fleet, absl::Time now) {
  std::string out;
  absl::StrAppend(&out, "FLEET: ", fleet.ready() ? "READY" : "NOT READY", "   (",
                  absl::FormatTime("%Y-%m-%d %H:%M UTC", now, absl::UTCTimeZone()), ")\n");
  absl::StrAppend(
      &out,
      Wrap(absl::StrCat("gating environments: ", absl::StrJoin(fleet.gating_environments(), ", "),
                        "; a host is stale after ", fleet.staleness_seconds() / 60,
                        "m without a report"),
           kWidth, 2),
      "\n\n");
  if (!fleet.crl_warning().empty()) {
    absl::StrAppend(&out, Wrap(absl::StrCat("WARNING: ", fleet.crl_warning()), kWidth, 2), "\n\n");
  }
  for (const std::string& c : fleet.cert_warnings()) {
    absl::StrAppend(&out, Wrap(absl::StrCat("WARNING: ", c), kWidth, 2), "\n\n");
  }
  if (!fleet.storage_error().empty()) {
    absl::StrAppend(&out,
                    Wrap(absl::StrCat("STORAGE ERROR: reports are not stored nor acked: ",
                                      fleet.storage_error()),
                         kWidth, 2),
                    "\n\n");
  }
  absl::StrAppend(&out,
                  absl::StrFormat("%-16s %-12s %-12s %4s %4s %4s %4s  %s\n", "HOST", "ENVIRONMENT",
                                  "LAST REPORT", "PASS", "WARN", "FAIL", "UNKN", "READY"));
  for (const v1::HostStatus& h : fleet.hosts()) {
    Counts c = CountOf(h);
    std::string ready = h.ready() ? "yes" : (h.gating() ? "NO" : "no");
    std::string last = Ago(h.reported() ? h.last_report_unix_ms() : 0, now);
    if (h.reported() && h.stale()) last = Fit(absl::StrCat("STALE ", last), 12);
    if (h.reported()) {
      absl::StrAppend(&out, absl::StrFormat("%-16s %-12s %-12s %4d %4d %4d %4d  %s\n",
                                            Fit(h.host_id(), 16), Fit(h.environment(), 12), last,
                                            c.pass, c.warn, c.fail, c.unknown, ready));
    } else {
      absl::StrAppend(
          &out, absl::StrFormat("%-16s %-12s %-12s %4s %4s %4s %4s  %s\n", Fit(h.host_id(), 16),
                                Fit(h.environment(), 12), last, "-", "-", "-", "-", ready));
    }
    if (!h.cert_warning().empty()) {
      absl::StrAppend(&out, "  CERT    ", Wrap(h.cert_warning(), kWidth, 10), "\n");
    }
    if (!h.reported()) continue;
    for (const v1::CheckResult& r : h.checks()) {
      if (r.status() == v1::PASS || r.status() == v1::NOT_APPLICABLE ||
          r.status() == v1::ATTESTED || r.status() == v1::WAIVED) {
        continue;
      }
      std::string line = absl::StrCat("  ", Fit(StatusName(r.status()), 7), " ", r.check().id(),
                                      ": ", FirstEvidence(r));
      absl::StrAppend(&out, Fit(line, kWidth), "\n");
    }
  }
  if (!fleet.manual_items().empty()) {
    absl::StrAppend(&out, "\nMANUAL ITEMS\n");
    for (const v1::CheckResult& m : fleet.manual_items()) {
      absl::StrAppend(
          &out, absl::StrFormat(
                    "  %-9s #%-3d %s\n", StatusName(m.status()), m.check().checklist_item(),
                    Fit(absl::StrCat(m.check().id(), " (", m.environment(), ")"), kWidth - 17)));
    }
  }
  if (!fleet.reasons().empty()) {
    absl::StrAppend(&out, "\nNot ready because:\n");
    for (const std::string& r : fleet.reasons()) {
      absl::StrAppend(&out, "  - ", Wrap(r, kWidth, 4), "\n");
    }
  }
  return out;
}

std::string HostTable(const v1::HostStatus& h, absl::Time now) {
  std::string out;
  absl::StrAppend(
      &out,
      Wrap(absl::StrCat(
               h.host_id(), " (", h.environment(),
               h.roles().empty() ? "" : absl::StrCat("; roles ", absl::StrJoin(h.roles(), ", ")),
               "): ", h.ready() ? "READY" : "NOT READY"),
           kWidth, 2),
      "\n");
  if (h.reported()) {
    absl::StrAppend(&out, "last report ", Rfc3339(h.last_report_unix_ms()), " (",
                    Ago(h.last_report_unix_ms(), now), ")", h.stale() ? ", STALE" : "", "; agent ",
                    h.agent_instance().substr(0, 8), " report #", h.sequence(), "\n");
  } else {
    absl::StrAppend(&out, "no report received yet\n");
  }
  if (!h.collected_without().empty()) {
    absl::StrAppend(
        &out,
        Wrap(absl::StrCat("COLLECTED WITHOUT PRIVILEGES: the agent lacked what ",
                          h.collected_without_size(), " fact(s) need; their checks are UNKNOWN"),
             kWidth, 2),
        "\n");
    for (const std::string& m : h.collected_without()) {
      absl::StrAppend(&out, "  - ", Wrap(m, kWidth, 4), "\n");
    }
  }
  absl::StrAppend(&out, "\n",
                  absl::StrFormat("%-8s %-40s %4s  %s\n", "STATUS", "CHECK", "ITEM", "SEVERITY"));
  for (const v1::CheckResult& c : h.checks()) {
    absl::StrAppend(
        &out, absl::StrFormat(
                  "%-8s %-40s %4s  %s\n", Fit(StatusName(c.status()), 8), Fit(c.check().id(), 40),
                  c.check().checklist_item() == 0 ? "-" : absl::StrCat(c.check().checklist_item()),
                  SeverityName(c.check().severity())));
    absl::StrAppend(&out, "         ", Wrap(c.check().title(), kWidth, 9), "\n");
    if (c.status() == v1::WAIVED && c.has_waiver()) {
      absl::StrAppend(
          &out, "         ",
          Wrap(absl::StrCat("WAIVED (", StatusName(c.underlying_status()), " beneath) by ",
                            c.waiver().operator_(), " until ",
                            Rfc3339(c.waiver().expires_at_unix_ms()), ": ", c.waiver().reason()),
               kWidth, 9),
          "\n");
    }
    if (c.first_failed_at_unix_ms() != 0) {
      absl::StrAppend(&out, "         failing since ", Rfc3339(c.first_failed_at_unix_ms()), " (",
                      Ago(c.first_failed_at_unix_ms(), now), ")\n");
    }
    for (const v1::Evidence& e : c.evidence()) {
      std::string text = e.message();
      if (!e.expected().empty() && e.observed() != e.expected()) {
        absl::StrAppend(&text, " (expected '", e.expected(), "')");
      }
      absl::StrAppend(&out, "         - ", Wrap(text, kWidth, 11), "\n");
      if (!e.source().empty()) {
        absl::StrAppend(&out, "           at ", Wrap(e.source(), kWidth, 14), "\n");
      }
    }
    if (c.status() != v1::PASS && c.status() != v1::NOT_APPLICABLE &&
        !c.check().remediation().empty()) {
      absl::StrAppend(&out, "         fix: ", Wrap(c.check().remediation(), kWidth, 14), "\n");
    }
    for (const v1::EffectiveParam& p : c.params()) {
      absl::StrAppend(
          &out, "         ",
          Wrap(absl::StrCat("param ", p.name(), " = ", p.value(), "  (", p.origin(), ")"), kWidth,
               11),
          "\n");
    }
  }
  return out;
}

std::string ChecksTable(const v1::CheckCatalogue& catalogue) {
  std::string out =
      absl::StrFormat("%-32s %4s  %-8s  %-6s  %s\n", "CHECK", "ITEM", "SEVERITY", "HOW", "TITLE");
  for (const v1::CheckInfo& c : catalogue.checks()) {
    std::string line =
        absl::StrFormat("%-32s %4s  %-8s  %-6s  %s", Fit(c.id(), 32),
                        c.checklist_item() == 0 ? "-" : absl::StrCat(c.checklist_item()),
                        SeverityName(c.severity()), c.manual() ? "manual" : "agent", c.title());
    absl::StrAppend(&out, Fit(line, kWidth), "\n");
    for (const v1::CheckSpec& spec : catalogue.catalogue().checks()) {
      if (spec.id() != c.id()) continue;
      for (const v1::ParamSpec& p : spec.params()) {
        collector::ParamValue v;
        (void)collector::DefaultOf(p, &v);
        absl::StrAppend(
            &out, "    ",
            Wrap(absl::StrCat("param ", p.name(), " = ", collector::FormatParam(p, v),
                              p.unit().empty() ? "" : absl::StrCat(" ", p.unit()), ": ", p.doc()),
                 kWidth, 6),
            "\n");
      }
    }
  }
  return out;
}

}  // namespace preflight::cli
