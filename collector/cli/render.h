// preflightctl's output: the stable JSON documents (collector/README.md, "The CLI
// contract") and tables readable in an 80-column terminal.
#ifndef PREFLIGHT_COLLECTOR_CLI_RENDER_H_
#define PREFLIGHT_COLLECTOR_CLI_RENDER_H_

#include <string>

#include "absl/time/time.h"
#include "preflight/v1/query.pb.h"

namespace preflight::cli {

class JsonWriter;
// "evidence": [{message, source, observed?, expected?}], as every JSON
// document of preflightctl writes it.
void WriteEvidenceJson(JsonWriter& w, const google::protobuf::RepeatedPtrField<v1::Evidence>& e);

std::string StatusJson(const v1::FleetStatus& fleet);
std::string HostJson(const v1::HostStatus& host);
std::string ChecksJson(const v1::CheckCatalogue& catalogue);

std::string StatusTable(const v1::FleetStatus& fleet, absl::Time now);
std::string HostTable(const v1::HostStatus& host, absl::Time now);
std::string ChecksTable(const v1::CheckCatalogue& catalogue);
// The README's check and parameter tables, from the collector's catalogue.
std::string ChecksMarkdown(const v1::CheckCatalogue& catalogue);

// "45s ago", "12m ago", "3h ago", "2d ago"; "never" for 0.
std::string Ago(int64_t unix_ms, absl::Time now);
// Greedy word wrap of `text` to `width` columns, each line after the first
// prefixed with `indent` spaces.
std::string Wrap(const std::string& text, size_t width, size_t indent);

}  // namespace preflight::cli

#endif  // PREFLIGHT_COLLECTOR_CLI_RENDER_H_
