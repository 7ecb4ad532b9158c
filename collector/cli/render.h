// preflightctl's output: the stable JSON documents (collector/README.md, "The CLI
// contract") and tables that fit the terminal's width (80 when not a terminal).
#ifndef PREFLIGHT_COLLECTOR_CLI_RENDER_H_
#define PREFLIGHT_COLLECTOR_CLI_RENDER_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "preflight/v1/query.pb.h"

namespace preflight::cli {

class JsonWriter;
// "evidence": [{message, source, observed?, expected?}], as every JSON
// document of preflightctl writes it.
void WriteEvidenceJson(JsonWriter& w, const google::protobuf::RepeatedPtrField<v1::Evidence>& e);

// "unknown_nodes": [{"hostname", "address", "role", "state", "reported_by",
// "environment", "gating", "seen_at_unix_ms"}]: swarm nodes no inventory host
// matches (README, "No server can hide"); written always, [] when none.
void WriteUnknownNodesJson(JsonWriter& w,
                           const google::protobuf::RepeatedPtrField<v1::UnknownNode>& nodes);
// The table's section for them: a heading and one wrapped line per node;
// empty when there is none.
std::string UnknownNodesText(const google::protobuf::RepeatedPtrField<v1::UnknownNode>& nodes,
                             size_t width);

// "countryconfig": {"outcome": "same" | "different" | "not_compared",
// "warning", "summary", "versions": [{"environment", "reported_by",
// "service", "image", "version", "seen_at_unix_ms", "problem"?}]}: production's
// country configuration against staging's (README, "Country configuration:
// production against staging"); left out when the collector sent none (one
// older than the comparison).
void WriteCountryconfigJson(JsonWriter& w, const v1::CountryconfigComparison& countryconfig);
// Its section of the table: the comparison (WARNING: when they differ), then
// each manager's country configuration, one line each; empty when the
// collector sent none.
std::string CountryconfigText(const v1::CountryconfigComparison& countryconfig, size_t width);

std::string StatusJson(const v1::FleetStatus& fleet);
std::string HostJson(const v1::HostStatus& host);
std::string ChecksJson(const v1::CheckCatalogue& catalogue);

// Tables laid out for a terminal `width` columns wide (TerminalWidth(),
// terminal.h): columns are as wide as their content, ids and statuses are
// never cut (an id too long for its column gets a line of its own, and only
// an id longer than the whole width makes a line longer than `width`); free
// text is wrapped. Every user- or host-supplied string goes through
// EscapeControl first.
std::string StatusTable(const v1::FleetStatus& fleet, absl::Time now, size_t width = 80);
std::string HostTable(const v1::HostStatus& host, absl::Time now, size_t width = 80);
std::string ChecksTable(const v1::CheckCatalogue& catalogue, size_t width = 80);
// The README's check and parameter tables, from the collector's catalogue.
std::string ChecksMarkdown(const v1::CheckCatalogue& catalogue);

// "45s ago", "12m ago", "3h ago", "2d ago"; "never" for 0.
std::string Ago(int64_t unix_ms, absl::Time now);
// Greedy word wrap of `text` to `width` columns, each line after the first
// prefixed with `indent` spaces. Control characters in `text` are escaped
// first (EscapeControl), so wrapped text never starts a line of its own.
std::string Wrap(const std::string& text, size_t width, size_t indent);
// `prefix` (already safe, e.g. escaped), then `text` wrapped to `width`: its
// first line after the prefix, the next ones indented by `indent`.
std::string WrapAfter(absl::string_view prefix, const std::string& text, size_t width,
                      size_t indent);

}  // namespace preflight::cli

#endif  // PREFLIGHT_COLLECTOR_CLI_RENDER_H_
