// Tests for the TLS fact (agent/facts/tls_certs.h), the TLS probe
// (agent/host/tls_probe.h) and the check tls.certificate_valid
// (collector/checks/tls.cc). Every certificate is made here with the openssl
// CLI: a test root CA, an intermediate, and leaves that are valid, expired, not
// yet valid, for the wrong name, self-signed, or expiring in 5 and 20 days.
// Live handshakes go to a real TLS server on a loopback port, run in-process.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "agent/facts/tls_certs.h"
#include "agent/host/rooted_host_env.h"
#include "agent/host/tls_probe.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"
#include "proto/wire/openssl_ptr.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RunProcess;
using testing::RunResult;
using testing::TempDir;
using testing::WriteFile;

constexpr char kCheckId[] = "tls.certificate_valid";
constexpr char kAcmePath[] = "/data/traefik/acme.json";
constexpr char kCertDir[] = "/data/traefik/certs";

// ---------------------------------------------------------------------------
// The test PKI.

constexpr char kCaConfig[] = R"([ ca ]
default_ca = this_ca

[ this_ca ]
dir = DIR
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none

[ anything ]
commonName = supplied

[ req ]
distinguished_name = dn
prompt = no

[ dn ]
CN = unused

[ root_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[ intermediate_ext ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
)";

struct Leaf {
  std::string cert;       // the leaf alone, PEM
  std::string key;        // its private key, PEM
  std::string fullchain;  // leaf then intermediate
  std::string cert_file;
  std::string key_file;
  std::string fullchain_file;
};

class TestPki {
 public:
  explicit TestPki(absl::Time now) : now_(now) {}

  bool Build() {
    return MakeCa("root", "/CN=Preflight Test Root CA", "") &&
           MakeCa("inter", "/CN=Preflight Test Intermediate CA", "root") &&
           IssueLeaf("valid", {"register.example.test", "login.example.test"}, -10, 90, "rsa") &&
           IssueLeaf("wildcard", {"*.example.test"}, -10, 60) &&
           IssueLeaf("expired", {"register.example.test"}, -100, -10) &&
           IssueLeaf("future", {"register.example.test"}, 10, 100) &&
           IssueLeaf("wrongname", {"other.example.net"}, -10, 90) &&
           IssueLeaf("soon5", {"register.example.test"}, -80, 5) &&
           IssueLeaf("soon20", {"register.example.test"}, -70, 20) && SelfSigned();
  }

  const std::string& dir() const { return dir_.path(); }
  std::string root_file() const { return dir_.Join("root/ca.pem"); }
  const std::string& intermediate() const { return intermediate_; }
  const Leaf& leaf(const std::string& name) const { return leaves_.at(name); }
  std::string error() const { return error_; }

  // `openssl x509 -noout <flag>` of a PEM file, the part after '='.
  std::string X509Field(const std::string& file, std::vector<std::string> flags) {
    std::vector<std::string> argv = {"openssl", "x509", "-noout", "-in", file};
    argv.insert(argv.end(), flags.begin(), flags.end());
    RunResult r = RunProcess(argv, absl::Seconds(30));
    std::string out(absl::StripAsciiWhitespace(r.out));
    return out.substr(out.find('=') + 1);
  }

 private:
  bool Openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    RunResult r = RunProcess(args, absl::Seconds(60));
    if (r.exit_code != 0) {
      error_ = absl::StrCat(absl::StrJoin(args, " "), " -> ", r.exit_code, "\n", r.err, r.out);
      return false;
    }
    return true;
  }

  static std::string Date(absl::Time t) {
    return absl::FormatTime("%Y%m%d%H%M%SZ", t, absl::UTCTimeZone());
  }

  bool MakeCa(const std::string& name, const std::string& subject, const std::string& parent) {
    const std::string d = dir_.Join(name);
    testing::MakeDirs(d + "/newcerts");
    WriteFile(d + "/index.txt", "");
    WriteFile(d + "/serial", name == "root" ? "1000\n" : "2000\n");
    std::string config = kCaConfig;
    config.replace(config.find("DIR"), 3, d);
    WriteFile(d + "/ca.cnf", config);
    if (!Openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                  d + "/ca.key"})) {
      return false;
    }
    // Both CAs are valid from a year before `now`: certificates made with
    // the current time would not be valid yet at the (earlier) injected now.
    if (!Openssl({"req", "-config", d + "/ca.cnf", "-new", "-key", d + "/ca.key", "-subj", subject,
                  "-out", d + "/ca.csr"})) {
      return false;
    }
    const std::string signer = parent.empty() ? d : dir_.Join(parent);
    std::vector<std::string> sign = {"ca",
                                     "-batch",
                                     "-config",
                                     signer + "/ca.cnf",
                                     "-notext",
                                     "-in",
                                     d + "/ca.csr",
                                     "-out",
                                     d + "/ca.pem",
                                     "-startdate",
                                     Date(now_ - absl::Hours(24 * 365)),
                                     "-enddate",
                                     Date(now_ + absl::Hours(24 * 3650)),
                                     "-extensions",
                                     parent.empty() ? "root_ext" : "intermediate_ext"};
    if (parent.empty()) sign.insert(sign.end(), {"-selfsign", "-keyfile", d + "/ca.key"});
    if (!Openssl(sign)) return false;
    if (!parent.empty()) intermediate_ = testing::ReadFile(d + "/ca.pem");
    return true;
  }

  // A leaf signed by the intermediate, valid from now+from_days to
  // now+to_days (+1 hour, so that "N days left" is exactly N at `now`).
  bool IssueLeaf(const std::string& name, const std::vector<std::string>& dns, int from_days,
                 int to_days, const std::string& key_type = "ec") {
    const std::string d = dir_.Join("leaves/" + name);
    testing::MakeDirs(d);
    std::vector<std::string> sans;
    for (const std::string& n : dns) sans.push_back("DNS:" + n);
    WriteFile(d + "/ext.cnf",
              absl::StrCat("[ leaf ]\nbasicConstraints = critical,CA:FALSE\n"
                           "keyUsage = critical,digitalSignature,keyEncipherment\n"
                           "extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\n"
                           "authorityKeyIdentifier = keyid,issuer\nsubjectAltName = ",
                           absl::StrJoin(sans, ","), "\n"));
    // EC leaves share one key and request (the CA sets each subject), which
    // keeps the number of openssl runs down; the RSA leaf has its own.
    const std::string keys = dir_.Join(key_type == "rsa" ? "leaves/" + name : "leaves/ec-shared");
    const std::string inter = dir_.Join("inter");
    if (key_type == "rsa" || !shared_ec_key_) {
      testing::MakeDirs(keys);
      std::vector<std::string> genkey = {"genpkey", "-out", keys + "/key.pem"};
      if (key_type == "rsa") {
        genkey.insert(genkey.end(), {"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"});
      } else {
        genkey.insert(genkey.end(), {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"});
      }
      if (!Openssl(genkey) ||
          !Openssl({"req", "-config", inter + "/ca.cnf", "-new", "-key", keys + "/key.pem", "-subj",
                    "/CN=unused", "-out", keys + "/csr.pem"})) {
        return false;
      }
      if (key_type != "rsa") shared_ec_key_ = true;
    }
    if (keys != d) WriteFile(d + "/key.pem", testing::ReadFile(keys + "/key.pem"), 0600);
    if (!Openssl({"ca", "-batch", "-config", inter + "/ca.cnf", "-notext", "-in", keys + "/csr.pem",
                  "-subj", "/CN=" + dns[0], "-out", d + "/cert.pem", "-startdate",
                  Date(now_ + absl::Hours(24 * from_days)), "-enddate",
                  Date(now_ + absl::Hours(24 * to_days + 1)), "-extfile", d + "/ext.cnf",
                  "-extensions", "leaf"})) {
      return false;
    }
    Store(name, d);
    return true;
  }

  bool SelfSigned() {
    const std::string d = dir_.Join("leaves/selfsigned");
    testing::MakeDirs(d);
    WriteFile(d + "/ext.cnf", "[ leaf ]\nsubjectAltName = DNS:register.example.test\n");
    const std::string root = dir_.Join("root");
    if (!Openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                  d + "/key.pem"}) ||
        !Openssl({"req", "-config", root + "/ca.cnf", "-new", "-key", d + "/key.pem", "-subj",
                  "/CN=register.example.test", "-out", d + "/csr.pem"}) ||
        !Openssl({"ca",           "-batch",
                  "-config",      root + "/ca.cnf",
                  "-selfsign",    "-keyfile",
                  d + "/key.pem", "-notext",
                  "-in",          d + "/csr.pem",
                  "-out",         d + "/cert.pem",
                  "-startdate",   Date(now_ - absl::Hours(240)),
                  "-enddate",     Date(now_ + absl::Hours(24 * 90)),
                  "-extfile",     d + "/ext.cnf",
                  "-extensions",  "leaf"})) {
      return false;
    }
    Store("selfsigned", d);
    leaves_["selfsigned"].fullchain = leaves_["selfsigned"].cert;
    WriteFile(d + "/fullchain.pem", leaves_["selfsigned"].cert);
    return true;
  }

  void Store(const std::string& name, const std::string& d) {
    Leaf& leaf = leaves_[name];
    leaf.cert_file = d + "/cert.pem";
    leaf.key_file = d + "/key.pem";
    leaf.fullchain_file = d + "/fullchain.pem";
    leaf.cert = testing::ReadFile(leaf.cert_file);
    leaf.key = testing::ReadFile(leaf.key_file);
    leaf.fullchain = leaf.cert + intermediate_;
    WriteFile(leaf.fullchain_file, leaf.fullchain);
  }

  absl::Time now_;
  TempDir dir_;
  std::string intermediate_;
  std::map<std::string, Leaf> leaves_;
  bool shared_ec_key_ = false;
  std::string error_;
};

// ---------------------------------------------------------------------------
// A real TLS server on a loopback port, in a thread.

class TlsServer {
 public:
  enum class Mode { kTls, kSilent, kCloseAtOnce };

  // Serves `default_chain` (fullchain + key files), or by_sni[name] when the
  // client asks for that name.
  TlsServer(Mode mode, const Leaf* default_leaf, std::map<std::string, const Leaf*> by_sni = {},
            const std::string& bind_address = "127.0.0.1")
      : mode_(mode) {
    const bool v6 = absl::StrContains(bind_address, ':');
    fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_storage ss = {};
    socklen_t len;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      inet_pton(AF_INET6, bind_address.c_str(), &a->sin6_addr);
      len = sizeof(*a);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      inet_pton(AF_INET, bind_address.c_str(), &a->sin_addr);
      len = sizeof(*a);
    }
    if (bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
      close(fd_);
      fd_ = -1;
      return;
    }
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    address_ =
        v6 ? absl::StrCat("[", bind_address, "]:", port_) : absl::StrCat(bind_address, ":", port_);
    if (mode_ == Mode::kTls) {
      default_ctx_ = MakeCtx(*default_leaf);
      for (const auto& [name, leaf] : by_sni) by_sni_[name] = MakeCtx(*leaf);
      SSL_CTX_set_tlsext_servername_callback(default_ctx_.get(), OnServername);
      SSL_CTX_set_tlsext_servername_arg(default_ctx_.get(), this);
    }
    if (mode_ != Mode::kSilent) thread_ = std::thread([this] { Serve(); });
  }

  ~TlsServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
  }

  bool ok() const { return fd_ >= 0; }
  const std::string& address() const { return address_; }
  int port() const { return port_; }
  std::vector<std::string> sni_seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return sni_seen_;
  }

 private:
  static SslCtxPtr MakeCtx(const Leaf& leaf) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    EXPECT_EQ(SSL_CTX_use_certificate_chain_file(ctx.get(), leaf.fullchain_file.c_str()), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx.get(), leaf.key_file.c_str(), SSL_FILETYPE_PEM), 1);
    return ctx;
  }

  static int OnServername(SSL* ssl, int*, void* arg) {
    auto* self = static_cast<TlsServer*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    std::string sni = name == nullptr ? "" : name;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->sni_seen_.push_back(sni);
    }
    auto it = self->by_sni_.find(sni);
    if (it != self->by_sni_.end()) SSL_set_SSL_CTX(ssl, it->second.get());
    return SSL_TLSEXT_ERR_OK;
  }

  void Serve() {
    // A client that hangs up early must not kill the test with SIGPIPE. Only
    // this thread blocks it: the probe has to cope on its own.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    while (!stop_) {
      pollfd p = {fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      if (mode_ == Mode::kTls) {
        timeval tv = {5, 0};
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        SslPtr ssl(SSL_new(default_ctx_.get()));
        SSL_set_fd(ssl.get(), client);
        if (SSL_accept(ssl.get()) == 1) SSL_shutdown(ssl.get());
        ERR_clear_error();
      }
      close(client);
    }
  }

  Mode mode_;
  int fd_ = -1;
  int port_ = 0;
  std::string address_;
  SslCtxPtr default_ctx_;
  std::map<std::string, SslCtxPtr> by_sni_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> sni_seen_;
};

// A port nothing listens on (bound, then closed).
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  bind(fd, reinterpret_cast<sockaddr*>(&a), len);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// The host seen through --root, but "live": probes really connect.
class LiveRootEnv : public agent::HostEnv {
 public:
  explicit LiveRootEnv(std::unique_ptr<agent::RootedHostEnv> files) : files_(std::move(files)) {}
  absl::StatusOr<agent::FileData> ReadFile(absl::string_view path, size_t max) override {
    return files_->ReadFile(path, max);
  }
  absl::StatusOr<agent::FileInfo> Stat(absl::string_view path) override {
    return files_->Stat(path);
  }
  absl::StatusOr<std::string> ReadLink(absl::string_view path) override {
    return files_->ReadLink(path);
  }
  absl::StatusOr<std::vector<agent::DirEntry>> ListDir(absl::string_view path) override {
    return files_->ListDir(path);
  }
  absl::StatusOr<agent::FsStats> StatFs(absl::string_view path) override {
    return files_->StatFs(path);
  }
  absl::StatusOr<agent::CommandResult> Run(const std::vector<std::string>&,
                                           absl::Duration) override {
    return absl::UnavailableError("no commands in this test");
  }
  absl::StatusOr<std::vector<std::string>> ProbeTls(const std::string& address,
                                                    const std::string& sni,
                                                    absl::Duration timeout) override {
    return agent::ProbeTlsChain(address, sni, timeout);
  }
  bool live() const override { return true; }
  const std::string& root() const override { return files_->root(); }

 private:
  std::unique_ptr<agent::RootedHostEnv> files_;
};

// ---------------------------------------------------------------------------
// Fixture: one PKI for the whole suite (the openssl CLI is slow-ish).

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    now_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
    pki_ = new TestPki(now_);
    pki_ok_ = pki_->Build();
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(pki_ok_) << pki_->error(); }

  static const Leaf& L(const std::string& name) { return pki_->leaf(name); }

  // The certificate as the agent describes it, trusting the test root as the
  // configured private CA.
  static v1::CertificateInfo Describe(const std::string& leaf, bool with_ca = true,
                                      bool with_intermediate = true) {
    const Leaf& l = L(leaf);
    return agent::DescribeChain({with_intermediate ? l.fullchain : l.cert},
                                absl::StrCat(kCertDir, "/", leaf, ".crt"),
                                with_ca ? pki_->root_file() : "", now_);
  }

  static v1::FactReport ReportOf(std::vector<v1::CertificateInfo> certs) {
    v1::FactReport report;
    v1::TlsFact& tls = *report.mutable_tls();
    tls.mutable_collection()->set_state(v1::Collection::OK);
    for (auto& c : certs) *tls.add_certificates() = std::move(c);
    return report;
  }

  static v1::Policy PolicyFor(std::vector<std::string> hostnames, bool trust_private_ca = true) {
    v1::Policy policy;
    for (const std::string& h : hostnames) policy.add_tls_hostnames(h);
    policy.set_tls_trust_private_ca(trust_private_ca);
    return policy;
  }

  // The report of a host that resolves each of `policy`'s names to itself,
  // unless the report says how names resolve.
  static v1::FactReport ResolvingLocally(v1::FactReport report, const v1::Policy& policy) {
    v1::TlsFact& tls = *report.mutable_tls();
    if (tls.resolutions_size() > 0 || tls.local_addresses_known()) return report;
    tls.set_local_addresses_known(true);
    tls.add_local_addresses("203.0.113.10");
    for (const std::string& name : policy.tls_hostnames()) {
      v1::NameResolution* r = tls.add_resolutions();
      r->set_name(name);
      r->set_resolver_asked(true);
      r->add_resolver_addresses("203.0.113.10");
    }
    return report;
  }

  static v1::Verdict Evaluate(const v1::FactReport& report_in, const v1::Policy& policy,
                              std::vector<std::string> roles = {"manager"},
                              absl::Time now = absl::InfinitePast()) {
    const v1::FactReport report =
        report_in.has_tls() && report_in.tls().collection().state() == v1::Collection::OK
            ? ResolvingLocally(report_in, policy)
            : report_in;
    collector::CheckRegistry registry;
    collector::RegisterBuiltinChecks(registry);
    v1::InventoryHost host;
    host.set_id("manager-1");
    host.set_environment("production");
    for (const std::string& r : roles) host.add_roles(r);
    v1::HostVerdicts all = collector::Evaluate(registry, host, policy, report,
                                               now == absl::InfinitePast() ? now_ : now);
    for (const v1::Verdict& v : all.verdicts()) {
      if (v.check_id() == kCheckId) return v;
    }
    ADD_FAILURE() << "no verdict for " << kCheckId;
    return v1::Verdict();
  }

  static std::string EvidenceText(const v1::Verdict& v) {
    std::string out;
    for (const v1::Evidence& e : v.evidence()) {
      absl::StrAppend(&out, e.message(), " | ", e.source(), " | ", e.observed(), " | ",
                      e.expected(), "\n");
    }
    return out;
  }

  // The check's verdict for one leaf served for register.example.test.
  static v1::Verdict VerdictFor(const std::string& leaf, bool trust_private_ca = true,
                                bool with_intermediate = true) {
    return Evaluate(ReportOf({Describe(leaf, true, with_intermediate)}),
                    PolicyFor({"register.example.test"}, trust_private_ca));
  }

  static std::string AcmeJson(const std::string& key_b64) {
    return absl::StrCat(R"({
  "letsencrypt": {
    "Account": {"Email": "ops@example.test", "Registration": {"uri": "https://acme/acct/1"},
                "PrivateKey": ")",
                        key_b64, R"(", "KeyType": "4096"},
    "Certificates": [
      {"domain": {"main": "register.example.test", "sans": ["login.example.test"]},
       "certificate": ")",
                        absl::Base64Escape(L("valid").fullchain), R"(",
       "key": ")",
                        key_b64, R"(", "Store": "default"},
      {"domain": {"main": "*.example.test"},
       "certificate": ")",
                        absl::Base64Escape(L("wildcard").fullchain), R"(",
       "key": ")",
                        absl::Base64Escape(L("wildcard").key), R"(", "Store": "default"}
    ]
  },
  "staging": {"Account": null, "Certificates": null}
})");
  }

  static absl::Time now_;
  static TestPki* pki_;
  static bool pki_ok_;
};

absl::Time TlsTest::now_;
TestPki* TlsTest::pki_ = nullptr;
bool TlsTest::pki_ok_ = false;

// ---------------------------------------------------------------------------
// DescribeChain.

TEST_F(TlsTest, DescribesLeafWithIntermediate) {
  v1::CertificateInfo c = Describe("valid");
  EXPECT_EQ(c.origin(), "/data/traefik/certs/valid.crt");
  EXPECT_EQ(c.subject(), "CN=register.example.test");
  EXPECT_THAT(c.dns_names(), ElementsAre("register.example.test", "login.example.test"));
  EXPECT_EQ(c.issuer(), "CN=Preflight Test Intermediate CA");
  EXPECT_EQ(c.key_type(), "RSA");
  EXPECT_EQ(c.key_bits(), 2048u);
  EXPECT_FALSE(c.self_signed());
  EXPECT_EQ(c.chain_length(), 2u);
  EXPECT_EQ(c.not_before_unix(), absl::ToUnixSeconds(now_ - absl::Hours(240)));
  EXPECT_EQ(c.not_after_unix(), absl::ToUnixSeconds(now_ + absl::Hours(24 * 90 + 1)));
  EXPECT_EQ(c.fingerprint_sha256(),
            pki_->X509Field(L("valid").cert_file, {"-fingerprint", "-sha256"}));
  EXPECT_EQ(c.serial(), pki_->X509Field(L("valid").cert_file, {"-serial"}));
  // Trusted only through the configured CA: the system store's reason stays.
  EXPECT_TRUE(c.chain_verified());
  EXPECT_EQ(c.verify_error(), "unable to get local issuer certificate");
  EXPECT_EQ(c.sni(), "");

  v1::CertificateInfo ec = Describe("wildcard");
  EXPECT_EQ(ec.key_type(), "EC");
  EXPECT_EQ(ec.key_bits(), 256u);
}

TEST_F(TlsTest, BundleInOneStringEqualsSeparateStrings) {
  v1::CertificateInfo one = Describe("valid");
  v1::CertificateInfo two = agent::DescribeChain({L("valid").cert, pki_->intermediate()},
                                                 one.origin(), pki_->root_file(), now_);
  EXPECT_EQ(one.SerializeAsString(), two.SerializeAsString());
}

TEST_F(TlsTest, WithoutTheConfiguredCaTheSystemStoreDoesNotTrustTestCertificates) {
  v1::CertificateInfo c = Describe("valid", /*with_ca=*/false);
  EXPECT_FALSE(c.chain_verified());
  EXPECT_EQ(c.verify_error(), "unable to get local issuer certificate");
}

TEST_F(TlsTest, ChainMissingTheIntermediateIsNotVerified) {
  v1::CertificateInfo c = Describe("valid", true, /*with_intermediate=*/false);
  EXPECT_EQ(c.chain_length(), 1u);
  EXPECT_FALSE(c.chain_verified());
  EXPECT_EQ(c.verify_error(), "unable to get local issuer certificate");
}

TEST_F(TlsTest, SelfSignedLeaf) {
  v1::CertificateInfo c = Describe("selfsigned");
  EXPECT_TRUE(c.self_signed());
  EXPECT_FALSE(c.chain_verified());
  EXPECT_THAT(c.verify_error(), HasSubstr("self"));
  // Trusted when the CA file is the certificate itself.
  v1::CertificateInfo pinned =
      agent::DescribeChain({L("selfsigned").cert}, "pinned", L("selfsigned").cert_file, now_);
  EXPECT_TRUE(pinned.chain_verified());
  EXPECT_THAT(pinned.verify_error(), HasSubstr("self"));
}

TEST_F(TlsTest, LeafDatesDoNotAffectChainVerification) {
  for (const char* leaf : {"expired", "future", "soon5"}) {
    v1::CertificateInfo c = Describe(leaf);
    EXPECT_TRUE(c.chain_verified()) << leaf << ": " << c.verify_error();
  }
  EXPECT_LT(Describe("expired").not_after_unix(), absl::ToUnixSeconds(now_));
  EXPECT_GT(Describe("future").not_before_unix(), absl::ToUnixSeconds(now_));
}

TEST_F(TlsTest, IgnoresInputHoldingAPrivateKeyAndGarbage) {
  v1::CertificateInfo c =
      agent::DescribeChain({L("valid").cert + L("valid").key}, "combined", "", now_);
  EXPECT_EQ(c.chain_length(), 0u);
  EXPECT_EQ(c.subject(), "");
  EXPECT_FALSE(c.verify_error().empty());
  v1::CertificateInfo g = agent::DescribeChain(
      {"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "", "\xff"},
      "garbage", pki_->root_file(), now_);
  EXPECT_EQ(g.chain_length(), 0u);
  EXPECT_FALSE(g.chain_verified());
  v1::CertificateInfo missing_ca =
      agent::DescribeChain({L("valid").fullchain}, "x", pki_->dir() + "/nope.pem", now_);
  EXPECT_FALSE(missing_ca.chain_verified());
  EXPECT_THAT(missing_ca.verify_error(), HasSubstr("cannot load CA file"));
}

// ---------------------------------------------------------------------------
// ParseAcmeJson.

TEST_F(TlsTest, ParsesTraefikV2AcmeStore) {
  const std::string key_b64 = absl::Base64Escape(L("valid").key);
  std::vector<std::string> origins, problems;
  auto chains = agent::ParseAcmeJson(AcmeJson(key_b64), &origins, &problems);
  ASSERT_TRUE(chains.ok()) << chains.status();
  ASSERT_EQ(chains->size(), 2u);
  EXPECT_EQ((*chains)[0], L("valid").fullchain);
  EXPECT_EQ((*chains)[1], L("wildcard").fullchain);
  EXPECT_THAT(origins, ElementsAre("resolver=letsencrypt main=register.example.test",
                                   "resolver=letsencrypt main=*.example.test"));
  EXPECT_THAT(problems, ElementsAre());
  for (const std::string& c : *chains) EXPECT_THAT(c, Not(HasSubstr("PRIVATE KEY")));
}

TEST_F(TlsTest, AcmeStoreEdgeCases) {
  std::vector<std::string> origins, problems;
  // Traefik creates the file empty.
  auto empty = agent::ParseAcmeJson("  \n", &origins, &problems);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(agent::ParseAcmeJson("{not json", &origins).ok());
  EXPECT_FALSE(agent::ParseAcmeJson("[1, 2]", &origins).ok());
  EXPECT_FALSE(agent::ParseAcmeJson("\"text\"", &origins).ok());

  // Unusable entries are skipped with a problem each; a key in the
  // certificate field is never returned.
  const std::string doc = absl::StrCat(
      R"({"le": {"Certificates": [
        {"domain": {"main": "a.example.test"}, "certificate": "%%%not base64%%%"},
        {"domain": {"main": "b.example.test"}, "certificate": ")",
      absl::Base64Escape("hello"), R"("},
        {"domain": {"main": "c.example.test"}, "certificate": ")",
      absl::Base64Escape(L("valid").key), R"("},
        {"domain": {"main": "d.example.test"}},
        "not an object",
        {"domain": {"main": "e.example.test"}, "certificate": ")",
      absl::Base64Escape(L("valid").cert), R"("}
      ]}, "broken": 42})");
  origins.clear();
  problems.clear();
  auto chains = agent::ParseAcmeJson(doc, &origins, &problems);
  ASSERT_TRUE(chains.ok()) << chains.status();
  ASSERT_EQ(chains->size(), 1u);
  EXPECT_EQ((*chains)[0], L("valid").cert);
  EXPECT_THAT(origins, ElementsAre("resolver=le main=e.example.test"));
  ASSERT_EQ(problems.size(), 6u);
  EXPECT_THAT(problems[0], HasSubstr("resolver=broken: not an object"));
  EXPECT_THAT(problems[1], HasSubstr("main=a.example.test: certificate is not valid base64"));
  EXPECT_THAT(problems[2], HasSubstr("main=b.example.test: certificate is not a PEM"));
  EXPECT_THAT(problems[3], HasSubstr("main=c.example.test: certificate field holds a private key"));
  EXPECT_THAT(problems[4], HasSubstr("main=d.example.test: no certificate"));
  EXPECT_THAT(problems[5], HasSubstr("#5: not an object"));
  for (const std::string& p : problems) EXPECT_THAT(p, Not(HasSubstr("PRIVATE")));

  // Traefik v1: the certificates at the top level.
  const std::string v1doc =
      absl::StrCat(R"({"Account": {}, "Certificates": [{"Domain": {"Main": "v1.example.test"},
      "Certificate": ")",
                   absl::Base64Escape(L("valid").cert), R"(", "Key": "a2V5"}]})");
  origins.clear();
  auto v1chains = agent::ParseAcmeJson(v1doc, &origins);
  ASSERT_TRUE(v1chains.ok()) << v1chains.status();
  EXPECT_EQ(v1chains->size(), 1u);
  EXPECT_THAT(origins, ElementsAre("main=v1.example.test"));
}

// ---------------------------------------------------------------------------
// The check.

TEST_F(TlsTest, CheckCatalogue) {
  collector::CheckRegistry registry;
  collector::RegisterBuiltinChecks(registry);
  const collector::Check* c = registry.Find(kCheckId);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->info.checklist_item(), 3u);
  EXPECT_EQ(c->info.severity(), v1::BLOCKER);
  EXPECT_THAT(c->info.roles(), ElementsAre("manager"));
  EXPECT_THAT(c->info.remediation(), AllOf(HasSubstr("Traefik"), HasSubstr("acme.json")));
}

TEST_F(TlsTest, ValidCertificatePasses) {
  v1::Verdict v = VerdictFor("valid");
  EXPECT_EQ(v.status(), v1::PASS) << EvidenceText(v);
  ASSERT_EQ(v.evidence_size(), 2);  // the certificate, then how the name resolves
  EXPECT_THAT(v.evidence(1).message(), HasSubstr("register.example.test: resolves to"));
  const v1::Evidence& e = v.evidence(0);
  EXPECT_THAT(e.message(),
              AllOf(HasSubstr("register.example.test"), HasSubstr("90 days left"),
                    HasSubstr("CN=Preflight Test Intermediate CA"), HasSubstr("certificate file"),
                    HasSubstr("trusted via the configured private CA")));
  EXPECT_EQ(e.source(), "/data/traefik/certs/valid.crt");
  EXPECT_THAT(e.observed(), HasSubstr("valid: 90 days left"));
  EXPECT_THAT(e.expected(), HasSubstr("at least 30 more days"));
}

TEST_F(TlsTest, ExpiredFails) {
  v1::Verdict v = VerdictFor("expired");
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(EvidenceText(v), HasSubstr("expired on"));
}

TEST_F(TlsTest, NotYetValidFails) {
  v1::Verdict v = VerdictFor("future");
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(EvidenceText(v), HasSubstr("not yet valid"));
}

TEST_F(TlsTest, WrongNameFails) {
  v1::Verdict v = VerdictFor("wrongname");
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(EvidenceText(v), HasSubstr("no certificate covers register.example.test"));
}

TEST_F(TlsTest, SelfSignedFailsEvenWithPrivateCaTrust) {
  v1::Verdict v = VerdictFor("selfsigned");
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(EvidenceText(v), HasSubstr("self-signed and untrusted"));
  // ... unless the configured CA file pins it.
  v1::FactReport pinned = ReportOf({agent::DescribeChain({L("selfsigned").cert}, "pinned.crt",
                                                         L("selfsigned").cert_file, now_)});
  EXPECT_EQ(Evaluate(pinned, PolicyFor({"register.example.test"})).status(), v1::PASS);
  EXPECT_EQ(Evaluate(pinned, PolicyFor({"register.example.test"}, false)).status(), v1::FAIL);
}

TEST_F(TlsTest, MissingIntermediateFailsUntrusted) {
  v1::Verdict v = VerdictFor("valid", true, /*with_intermediate=*/false);
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(EvidenceText(v), HasSubstr("untrusted: unable to get local issuer certificate"));
}

TEST_F(TlsTest, ExpiringSoonFailsOrWarns) {
  v1::Verdict five = VerdictFor("soon5");
  EXPECT_EQ(five.status(), v1::FAIL) << EvidenceText(five);
  EXPECT_THAT(EvidenceText(five), HasSubstr("5 days left"));
  v1::Verdict twenty = VerdictFor("soon20");
  EXPECT_EQ(twenty.status(), v1::WARN) << EvidenceText(twenty);
  EXPECT_THAT(EvidenceText(twenty), HasSubstr("20 days left"));

  // Thresholds from the policy; 0 means the default (30 / 7).
  v1::Policy lax = PolicyFor({"register.example.test"});
  lax.set_tls_warn_days(10);
  lax.set_tls_fail_days(3);
  EXPECT_EQ(Evaluate(ReportOf({Describe("soon20")}), lax).status(), v1::PASS);
  EXPECT_EQ(Evaluate(ReportOf({Describe("soon5")}), lax).status(), v1::WARN);
  EXPECT_EQ(Evaluate(ReportOf({Describe("soon20")}),
                     collector::WithPolicyDefaults(PolicyFor({"register.example.test"})))
                .status(),
            v1::WARN);
}

TEST_F(TlsTest, WithoutPrivateCaTrustTestCertificatesAreUntrusted) {
  for (const char* leaf : {"valid", "soon20", "wildcard"}) {
    v1::Verdict v = Evaluate(ReportOf({Describe(leaf)}),
                             PolicyFor({"register.example.test"}, /*trust_private_ca=*/false));
    EXPECT_EQ(v.status(), v1::FAIL) << leaf;
    EXPECT_THAT(EvidenceText(v), HasSubstr("untrusted")) << leaf;
  }
}

TEST_F(TlsTest, WildcardsMatchOneLeftmostLabel) {
  v1::FactReport report = ReportOf({Describe("wildcard")});
  EXPECT_EQ(Evaluate(report, PolicyFor({"auth.example.test"})).status(), v1::PASS);
  EXPECT_EQ(Evaluate(report, PolicyFor({"AUTH.Example.Test."})).status(), v1::PASS);
  EXPECT_EQ(Evaluate(report, PolicyFor({"example.test"})).status(), v1::FAIL);
  EXPECT_EQ(Evaluate(report, PolicyFor({"a.b.example.test"})).status(), v1::FAIL);
  EXPECT_EQ(Evaluate(report, PolicyFor({"auth.example.test.evil"})).status(), v1::FAIL);
}

TEST_F(TlsTest, EveryHostnameIsCheckedAndTheBestStoredCertificateWins) {
  // An expired and a valid certificate for the same name (a renewal left the
  // old file behind): the valid one is what Traefik serves.
  v1::FactReport report = ReportOf({Describe("expired"), Describe("valid"), Describe("wildcard")});
  v1::Verdict v = Evaluate(
      report, PolicyFor({"register.example.test", "login.example.test", "auth.example.test"}));
  EXPECT_EQ(v.status(), v1::PASS) << EvidenceText(v);
  EXPECT_EQ(v.evidence_size(), 6);  // per name: certificate and resolution
  v = Evaluate(report, PolicyFor({"register.example.test", "kibana.example.org"}));
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(EvidenceText(v), HasSubstr("kibana.example.org: FAIL: no certificate covers"));
}

TEST_F(TlsTest, LiveHandshakeWinsOverStoredCertificates) {
  // The store holds a valid certificate, but the server presents another one
  // for this SNI: what is served decides.
  v1::CertificateInfo live = agent::DescribeChain({L("wrongname").fullchain},
                                                  "tls://127.0.0.1:443 sni=register.example.test",
                                                  pki_->root_file(), now_);
  live.set_sni("register.example.test");
  v1::Verdict v =
      Evaluate(ReportOf({Describe("valid"), live}), PolicyFor({"register.example.test"}));
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(EvidenceText(v), AllOf(HasSubstr("does not cover register.example.test"),
                                     HasSubstr("live handshake")));
  live = agent::DescribeChain({L("soon20").fullchain}, "tls://127.0.0.1:443 sni=x",
                              pki_->root_file(), now_);
  live.set_sni("register.example.test");
  v = Evaluate(ReportOf({Describe("valid"), live}), PolicyFor({"register.example.test"}));
  EXPECT_EQ(v.status(), v1::WARN);
}

TEST_F(TlsTest, NoHostnamesConfiguredChecksEveryCertificate) {
  v1::Verdict v = Evaluate(ReportOf({Describe("valid"), Describe("wildcard")}), PolicyFor({}));
  EXPECT_EQ(v.status(), v1::PASS) << EvidenceText(v);
  EXPECT_THAT(v.evidence(0).message(), HasSubstr("no hostnames are configured"));
  v = Evaluate(ReportOf({Describe("valid"), Describe("soon20")}), PolicyFor({}));
  EXPECT_EQ(v.status(), v1::WARN);
  v = Evaluate(ReportOf({Describe("valid"), Describe("expired")}), PolicyFor({}));
  EXPECT_EQ(v.status(), v1::FAIL);
  v = Evaluate(ReportOf({}), PolicyFor({}));
  EXPECT_EQ(v.status(), v1::FAIL);
  EXPECT_THAT(EvidenceText(v), HasSubstr("no certificate found"));
}

TEST_F(TlsTest, AbsentErrorAndOtherRoles) {
  // A manager with no certificate store and nothing answering: never "not
  // applicable" (the export showed item 3 met with 0 certificates examined).
  v1::FactReport absent;
  absent.set_root("/");
  absent.mutable_tls()->mutable_collection()->set_state(v1::Collection::ABSENT);
  v1::Verdict v = Evaluate(absent, PolicyFor({"register.example.test"}));
  EXPECT_EQ(v.status(), v1::FAIL) << EvidenceText(v);
  EXPECT_THAT(EvidenceText(v), HasSubstr("no TLS certificate store"));
  EXPECT_THAT(EvidenceText(v), HasSubstr("no live handshake for register.example.test"));
  EXPECT_THAT(EvidenceText(v), HasSubstr("0 certificates examined"));
  v = Evaluate(absent, PolicyFor({}));
  EXPECT_EQ(v.status(), v1::FAIL) << EvidenceText(v);
  EXPECT_THAT(EvidenceText(v), HasSubstr("policy tls_hostnames is empty"));
  // Reading an image nothing can answer: unknown, not a pass.
  absent.set_root("/srv/images/manager");
  v = Evaluate(absent, PolicyFor({"register.example.test"}));
  EXPECT_EQ(v.status(), v1::UNKNOWN) << EvidenceText(v);
  EXPECT_THAT(EvidenceText(v), HasSubstr("reading an image"));

  v1::FactReport error;
  error.mutable_tls()->mutable_collection()->set_state(v1::Collection::ERROR);
  error.mutable_tls()->mutable_collection()->set_error("/data/traefik/acme.json: denied");
  v = Evaluate(error, PolicyFor({"register.example.test"}));
  EXPECT_EQ(v.status(), v1::UNKNOWN);
  EXPECT_THAT(EvidenceText(v), HasSubstr("could not be read: /data/traefik/acme.json: denied"));
  // A definite failure seen anyway is not hidden behind UNKNOWN.
  *error.mutable_tls()->add_certificates() = Describe("expired");
  EXPECT_EQ(Evaluate(error, PolicyFor({"register.example.test"})).status(), v1::FAIL);

  v1::FactReport old_agent;  // no tls fact at all
  EXPECT_EQ(Evaluate(old_agent, PolicyFor({"register.example.test"})).status(), v1::UNKNOWN);

  v = Evaluate(ReportOf({Describe("expired")}), PolicyFor({"register.example.test"}), {"worker"});
  EXPECT_EQ(v.status(), v1::NOT_APPLICABLE);
  EXPECT_THAT(EvidenceText(v), HasSubstr("manager"));
}

// Each policy hostname must resolve, and to this host.
TEST_F(TlsTest, HostnamesMustResolveToThisHost) {
  const v1::Policy policy = PolicyFor({"register.example.test"});
  auto with = [&](std::function<void(v1::TlsFact&, v1::NameResolution&)> set) {
    v1::FactReport r = ReportOf({Describe("valid")});
    v1::TlsFact& tls = *r.mutable_tls();
    tls.set_local_addresses_known(true);
    tls.add_local_addresses("127.0.0.1");
    tls.add_local_addresses("203.0.113.10");
    v1::NameResolution& n = *tls.add_resolutions();
    n.set_name("register.example.test");
    set(tls, n);
    return Evaluate(r, policy);
  };
  v1::Verdict v = with([](v1::TlsFact&, v1::NameResolution& n) {
    n.set_resolver_asked(true);
    n.add_resolver_addresses("203.0.113.10");
  });
  EXPECT_EQ(v.status(), v1::PASS) << EvidenceText(v);
  EXPECT_THAT(EvidenceText(v), HasSubstr("resolves to 203.0.113.10 by the resolver (this host)"));

  v = with([](v1::TlsFact&, v1::NameResolution& n) {
    n.set_resolver_asked(true);
    n.set_resolver_error("resolving register.example.test: Name or service not known");
  });
  EXPECT_EQ(v.status(), v1::FAIL) << EvidenceText(v);
  EXPECT_THAT(EvidenceText(v), HasSubstr("does not resolve on this host"));

  v = with([](v1::TlsFact&, v1::NameResolution& n) {
    n.set_resolver_asked(true);
    n.add_resolver_addresses("198.51.100.7");
    n.set_hosts_file_source("/etc/hosts:3");
    n.add_hosts_file_addresses("198.51.100.7");
  });
  EXPECT_EQ(v.status(), v1::WARN) << EvidenceText(v);
  EXPECT_THAT(EvidenceText(v), HasSubstr("resolves to 198.51.100.7 pinned by /etc/hosts:3, not "
                                         "to this host"));

  // Reading an image: /etc/hosts alone, and UNKNOWN when it does not say.
  v = with([](v1::TlsFact& tls, v1::NameResolution& n) {
    tls.set_local_addresses_known(false);
    tls.clear_local_addresses();
    n.set_hosts_file_source("/etc/hosts:2");
    n.add_hosts_file_addresses("10.0.1.10");
  });
  EXPECT_EQ(v.status(), v1::PASS) << EvidenceText(v);
  EXPECT_THAT(EvidenceText(v), HasSubstr("resolves to 10.0.1.10 by /etc/hosts:2"));
  v = with([](v1::TlsFact& tls, v1::NameResolution&) {
    tls.set_local_addresses_known(false);
    tls.clear_local_addresses();
  });
  EXPECT_EQ(v.status(), v1::UNKNOWN) << EvidenceText(v);
  EXPECT_THAT(EvidenceText(v), HasSubstr("resolver cannot be asked when reading an image"));

  // A name the agent never resolved (it had not been told it yet).
  v1::FactReport none = ReportOf({Describe("valid")});
  none.mutable_tls()->set_local_addresses_known(true);
  v = Evaluate(none, policy);
  EXPECT_EQ(v.status(), v1::UNKNOWN) << EvidenceText(v);
  EXPECT_THAT(EvidenceText(v), HasSubstr("the agent did not resolve this name"));
}

// The agent resolves names as the host does: the real resolver and the real
// interface addresses when live, /etc/hosts alone in an image.
TEST_F(TlsTest, AgentResolvesNamesTheWayTheHostDoes) {
  auto live = agent::RootedHostEnv::Create("/");
  ASSERT_TRUE(live.ok()) << live.status();
  agent::CollectOptions options;
  options.tls_acme_file = "";
  options.tls_cert_dirs = {};
  options.tls_probe_address = "127.0.0.1:1";  // nothing listens: the probe fails fast
  options.tls_hostnames = {"localhost", "no-such-host.invalid"};
  v1::FactReport report;
  agent::MakeTlsCollector()->Collect(**live, options, report);
  const v1::TlsFact& tls = report.tls();
  ASSERT_EQ(tls.resolutions_size(), 2);
  EXPECT_TRUE(tls.local_addresses_known());
  EXPECT_THAT(tls.local_addresses(), ::testing::Contains("127.0.0.1"));
  EXPECT_TRUE(tls.resolutions(0).resolver_asked());
  EXPECT_THAT(tls.resolutions(0).resolver_addresses(), ::testing::Contains("127.0.0.1"))
      << tls.resolutions(0).DebugString();
  EXPECT_TRUE(tls.resolutions(1).resolver_addresses().empty());
  EXPECT_THAT(tls.resolutions(1).resolver_error(), HasSubstr("no-such-host.invalid"));

  // An image: its /etc/hosts, no resolver, no interfaces.
  TempDir image;
  WriteFile(image.Join("etc/hosts"), "# comment\n10.0.1.10  Register.Example.Test other\n");
  auto rooted = agent::RootedHostEnv::Create(image.path());
  ASSERT_TRUE(rooted.ok()) << rooted.status();
  options.tls_hostnames = {"register.example.test"};
  v1::FactReport from_image;
  agent::MakeTlsCollector()->Collect(**rooted, options, from_image);
  ASSERT_EQ(from_image.tls().resolutions_size(), 1);
  const v1::NameResolution& r = from_image.tls().resolutions(0);
  EXPECT_FALSE(r.resolver_asked());
  EXPECT_THAT(r.hosts_file_addresses(), ::testing::ElementsAre("10.0.1.10"));
  EXPECT_EQ(r.hosts_file_source(), "/etc/hosts:2");
  EXPECT_FALSE(from_image.tls().local_addresses_known());
}

// ---------------------------------------------------------------------------
// The probe, against a real TLS server.

TEST_F(TlsTest, ProbeReturnsTheChainServedForTheSni) {
  TlsServer server(TlsServer::Mode::kTls, &L("wrongname"),
                   {{"register.example.test", &L("valid")}});
  ASSERT_TRUE(server.ok());
  auto chain = agent::ProbeTlsChain(server.address(), "register.example.test", absl::Seconds(5));
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ((*chain)[0], L("valid").cert);
  EXPECT_EQ((*chain)[1], pki_->intermediate());
  EXPECT_THAT(server.sni_seen(), ElementsAre("register.example.test"));

  auto other = agent::ProbeTlsChain(server.address(), "unknown.example.test", absl::Seconds(5));
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ((*other)[0], L("wrongname").cert);

  // No SNI for an IP literal or an empty name.
  auto none = agent::ProbeTlsChain(server.address(), "", absl::Seconds(5));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ((*none)[0], L("wrongname").cert);

  // By name.
  auto by_name = agent::ProbeTlsChain(absl::StrCat("localhost:", server.port()),
                                      "register.example.test", absl::Seconds(5));
  ASSERT_TRUE(by_name.ok()) << by_name.status();
  EXPECT_EQ((*by_name)[0], L("valid").cert);
}

TEST_F(TlsTest, ProbeOverIpv6) {
  TlsServer server(TlsServer::Mode::kTls, &L("valid"), {}, "::1");
  if (!server.ok()) GTEST_SKIP() << "no IPv6 loopback here";
  EXPECT_EQ(server.address(), absl::StrCat("[::1]:", server.port()));
  auto chain = agent::ProbeTlsChain(server.address(), "register.example.test", absl::Seconds(5));
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ((*chain)[0], L("valid").cert);
}

TEST_F(TlsTest, ProbeErrorsNameTheAddressAndNeverHang) {
  const std::string refused = absl::StrCat("127.0.0.1:", ClosedPort());
  auto r = agent::ProbeTlsChain(refused, "register.example.test", absl::Seconds(5));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), absl::StrCat("connect ", refused, ": Connection refused"));

  TlsServer silent(TlsServer::Mode::kSilent, nullptr);
  ASSERT_TRUE(silent.ok());
  absl::Time start = absl::Now();
  r = agent::ProbeTlsChain(silent.address(), "register.example.test", absl::Milliseconds(300));
  absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  EXPECT_THAT(r.status().message(),
              HasSubstr(absl::StrCat("TLS handshake with ", silent.address(),
                                     " (sni register.example.test): timed out")));
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(2));

  TlsServer closer(TlsServer::Mode::kCloseAtOnce, nullptr);
  ASSERT_TRUE(closer.ok());
  r = agent::ProbeTlsChain(closer.address(), "x.example.test", absl::Seconds(5));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr(absl::StrCat("TLS handshake with ", closer.address(),
                                                           " (sni x.example.test): ")));

  for (const char* bad : {"", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000", "[::1:443"}) {
    r = agent::ProbeTlsChain(bad, "x", absl::Seconds(1));
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad << ": " << r.status();
  }
}

// ---------------------------------------------------------------------------
// The collector, on a host tree built here.

class TlsCollectorTest : public TlsTest {
 protected:
  void SetUp() override {
    TlsTest::SetUp();
    key_b64_ = absl::Base64Escape(L("valid").key);
    WriteFile(root_.Join(kAcmePath), AcmeJson(key_b64_), 0600);
    WriteFile(root_.Join("/data/traefik/certs/static.crt"), L("soon20").fullchain);
    WriteFile(root_.Join("/data/traefik/certs/static.key"), L("soon20").key, 0600);
    WriteFile(root_.Join("/data/traefik/certs/combined.pem"), L("expired").cert + L("expired").key);
    WriteFile(root_.Join("/data/traefik/certs/readme.txt"), "not a certificate");
    WriteFile(root_.Join("/data/traefik/certs/broken.cert"), "hello");
    testing::MakeDirs(root_.Join("/data/traefik/certs/sub.pem"));
  }

  v1::FactReport Collect(agent::HostEnv& env, const agent::CollectOptions& options) {
    v1::FactReport report;
    auto collector = agent::MakeTlsCollector();
    EXPECT_EQ(collector->name(), "tls");
    v1::Collection* c = collector->Collect(env, options, report);
    EXPECT_EQ(c, report.mutable_tls()->mutable_collection());
    // These tests judge certificates; how the names resolve (test names that
    // resolve nowhere) is AgentResolvesNamesTheWayTheHostDoes's and
    // HostnamesMustResolveToThisHost's: the verdicts here see a host that
    // resolves every name to itself.
    report.mutable_tls()->clear_resolutions();
    report.mutable_tls()->clear_local_addresses();
    report.mutable_tls()->set_local_addresses_known(false);
    return report;
  }

  std::unique_ptr<agent::RootedHostEnv> Env() {
    auto env = agent::RootedHostEnv::Create(root_.path());
    EXPECT_TRUE(env.ok()) << env.status();
    return std::move(*env);
  }

  static std::vector<std::string> Origins(const v1::TlsFact& tls) {
    std::vector<std::string> out;
    for (const auto& c : tls.certificates()) out.push_back(c.origin());
    return out;
  }

  TempDir root_;
  std::string key_b64_;
};

TEST_F(TlsCollectorTest, ReadsAcmeStoreAndCertificateFilesNeverKeys) {
  auto env = Env();
  agent::CollectOptions options;
  options.tls_ca_file = pki_->root_file();
  options.tls_hostnames = {"register.example.test"};  // not live: no probe
  v1::FactReport report = Collect(*env, options);
  const v1::TlsFact& tls = report.tls();
  EXPECT_EQ(tls.collection().state(), v1::Collection::OK) << tls.collection().error();
  EXPECT_THAT(Origins(tls),
              ElementsAre("/data/traefik/acme.json resolver=letsencrypt main=register.example.test",
                          "/data/traefik/acme.json resolver=letsencrypt main=*.example.test",
                          "/data/traefik/certs/static.crt"));
  EXPECT_TRUE(tls.probed_hostnames().empty());
  EXPECT_TRUE(tls.certificates(0).chain_verified());
  EXPECT_EQ(tls.certificates(2).chain_length(), 2u);

  std::vector<std::string> problems;
  for (const auto& p : tls.problems()) problems.push_back(p.file() + ": " + p.message());
  EXPECT_THAT(problems,
              ElementsAre("/data/traefik/certs/broken.cert: no PEM certificate in the file",
                          "/data/traefik/certs/combined.pem: skipped private key file"));

  // Nothing of any private key is in the fact, in any encoding.
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(tls, &json).ok());
  const std::string binary = tls.SerializeAsString();
  std::vector<std::string> secrets = {"PRIVATE KEY", key_b64_, key_b64_.substr(40, 40),
                                      absl::Base64Escape(L("wildcard").key)};
  for (const char* leaf : {"valid", "wildcard", "expired", "soon20"}) {
    std::vector<std::string> lines = absl::StrSplit(L(leaf).key, '\n', absl::SkipEmpty());
    ASSERT_GE(lines.size(), 3u);
    secrets.push_back(lines[1]);  // first line of the key's body
  }
  for (const std::string& s : secrets) {
    EXPECT_THAT(json, Not(HasSubstr(s)));
    EXPECT_THAT(binary, Not(HasSubstr(s)));
  }

  // And the collector service's verdict on it.
  v1::Verdict v = Evaluate(report, PolicyFor({"register.example.test", "auth.example.test"}));
  EXPECT_EQ(v.status(), v1::PASS) << EvidenceText(v);
  EXPECT_THAT(EvidenceText(v),
              HasSubstr("ACME store /data/traefik/acme.json resolver=letsencrypt"));
}

TEST_F(TlsCollectorTest, ProbesEveryHostnameOnALiveHost) {
  TlsServer server(TlsServer::Mode::kTls, &L("wrongname"),
                   {{"register.example.test", &L("soon5")}, {"login.example.test", &L("valid")}});
  ASSERT_TRUE(server.ok());
  LiveRootEnv env(Env());
  agent::CollectOptions options;
  options.tls_ca_file = pki_->root_file();
  options.tls_probe_address = server.address();
  options.tls_hostnames = {"register.example.test", "login.example.test", "auth.example.test"};
  v1::FactReport report = Collect(env, options);
  const v1::TlsFact& tls = report.tls();
  EXPECT_EQ(tls.collection().state(), v1::Collection::OK);
  EXPECT_THAT(tls.probed_hostnames(),
              ElementsAre("register.example.test", "login.example.test", "auth.example.test"));
  ASSERT_EQ(tls.certificates_size(), 6);
  const std::string probe = absl::StrCat("tls://", server.address(), " sni=");
  EXPECT_EQ(tls.certificates(3).origin(), probe + "register.example.test");
  EXPECT_EQ(tls.certificates(3).sni(), "register.example.test");
  EXPECT_EQ(tls.certificates(3).not_after_unix(), absl::ToUnixSeconds(now_ + absl::Hours(121)));
  EXPECT_EQ(tls.certificates(4).sni(), "login.example.test");
  EXPECT_EQ(tls.certificates(5).subject(), "CN=other.example.net");

  // register: served the 5-day certificate, though the ACME store has a good
  // one. login: served a valid one. auth: served the default (wrong)
  // certificate, though the store's wildcard covers it.
  v1::Verdict v = Evaluate(report, PolicyFor({"register.example.test"}));
  EXPECT_EQ(v.status(), v1::FAIL) << EvidenceText(v);
  EXPECT_THAT(EvidenceText(v), AllOf(HasSubstr("5 days left"), HasSubstr("live handshake tls://")));
  v = Evaluate(report, PolicyFor({"login.example.test"}));
  EXPECT_EQ(v.status(), v1::PASS) << EvidenceText(v);
  EXPECT_EQ(v.evidence(0).source(), probe + "login.example.test");
  v = Evaluate(report, PolicyFor({"auth.example.test"}));
  EXPECT_EQ(v.status(), v1::FAIL) << EvidenceText(v);
  EXPECT_THAT(EvidenceText(v), HasSubstr("does not cover auth.example.test"));
}

TEST_F(TlsCollectorTest, FailedProbesAreProblemsNamingAddressAndSni) {
  LiveRootEnv env(Env());
  agent::CollectOptions options;
  options.tls_ca_file = pki_->root_file();
  options.tls_probe_address = absl::StrCat("127.0.0.1:", ClosedPort());
  options.tls_hostnames = {"register.example.test", "login.example.test"};
  v1::FactReport report = Collect(env, options);
  const v1::TlsFact& tls = report.tls();
  EXPECT_EQ(tls.collection().state(), v1::Collection::OK);
  std::vector<std::string> probe_problems;
  for (const auto& p : tls.problems()) {
    if (absl::StartsWith(p.file(), "tls://")) probe_problems.push_back(p.message());
  }
  EXPECT_THAT(probe_problems,
              ElementsAre(absl::StrCat("connect ", options.tls_probe_address,
                                       ": Connection refused (sni register.example.test)"),
                          absl::StrCat("connect ", options.tls_probe_address,
                                       ": Connection refused (sni login.example.test)")));
  // Stored certificates still decide, and the evidence says the probe failed.
  v1::Verdict v = Evaluate(report, PolicyFor({"register.example.test"}));
  EXPECT_EQ(v.status(), v1::PASS) << EvidenceText(v);
  EXPECT_THAT(EvidenceText(v), HasSubstr("live handshake failed: connect"));
}

TEST_F(TlsCollectorTest, AHangingServerCostsOneTimeoutNotOnePerHostname) {
  TlsServer silent(TlsServer::Mode::kSilent, nullptr);
  ASSERT_TRUE(silent.ok());
  LiveRootEnv env(Env());
  agent::CollectOptions options;
  options.tls_probe_address = silent.address();
  options.tls_hostnames = {"register.example.test", "login.example.test", "auth.example.test"};
  absl::Time start = absl::Now();
  v1::FactReport report = Collect(env, options);
  EXPECT_LT(absl::Now() - start, absl::Seconds(8));
  std::vector<std::string> probe_problems;
  for (const auto& p : report.tls().problems()) {
    if (absl::StartsWith(p.file(), "tls://")) probe_problems.push_back(p.message());
  }
  const std::string with = absl::StrCat("TLS handshake with ", silent.address());
  EXPECT_THAT(probe_problems,
              ElementsAre(absl::StrCat(with, " (sni register.example.test): timed out after 5s"),
                          absl::StrCat(with,
                                       " (sni login.example.test): not tried, the handshake "
                                       "for register.example.test timed out"),
                          absl::StrCat(with,
                                       " (sni auth.example.test): not tried, the handshake "
                                       "for register.example.test timed out")));
}

TEST_F(TlsCollectorTest, AbsentEmptyAndUnreadableStores) {
  TempDir empty_root;
  auto empty_env = agent::RootedHostEnv::Create(empty_root.path());
  ASSERT_TRUE(empty_env.ok());
  agent::CollectOptions options;
  options.tls_hostnames = {"register.example.test"};  // not live: nothing to probe
  EXPECT_EQ(Collect(**empty_env, options).tls().collection().state(), v1::Collection::ABSENT);

  // Traefik's fresh, empty acme.json: a store with no certificate.
  WriteFile(empty_root.Join(kAcmePath), "");
  v1::FactReport report = Collect(**empty_env, options);
  EXPECT_EQ(report.tls().collection().state(), v1::Collection::OK);
  EXPECT_EQ(report.tls().certificates_size(), 0);
  EXPECT_EQ(Evaluate(report, PolicyFor({"register.example.test"})).status(), v1::FAIL);

  WriteFile(empty_root.Join(kAcmePath), "{\"letsencrypt\": {\"Certificates\": [");
  report = Collect(**empty_env, options);
  EXPECT_EQ(report.tls().collection().state(), v1::Collection::ERROR);
  EXPECT_THAT(report.tls().collection().error(), HasSubstr("/data/traefik/acme.json"));
  EXPECT_EQ(Evaluate(report, PolicyFor({"register.example.test"})).status(), v1::UNKNOWN);

  // A truncated store (Traefik killed mid-write): the parser's error must not
  // quote the key it stopped in.
  const std::string key_b64 = absl::Base64Escape(L("valid").key);
  const std::string full = AcmeJson(key_b64);
  const size_t key_at = full.find(key_b64, full.find("\"key\""));
  ASSERT_NE(key_at, std::string::npos);
  WriteFile(empty_root.Join(kAcmePath), full.substr(0, key_at + 30));
  report = Collect(**empty_env, options);
  EXPECT_EQ(report.tls().collection().state(), v1::Collection::ERROR);
  EXPECT_THAT(report.tls().collection().error(), HasSubstr("invalid JSON"));
  EXPECT_THAT(report.tls().SerializeAsString(), Not(HasSubstr(key_b64.substr(10, 16))));

  TempDir dir_root;
  testing::MakeDirs(dir_root.Join(kAcmePath));  // a directory where the file should be
  auto dir_env = agent::RootedHostEnv::Create(dir_root.path());
  ASSERT_TRUE(dir_env.ok());
  EXPECT_EQ(Collect(**dir_env, options).tls().collection().state(), v1::Collection::ERROR);
}

}  // namespace
}  // namespace preflight
