// preflightctl: the operator's CLI. Asks the collector's Query service over
// mutual TLS with an operator (or auditor) certificate.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/audit/audit_chain.h"
#include "collector/cli/export.h"
#include "collector/cli/json_writer.h"
#include "collector/cli/render.h"
#include "collector/cli/status_render.h"
#include "collector/cli/terminal.h"
#include "collector/readiness/engine.h"
#include "collector/readiness/exceptions.h"
#include "preflight/v1/query.grpc.pb.h"
#include "proto/wire/flags.h"
#include "proto/wire/tls.h"

namespace preflight::cli {
namespace {

using flags::Kind;

// Every command and flag of preflightctl, once: parsing, --help and
// COMMAND --help come from here.
const flags::Program& Program() {
  static const flags::Program* program =
      new flags::Program{
          .name = "preflightctl",
          .summary = "Asks the preflight collector whether the fleet is ready to go live.",
          .flags =
              {
                  {.name = "collector",
                   .value_name = "HOST:PORT",
                   .help = "the collector's address",
                   .env = "PREFLIGHT_COLLECTOR",
                   .fallback = "localhost:7443"},
                  {.name = "cert",
                   .value_name = "FILE",
                   .help = "operator (or auditor) certificate",
                   .env = "PREFLIGHT_CERT"},
                  {.name = "key",
                   .value_name = "FILE",
                   .help = "its private key",
                   .env = "PREFLIGHT_KEY"},
                  {.name = "ca",
                   .value_name = "FILE",
                   .help = "the deployment's CA certificate",
                   .env = "PREFLIGHT_CA"},
                  {.name = "server-name",
                   .value_name = "NAME",
                   .help = "name to verify in the collector's certificate",
                   .env = "PREFLIGHT_SERVER_NAME"},
                  {.name = "timeout",
                   .kind = Kind::kInt,
                   .value_name = "SECONDS",
                   .help = "per request",
                   .fallback = "10",
                   .min = 1},
                  {.name = "format",
                   .value_name = "FORMAT",
                   .help = "table or json (default table); the JSON of status and host is a stable "
                           "interface (see README.md); for checks also markdown (the README's "
                           "tables); for export: md, csv, json, html or junit",
                   .choices = "table json markdown md csv html junit"},
              },
          .commands =
              {
                  {.name = "status",
                   .summary = "fleet verdict, why not ready, and one line per inventory host "
                              "(filters choose the hosts listed, never the verdict)",
                   .flags =
                       {
                           {.name = "env",
                            .value_name = "ENV",
                            .help = "list only hosts of this environment"},
                           {.name = "role",
                            .value_name = "ROLE",
                            .help = "list only hosts with this role"},
                           {.name = "failing",
                            .kind = Kind::kBool,
                            .help = "list only hosts that are not ready"},
                           {.name = "host",
                            .value_name = "GLOB",
                            .help = "list only hosts whose id matches, e.g. 'prod-*'"},
                           {.name = "full",
                            .kind = Kind::kBool,
                            .help = "every check of every host with evidence (format_version 1; "
                                    "small fleets: exit 2 past the 16 MiB reply limit)"},
                       }},
                  {.name = "host",
                   .args = "HOST",
                   .min_args = 1,
                   .max_args = 1,
                   .summary = "every check of one host with its evidence and remediation"},
                  {.name = "checks", .summary = "the check catalogue"},
                  {.name = "attest",
                   .args = "CHECK",
                   .min_args = 1,
                   .max_args = 1,
                   .summary = "sign off a manual item for an environment (operators), or withdraw "
                              "that sign-off",
                   .flags =
                       {
                           {.name = "env",
                            .value_name = "ENV",
                            .help = "the environment signed off",
                            .required = true},
                           {.name = "note",
                            .value_name = "TEXT",
                            .help = "what was checked",
                            .unless = "revoke",
                            .excludes = "revoke"},
                           {.name = "evidence",
                            .value_name = "URL",
                            .help = "where the evidence is (a CI run, a ticket)",
                            .excludes = "revoke"},
                           {.name = "expires",
                            .kind = Kind::kDuration,
                            .value_name = "DURATION",
                            .help = "when the sign-off lapses (default and maximum: the policy's "
                                    "max_signoff_days, 180 days unless set)",
                            .excludes = "revoke"},
                           {.name = "despite-evidence",
                            .kind = Kind::kBool,
                            .help = "sign off although preflight's own evidence on the "
                                    "environment's hosts says the item cannot hold (the export "
                                    "shows it)",
                            .excludes = "revoke"},
                           {.name = "revoke", .kind = Kind::kBool, .help = "withdraw the sign-off"},
                       }},
                  {.name = "waive",
                   .args = "CHECK",
                   .min_args = 1,
                   .max_args = 1,
                   .summary = "accept a failing check on a host until the waiver expires, or "
                              "withdraw the waiver",
                   .flags =
                       {
                           {.name = "host",
                            .value_name = "HOST",
                            .help = "the host whose check is waived",
                            .required = true},
                           {.name = "reason",
                            .value_name = "TEXT",
                            .help = "why the failure is accepted",
                            .unless = "revoke",
                            .excludes = "revoke"},
                           {.name = "expires",
                            .kind = Kind::kDuration,
                            .value_name = "DURATION",
                            .help = "when the waiver ends: waivers always end, at most the "
                                    "policy's max_waiver_days (90 days unless set)",
                            .unless = "revoke",
                            .excludes = "revoke"},
                           {.name = "revoke", .kind = Kind::kBool, .help = "withdraw the waiver"},
                       }},
                  {.name = "approve",
                   .args = "CHECK",
                   .min_args = 1,
                   .max_args = 1,
                   .summary = "approve another operator's waiver that awaits a second operator "
                              "(policy waiver_approval_environments)",
                   .flags = {{.name = "host",
                              .value_name = "HOST",
                              .help = "the host whose check was waived",
                              .required = true}}},
                  {.name = "history",
                   .args = "HOST",
                   .min_args = 1,
                   .max_args = 1,
                   .summary = "every verdict change of a host: when each check failed, passed",
                   .flags = {{.name = "check", .value_name = "ID", .help = "only this check"}}},
                  {.name = "diff",
                   .args = "HOST",
                   .min_args = 1,
                   .max_args = 1,
                   .summary = "what changed in the host's facts between two times",
                   .flags = {{.name = "from",
                              .kind = Kind::kTime,
                              .value_name = "TIME",
                              .help = "from then (default: the first report kept)"},
                             {.name = "to",
                              .kind = Kind::kTime,
                              .value_name = "TIME",
                              .help = "up to then (default: now)"}}},
                  {.name = "audit",
                   .summary = "the audit trail; --verify checks the hash chain (exit 1 if broken)",
                   .flags = {{.name = "since",
                              .kind = Kind::kTime,
                              .value_name = "TIME",
                              .help = "only entries since then"},
                             {.name = "verify",
                              .kind = Kind::kBool,
                              .help = "check the hash chain; exit 1 if it is broken"},
                             {.name = "anchor",
                              .value_name = "HEX@SEQ",
                              .help = "with --verify: also prove the trail still holds entry SEQ "
                                      "with that hash, as an earlier export or the collector's "
                                      "'audit anchor' log line recorded it (exit 1 if not; "
                                      "exit 3 if audit retention pruned it)"}}},
                  {.name = "refresh",
                   .args = "[HOST]",
                   .max_args = 1,
                   .summary =
                       "ask connected agents (or one) to collect now; --wait returns when the "
                       "new verdicts are in",
                   .flags = {{.name = "wait",
                              .kind = Kind::kBool,
                              .help = "wait until every asked host has reported again"},
                             {.name = "wait-timeout",
                              .kind = Kind::kInt,
                              .value_name = "SECONDS",
                              .help = "how long --wait waits",
                              .fallback = "120",
                              .min = 1}}},
                  {.name = "export",
                   .summary = "the completed checklist for a security review, --format md, csv, "
                              "json, html or junit (exit 1 if not ready)",
                   .flags = {{.name = "output",
                              .value_name = "FILE",
                              .help = "write it to FILE instead of standard output"}}},
              },
          .notes =
              "exit codes: 0 ready/ok, 1 not ready, 2 usage or config error, 3 cannot reach or "
              "authenticate to the collector"};
  return *program;
}

int Usage(absl::string_view message) { return flags::UsageError(Program(), message); }

// What every command works with.
struct Session {
  explicit Session(const flags::Parsed& parsed) : flags(parsed), args(parsed.args()) {}

  const flags::Parsed& flags;
  const std::vector<std::string>& args;
  std::string target;
  std::string format;  // checked: table or json, or an export format
  bool json = false;
  size_t width = kDefaultWidth;  // of the terminal, for tables (terminal.h)
  absl::Time now;
  std::unique_ptr<v1::Query::Stub> stub;

  // A context with the per-request deadline (--timeout).
  std::unique_ptr<grpc::ClientContext> Context() const {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(flags.Int("timeout")));
    return context;
  }

  // Maps an RPC failure to the exit code contract.
  int Failed(const grpc::Status& status) const {
    // The message may quote what someone typed (a host id, a check id).
    const std::string message = EscapeControl(status.error_message());
    switch (status.error_code()) {
      case grpc::StatusCode::NOT_FOUND:
      case grpc::StatusCode::INVALID_ARGUMENT:
      case grpc::StatusCode::FAILED_PRECONDITION:
        std::fprintf(stderr, "preflightctl: %s\n", message.c_str());
        return 2;
      case grpc::StatusCode::UNAVAILABLE:
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        std::fprintf(stderr,
                     "preflightctl: cannot reach the collector at %s: %s\n(check --collector, "
                     "that the collector runs, and that --ca is the deployment's CA)\n",
                     target.c_str(), message.c_str());
        return 3;
      case grpc::StatusCode::UNAUTHENTICATED:
      case grpc::StatusCode::PERMISSION_DENIED:
        std::fprintf(stderr, "preflightctl: refused by the collector: %s\n", message.c_str());
        return 3;
      default:
        std::fprintf(stderr, "preflightctl: collector error (%d): %s\n",
                     static_cast<int>(status.error_code()), message.c_str());
        return 3;
    }
  }
};

std::string When(int64_t unix_ms) {
  return unix_ms == 0 ? std::string("-")
                      : absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMillis(unix_ms),
                                         absl::UTCTimeZone());
}

void Print(const std::string& out) { std::fwrite(out.data(), 1, out.size(), stdout); }

std::string StatusOf(v1::CheckStatus s) {
  return s == v1::CHECK_STATUS_UNSPECIFIED ? "NONE" : collector::StatusName(s);
}

// The client's own receive limit (16 MiB) refused a reply: too large for
// one message, which no retry changes (exit 2, not 3).
bool TooLargeReply(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
         absl::StrContains(absl::AsciiStrToLower(status.error_message()), "larger than max");
}

int TooLarge(const grpc::Status& status, absl::string_view instead) {
  std::fprintf(stderr, "preflightctl: the collector's reply is over the 16 MiB limit (%s): %s\n",
               status.error_message().c_str(), std::string(instead).c_str());
  return 2;
}

// status --full: GetFleetStatus, the version-1 document.
int StatusFull(Session& s) {
  for (const char* filter : {"env", "role", "failing", "host"}) {
    if (s.flags.Has(filter)) {
      return Usage(absl::StrCat("--full lists every host: drop --", filter));
    }
  }
  v1::FleetStatus fleet;
  grpc::Status st = s.stub->GetFleetStatus(s.Context().get(), v1::FleetStatusRequest(), &fleet);
  if (TooLargeReply(st)) {
    return TooLarge(st, "use `preflightctl status` (summaries) or `preflightctl host HOST`");
  }
  if (!st.ok()) return s.Failed(st);
  Print(s.json ? StatusJson(fleet) : StatusTable(fleet, s.now, s.width));
  return fleet.ready() ? 0 : 1;
}

// The fleet verdict over every host, and a summary of each host the filters
// match, in pages (GetFleetSummary): any fleet size.
int Status(Session& s) {
  if (s.flags.Bool("full")) return StatusFull(s);
  v1::FleetSummaryRequest request;
  request.set_environment(s.flags.String("env"));
  request.set_role(s.flags.String("role"));
  request.set_failing_only(s.flags.Bool("failing"));
  request.set_host_glob(s.flags.String("host"));
  auto context = s.Context();
  auto reader = s.stub->GetFleetSummary(context.get(), request);
  v1::FleetSummaryHeader header;
  std::vector<v1::HostSummary> hosts;
  v1::FleetSummaryPage page;
  while (reader->Read(&page)) {
    if (page.has_header()) {
      header = std::move(*page.mutable_header());
      hosts.reserve(header.matched_hosts());
    }
    for (v1::HostSummary& h : *page.mutable_hosts()) hosts.push_back(std::move(h));
  }
  grpc::Status st = reader->Finish();
  if (TooLargeReply(st)) return TooLarge(st, "a page of the summary should never be");
  if (!st.ok()) return s.Failed(st);
  Print(s.json ? SummaryJson(header, hosts) : SummaryTable(header, hosts, s.now, s.width));
  return header.ready() ? 0 : 1;
}

int Host(Session& s) {
  v1::HostRequest request;
  request.set_host_id(s.args[0]);
  v1::HostStatus host;
  grpc::Status st = s.stub->GetHost(s.Context().get(), request, &host);
  if (!st.ok()) return s.Failed(st);
  Print(s.json ? HostJson(host) : HostTable(host, s.now, s.width));
  return host.ready() ? 0 : 1;
}

int Checks(Session& s) {
  v1::CheckCatalogue catalogue;
  grpc::Status st = s.stub->ListChecks(s.Context().get(), v1::ListChecksRequest(), &catalogue);
  if (!st.ok()) return s.Failed(st);
  Print(s.json                   ? ChecksJson(catalogue)
        : s.format == "markdown" ? ChecksMarkdown(catalogue)
                                 : ChecksTable(catalogue, s.width));
  return 0;
}

int Attest(Session& s) {
  const bool revoke = s.flags.Bool("revoke");
  v1::AttestRequest request;
  request.set_check_id(s.args[0]);
  request.set_environment(s.flags.String("env"));
  request.set_note(s.flags.String("note"));
  request.set_evidence_url(s.flags.String("evidence"));
  request.set_revoke(revoke);
  request.set_despite_evidence(s.flags.Bool("despite-evidence"));
  if (s.flags.Has("expires")) {
    request.set_expires_seconds(absl::ToInt64Seconds(s.flags.Duration("expires")));
  }
  v1::Attestation a;
  grpc::Status st = s.stub->Attest(s.Context().get(), request, &a);
  if (!st.ok()) return s.Failed(st);
  Print(revoke ? absl::StrCat("revoked: ", a.check_id(), " (", a.environment(), ") by ",
                              a.revoked_by(), "\n")
               : absl::StrCat(
                     "attested: ", a.check_id(), " (", a.environment(), ") by ", a.operator_(),
                     " until ",
                     a.expires_at_unix_ms() == 0 ? "revoked" : When(a.expires_at_unix_ms()), "\n",
                     a.despite_evidence()
                         ? absl::StrCat("despite preflight's evidence:\n  ",
                                        absl::StrJoin(a.evidence_against(), "\n  "), "\n")
                         : ""));
  return 0;
}

int Waive(Session& s) {
  const bool revoke = s.flags.Bool("revoke");
  v1::WaiveRequest request;
  request.set_check_id(s.args[0]);
  request.set_host_id(s.flags.String("host"));
  request.set_reason(s.flags.String("reason"));
  request.set_revoke(revoke);
  if (!revoke) request.set_expires_seconds(absl::ToInt64Seconds(s.flags.Duration("expires")));
  v1::Waiver w;
  grpc::Status st = s.stub->Waive(s.Context().get(), request, &w);
  if (!st.ok()) return s.Failed(st);
  Print(revoke
            ? absl::StrCat("waiver withdrawn: ", w.check_id(), " on ", w.host_id(), "\n")
            : absl::StrCat("waived: ", w.check_id(), " on ", w.host_id(), " by ", w.operator_(),
                           " until ", When(w.expires_at_unix_ms()), "\n  accepts ",
                           collector::AcceptedText(w),
                           "; another status or a new finding is not waived\n",
                           w.awaiting_approval()
                               ? absl::StrCat("  awaits a second operator: preflightctl approve ",
                                              w.check_id(), " --host ", w.host_id(), "\n")
                               : ""));
  return 0;
}

int Approve(Session& s) {
  v1::WaiveRequest request;
  request.set_check_id(s.args[0]);
  request.set_host_id(s.flags.String("host"));
  request.set_approve(true);
  v1::Waiver w;
  grpc::Status st = s.stub->Waive(s.Context().get(), request, &w);
  if (!st.ok()) return s.Failed(st);
  Print(absl::StrCat("approved: the waiver of ", w.check_id(), " on ", w.host_id(), " by ",
                     w.operator_(), " (", collector::AcceptedText(w), "), until ",
                     When(w.expires_at_unix_ms()), "\n"));
  return 0;
}

int History(Session& s) {
  const std::string& host = s.args[0];
  const std::string& check = s.flags.String("check");
  v1::HistoryRequest request;
  request.set_host_id(host);
  request.set_check_id(check);
  v1::HistoryResponse history;
  grpc::Status st = s.stub->History(s.Context().get(), request, &history);
  if (!st.ok()) return s.Failed(st);
  if (s.json) {
    JsonWriter w;
    w.BeginObject().Key("host").String(host).Key("transitions").BeginArray();
    for (const auto& t : history.transitions()) {
      w.BeginObject()
          .Key("check")
          .String(t.check_id())
          .Key("from")
          .String(StatusOf(t.from()))
          .Key("to")
          .String(StatusOf(t.to()))
          .Key("at")
          .String(When(t.at_unix_ms()))
          .Key("at_unix_ms")
          .Int(t.at_unix_ms())
          .Key("sequence")
          .Int(static_cast<int64_t>(t.sequence()))
          .Key("summary")
          .String(t.summary())
          .EndObject();
    }
    w.EndArray().EndObject();
    Print(w.Finish());
    return 0;
  }
  std::string out = absl::StrCat("HISTORY of ", EscapeControl(host),
                                 check.empty() ? "" : absl::StrCat(" (", EscapeControl(check), ")"),
                                 ": ", history.transitions_size(), " change(s)\n");
  for (const auto& t : history.transitions()) {
    absl::StrAppend(&out, When(t.at_unix_ms()), "  ", EscapeControl(t.check_id()), "  ",
                    StatusOf(t.from()), " -> ", StatusOf(t.to()), "\n");
    if (!t.summary().empty()) absl::StrAppend(&out, "    ", Wrap(t.summary(), s.width, 4), "\n");
  }
  Print(out);
  return 0;
}

int Diff(Session& s) {
  v1::DiffRequest request;
  request.set_host_id(s.args[0]);
  if (s.flags.Has("from")) request.set_from_unix_ms(absl::ToUnixMillis(s.flags.Time("from")));
  if (s.flags.Has("to")) request.set_to_unix_ms(absl::ToUnixMillis(s.flags.Time("to")));
  v1::DiffResponse diff;
  grpc::Status st = s.stub->Diff(s.Context().get(), request, &diff);
  if (!st.ok()) return s.Failed(st);
  std::string out;
  if (diff.changes().empty()) {
    out = absl::StrCat("no fact of ", EscapeControl(s.args[0]), " changed\n");
  }
  for (const auto& d : diff.changes()) {
    absl::StrAppend(&out, "== ", EscapeControl(d.kind()), ": ", When(d.from_unix_ms()), " -> ",
                    When(d.to_unix_ms()), "\n");
    // Lines quote host files: one line each, whatever they hold.
    for (const auto& line : d.lines()) absl::StrAppend(&out, EscapeControl(line), "\n");
  }
  Print(out);
  return 0;
}

int Audit(Session& s) {
  const bool verify = s.flags.Bool("verify");
  const bool anchored = s.flags.Has("anchor");
  uint64_t anchor_seq = 0;
  std::string anchor_hash;
  if (anchored && !verify) return Usage("--anchor needs --verify");
  if (anchored && s.flags.Has("since"))
    return Usage("--anchor checks the whole trail: drop --since");
  if (anchored &&
      !collector::ParseAuditAnchor(s.flags.String("anchor"), &anchor_seq, &anchor_hash)) {
    return Usage(absl::StrCat("--anchor ", s.flags.String("anchor"),
                              ": expected HEX@SEQ (64 hex digits, '@', the entry number), as "
                              "exports and the collector's 'audit anchor' lines print it"));
  }
  v1::AuditRequest request;
  request.set_verify(verify);
  if (s.flags.Has("since")) request.set_since_unix_ms(absl::ToUnixMillis(s.flags.Time("since")));
  v1::AuditResponse audit;
  grpc::Status st = s.stub->Audit(s.Context().get(), request, &audit);
  if (!st.ok()) return s.Failed(st);
  // The anchor is checked here, on the entries as received: a collector (or
  // whoever rewrote its data directory) cannot vouch for itself.
  collector::AuditVerification anchor_check;
  if (anchored) {
    std::vector<v1::AuditEntry> entries(audit.entries().begin(), audit.entries().end());
    anchor_check = collector::VerifyAuditAnchor(entries, anchor_seq, anchor_hash);
  }
  const std::string head = absl::BytesToHexString(audit.head_hash());
  if (s.json) {
    JsonWriter w;
    w.BeginObject().Key("head").String(head).Key("total").Int(static_cast<int64_t>(audit.total()));
    if (verify) {
      w.Key("verified").Bool(audit.verified()).Key("problems").BeginArray();
      for (const auto& p : audit.problems()) w.String(p);
      w.EndArray();
    }
    if (anchored) {
      w.Key("anchor").BeginObject().Key("anchor").String(s.flags.String("anchor"));
      w.Key("holds").Bool(anchor_check.ok).Key("pruned").Bool(anchor_check.pruned);
      w.Key("problems").BeginArray();
      for (const auto& p : anchor_check.problems) w.String(p);
      w.EndArray().EndObject();
    }
    w.Key("entries").BeginArray();
    for (const auto& e : audit.entries()) {
      w.BeginObject()
          .Key("seq")
          .Int(static_cast<int64_t>(e.seq()))
          .Key("at")
          .String(When(e.at_unix_ms()))
          .Key("actor")
          .String(e.actor())
          .Key("action")
          .String(e.action())
          .Key("subject")
          .String(e.subject())
          .Key("detail")
          .String(e.detail())
          .Key("hash")
          .String(absl::BytesToHexString(e.hash()))
          .EndObject();
    }
    w.EndArray().EndObject();
    Print(w.Finish());
  } else {
    std::string out;
    for (const auto& e : audit.entries()) {
      // Subjects, actors and details quote what operators typed: escaped,
      // so that a note cannot forge an entry's line.
      absl::StrAppend(&out, "#", e.seq(), " ", When(e.at_unix_ms()), " ", EscapeControl(e.action()),
                      " ", EscapeControl(e.subject()), " by ", EscapeControl(e.actor()), "\n");
      if (!e.detail().empty()) absl::StrAppend(&out, "    ", Wrap(e.detail(), s.width, 4), "\n");
    }
    absl::StrAppend(&out, audit.total(), " entries; head ", head, "\n");
    if (verify) {
      // A pruned trail verifies from its newest checkpoint on.
      collector::AuditCheckpoint checkpoint, c;
      uint64_t checkpoint_seq = 0;
      for (const auto& e : audit.entries()) {
        if (collector::ParseAuditCheckpoint(e, &c) && c.first_kept > checkpoint.first_kept) {
          checkpoint = c;
          checkpoint_seq = e.seq();
        }
      }
      const bool pruned = !s.flags.Has("since") && !audit.entries().empty() &&
                          audit.entries(0).seq() != 1 && checkpoint_seq != 0;
      absl::StrAppend(
          &out, !audit.verified() ? "CHAIN BROKEN:\n"
                : pruned ? absl::StrCat("chain verified: every entry from ", checkpoint.first_kept,
                                        " on is intact (entries before it were pruned by audit "
                                        "retention; checkpoint #",
                                        checkpoint_seq, " carries the chain)\n")
                         : "chain verified: every entry is intact\n");
      for (const auto& p : audit.problems()) absl::StrAppend(&out, "  ", EscapeControl(p), "\n");
    }
    if (anchored) {
      absl::StrAppend(&out, anchor_check.ok
                                ? absl::StrCat("anchor holds: entry ", anchor_seq,
                                               " still has the anchored hash, every entry up to it "
                                               "recomputed\n")
                            : anchor_check.pruned ? "ANCHOR PRUNED: neither proven nor disproven\n"
                                                  : "ANCHOR DOES NOT HOLD:\n");
      for (const auto& p : anchor_check.problems) absl::StrAppend(&out, "  ", p, "\n");
    }
    Print(out);
  }
  if (verify && !audit.verified()) return 1;
  if (anchored && anchor_check.pruned) return 3;
  return anchored && !anchor_check.ok ? 1 : 0;
}

int Refresh(Session& s) {
  v1::RefreshRequest request;
  if (!s.args.empty()) request.set_host_id(s.args[0]);
  v1::RefreshResponse r;
  grpc::Status st = s.stub->Refresh(s.Context().get(), request, &r);
  if (!st.ok()) return s.Failed(st);
  Print(absl::StrCat("asked to collect now: ",
                     r.requested().empty() ? "none" : absl::StrJoin(r.requested(), ", "), "\n"));
  if (!r.not_connected().empty()) {
    Print(absl::StrCat("not connected: ", absl::StrJoin(r.not_connected(), ", "), "\n"));
  }
  if (!s.flags.Bool("wait")) return r.requested().empty() ? 1 : 0;
  // Wait until every asked host has a report collected after the request.
  const int64_t wait_timeout_s = s.flags.Int("wait-timeout");
  const absl::Time deadline = absl::Now() + absl::Seconds(wait_timeout_s);
  std::vector<std::string> pending(r.requested().begin(), r.requested().end());
  while (!pending.empty() && absl::Now() < deadline) {
    std::vector<std::string> still;
    for (const std::string& h : pending) {
      v1::HostRequest hr;
      hr.set_host_id(h);
      v1::HostStatus hs;
      grpc::Status hs_status = s.stub->GetHost(s.Context().get(), hr, &hs);
      if (!hs_status.ok()) return s.Failed(hs_status);
      if (hs.last_report_unix_ms() < r.requested_at_unix_ms() - 1000) {
        still.push_back(h);
      } else {
        Print(absl::StrCat(h, ": new verdicts in (", hs.ready() ? "ready" : "not ready", ")\n"));
      }
    }
    pending = std::move(still);
    if (!pending.empty()) absl::SleepFor(absl::Milliseconds(250));
  }
  if (!pending.empty()) {
    std::fprintf(stderr, "preflightctl: no new report within %d s from: %s\n",
                 static_cast<int>(wait_timeout_s), absl::StrJoin(pending, ", ").c_str());
    return 1;
  }
  return r.not_connected().empty() || s.args.empty() ? 0 : 1;
}

int Export(Session& s) {
  // StreamFleetStatus: the header first, then the hosts in bounded chunks,
  // appended here; the collector never builds the whole fleet at once.
  v1::FleetStatus fleet;
  {
    auto context = s.Context();
    auto reader = s.stub->StreamFleetStatus(context.get(), v1::FleetStatusRequest());
    v1::FleetStatus chunk;
    bool first = true;
    while (reader->Read(&chunk)) {
      if (first) {
        fleet = std::move(chunk);
        first = false;
      } else {
        for (v1::HostStatus& h : *chunk.mutable_hosts()) *fleet.add_hosts() = std::move(h);
      }
      chunk.Clear();
    }
    grpc::Status st = reader->Finish();
    if (TooLargeReply(st)) return TooLarge(st, "a chunk of the export should never be");
    if (!st.ok()) return s.Failed(st);
  }
  grpc::Status st;
  v1::CheckCatalogue catalogue;
  st = s.stub->ListChecks(s.Context().get(), v1::ListChecksRequest(), &catalogue);
  if (!st.ok()) return s.Failed(st);
  std::string out = ExportChecklist(fleet, catalogue, *ParseExportFormat(s.format));
  const std::string& output = s.flags.String("output");
  if (output.empty()) {
    Print(out);
  } else {
    FILE* f = std::fopen(output.c_str(), "w");
    if (f == nullptr || std::fwrite(out.data(), 1, out.size(), f) != out.size() ||
        std::fclose(f) != 0) {
      std::fprintf(stderr, "preflightctl: cannot write %s\n", output.c_str());
      return 2;
    }
  }
  return fleet.ready() ? 0 : 1;
}

using Handler = int (*)(Session&);
const std::map<absl::string_view, Handler> kHandlers = {
    {"status", Status}, {"host", Host},       {"checks", Checks},   {"attest", Attest},
    {"waive", Waive},   {"approve", Approve}, {"history", History}, {"diff", Diff},
    {"audit", Audit},   {"refresh", Refresh}, {"export", Export}};

// Checks what the table cannot (the format a command prints, the operator's
// certificate), connects, and runs the command.
int Run(const flags::Parsed& flags) {
  const absl::string_view command = flags.command()->name;
  auto handler = kHandlers.find(command);
  if (handler == kHandlers.end()) {
    std::fprintf(stderr, "preflightctl: no code for the command '%s'\n",
                 std::string(command).c_str());
    std::abort();
  }
  Session s(flags);
  s.target = flags.String("collector");
  s.format = flags.String("format");
  if (command == "export") {
    if (s.format.empty()) return Usage("export needs --format md|csv|json|html|junit");
    if (auto parsed = ParseExportFormat(s.format); !parsed.ok()) {
      return Usage(parsed.status().message());
    }
  } else if (s.format.empty()) {
    s.format = "table";
  } else if (command == "checks" && s.format == "markdown") {
    // The README's check and parameter tables.
  } else if (s.format != "table" && s.format != "json") {
    return Usage(absl::StrCat("--format must be table or json",
                              command == "checks" ? " or markdown" : "", ", not '", s.format, "'"));
  }
  s.json = s.format == "json";
  v1::TlsFiles tls;
  tls.set_cert_file(flags.String("cert"));
  tls.set_key_file(flags.String("key"));
  tls.set_ca_file(flags.String("ca"));
  tls.set_server_name(flags.String("server-name"));
  if (tls.cert_file().empty() || tls.key_file().empty() || tls.ca_file().empty()) {
    return Usage(
        "an operator certificate is needed: --cert, --key and --ca (or PREFLIGHT_CERT, "
        "PREFLIGHT_KEY, PREFLIGHT_CA)");
  }
  // A local mistake in the TLS files (missing, not PEM, a key of another
  // certificate) is a usage error naming the file, not a failed handshake.
  if (absl::Status files = CheckTlsFiles(tls); !files.ok()) return Usage(files.message());
  auto channel = MakeChannel(s.target, tls);
  if (!channel.ok()) return Usage(channel.status().message());
  s.width = TerminalWidth(STDOUT_FILENO);
  s.stub = v1::Query::NewStub(*channel);
  s.now = absl::Now();
  return handler->second(s);
}

}  // namespace
}  // namespace preflight::cli

int main(int argc, char** argv) {
  preflight::flags::Parsed flags;
  if (auto exit = preflight::flags::ParseOrExit(preflight::cli::Program(), argc, argv, &flags)) {
    return *exit;
  }
  return preflight::cli::Run(flags);
}
