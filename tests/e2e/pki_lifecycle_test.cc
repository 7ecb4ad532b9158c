// The PKI's life with real processes: a collector, agents and preflightctl,
// certificates made and changed by certs/preflight-certs at test time
// (decommissioning, renewal, expiry warnings), as certs/README.md documents.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/support/cluster.h"
#include "tests/support/json.h"

namespace preflight::testing {
namespace {

// preflight-certs --dir <the cluster's PKI> ARGS...; fails the test unless it
// exits 0. Its stdout.
std::string Certs(TestCluster& cluster, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {PREFLIGHT_CERTS_TOOL, "--dir", cluster.pki().dir()};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = RunProcess(argv, absl::Seconds(60));
  EXPECT_EQ(r.exit_code, 0) << "preflight-certs " << args[0] << ": " << r.err;
  return r.out;
}

// The serial of a certificate as openssl prints it.
std::string SerialOf(const std::string& cert_file) {
  RunResult r =
      RunProcess({"openssl", "x509", "-noout", "-serial", "-in", cert_file}, absl::Seconds(10));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return std::string(absl::StripAsciiWhitespace(r.out.substr(r.out.find('=') + 1)));
}

// Audit entries (preflightctl audit --format json) whose fields, joined,
// hold every one of `needles`.
int AuditWith(TestCluster& cluster, std::initializer_list<absl::string_view> needles) {
  int n = 0;
  for (const google::protobuf::Value& e : cluster.AuditEntries()) {
    std::string text;
    for (const auto& [key, value] : e.struct_value().fields()) {
      absl::StrAppend(&text, key, "=", value.string_value(), " ");
    }
    bool all = true;
    for (absl::string_view needle : needles) all = all && absl::StrContains(text, needle);
    n += all ? 1 : 0;
  }
  return n;
}

int Count(absl::string_view text, absl::string_view needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != absl::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

v1::Inventory TwoManagers() {
  v1::Inventory inv = OneManager();
  auto* h = inv.add_hosts();
  h->set_id("prod-02");
  h->set_environment("production");
  h->add_roles("manager");
  return inv;
}

std::vector<std::string> HostIds(const std::string& status_json) {
  std::vector<std::string> ids;
  google::protobuf::Value v = ParseJson(status_json);
  for (const auto& h : Field(v, "hosts").list_value().values()) {
    ids.push_back(Field(h, "host").string_value());
  }
  return ids;
}

// certs/README.md "Decommissioning a server", step by step: revoke (which
// re-signs crl.pem), remove the host from the inventory, reload the
// collector. The host's open stream ends at the revocation, every later
// stream is refused and audited, and a new certificate for the same name is
// refused too (it is no longer in the inventory).
TEST(PkiLifecycleTest, DecommissionSequence) {
  TestCluster cluster(TwoManagers());
  cluster.StartCollector();
  const std::string root = FixtureRoot("opencrvs-manager");
  auto agent = cluster.StartAgent("prod-02", root);
  ASSERT_TRUE(
      WaitFor([&] { return absl::StrContains(cluster.collector_log(), "stored report prod-02"); },
              absl::Seconds(60)))
      << cluster.collector_log();
  const std::string agent_log = cluster.dir().Join("agent-prod-02/daemon.err");
  const std::string cert = cluster.pki().HostTls("prod-02").cert_file();
  const std::string serial = SerialOf(cert);

  // 1. Revoke; the CRL is re-signed in the same step (and is the collector's
  //    crl_file here: no copy needed).
  const std::string out = Certs(cluster, {"revoke", cert, "--reason", "cessationOfOperation"});
  EXPECT_TRUE(absl::StrContains(out, "revoked serial " + serial)) << out;
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string log = ReadFile(agent_log);
        return absl::StrContains(log, "PERMISSION_DENIED") && absl::StrContains(log, "revoked");
      },
      absl::Seconds(20)))
      << ReadFile(agent_log) << cluster.collector_log();
  agent->Signal(SIGTERM);
  agent->Wait(absl::Seconds(30));

  // 2. Remove it from the inventory; 3. reload the collector (SIGHUP, as
  //    `systemctl reload preflight-collector` sends).
  v1::Inventory remaining = OneManager();
  cluster.SetInventory(remaining);
  cluster.WriteCollectorConfig();
  const int reloads = Count(cluster.collector_log(), "reloaded ");
  ASSERT_EQ(kill(cluster.collector_pid(), SIGHUP), 0);
  ASSERT_TRUE(WaitFor([&] { return Count(cluster.collector_log(), "reloaded ") > reloads; },
                      absl::Seconds(30)))
      << cluster.collector_log();

  // Its next stream is refused, with the serial, and audited.
  RunResult once = cluster.AgentOnce("prod-02", root, 10);
  EXPECT_EQ(once.exit_code, 1) << once.err;
  EXPECT_TRUE(absl::StrContains(once.err, "serial " + serial + " is revoked")) << once.err;
  EXPECT_GE(AuditWith(cluster, {"Ingest.Stream", serial, "revoked"}), 2);
  RunResult status = cluster.Ctl({"status", "--format", "json"});
  ASSERT_LE(status.exit_code, 1) << status.err;  // 1: the fleet is not ready
  EXPECT_EQ(HostIds(status.out), std::vector<std::string>{"prod-01"}) << status.out;

  // Re-enrolled under the same name without being added back: refused too.
  Certs(cluster, {"host", "prod-02", "--force"});
  RunResult again = cluster.AgentOnce("prod-02", root, 10);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(again.err, "not in the collector's inventory")) << again.err;
  EXPECT_GE(AuditWith(cluster, {"Ingest.Stream", "prod-02", "not in the collector's inventory"}),
            1);
  // The other host is untouched.
  RunResult other = cluster.AgentOnce("prod-01", root, 20);
  EXPECT_EQ(other.exit_code, 0) << other.err;
}

// openssl's notAfter of a certificate as the collector formats it,
// "YYYY-MM-DD HH:MM:SS UTC".
std::string NotAfterOf(const std::string& cert_file) {
  RunResult r = RunProcess(
      {"openssl", "x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in", cert_file},
      absl::Seconds(10));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string v(absl::StripAsciiWhitespace(r.out.substr(r.out.find('=') + 1)));
  if (!v.empty() && v.back() == 'Z') v.pop_back();
  return v + " UTC";
}

// A host certificate issued for 10 days and a collector certificate renewed
// for 5 are named in `preflightctl status` (JSON and table) with the dates
// openssl reads in them; a host certificate of 825 days is not.
TEST(PkiLifecycleTest, CertificatesExpiringWithin30DaysAreWarnedInStatus) {
  TestCluster cluster(TwoManagers());
  const std::string short_cert = cluster.pki().HostTls("prod-02").cert_file();
  Certs(cluster, {"host", "prod-02", "--days", "10", "--force"});
  const std::string collector_cert = cluster.pki().CollectorTls().cert_file();
  Certs(cluster, {"renew", collector_cert, "--days", "5"});
  cluster.StartCollector();
  const std::string root = FixtureRoot("opencrvs-manager");
  for (const char* host : {"prod-01", "prod-02"}) {
    RunResult once = cluster.AgentOnce(host, root);
    ASSERT_EQ(once.exit_code, 0) << host << once.err;
  }

  RunResult json = cluster.Ctl({"status", "--full", "--format", "json"});
  ASSERT_LE(json.exit_code, 1) << json.err;  // 1: the fleet is not ready
  google::protobuf::Value fleet = ParseJson(json.out);
  const google::protobuf::Value* p1 = FindBy(Field(fleet, "hosts"), "host", "prod-01");
  const google::protobuf::Value* p2 = FindBy(Field(fleet, "hosts"), "host", "prod-02");
  ASSERT_NE(p1, nullptr);
  ASSERT_NE(p2, nullptr);
  const google::protobuf::Value& c1 = Field(*p1, "certificate");
  const google::protobuf::Value& c2 = Field(*p2, "certificate");
  EXPECT_EQ(Field(c1, "serial").string_value(),
            SerialOf(cluster.pki().HostTls("prod-01").cert_file()));
  EXPECT_EQ(c1.struct_value().fields().count("warning"), 0u) << json.out;
  EXPECT_EQ(Field(c2, "serial").string_value(), SerialOf(short_cert));
  const std::string short_end = NotAfterOf(short_cert);
  // The JSON's RFC 3339 time names the same second as openssl.
  EXPECT_TRUE(absl::StartsWith(Field(c2, "not_after").string_value(), short_end.substr(0, 10)))
      << Field(c2, "not_after").string_value() << " vs " << short_end;
  const std::string warning = Field(c2, "warning").string_value();
  EXPECT_TRUE(absl::StrContains(warning, "the certificate of host prod-02")) << warning;
  EXPECT_TRUE(absl::StrContains(warning, "expires on " + short_end)) << warning;
  EXPECT_TRUE(absl::StrContains(warning, "(in 9 day(s))")) << warning;
  EXPECT_TRUE(absl::StrContains(warning, "preflight-certs renew")) << warning;

  // The collector's own certificate; the CA (10 years) is not named.
  const google::protobuf::Value& own = Field(fleet, "cert_warnings");
  ASSERT_EQ(own.list_value().values_size(), 1) << json.out;
  const std::string w = own.list_value().values(0).string_value();
  EXPECT_TRUE(absl::StrContains(w, "the collector's certificate")) << w;
  EXPECT_TRUE(absl::StrContains(w, "expires on " + NotAfterOf(collector_cert))) << w;
  EXPECT_TRUE(absl::StrContains(w, "(in 4 day(s))")) << w;

  RunResult table = cluster.Ctl({"status"});
  EXPECT_TRUE(absl::StrContains(table.out, "CERT    the certificate of host prod-02")) << table.out;
  EXPECT_EQ(Count(table.out, "CERT    "), 1) << table.out;
  EXPECT_TRUE(absl::StrContains(table.out, "WARNING: the collector's certificate")) << table.out;
}

// The agent's certificate is renewed with `preflight-certs renew` while it
// streams: asked for a report, it sees the new file, reconnects with it (the
// collector logs the new serial at the handshake), and goes on reporting
// after the old certificate is revoked. No restart.
TEST(PkiLifecycleTest, AgentPicksUpARenewedCertificateWithoutRestart) {
  TestCluster cluster(OneManager());
  cluster.StartCollector();
  auto agent = cluster.StartAgent("prod-01", FixtureRoot("opencrvs-manager"));
  const std::string agent_log = cluster.dir().Join("agent-prod-01/daemon.err");
  ASSERT_TRUE(
      WaitFor([&] { return absl::StrContains(cluster.collector_log(), "stored report prod-01"); },
              absl::Seconds(60)))
      << cluster.collector_log();
  const std::string cert = cluster.pki().HostTls("prod-01").cert_file();
  const std::string old_serial = SerialOf(cert);
  const std::string old_copy = cluster.dir().Join("prod-01.old.pem");
  WriteFile(old_copy, ReadFile(cert));
  ASSERT_TRUE(absl::StrContains(cluster.collector_log(),
                                "stream of host prod-01 opened: certificate serial " + old_serial))
      << cluster.collector_log();

  const std::string renewed = Certs(cluster, {"renew", cert});
  EXPECT_EQ(renewed, cert + "\n");
  const std::string new_serial = SerialOf(cert);
  ASSERT_NE(new_serial, old_serial);
  RunResult refresh = cluster.Ctl({"refresh", "prod-01"});
  ASSERT_EQ(refresh.exit_code, 0) << refresh.err;
  ASSERT_TRUE(WaitFor(
      [&] {
        return absl::StrContains(cluster.collector_log(),
                                 "stream of host prod-01 opened: certificate serial " + new_serial);
      },
      absl::Seconds(30)))
      << ReadFile(agent_log) << cluster.collector_log();
  EXPECT_TRUE(absl::StrContains(
      ReadFile(agent_log),
      "now presenting certificate serial " + new_serial + ", notAfter " + NotAfterOf(cert)))
      << ReadFile(agent_log);

  // The old certificate revoked: the agent, on its new one, goes on.
  Certs(cluster, {"revoke", old_copy});
  const int stored = Count(cluster.collector_log(), "stored report prod-01");
  refresh = cluster.Ctl({"refresh", "prod-01"});
  ASSERT_EQ(refresh.exit_code, 0) << refresh.err;
  EXPECT_TRUE(
      WaitFor([&] { return Count(cluster.collector_log(), "stored report prod-01") > stored; },
              absl::Seconds(30)))
      << ReadFile(agent_log) << cluster.collector_log();
  RunResult json = cluster.Ctl({"status", "--full", "--format", "json"});
  ASSERT_LE(json.exit_code, 1) << json.err;  // 1: the fleet is not ready
  const google::protobuf::Value status = ParseJson(json.out);
  const google::protobuf::Value* host = FindBy(Field(status, "hosts"), "host", "prod-01");
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(Field(Field(*host, "certificate"), "serial").string_value(), new_serial) << json.out;
  EXPECT_EQ(Count(ReadFile(agent_log), "PERMISSION_DENIED"), 0) << ReadFile(agent_log);
  agent->Signal(SIGTERM);
  EXPECT_EQ(agent->Wait(absl::Seconds(30)), 0);
}

// A renewal with a new key (`csr` on the host, `renew --csr` on the CA):
// while the host has the new certificate but still the old key, the agent
// keeps the old pair (logged once, no reconnecting over and over); once the
// new key is in place, it presents the new certificate.
TEST(PkiLifecycleTest, AgentTakesANewKeyOnlyWithItsCertificate) {
  TestCluster cluster(OneManager());
  cluster.StartCollector();
  auto agent = cluster.StartAgent("prod-01", FixtureRoot("opencrvs-manager"));
  const std::string agent_log = cluster.dir().Join("agent-prod-01/daemon.err");
  auto stored = [&] { return Count(cluster.collector_log(), "stored report prod-01"); };
  auto opened = [&](const std::string& serial) {
    return Count(cluster.collector_log(),
                 "stream of host prod-01 opened: certificate serial " + serial);
  };
  ASSERT_TRUE(WaitFor([&] { return stored() >= 1; }, absl::Seconds(60))) << cluster.collector_log();
  const v1::TlsFiles tls = cluster.pki().HostTls("prod-01");
  const std::string old_serial = SerialOf(tls.cert_file());
  const std::string old_key = ReadFile(tls.key_file());
  const std::string new_key = cluster.dir().Join("host/new.key");
  const std::string csr = cluster.dir().Join("host/new.csr");
  Certs(cluster, {"csr", "prod-01", "--key", new_key, "--out", csr});
  Certs(cluster, {"renew", tls.cert_file(), "--csr", csr});
  const std::string new_serial = SerialOf(tls.cert_file());
  ASSERT_NE(new_serial, old_serial);
  // `renew` removed the CA directory's copy of the old key (it is not the
  // new certificate's); on the host the old key is still there.
  WriteFile(tls.key_file(), old_key, 0600);

  const int before = stored();
  ASSERT_EQ(cluster.Ctl({"refresh", "prod-01"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return stored() > before; }, absl::Seconds(30)))
      << ReadFile(agent_log) << cluster.collector_log();
  EXPECT_EQ(Count(ReadFile(agent_log), "are not a certificate and its key (yet)"), 1)
      << ReadFile(agent_log);
  EXPECT_EQ(opened(new_serial), 0) << cluster.collector_log();
  const int old_streams = opened(old_serial);
  const int again = stored();
  ASSERT_EQ(cluster.Ctl({"refresh", "prod-01"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return stored() > again; }, absl::Seconds(30))) << ReadFile(agent_log);
  EXPECT_EQ(opened(old_serial), old_streams) << "reconnected for the same unusable files";
  EXPECT_EQ(Count(ReadFile(agent_log), "are not a certificate and its key (yet)"), 1);

  // The new key arrives.
  WriteFile(tls.key_file(), ReadFile(new_key), 0600);
  ASSERT_EQ(cluster.Ctl({"refresh", "prod-01"}).exit_code, 0);
  EXPECT_TRUE(WaitFor([&] { return opened(new_serial) >= 1; }, absl::Seconds(30)))
      << ReadFile(agent_log) << cluster.collector_log();
  EXPECT_TRUE(
      absl::StrContains(ReadFile(agent_log), "now presenting certificate serial " + new_serial))
      << ReadFile(agent_log);
  agent->Signal(SIGTERM);
  EXPECT_EQ(agent->Wait(absl::Seconds(30)), 0);
}

}  // namespace
}  // namespace preflight::testing
