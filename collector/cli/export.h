// Exports of the completed pre-deployment checklist for a security review:
// Markdown, CSV, JSON, a stand-alone HTML page, and JUnit XML for CI gates
// (`preflightctl export --format md|csv|json|html|junit`).
//
// Every format walks the OpenCRVS checklist in its order (the catalogue's items, each
// with its title as the checklist words it), then the checks beyond it. Each
// item lists the catalogue checks that implement it; an automated check has
// one result per host, a manual check one per signed-off environment. The
// header carries the fleet verdict, its reasons, when the status was
// generated, the gating environments and the audit chain head, so that the
// document can be checked against `preflightctl audit --verify`.
//
// A result "blocks readiness" exactly as the fleet verdict counts it: in a
// gating environment, a blocker check that is FAIL or UNKNOWN on a host, a
// manual item that is not ATTESTED or WAIVED, and every result of a host that
// is stale or has never reported. The JUnit export fails exactly those
// results, plus a "fleet.ready" case when the fleet is not ready.
//
// Text from hosts and operators (evidence, notes, reasons) is escaped for
// each format: HTML/XML entities, Markdown punctuation, RFC 4180 quoting. In
// CSV a free-text cell that starts with = + - @ or a control character is
// prefixed with ' so that spreadsheets do not run it as a formula.
#ifndef PREFLIGHT_COLLECTOR_CLI_EXPORT_H_
#define PREFLIGHT_COLLECTOR_CLI_EXPORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "preflight/v1/query.pb.h"

namespace preflight::cli {

enum class ExportFormat { kMarkdown, kCsv, kJson, kHtml, kJunit };

// "md", "csv", "json", "html" or "junit" (case-insensitive); anything else is
// InvalidArgument naming the valid ones.
absl::StatusOr<ExportFormat> ParseExportFormat(absl::string_view name);

// The completed checklist in `format`. `catalogue` gives the checks and their
// order within an item; checks that appear only in `fleet` are added after
// the catalogue's.
std::string ExportChecklist(const v1::FleetStatus& fleet, const v1::CheckCatalogue& catalogue,
                            ExportFormat format);

// The title of checklist item `item` (as the catalogue numbers them) as OpenCRVS's checklist words
// it; "" for any other number.
absl::string_view ChecklistItemTitle(uint32_t item);

}  // namespace preflight::cli

#endif  // PREFLIGHT_COLLECTOR_CLI_EXPORT_H_
