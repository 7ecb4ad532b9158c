#include "collector/notify/notifier.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "proto/wire/status.h"

namespace preflight::collector::notify {
namespace {

constexpr absl::string_view kUtcFormat = "%Y-%m-%d %H:%M:%S UTC";

std::string Utc(absl::Time t) { return absl::FormatTime(kUtcFormat, t, absl::UTCTimeZone()); }

// "HH:MM" -> minutes of the day.
std::optional<int> Minutes(absl::string_view hhmm) {
  std::vector<absl::string_view> p = absl::StrSplit(hhmm, ':');
  int h = 0, m = 0;
  if (p.size() != 2 || p[0].size() != 2 || p[1].size() != 2 || !absl::SimpleAtoi(p[0], &h) ||
      !absl::SimpleAtoi(p[1], &m) || h < 0 || h > 23 || m < 0 || m > 59) {
    return std::nullopt;
  }
  return h * 60 + m;
}

absl::Status ParseQuiet(const v1::Notifications& c, int* start, int* end, absl::TimeZone* tz) {
  *start = *end = -1;
  *tz = absl::UTCTimeZone();
  if (!c.quiet_hours_tz().empty() && !absl::LoadTimeZone(c.quiet_hours_tz(), tz)) {
    return absl::InvalidArgumentError(absl::StrCat("notifications.quiet_hours_tz \"",
                                                   c.quiet_hours_tz(),
                                                   "\" is not a time zone (e.g. Africa/Kampala)"));
  }
  if (c.quiet_hours().empty()) return absl::OkStatus();
  std::vector<absl::string_view> p = absl::StrSplit(c.quiet_hours(), '-');
  std::optional<int> s, e;
  if (p.size() == 2) {
    s = Minutes(p[0]);
    e = Minutes(p[1]);
  }
  if (!s.has_value() || !e.has_value() || *s == *e) {
    return absl::InvalidArgumentError(absl::StrCat("notifications.quiet_hours \"", c.quiet_hours(),
                                                   "\" is not HH:MM-HH:MM (e.g. 22:00-07:00)"));
  }
  *start = *s;
  *end = *e;
  return absl::OkStatus();
}

Store::StateWrite PutState(std::string name, std::string value) {
  Store::StateWrite w;
  w.put.emplace_back(std::move(name), std::move(value));
  return w;
}

Store::StateWrite EraseState(std::string name) {
  Store::StateWrite w;
  w.erase.push_back(std::move(name));
  return w;
}

uint32_t Or(uint32_t v, uint32_t fallback) { return v == 0 ? fallback : v; }

std::string StatusName(v1::CheckStatus s) {
  std::string name = v1::CheckStatus_Name(s);
  return name.empty() ? absl::StrCat(static_cast<int>(s)) : name;
}

// One event, as a message lists it.
std::string EventLine(const v1::Event& e) {
  std::string head = absl::StrCat("- ", Utc(absl::FromUnixMillis(e.at_unix_ms())), "  ",
                                  v1::Event_Kind_Name(e.kind()));
  if (!e.host_id().empty()) absl::StrAppend(&head, "  ", e.host_id());
  if (!e.environment().empty()) absl::StrAppend(&head, " (", e.environment(), ")");
  if (!e.check_id().empty()) {
    absl::StrAppend(&head, "  ", e.check_id());
    if (!e.check_title().empty()) absl::StrAppend(&head, " \"", e.check_title(), "\"");
  }
  if (e.kind() == v1::Event::TRANSITION) {
    absl::StrAppend(&head, ": ", StatusName(e.from()), " -> ", StatusName(e.to()));
  }
  if (e.blocker()) absl::StrAppend(&head, "  [blocker]");
  if (!e.summary().empty()) absl::StrAppend(&head, "\n  ", e.summary());
  return head;
}

std::string Subject(const std::vector<v1::Event>& events) {
  std::set<std::string> hosts;
  for (const v1::Event& e : events) {
    if (!e.host_id().empty()) hosts.insert(e.host_id());
  }
  const v1::Event& first = events.front();
  std::string what = first.summary();
  if (what.empty()) {
    what = absl::StrCat(v1::Event_Kind_Name(first.kind()), " ", first.host_id(), " ",
                        first.check_id());
  }
  if (what.size() > 120) what = absl::StrCat(what.substr(0, 117), "...");
  return absl::StrCat(
      "[preflight] ", events.size(), events.size() == 1 ? " regression" : " regressions",
      hosts.empty() ? ""
                    : absl::StrCat(" on ", hosts.size(), hosts.size() == 1 ? " host" : " hosts"),
      ": ", what);
}

std::string Body(const std::vector<v1::Event>& events, const std::string& id) {
  const absl::Time from = absl::FromUnixMillis(events.front().at_unix_ms());
  const absl::Time to = absl::FromUnixMillis(events.back().at_unix_ms());
  std::string out = absl::StrCat("preflight: ", events.size(),
                                 events.size() == 1 ? " regression" : " regressions", " from ",
                                 Utc(from), " to ", Utc(to), " (events #", events.front().seq(),
                                 " to #", events.back().seq(), ").\n\n");
  size_t listed = 0;
  for (const v1::Event& e : events) {
    if (listed++ == Notifier::kListedPerMessage) {
      absl::StrAppend(&out, "... and ", events.size() - Notifier::kListedPerMessage,
                      " more: preflightctl status\n");
      break;
    }
    absl::StrAppend(&out, EventLine(e), "\n");
  }
  absl::StrAppend(&out,
                  "\nWhat is failing now: preflightctl status; a host's history: "
                  "preflightctl history <host>.\nMessage ",
                  id, " (a resend after a restart carries the same id).\n");
  return out;
}

}  // namespace

std::string OutboxEntry::Encode() const {
  std::string out;
  auto put = [&out](absl::string_view k, absl::string_view v) {
    absl::StrAppend(&out, k, " ", absl::CEscape(v), "\n");
  };
  put("id", id);
  put("channel", channel);
  put("subject", subject);
  put("body", body);
  put("first_seq", absl::StrCat(first_seq));
  put("last_seq", absl::StrCat(last_seq));
  put("regressions", absl::StrCat(regressions));
  put("created", absl::StrCat(created_unix_ms));
  put("next_attempt", absl::StrCat(next_attempt_unix_ms));
  put("attempts", absl::StrCat(attempts));
  put("last_error", last_error);
  put("urgent", urgent ? "1" : "0");
  return out;
}

std::optional<OutboxEntry> OutboxEntry::Decode(absl::string_view bytes) {
  OutboxEntry e;
  for (absl::string_view line : absl::StrSplit(bytes, '\n', absl::SkipEmpty())) {
    size_t sp = line.find(' ');
    if (sp == absl::string_view::npos) return std::nullopt;
    absl::string_view k = line.substr(0, sp);
    std::string v;
    if (!absl::CUnescape(line.substr(sp + 1), &v)) return std::nullopt;
    bool ok = true;
    if (k == "id")
      e.id = v;
    else if (k == "channel")
      e.channel = v;
    else if (k == "subject")
      e.subject = v;
    else if (k == "body")
      e.body = v;
    else if (k == "first_seq")
      ok = absl::SimpleAtoi(v, &e.first_seq);
    else if (k == "last_seq")
      ok = absl::SimpleAtoi(v, &e.last_seq);
    else if (k == "regressions")
      ok = absl::SimpleAtoi(v, &e.regressions);
    else if (k == "created")
      ok = absl::SimpleAtoi(v, &e.created_unix_ms);
    else if (k == "next_attempt")
      ok = absl::SimpleAtoi(v, &e.next_attempt_unix_ms);
    else if (k == "attempts")
      ok = absl::SimpleAtoi(v, &e.attempts);
    else if (k == "last_error")
      e.last_error = v;
    else if (k == "urgent")  // absent in entries written before it existed
      e.urgent = v == "1";
    if (!ok) return std::nullopt;
  }
  if (e.id.empty() || e.channel.empty()) return std::nullopt;
  return e;
}

bool Notifier::Enabled(const v1::Notifications& c) {
  return !c.smtp().host().empty() || c.webhook_size() > 0;
}

absl::Status Notifier::Validate(const v1::Notifications& c) {
  if (!c.smtp().host().empty() || !c.smtp().to().empty())
    RETURN_IF_ERROR(SmtpClient::Validate(c.smtp()));
  std::set<std::string> names;
  for (const v1::WebhookChannel& w : c.webhook()) {
    RETURN_IF_ERROR(WebhookClient::Validate(w, c.https_proxy()));
    if (!names.insert(w.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("notifications.webhook: two webhooks are named \"", w.name(), "\""));
    }
  }
  if (!c.https_proxy().empty()) {
    RETURN_IF_ERROR(ParseUrl(c.https_proxy(), true, "notifications.https_proxy").status());
  }
  int s, e;
  absl::TimeZone tz;
  return ParseQuiet(c, &s, &e, &tz);
}

Notifier::Notifier(Store* store, v1::Notifications config, NotifierOptions options)
    : store_(store), config_(std::move(config)), options_(std::move(options)) {
  (void)ParseQuiet(config_, &quiet_start_min_, &quiet_end_min_, &quiet_tz_);
  if (!config_.smtp().host().empty()) {
    smtp_ = std::make_unique<SmtpClient>(config_.smtp(), options_.io_timeout);
  }
  for (const v1::WebhookChannel& w : config_.webhook()) {
    webhooks_[absl::StrCat("webhook:", w.name())] =
        std::make_unique<WebhookClient>(w, config_.https_proxy(), options_.io_timeout);
  }
}

Notifier::~Notifier() { Stop(); }

std::vector<std::string> Notifier::Channels() const {
  std::vector<std::string> out;
  if (smtp_ != nullptr) out.push_back("smtp");
  for (const auto& [name, client] : webhooks_) out.push_back(name);
  return out;
}

absl::Status Notifier::AuditConfiguration() {
  std::vector<std::string> parts;
  if (!config_.smtp().host().empty()) {
    const v1::SmtpChannel& s = config_.smtp();
    parts.push_back(
        absl::StrCat("smtp ", s.host(), ":", s.port() == 0 ? 587 : s.port(), " from ", s.from(),
                     " to ", absl::StrJoin(s.to(), ","),
                     s.user().empty() ? ", no AUTH" : absl::StrCat(", AUTH as ", s.user()),
                     s.allow_plaintext() ? ", plaintext allowed" : ", STARTTLS required",
                     s.ca_file().empty() ? ", system CAs" : absl::StrCat(", CA ", s.ca_file())));
  }
  for (const v1::WebhookChannel& w : config_.webhook()) {
    auto url = ParseUrl(w.url(), false, "url");
    parts.push_back(absl::StrCat(
        "webhook ", w.name(), " https://", url.ok() ? url->host : "?", "/... ",
        w.ca_file().empty() ? "(system CAs)" : absl::StrCat("(CA ", w.ca_file(), ")")));
  }
  if (!config_.https_proxy().empty())
    parts.push_back(absl::StrCat("proxy ", config_.https_proxy()));
  std::string desc = parts.empty() ? "off (no channel)" : absl::StrJoin(parts, "; ");
  if (!parts.empty()) {
    absl::StrAppend(&desc, "; burst ", Or(config_.burst_seconds(), 60), " s, dedup ",
                    Or(config_.dedup_seconds(), 3600), " s, quiet hours ",
                    config_.quiet_hours().empty() ? "none" : config_.quiet_hours(), " ",
                    config_.quiet_hours_tz().empty() ? "UTC" : config_.quiet_hours_tz(),
                    config_.urgent_in_quiet_hours() ? " (urgent blockers still sent)" : "",
                    ", max attempts ", Or(config_.max_attempts(), 48));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> was, store_->GetMeta("notifications"));
  if (was.has_value() ? *was == desc : parts.empty()) return absl::OkStatus();
  options_.log(absl::StrCat("notifications: ", desc));
  return store_->PutMeta("notifications", desc,
                         {"collector", "notifications", options_.config_path,
                          was.has_value() ? absl::StrCat(desc, " (was: ", *was, ")") : desc},
                         options_.clock());
}

std::optional<absl::Time> Notifier::QuietUntil(absl::Time t) const {
  if (quiet_start_min_ < 0) return std::nullopt;
  const absl::CivilMinute local = absl::ToCivilMinute(t, quiet_tz_);
  const int m = local.hour() * 60 + local.minute();
  const bool quiet = quiet_start_min_ < quiet_end_min_
                         ? m >= quiet_start_min_ && m < quiet_end_min_
                         : m >= quiet_start_min_ || m < quiet_end_min_;
  if (!quiet) return std::nullopt;
  absl::CivilDay day = absl::CivilDay(local);
  if (m >= quiet_end_min_) day += 1;  // ends tomorrow
  return absl::FromCivil(absl::CivilMinute(day.year(), day.month(), day.day(), quiet_end_min_ / 60,
                                           quiet_end_min_ % 60),
                         quiet_tz_);
}

bool Notifier::Urgent(const v1::Event& e) const {
  return e.blocker() && options_.gating_environments.count(e.environment()) > 0;
}

absl::StatusOr<uint64_t> Notifier::Cursor() {
  ASSIGN_OR_RETURN(std::optional<std::string> v, store_->GetState(kCursorKey));
  uint64_t cursor = 0;
  if (v.has_value() && !absl::SimpleAtoi(*v, &cursor)) {
    return absl::DataLossError(
        absl::StrCat("store: state ", kCursorKey, " is \"", absl::CEscape(*v), "\", not a number"));
  }
  return cursor;
}

absl::StatusOr<size_t> Notifier::Pending() {
  ASSIGN_OR_RETURN(auto entries, store_->ScanState(kOutboxPrefix, 1 << 20));
  return entries.size();
}

absl::StatusOr<bool> Notifier::ComposeOne(absl::Time now, absl::Time* wake) {
  ASSIGN_OR_RETURN(std::optional<std::string> stored, store_->GetState(kCursorKey));
  ASSIGN_OR_RETURN(const uint64_t cursor, Cursor());
  const bool first_start = !stored.has_value();
  ASSIGN_OR_RETURN(std::vector<v1::Event> events, store_->EventsAfter(cursor, kEventsPerRead));
  const int64_t too_old = first_start ? absl::ToUnixMillis(now - kFirstStartWindow) : 0;
  auto notifiable = [&](const v1::Event& e) { return e.regression() && e.at_unix_ms() >= too_old; };
  size_t first = 0;
  while (first < events.size() && !notifiable(events[first])) ++first;
  if (first == events.size()) {
    // Nothing to tell: the cursor moves past what was read.
    if (events.empty() && !first_start) return false;
    const uint64_t to = events.empty() ? cursor : events.back().seq();
    RETURN_IF_ERROR(store_->WriteState(PutState(std::string(kCursorKey), absl::StrCat(to)), now));
    return !events.empty();
  }
  const absl::Duration burst = absl::Seconds(Or(config_.burst_seconds(), 60));
  const absl::Time due = absl::FromUnixMillis(events[first].at_unix_ms()) + burst;
  bool urgent = false;
  for (size_t i = first; i < events.size(); ++i)
    urgent |= notifiable(events[i]) && Urgent(events[i]);
  if (now < due) {
    *wake = std::min(*wake, due);
    return false;
  }
  if (std::optional<absl::Time> quiet = QuietUntil(now); quiet.has_value()) {
    if (!(urgent && config_.urgent_in_quiet_hours())) {
      *wake = std::min(*wake, *quiet);
      return false;
    }
  }
  // Everything up to the burst's end, or up to one burst ago for a backlog.
  const int64_t cutoff = absl::ToUnixMillis(std::max(due, now - burst));
  size_t end = first;
  while (end < events.size() && events[end].at_unix_ms() <= cutoff) ++end;
  if (end == first) end = first + 1;
  const uint64_t last_seq = events[end - 1].seq();

  Store::StateWrite write;
  write.put.emplace_back(std::string(kCursorKey), absl::StrCat(last_seq));
  const absl::Duration dedup = absl::Seconds(Or(config_.dedup_seconds(), 3600));
  std::vector<v1::Event> kept;
  std::set<std::string> keys;
  size_t dropped = 0;
  for (size_t i = first; i < end; ++i) {
    const v1::Event& e = events[i];
    if (!notifiable(e)) continue;
    if (!e.dedup_key().empty()) {
      const std::string key = absl::StrCat(kDedupPrefix, e.dedup_key());
      ASSIGN_OR_RETURN(std::optional<std::string> seen, store_->GetState(key));
      int64_t seen_ms = 0;
      if (!keys.insert(key).second || (seen.has_value() && absl::SimpleAtoi(*seen, &seen_ms) &&
                                       absl::FromUnixMillis(seen_ms) + dedup > now)) {
        ++dropped;
        continue;
      }
      write.put.emplace_back(key, absl::StrCat(absl::ToUnixMillis(now)));
    }
    kept.push_back(e);
  }
  if (kept.empty()) {
    options_.log(absl::StrCat("notifications: events #", events[first].seq(), " to #", last_seq,
                              ": ", dropped, " regression(s) already notified within ",
                              absl::FormatDuration(dedup), "; nothing sent"));
    RETURN_IF_ERROR(store_->WriteState(std::move(write), now));
    return true;
  }
  OutboxEntry entry;
  entry.id = absl::StrCat("preflight-", kept.front().seq(), "-", kept.back().seq());
  entry.subject = Subject(kept);
  entry.body = Body(kept, entry.id);
  entry.first_seq = kept.front().seq();
  entry.last_seq = kept.back().seq();
  entry.regressions = static_cast<uint32_t>(kept.size());
  for (const v1::Event& e : kept) entry.urgent |= Urgent(e);
  entry.created_unix_ms = absl::ToUnixMillis(now);
  entry.next_attempt_unix_ms = entry.created_unix_ms;
  const std::vector<std::string> channels = Channels();
  for (const std::string& channel : channels) {
    entry.channel = channel;
    write.put.emplace_back(absl::StrFormat("%s%020d/%s", kOutboxPrefix, entry.first_seq, channel),
                           entry.Encode());
  }
  RETURN_IF_ERROR(store_->WriteState(std::move(write), now));
  options_.log(absl::StrCat("notifications: queued message ", entry.id, " (", kept.size(),
                            " regression(s)",
                            dropped > 0 ? absl::StrCat(", ", dropped, " deduplicated") : "",
                            ") for ", absl::StrJoin(channels, ", ")));
  return true;
}

absl::Status Notifier::Deliver(const OutboxEntry& entry, absl::Time now) const {
  if (entry.channel == "smtp") {
    if (smtp_ == nullptr) return absl::NotFoundError("smtp is no longer configured");
    return smtp_->Send({entry.id, entry.subject, entry.body}, now);
  }
  auto it = webhooks_.find(entry.channel);
  if (it == webhooks_.end()) {
    return absl::NotFoundError(absl::StrCat(entry.channel, " is no longer configured"));
  }
  return it->second->Send(entry.id, absl::StrCat(entry.subject, "\n", entry.body));
}

absl::Status Notifier::SendDue(absl::Time now, absl::Time* wake) {
  ASSIGN_OR_RETURN(auto entries, store_->ScanState(kOutboxPrefix, kEventsPerRead));
  const uint32_t max_attempts = Or(config_.max_attempts(), 48);
  for (const auto& [key, value] : entries) {
    std::optional<OutboxEntry> entry = OutboxEntry::Decode(value);
    if (!entry.has_value()) {
      options_.log(absl::StrCat("notifications: outbox entry ", key, " is undecodable; dropped"));
      RETURN_IF_ERROR(store_->Audit(
          {"collector", "notification-given-up", key, "undecodable outbox entry"}, now));
      RETURN_IF_ERROR(store_->WriteState(EraseState(key), now));
      continue;
    }
    if (absl::FromUnixMillis(entry->next_attempt_unix_ms) > now) {
      *wake = std::min(*wake, absl::FromUnixMillis(entry->next_attempt_unix_ms));
      continue;
    }
    // A message queued (or failing) before the quiet hours began is held
    // like a new one: no retry wakes anyone at night unless it is urgent.
    if (std::optional<absl::Time> quiet = QuietUntil(now);
        quiet.has_value() && !(entry->urgent && config_.urgent_in_quiet_hours())) {
      *wake = std::min(*wake, *quiet);
      continue;
    }
    const uint32_t attempt = entry->attempts + 1;
    absl::Status sent = Deliver(*entry, now);
    if (sent.ok()) {
      options_.log(absl::StrCat("notifications: sent ", entry->id, " via ", entry->channel,
                                " (attempt ", attempt, ", ", entry->regressions,
                                " regression(s))"));
      if (options_.after_send) options_.after_send(*entry);
      RETURN_IF_ERROR(store_->WriteState(EraseState(key), now));
      continue;
    }
    const bool gone = absl::IsNotFound(sent);
    if (gone || attempt >= max_attempts) {
      const std::string why = gone ? std::string(sent.message())
                                   : absl::StrCat(attempt, " attempts since ",
                                                  Utc(absl::FromUnixMillis(entry->created_unix_ms)),
                                                  "; last: ", sent.message());
      options_.log(
          absl::StrCat("notifications: gave up ", entry->id, " via ", entry->channel, ": ", why));
      RETURN_IF_ERROR(store_->Audit(
          {"collector", "notification-given-up", absl::StrCat(entry->id, " via ", entry->channel),
           absl::StrCat(entry->regressions, " regression(s), events #", entry->first_seq, " to #",
                        entry->last_seq, ": ", why)},
          now));
      RETURN_IF_ERROR(store_->WriteState(EraseState(key), now));
      continue;
    }
    absl::Duration backoff = options_.retry_base;
    for (uint32_t i = 1; i < attempt && backoff < options_.retry_max; ++i) backoff *= 2;
    backoff = std::min(backoff, options_.retry_max);
    entry->attempts = attempt;
    entry->last_error = std::string(sent.message());
    entry->next_attempt_unix_ms = absl::ToUnixMillis(now + backoff);
    options_.log(absl::StrCat("notifications: cannot send ", entry->id, " via ", entry->channel,
                              " (attempt ", attempt, " of ", max_attempts, "): ", sent.message(),
                              "; next attempt in ", absl::FormatDuration(backoff)));
    RETURN_IF_ERROR(store_->WriteState(PutState(key, entry->Encode()), now));
    *wake = std::min(*wake, now + backoff);
  }
  return absl::OkStatus();
}

absl::Status Notifier::PruneDedup(absl::Time now) {
  if (now < next_dedup_prune_) return absl::OkStatus();
  next_dedup_prune_ = now + absl::Hours(1);
  const absl::Duration dedup = absl::Seconds(Or(config_.dedup_seconds(), 3600));
  ASSIGN_OR_RETURN(auto marks, store_->ScanState(kDedupPrefix, 100000));
  Store::StateWrite write;
  for (const auto& [key, value] : marks) {
    int64_t ms = 0;
    if (!absl::SimpleAtoi(value, &ms) || absl::FromUnixMillis(ms) + dedup <= now) {
      write.erase.push_back(key);
    }
  }
  if (write.erase.empty()) return absl::OkStatus();
  return store_->WriteState(std::move(write), now);
}

absl::StatusOr<absl::Time> Notifier::RunOnce() {
  const absl::Time now = options_.clock();
  absl::Time wake = absl::InfiniteFuture();
  // Each call composes one message (or moves the cursor past what needs
  // none); a backlog of more than 100 continues at the next pass, at once.
  bool moved = true;
  for (int i = 0; i < 100 && moved; ++i) {
    ASSIGN_OR_RETURN(moved, ComposeOne(now, &wake));
  }
  if (moved) wake = now;
  RETURN_IF_ERROR(SendDue(now, &wake));
  RETURN_IF_ERROR(PruneDedup(now));
  return wake;
}

void Notifier::Start() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] {
    for (;;) {
      absl::Duration wait = options_.poll;
      auto next = RunOnce();
      if (!next.ok()) {
        const std::string error(next.status().message());
        if (error != last_error_) options_.log(absl::StrCat("notifications: ", error));
        last_error_ = error;
        wait = absl::Seconds(5);
      } else {
        last_error_.clear();
        wait = std::clamp(*next - options_.clock(), absl::ZeroDuration(), options_.poll);
      }
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stop_), wait);
      if (stop_) return;
    }
  });
}

void Notifier::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace preflight::collector::notify
