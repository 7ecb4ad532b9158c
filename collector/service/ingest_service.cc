#include "collector/service/ingest_service.h"

#include <google/protobuf/arena.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <thread>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "collector/readiness/engine.h"
#include "collector/store/latest_facts.h"
#include "proto/version.h"
#include "proto/wire/identity.h"
#include "proto/wire/revocation.h"
#include "proto/wire/status.h"

namespace preflight::collector {
namespace {

bool ValidInstance(absl::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(c)) return false;
  }
  return true;
}

// Tells a report sent again (same instance, sequence and content) from
// any other, for the report budget; never 0. `message` is the AgentMessage
// as received, which carries all three: the agent sends a spooled report
// again as the same bytes. Hashing them costs a pass over the bytes;
// serializing the parsed report again cost as much as parsing it.
uint64_t ReportFingerprint(absl::string_view message) {
  const uint64_t h = absl::Hash<absl::string_view>()(message);
  return h == 0 ? 1 : h;
}

}  // namespace

// One agent's stream. The constructor and the reactions run on gRPC threads
// and stay fast; admission, parsing, storing and refusal audits run on the
// ingest pool (collector_state.h). The reactor deletes itself in OnDone, which gRPC
// calls only after Finish, and Finish happens only once nothing is in
// flight: no write, no task on the pool.
//
// The stream carries raw bytes (a generic service, see ingest_service.h) and
// the reactor parses each message itself, so that a message that is not a
// preflight.v1.AgentMessage is refused with a reason, logged and audited;
// with the generated service gRPC reports it as a plain end of stream.
class IngestReactor : public grpc::ServerGenericBidiReactor {
 public:
  IngestReactor(IngestService& service, grpc::GenericCallbackServerContext* context)
      : service_(service),
        state_(service.state_),
        peer_(context->peer()),
        auth_(context->auth_context()) {
    in_flight_ = 1;  // Admit; no other thread knows this reactor yet
    state_.pool->Post([this] { Admit(); });
  }

  void OnReadDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    if (!ok) {  // the agent half-closed, or the stream broke
      absl::MutexLock lock(&mu_);
      RequestFinishLocked(grpc::Status::OK);
      return;
    }
    const size_t size = in_bytes_.Length();
    // The message in one piece (gRPC hands it over in slices): parsed from
    // there, and hashed for the report budget.
    grpc::Slice bytes;
    const bool whole =
        in_bytes_.TrySingleSlice(&bytes).ok() || in_bytes_.DumpToSingleSlice(&bytes).ok();
    in_bytes_.Clear();
    {
      absl::MutexLock lock(&mu_);
      // A read that completes after Finish (the stream was ended meanwhile,
      // e.g. for revocation or max_streams_per_host) posts nothing: OnDone
      // may delete the reactor before a task on the pool would run.
      if (finished_) return;
      ++in_flight_;
    }
    // Parsed on the ingest pool, not here. A refresh of every agent queues
    // thousands of reports at once: queued as the bytes received (18 KB for
    // a manager's), only the pool's threads hold a parsed report (three
    // times that and more). Parsed here, 10,000 queued reports took the
    // collector from 1.2 to 2.3-4.1 GB (README "Performance").
    state_.pool->Post(
        [this, bytes = std::move(bytes), whole, size] { HandleMessage(bytes, whole, size); });
  }

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    out_.pop_front();
    if (ok && !out_.empty()) {
      StartWrite(&out_.front());
      return;
    }
    writing_ = false;
    if (!ok) RequestFinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
    MaybeFinishLocked();
  }

  void OnCancel() override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    RequestFinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override ABSL_LOCKS_EXCLUDED(mu_) {
    bool registered;
    {
      // Also waits for a worker that called Finish to let go of the lock.
      absl::MutexLock lock(&mu_);
      registered = registered_;
    }
    if (registered) service_.Unregister(host_->id(), this);
    delete this;
  }

  // Any thread holding the service's mutex (so the reactor is not done
  // yet): the CRL now refuses this stream's certificate, or a newer stream
  // of the same host replaces it. The stream ends with `why` once the
  // refusal is audited on the ingest pool. False if it was ending anyway.
  bool EndStream(const absl::Status& why) ABSL_LOCKS_EXCLUDED(mu_) {
    const std::string message = absl::StrCat(identity_, ": ", why.message());
    {
      absl::MutexLock lock(&mu_);
      if (finish_requested_) return false;
      ++in_flight_;
      RequestFinishLocked(grpc::Status(static_cast<grpc::StatusCode>(why.code()), message));
    }
    const bool crl_state = IsCrlStateRefusal(why);
    state_.pool->Post([this, message, crl_state] {
      AuditRefusal(message, crl_state);
      TaskDone();
    });
    return true;
  }

  // Read-only once the stream is admitted (EnforceRevocation reads it).
  const std::string& serial() const { return serial_; }

  // Any thread (a query worker, for preflightctl refresh).
  void SendCollectNow(const std::string& requested_by) ABSL_LOCKS_EXCLUDED(mu_) {
    v1::CollectorMessage m;
    m.mutable_collect_now()->set_requested_by(requested_by);
    absl::MutexLock lock(&mu_);
    SendLocked(std::move(m));
  }

 private:
  // Ingest pool, for one message read (one task in flight, which this
  // ends). The message is parsed into an arena of its own, freed in one
  // piece once the report is stored: a report is thousands of strings and
  // small messages, and allocating and destroying them one by one was a
  // quarter of the collector's CPU per report (perf, README "Performance").
  // (One message per thread parsed again and again was tried: 10-25% more
  // CPU per report than the arena, measured interleaved.)
  void HandleMessage(const grpc::Slice& bytes, bool whole, size_t size) ABSL_LOCKS_EXCLUDED(mu_) {
    google::protobuf::Arena arena(ReportArenaOptions());
    v1::AgentMessage& in = *google::protobuf::Arena::CreateMessage<v1::AgentMessage>(&arena);
    const grpc::Status refusal =
        whole && in.ParseFromArray(bytes.begin(), static_cast<int>(bytes.size()))
            ? Handle(in, bytes)
            : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                           absl::StrCat("unreadable message (", size,
                                        " bytes): not a preflight.v1.AgentMessage (protobuf "
                                        "parse failed)"));
    if (refusal.ok()) return;
    Refuse(refusal.error_code(), refusal.error_message());
    TaskDone();
  }

  // Ingest pool: a Hello is welcomed, a report stored; OK once handled (the
  // task in flight has ended), else why the stream is refused. `bytes` is
  // the message as received (the report budget's fingerprint).
  grpc::Status Handle(const v1::AgentMessage& in, const grpc::Slice& bytes)
      ABSL_LOCKS_EXCLUDED(mu_) {
    if (in.has_hello()) {
      const v1::Hello& hello = in.hello();
      if (!hello.host_id().empty() && hello.host_id() != host_->id()) {
        return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                            absl::StrCat("certificate is for host '", host_->id(),
                                         "', the agent says it is '", hello.host_id(), "'"));
      }
      v1::CollectorMessage welcome;
      welcome.mutable_welcome()->set_host_id(host_->id());
      welcome.mutable_welcome()->set_collector_version(kVersion);
      welcome.mutable_welcome()->set_server_time_unix_ms(absl::ToUnixMillis(state_.clock()));
      // The names the policy says this host serves: the agent probes and
      // resolves them, so the verdict judges what it was told to judge.
      if (const Check* tls = state_.registry.Find("tls.certificate_valid"); tls != nullptr) {
        std::string unused;
        if (Applies(tls->info, *host_, &unused)) {
          const Params params = ParamsFor(*tls, state_.settings.policy, *host_);
          for (const std::string& name : params.List("tls_hostnames")) {
            welcome.mutable_welcome()->add_tls_hostnames(name);
          }
        }
      }
      absl::MutexLock lock(&mu_);
      SendLocked(std::move(welcome));
      StartReadLocked();
      --in_flight_;
      MaybeFinishLocked();
      return grpc::Status::OK;
    }
    if (!in.has_report()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "empty message: expected hello or report");
    }
    const v1::FactReport& report = in.report();
    if (!report.host_id().empty() && report.host_id() != host_->id()) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          absl::StrCat("agent of host '", host_->id(),
                                       "' may not report for host '", report.host_id(), "'"));
    }
    if (!ValidInstance(report.agent_instance()) || report.sequence() == 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "report needs an agent_instance (hex) and a sequence > 0");
    }
    StoreReport(report, ReportFingerprint(absl::string_view(
                            reinterpret_cast<const char*>(bytes.begin()), bytes.size())));
    return grpc::Status::OK;
  }

  // Ingest pool. Who is calling: a host certificate, not revoked, of a host
  // in the inventory; then the first read starts.
  void Admit() ABSL_LOCKS_EXCLUDED(mu_) {
    std::optional<grpc::Status> refusal;
    auto id = IdentityFromAuthContext(*auth_, state_.settings.config.trust_domain());
    const v1::InventoryHost* host = nullptr;
    bool crl_state = false;
    if (id.ok()) identity_ = id->ToString();
    if (!id.ok()) {
      refusal = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(id.status().message()));
    } else if (absl::Status revoked = CheckRevocation(); !revoked.ok()) {
      crl_state = IsCrlStateRefusal(revoked);
      refusal = grpc::Status(static_cast<grpc::StatusCode>(revoked.code()),
                             absl::StrCat(id->ToString(), ": ", revoked.message()));
    } else if (id->kind != PeerIdentity::Kind::kHost) {
      refusal = grpc::Status(
          grpc::StatusCode::PERMISSION_DENIED,
          absl::StrCat(id->ToString(), " may not stream reports: only host certificates may"));
    } else if ((host = state_.FindHost(id->name)) == nullptr) {
      refusal =
          grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                       absl::StrCat("host '", id->name, "' is not in the collector's inventory (",
                                    state_.config_path, "); add it there to accept its reports"));
    }
    if (refusal.has_value()) {
      {
        absl::MutexLock lock(&mu_);
        RequestFinishLocked(*refusal);  // finishes once the audit below is written
      }
      AuditRefusal(refusal->error_message(), crl_state);
      TaskDone();
      return;
    }
    // The certificate as the collector reads it (its notAfter is shown in
    // status, from 30 days before): a renewed one shows here at once.
    if (auto cert = SummaryOfPeer(*auth_); cert.ok()) {
      Log(absl::StrCat("stream of host ", host->id(), " opened: certificate serial ", cert->serial,
                       ", notAfter ", FormatCrlTime(cert->not_after)));
      service_.RecordCertificate(host->id(), *std::move(cert));
    }
    // Set once, before the first read; read-only from then on.
    host_ = host;
    service_.Register(host_->id(), this);
    absl::MutexLock lock(&mu_);
    registered_ = true;
    --in_flight_;
    StartReadLocked();
    MaybeFinishLocked();  // the call may have been cancelled meanwhile
  }

  // Ingest pool: the peer's certificate against the CRL in force (re-read if
  // the file changed). Sets serial_ on the first call (from Admit).
  absl::Status CheckRevocation() {
    if (!state_.revocation || !state_.revocation->enabled()) return absl::OkStatus();
    if (serial_.empty()) {
      auto serial = SerialOfPeer(*auth_);
      if (!serial.ok()) return serial.status();
      serial_ = *serial;
    }
    return state_.revocation->CheckSerial(serial_);
  }

  // Ingest pool: evaluates and stores one report, then acks it and reads on;
  // ends the task in flight for it.
  void StoreReport(const v1::FactReport& report, uint64_t fingerprint) ABSL_LOCKS_EXCLUDED(mu_) {
    if (state_.hooks.hold_before_store > absl::ZeroDuration()) {
      std::this_thread::sleep_for(absl::ToChronoMilliseconds(state_.hooks.hold_before_store));
    }
    const v1::InventoryHost& host = *host_;
    // Revocation reaches an open stream: a certificate revoked (or a CRL
    // expired) since the stream opened stores nothing more.
    if (absl::Status revoked = CheckRevocation(); !revoked.ok()) {
      const std::string message = absl::StrCat(identity_, ": ", revoked.message());
      {
        absl::MutexLock lock(&mu_);
        RequestFinishLocked(grpc::Status(static_cast<grpc::StatusCode>(revoked.code()), message));
      }
      AuditRefusal(message, IsCrlStateRefusal(revoked));
      TaskDone();
      return;
    }
    absl::Time now = state_.clock();
    // The host's report budget, before anything is stored: a report over it
    // is refused, not acked, and stays in the agent's spool.
    const ReportBudget::Decision budget = state_.report_budget.Take(host.id(), fingerprint, now);
    if (!budget.allowed) {
      RefuseOverBudget(report, budget);
      return;
    }
    if (budget.by_credit) {
      Log(absl::StrCat("report ", host.id(), " #", report.sequence(),
                       " let through on a refresh credit (the collector asked for it)"));
    }
    auto result = state_.store->Ingest(host.id(), report, now, [&](const v1::FactReport& r) {
      return Evaluate(state_.registry, host, state_.settings.policy, r, now);
    });
    if (result.ok() && state_.hooks.hold_before_ack > absl::ZeroDuration()) {
      Log(absl::StrCat("test hook: holding the ack of ", host.id(), " #", report.sequence()));
      std::this_thread::sleep_for(absl::ToChronoMilliseconds(state_.hooks.hold_before_ack));
    }
    if (!result.ok()) {
      // A storage error is logged once by the store (and counted in its
      // Health), not once per refused delivery.
      if (state_.store->Health().ok()) {
        Log(absl::StrCat("cannot store report ", report.sequence(), " of ", host.id(), ": ",
                         result.status().ToString()));
      }
      absl::MutexLock lock(&mu_);
      --in_flight_;
      RequestFinishLocked(
          grpc::Status(grpc::StatusCode::UNAVAILABLE,
                       absl::StrCat("collector store: ", result.status().message())));
      MaybeFinishLocked();
      return;
    }
    Log(absl::StrCat("stored report ", host.id(), " ", report.agent_instance(), " #",
                     report.sequence(),
                     result->duplicate        ? " (duplicate)"
                     : result->sequence_reset ? " (sequence reused or gone back: the host's "
                                                "sequence restarts here, audited)"
                                              : ""));
    v1::CollectorMessage ack;
    ack.mutable_ack()->set_agent_instance(report.agent_instance());
    ack.mutable_ack()->set_sequence(report.sequence());
    ack.mutable_ack()->set_duplicate(result->duplicate);
    absl::MutexLock lock(&mu_);
    --in_flight_;
    // The ack goes out even if the agent has half-closed meanwhile.
    SendLocked(std::move(ack));
    StartReadLocked();
    MaybeFinishLocked();
  }

  // Ingest pool: `report` is over the host's budget. The stream ends with
  // RESOURCE_EXHAUSTED (the agent keeps the report and sends it again
  // later); the first refusal of the host per minute is logged and audited,
  // with how many were not since the one before.
  void RefuseOverBudget(const v1::FactReport& report, const ReportBudget::Decision& budget)
      ABSL_LOCKS_EXCLUDED(mu_) {
    const ReportBudget& limits = state_.report_budget;
    const int64_t retry_s = absl::ToInt64Seconds(budget.retry_after);
    const std::string message =
        absl::StrCat("host '", host_->id(), "' is over its report budget (", limits.per_minute(),
                     " reports per minute, bursts of ", limits.burst(),
                     "; collector config max_reports_per_minute, report_burst): report #",
                     report.sequence(), " not stored, keep it and retry in ", retry_s, "s");
    {
      absl::MutexLock lock(&mu_);
      RequestFinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, message));
    }
    if (budget.report) {
      AuditRefusal(budget.suppressed == 0
                       ? message
                       : absl::StrCat(message, " (and ", budget.suppressed,
                                      " report(s) refused over the budget since the last "
                                      "refusal logged, not logged one by one)"));
    }
    TaskDone();
  }

  // A reaction refuses the stream: no more reads or messages but acks, and
  // the refusal is audited on the ingest pool before the stream finishes.
  void Refuse(grpc::StatusCode code, const std::string& message) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;  // as in OnReadDone: nothing may be posted after Finish
      ++in_flight_;
      RequestFinishLocked(grpc::Status(code, message));
    }
    state_.pool->Post([this, message] {
      AuditRefusal(message);
      TaskDone();
    });
  }

  // Ingest pool: logs the refusal and writes it to the audit trail. A
  // refusal for the CRL's state (`crl_state`: everybody is refused) is
  // logged and audited at most once per identity per minute.
  void AuditRefusal(const std::string& message, bool crl_state = false) {
    const std::string actor = host_ ? host_->id() : !identity_.empty() ? identity_ : peer_;
    int64_t suppressed = 0;
    if (crl_state && !state_.crl_refusals.Allow(identity_.empty() ? actor : identity_,
                                                state_.clock(), &suppressed)) {
      return;
    }
    const std::string detail = suppressed == 0
                                   ? message
                                   : absl::StrCat(message, " (and ", suppressed, " refusal(s) of ",
                                                  actor, " not logged in the minute before)");
    Log(absl::StrCat("refused ", peer_, host_ ? absl::StrCat(" (", host_->id(), ")") : "", ": ",
                     detail));
    absl::Status audited =
        state_.store->Audit({actor, "refused", "Ingest.Stream", detail}, state_.clock());
    if (!audited.ok()) Log(absl::StrCat("cannot audit a refusal: ", audited.message()));
  }

  // A task on the pool is over; the stream may finish now.
  void TaskDone() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    --in_flight_;
    MaybeFinishLocked();
  }

  void StartReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!finish_requested_) StartRead(&in_bytes_);
  }

  void SendLocked(v1::CollectorMessage message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finish_requested_ && !message.has_ack()) return;
    grpc::ByteBuffer bytes;
    bool own_buffer = false;
    if (!grpc::SerializationTraits<v1::CollectorMessage>::Serialize(message, &bytes, &own_buffer)
             .ok()) {
      Log(absl::StrCat("cannot serialize a message to ", peer_));
      return;
    }
    out_.push_back(std::move(bytes));
    if (!writing_) {
      writing_ = true;
      StartWrite(&out_.front());
    }
  }

  void RequestFinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!finish_requested_) {
      finish_requested_ = true;
      finish_status_ = std::move(status);
    }
    MaybeFinishLocked();
  }

  // Finish only once nothing is in flight: no write, no task on the pool.
  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!finish_requested_ || finished_ || writing_ || in_flight_ > 0) return;
    finished_ = true;
    Finish(finish_status_);
  }

  IngestService& service_;
  CollectorState& state_;
  const std::string peer_;
  const std::shared_ptr<const grpc::AuthContext> auth_;
  // Set by Admit before the first read is started; read-only afterwards
  // (the read's reaction, and the tasks it posts, happen after it).
  const v1::InventoryHost* host_ = nullptr;
  // The peer's identity and certificate serial, set by Admit on the ingest
  // pool before the stream is registered or the first read starts;
  // read-only afterwards.
  std::string identity_;
  std::string serial_;
  // Only the reaction of the one read in flight touches it: the bytes read.
  grpc::ByteBuffer in_bytes_;

  absl::Mutex mu_;
  bool registered_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<grpc::ByteBuffer> out_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;  // tasks posted to the pool, not yet done
  bool finish_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
};

namespace {

// Any method but Ingest.Stream that reaches the generic service.
class UnknownMethod : public grpc::ServerGenericBidiReactor {
 public:
  explicit UnknownMethod(const std::string& method) {
    Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        absl::StrCat("no method ", method, " on the collector")));
  }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerGenericBidiReactor* IngestService::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  if (context->method() != kStreamMethod) return new UnknownMethod(context->method());
  return new IngestReactor(*this, context);
}

void IngestService::Register(const std::string& host, IngestReactor* reactor) {
  absl::MutexLock lock(&mu_);
  streams_[host] = reactor;
  open_.insert(reactor);
  // At most max_streams_per_host at once: the oldest goes. A reconnecting
  // agent is served at once (its old stream may linger until keepalive
  // notices), and a client opening streams in a loop holds only a few.
  std::vector<IngestReactor*>& mine = per_host_[host];
  mine.push_back(reactor);
  const size_t cap = std::max<uint32_t>(1, state_.settings.config.max_streams_per_host());
  while (mine.size() > cap) {
    IngestReactor* oldest = mine.front();
    mine.erase(mine.begin());
    const bool ended = oldest->EndStream(absl::ResourceExhaustedError(
        absl::StrCat("more than ", cap, " streams of host ", host,
                     " at once (max_streams_per_host): the oldest is ended, a newer one goes on")));
    if (ended) Log(absl::StrCat("ended the oldest stream of ", host, ": over ", cap, " at once"));
  }
}

void IngestService::RecordCertificate(const std::string& host, CertSummary cert) {
  absl::MutexLock lock(&mu_);
  certs_[host] = std::move(cert);
}

std::optional<CertSummary> IngestService::CertificateOf(const std::string& host) const {
  absl::MutexLock lock(&mu_);
  auto it = certs_.find(host);
  if (it == certs_.end()) return std::nullopt;
  return it->second;
}

void IngestService::Unregister(const std::string& host, IngestReactor* reactor) {
  absl::MutexLock lock(&mu_);
  open_.erase(reactor);
  auto it = streams_.find(host);
  if (it != streams_.end() && it->second == reactor) streams_.erase(it);
  if (auto mine = per_host_.find(host); mine != per_host_.end()) {
    std::erase(mine->second, reactor);
    if (mine->second.empty()) per_host_.erase(mine);
  }
}

bool IngestService::RequestCollect(const std::string& host, const std::string& requested_by) {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(host);
  if (it == streams_.end()) return false;
  it->second->SendCollectNow(requested_by);
  // The report asked for gets through even if the host's budget is spent.
  state_.report_budget.GrantCredit(host, state_.clock());
  return true;
}

int IngestService::EnforceRevocation() {
  if (!state_.revocation || !state_.revocation->enabled()) return 0;
  // The file is read here, outside mu_ (OnDone takes mu_ on gRPC threads).
  const CrlState crl = state_.revocation->Refresh();
  absl::MutexLock lock(&mu_);
  if (crl.generation == enforced_generation_ && crl.expired == enforced_expired_) return 0;
  enforced_generation_ = crl.generation;
  enforced_expired_ = crl.expired;
  if (crl.expired) Log(CrlWarning(crl));
  // A CRL that cannot be read (perhaps half-written) refuses every report
  // and new stream, but does not end the open ones: they are ended only for
  // a verdict (a serial listed, or a CRL past its nextUpdate).
  if (!crl.usable.ok()) {
    Log(CrlWarning(crl));
    return 0;
  }
  Log(absl::StrCat(
      "CRL ", crl.file, " in force: ", crl.revoked, " revoked serial(s), next update ",
      crl.next_update == absl::InfiniteFuture() ? "none" : FormatCrlTime(crl.next_update)));
  int ended = 0;
  // Each reactor in open_ is alive: OnDone unregisters it (taking mu_)
  // before deleting it.
  for (IngestReactor* reactor : open_) {
    absl::Status verdict = state_.revocation->CheckSerialAsLoaded(reactor->serial());
    if (!verdict.ok() && reactor->EndStream(verdict)) ++ended;
  }
  if (ended > 0) Log(absl::StrCat("ended ", ended, " open stream(s) the CRL now refuses"));
  return ended;
}

size_t IngestService::connected() const {
  absl::MutexLock lock(&mu_);
  return streams_.size();
}

}  // namespace preflight::collector
