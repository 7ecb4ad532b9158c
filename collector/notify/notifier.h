// The notifier (issue 15, README "Notifications"): reads the store's event
// log after its durable cursor, turns each burst of regressions into one
// message, and delivers it through every configured channel (SMTP, HTTPS
// webhooks) from a durable outbox in the store's state family.
//
// At least once, never lost: a message and the cursor past the events it
// carries (and the dedup marks of those events) are written in one synced
// WriteState, one outbox entry per channel; an entry is erased ("marked
// sent") only after its peer accepted it. A crash between the peer's
// acceptance and the erasure sends that one message again, with the same id
// (Message-ID / Idempotency-Key): that is the at-least-once window, one
// message to one channel at most, since entries are sent one at a time.
//
// Bursts: the first regression read waits until burst_seconds have passed
// since it; the message then carries every regression up to
// max(first + burst, now - burst), so a backlog (after quiet hours or a
// restart) goes as one message. Dedup: an event whose dedup_key was notified
// within dedup_seconds is dropped. Quiet hours: no message is composed while
// they last (the events wait in the log), unless urgent_in_quiet_hours is
// set and a blocker check regressed in a gating environment. Retries back
// off from retry_base doubling up to retry_max; after max_attempts the entry
// is given up: erased, logged and audited. A message for a channel no longer
// configured is given up likewise.
//
// Threading: Start runs RunOnce on its own thread until Stop; RunOnce is
// also callable directly (tests), never concurrently with that thread.
#ifndef PREFLIGHT_COLLECTOR_NOTIFY_NOTIFIER_H_
#define PREFLIGHT_COLLECTOR_NOTIFY_NOTIFIER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/notify/smtp_client.h"
#include "collector/notify/webhook_client.h"
#include "collector/store/store.h"
#include "preflight/v1/config.pb.h"
#include "preflight/v1/events.pb.h"

namespace preflight::collector::notify {

// One message for one channel, as the outbox keeps it.
struct OutboxEntry {
  std::string id;       // "preflight-<first seq>-<last seq>": the same for every channel
  std::string channel;  // "smtp" or "webhook:<name>"
  std::string subject;
  std::string body;
  uint64_t first_seq = 0, last_seq = 0;  // the events it covers
  uint32_t regressions = 0;
  int64_t created_unix_ms = 0;
  int64_t next_attempt_unix_ms = 0;
  uint32_t attempts = 0;  // failed so far
  std::string last_error;
  // Covers a blocker regression of a gating environment: sent (and retried)
  // in quiet hours when urgent_in_quiet_hours is set; any other entry, even
  // one composed before the quiet hours began, waits for their end.
  bool urgent = false;

  std::string Encode() const;
  static std::optional<OutboxEntry> Decode(absl::string_view bytes);
};

struct NotifierOptions {
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  std::function<void(absl::string_view)> log = [](absl::string_view) {};
  // Environments whose blocker regressions are urgent in quiet hours.
  std::set<std::string> gating_environments;
  // For the audit entries' subject.
  std::string config_path;
  absl::Duration io_timeout = absl::Seconds(30);
  absl::Duration retry_base = absl::Seconds(30);
  absl::Duration retry_max = absl::Hours(1);
  // How often the thread looks for new events.
  absl::Duration poll = absl::Seconds(1);
  // Testing only: called after a peer accepted `entry`, before it is marked
  // sent (the at-least-once window).
  std::function<void(const OutboxEntry&)> after_send;
};

class Notifier {
 public:
  // State keys (the store's state family).
  static constexpr absl::string_view kCursorKey = "notify/cursor";
  static constexpr absl::string_view kOutboxPrefix = "notify/outbox/";
  static constexpr absl::string_view kDedupPrefix = "notify/dedup/";
  // At the first start (no cursor yet), older events are not notified.
  static constexpr absl::Duration kFirstStartWindow = absl::Hours(24);
  // Events read per pass, and regressions listed in one message (the rest
  // counted: "... and N more").
  static constexpr size_t kEventsPerRead = 1000;
  static constexpr size_t kListedPerMessage = 100;

  // The configuration's mistakes (channels, quiet hours, time zone, proxy),
  // each naming its field.
  static absl::Status Validate(const v1::Notifications& config);
  // Any channel configured.
  static bool Enabled(const v1::Notifications& config);

  // `store` must outlive the notifier. Validate first.
  Notifier(Store* store, v1::Notifications config, NotifierOptions options);
  ~Notifier();  // stops the thread

  // Audits (and logs) the channels and settings when they differ from those
  // of the last start (meta "notifications"; never a password or a webhook
  // URL's path, which carries Slack's secret).
  absl::Status AuditConfiguration();

  // One pass: composes the messages that are due, then sends the outbox
  // entries that are due. Returns when a pass is next needed (at the latest;
  // new events may come sooner).
  absl::StatusOr<absl::Time> RunOnce();
  // Outbox entries waiting (for tests and the runner).
  absl::StatusOr<size_t> Pending();
  absl::StatusOr<uint64_t> Cursor();

  void Start() ABSL_LOCKS_EXCLUDED(mu_);
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // The quiet hours in force at `t`, and when they end (nullopt: not quiet).
  std::optional<absl::Time> QuietUntil(absl::Time t) const;

 private:
  // Composes at most one message; true when it moved the cursor (call
  // again), `wake` lowered to when the next is due.
  absl::StatusOr<bool> ComposeOne(absl::Time now, absl::Time* wake);
  absl::Status SendDue(absl::Time now, absl::Time* wake);
  absl::Status PruneDedup(absl::Time now);
  std::vector<std::string> Channels() const;
  absl::Status Deliver(const OutboxEntry& entry, absl::Time now) const;
  bool Urgent(const v1::Event& e) const;

  Store* store_;
  v1::Notifications config_;
  NotifierOptions options_;
  int quiet_start_min_ = -1, quiet_end_min_ = -1;  // -1: no quiet hours
  absl::TimeZone quiet_tz_;
  std::unique_ptr<SmtpClient> smtp_;
  std::map<std::string, std::unique_ptr<WebhookClient>> webhooks_;  // by channel
  absl::Time next_dedup_prune_ = absl::InfinitePast();
  std::string last_error_;  // logged once until it changes

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace preflight::collector::notify

#endif  // PREFLIGHT_COLLECTOR_NOTIFY_NOTIFIER_H_
