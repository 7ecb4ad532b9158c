// preflightctl: the operator's CLI. Asks the collector's Query service over
// mutual TLS with an operator (or auditor) certificate.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/audit/audit_chain.h"
#include "collector/cli/export.h"
#include "collector/cli/json_writer.h"
#include "collector/cli/render.h"
#include "collector/readiness/engine.h"
#include "preflight/v1/query.grpc.pb.h"
#include "proto/wire/tls.h"

namespace {

constexpr char kUsage[] = R"(usage: preflightctl [options] COMMAND [args] [--format table|json]

Asks the preflight collector whether the fleet is ready to go live.

commands:
  status        fleet verdict: every inventory host, its checks, why not ready
  host HOST     every check of one host with its evidence and remediation
  checks        the check catalogue
  attest CHECK --env ENV --note TEXT [--evidence URL] [--expires DURATION]
                sign off a manual item for an environment (operators)
  attest CHECK --env ENV --revoke
                withdraw that sign-off
  waive CHECK --host HOST --reason TEXT --expires DURATION
                accept a failing check on a host until the waiver expires
  waive CHECK --host HOST --revoke
  history HOST [--check ID]
                every verdict change of a host: when each check failed, passed
  diff HOST [--from TIME] [--to TIME]
                what changed in the host's facts between two times
  audit [--since TIME] [--verify]
                the audit trail; --verify checks the hash chain (exit 1 if broken)
  refresh [HOST] [--wait]
                ask connected agents to collect now; --wait returns when the
                new verdicts are in (up to --wait-timeout, default 120 s)
  export --format md|csv|json|html|junit [--output FILE]
                the completed checklist for a security review (exit 1 if not ready)

DURATION: 90s, 30m, 12h, 30d (or seconds). TIME: 2026-11-26, 2026-11-26T10:00:00Z,
or a DURATION meaning that long ago.

options (each also read from the environment variable shown):
  --collector HOST:PORT  collector address         PREFLIGHT_COLLECTOR (default localhost:7443)
  --cert FILE            operator certificate      PREFLIGHT_CERT
  --key FILE             operator private key      PREFLIGHT_KEY
  --ca FILE              CA certificate            PREFLIGHT_CA
  --server-name NAME     name to verify in the collector's certificate
                                                   PREFLIGHT_SERVER_NAME
  --timeout SECONDS      per request (default 10)
  --format FORMAT        table or json (default table); the JSON of status and
                         host is a stable interface (see README.md); for
                         export: md, csv, json, html or junit
  --help                 this text

exit codes: 0 ready/ok, 1 not ready, 2 usage or config error,
            3 cannot reach or authenticate to the collector
)";

int Usage(const std::string& message) {
  std::fprintf(stderr, "preflightctl: %s\n(see preflightctl --help)\n", message.c_str());
  return 2;
}

std::string Env(const char* name, const char* fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// Maps an RPC failure to the exit code contract.
int RpcFailure(const grpc::Status& status, const std::string& target) {
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
      std::fprintf(stderr, "preflightctl: %s\n", status.error_message().c_str());
      return 2;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      std::fprintf(stderr,
                   "preflightctl: cannot reach the collector at %s: %s\n(check --collector, "
                   "that the collector runs, and that --ca is the deployment's CA)\n",
                   target.c_str(), status.error_message().c_str());
      return 3;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      std::fprintf(stderr, "preflightctl: refused by the collector: %s\n",
                   status.error_message().c_str());
      return 3;
    default:
      std::fprintf(stderr, "preflightctl: collector error (%d): %s\n",
                   static_cast<int>(status.error_code()), status.error_message().c_str());
      return 3;
  }
}

// "90s", "30m", "12h", "30d", or plain seconds.
bool ParseDuration(const std::string& s, uint64_t* seconds) {
  if (s.empty()) return false;
  uint64_t unit = 1;
  std::string digits = s;
  switch (s.back()) {
    case 's':
      digits.pop_back();
      break;
    case 'm':
      unit = 60;
      digits.pop_back();
      break;
    case 'h':
      unit = 3600;
      digits.pop_back();
      break;
    case 'd':
      unit = 86400;
      digits.pop_back();
      break;
    default:
      break;
  }
  uint64_t n = 0;
  if (!absl::SimpleAtoi(digits, &n) || n == 0 || n > 100ull * 365 * 86400 / unit) return false;
  *seconds = n * unit;
  return true;
}

// RFC 3339, YYYY-MM-DD (UTC midnight), or a duration meaning that long ago.
bool ParseWhen(const std::string& s, absl::Time now, int64_t* unix_ms) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err) ||
      absl::ParseTime("%Y-%m-%d", s, absl::UTCTimeZone(), &t, &err)) {
    *unix_ms = absl::ToUnixMillis(t);
    return true;
  }
  uint64_t ago = 0;
  if (!ParseDuration(s, &ago)) return false;
  *unix_ms = absl::ToUnixMillis(now - absl::Seconds(static_cast<int64_t>(ago)));
  return true;
}

std::string When(int64_t unix_ms) {
  return unix_ms == 0 ? std::string("-")
                      : absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMillis(unix_ms),
                                         absl::UTCTimeZone());
}

void Print(const std::string& out) { std::fwrite(out.data(), 1, out.size(), stdout); }

std::string StatusOf(preflight::v1::CheckStatus s) {
  return s == preflight::v1::CHECK_STATUS_UNSPECIFIED ? "NONE"
                                                      : preflight::collector::StatusName(s);
}

}  // namespace

int main(int argc, char** argv) {
  std::string target = Env("PREFLIGHT_COLLECTOR", "localhost:7443");
  preflight::v1::TlsFiles tls;
  tls.set_cert_file(Env("PREFLIGHT_CERT"));
  tls.set_key_file(Env("PREFLIGHT_KEY"));
  tls.set_ca_file(Env("PREFLIGHT_CA"));
  tls.set_server_name(Env("PREFLIGHT_SERVER_NAME"));
  std::string format;
  int timeout_s = 10;
  int wait_timeout_s = 120;
  std::string env, note, evidence, expires, host_flag, reason, check_flag, from, to, since, output;
  bool revoke = false, verify = false, wait = false;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string value;
    bool has_value = false;
    if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
      value = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
      has_value = true;
    }
    auto take = [&]() -> bool {
      if (has_value) return true;
      if (i + 1 >= argc) return false;
      value = argv[++i];
      return true;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--revoke" || a == "--verify" || a == "--wait") {
      if (has_value) return Usage(a + " takes no value");
      if (a == "--revoke") revoke = true;
      if (a == "--verify") verify = true;
      if (a == "--wait") wait = true;
    } else if (a == "--env" || a == "--note" || a == "--evidence" || a == "--expires" ||
               a == "--host" || a == "--reason" || a == "--check" || a == "--from" || a == "--to" ||
               a == "--since" || a == "--output" || a == "--wait-timeout") {
      if (!take()) return Usage(a + " needs a value");
      std::string* dst = a == "--env"        ? &env
                         : a == "--note"     ? &note
                         : a == "--evidence" ? &evidence
                         : a == "--expires"  ? &expires
                         : a == "--host"     ? &host_flag
                         : a == "--reason"   ? &reason
                         : a == "--check"    ? &check_flag
                         : a == "--from"     ? &from
                         : a == "--to"       ? &to
                         : a == "--since"    ? &since
                                             : &output;
      if (a == "--wait-timeout") {
        if (!absl::SimpleAtoi(value, &wait_timeout_s) || wait_timeout_s <= 0) {
          return Usage("--wait-timeout needs a positive number of seconds");
        }
      } else {
        *dst = value;
      }
    } else if (a == "--collector" || a == "--cert" || a == "--key" || a == "--ca" ||
               a == "--server-name" || a == "--format" || a == "--timeout") {
      if (!take()) return Usage(a + " needs a value");
      if (a == "--collector") target = value;
      if (a == "--cert") tls.set_cert_file(value);
      if (a == "--key") tls.set_key_file(value);
      if (a == "--ca") tls.set_ca_file(value);
      if (a == "--server-name") tls.set_server_name(value);
      if (a == "--format") format = value;
      if (a == "--timeout" && (!absl::SimpleAtoi(value, &timeout_s) || timeout_s <= 0)) {
        return Usage("--timeout needs a positive number of seconds");
      }
    } else if (a.rfind("-", 0) == 0) {
      return Usage("unknown option '" + a + "'");
    } else {
      args.push_back(a);
    }
  }
  if (args.empty()) return Usage("a command is needed: status, host HOST, checks, ... (--help)");
  const std::string& command = args[0];
  const bool is_export = command == "export";
  if (format.empty()) format = is_export ? "" : "table";
  if (is_export) {
    if (format.empty()) return Usage("export needs --format md|csv|json|html|junit");
    if (!preflight::cli::ParseExportFormat(format).ok()) {
      return Usage(std::string(preflight::cli::ParseExportFormat(format).status().message()));
    }
  } else if (format != "table" && format != "json") {
    return Usage("--format must be table or json, not '" + format + "'");
  }
  static const std::vector<std::string> kCommands = {"status",  "host",    "checks", "attest",
                                                     "waive",   "history", "diff",   "audit",
                                                     "refresh", "export"};
  if (std::find(kCommands.begin(), kCommands.end(), command) == kCommands.end()) {
    return Usage("unknown command '" + command + "' (" + absl::StrJoin(kCommands, ", ") + ")");
  }
  const bool one_arg = command == "host" || command == "attest" || command == "waive" ||
                       command == "history" || command == "diff";
  if (one_arg && args.size() != 2) {
    return Usage("usage: preflightctl " + command +
                 (command == "attest" || command == "waive" ? " CHECK ..." : " HOST ..."));
  }
  if (command == "refresh" ? args.size() > 2 : !one_arg && args.size() != 1) {
    return Usage("'" + command + "' takes " +
                 (command == "refresh" ? "at most one host" : "no arguments"));
  }
  if (tls.cert_file().empty() || tls.key_file().empty() || tls.ca_file().empty()) {
    return Usage(
        "an operator certificate is needed: --cert, --key and --ca (or PREFLIGHT_CERT, "
        "PREFLIGHT_KEY, PREFLIGHT_CA)");
  }
  auto channel = preflight::MakeChannel(target, tls);
  if (!channel.ok()) return Usage(std::string(channel.status().message()));
  auto stub = preflight::v1::Query::NewStub(*channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_s));
  bool json = format == "json";
  absl::Time now = absl::Now();

  if (command == "status") {
    preflight::v1::FleetStatus fleet;
    grpc::Status s = stub->GetFleetStatus(&context, preflight::v1::FleetStatusRequest(), &fleet);
    if (!s.ok()) return RpcFailure(s, target);
    std::string out =
        json ? preflight::cli::StatusJson(fleet) : preflight::cli::StatusTable(fleet, now);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return fleet.ready() ? 0 : 1;
  }
  if (command == "host") {
    preflight::v1::HostRequest request;
    request.set_host_id(args[1]);
    preflight::v1::HostStatus host;
    grpc::Status s = stub->GetHost(&context, request, &host);
    if (!s.ok()) return RpcFailure(s, target);
    std::string out = json ? preflight::cli::HostJson(host) : preflight::cli::HostTable(host, now);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return host.ready() ? 0 : 1;
  }
  if (command == "attest") {
    preflight::v1::AttestRequest request;
    request.set_check_id(args[1]);
    request.set_environment(env);
    request.set_note(note);
    request.set_evidence_url(evidence);
    request.set_revoke(revoke);
    if (env.empty()) return Usage("attest needs --env ENV");
    if (!revoke && note.empty()) return Usage("attest needs --note TEXT (what was checked)");
    if (!expires.empty()) {
      uint64_t seconds = 0;
      if (!ParseDuration(expires, &seconds)) {
        return Usage("--expires needs a duration such as 30d, 12h or 3600, not '" + expires + "'");
      }
      request.set_expires_seconds(seconds);
    }
    preflight::v1::Attestation a;
    grpc::Status s = stub->Attest(&context, request, &a);
    if (!s.ok()) return RpcFailure(s, target);
    Print(revoke
              ? absl::StrCat("revoked: ", a.check_id(), " (", a.environment(), ") by ",
                             a.revoked_by(), "\n")
              : absl::StrCat("attested: ", a.check_id(), " (", a.environment(), ") by ",
                             a.operator_(), " until ",
                             a.expires_at_unix_ms() == 0 ? "revoked" : When(a.expires_at_unix_ms()),
                             "\n"));
    return 0;
  }
  if (command == "waive") {
    preflight::v1::WaiveRequest request;
    request.set_check_id(args[1]);
    request.set_host_id(host_flag);
    request.set_reason(reason);
    request.set_revoke(revoke);
    if (host_flag.empty()) return Usage("waive needs --host HOST");
    if (!revoke) {
      if (reason.empty()) return Usage("waive needs --reason TEXT");
      uint64_t seconds = 0;
      if (!ParseDuration(expires, &seconds)) {
        return Usage("waive needs --expires DURATION (e.g. 30d): waivers always end");
      }
      request.set_expires_seconds(seconds);
    }
    preflight::v1::Waiver w;
    grpc::Status s = stub->Waive(&context, request, &w);
    if (!s.ok()) return RpcFailure(s, target);
    Print(revoke ? absl::StrCat("waiver withdrawn: ", w.check_id(), " on ", w.host_id(), "\n")
                 : absl::StrCat("waived: ", w.check_id(), " on ", w.host_id(), " by ",
                                w.operator_(), " until ", When(w.expires_at_unix_ms()), "\n"));
    return 0;
  }
  if (command == "history") {
    preflight::v1::HistoryRequest request;
    request.set_host_id(args[1]);
    request.set_check_id(check_flag);
    preflight::v1::HistoryResponse history;
    grpc::Status s = stub->History(&context, request, &history);
    if (!s.ok()) return RpcFailure(s, target);
    if (json) {
      preflight::cli::JsonWriter w;
      w.BeginObject().Key("host").String(args[1]).Key("transitions").BeginArray();
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
    std::string out = absl::StrCat("HISTORY of ", args[1],
                                   check_flag.empty() ? "" : absl::StrCat(" (", check_flag, ")"),
                                   ": ", history.transitions_size(), " change(s)\n");
    for (const auto& t : history.transitions()) {
      absl::StrAppend(&out, When(t.at_unix_ms()), "  ", t.check_id(), "  ", StatusOf(t.from()),
                      " -> ", StatusOf(t.to()), "\n");
      if (!t.summary().empty()) {
        absl::StrAppend(&out, "    ", preflight::cli::Wrap(t.summary(), 76, 4), "\n");
      }
    }
    Print(out);
    return 0;
  }
  if (command == "diff") {
    preflight::v1::DiffRequest request;
    request.set_host_id(args[1]);
    int64_t ms = 0;
    if (!from.empty()) {
      if (!ParseWhen(from, now, &ms)) return Usage("--from needs a TIME, not '" + from + "'");
      request.set_from_unix_ms(ms);
    }
    if (!to.empty()) {
      if (!ParseWhen(to, now, &ms)) return Usage("--to needs a TIME, not '" + to + "'");
      request.set_to_unix_ms(ms);
    }
    preflight::v1::DiffResponse diff;
    grpc::Status s = stub->Diff(&context, request, &diff);
    if (!s.ok()) return RpcFailure(s, target);
    std::string out;
    if (diff.changes().empty()) out = absl::StrCat("no fact of ", args[1], " changed\n");
    for (const auto& d : diff.changes()) {
      absl::StrAppend(&out, "== ", d.kind(), ": ", When(d.from_unix_ms()), " -> ",
                      When(d.to_unix_ms()), "\n");
      for (const auto& line : d.lines()) absl::StrAppend(&out, line, "\n");
    }
    Print(out);
    return 0;
  }
  if (command == "audit") {
    preflight::v1::AuditRequest request;
    request.set_verify(verify);
    if (!since.empty()) {
      int64_t ms = 0;
      if (!ParseWhen(since, now, &ms)) return Usage("--since needs a TIME, not '" + since + "'");
      request.set_since_unix_ms(ms);
    }
    preflight::v1::AuditResponse audit;
    grpc::Status s = stub->Audit(&context, request, &audit);
    if (!s.ok()) return RpcFailure(s, target);
    const std::string head = preflight::collector::HexOf(audit.head_hash());
    if (json) {
      preflight::cli::JsonWriter w;
      w.BeginObject().Key("head").String(head).Key("total").Int(
          static_cast<int64_t>(audit.total()));
      if (verify) {
        w.Key("verified").Bool(audit.verified()).Key("problems").BeginArray();
        for (const auto& p : audit.problems()) w.String(p);
        w.EndArray();
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
            .String(preflight::collector::HexOf(e.hash()))
            .EndObject();
      }
      w.EndArray().EndObject();
      Print(w.Finish());
    } else {
      std::string out;
      for (const auto& e : audit.entries()) {
        absl::StrAppend(&out, "#", e.seq(), " ", When(e.at_unix_ms()), " ", e.action(), " ",
                        e.subject(), " by ", e.actor(), "\n");
        if (!e.detail().empty()) {
          absl::StrAppend(&out, "    ", preflight::cli::Wrap(e.detail(), 76, 4), "\n");
        }
      }
      absl::StrAppend(&out, audit.total(), " entries; head ", head, "\n");
      if (verify) {
        absl::StrAppend(
            &out, audit.verified() ? "chain verified: every entry is intact\n" : "CHAIN BROKEN:\n");
        for (const auto& p : audit.problems()) absl::StrAppend(&out, "  ", p, "\n");
      }
      Print(out);
    }
    return verify && !audit.verified() ? 1 : 0;
  }
  if (command == "refresh") {
    preflight::v1::RefreshRequest request;
    if (args.size() == 2) request.set_host_id(args[1]);
    preflight::v1::RefreshResponse r;
    grpc::Status s = stub->Refresh(&context, request, &r);
    if (!s.ok()) return RpcFailure(s, target);
    Print(absl::StrCat("asked to collect now: ",
                       r.requested().empty() ? "none" : absl::StrJoin(r.requested(), ", "), "\n"));
    if (!r.not_connected().empty()) {
      Print(absl::StrCat("not connected: ", absl::StrJoin(r.not_connected(), ", "), "\n"));
    }
    if (!wait) return r.requested().empty() ? 1 : 0;
    // Wait until every asked host has a report collected after the request.
    const absl::Time deadline = absl::Now() + absl::Seconds(wait_timeout_s);
    std::vector<std::string> pending(r.requested().begin(), r.requested().end());
    while (!pending.empty() && absl::Now() < deadline) {
      std::vector<std::string> still;
      for (const std::string& h : pending) {
        grpc::ClientContext c;
        c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_s));
        preflight::v1::HostRequest hr;
        hr.set_host_id(h);
        preflight::v1::HostStatus hs;
        grpc::Status hs_status = stub->GetHost(&c, hr, &hs);
        if (!hs_status.ok()) return RpcFailure(hs_status, target);
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
      std::fprintf(stderr, "preflightctl: no new report within %d s from: %s\n", wait_timeout_s,
                   absl::StrJoin(pending, ", ").c_str());
      return 1;
    }
    return r.not_connected().empty() || args.size() == 1 ? 0 : 1;
  }
  if (is_export) {
    preflight::v1::FleetStatus fleet;
    grpc::Status s = stub->GetFleetStatus(&context, preflight::v1::FleetStatusRequest(), &fleet);
    if (!s.ok()) return RpcFailure(s, target);
    grpc::ClientContext c2;
    c2.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_s));
    preflight::v1::CheckCatalogue cat;
    s = stub->ListChecks(&c2, preflight::v1::ListChecksRequest(), &cat);
    if (!s.ok()) return RpcFailure(s, target);
    std::string out =
        preflight::cli::ExportChecklist(fleet, cat, *preflight::cli::ParseExportFormat(format));
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
  preflight::v1::CheckCatalogue catalogue;
  grpc::Status s = stub->ListChecks(&context, preflight::v1::ListChecksRequest(), &catalogue);
  if (!s.ok()) return RpcFailure(s, target);
  std::string out =
      json ? preflight::cli::ChecksJson(catalogue) : preflight::cli::ChecksTable(catalogue);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}
