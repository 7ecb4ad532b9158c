// The event file (collector/events/ecs_file.h) on a real store: every line
// parses as JSON (protobuf's JSON parser, and Python's strict one for the
// rotated files) and carries the ECS fields; events and audit entries appear
// once each, in order, across a restart; the file survives rotation by the
// real logrotate (copytruncate, then create) while it is written; a write
// that fails (ENOSPC from /dev/full) is logged once and caught up later.
#include "collector/events/ecs_file.h"

#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"
#include "tests/support/json.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight::collector {
namespace {

using ::preflight::testing::Field;
using ::preflight::testing::ParseJson;
using ::preflight::testing::ReadFile;
using ::preflight::testing::RunProcess;
using ::preflight::testing::TempDir;
using ::preflight::testing::WriteFile;

const std::string kInstance = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out = absl::StrSplit(text, '\n', absl::SkipEmpty());
  return out;
}

// A string field of a parsed line by its dotted ECS path ("event.kind").
std::string Get(const google::protobuf::Value& line, const std::string& dotted) {
  const google::protobuf::Value* v = &line;
  for (absl::string_view part : absl::StrSplit(dotted, '.')) {
    const auto& fields = v->struct_value().fields();
    auto it = fields.find(std::string(part));
    if (it == fields.end()) return "<absent>";
    v = &it->second;
  }
  if (v->has_string_value()) return v->string_value();
  if (v->has_number_value()) return absl::StrCat(static_cast<int64_t>(v->number_value()));
  if (v->has_bool_value()) return v->bool_value() ? "true" : "false";
  if (v->has_list_value() && v->list_value().values_size() > 0) {
    return v->list_value().values(0).string_value();
  }
  return "<other>";
}

class EcsFileTest : public ::testing::Test {
 protected:
  EcsFileTest() {
    RegisterBuiltinChecks(registry_);
    for (const Check& c : registry_.all()) {
      if (!c.info.manual() && checks_.size() < 3) checks_.push_back(c.info.id());
    }
    host_.set_id("prod-01");
    host_.set_environment("production");
    host_.add_roles("manager");
    Reopen();
  }

  void Reopen() {
    store_.reset();
    auto s = Store::Open(tmp_.Join("db"));
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  EcsContext Context() {
    EcsContext c;
    c.collector = "preflight.example.gov";
    c.observer = "collector-1";
    c.registry = &registry_;
    c.hosts[host_.id()] = host_;
    return c;
  }

  std::unique_ptr<EcsEventFile> Writer(const std::string& path) {
    return std::make_unique<EcsEventFile>(
        *store_, path, Context(), [] { return absl::FromUnixSeconds(1'800'000'000); },
        [this](absl::string_view line) {
          absl::MutexLock lock(&log_mu_);
          log_.emplace_back(line);
        });
  }

  // Report `seq` of prod-01: check k of checks_ is FAIL when bit k of seq is
  // set, else PASS, so consecutive reports change verdicts.
  void Ingest(uint64_t seq) {
    v1::FactReport r;
    r.set_host_id(host_.id());
    r.set_agent_instance(kInstance);
    r.set_sequence(seq);
    r.set_collected_at_unix_ms(static_cast<int64_t>(1'700'000'000'000 + seq * 1000));
    auto evaluate = [this, seq](const v1::FactReport&) {
      v1::HostVerdicts hv;
      hv.set_host_id(host_.id());
      for (size_t k = 0; k < checks_.size(); ++k) {
        v1::Verdict* v = hv.add_verdicts();
        v->set_check_id(checks_[k]);
        v->set_status((seq >> k) & 1 ? v1::FAIL : v1::PASS);
        v->add_evidence()->set_message(absl::StrCat("report ", seq, " says \"", k, "\"\n"));
      }
      return hv;
    };
    auto done =
        store_->Ingest(host_.id(), r, absl::FromUnixMillis(r.collected_at_unix_ms()), evaluate);
    ASSERT_TRUE(done.ok()) << done.status();
  }

  std::vector<std::string> LogLines() {
    absl::MutexLock lock(&log_mu_);
    return log_;
  }

  TempDir tmp_;
  CheckRegistry registry_;
  std::vector<std::string> checks_;
  v1::InventoryHost host_;
  std::unique_ptr<Store> store_;
  absl::Mutex log_mu_;
  std::vector<std::string> log_ ABSL_GUARDED_BY(log_mu_);
};

// Every line of `text` parses; returns the event and audit sequence numbers
// in file order, checking the ECS fields of each line.
void CheckLines(const std::string& text, std::vector<uint64_t>* events,
                std::vector<uint64_t>* audit) {
  for (const std::string& l : Lines(text)) {
    google::protobuf::Value v = ParseJson(l);
    ASSERT_EQ(v.kind_case(), google::protobuf::Value::kStructValue) << l;
    for (const char* field :
         {"@timestamp", "event.kind", "event.category", "event.type", "event.action",
          "event.outcome", "event.dataset", "event.id", "message", "ecs.version",
          "preflight.collector", "preflight.seq", "labels.collector"}) {
      EXPECT_NE(Get(v, field), "<absent>") << field << " in " << l;
    }
    EXPECT_EQ(Get(v, "event.dataset"), "preflight.events");
    EXPECT_EQ(Get(v, "ecs.version"), std::string(kEcsVersion));
    // RFC 3339, milliseconds, UTC.
    EXPECT_TRUE(absl::EndsWith(Get(v, "@timestamp"), "Z")) << l;
    EXPECT_EQ(Get(v, "@timestamp").size(), std::string("2023-11-14T22:13:21.000Z").size()) << l;
    const uint64_t seq = static_cast<uint64_t>(std::stoull(Get(v, "preflight.seq")));
    if (Get(v, "preflight.kind") == "AUDIT") {
      EXPECT_EQ(Get(v, "preflight.audit.seq"), absl::StrCat(seq));
      EXPECT_NE(Get(v, "user.name"), "<absent>");
      audit->push_back(seq);
    } else {
      EXPECT_EQ(Get(v, "event.id"), absl::StrCat("preflight.example.gov/event/", seq));
      events->push_back(seq);
    }
  }
}

TEST_F(EcsFileTest, EveryEventAndAuditEntryOnceInOrderAcrossARestart) {
  const std::string path = tmp_.Join("events.ndjson");
  for (uint64_t seq = 1; seq <= 8; ++seq) Ingest(seq);
  // Bytes that need escaping in the detail (the store keeps UTF-8 only).
  ASSERT_TRUE(store_
                  ->Audit({"spiffe://preflight.example.gov/operator/ana", "attest", "tls.https",
                           "note \"quoted\"\t\x01 byte \xc2\x9b csi \xe2\x9c\x93"},
                          absl::FromUnixSeconds(1'700'000'100))
                  .ok());
  {
    auto writer = Writer(path);
    ASSERT_TRUE(writer->WriteNew().ok());
  }
  const uint64_t events_first = store_->LastEventSeq();
  const uint64_t audit_first = store_->AuditHead().first;
  ASSERT_GT(events_first, 8u);  // 3 first verdicts, then changes
  ASSERT_GT(audit_first, 1u);

  // The file the restarted writer continues, after more of both.
  Reopen();
  for (uint64_t seq = 9; seq <= 12; ++seq) Ingest(seq);
  ASSERT_TRUE(store_
                  ->Audit({"collector", "reload", "/etc/preflight/collector.textproto", ""},
                          absl::FromUnixSeconds(1'700'000'200))
                  .ok());
  auto writer = Writer(path);
  ASSERT_TRUE(writer->WriteNew().ok());
  ASSERT_TRUE(writer->WriteNew().ok());  // nothing new: nothing written

  std::vector<uint64_t> events, audit;
  const std::string text = ReadFile(path);
  CheckLines(text, &events, &audit);
  std::vector<uint64_t> want_events, want_audit;
  for (uint64_t s = 1; s <= store_->LastEventSeq(); ++s) want_events.push_back(s);
  auto entries = store_->AuditEntries();
  ASSERT_TRUE(entries.ok());
  for (const StoredAuditEntry& e : *entries) want_audit.push_back(e.key_seq);
  EXPECT_EQ(events, want_events);
  EXPECT_EQ(audit, want_audit);

  // The transitions carry the catalogue's title, the host's environment and
  // the regression flag the store set.
  auto stored = store_->EventsAfter(0, 1000);
  ASSERT_TRUE(stored.ok());
  int regressions = 0;
  for (const std::string& l : Lines(text)) {
    google::protobuf::Value v = ParseJson(l);
    if (Get(v, "event.action") != "verdict-transition") continue;
    const uint64_t seq = std::stoull(Get(v, "preflight.seq"));
    const v1::Event& e = (*stored)[seq - 1];
    ASSERT_EQ(e.seq(), seq);
    EXPECT_EQ(Get(v, "host.name"), "prod-01");
    EXPECT_EQ(Get(v, "rule.id"), e.check_id());
    EXPECT_EQ(Get(v, "rule.name"), registry_.Find(e.check_id())->info.title());
    EXPECT_EQ(Get(v, "labels.environment"), "production");
    EXPECT_EQ(Get(v, "preflight.from"), StatusName(e.from()));
    EXPECT_EQ(Get(v, "preflight.to"), StatusName(e.to()));
    EXPECT_EQ(Get(v, "preflight.regression"), e.regression() ? "true" : "false");
    EXPECT_EQ(Get(v, "event.kind"), e.regression() ? "alert" : "event");
    EXPECT_EQ(Get(v, "event.outcome"), e.to() == v1::FAIL ? "failure" : "success");
    EXPECT_EQ(Get(v, "message"), e.summary());
    regressions += e.regression();
  }
  EXPECT_GT(regressions, 0);
  // The escaped detail reads back as it was written.
  bool found = false;
  for (const std::string& l : Lines(text)) {
    google::protobuf::Value v = ParseJson(l);
    if (Get(v, "event.action") != "attest") continue;
    found = true;
    EXPECT_EQ(Get(v, "preflight.audit.detail"),
              "note \"quoted\"\t\x01 byte \xc2\x9b csi \xe2\x9c\x93");
    EXPECT_EQ(Get(v, "user.name"), "spiffe://preflight.example.gov/operator/ana");
  }
  EXPECT_TRUE(found);
}

TEST(EcsLineTest, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  v1::Event e;
  e.set_seq(7);
  e.set_kind(v1::Event::HOST_STALE);
  e.set_host_id("prod-01");
  e.set_at_unix_ms(1'700'000'000'123);
  // A lone continuation byte, a truncated sequence, an overlong '/', a
  // surrogate: each becomes U+FFFD; valid characters stay.
  e.set_summary(
      std::string("a\x80"
                  "b\xe2\x9c c\xc0\xaf d\xed\xa0\x80 \xe2\x9c\x93 \x7f \xc2\x9b"));
  EcsContext context;
  context.collector = "c";
  const std::string line = EcsLineOfEvent(e, context, absl::FromUnixSeconds(1'700'000'001));
  google::protobuf::Value v = ParseJson(line);
  EXPECT_EQ(Get(v, "message"),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\xEF\xBF\xBD c\xEF\xBF\xBD\xEF\xBF\xBD "
            "d\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xe2\x9c\x93 \x7f \xc2\x9b");
  // DEL and the C1 controls (CSI here) are escaped in the line itself, so
  // that `tail -f` of the file cannot drive the terminal.
  EXPECT_THAT(line, ::testing::HasSubstr("\\u007f \\u009b"));
  EXPECT_THAT(line, ::testing::Not(::testing::HasSubstr("\xc2\x9b")));
  EXPECT_EQ(Get(v, "@timestamp"), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(Get(v, "event.created"), "2023-11-14T22:13:21.000Z");
  EXPECT_EQ(Get(v, "event.kind"), "event");
  EXPECT_EQ(Get(v, "event.action"), "host-stale");
  EXPECT_EQ(Get(v, "event.outcome"), "failure");
}

// Python's json module, reading the file as strict UTF-8: the count of lines
// that parse as objects with @timestamp and event.kind, or an error.
std::string PythonCount(const std::vector<std::string>& files) {
  std::vector<std::string> argv = {
      "/usr/bin/python3", "-c",
      "import json,sys\n"
      "n=0\n"
      "for f in sys.argv[1:]:\n"
      "  for line in open(f, encoding='utf-8', errors='strict').read().split('\\n'):\n"
      "    if not line: continue\n"
      "    d=json.loads(line)\n"
      "    assert isinstance(d, dict) and d['@timestamp'] and d['event']['kind'], line\n"
      "    n+=1\n"
      "print(n)\n"};
  argv.insert(argv.end(), files.begin(), files.end());
  auto r = RunProcess(argv, absl::Seconds(60));
  if (r.exit_code != 0) return absl::StrCat("python3 failed: ", r.err);
  return std::string(absl::StripAsciiWhitespace(r.out));
}

// The files of `dir` named `base` or base.N.
std::vector<std::string> Rotated(const std::string& dir, const std::string& base) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == base || absl::StartsWith(name, base + ".")) out.push_back(dir + "/" + name);
  }
  closedir(d);
  return out;
}

TEST_F(EcsFileTest, SurvivesLogrotateCopytruncateAndCreateWhileWriting) {
  const std::string dir = tmp_.Join("log");
  ::preflight::testing::MakeDirs(dir);
  const std::string path = dir + "/preflight-events.ndjson";
  auto writer = Writer(path);
  writer->Start(absl::Milliseconds(5));

  // A producer appending events all along (as the watcher does).
  constexpr int kEvents = 1500;
  std::atomic<bool> produced{false};
  std::thread producer([&] {
    for (int i = 1; i <= kEvents; ++i) {
      v1::Event e;
      e.set_kind(v1::Event::HOST_STALE);
      e.set_host_id("prod-01");
      e.set_regression(true);
      e.set_summary(absl::StrCat("prod-01 has not reported for ", i, " s"));
      e.set_dedup_key(absl::StrCat("stale/prod-01/", i));
      Store::StateWrite w;
      w.events.push_back(e);
      ASSERT_TRUE(store_->WriteState(std::move(w), absl::FromUnixSeconds(1'700'000'000 + i)).ok());
      if (i % 10 == 0) absl::SleepFor(absl::Milliseconds(2));
    }
    produced = true;
  });

  auto rotate = [&](absl::string_view mode) {
    const std::string conf = tmp_.Join(absl::StrCat("logrotate-", mode, ".conf"));
    WriteFile(conf, absl::StrCat(path, " {\n  ", mode, "\n  rotate 100\n  missingok\n}\n"));
    auto r = RunProcess({"/usr/sbin/logrotate", "-f", "-s", tmp_.Join("logrotate.state"), conf},
                        absl::Seconds(30));
    EXPECT_EQ(r.exit_code, 0) << r.err;
  };
  int rotations = 0;
  while (!produced) {
    rotate(rotations % 2 == 0 ? "copytruncate" : "create 0640");
    ++rotations;
    absl::SleepFor(absl::Milliseconds(30));
  }
  producer.join();
  ASSERT_TRUE(::preflight::testing::WaitFor(
      [&] {
        auto cursor = store_->GetState(EcsEventFile::kEventCursor);
        return cursor.ok() && cursor->has_value() &&
               **cursor == absl::StrCat(store_->LastEventSeq());
      },
      absl::Seconds(60)));
  writer->Stop();
  ASSERT_GE(rotations, 4) << "the producer ended before logrotate ran often enough";

  const std::vector<std::string> files = Rotated(dir, "preflight-events.ndjson");
  ASSERT_GE(files.size(), 3u);
  std::multiset<uint64_t> seen;
  size_t lines = 0;
  for (const std::string& f : files) {
    std::vector<uint64_t> events, audit;
    const std::string text = ReadFile(f);
    // Whole lines only: a file ends with a newline or is empty.
    EXPECT_TRUE(text.empty() || text.back() == '\n') << f;
    CheckLines(text, &events, &audit);
    seen.insert(events.begin(), events.end());
    lines += Lines(text).size();
  }
  for (uint64_t s = 1; s <= static_cast<uint64_t>(kEvents); ++s) {
    EXPECT_TRUE(seen.count(s) > 0) << "event " << s << " lost in rotation";
  }
  // Lines written again after a copytruncate are duplicates of lines the
  // copy kept, same event.id (one document in Elasticsearch).
  EXPECT_EQ(PythonCount(files), absl::StrCat(lines));
  std::cerr << rotations << " rotations, " << files.size() << " files, " << lines << " lines for "
            << kEvents << " events\n";
}

TEST_F(EcsFileTest, AFullDiskIsLoggedOnceAndCaughtUpLater) {
  const std::string path = tmp_.Join("events.ndjson");
  ASSERT_EQ(symlink("/dev/full", path.c_str()), 0);
  for (uint64_t seq = 1; seq <= 4; ++seq) Ingest(seq);
  auto writer = Writer(path);
  absl::Status first = writer->WriteNew();
  EXPECT_EQ(first.code(), absl::StatusCode::kUnavailable) << first;
  EXPECT_THAT(std::string(first.message()), ::testing::HasSubstr(path));
  EXPECT_THAT(std::string(first.message()), ::testing::HasSubstr("No space left on device"));
  EXPECT_EQ(writer->WriteNew().code(), absl::StatusCode::kUnavailable);
  ASSERT_EQ(LogLines().size(), 1u);  // one episode, one line
  EXPECT_THAT(LogLines()[0], ::testing::HasSubstr("UNAVAILABLE"));
  // The cursor did not move.
  auto cursor = store_->GetState(EcsEventFile::kEventCursor);
  ASSERT_TRUE(cursor.ok());
  EXPECT_FALSE(cursor->has_value());

  // Space again: the path is a file again, everything is written once.
  ASSERT_EQ(unlink(path.c_str()), 0);
  Ingest(5);
  ASSERT_TRUE(writer->WriteNew().ok());
  std::vector<uint64_t> events, audit;
  CheckLines(ReadFile(path), &events, &audit);
  std::vector<uint64_t> want;
  for (uint64_t s = 1; s <= store_->LastEventSeq(); ++s) want.push_back(s);
  EXPECT_EQ(events, want);
  ASSERT_EQ(LogLines().size(), 2u);
  EXPECT_THAT(LogLines()[1], ::testing::HasSubstr("writing again"));
}

}  // namespace
}  // namespace preflight::collector
