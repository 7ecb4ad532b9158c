// preflightctl: the operator's CLI. Asks the collector's Query service over
// mutual TLS with an operator (or auditor) certificate.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/cli/render.h"
#include "preflight/v1/query.grpc.pb.h"
#include "proto/wire/tls.h"

namespace {

constexpr char kUsage[] = R"(usage: preflightctl [options] COMMAND [args] [--format table|json]

Asks the preflight collector whether the fleet is ready to go live.

commands:
  status        fleet verdict: every inventory host, its checks, why not ready
  host HOST     every check of one host with its evidence and remediation
  checks        the check catalogue

options (each also read from the environment variable shown):
  --collector HOST:PORT  collector address         PREFLIGHT_COLLECTOR (default localhost:7443)
  --cert FILE            operator certificate      PREFLIGHT_CERT
  --key FILE             operator private key      PREFLIGHT_KEY
  --ca FILE              CA certificate            PREFLIGHT_CA
  --server-name NAME     name to verify in the collector's certificate
                                                   PREFLIGHT_SERVER_NAME
  --timeout SECONDS      per request (default 10)
  --format table|json    output format (default table); the JSON of status and
                         host is a stable interface (see README.md)
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

}  // namespace

int main(int argc, char** argv) {
  std::string target = Env("PREFLIGHT_COLLECTOR", "localhost:7443");
  preflight::v1::TlsFiles tls;
  tls.set_cert_file(Env("PREFLIGHT_CERT"));
  tls.set_key_file(Env("PREFLIGHT_KEY"));
  tls.set_ca_file(Env("PREFLIGHT_CA"));
  tls.set_server_name(Env("PREFLIGHT_SERVER_NAME"));
  std::string format = "table";
  int timeout_s = 10;
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
  if (args.empty()) return Usage("a command is needed: status, host HOST or checks");
  if (format != "table" && format != "json") {
    return Usage("--format must be table or json, not '" + format + "'");
  }
  const std::string& command = args[0];
  size_t want_args = command == "host" ? 2 : 1;
  if (command != "status" && command != "host" && command != "checks") {
    return Usage("unknown command '" + command + "' (status, host HOST, checks)");
  }
  if (args.size() != want_args) {
    return Usage(command == "host" ? "usage: preflightctl host HOST"
                                   : "'" + command + "' takes no arguments");
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
  preflight::v1::CheckCatalogue catalogue;
  grpc::Status s = stub->ListChecks(&context, preflight::v1::ListChecksRequest(), &catalogue);
  if (!s.ok()) return RpcFailure(s, target);
  std::string out =
      json ? preflight::cli::ChecksJson(catalogue) : preflight::cli::ChecksTable(catalogue);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}
