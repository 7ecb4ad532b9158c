#include "agent/client/agent_loop.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "agent/facts/privileges.h"
#include "proto/version.h"
#include "proto/wire/openssl_ptr.h"
#include "proto/wire/revocation.h"
#include "proto/wire/status.h"
#include "proto/wire/textproto.h"
#include "proto/wire/tls.h"

namespace preflight::agent {
namespace {

void Log(const std::string& message) {
  std::fprintf(stderr, "preflight-agent: %s\n", message.c_str());
}

}  // namespace

absl::Duration Backoff(int attempt, absl::Duration initial, absl::Duration max,
                       std::mt19937_64& rng) {
  absl::Duration d = initial;
  for (int i = 0; i < attempt && d < max; ++i) d *= 2;
  if (d > max) d = max;
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return d * jitter(rng);
}

absl::Duration RetryAfter(const absl::Status& status) {
  if (!absl::IsResourceExhausted(status)) return absl::ZeroDuration();
  const absl::string_view message = status.message();
  const size_t at = message.rfind("retry in ");
  if (at == absl::string_view::npos) return absl::ZeroDuration();
  absl::string_view rest = message.substr(at + 9);
  const size_t end = rest.find('s');
  int64_t seconds = 0;
  if (end == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(0, end), &seconds) ||
      seconds <= 0) {
    return absl::ZeroDuration();
  }
  return absl::Seconds(std::min<int64_t>(seconds, 3600));
}

AgentLoop::AgentLoop(v1::AgentConfig config, HostEnv& env, Spool& spool,
                     std::shared_ptr<grpc::Channel> channel)
    : config_(std::move(config)),
      env_(env),
      spool_(spool),
      stub_(v1::Ingest::NewStub(channel)),
      collectors_(BuiltinCollectors()),
      options_(CollectOptionsFrom(config_)),
      rng_(std::random_device{}()) {
  // The names the collector last sent: a restarted agent collects with them
  // from its first report on.
  std::ifstream in(HintsPath());
  std::string name;
  absl::MutexLock lock(&mu_);  // uncontended: no other thread yet
  while (std::getline(in, name)) {
    if (!name.empty()) collector_tls_hostnames_.push_back(name);
  }
  tls_loaded_ = ReadTlsFiles();
}

std::string AgentLoop::ReadTlsFiles() const {
  const v1::TlsFiles& tls = config_.tls();
  std::string all;
  for (const std::string* file : {&tls.cert_file(), &tls.key_file(), &tls.ca_file()}) {
    if (file->empty()) return "";
    auto content = ReadFileToString(*file);
    if (!content.ok()) return "";
    absl::StrAppend(&all, content->size(), ":", *content);
  }
  return all;
}

bool AgentLoop::TlsFilesChanged() {
  if (tls_loaded_.empty() || config_.collector().empty()) return false;
  const std::string now = ReadTlsFiles();
  return !now.empty() && now != tls_loaded_ && now != tls_rejected_;
}

void AgentLoop::ReloadTlsIfChanged() {
  if (!TlsFilesChanged()) return;
  const v1::TlsFiles& tls = config_.tls();
  const std::string files = ReadTlsFiles();
  auto cert = ReadFileToString(tls.cert_file());
  auto key = ReadFileToString(tls.key_file());
  if (!cert.ok() || !key.ok()) return;
  // A certificate installed before its key (or the other way round) is not
  // used until both are in place.
  BioPtr cert_bio = MemoryBio(*cert);
  BioPtr key_bio = MemoryBio(*key);
  X509Ptr x509(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  EvpPkeyPtr pkey(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (x509 == nullptr || pkey == nullptr || X509_check_private_key(x509.get(), pkey.get()) != 1) {
    ERR_clear_error();
    Log(absl::StrCat("TLS files changed but ", tls.cert_file(), " and ", tls.key_file(),
                     " are not a certificate and its key (yet): keeping the previous ones"));
    tls_rejected_ = files;  // not again until they change
    return;
  }
  auto channel =
      MakeChannel(config_.collector(), tls,
                  static_cast<int>(std::min<uint32_t>(config_.max_backoff_seconds(), 3600) * 1000));
  if (!channel.ok()) {
    Log(absl::StrCat("TLS files changed but cannot be used (", channel.status().message(),
                     "): keeping the previous ones"));
    tls_rejected_ = files;
    return;
  }
  stub_ = v1::Ingest::NewStub(*channel);
  tls_loaded_ = files;
  std::vector<CertSummary> summary = SummariesOfPem(*cert);
  Log(absl::StrCat("TLS files changed: now presenting certificate serial ",
                   summary.empty() ? "?" : summary.front().serial, ", notAfter ",
                   summary.empty() ? "?" : FormatCrlTime(summary.front().not_after), " (",
                   tls.cert_file(), ")"));
}

std::string AgentLoop::HintsPath() const { return spool_.dir() + "/collector-tls-hostnames"; }

bool AgentLoop::TakeTlsHostnames(const v1::Welcome& welcome) {
  std::vector<std::string> names(welcome.tls_hostnames().begin(), welcome.tls_hostnames().end());
  if (names == collector_tls_hostnames_) return false;
  // New to this agent: neither configured nor sent before.
  bool new_name = false;
  for (const std::string& n : names) {
    auto known = [&](const std::vector<std::string>& v) {
      return std::find(v.begin(), v.end(), n) != v.end();
    };
    new_name |= !known(options_.tls_hostnames) && !known(collector_tls_hostnames_);
  }
  collector_tls_hostnames_ = names;
  const std::string tmp = HintsPath() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const std::string& n : names) out << n << "\n";
  }
  if (std::rename(tmp.c_str(), HintsPath().c_str()) != 0) {
    Log(absl::StrCat("cannot keep the collector's hostnames in ", HintsPath(), ": ",
                     std::strerror(errno)));
  }
  return new_name;
}

absl::Status AgentLoop::CollectIntoSpool() {
  CollectOptions options = options_;
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& name : collector_tls_hostnames_) {
      if (std::find(options.tls_hostnames.begin(), options.tls_hostnames.end(), name) ==
          options.tls_hostnames.end()) {
        options.tls_hostnames.push_back(name);
      }
    }
    tls_hostnames_changed_ = false;
  }
  v1::FactReport report = CollectReport(env_, options, collectors_);
  // Judged at every collection: capabilities can be granted or dropped
  // while the agent runs (a new unit, a restart under another user).
  *report.mutable_privileges() = CurrentPrivileges(env_);
  report.set_host_id(config_.host_id());
  report.set_agent_version(kVersion);
  auto seq = spool_.Append(report);
  if (!seq.ok()) return seq.status();
  Log(absl::StrCat("collected report ", *seq, " (", spool_.Pending().size(), " pending)"));
  return absl::OkStatus();
}

void AgentLoop::Stop() {
  absl::MutexLock lock(&mu_);
  stop_ = true;
  if (live_context_ != nullptr) live_context_->TryCancel();
}

bool AgentLoop::SleepUnlessStopped(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stop_), d);
  return !stop_;
}

bool AgentLoop::Stopped() {
  absl::MutexLock lock(&mu_);
  return stop_;
}

absl::Status AgentLoop::Session(Mode mode, absl::Time deadline, absl::Time& next_collect,
                                bool& welcomed) {
  // A renewed certificate (or CA bundle) is used from the next connection on.
  ReloadTlsIfChanged();
  grpc::ClientContext context;
  if (deadline != absl::InfiniteFuture()) context.set_deadline(absl::ToChronoTime(deadline));
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return absl::CancelledError("stopping");
    live_context_ = &context;
    read_done_ = false;
    welcomed_ = false;
  }
  auto stream = stub_->Stream(&context);

  v1::AgentMessage hello;
  hello.mutable_hello()->set_host_id(config_.host_id());
  hello.mutable_hello()->set_agent_instance(spool_.instance());
  hello.mutable_hello()->set_agent_version(kVersion);
  hello.mutable_hello()->set_pending_reports(static_cast<uint32_t>(spool_.Pending().size()));
  bool broken = !stream->Write(hello);

  // The reader thread applies acks and requests as they come.
  std::thread reader([&] {
    v1::CollectorMessage in;
    while (stream->Read(&in)) {
      absl::MutexLock lock(&mu_);
      if (in.has_ack()) {
        // Sequence numbers are unique within the spool, whatever instance a
        // pending report was made under.
        absl::Status s = spool_.Ack(in.ack().sequence());
        if (!s.ok()) Log(absl::StrCat("cannot remove acked report: ", s.message()));
      } else if (in.has_welcome()) {
        welcomed_ = true;
        Log(absl::StrCat("connected to collector as host '", in.welcome().host_id(), "'"));
        if (TakeTlsHostnames(in.welcome())) {
          // The report(s) sent were collected without these names.
          tls_hostnames_changed_ = true;
          if (mode == Mode::kForever) collect_requested_ = true;
          Log(absl::StrCat("collector names the hostnames to probe and resolve: ",
                           absl::StrJoin(in.welcome().tls_hostnames(), ", ")));
        }
      } else if (in.has_collect_now()) {
        collect_requested_ = true;
        Log(absl::StrCat("collector asks for a report (", in.collect_now().requested_by(), ")"));
      }
    }
    absl::MutexLock lock(&mu_);
    read_done_ = true;
  });

  uint64_t sent_upto = 0;
  std::vector<std::pair<uint64_t, size_t>> sent;  // sequence, message bytes
  bool drained = false;
  while (!broken) {
    for (uint64_t seq : spool_.Pending()) {
      if (seq <= sent_upto) continue;
      auto report = spool_.Load(seq);
      if (!report.ok()) {
        Log(std::string(report.status().message()));
        continue;
      }
      v1::AgentMessage out;
      *out.mutable_report() = std::move(*report);
      const size_t bytes = out.ByteSizeLong();
      if (!stream->Write(out)) {
        broken = true;
        break;
      }
      sent.emplace_back(seq, bytes);
      sent_upto = seq;
    }
    if (broken) break;
    bool collect = false;
    {
      absl::MutexLock lock(&mu_);
      // Evaluated with mu_ held, by whichever thread releases it: an ack
      // (applied under mu_) may drain the spool.
      auto wake = [&] {
        mu_.AssertReaderHeld();
        return stop_ || read_done_ || collect_requested_ ||
               (mode == Mode::kUntilDrained && spool_.Pending().empty());
      };
      mu_.AwaitWithDeadline(absl::Condition(&wake),
                            std::min(deadline, mode == Mode::kForever ? next_collect : deadline));
      if (stop_ || read_done_) break;
      if (mode == Mode::kUntilDrained) {
        if (spool_.Pending().empty()) {
          drained = true;
          break;
        }
        if (absl::Now() >= deadline) break;
        continue;
      }
      collect = collect_requested_ || absl::Now() >= next_collect;
      collect_requested_ = false;
    }
    if (collect) {
      absl::Status s = CollectIntoSpool();
      if (!s.ok()) Log(absl::StrCat("cannot spool report: ", s.message()));
      next_collect = absl::Now() + absl::Seconds(config_.interval_seconds());
      // A stream lives as long as the collector does, and the certificate is
      // presented only when it opens: a renewed one is taken up by
      // reconnecting (the report just collected goes on the new stream).
      if (TlsFilesChanged()) {
        Log("TLS files changed: reconnecting to present the new certificate");
        break;
      }
    }
  }
  stream->WritesDone();
  bool server_ended;
  {
    absl::MutexLock lock(&mu_);
    server_ended = read_done_;
  }
  // Cancel only a stream the collector has not ended itself, so that its
  // status (e.g. PERMISSION_DENIED with the reason) reaches Finish().
  if (!drained && !server_ended) context.TryCancel();
  reader.join();
  grpc::Status status = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    live_context_ = nullptr;
    welcomed = welcomed_;
  }
  if (drained) return absl::OkStatus();
  SetAsideRefused(status, sent);
  if (!status.ok()) return FromGrpcStatus(status);
  return absl::UnavailableError("stream ended before every report was acked");
}

bool AgentLoop::SetAsideRefused(const grpc::Status& status,
                                const std::vector<std::pair<uint64_t, size_t>>& sent) {
  // gRPC's words for a message over the receiver's limit: "Received message
  // larger than max (<size> vs. <limit>)". The collector also says
  // RESOURCE_EXHAUSTED when its disk is full: that one is retried.
  const std::string& message = status.error_message();
  if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED ||
      !absl::StrContains(message, "larger than max")) {
    return false;
  }
  uint64_t size = 0;
  if (size_t open = message.find('('); open != std::string::npos) {
    size_t end = message.find(' ', open);
    if (end != std::string::npos &&
        !absl::SimpleAtoi(message.substr(open + 1, end - open - 1), &size)) {
      size = 0;
    }
  }
  // The one of that size; else the largest (it is over the limit if any is).
  std::vector<uint64_t> pending = spool_.Pending();
  uint64_t culprit = 0;
  size_t largest = 0;
  for (const auto& [seq, bytes] : sent) {
    if (!std::binary_search(pending.begin(), pending.end(), seq)) continue;
    if (size != 0 && bytes == size) {
      culprit = seq;
      break;
    }
    if (bytes > largest) {
      largest = bytes;
      culprit = seq;
    }
  }
  if (culprit == 0) return false;
  absl::Status s = spool_.SetAside(culprit, "refused");
  if (!s.ok()) {
    Log(absl::StrCat("cannot set aside report ", culprit, ": ", s.message()));
    return false;
  }
  refused_.push_back(culprit);
  Log(absl::StrCat("the collector refused report ", culprit, " as too large (", message,
                   "): set aside as ", spool_.dir(), "/reports/", absl::StrFormat("%020d", culprit),
                   ".pb.refused; lower the agent's max_report_bytes below the collector's"));
  return true;
}

absl::Status AgentLoop::RunOnce() {
  RETURN_IF_ERROR(CollectIntoSpool());
  RETURN_IF_ERROR(DeliverOnce());
  bool again;
  {
    absl::MutexLock lock(&mu_);
    again = tls_hostnames_changed_;
  }
  if (!again) return absl::OkStatus();
  // The collector named hostnames this report was collected without: one
  // more report with them, so that --once leaves a complete verdict.
  Log("collecting again with the collector's hostnames");
  RETURN_IF_ERROR(CollectIntoSpool());
  return DeliverOnce();
}

absl::Status AgentLoop::DeliverOnce() {
  absl::Time deadline = absl::Now() + absl::Seconds(config_.ack_timeout_seconds());
  absl::Time unused = absl::InfiniteFuture();
  absl::Status last;
  const size_t refused_before = refused_.size();
  for (int attempt = 0;; ++attempt) {
    bool welcomed = false;
    last = Session(Mode::kUntilDrained, deadline, unused, welcomed);
    if (last.ok() && refused_.size() > refused_before) {
      // Everything else was acked; the refused report is not delivered.
      std::vector<uint64_t> refused(refused_.begin() + refused_before, refused_.end());
      return absl::ResourceExhaustedError(
          absl::StrCat("the collector refused report(s) ", absl::StrJoin(refused, ", "),
                       " as too large; set aside as .refused in ", spool_.dir(),
                       "/reports (lower the agent's max_report_bytes below the collector's)"));
    }
    if (last.ok()) return last;
    // Refusals will not change by retrying within one --once run.
    if (absl::IsPermissionDenied(last) || absl::IsUnauthenticated(last) ||
        absl::IsInvalidArgument(last)) {
      return last;
    }
    Log(absl::StrCat("delivery failed: ", last.ToString()));
    absl::Duration wait = Backoff(attempt, absl::Milliseconds(200), absl::Seconds(5), rng_);
    // Over the collector's report budget: sooner would be refused again.
    wait = std::max(wait, RetryAfter(last));
    if (absl::Now() + wait >= deadline) break;
    if (!SleepUnlessStopped(wait)) break;
  }
  return absl::DeadlineExceededError(absl::StrCat(
      spool_.Pending().size(), " report(s) not acked within ", config_.ack_timeout_seconds(),
      "s; they stay in the spool. Last error: ", last.ToString()));
}

void AgentLoop::RunForever() {
  absl::Time next_collect = absl::Now();
  int attempt = 0;
  while (true) {
    if (Stopped()) return;
    bool welcomed = false;
    absl::Status s = Session(Mode::kForever, absl::InfiniteFuture(), next_collect, welcomed);
    if (Stopped()) return;
    // A collector that welcomed the agent and then refused a report for
    // lack of room (RESOURCE_EXHAUSTED) is not a reason to hurry back.
    if (welcomed && !absl::IsResourceExhausted(s)) attempt = 0;
    absl::Duration wait;
    if (absl::Duration after = RetryAfter(s); after > absl::ZeroDuration()) {
      // Over the report budget: back when the collector says a report gets
      // through (one reconnect per report it lets through, never sooner),
      // plus a random second so a fleet does not come back at once.
      wait = std::min(after + Backoff(0, absl::Seconds(1), absl::Seconds(1), rng_),
                      absl::Seconds(config_.max_backoff_seconds()));
    } else {
      wait =
          Backoff(attempt++, absl::Seconds(1), absl::Seconds(config_.max_backoff_seconds()), rng_);
    }
    Log(absl::StrCat("stream ended (", s.ToString(), "); reconnecting in ",
                     absl::FormatDuration(absl::Trunc(wait, absl::Milliseconds(100)))));
    absl::Time reconnect = absl::Now() + wait;
    // Keep collecting while disconnected: the spool holds what changed.
    while (absl::Now() < reconnect) {
      if (absl::Now() >= next_collect) {
        absl::Status c = CollectIntoSpool();
        if (!c.ok()) Log(absl::StrCat("cannot spool report: ", c.message()));
        next_collect = absl::Now() + absl::Seconds(config_.interval_seconds());
      }
      if (!SleepUnlessStopped(std::min(reconnect, next_collect) - absl::Now())) return;
    }
  }
}

}  // namespace preflight::agent
