// A notifier over a real store, as its own process, for the SIGKILL test
// (tests/e2e/notify_test.cc): the collector runs the same Notifier on a
// thread; a process of its own can be killed at a chosen point.
//   preflight_notify_runner STORE_DIR NOTIFICATIONS_TEXTPROTO [--hold-after-send N] [--until-idle]
// --hold-after-send N: after the peer accepted the Nth message, print
//   "HOLD <id>" on stderr and sleep (the window between send and mark-sent).
// --until-idle: exit 0 once every event is notified and the outbox is empty.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "collector/notify/notifier.h"
#include "proto/wire/textproto.h"

int main(int argc, char** argv) {
  using namespace preflight;
  using namespace preflight::collector;
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s STORE_DIR CONFIG [--hold-after-send N] [--until-idle]\n",
                 argv[0]);
    return 2;
  }
  int hold_after = 0;
  bool until_idle = false;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--hold-after-send" && i + 1 < argc) {
      if (!absl::SimpleAtoi(argv[++i], &hold_after)) return 2;
    } else if (a == "--until-idle") {
      until_idle = true;
    } else {
      return 2;
    }
  }
  v1::Notifications config;
  if (absl::Status s = LoadTextProtoFile(argv[2], &config); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 2;
  }
  auto store = Store::Open(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  int sent = 0;
  notify::NotifierOptions options;
  options.log = [](absl::string_view line) {
    std::fprintf(stderr, "%s\n", std::string(line).c_str());
  };
  options.io_timeout = absl::Seconds(10);
  options.after_send = [&](const notify::OutboxEntry& entry) {
    if (++sent == hold_after) {
      std::fprintf(stderr, "HOLD %s\n", entry.id.c_str());
      for (;;) pause();
    }
  };
  notify::Notifier notifier(store->get(), config, options);
  for (;;) {
    auto next = notifier.RunOnce();
    if (!next.ok()) {
      std::fprintf(stderr, "%s\n", std::string(next.status().message()).c_str());
      return 1;
    }
    if (until_idle) {
      auto pending = notifier.Pending();
      auto cursor = notifier.Cursor();
      if (pending.ok() && cursor.ok() && *pending == 0 && *cursor == (*store)->LastEventSeq()) {
        return 0;
      }
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}
