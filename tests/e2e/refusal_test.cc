// Refusals at the collector, with real certificates and a real collector
// process: each is refused with a clear status and logged.
#include <google/protobuf/text_format.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "preflight/v1/ingest.grpc.pb.h"
#include "preflight/v1/query.grpc.pb.h"
#include "proto/wire/textproto.h"
#include "proto/wire/tls.h"
#include "tests/support/cluster.h"
#include "tests/support/json.h"

namespace preflight::testing {
namespace {

v1::Inventory OneHost() {
  v1::Inventory inv;
  auto* h = inv.add_hosts();
  h->set_id("prod-01");
  h->set_environment("production");
  auto* other = inv.add_hosts();
  other->set_id("prod-02");
  other->set_environment("production");
  return inv;
}

class RefusalTest : public ::testing::Test {
 protected:
  RefusalTest() : cluster_(OneHost()) {}
  void SetUp() override { cluster_.StartCollector(); }

  std::shared_ptr<grpc::Channel> Channel(const v1::TlsFiles& tls) {
    auto channel = MakeChannel(cluster_.target(), tls);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return *channel;
  }

  grpc::Status QueryWith(std::shared_ptr<grpc::Channel> channel) {
    auto stub = v1::Query::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::FleetStatus out;
    return stub->GetFleetStatus(&ctx, v1::FleetStatusRequest(), &out);
  }

  // Opens a stream, sends `messages`, half-closes and returns the final status.
  grpc::Status StreamWith(std::shared_ptr<grpc::Channel> channel,
                          const std::vector<v1::AgentMessage>& messages, int* acks = nullptr) {
    auto stub = v1::Ingest::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto stream = stub->Stream(&ctx);
    for (const auto& m : messages) {
      if (!stream->Write(m)) break;
    }
    stream->WritesDone();
    v1::CollectorMessage in;
    int n = 0;
    while (stream->Read(&in)) n += in.has_ack() ? 1 : 0;
    if (acks != nullptr) *acks = n;
    return stream->Finish();
  }

  static v1::AgentMessage Hello(const std::string& host) {
    v1::AgentMessage m;
    m.mutable_hello()->set_host_id(host);
    m.mutable_hello()->set_agent_instance("0123456789abcdef0123456789abcdef");
    return m;
  }

  static v1::AgentMessage Report(const std::string& host, uint64_t seq) {
    v1::AgentMessage m;
    m.mutable_report()->set_host_id(host);
    m.mutable_report()->set_agent_instance("0123456789abcdef0123456789abcdef");
    m.mutable_report()->set_sequence(seq);
    m.mutable_report()->set_collected_at_unix_ms(1);
    return m;
  }

  // The details of the audit entries of refusals at the TLS handshake.
  std::vector<std::string> HandshakeRefusalsAudited() {
    std::vector<std::string> out;
    for (const auto& e : cluster_.AuditEntries()) {
      if (Field(e, "action").string_value() == "refused" &&
          Field(e, "subject").string_value() == "tls-handshake") {
        out.push_back(Field(e, "detail").string_value());
      }
    }
    return out;
  }

  // How many "refused" audit entries mention `text`.
  int RefusalsAuditedWith(absl::string_view text) {
    int n = 0;
    for (const auto& e : cluster_.AuditEntries()) {
      n += Field(e, "action").string_value() == "refused" &&
                   absl::StrContains(Field(e, "detail").string_value(), text)
               ? 1
               : 0;
    }
    return n;
  }

  static int CountContaining(const std::vector<std::string>& lines, absl::string_view what) {
    int n = 0;
    for (const std::string& l : lines) n += absl::StrContains(l, what) ? 1 : 0;
    return n;
  }

  TestCluster cluster_;
};

TEST_F(RefusalTest, OwnHostReportIsAcked) {
  int acks = 0;
  grpc::Status s = StreamWith(Channel(cluster_.pki().HostTls("prod-01")),
                              {Hello("prod-01"), Report("prod-01", 1)}, &acks);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(acks, 1);
}

TEST_F(RefusalTest, NoClientCertificate) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(cluster_.pki().ca());
  grpc::ChannelArguments args;
  auto channel = grpc::CreateCustomChannel(cluster_.target(), grpc::SslCredentials(options), args);
  grpc::Status s = QueryWith(channel);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_FALSE(StreamWith(channel, {Hello("prod-01"), Report("prod-01", 1)}).ok());
  // The collector saw it, said so and audited it.
  EXPECT_TRUE(absl::StrContains(cluster_.collector_log(),
                                "TLS handshake: no client certificate: the client presented no "
                                "certificate"))
      << cluster_.collector_log();
  EXPECT_TRUE(WaitFor(
      [&] {
        return CountContaining(HandshakeRefusalsAudited(), "TLS handshake: no client certificate") >
               0;
      },
      absl::Seconds(10)));
}

TEST_F(RefusalTest, CertificateFromAnotherCa) {
  TestPki other(cluster_.dir().Join("other-pki"), TestCluster::kTrustDomain);
  other.IssueHost("prod-01");
  other.IssueOperator("alice");
  // The client trusts the real CA, so only the collector's check decides.
  v1::TlsFiles host = other.HostTls("prod-01");
  host.set_ca_file(cluster_.pki().ca());
  int acks = 0;
  grpc::Status s = StreamWith(Channel(host), {Hello("prod-01"), Report("prod-01", 1)}, &acks);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(acks, 0);
  v1::TlsFiles op = other.OperatorTls("alice");
  op.set_ca_file(cluster_.pki().ca());
  EXPECT_FALSE(QueryWith(Channel(op)).ok());
  // And the agent binary says it was not delivered.
  v1::AgentConfig config;
  ASSERT_TRUE(LoadTextProtoFile(cluster_.AgentConfig("prod-01", 3), &config).ok());
  *config.mutable_tls() = host;
  std::string text;
  google::protobuf::TextFormat::PrintToString(config, &text);
  WriteFile(cluster_.dir().Join("foreign.textproto"), text);
  RunResult r =
      RunProcess({PREFLIGHT_AGENT_BIN, "--config", cluster_.dir().Join("foreign.textproto"),
                  "--once", "--root", FixtureRoot("opencrvs-manager")},
                 absl::Seconds(60));
  EXPECT_EQ(r.exit_code, 1) << r.err;

  // Every refusal at the handshake is logged with what the certificate says
  // of itself and OpenSSL's reason, the one `openssl verify` gives too.
  RunResult reference = RunProcess(
      {"openssl", "verify", "-CAfile", cluster_.pki().ca(), host.cert_file()}, absl::Seconds(10));
  ASSERT_NE(reference.exit_code, 0);
  const std::string want_reason = "unable to get local issuer certificate";
  ASSERT_TRUE(absl::StrContains(reference.out + reference.err, want_reason))
      << reference.out << reference.err;
  RunResult serial = RunProcess({"openssl", "x509", "-noout", "-serial", "-in", host.cert_file()},
                                absl::Seconds(10));
  ASSERT_TRUE(absl::StartsWith(serial.out, "serial="));
  const std::string want_serial(absl::StripAsciiWhitespace(serial.out.substr(7)));
  const std::string log = cluster_.collector_log();
  EXPECT_TRUE(absl::StrContains(log, absl::StrCat("refused a client at the TLS handshake"))) << log;
  EXPECT_TRUE(absl::StrContains(log, absl::StrCat(want_reason, " (certificate subject \""))) << log;
  EXPECT_TRUE(absl::StrContains(log, absl::StrCat("serial ", want_serial))) << log;
  // Audited too: the agent retried, but one entry per certificate per minute.
  ASSERT_TRUE(WaitFor([&] { return CountContaining(HandshakeRefusalsAudited(), want_serial) > 0; },
                      absl::Seconds(10)));
  EXPECT_EQ(CountContaining(HandshakeRefusalsAudited(), absl::StrCat("serial ", want_serial, ",")),
            1);
  RunResult verify = cluster_.Ctl({"audit", "--verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

TEST_F(RefusalTest, AgentClaimingAnotherHost) {
  auto channel = Channel(cluster_.pki().HostTls("prod-01"));
  grpc::Status s = StreamWith(channel, {Hello("prod-02")});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "prod-02")) << s.error_message();

  int acks = 0;
  s = StreamWith(channel, {Hello("prod-01"), Report("prod-02", 1)}, &acks);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "may not report for host 'prod-02'"))
      << s.error_message();
  EXPECT_EQ(acks, 0);
  EXPECT_TRUE(absl::StrContains(cluster_.collector_log(), "refused")) << cluster_.collector_log();
  // Refused connections are in the audit trail.
  RunResult audit = cluster_.Ctl({"audit", "--verify"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  EXPECT_TRUE(absl::StrContains(audit.out, "refused Ingest.Stream")) << audit.out;
  EXPECT_TRUE(absl::StrContains(audit.out, "may not report for host 'prod-02'")) << audit.out;
}

TEST_F(RefusalTest, HostMissingFromInventory) {
  cluster_.pki().IssueHost("ghost");
  grpc::Status s =
      StreamWith(Channel(cluster_.pki().HostTls("ghost")), {Hello("ghost"), Report("ghost", 1)});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "'ghost' is not in the collector's inventory"))
      << s.error_message();
  // The agent binary gives up at once with that message, exit 1.
  RunResult r = cluster_.AgentOnce("ghost", FixtureRoot("opencrvs-manager"), 20);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "not in the collector's inventory")) << r.err;
  EXPECT_TRUE(absl::StrContains(cluster_.collector_log(), "ghost")) << cluster_.collector_log();
}

TEST_F(RefusalTest, AgentMayNotQuery) {
  grpc::Status s = QueryWith(Channel(cluster_.pki().HostTls("prod-01")));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "host/prod-01")) << s.error_message();
  EXPECT_TRUE(absl::StrContains(cluster_.collector_log(), "refused")) << cluster_.collector_log();
}

TEST_F(RefusalTest, OperatorMayNotStreamReports) {
  grpc::Status s = StreamWith(Channel(cluster_.pki().OperatorTls("alice")),
                              {Hello("prod-01"), Report("prod-01", 1)});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "operator/alice")) << s.error_message();
  RunResult audit = cluster_.Ctl({"audit"});
  EXPECT_TRUE(absl::StrContains(audit.out, "operator/alice may not stream reports")) << audit.out;
}

TEST_F(RefusalTest, RevokedCertificatesAreRefusedWithoutRestart) {
  cluster_.pki().IssueOperator("mallory");
  const v1::TlsFiles mallory = cluster_.pki().OperatorTls("mallory");
  ASSERT_EQ(cluster_.CtlAs(mallory, {"checks"}).exit_code, 0);
  ASSERT_EQ(cluster_.AgentOnce("prod-02", FixtureRoot("opencrvs-manager")).exit_code, 0);

  cluster_.pki().Revoke(mallory.cert_file());
  cluster_.pki().Revoke(cluster_.pki().HostTls("prod-02").cert_file());
  RunResult r = cluster_.CtlAs(mallory, {"checks"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(absl::StrContains(r.err, "operator/mallory: certificate serial")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "is revoked")) << r.err;
  EXPECT_EQ(cluster_.Ctl({"checks"}).exit_code, 0);  // others unaffected
  RunResult agent = cluster_.AgentOnce("prod-02", FixtureRoot("opencrvs-manager"), 5);
  EXPECT_EQ(agent.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(agent.err, "revoked")) << agent.err;
  EXPECT_TRUE(absl::StrContains(cluster_.Ctl({"audit"}).out, "host/prod-02: certificate serial"));

  // An unusable CRL refuses everyone (fail closed), and a good one restores.
  const std::string good = ReadFile(cluster_.pki().crl());
  WriteFile(cluster_.pki().crl(), "-----BEGIN X509 CRL-----\ngarbage\n-----END X509 CRL-----\n");
  RunResult closed = cluster_.Ctl({"checks"});
  EXPECT_EQ(closed.exit_code, 3);
  EXPECT_TRUE(absl::StrContains(closed.err, "refusing every certificate")) << closed.err;
  WriteFile(cluster_.pki().crl(), good);
  EXPECT_EQ(cluster_.Ctl({"checks"}).exit_code, 0);
  EXPECT_TRUE(cluster_.collector_running());
}

TEST_F(RefusalTest, AuditorMayRead) {
  cluster_.pki().IssueAuditor("rev");
  EXPECT_TRUE(QueryWith(Channel(cluster_.pki().AuditorTls("rev"))).ok());
}

TEST_F(RefusalTest, MalformedReportIsRefused) {
  v1::AgentMessage bad = Report("prod-01", 0);
  grpc::Status s = StreamWith(Channel(cluster_.pki().HostTls("prod-01")), {Hello("prod-01"), bad});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  v1::AgentMessage empty;
  s = StreamWith(Channel(cluster_.pki().HostTls("prod-01")), {empty});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
}

TEST_F(RefusalTest, OversizedReportIsRefusedAndCollectorSurvives) {
  v1::AgentMessage big = Report("prod-01", 1);
  big.mutable_report()->set_hostname(std::string(5 << 20, 'x'));  // over the 4 MiB default
  grpc::Status s = StreamWith(Channel(cluster_.pki().HostTls("prod-01")), {Hello("prod-01"), big});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_TRUE(cluster_.collector_running());
  int acks = 0;
  s = StreamWith(Channel(cluster_.pki().HostTls("prod-01")),
                 {Hello("prod-01"), Report("prod-01", 2)}, &acks);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(acks, 1);
}

// One certificate has at most max_queries_per_identity preflightctl calls in
// hand: more are refused at once (not queued behind the pool), logged and
// audited once a minute; another identity is served meanwhile, and the
// flooding one again once its calls are answered.
TEST_F(RefusalTest, QueriesInHandAreCappedPerIdentity) {
  constexpr int kCap = 2, kCalls = 6;
  cluster_.StopCollector(SIGTERM);
  v1::CollectorConfig c;
  c.set_max_queries_per_identity(kCap);
  cluster_.SetCollectorConfig(c);
  // Each answer waits 3 s: alice's first calls are still in hand when her
  // others arrive (the processes start within that).
  cluster_.StartCollector({"--test-hold-query-ms", "3000"});
  cluster_.pki().IssueAuditor("bob");

  std::vector<RunResult> alice(kCalls);
  std::vector<std::thread> calls;
  for (int i = 0; i < kCalls; ++i) {
    calls.emplace_back([&, i] { alice[i] = cluster_.Ctl({"checks"}); });
  }
  absl::SleepFor(absl::Milliseconds(500));
  RunResult bob = cluster_.CtlAs(cluster_.pki().AuditorTls("bob"), {"checks"});
  for (auto& t : calls) t.join();

  int served = 0, refused = 0;
  for (const RunResult& r : alice) {
    if (r.exit_code == 0) {
      ++served;
    } else {
      ++refused;
      EXPECT_EQ(r.exit_code, 3) << r.err;
      EXPECT_TRUE(absl::StrContains(r.err, "too many calls in hand for operator/alice")) << r.err;
      EXPECT_TRUE(absl::StrContains(r.err, "max_queries_per_identity 2")) << r.err;
    }
  }
  EXPECT_EQ(served, kCap);
  EXPECT_EQ(refused, kCalls - kCap);
  EXPECT_EQ(bob.exit_code, 0) << bob.err;
  EXPECT_EQ(cluster_.Ctl({"checks"}).exit_code, 0) << "alice not served once her calls ended";

  // One log line and one audit entry for the four refusals of the minute.
  const std::string log = cluster_.collector_log();
  size_t lines = 0;
  for (size_t at = log.find("(max_queries_per_identity)"); at != std::string::npos;
       at = log.find("(max_queries_per_identity)", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << log;
  int audited = 0;
  for (const auto& e : cluster_.AuditEntries()) {
    if (Field(e, "action").string_value() == "refused" &&
        absl::StrContains(Field(e, "detail").string_value(), "max_queries_per_identity")) {
      ++audited;
      EXPECT_EQ(Field(e, "actor").string_value(), "operator/alice");
    }
  }
  EXPECT_EQ(audited, 1);
}

// One host certificate holds at most max_streams_per_host (default 4)
// streams: each newer one ends the oldest, with a clear status, logged and
// audited; the newest ones stay served.
TEST_F(RefusalTest, StreamsPerHostAreCappedOldestEnds) {
  constexpr int kStreams = 6, kCap = 4;
  struct Open {  // members in the order they must be made (and go in reverse)
    std::unique_ptr<v1::Ingest::Stub> stub;
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>> stream;
  };
  std::vector<std::unique_ptr<Open>> streams;
  for (int i = 0; i < kStreams; ++i) {
    auto o = std::make_unique<Open>();
    o->stub = v1::Ingest::NewStub(Channel(cluster_.pki().HostTls("prod-01")));
    o->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    o->stream = o->stub->Stream(&o->ctx);
    ASSERT_TRUE(o->stream->Write(Hello("prod-01")));
    v1::CollectorMessage welcome;
    ASSERT_TRUE(o->stream->Read(&welcome));  // admitted: the welcome comes after
    ASSERT_TRUE(welcome.has_welcome());
    streams.push_back(std::move(o));
  }
  // The two oldest were ended.
  for (int i = 0; i < kStreams - kCap; ++i) {
    v1::CollectorMessage m;
    while (streams[i]->stream->Read(&m)) {
    }
    grpc::Status s = streams[i]->stream->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    EXPECT_TRUE(absl::StrContains(s.error_message(), "max_streams_per_host")) << s.error_message();
  }
  // The newest are still served: a report on the last one is acked.
  ASSERT_TRUE(streams.back()->stream->Write(Report("prod-01", 1)));
  v1::CollectorMessage ack;
  ASSERT_TRUE(streams.back()->stream->Read(&ack));
  EXPECT_TRUE(ack.has_ack()) << ack.DebugString();
  // The newest close normally.
  for (int i = kStreams - kCap; i < kStreams; ++i) {
    streams[i]->stream->WritesDone();
    v1::CollectorMessage m;
    while (streams[i]->stream->Read(&m)) {
    }
    grpc::Status s = streams[i]->stream->Finish();
    EXPECT_TRUE(s.ok()) << i << ": " << s.error_message();
  }
  const std::string log = cluster_.collector_log();
  int ended = 0;
  for (size_t at = log.find("ended the oldest stream of prod-01"); at != std::string::npos;
       at = log.find("ended the oldest stream of prod-01", at + 1)) {
    ++ended;
  }
  EXPECT_EQ(ended, kStreams - kCap) << log;
  EXPECT_EQ(RefusalsAuditedWith("max_streams_per_host"), kStreams - kCap);
}

// Bytes that are not a protobuf message at all, on an admitted stream: the
// collector says so (INVALID_ARGUMENT, with the size), logs and audits it,
// instead of ending the stream as if the agent had said goodbye.
TEST_F(RefusalTest, GarbageMessageIsRefusedWithAReason) {
  grpc::GenericStub stub(Channel(cluster_.pki().HostTls("prod-01")));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(&ctx, "/preflight.v1.Ingest/Stream", &cq);
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](intptr_t want) {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), want);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(step(1));
  const std::string garbage = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01";
  grpc::Slice slice(garbage);
  grpc::ByteBuffer bytes(&slice, 1);
  call->Write(bytes, reinterpret_cast<void*>(2));
  step(2);
  grpc::ByteBuffer reply;
  call->Read(&reply, reinterpret_cast<void*>(3));
  EXPECT_FALSE(step(3));  // no welcome: the stream ends
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(4));
  step(4);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  const std::string want = absl::StrCat("unreadable message (", garbage.size(), " bytes)");
  EXPECT_TRUE(absl::StrContains(status.error_message(), want)) << status.error_message();
  EXPECT_TRUE(
      WaitFor([&] { return absl::StrContains(cluster_.collector_log(), want); }, absl::Seconds(10)))
      << cluster_.collector_log();
  EXPECT_EQ(RefusalsAuditedWith(want), 1);
  // The same stream with a well-formed report still works.
  int acks = 0;
  EXPECT_TRUE(StreamWith(Channel(cluster_.pki().HostTls("prod-01")),
                         {Hello("prod-01"), Report("prod-01", 1)}, &acks)
                  .ok());
  EXPECT_EQ(acks, 1);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

}  // namespace
}  // namespace preflight::testing
