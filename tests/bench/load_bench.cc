// Load bench (issue 15, point 5): N simulated agents as real mutual-TLS gRPC
// streams (preflight.v1.Ingest/Stream) from this one process, against a real
// preflight-collector process it starts, and against a do-nothing server
// (this binary with --serve-null: the same TLS credentials, the same message
// sizes, an ack at once) as the reference.
//
//   build/tests/preflight_load_bench [--agents=1,100,1000,10000] [--seconds=10]
//       [--paced-seconds=60] [--paced-min-agents=10000] [--interval=300]
//       [--worker-threads=0] [--data-dir=DIR] [--collector=BINARY] [--no-null]
//       [--quick]
//
// For each N: connect N agents (Hello, Welcome), then
//   saturation  every agent sends a report, waits for its ack, sends the next,
//               for --seconds: reports/s, ack latency p50/p99, server CPU per
//               report (utime+stime of /proc/<pid>/stat), RSS per connected
//               agent (VmRSS of /proc/<pid>/status after connecting, minus
//               before);
//   paced       (N >= --paced-min-agents, collector only) each agent reports
//               every --interval seconds, spread evenly (10,000 every 300 s =
//               33/s), for --paced-seconds: server CPU as % of one core, RSS;
//   refresh     every agent sends one report at once: time until all acked,
//               the server's RSS after it and its peak (VmHWM).
// The do-nothing server runs the same saturation and refresh right after the
// collector, and the ratio of the rates is printed.
//
// Certificates are made in-process with OpenSSL (EC P-256): a CA, the
// server's (DNS localhost, IP 127.0.0.1) and one per agent with the URI SAN
// spiffe://load.test/host/<id>, as certs/preflight-certs issues them. The
// report is the opencrvs-manager fixture collected in-process (as the agent
// would send it); per report only the sequence, collected_at and the time
// fact's offset change, appended to a shared serialized body (protobuf merges
// a repeated embedded message), so the bench costs little CPU per report.
//
// --quick (ctest): N = 1 and 100, 2 s, no paced run; exits 1 unless every
// report sent was acked and every stream ended cleanly. It asserts no timing.
#include <google/protobuf/text_format.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "preflight/v1/config.pb.h"
#include "preflight/v1/ingest.grpc.pb.h"
#include "proto/wire/server_transport.h"
#include "proto/wire/tls.h"
#include "tests/support/golden.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace {

using preflight::testing::Process;
using preflight::testing::ReadFile;
using preflight::testing::TempDir;
using preflight::testing::WaitFor;
using preflight::testing::WriteFile;
namespace v1 = preflight::v1;
using Clock = std::chrono::steady_clock;

constexpr char kTrustDomain[] = "load.test";
constexpr char kMethod[] = "/preflight.v1.Ingest/Stream";

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "preflight_load_bench: %s\n", why.c_str());
  std::exit(2);
}

// ---------------------------------------------------------------- PKI

struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

PkeyPtr NewKey() {
  PkeyPtr key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) Die("EVP_EC_gen P-256 failed");
  return key;
}

std::string PemOf(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string PemOf(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

// A certificate for `key` named CN=`cn`, signed by `issuer` (self-signed when
// null) with the given v3 extensions (nid, value as in an openssl config).
X509Ptr Sign(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
             const std::vector<std::pair<int, std::string>>& extensions) {
  X509Ptr cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) Die(absl::StrCat("bad extension ", value));
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0) Die("X509_sign");
  return cert;
}

struct Pki {
  std::string ca_pem;
  KeyAndCert server;
  std::vector<KeyAndCert> hosts;

  Pki(const std::vector<std::string>& host_ids) {
    PkeyPtr ca_key = NewKey();
    X509Ptr ca = Sign(ca_key.get(), absl::StrCat("preflight CA ", kTrustDomain), nullptr, nullptr,
                      {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                       {NID_key_usage, "critical,keyCertSign,cRLSign"},
                       {NID_subject_key_identifier, "hash"}});
    ca_pem = PemOf(ca.get());
    PkeyPtr server_key = NewKey();
    X509Ptr server_cert = Sign(server_key.get(), "preflight collector", ca.get(), ca_key.get(),
                               {{NID_basic_constraints, "critical,CA:FALSE"},
                                {NID_key_usage, "critical,digitalSignature"},
                                {NID_ext_key_usage, "serverAuth,clientAuth"},
                                {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"}});
    server = {PemOf(server_key.get()), PemOf(server_cert.get())};
    hosts.reserve(host_ids.size());
    for (const std::string& id : host_ids) {
      PkeyPtr key = NewKey();
      X509Ptr cert =
          Sign(key.get(), id, ca.get(), ca_key.get(),
               {{NID_basic_constraints, "critical,CA:FALSE"},
                {NID_key_usage, "critical,digitalSignature"},
                {NID_ext_key_usage, "clientAuth"},
                {NID_subject_alt_name, absl::StrCat("URI:spiffe://", kTrustDomain, "/host/", id)}});
      hosts.push_back({PemOf(key.get()), PemOf(cert.get())});
    }
  }
};

// ---------------------------------------------------------------- /proc

struct ProcSample {
  double cpu_s = 0;  // utime + stime
  double rss_mb = 0;
  double peak_rss_mb = 0;  // VmHWM: the most the process has held
};

ProcSample Sample(pid_t pid) {
  ProcSample s;
  const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  const size_t paren = stat.rfind(')');
  if (paren != std::string::npos) {
    // After "pid (comm)": field 3 (state) onwards; utime, stime are 14, 15.
    std::vector<std::string> f = absl::StrSplit(stat.substr(paren + 2), ' ');
    double ut = 0, st = 0;
    if (f.size() > 12 && absl::SimpleAtod(f[11], &ut) && absl::SimpleAtod(f[12], &st)) {
      s.cpu_s = (ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  // "VmRSS:    1234 kB" -> MB
  auto mb = [](absl::string_view value) {
    value = absl::StripAsciiWhitespace(value);
    absl::ConsumeSuffix(&value, " kB");
    double kb = 0;
    return absl::SimpleAtod(value, &kb) ? kb / 1024 : 0.0;
  };
  for (absl::string_view line :
       absl::StrSplit(ReadFile(absl::StrCat("/proc/", pid, "/status")), '\n')) {
    if (absl::ConsumePrefix(&line, "VmRSS:")) s.rss_mb = mb(line);
    if (absl::ConsumePrefix(&line, "VmHWM:")) s.peak_rss_mb = mb(line);
  }
  return s;
}

// ---------------------------------------------------------------- do-nothing server

// Reads a message, parses it (the collector must too), answers at once:
// Welcome to a Hello, Ack to a report. One message at a time per stream, as
// the agents here send one report and wait for its ack.
class NullReactor : public grpc::ServerGenericBidiReactor {
 public:
  NullReactor() { StartRead(&in_); }
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    v1::AgentMessage msg;
    if (!grpc::SerializationTraits<v1::AgentMessage>::Deserialize(&in_, &msg).ok()) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "unparsable"));
      return;
    }
    v1::CollectorMessage reply;
    if (msg.has_hello()) {
      reply.mutable_welcome()->set_host_id(msg.hello().host_id());
    } else {
      reply.mutable_ack()->set_agent_instance(msg.report().agent_instance());
      reply.mutable_ack()->set_sequence(msg.report().sequence());
    }
    bool own = false;
    out_.Clear();  // the last write's bytes
    grpc::SerializationTraits<v1::CollectorMessage>::Serialize(reply, &out_, &own);
    StartWrite(&out_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
      return;
    }
    StartRead(&in_);
  }
  void OnDone() override { delete this; }

 private:
  grpc::ByteBuffer in_;
  grpc::ByteBuffer out_;
};

class NullService final : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    return new NullReactor();
  }
};

// --serve-null DIR: the server's TLS files are DIR/server.{pem,key} and
// DIR/ca.pem; writes its port to DIR/null.port, serves until SIGTERM.
int ServeNull(const std::string& dir) {
  preflight::BoundTcpReadBuffers();  // as the collector's main() does, before gRPC starts
  v1::TlsFiles tls;
  tls.set_cert_file(dir + "/server.pem");
  tls.set_key_file(dir + "/server.key");
  tls.set_ca_file(dir + "/ca.pem");
  auto creds = preflight::MakeServerCredentials(tls);
  if (!creds.ok()) Die(std::string(creds.status().message()));
  NullService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", *creds, &port);
  builder.RegisterCallbackGenericService(&service);
  // As the collector's (collector/main.cc), transport buffers included.
  builder.SetMaxReceiveMessageSize(4 << 20);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 16);
  preflight::AddTransportArguments(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) Die("do-nothing server did not start");
  WriteFile(dir + "/null.port", absl::StrCat(port, "\n"));
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return 0;
}

// ---------------------------------------------------------------- agents

// What every agent's reports share: the fixture report serialized once.
struct Payload {
  grpc::Slice body;  // AgentMessage{report: fixture without ids}
  size_t bytes = 0;  // of a whole report message
};

// Counters and latencies of the phase in progress (any gRPC thread).
struct Stats {
  std::atomic<int64_t> acked{0};
  std::atomic<int64_t> sent{0};
  std::atomic<int64_t> welcomed{0};
  std::atomic<int64_t> done{0};
  std::atomic<int64_t> failed{0};  // streams that ended with an error
  std::atomic<bool> saturate{false};
  std::atomic<bool> record{false};
  absl::Mutex mu;
  std::vector<double> latency_ms ABSL_GUARDED_BY(mu);
  std::vector<std::string> errors ABSL_GUARDED_BY(mu);
};

class Agent : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  Agent(int index, std::string host_id, std::shared_ptr<grpc::Channel> channel,
        const Payload& payload, Stats& stats)
      : host_id_(std::move(host_id)),
        channel_(std::move(channel)),
        payload_(payload),
        stats_(stats) {
    v1::AgentMessage ids;
    ids.mutable_report()->set_host_id(host_id_);
    ids.mutable_report()->set_agent_instance(absl::StrFormat("%032x", index + 1));
    ids_ = grpc::Slice(ids.SerializeAsString());
  }

  void Start() {
    grpc::GenericStub stub(channel_);
    stub.PrepareBidiStreamingCall(&context_, kMethod, grpc::StubOptions(), this);
    v1::AgentMessage hello;
    hello.mutable_hello()->set_host_id(host_id_);
    hello.mutable_hello()->set_agent_version("load-bench");
    grpc::Slice s(hello.SerializeAsString());
    Write(grpc::ByteBuffer(&s, 1));
    StartRead(&in_);
    StartCall();
  }

  // One report; the next only after its ack (as the agent does).
  void SendReport() {
    v1::AgentMessage varying;
    v1::FactReport* r = varying.mutable_report();
    r->set_collected_at_unix_ms(absl::ToUnixMillis(absl::Now()));
    r->mutable_time()->set_offset_known(true);
    r->mutable_time()->set_offset_seconds(0.001 *
                                          static_cast<double>(r->collected_at_unix_ms() % 7));
    {
      absl::MutexLock lock(&mu_);
      r->set_sequence(++sequence_);
      busy_ = true;
      sent_at_ = Clock::now();
    }
    grpc::Slice slices[3] = {payload_.body, ids_, grpc::Slice(varying.SerializeAsString())};
    stats_.sent.fetch_add(1);
    Write(grpc::ByteBuffer(slices, 3));
  }

  bool busy() {
    absl::MutexLock lock(&mu_);
    return busy_;
  }
  bool welcomed() {
    absl::MutexLock lock(&mu_);
    return welcomed_;
  }

  void Close() {
    absl::MutexLock lock(&mu_);
    if (writing_) {
      close_pending_ = true;
    } else {
      StartWritesDone();
    }
  }
  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ends: OnDone follows
    v1::CollectorMessage m;
    if (!grpc::SerializationTraits<v1::CollectorMessage>::Deserialize(&in_, &m).ok()) {
      Error("unparsable message from the server");
      return;
    }
    if (m.has_welcome()) {
      {
        absl::MutexLock lock(&mu_);
        welcomed_ = true;
      }
      stats_.welcomed.fetch_add(1);
    } else if (m.has_ack()) {
      double ms;
      {
        absl::MutexLock lock(&mu_);
        if (!busy_ || m.ack().sequence() != sequence_) {
          Error(absl::StrCat("unexpected ack of #", m.ack().sequence()));
        }
        busy_ = false;
        ms = std::chrono::duration<double, std::milli>(Clock::now() - sent_at_).count();
      }
      stats_.acked.fetch_add(1);
      if (stats_.record.load()) {
        absl::MutexLock lock(&stats_.mu);
        stats_.latency_ms.push_back(ms);
      }
      if (stats_.saturate.load()) SendReport();
    }
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    out_.pop_front();
    if (!ok) {
      writing_ = false;
      return;
    }
    if (!out_.empty()) {
      StartWrite(&out_.front());
      return;
    }
    writing_ = false;
    if (close_pending_) {
      close_pending_ = false;
      StartWritesDone();
    }
  }

  void OnDone(const grpc::Status& status) override {
    if (!status.ok()) {
      stats_.failed.fetch_add(1);
      Error(absl::StrCat("stream ended: ", status.error_code(), " ", status.error_message()));
    }
    stats_.done.fetch_add(1);
  }

 private:
  void Write(grpc::ByteBuffer bytes) {
    absl::MutexLock lock(&mu_);
    out_.push_back(std::move(bytes));
    if (!writing_) {
      writing_ = true;
      StartWrite(&out_.front());
    }
  }

  void Error(const std::string& what) {
    absl::MutexLock lock(&stats_.mu);
    if (stats_.errors.size() < 5) stats_.errors.push_back(absl::StrCat(host_id_, ": ", what));
  }

  const std::string host_id_;
  std::shared_ptr<grpc::Channel> channel_;
  const Payload& payload_;
  Stats& stats_;
  grpc::Slice ids_;
  grpc::ClientContext context_;
  grpc::ByteBuffer in_;  // the one read in flight

  absl::Mutex mu_;
  std::deque<grpc::ByteBuffer> out_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool close_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool welcomed_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
  Clock::time_point sent_at_ ABSL_GUARDED_BY(mu_);
};

// ---------------------------------------------------------------- runs

struct Options {
  std::vector<int> agents = {1, 100, 1000, 10000};
  double seconds = 10;
  double paced_seconds = 60;
  int paced_min_agents = 10000;
  double interval = 300;
  int worker_threads = 0;
  std::string data_dir;
  std::string collector = PREFLIGHT_COLLECTOR_BIN;
  bool null_server = true;
  bool quick = false;
};

struct Figures {
  double connect_s = 0;
  double rate = 0;  // reports/s, saturation
  double p50 = 0, p99 = 0;
  double cpu_ms_per_report = 0;
  double rss0_mb = 0, rss_mb = 0, rss_kb_per_agent = 0;
  double bench_cpu_pct = 0;
  // paced
  bool paced = false;
  double paced_rate = 0, paced_cpu_pct = 0, paced_rss_mb = 0, paced_p50 = 0, paced_p99 = 0;
  int64_t paced_skipped = 0;
  // refresh
  double refresh_s = 0, refresh_p99 = 0, refresh_peak_rss_mb = 0, refresh_rss_mb = 0;
  // every report acked, every stream ended cleanly
  bool clean = true;
};

std::pair<double, double> Percentiles(Stats& stats) {
  absl::MutexLock lock(&stats.mu);
  std::vector<double>& v = stats.latency_ms;
  if (v.empty()) return {0, 0};
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };
  return {at(0.50), at(0.99)};
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

bool WaitUntil(const std::function<bool()>& done, double seconds) {
  return WaitFor(done, absl::Seconds(seconds));
}

// False once `pid` has exited (a zombie until reaped).
bool Alive(pid_t pid) {
  const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

ProcSample Self() { return Sample(getpid()); }

// Runs the phases with `agents.size()` agents against the server at `port`
// (process `pid`).
Figures Drive(const Options& opt, const Pki& pki, const std::vector<std::string>& ids,
              const Payload& payload, int port, pid_t pid, bool paced) {
  Figures f;
  const int n = static_cast<int>(ids.size());
  Stats stats;
  f.rss0_mb = Sample(pid).rss_mb;
  std::vector<std::unique_ptr<Agent>> agents;
  agents.reserve(n);
  const auto connect_start = Clock::now();
  // Handshakes in waves: the server drops one not done within its
  // handshake_timeout_seconds (10 s), and 10,000 at once on 2 cores take longer.
  constexpr int kWave = 200;
  for (int i = 0; i < n; ++i) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = pki.ca_pem;
    tls.pem_private_key = pki.hosts[i].key_pem;
    tls.pem_cert_chain = pki.hosts[i].cert_pem;
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetMaxReceiveMessageSize(4 << 20);
    auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                             grpc::SslCredentials(tls), args);
    agents.push_back(std::make_unique<Agent>(i, ids[i], std::move(channel), payload, stats));
    agents.back()->Start();
    if (!WaitUntil(
            [&] {
              return i + 1 - stats.welcomed.load() - stats.done.load() < kWave || !Alive(pid);
            },
            120) ||
        !Alive(pid)) {
      Die(absl::StrCat("agents do not connect (", stats.welcomed.load(), " of ", i + 1, ")"));
    }
  }
  if (!WaitUntil([&] { return stats.welcomed.load() + stats.done.load() >= n; }, 300)) {
    Die(absl::StrCat("only ", stats.welcomed.load(), " of ", n, " agents connected"));
  }
  f.connect_s = Seconds(connect_start, Clock::now());
  if (stats.done.load() > 0) {
    absl::MutexLock lock(&stats.mu);
    Die(absl::StrCat(stats.done.load(), " stream(s) ended while connecting, e.g. ",
                     stats.errors.empty() ? "?" : stats.errors.front()));
  }
  f.rss_mb = Sample(pid).rss_mb;
  f.rss_kb_per_agent = (f.rss_mb - f.rss0_mb) * 1024 / n;

  auto drain = [&](double seconds) {
    return WaitUntil([&] { return stats.acked.load() == stats.sent.load() || !Alive(pid); },
                     seconds) &&
           Alive(pid);
  };

  // Saturation: each agent back to back (--seconds=0: none, so that the
  // paced run's RSS and CPU are not those of a backlog just stored).
  if (opt.seconds > 0) {
    const ProcSample s0 = Sample(pid), self0 = Self();
    const int64_t acked0 = stats.acked.load();
    const auto t0 = Clock::now();
    stats.record = true;
    stats.saturate = true;
    for (auto& a : agents) a->SendReport();
    std::this_thread::sleep_for(std::chrono::duration<double>(opt.seconds));
    const int64_t acked1 = stats.acked.load();
    const auto t1 = Clock::now();
    const ProcSample s1 = Sample(pid), self1 = Self();
    stats.saturate = false;
    stats.record = false;
    const double wall = Seconds(t0, t1);
    f.rate = static_cast<double>(acked1 - acked0) / wall;
    f.cpu_ms_per_report = (s1.cpu_s - s0.cpu_s) * 1000 / std::max<int64_t>(1, acked1 - acked0);
    f.bench_cpu_pct = (self1.cpu_s - self0.cpu_s) * 100 / wall;
    std::tie(f.p50, f.p99) = Percentiles(stats);
    if (!drain(300)) f.clean = false;
    f.rss_mb = std::max(f.rss_mb, s1.rss_mb);
  }

  // Paced: every agent once per interval, spread evenly.
  if (paced) {
    f.paced = true;
    {
      absl::MutexLock lock(&stats.mu);
      stats.latency_ms.clear();
    }
    const double rate = n / opt.interval;
    const ProcSample s0 = Sample(pid);
    const auto t0 = Clock::now();
    stats.record = true;
    int64_t k = 0;
    while (true) {
      const auto due =
          t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(k / rate));
      if (Seconds(t0, due) >= opt.paced_seconds) break;
      std::this_thread::sleep_until(due);
      Agent& a = *agents[k % n];
      if (a.busy()) {
        ++f.paced_skipped;  // its last report is not acked yet
      } else {
        a.SendReport();
      }
      ++k;
    }
    const auto t1 = Clock::now();
    const ProcSample s1 = Sample(pid);
    stats.record = false;
    const double wall = Seconds(t0, t1);
    f.paced_rate = static_cast<double>(k - f.paced_skipped) / wall;
    f.paced_cpu_pct = (s1.cpu_s - s0.cpu_s) * 100 / wall;
    f.paced_rss_mb = s1.rss_mb;
    std::tie(f.paced_p50, f.paced_p99) = Percentiles(stats);
    if (!drain(300)) f.clean = false;
  }

  // Refresh: all at once.
  {
    {
      absl::MutexLock lock(&stats.mu);
      stats.latency_ms.clear();
    }
    stats.record = true;
    const auto t0 = Clock::now();
    for (auto& a : agents) a->SendReport();
    if (!drain(600)) f.clean = false;
    f.refresh_s = Seconds(t0, Clock::now());
    stats.record = false;
    f.refresh_p99 = Percentiles(stats).second;
    const ProcSample after = Sample(pid);
    f.refresh_rss_mb = after.rss_mb;
    f.refresh_peak_rss_mb = after.peak_rss_mb;
    f.rss_mb = std::max(f.rss_mb, after.rss_mb);
  }

  for (auto& a : agents) a->Close();
  if (!WaitUntil([&] { return stats.done.load() >= n; }, 120)) {
    f.clean = false;
    for (auto& a : agents) a->Cancel();
    WaitUntil([&] { return stats.done.load() >= n; }, 60);
  }
  if (stats.acked.load() != stats.sent.load()) f.clean = false;
  if (stats.failed.load() > 0) f.clean = false;
  {
    absl::MutexLock lock(&stats.mu);
    for (const std::string& e : stats.errors) std::fprintf(stderr, "  error: %s\n", e.c_str());
    if (!stats.errors.empty()) f.clean = false;
  }
  if (!f.clean) {
    std::fprintf(stderr, "  not clean: %lld sent, %lld acked, %lld stream(s) failed\n",
                 static_cast<long long>(stats.sent.load()),
                 static_cast<long long>(stats.acked.load()),
                 static_cast<long long>(stats.failed.load()));
  }
  return f;
}

int WaitPort(const std::string& file, Process& p, const std::string& log) {
  int port = 0;
  bool up = WaitUntil(
      [&] {
        std::string s(absl::StripAsciiWhitespace(ReadFile(file)));
        return (!s.empty() && absl::SimpleAtoi(s, &port) && port > 0) || !p.running();
      },
      120);
  if (!up || port == 0) Die(absl::StrCat("server did not start:\n", ReadFile(log)));
  return port;
}

void Stop(Process& p) {
  p.Signal(SIGTERM);
  if (p.Wait(absl::Seconds(60)) < 0) p.Signal(SIGKILL);
}

void PrintRow(const char* server, int n, const Figures& f) {
  std::printf("%7d  %-9s %8.1f  %9.0f  %7.1f  %7.1f  %8.3f  %8.0f  %9.1f  %6.0f%%  %9.2f %s\n", n,
              server, f.connect_s, f.rate, f.p50, f.p99, f.cpu_ms_per_report, f.rss_mb,
              f.rss_kb_per_agent, f.bench_cpu_pct, f.refresh_s, f.clean ? "" : " NOT CLEAN");
  std::fflush(stdout);
}

std::vector<int> ParseList(absl::string_view s) {
  std::vector<int> out;
  for (absl::string_view p : absl::StrSplit(s, ',', absl::SkipEmpty())) {
    int v = 0;
    if (!absl::SimpleAtoi(p, &v) || v < 1) Die(absl::StrCat("bad --agents entry '", p, "'"));
    out.push_back(v);
  }
  return out;
}

Options ParseFlags(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    absl::string_view a = argv[i];
    auto value = [&](absl::string_view name, std::string* out) {
      if (!absl::ConsumePrefix(&a, name)) return false;
      if (!absl::ConsumePrefix(&a, "=")) Die(absl::StrCat(name, " needs =VALUE"));
      *out = std::string(a);
      return true;
    };
    std::string v;
    auto num = [&](double* d) {
      if (!absl::SimpleAtod(v, d)) Die(absl::StrCat("bad number in ", argv[i]));
    };
    double d = 0;
    if (a == "--quick") {
      o.quick = true;
      o.agents = {1, 100};
      o.seconds = 2;
      o.paced_min_agents = 1 << 30;
    } else if (a == "--no-null") {
      o.null_server = false;
    } else if (value("--agents", &v)) {
      o.agents = ParseList(v);
    } else if (value("--seconds", &v)) {
      num(&o.seconds);
    } else if (value("--paced-seconds", &v)) {
      num(&o.paced_seconds);
    } else if (value("--paced-min-agents", &v)) {
      num(&d);
      o.paced_min_agents = static_cast<int>(d);
    } else if (value("--interval", &v)) {
      num(&o.interval);
    } else if (value("--worker-threads", &v)) {
      num(&d);
      o.worker_threads = static_cast<int>(d);
    } else if (value("--data-dir", &v)) {
      o.data_dir = v;
    } else if (value("--collector", &v)) {
      o.collector = v;
    } else if (a == "--help" || a == "-h") {
      std::printf(
          "preflight_load_bench [--agents=1,100,1000,10000] [--seconds=10] [--paced-seconds=60]\n"
          "  [--paced-min-agents=10000] [--interval=300] [--worker-threads=N] [--data-dir=DIR]\n"
          "  [--collector=BINARY] [--no-null] [--quick]\n(see tests/bench/load_bench.cc)\n");
      std::exit(0);
    } else {
      Die(absl::StrCat("unknown flag ", argv[i], " (--help)"));
    }
  }
  return o;
}

std::string SelfExe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) Die("readlink /proc/self/exe");
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--serve-null") return ServeNull(argv[2]);
  const Options opt = ParseFlags(argc, argv);
  // One descriptor per agent here and in the server (which inherits it).
  rlimit nofile;
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);
  const int max_n = *std::max_element(opt.agents.begin(), opt.agents.end());
  if (static_cast<rlim_t>(max_n) + 200 > nofile.rlim_cur) {
    Die(absl::StrCat("RLIMIT_NOFILE is ", nofile.rlim_cur, ": too few for ", max_n, " agents"));
  }

  TempDir tmp;
  const std::string base = opt.data_dir.empty() ? tmp.path() : opt.data_dir;
  const auto pki_start = Clock::now();
  std::vector<std::string> all_ids;
  for (int i = 0; i < max_n; ++i) all_ids.push_back(absl::StrFormat("load-%05d", i + 1));
  const Pki pki(all_ids);
  const double pki_s = Seconds(pki_start, Clock::now());
  WriteFile(tmp.Join("ca.pem"), pki.ca_pem);
  WriteFile(tmp.Join("server.pem"), pki.server.cert_pem);
  WriteFile(tmp.Join("server.key"), pki.server.key_pem, 0600);

  // The report: the opencrvs-manager fixture as the agent collects it.
  v1::AgentMessage body;
  *body.mutable_report() = preflight::testing::RunScenario("opencrvs-manager").facts;
  body.mutable_report()->clear_host_id();
  body.mutable_report()->clear_agent_instance();
  body.mutable_report()->clear_sequence();
  Payload payload;
  payload.body = grpc::Slice(body.SerializeAsString());
  payload.bytes = payload.body.size() + 60;

  std::printf(
      "preflight_load_bench: %zu certificates in %.1f s; report %zu bytes "
      "(opencrvs-manager fixture); collector worker_threads %s; data in %s\n",
      all_ids.size() + 2, pki_s, payload.bytes,
      opt.worker_threads == 0 ? "default" : std::to_string(opt.worker_threads).c_str(),
      base.c_str());
  std::printf(
      "\n agents  server    connect_s  reports/s  p50_ms   p99_ms   cpu_ms/r   rss_MB  "
      "rss_KB/agt   bench  refresh_s\n");

  bool clean = true;
  std::vector<std::string> notes;
  int run = 0;
  for (int n : opt.agents) {
    const std::vector<std::string> ids(all_ids.begin(), all_ids.begin() + n);
    const bool paced = n >= opt.paced_min_agents && opt.paced_seconds > 0;
    // The collector, on a fresh data directory.
    const std::string dir = absl::StrCat(base, "/run", ++run);
    v1::CollectorConfig config;
    config.set_listen("127.0.0.1:0");
    config.set_data_dir(dir + "/data");
    config.set_trust_domain(kTrustDomain);
    config.mutable_tls()->set_cert_file(tmp.Join("server.pem"));
    config.mutable_tls()->set_key_file(tmp.Join("server.key"));
    config.mutable_tls()->set_ca_file(tmp.Join("ca.pem"));
    for (const std::string& id : ids) {
      v1::InventoryHost* h = config.mutable_inventory()->add_hosts();
      h->set_id(id);
      h->set_environment("production");
      h->add_roles("manager");
    }
    *config.mutable_policy() = preflight::testing::FixturePolicy();
    // The budget would refuse back-to-back reports (12 a minute by default):
    // the most the collector accepts (a burst of 100,000, 100 a second).
    config.set_max_reports_per_minute(6000);
    config.set_report_burst(100000);
    if (opt.worker_threads > 0) config.set_worker_threads(opt.worker_threads);
    std::string text;
    google::protobuf::TextFormat::PrintToString(config, &text);
    WriteFile(dir + "/collector.textproto", text);
    const std::string log = dir + "/collector.log";
    auto collector = Process::Start(
        {opt.collector, "--config", dir + "/collector.textproto", "--port-file", dir + "/port"},
        dir + "/collector.out", log);
    const int port = WaitPort(dir + "/port", *collector, log);
    const Figures c = Drive(opt, pki, ids, payload, port, collector->pid(), paced);
    Stop(*collector);
    PrintRow("collector", n, c);
    clean = clean && c.clean;
    if (c.paced) {
      notes.push_back(absl::StrFormat(
          "paced: %d agents each every %.0f s (%.1f reports/s) for %.0f s: collector CPU %.1f%% "
          "of one core, RSS %.0f MB, ack p50 %.1f ms p99 %.1f ms, %lld send(s) skipped (not "
          "yet acked)",
          n, opt.interval, c.paced_rate, opt.paced_seconds, c.paced_cpu_pct, c.paced_rss_mb,
          c.paced_p50, c.paced_p99, static_cast<long long>(c.paced_skipped)));
    }
    notes.push_back(absl::StrFormat(
        "refresh: %d agents at once, all acked by the collector in %.2f s (ack p99 %.0f ms); "
        "collector RSS %.0f MB after it, peak (VmHWM) %.0f MB",
        n, c.refresh_s, c.refresh_p99, c.refresh_rss_mb, c.refresh_peak_rss_mb));
    if (!opt.null_server) continue;
    // The do-nothing server, same TLS files.
    const std::string ndir = absl::StrCat(base, "/null", run);
    preflight::testing::MakeDirs(ndir);
    for (const char* f : {"ca.pem", "server.pem", "server.key"}) {
      WriteFile(absl::StrCat(ndir, "/", f), ReadFile(tmp.Join(f)));
    }
    auto null = Process::Start({SelfExe(), "--serve-null", ndir}, ndir + "/out", ndir + "/log");
    const int nport = WaitPort(ndir + "/null.port", *null, ndir + "/log");
    const Figures z = Drive(opt, pki, ids, payload, nport, null->pid(), false);
    Stop(*null);
    PrintRow("do-nothing", n, z);
    clean = clean && z.clean;
    std::printf("%7d  ratio      durable ingest / do-nothing = %.2f (reports/s)\n", n,
                z.rate > 0 ? c.rate / z.rate : 0.0);
    std::fflush(stdout);
  }
  std::printf("\n");
  for (const std::string& n : notes) std::printf("%s\n", n.c_str());
  std::printf("%s\n", clean ? "every report acked, every stream ended cleanly"
                            : "NOT CLEAN: some report was not acked or a stream failed");
  return clean ? 0 : 1;
}
