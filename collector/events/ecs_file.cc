// The event file (ecs_file.h).
#include "collector/events/ecs_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "collector/readiness/engine.h"
#include "proto/wire/json_quote.h"
#include "proto/wire/status.h"

namespace preflight::collector {
namespace {

// A compact JSON object written key by key; strings escaped per RFC 8259,
// bytes that are not UTF-8 replaced by U+FFFD so that every line is valid
// UTF-8 (Elasticsearch refuses a document that is not).
class JsonLine {
 public:
  JsonLine() { out_.push_back('{'); }
  JsonLine& Begin(absl::string_view key) {
    KeyOf(key);
    out_ += '{';
    first_.push_back(true);
    return *this;
  }
  JsonLine& End() {
    out_ += '}';
    first_.pop_back();
    return *this;
  }
  // Empty strings are left out: ECS keyword fields are absent, not "".
  JsonLine& Str(absl::string_view key, absl::string_view value) {
    if (value.empty()) return *this;
    KeyOf(key);
    Quote(value);
    return *this;
  }
  JsonLine& Int(absl::string_view key, int64_t value) {
    KeyOf(key);
    absl::StrAppend(&out_, value);
    return *this;
  }
  JsonLine& Bool(absl::string_view key, bool value) {
    KeyOf(key);
    out_ += value ? "true" : "false";
    return *this;
  }
  JsonLine& Strs(absl::string_view key, const std::vector<std::string>& values) {
    if (values.empty()) return *this;
    KeyOf(key);
    out_ += '[';
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out_ += ',';
      Quote(values[i]);
    }
    out_ += ']';
    return *this;
  }
  std::string Finish() {
    out_ += '}';
    return std::move(out_);
  }

 private:
  void KeyOf(absl::string_view key) {
    if (!first_.back()) out_ += ',';
    first_.back() = false;
    Quote(key);
    out_ += ':';
  }
  void Quote(absl::string_view s) { wire::AppendJsonQuoted(out_, s); }

  std::string out_;
  std::vector<bool> first_{true};
};

// RFC 3339 with milliseconds, UTC: what Elasticsearch's date type reads.
std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

// ECS event.outcome of a check's new status.
absl::string_view OutcomeOf(v1::CheckStatus status) {
  switch (status) {
    case v1::PASS:
    case v1::NOT_APPLICABLE:
    case v1::WAIVED:
    case v1::ATTESTED:
      return "success";
    case v1::FAIL:
    case v1::WARN:
      return "failure";
    default:
      return "unknown";
  }
}

// event.action, event.category and event.type of each kind (ECS allowed
// values: a category's types are among those ECS lists for it).
struct KindNames {
  absl::string_view action, category, type;
};
KindNames NamesOf(v1::Event::Kind kind) {
  switch (kind) {
    case v1::Event::TRANSITION:
      return {"verdict-transition", "configuration", "change"};
    case v1::Event::HOST_STALE:
      return {"host-stale", "host", "end"};
    case v1::Event::HOST_FRESH:
      return {"host-fresh", "host", "start"};
    case v1::Event::FLEET_VERDICT:
      return {"fleet-verdict", "configuration", "change"};
    case v1::Event::EXCEPTION_EXPIRING:
      return {"exception-expiring", "configuration", "info"};
    case v1::Event::PKI_EXPIRING:
      return {"pki-expiring", "configuration", "info"};
    case v1::Event::CRL_EXPIRING:
      return {"crl-expiring", "configuration", "info"};
    case v1::Event::AUDIT:
      return {"audit", "configuration", "change"};
    case v1::Event::UNKNOWN_NODE:
      return {"unknown-node", "host", "info"};
    default:
      return {"unknown", "configuration", "info"};
  }
}

absl::string_view EventOutcome(const v1::Event& e) {
  switch (e.kind()) {
    case v1::Event::TRANSITION:
    case v1::Event::FLEET_VERDICT:  // to: PASS ready, FAIL not ready
      return OutcomeOf(e.to());
    case v1::Event::HOST_STALE:
    case v1::Event::UNKNOWN_NODE:
      return "failure";
    case v1::Event::HOST_FRESH:
      return "success";
    default:
      return "unknown";  // a warning: nothing succeeded or failed yet
  }
}

// The fields every line has.
void Common(JsonLine& line, absl::Time at, absl::Time now, absl::string_view id, uint64_t seq,
            absl::string_view kind, absl::string_view action, absl::string_view category,
            absl::string_view type, absl::string_view outcome) {
  line.Str("@timestamp", Rfc3339(at));
  line.Begin("event")
      .Str("id", id)
      .Str("kind", kind)
      .Strs("category", {std::string(category)})
      .Strs("type", {std::string(type)})
      .Str("action", action)
      .Str("outcome", outcome)
      .Str("dataset", "preflight.events")
      .Str("module", "preflight")
      .Str("provider", "preflight-collector")
      .Int("sequence", static_cast<int64_t>(seq))
      .Str("created", Rfc3339(now))
      .End();
}

void Trailer(JsonLine& line, const EcsContext& context) {
  line.Begin("observer").Str("hostname", context.observer).Str("type", "preflight").End();
  line.Begin("service").Str("name", "preflight-collector").Str("type", "preflight").End();
  line.Begin("ecs").Str("version", kEcsVersion).End();
}

}  // namespace

std::string EcsLineOfEvent(const v1::Event& e, const EcsContext& context, absl::Time now) {
  const KindNames names = NamesOf(e.kind());
  const v1::InventoryHost* host = nullptr;
  if (!e.host_id().empty()) {
    auto it = context.hosts.find(e.host_id());
    if (it != context.hosts.end()) host = &it->second;
  }
  const std::string environment =
      !e.environment().empty() ? e.environment() : (host != nullptr ? host->environment() : "");
  const Check* check = (context.registry != nullptr && !e.check_id().empty())
                           ? context.registry->Find(e.check_id())
                           : nullptr;
  const std::string title =
      !e.check_title().empty() ? e.check_title() : (check != nullptr ? check->info.title() : "");
  const bool blocker = e.blocker() || (check != nullptr && check->info.severity() == v1::BLOCKER);

  JsonLine line;
  Common(line, absl::FromUnixMillis(e.at_unix_ms()), now,
         absl::StrCat(context.collector, "/event/", e.seq()), e.seq(),
         e.regression() ? "alert" : "event", names.action, names.category, names.type,
         EventOutcome(e));
  if (!e.host_id().empty()) {
    line.Begin("host").Str("name", e.host_id()).End();
  }
  if (!e.check_id().empty()) {
    line.Begin("rule")
        .Str("id", e.check_id())
        .Str("name", title)
        .Str("category", check != nullptr ? SeverityName(check->info.severity())
                                          : (e.blocker() ? "blocker" : ""))
        .Str("ruleset", "preflight")
        .End();
  }
  line.Begin("labels").Str("collector", context.collector).Str("environment", environment).End();
  // "forwarded": host.* names the host the event is about, not the machine
  // that ships it (Filebeat's default add_host_metadata leaves it alone).
  std::vector<std::string> tags = {"preflight", "forwarded", std::string(names.action)};
  if (e.regression()) tags.push_back("regression");
  if (blocker) tags.push_back("blocker");
  line.Strs("tags", tags);
  line.Str("message", e.summary());
  line.Begin("preflight")
      .Str("collector", context.collector)
      .Str("kind", v1::Event::Kind_Name(e.kind()))
      .Int("seq", static_cast<int64_t>(e.seq()))
      .Str("environment", environment)
      .Strs("roles", host != nullptr
                         ? std::vector<std::string>(host->roles().begin(), host->roles().end())
                         : std::vector<std::string>{});
  if (e.kind() == v1::Event::TRANSITION) {
    line.Str("from", StatusName(e.from())).Str("to", StatusName(e.to()));
  }
  if (e.kind() == v1::Event::FLEET_VERDICT) line.Bool("ready", e.to() == v1::PASS);
  if (check != nullptr && check->info.checklist_item() > 0) {
    line.Int("checklist_item", check->info.checklist_item());
  }
  line.Bool("regression", e.regression())
      .Bool("blocker", blocker)
      .Str("actor", e.actor())
      .Str("dedup_key", e.dedup_key())
      .End();
  Trailer(line, context);
  return line.Finish();
}

std::string EcsLineOfAudit(const StoredAuditEntry& stored, const EcsContext& context,
                           absl::Time now) {
  const v1::AuditEntry& a = stored.entry;
  // Refusals are about who may connect or act; the rest change what the
  // collector holds (sign-offs, waivers, inventory, policy, retention).
  const bool refused =
      a.action() == "refused" || a.action() == "denied" || absl::EndsWith(a.action(), "-refused");
  JsonLine line;
  Common(line, absl::FromUnixMillis(a.at_unix_ms()), now,
         absl::StrCat(context.collector, "/audit/", stored.key_seq), stored.key_seq, "event",
         a.action(), refused ? "authentication" : "configuration", refused ? "info" : "change",
         refused ? "failure" : "success");
  // The subject is a host when the inventory knows it by that name.
  auto host = context.hosts.find(a.subject());
  if (host != context.hosts.end()) line.Begin("host").Str("name", a.subject()).End();
  line.Begin("user").Str("name", a.actor()).End();
  line.Begin("labels")
      .Str("collector", context.collector)
      .Str("environment", host != context.hosts.end() ? host->second.environment() : "")
      .End();
  line.Strs("tags", {"preflight", "forwarded", "audit"});
  line.Str("message", absl::StrCat(a.actor(), " ", a.action(), " ", a.subject(),
                                   a.detail().empty() ? "" : ": ", a.detail()));
  line.Begin("preflight")
      .Str("collector", context.collector)
      .Str("kind", "AUDIT")
      .Int("seq", static_cast<int64_t>(stored.key_seq))
      .Begin("audit")
      .Int("seq", static_cast<int64_t>(stored.key_seq))
      .Str("actor", a.actor())
      .Str("action", a.action())
      .Str("subject", a.subject())
      .Str("detail", a.detail())
      .Str("hash", HexOf(a.hash()))
      .End()
      .End();
  Trailer(line, context);
  return line.Finish();
}

EcsEventFile::EcsEventFile(Store& store, std::string path, EcsContext context, Clock clock, Log log)
    : store_(store), clock_(std::move(clock)), log_(std::move(log)) {
  absl::MutexLock lock(&mu_);
  path_ = std::move(path);
  context_ = std::move(context);
}

EcsEventFile::~EcsEventFile() {
  Stop();
  absl::MutexLock lock(&write_mu_);
  if (fd_ >= 0) close(fd_);
}

void EcsEventFile::Start(absl::Duration poll) {
  {
    absl::MutexLock lock(&mu_);
    stop_ = false;
  }
  thread_ = std::thread([this, poll] { Run(poll); });
}

void EcsEventFile::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void EcsEventFile::Reconfigure(std::string path,
                               absl::flat_hash_map<std::string, v1::InventoryHost> hosts) {
  absl::MutexLock lock(&mu_);
  path_ = std::move(path);
  context_.hosts = std::move(hosts);
}

void EcsEventFile::Run(absl::Duration poll) {
  while (true) {
    (void)WriteNew();  // errors are logged (once per episode) inside
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stop_), poll)) return;
  }
}

absl::Status EcsEventFile::WriteNew() {
  absl::MutexLock lock(&write_mu_);
  bool done = false;
  absl::Status status;
  size_t batches = 0;
  while (!done && status.ok()) {
    status = WriteBatchLocked(&done);
    ++batches;
  }
  std::string path;
  {
    absl::MutexLock l(&mu_);
    path = path_;
  }
  if (!status.ok()) {
    if (!failing_) {
      log_(absl::StrCat(status.ToString(), "; the events are kept and written once it works"));
    }
    failing_ = true;
    return status;
  }
  if (failing_) {
    log_(absl::StrCat("events file ", path, ": writing again, caught up to event #", event_cursor_,
                      " and audit entry #", audit_cursor_));
  }
  failing_ = false;
  return status;
}

absl::Status EcsEventFile::LoadCursorsLocked() {
  if (cursors_loaded_) return absl::OkStatus();
  for (auto [key, cursor] :
       {std::pair{kEventCursor, &event_cursor_}, std::pair{kAuditCursor, &audit_cursor_}}) {
    auto value = store_.GetState(key);
    if (!value.ok()) {
      return absl::UnavailableError(
          absl::StrCat("events file: cannot read its cursor: ", value.status().message()));
    }
    *cursor = 0;
    if (value->has_value() && !absl::SimpleAtoi(**value, cursor)) {
      return absl::DataLossError(absl::StrCat("events file: cursor ", key, " is not a number"));
    }
  }
  cursors_loaded_ = true;
  return absl::OkStatus();
}

absl::Status EcsEventFile::EnsureOpenLocked(const std::string& path) {
  auto unavailable = [&path](absl::string_view what) {
    return absl::UnavailableError(
        absl::StrCat("events file ", path, ": cannot ", what, ": ", std::strerror(errno)));
  };
  if (fd_ >= 0) {
    struct stat st {};
    // Truncated since our last write (logrotate `copytruncate`): its copy
    // may have been taken before our last lines reached the file. Write the
    // recent ones again (same event.id: one document in Elasticsearch).
    // Looked at before a reopen too: a `create` rotation right after a
    // `copytruncate` must not hide the truncation.
    if (fstat(fd_, &st) == 0 && written_end_ >= 0 && st.st_size < written_end_) {
      const absl::Time since = clock_() - kTruncationRewrite;
      for (const Mark& m : recent_) {
        if (m.at < since) continue;
        event_cursor_ = std::min(event_cursor_, m.event_cursor);
        audit_cursor_ = std::min(audit_cursor_, m.audit_cursor);
        break;
      }
      recent_.clear();
      written_end_ = -1;
    }
    // Another path (reload), the file renamed away (logrotate `create`) or
    // removed: the next lines go to a file at the path.
    if (path != open_path_ || stat(path.c_str(), &st) != 0 || st.st_ino != ino_ ||
        st.st_dev != dev_) {
      close(fd_);
      fd_ = -1;
    }
  }
  if (fd_ < 0) {
    fd_ = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ < 0) return unavailable("open it");
    struct stat st {};
    if (fstat(fd_, &st) != 0) {
      absl::Status s = unavailable("stat it");
      close(fd_);
      fd_ = -1;
      return s;
    }
    open_path_ = path;
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    written_end_ = -1;
  }
  return absl::OkStatus();
}

absl::Status EcsEventFile::WriteBatchLocked(bool* done) {
  *done = false;
  RETURN_IF_ERROR(LoadCursorsLocked());
  std::string path;
  {
    absl::MutexLock lock(&mu_);
    path = path_;
  }
  RETURN_IF_ERROR(EnsureOpenLocked(path));

  auto events = store_.EventsAfter(event_cursor_, kBatch);
  if (!events.ok()) {
    return absl::UnavailableError(
        absl::StrCat("events file: cannot read the event log: ", events.status().message()));
  }
  // The audit trail from the cursor on, only when its head moved past it;
  // entries past the head read first are left for the next batch.
  std::vector<StoredAuditEntry> audit;
  const uint64_t audit_head = store_.AuditHead().first;
  if (audit_head > audit_cursor_) {
    auto after = store_.AuditEntriesAfter(audit_cursor_, kBatch);
    if (!after.ok()) {
      return absl::UnavailableError(
          absl::StrCat("events file: cannot read the audit trail: ", after.status().message()));
    }
    for (StoredAuditEntry& a : *after) {
      if (a.key_seq > audit_head) break;
      audit.push_back(std::move(a));
    }
  }
  if (events->empty() && audit.empty()) {
    *done = true;
    return absl::OkStatus();
  }

  const absl::Time now = clock_();
  std::string lines;
  {
    absl::MutexLock lock(&mu_);
    for (const v1::Event& e : *events)
      absl::StrAppend(&lines, EcsLineOfEvent(e, context_, now), "\n");
    for (const StoredAuditEntry& a : audit) {
      absl::StrAppend(&lines, EcsLineOfAudit(a, context_, now), "\n");
    }
  }

  struct stat st {};
  if (fstat(fd_, &st) != 0) {
    return absl::UnavailableError(
        absl::StrCat("events file ", path, ": cannot stat it: ", std::strerror(errno)));
  }
  const off_t before = st.st_size;
  size_t off = 0;
  int error = 0;
  while (off < lines.size()) {
    const ssize_t n = write(fd_, lines.data() + off, lines.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? errno : EIO;
      break;
    }
    off += static_cast<size_t>(n);
  }
  if (error == 0 && fdatasync(fd_) != 0) error = errno;
  if (error != 0) {
    // A line cut short would join the first line of the retry: cut the
    // batch off again (unless the file was truncated meanwhile).
    if (fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > before) {
      (void)ftruncate(fd_, before);
    }
    return absl::UnavailableError(absl::StrCat("events file ", path, ": cannot write ",
                                               lines.size(), " bytes: ", std::strerror(error)));
  }
  // Where our write ended, from the descriptor's offset (O_APPEND moved it
  // with the write, atomically): a truncation right after the write does
  // not change it, and the next batch sees the file shorter than this.
  if (const off_t end = lseek(fd_, 0, SEEK_CUR); end >= 0) written_end_ = end;

  const absl::Time mark_at = clock_();
  while (!recent_.empty() && recent_.front().at < mark_at - kTruncationRewrite) {
    recent_.pop_front();
  }
  recent_.push_back({mark_at, event_cursor_, audit_cursor_});
  if (!events->empty()) event_cursor_ = events->back().seq();
  if (!audit.empty()) audit_cursor_ = audit.back().key_seq;
  Store::StateWrite cursors;
  cursors.put = {{std::string(kEventCursor), absl::StrCat(event_cursor_)},
                 {std::string(kAuditCursor), absl::StrCat(audit_cursor_)}};
  absl::Status saved = store_.WriteState(std::move(cursors), now);
  if (!saved.ok()) {
    // The lines are out; a restart before the cursor is saved writes them
    // again (at-least-once).
    return absl::UnavailableError(
        absl::StrCat("events file: cannot save its cursor: ", saved.message()));
  }
  return absl::OkStatus();
}

}  // namespace preflight::collector
