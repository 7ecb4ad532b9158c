#include "collector/service/ingest_service.h"

#include <deque>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "collector/readiness/engine.h"
#include "proto/wire/identity.h"
#include "proto/wire/status.h"

namespace preflight::collector {
namespace {

constexpr char kVersion[] = "0.1.0";

bool ValidInstance(absl::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(c)) return false;
  }
  return true;
}

}  // namespace

class IngestReactor : public grpc::ServerBidiReactor<v1::AgentMessage, v1::CollectorMessage> {
 public:
  IngestReactor(IngestService& service, grpc::CallbackServerContext* context)
      : service_(service), state_(service.state_), peer_(context->peer()) {
    auto id =
        IdentityFromAuthContext(*context->auth_context(), state_.settings.config.trust_domain());
    if (!id.ok()) {
      Refuse(grpc::StatusCode::UNAUTHENTICATED, std::string(id.status().message()));
      return;
    }
    if (absl::Status revoked = state_.revocation
                                   ? state_.revocation->Check(*context->auth_context())
                                   : absl::OkStatus();
        !revoked.ok()) {
      Refuse(static_cast<grpc::StatusCode>(revoked.code()),
             absl::StrCat(id->ToString(), ": ", revoked.message()));
      return;
    }
    if (id->kind != PeerIdentity::Kind::kHost) {
      Refuse(grpc::StatusCode::PERMISSION_DENIED,
             absl::StrCat(id->ToString(), " may not stream reports: only host certificates may"));
      return;
    }
    host_ = state_.FindHost(id->name);
    if (host_ == nullptr) {
      Refuse(grpc::StatusCode::PERMISSION_DENIED,
             absl::StrCat("host '", id->name, "' is not in the collector's inventory (",
                          state_.config_path, "); add it there to accept its reports"));
      return;
    }
    service_.Register(host_->id(), this);
    registered_ = true;
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the agent half-closed, or the stream broke
      std::lock_guard<std::recursive_mutex> lock(mu_);
      RequestFinishLocked(grpc::Status::OK);
      return;
    }
    if (in_.has_hello()) {
      const v1::Hello& hello = in_.hello();
      if (!hello.host_id().empty() && hello.host_id() != host_->id()) {
        Refuse(grpc::StatusCode::PERMISSION_DENIED,
               absl::StrCat("certificate is for host '", host_->id(), "', the agent says it is '",
                            hello.host_id(), "'"));
        return;
      }
      v1::CollectorMessage welcome;
      welcome.mutable_welcome()->set_host_id(host_->id());
      welcome.mutable_welcome()->set_collector_version(kVersion);
      welcome.mutable_welcome()->set_server_time_unix_ms(absl::ToUnixMillis(state_.clock()));
      Send(std::move(welcome));
      StartRead(&in_);
      return;
    }
    if (!in_.has_report()) {
      Refuse(grpc::StatusCode::INVALID_ARGUMENT, "empty message: expected hello or report");
      return;
    }
    v1::FactReport report = std::move(*in_.mutable_report());
    if (!report.host_id().empty() && report.host_id() != host_->id()) {
      Refuse(grpc::StatusCode::PERMISSION_DENIED,
             absl::StrCat("agent of host '", host_->id(), "' may not report for host '",
                          report.host_id(), "'"));
      return;
    }
    if (!ValidInstance(report.agent_instance()) || report.sequence() == 0) {
      Refuse(grpc::StatusCode::INVALID_ARGUMENT,
             "report needs an agent_instance (hex) and a sequence > 0");
      return;
    }
    {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      processing_ = true;
    }
    state_.pool->Post([this, report = std::move(report)]() mutable { StoreReport(report); });
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    out_.pop_front();
    if (ok && !out_.empty()) {
      StartWrite(&out_.front());
      return;
    }
    writing_ = false;
    if (!ok) RequestFinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
    MaybeFinishLocked();
  }

  void OnCancel() override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    RequestFinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    // Wait for a worker that finished us to let go of the lock.
    { std::lock_guard<std::recursive_mutex> lock(mu_); }
    if (registered_) service_.Unregister(host_->id(), this);
    delete this;
  }

  void SendCollectNow(const std::string& requested_by) {
    v1::CollectorMessage m;
    m.mutable_collect_now()->set_requested_by(requested_by);
    Send(std::move(m));
  }

 private:
  void StoreReport(const v1::FactReport& report) {
    if (state_.hooks.hold_before_store > absl::ZeroDuration()) {
      std::this_thread::sleep_for(absl::ToChronoMilliseconds(state_.hooks.hold_before_store));
    }
    const v1::InventoryHost& host = *host_;
    absl::Time now = state_.clock();
    auto result = state_.store->Ingest(host.id(), report, [&](const v1::FactReport& r) {
      return Evaluate(state_.registry, host, state_.settings.policy, r, now);
    });
    if (result.ok() && state_.hooks.hold_before_ack > absl::ZeroDuration()) {
      Log(absl::StrCat("test hook: holding the ack of ", host.id(), " #", report.sequence()));
      std::this_thread::sleep_for(absl::ToChronoMilliseconds(state_.hooks.hold_before_ack));
    }
    std::lock_guard<std::recursive_mutex> lock(mu_);
    processing_ = false;
    if (!result.ok()) {
      Log(absl::StrCat("cannot store report ", report.sequence(), " of ", host.id(), ": ",
                       result.status().ToString()));
      RequestFinishLocked(
          grpc::Status(grpc::StatusCode::UNAVAILABLE,
                       absl::StrCat("collector store: ", result.status().message())));
      MaybeFinishLocked();
      return;
    }
    Log(absl::StrCat("stored report ", host.id(), " ", report.agent_instance(), " #",
                     report.sequence(), result->duplicate ? " (duplicate)" : ""));
    // The ack goes out even if the agent has half-closed meanwhile.
    v1::CollectorMessage ack;
    ack.mutable_ack()->set_agent_instance(report.agent_instance());
    ack.mutable_ack()->set_sequence(report.sequence());
    ack.mutable_ack()->set_duplicate(result->duplicate);
    SendLocked(std::move(ack));
    if (finish_requested_) {
      MaybeFinishLocked();
      return;
    }
    StartRead(&in_);
  }

  void Refuse(grpc::StatusCode code, const std::string& message) {
    Log(absl::StrCat("refused ", peer_, host_ ? absl::StrCat(" (", host_->id(), ")") : "", ": ",
                     message));
    absl::Status audited = state_.store->Audit(
        {host_ ? host_->id() : peer_, "refused", "Ingest.Stream", message}, state_.clock());
    if (!audited.ok()) Log(absl::StrCat("cannot audit a refusal: ", audited.message()));
    std::lock_guard<std::recursive_mutex> lock(mu_);
    RequestFinishLocked(grpc::Status(code, message));
  }

  void Send(v1::CollectorMessage message) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    SendLocked(std::move(message));
  }

  void SendLocked(v1::CollectorMessage message) {
    if (finish_requested_ && !message.has_ack()) return;
    out_.push_back(std::move(message));
    if (!writing_) {
      writing_ = true;
      StartWrite(&out_.front());
    }
  }

  void RequestFinishLocked(grpc::Status status) {
    if (!finish_requested_) {
      finish_requested_ = true;
      finish_status_ = std::move(status);
    }
    MaybeFinishLocked();
  }

  // Finish only once nothing is in flight: no write, no report being stored.
  void MaybeFinishLocked() {
    if (!finish_requested_ || finished_ || writing_ || processing_) return;
    finished_ = true;
    Finish(finish_status_);
  }

  IngestService& service_;
  CollectorState& state_;
  const std::string peer_;
  const v1::InventoryHost* host_ = nullptr;
  bool registered_ = false;
  v1::AgentMessage in_;

  // Recursive: a Start* call may run its reaction inline on this thread.
  std::recursive_mutex mu_;
  std::deque<v1::CollectorMessage> out_;
  bool writing_ = false;
  bool processing_ = false;
  bool finish_requested_ = false;
  bool finished_ = false;
  grpc::Status finish_status_;
};

grpc::ServerBidiReactor<v1::AgentMessage, v1::CollectorMessage>* IngestService::Stream(
    grpc::CallbackServerContext* context) {
  return new IngestReactor(*this, context);
}

void IngestService::Register(const std::string& host, IngestReactor* reactor) {
  std::lock_guard<std::mutex> lock(mu_);
  streams_[host] = reactor;
}

void IngestService::Unregister(const std::string& host, IngestReactor* reactor) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(host);
  if (it != streams_.end() && it->second == reactor) streams_.erase(it);
}

bool IngestService::RequestCollect(const std::string& host, const std::string& requested_by) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(host);
  if (it == streams_.end()) return false;
  it->second->SendCollectNow(requested_by);
  return true;
}

size_t IngestService::connected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_.size();
}

}  // namespace preflight::collector
