// Revocation reaches open streams, and a CRL past its nextUpdate fails
// closed (with a week's warning), with a real collector, real agents and
// CRLs made by certs/ (openssl ca).
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "collector/store/keys.h"
#include "collector/store/store.h"
#include "tests/support/cluster.h"

namespace preflight::testing {
namespace {

// The serial of a certificate as openssl prints it.
std::string SerialOf(const std::string& cert_file) {
  RunResult r =
      RunProcess({"openssl", "x509", "-noout", "-serial", "-in", cert_file}, absl::Seconds(10));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return std::string(absl::StripAsciiWhitespace(r.out.substr(r.out.find('=') + 1)));
}

// The CRL's nextUpdate as openssl prints it, "YYYY-MM-DD HH:MM:SS".
std::string NextUpdateOf(const std::string& crl_file) {
  RunResult r = RunProcess(
      {"openssl", "crl", "-noout", "-nextupdate", "-dateopt", "iso_8601", "-in", crl_file},
      absl::Seconds(10));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string value(absl::StripAsciiWhitespace(r.out.substr(r.out.find('=') + 1)));
  if (!value.empty() && value.back() == 'Z') value.pop_back();
  return value;
}

int Count(absl::string_view text, absl::string_view needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != absl::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// Lines of `text` holding every one of `needles`.
int LinesWith(const std::string& text, std::initializer_list<absl::string_view> needles) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    bool all = true;
    for (absl::string_view needle : needles) all = all && absl::StrContains(line, needle);
    n += all ? 1 : 0;
  }
  return n;
}

// Entries of `preflightctl audit` output ("#N time action method by actor",
// then the detail wrapped and indented) holding every one of `needles`.
int EntriesWith(const std::string& audit, std::initializer_list<absl::string_view> needles) {
  const std::string flat = absl::StrReplaceAll(audit, {{"\n    ", " "}});
  int n = 0;
  for (absl::string_view entry : absl::StrSplit(flat, '\n')) {
    if (!absl::StartsWith(entry, "#")) continue;
    bool all = true;
    for (absl::string_view needle : needles) all = all && absl::StrContains(entry, needle);
    n += all ? 1 : 0;
  }
  return n;
}

class RevocationTest : public ::testing::Test {
 protected:
  RevocationTest() : cluster_(OneManager()) {}

  std::string AgentLog() { return ReadFile(cluster_.dir().Join("agent-prod-01/daemon.err")); }

  // Starts a streaming agent and waits until its first report is stored.
  std::unique_ptr<Process> StreamingAgent() {
    auto agent = cluster_.StartAgent("prod-01", FixtureRoot("opencrvs-manager"));
    EXPECT_TRUE(WaitFor(
        [&] { return absl::StrContains(cluster_.collector_log(), "stored report prod-01"); },
        absl::Seconds(60)))
        << cluster_.collector_log() << AgentLog();
    return agent;
  }

  TestCluster cluster_;
};

// The agent sends nothing after its first report, so only the collector's
// watch of the CRL file can end its stream.
TEST_F(RevocationTest, RevokedWhileStreamingTheStreamEndsWithinSeconds) {
  cluster_.StartCollector();
  auto agent = StreamingAgent();
  const int stored_before = Count(cluster_.collector_log(), "stored report prod-01");
  const std::string cert = cluster_.pki().HostTls("prod-01").cert_file();
  const std::string serial = SerialOf(cert);
  ASSERT_FALSE(serial.empty());

  const absl::Time revoked_at = absl::Now();
  cluster_.pki().Revoke(cert);
  ASSERT_TRUE(WaitFor(
      [&] {
        std::string log = AgentLog();
        return absl::StrContains(log, "stream ended (PERMISSION_DENIED") &&
               absl::StrContains(log, "revoked");
      },
      absl::Seconds(15)))
      << AgentLog() << cluster_.collector_log();
  EXPECT_LT(absl::Now() - revoked_at, absl::Seconds(15));
  EXPECT_TRUE(absl::StrContains(cluster_.collector_log(), "ended 1 open stream(s)"))
      << cluster_.collector_log();

  // The agent reconnects and is refused; the operator asks it for a report,
  // and it cannot be reached.
  ASSERT_TRUE(WaitFor([&] { return Count(AgentLog(), "stream ended (PERMISSION_DENIED") >= 2; },
                      absl::Seconds(30)))
      << AgentLog();
  RunResult refresh = cluster_.Ctl({"refresh", "prod-01"});
  EXPECT_TRUE(absl::StrContains(refresh.out, "not connected: prod-01")) << refresh.out;

  // The audit names the host, the serial and "revoked".
  RunResult audit = cluster_.Ctl({"audit", "--verify"});
  ASSERT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  EXPECT_GE(EntriesWith(audit.out, {"refused Ingest.Stream", serial, "revoked"}), 2) << audit.out;

  agent->Signal(SIGTERM);
  agent->Wait(absl::Seconds(30));
  cluster_.StopCollector(SIGTERM);
  EXPECT_EQ(static_cast<int>(StoredSequences(cluster_.data_dir()).size()), stored_before);
}

// Without the collector's watch of the file (--test-crl-poll-ms 0), a report
// sent on a stream opened before the revocation is checked against the CRL
// as it is now: refused, not stored, not acked, audited.
TEST_F(RevocationTest, ReportOnAnOpenStreamIsCheckedAgainstTheCurrentCrl) {
  cluster_.StartCollector({"--test-crl-poll-ms", "0"});
  auto agent = StreamingAgent();
  const int stored_before = Count(cluster_.collector_log(), "stored report prod-01");
  const std::string cert = cluster_.pki().HostTls("prod-01").cert_file();
  const std::string serial = SerialOf(cert);
  cluster_.pki().Revoke(cert);

  // The stream is still open: the collector asks the agent for a report.
  RunResult refresh = cluster_.Ctl({"refresh", "prod-01"});
  ASSERT_EQ(refresh.exit_code, 0) << refresh.out << refresh.err;
  ASSERT_TRUE(
      WaitFor([&] { return absl::StrContains(AgentLog(), "stream ended (PERMISSION_DENIED"); },
              absl::Seconds(30)))
      << AgentLog() << cluster_.collector_log();
  EXPECT_TRUE(absl::StrContains(AgentLog(), "collector asks for a report")) << AgentLog();
  EXPECT_EQ(Count(cluster_.collector_log(), "stored report prod-01"), stored_before)
      << cluster_.collector_log();

  RunResult audit = cluster_.Ctl({"audit", "--verify"});
  ASSERT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  EXPECT_GE(EntriesWith(audit.out, {"refused Ingest.Stream", serial, "revoked"}), 1) << audit.out;

  agent->Signal(SIGTERM);
  agent->Wait(absl::Seconds(30));
  cluster_.StopCollector(SIGTERM);
  EXPECT_EQ(static_cast<int>(StoredSequences(cluster_.data_dir()).size()), stored_before);
  // The refused report waits in the agent's spool.
  RunResult spool =
      RunProcess({"sh", "-c", "ls " + cluster_.SpoolDir("prod-01") + "/reports | grep -c '\\.pb$'"},
                 absl::Seconds(10));
  EXPECT_GE(std::atoi(spool.out.c_str()), 1) << spool.out;
}

// A CRL past its nextUpdate: nobody's revocation state is known, so agents
// and operators are refused with the date, once logged and audited per
// identity per minute; re-signing it restores service without a restart.
TEST_F(RevocationTest, CrlPastNextUpdateRefusesAgentsAndOperators) {
  cluster_.StartCollector();
  auto agent = StreamingAgent();
  const absl::Time now = absl::Now();
  cluster_.pki().ResignCrlValid(now - absl::Hours(48), now - absl::Hours(1));
  const std::string expired =
      absl::StrCat("the CRL expired on ", NextUpdateOf(cluster_.pki().crl()));

  // The open stream ends.
  ASSERT_TRUE(WaitFor([&] { return absl::StrContains(AgentLog(), expired); }, absl::Seconds(15)))
      << AgentLog() << cluster_.collector_log();
  // Operators are refused too, with the reason.
  for (int i = 0; i < 3; ++i) {
    RunResult status = cluster_.Ctl({"status"});
    EXPECT_NE(status.exit_code, 0);
    EXPECT_TRUE(absl::StrContains(status.err, expired)) << status.err;
    EXPECT_TRUE(absl::StrContains(status.err, "revocation state unknown")) << status.err;
    EXPECT_TRUE(absl::StrContains(status.err, "certs/preflight-certs crl")) << status.err;
  }
  agent->Signal(SIGTERM);
  agent->Wait(absl::Seconds(30));
  RunResult once = cluster_.AgentOnce("prod-01", FixtureRoot("opencrvs-manager"), 10);
  EXPECT_EQ(once.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(once.err, expired)) << once.err;

  // Logged, at most once per identity and minute.
  const std::string log = cluster_.collector_log();
  EXPECT_GE(LinesWith(log, {"every certificate is refused", NextUpdateOf(cluster_.pki().crl())}), 1)
      << log;
  EXPECT_EQ(LinesWith(log, {"refused", "GetFleetSummary", expired}), 1) << log;

  // Re-signed: served again at once, and the refusals are in the audit.
  cluster_.pki().ResignCrl(30);
  RunResult audit = cluster_.Ctl({"audit", "--verify"});
  ASSERT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  EXPECT_EQ(EntriesWith(audit.out, {"denied GetFleetSummary", "expired"}), 1) << audit.out;
  EXPECT_GE(EntriesWith(audit.out, {"refused Ingest.Stream", "expired"}), 1) << audit.out;
  RunResult again = cluster_.AgentOnce("prod-01", FixtureRoot("opencrvs-manager"));
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

// A collector started with an expired CRL starts (so that it can say why it
// refuses everybody) and warns in its log.
TEST_F(RevocationTest, StartedWithAnExpiredCrlWarnsAndRefuses) {
  const absl::Time now = absl::Now();
  cluster_.pki().ResignCrlValid(now - absl::Hours(48), now - absl::Minutes(5));
  const std::string date = NextUpdateOf(cluster_.pki().crl());
  cluster_.StartCollector();
  EXPECT_TRUE(WaitFor(
      [&] {
        return LinesWith(cluster_.collector_log(), {"WARNING: the CRL", "expired on", date}) >= 1;
      },
      absl::Seconds(10)))
      << cluster_.collector_log();
  RunResult status = cluster_.Ctl({"status"});
  EXPECT_NE(status.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(status.err, absl::StrCat("the CRL expired on ", date)))
      << status.err;
}

// Within 7 days of nextUpdate, `preflightctl status` (table and JSON) and the
// collector's log say when everybody will be refused; not before.
TEST_F(RevocationTest, CrlWithinAWeekOfNextUpdateWarnsInStatus) {
  cluster_.StartCollector();
  RunResult calm = cluster_.Ctl({"status"});
  ASSERT_TRUE(absl::StrContains(calm.out, "FLEET:")) << calm.out << calm.err;
  EXPECT_FALSE(absl::StrContains(calm.out, "CRL")) << calm.out;
  RunResult calm_json = cluster_.Ctl({"status", "--format", "json"});
  EXPECT_FALSE(absl::StrContains(calm_json.out, "crl_warning")) << calm_json.out;
  cluster_.StopCollector(SIGTERM);

  cluster_.pki().ResignCrl(3);
  const std::string date = NextUpdateOf(cluster_.pki().crl());
  cluster_.StartCollector();
  RunResult table = cluster_.Ctl({"status"});
  ASSERT_TRUE(absl::StrContains(table.out, "FLEET:")) << table.out << table.err;
  // The table wraps long lines, indenting the rest by two.
  const std::string flat = absl::StrReplaceAll(table.out, {{"\n  ", " "}});
  EXPECT_EQ(LinesWith(flat, {"WARNING: the CRL", "expires on", date, "every certificate"}), 1)
      << table.out;
  RunResult json = cluster_.Ctl({"status", "--format", "json"});
  ASSERT_TRUE(absl::StrContains(json.out, "\"ready\"")) << json.out << json.err;
  EXPECT_TRUE(absl::StrContains(json.out, "\"crl_warning\"")) << json.out;
  EXPECT_TRUE(absl::StrContains(json.out, date)) << json.out;
  EXPECT_EQ(LinesWith(cluster_.collector_log(), {"WARNING: the CRL", "expires on", date}), 1)
      << cluster_.collector_log();
  // Agents are still served meanwhile.
  RunResult once = cluster_.AgentOnce("prod-01", FixtureRoot("opencrvs-manager"));
  EXPECT_EQ(once.exit_code, 0) << once.err;
}

}  // namespace
}  // namespace preflight::testing
