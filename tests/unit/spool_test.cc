// Tests for agent/spool: the durable, bounded on-disk queue of unacked reports.
#include "agent/spool/spool.h"

#include <dirent.h>
#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/support/temp_dir.h"

namespace preflight::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

v1::FactReport MakeReport(const std::string& hostname, size_t padding = 0) {
  v1::FactReport r;
  r.set_host_id("prod-01");
  r.set_hostname(hostname);
  r.set_collected_at_unix_ms(1'700'000'000'000);
  r.set_agent_version(std::string(padding, 'p'));
  r.mutable_sshd()->mutable_collection()->set_state(v1::Collection::OK);
  r.mutable_sshd()->set_main_file("/etc/ssh/sshd_config");
  return r;
}

// File names in dir/reports.
std::vector<std::string> ReportFiles(const std::string& spool_dir) {
  std::vector<std::string> names;
  DIR* d = opendir((spool_dir + "/reports").c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> WithSuffix(const std::vector<std::string>& names,
                                    absl::string_view suffix) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    if (absl::EndsWith(n, suffix)) out.push_back(n);
  }
  return out;
}

class SpoolTest : public ::testing::Test {
 protected:
  std::unique_ptr<Spool> OpenSpool(Spool::Limits limits = Spool::Limits()) {
    auto spool = Spool::Open(dir_, limits);
    EXPECT_TRUE(spool.ok()) << spool.status();
    return spool.ok() ? std::move(*spool) : nullptr;
  }

  uint64_t AppendOk(Spool& spool, v1::FactReport report = MakeReport("h")) {
    auto seq = spool.Append(report);
    EXPECT_TRUE(seq.ok()) << seq.status();
    return seq.ok() ? *seq : 0;
  }

  testing::TempDir tmp_;
  const std::string dir_ = tmp_.Join("spool");  // does not exist yet
};

TEST_F(SpoolTest, NewSpoolHasAHexInstanceAndNothingPending) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  const std::string& id = spool->instance();
  EXPECT_EQ(id.size(), 32u);
  for (char c : id) {
    EXPECT_TRUE(absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f')) << id;
  }
  EXPECT_THAT(spool->Pending(), IsEmpty());
  EXPECT_EQ(spool->last_sequence(), 0u);
  EXPECT_EQ(spool->pending_bytes(), 0u);
  EXPECT_EQ(spool->dropped(), 0u);
}

TEST_F(SpoolTest, TwoSpoolsHaveDifferentInstances) {
  auto a = OpenSpool();
  testing::TempDir other;
  auto b = Spool::Open(other.Join("spool"), Spool::Limits());
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(a->instance(), (*b)->instance());
}

TEST_F(SpoolTest, AppendAssignsIncreasingSequencesAndTheInstance) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  uint64_t prev = 0;
  for (int i = 0; i < 5; ++i) {
    v1::FactReport report = MakeReport(absl::StrCat("h", i));
    auto seq = spool->Append(report);
    ASSERT_TRUE(seq.ok()) << seq.status();
    EXPECT_GT(*seq, prev);
    EXPECT_EQ(report.sequence(), *seq);
    EXPECT_EQ(report.agent_instance(), spool->instance());
    EXPECT_EQ(spool->last_sequence(), *seq);
    prev = *seq;
  }
  // A new instance starts at 1 and counts up by one.
  EXPECT_THAT(spool->Pending(), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_GT(spool->pending_bytes(), 0u);
}

TEST_F(SpoolTest, LoadRoundTrips) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  v1::FactReport a = MakeReport("alpha");
  v1::FactReport b = MakeReport("beta");
  ASSERT_TRUE(spool->Append(a).ok());
  ASSERT_TRUE(spool->Append(b).ok());
  auto got_a = spool->Load(a.sequence());
  auto got_b = spool->Load(b.sequence());
  ASSERT_TRUE(got_a.ok()) << got_a.status();
  ASSERT_TRUE(got_b.ok()) << got_b.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*got_a, a))
      << got_a->DebugString();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*got_b, b))
      << got_b->DebugString();
}

TEST_F(SpoolTest, AckRemoves) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  uint64_t s1 = AppendOk(*spool);
  uint64_t s2 = AppendOk(*spool);
  uint64_t s3 = AppendOk(*spool);
  uint64_t bytes_before = spool->pending_bytes();
  ASSERT_TRUE(spool->Ack(s2).ok());
  EXPECT_THAT(spool->Pending(), ElementsAre(s1, s3));
  EXPECT_LT(spool->pending_bytes(), bytes_before);
  auto gone = spool->Load(s2);
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  // Acking again, or something never appended, is a no-op.
  EXPECT_TRUE(spool->Ack(s2).ok());
  EXPECT_TRUE(spool->Ack(12345).ok());
  ASSERT_TRUE(spool->Ack(s1).ok());
  ASSERT_TRUE(spool->Ack(s3).ok());
  EXPECT_THAT(spool->Pending(), IsEmpty());
  EXPECT_EQ(spool->pending_bytes(), 0u);
  EXPECT_THAT(WithSuffix(ReportFiles(dir_), ".pb"), IsEmpty());
}

TEST_F(SpoolTest, ReopenKeepsInstanceSequenceAndPending) {
  std::string instance;
  std::vector<uint64_t> pending;
  uint64_t bytes = 0;
  {
    auto spool = OpenSpool();
    ASSERT_NE(spool, nullptr);
    instance = spool->instance();
    for (int i = 0; i < 4; ++i) AppendOk(*spool, MakeReport(absl::StrCat("r", i)));
    ASSERT_TRUE(spool->Ack(1).ok());
    pending = spool->Pending();
    bytes = spool->pending_bytes();
  }  // the agent "restarts"
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->instance(), instance);
  EXPECT_EQ(spool->Pending(), pending);
  EXPECT_EQ(spool->pending_bytes(), bytes);
  EXPECT_EQ(spool->last_sequence(), 4u);
  auto r3 = spool->Load(3);
  ASSERT_TRUE(r3.ok()) << r3.status();
  EXPECT_EQ(r3->hostname(), "r2");
  EXPECT_EQ(r3->agent_instance(), instance);
  EXPECT_EQ(AppendOk(*spool), 5u);
}

TEST_F(SpoolTest, ReopenAfterEverythingAckedContinuesTheSequence) {
  {
    auto spool = OpenSpool();
    ASSERT_NE(spool, nullptr);
    AppendOk(*spool);
    AppendOk(*spool);
    ASSERT_TRUE(spool->Ack(1).ok());
    ASSERT_TRUE(spool->Ack(2).ok());
  }
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Pending(), IsEmpty());
  EXPECT_EQ(AppendOk(*spool), 3u);
}

TEST_F(SpoolTest, LostSequenceFileNeverReusesASequence) {
  std::vector<uint64_t> pending;
  {
    auto spool = OpenSpool();
    ASSERT_NE(spool, nullptr);
    for (int i = 0; i < 3; ++i) AppendOk(*spool);
    ASSERT_TRUE(spool->Ack(1).ok());
    pending = spool->Pending();
  }
  ASSERT_EQ(unlink((dir_ + "/sequence").c_str()), 0);
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->Pending(), pending);
  uint64_t next = AppendOk(*spool);
  for (uint64_t s : pending) EXPECT_GT(next, s);
  // And the old reports are intact, not overwritten.
  for (uint64_t s : pending) {
    auto r = spool->Load(s);
    EXPECT_TRUE(r.ok()) << r.status();
  }
}

// The collector stores (host, instance, sequence) once: a reused number
// would make it drop a new report as a duplicate.
TEST_F(SpoolTest, LostSequenceFileWithNothingPendingNeverReusesASequence) {
  std::string instance;
  uint64_t last = 0;
  {
    auto spool = OpenSpool();
    ASSERT_NE(spool, nullptr);
    instance = spool->instance();
    AppendOk(*spool);
    last = AppendOk(*spool);
    ASSERT_TRUE(spool->Ack(1).ok());
    ASSERT_TRUE(spool->Ack(last).ok());
  }
  ASSERT_EQ(unlink((dir_ + "/sequence").c_str()), 0);
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  v1::FactReport report = MakeReport("h");
  uint64_t next = AppendOk(*spool, report);
  // Either the numbering continues, or a new instance starts afresh.
  EXPECT_TRUE(next > last || spool->instance() != instance)
      << "sequence " << next << " of instance " << instance << " handed out twice";
}

TEST_F(SpoolTest, MaxReportsDropsTheOldest) {
  Spool::Limits limits;
  limits.max_reports = 3;
  auto spool = OpenSpool(limits);
  ASSERT_NE(spool, nullptr);
  for (int i = 0; i < 5; ++i) AppendOk(*spool, MakeReport(absl::StrCat("r", i)));
  EXPECT_THAT(spool->Pending(), ElementsAre(3, 4, 5));
  EXPECT_EQ(spool->dropped(), 2u);
  EXPECT_EQ(WithSuffix(ReportFiles(dir_), ".pb").size(), 3u);
  EXPECT_EQ(spool->Load(1).status().code(), absl::StatusCode::kNotFound);
  auto newest = spool->Load(5);
  ASSERT_TRUE(newest.ok()) << newest.status();
  EXPECT_EQ(newest->hostname(), "r4");
}

TEST_F(SpoolTest, MaxBytesDropsTheOldest) {
  // Measure one report's size in a scratch spool.
  uint64_t one = 0;
  {
    testing::TempDir scratch;
    auto s = Spool::Open(scratch.Join("spool"), Spool::Limits());
    ASSERT_TRUE(s.ok()) << s.status();
    v1::FactReport r = MakeReport("h", 1000);
    ASSERT_TRUE((*s)->Append(r).ok());
    one = (*s)->pending_bytes();
  }
  ASSERT_GT(one, 1000u);
  Spool::Limits limits;
  limits.max_bytes = 2 * one + one / 2;  // room for two
  auto spool = OpenSpool(limits);
  ASSERT_NE(spool, nullptr);
  for (int i = 0; i < 5; ++i) AppendOk(*spool, MakeReport("h", 1000));
  EXPECT_THAT(spool->Pending(), ElementsAre(4, 5));
  EXPECT_EQ(spool->dropped(), 3u);
  EXPECT_LE(spool->pending_bytes(), limits.max_bytes);
  EXPECT_EQ(WithSuffix(ReportFiles(dir_), ".pb").size(), 2u);
}

TEST_F(SpoolTest, NewestReportIsKeptEvenIfAloneOverTheByteLimit) {
  Spool::Limits limits;
  limits.max_bytes = 1;
  auto spool = OpenSpool(limits);
  ASSERT_NE(spool, nullptr);
  for (int i = 0; i < 3; ++i) AppendOk(*spool);
  EXPECT_THAT(spool->Pending(), ElementsAre(3));
  EXPECT_EQ(spool->dropped(), 2u);
}

TEST_F(SpoolTest, LimitsAlsoApplyToReportsFoundAtOpen) {
  {
    auto spool = OpenSpool();
    ASSERT_NE(spool, nullptr);
    for (int i = 0; i < 4; ++i) AppendOk(*spool);
  }
  Spool::Limits limits;
  limits.max_reports = 2;
  auto spool = OpenSpool(limits);
  ASSERT_NE(spool, nullptr);
  AppendOk(*spool);
  EXPECT_THAT(spool->Pending(), ElementsAre(4, 5));
  EXPECT_EQ(spool->dropped(), 3u);
}

TEST_F(SpoolTest, CorruptReportIsDataLossAndSetAside) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  uint64_t s1 = AppendOk(*spool);
  uint64_t s2 = AppendOk(*spool);
  std::vector<std::string> files = WithSuffix(ReportFiles(dir_), ".pb");
  ASSERT_EQ(files.size(), 2u);
  // Files sort by sequence (zero-padded): the first is s1's.
  std::string path = dir_ + "/reports/" + files[0];
  testing::WriteFile(path, std::string("\xff\xff\xff\xff garbage", 12), 0600);

  auto loaded = spool->Load(s1);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss) << loaded.status();
  EXPECT_THAT(spool->Pending(), ElementsAre(s2));
  std::vector<std::string> now = ReportFiles(dir_);
  EXPECT_THAT(WithSuffix(now, ".pb"), ElementsAre(files[1]));
  EXPECT_THAT(WithSuffix(now, ".bad"), ElementsAre(files[0] + ".bad"));
  EXPECT_EQ(spool->Load(s1).status().code(), absl::StatusCode::kNotFound);
  // The healthy report is untouched.
  EXPECT_TRUE(spool->Load(s2).ok());

  // And it stays set aside after a restart.
  spool.reset();
  spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Pending(), ElementsAre(s2));
}

TEST_F(SpoolTest, ReportOfAnotherSequenceIsDataLoss) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  uint64_t s1 = AppendOk(*spool);
  AppendOk(*spool);
  std::vector<std::string> files = WithSuffix(ReportFiles(dir_), ".pb");
  ASSERT_EQ(files.size(), 2u);
  // Copy report 2 over report 1: valid protobuf, wrong sequence.
  testing::WriteFile(dir_ + "/reports/" + files[0],
                     testing::ReadFile(dir_ + "/reports/" + files[1]), 0600);
  EXPECT_EQ(spool->Load(s1).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(SpoolTest, CorruptInstanceFileFailsOpenNamingTheFile) {
  { ASSERT_NE(OpenSpool(), nullptr); }
  const std::string instance_path = dir_ + "/instance";
  for (const char* bad : {"not-hex-at-all\n", "ABCDEF0123456789ABCDEF0123456789\n", "abc\n", ""}) {
    testing::WriteFile(instance_path, bad, 0600);
    auto spool = Spool::Open(dir_, Spool::Limits());
    ASSERT_FALSE(spool.ok()) << "instance: " << bad;
    EXPECT_THAT(spool.status().message(), HasSubstr(instance_path));
  }
}

TEST_F(SpoolTest, CorruptSequenceFileFailsOpenNamingTheFile) {
  {
    auto spool = OpenSpool();
    ASSERT_NE(spool, nullptr);
    AppendOk(*spool);
  }
  testing::WriteFile(dir_ + "/sequence", "twelve\n", 0600);
  auto spool = Spool::Open(dir_, Spool::Limits());
  ASSERT_FALSE(spool.ok());
  EXPECT_THAT(spool.status().message(), HasSubstr(dir_ + "/sequence"));
}

TEST_F(SpoolTest, EmptyDirectoryNameIsRefused) {
  EXPECT_FALSE(Spool::Open("", Spool::Limits()).ok());
}

TEST_F(SpoolTest, ConcurrentAppendsGetDistinctSequences) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  constexpr int kThreads = 4;
  constexpr int kEach = 10;
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        v1::FactReport r = MakeReport("h");
        auto s = spool->Append(r);
        if (s.ok()) got[t].push_back(*s);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<uint64_t> all;
  for (const auto& v : got) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(spool->Pending().size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(spool->last_sequence(), static_cast<uint64_t>(kThreads * kEach));
}

// --- Reports over max_report_bytes -------------------------------------------

// A report whose backups fact is large (`entries` entries of ~100 bytes) and
// whose authorized_keys fact is smaller (`keys` keys of ~100 bytes).
v1::FactReport BigReport(int entries, int keys) {
  v1::FactReport r = MakeReport("big");
  r.mutable_backups()->mutable_collection()->set_state(v1::Collection::OK);
  r.mutable_backups()->mutable_collection()->set_duration_us(1234);
  for (int i = 0; i < entries; ++i) {
    r.mutable_backups()->add_entries()->set_name(absl::StrCat("backup-", i, std::string(90, 'b')));
  }
  r.mutable_authorized_keys()->mutable_collection()->set_state(v1::Collection::OK);
  for (int i = 0; i < keys; ++i) {
    r.mutable_authorized_keys()->add_files()->set_path(
        absl::StrCat("/home/u", i, "/.ssh/authorized_keys", std::string(80, 'k')));
  }
  return r;
}

bool Fits(const v1::FactReport& r, uint64_t max) { return r.ByteSizeLong() <= max; }

TEST_F(SpoolTest, OversizeReportIsKeptAsideAndSpooledWithoutItsLargestKind) {
  Spool::Limits limits;
  limits.max_report_bytes = 8192;
  auto spool = OpenSpool(limits);
  ASSERT_NE(spool, nullptr);
  v1::FactReport original = BigReport(200, 20);
  ASSERT_FALSE(Fits(original, limits.max_report_bytes));
  // Without backups it fits.
  v1::FactReport without_backups = original;
  without_backups.clear_backups();
  ASSERT_TRUE(Fits(without_backups, limits.max_report_bytes));

  uint64_t s1 = AppendOk(*spool, original);
  EXPECT_EQ(spool->oversize(), 1u);
  const std::string name = ReportFiles(dir_)[0];
  EXPECT_THAT(ReportFiles(dir_), ElementsAre(name, name + ".oversize"));

  // The one set aside is the report as collected.
  v1::FactReport aside;
  const std::string aside_data = testing::ReadFile(dir_ + "/reports/" + name + ".oversize");
  ASSERT_TRUE(aside.ParseFromString(aside_data));
  EXPECT_EQ(aside.sequence(), s1);
  EXPECT_EQ(aside.backups().entries_size(), 200);

  auto loaded = spool->Load(s1);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(Fits(*loaded, limits.max_report_bytes)) << loaded->ByteSizeLong();
  EXPECT_EQ(loaded->sequence(), s1);
  EXPECT_EQ(loaded->hostname(), "big");
  const v1::Collection& c = loaded->backups().collection();
  EXPECT_EQ(loaded->backups().entries_size(), 0);
  EXPECT_EQ(c.state(), v1::Collection::ERROR);
  const std::string over = absl::StrCat(aside_data.size() - limits.max_report_bytes);
  EXPECT_THAT(c.error(), HasSubstr(absl::StrCat("dropped for size: ", over,
                                                " bytes over the agent's max_report_bytes")));
  EXPECT_EQ(c.duration_us(), 1234);
  ASSERT_EQ(c.unreadable_size(), 1);
  EXPECT_THAT(c.unreadable(0).error(), HasSubstr("dropped for size"));
  // The smaller kinds are untouched.
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(loaded->authorized_keys(),
                                                                 original.authorized_keys()));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(loaded->sshd(), original.sshd()));

  // Later reports are spooled as usual, behind it.
  uint64_t s2 = AppendOk(*spool);
  EXPECT_THAT(spool->Pending(), ElementsAre(s1, s2));
  EXPECT_EQ(spool->oversize(), 1u);
  auto small = spool->Load(s2);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->sshd().collection().state(), v1::Collection::OK);
}

TEST_F(SpoolTest, ShrinkReportClearsTheLargestKindsFirstUntilItFits) {
  v1::FactReport r = BigReport(200, 60);
  const size_t backups = r.backups().ByteSizeLong();
  const size_t keys = r.authorized_keys().ByteSizeLong();
  ASSERT_GT(backups, keys);
  // Room for neither big kind.
  const uint64_t max = r.ByteSizeLong() - backups - keys / 2;
  std::vector<std::string> cleared = ShrinkReport(r, max);
  EXPECT_THAT(cleared, ElementsAre("backups", "authorized_keys"));
  EXPECT_TRUE(Fits(r, max));
  EXPECT_EQ(r.authorized_keys().files_size(), 0);
  EXPECT_EQ(r.authorized_keys().collection().state(), v1::Collection::ERROR);
  EXPECT_EQ(r.sshd().collection().state(), v1::Collection::OK);

  // A report that fits is left alone.
  v1::FactReport fits = BigReport(3, 3);
  v1::FactReport before = fits;
  EXPECT_THAT(ShrinkReport(fits, fits.ByteSizeLong()), IsEmpty());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(fits, before));

  // One that cannot fit has every kind cleared, the header kept.
  v1::FactReport tiny = BigReport(3, 3);
  EXPECT_THAT(ShrinkReport(tiny, 1), UnorderedElementsAre("backups", "authorized_keys", "sshd"));
  EXPECT_EQ(tiny.hostname(), "big");
  EXPECT_EQ(tiny.sshd().collection().state(), v1::Collection::ERROR);
}

TEST_F(SpoolTest, OversizeCopiesAreBounded) {
  Spool::Limits limits;
  limits.max_report_bytes = 4096;
  auto spool = OpenSpool(limits);
  ASSERT_NE(spool, nullptr);
  const int n = Spool::kMaxSetAside + 3;
  uint64_t last = 0;
  for (int i = 0; i < n; ++i) last = AppendOk(*spool, BigReport(100, 0));
  EXPECT_EQ(spool->oversize(), static_cast<uint64_t>(n));
  std::vector<std::string> aside = WithSuffix(ReportFiles(dir_), ".oversize");
  EXPECT_EQ(aside.size(), static_cast<size_t>(Spool::kMaxSetAside));
  // The newest are kept.
  EXPECT_EQ(aside.back(), WithSuffix(ReportFiles(dir_), ".pb").back() + ".oversize");
  EXPECT_EQ(spool->Pending().back(), last);
  EXPECT_EQ(spool->Pending().size(), static_cast<size_t>(n));
}

TEST_F(SpoolTest, SetAsideTakesAReportOutOfTheQueueForGood) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  uint64_t s1 = AppendOk(*spool);
  uint64_t s2 = AppendOk(*spool);
  const std::string first = WithSuffix(ReportFiles(dir_), ".pb")[0];
  ASSERT_TRUE(spool->SetAside(s1, "refused").ok());
  EXPECT_THAT(spool->Pending(), ElementsAre(s2));
  EXPECT_THAT(WithSuffix(ReportFiles(dir_), ".refused"), ElementsAre(first + ".refused"));
  EXPECT_EQ(spool->SetAside(s1, "refused").code(), absl::StatusCode::kNotFound);
  spool.reset();
  spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Pending(), ElementsAre(s2));
  EXPECT_EQ(AppendOk(*spool), s2 + 1);
}

// --- Hostile spool contents ----------------------------------------------------

TEST_F(SpoolTest, HostileReportNamesAreIgnoredAndNeverReused) {
  uint64_t s1 = 0;
  {
    auto spool = OpenSpool();
    ASSERT_NE(spool, nullptr);
    s1 = AppendOk(*spool);
  }
  const std::string reports = dir_ + "/reports/";
  const std::string good = reports + WithSuffix(ReportFiles(dir_), ".pb")[0];
  for (const char* name : {"garbage", "abc.pb", "-5.pb", "5.pb", "+0000000000000000005.pb",
                           "123456789012345678901.pb",        // 21 digits
                           "000000000000000000000000007.pb",  // leading zeros beyond 20 digits
                           "99999999999999999999.pb",         // 20 digits, beyond 2^64-1
                           "00000000000000000000.pb",         // sequence 0
                           "0000000000000000000\n.pb", "00000000000000000003.pb.tmp"}) {
    testing::WriteFile(reports + name, testing::ReadFile(good), 0600);
  }
  ASSERT_EQ(mkdir((reports + "00000000000000000007.pb").c_str(), 0700), 0);
  ASSERT_EQ(symlink(good.c_str(), (reports + "00000000000000000009.pb").c_str()), 0);

  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Pending(), ElementsAre(s1));
  // Past the directory and the symlink: their names are never written.
  uint64_t next = AppendOk(*spool);
  EXPECT_EQ(next, 10u);
  EXPECT_THAT(spool->Pending(), ElementsAre(s1, next));
  EXPECT_TRUE(spool->Load(s1).ok());
  struct stat st;
  ASSERT_EQ(lstat((reports + "00000000000000000009.pb").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(lstat((reports + "00000000000000000007.pb").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(SpoolTest, SequenceFileAtTheLimitStartsANewInstanceAtOne) {
  for (const std::string& at : {absl::StrCat(UINT64_MAX), absl::StrCat(Spool::kMaxSequence),
                                absl::StrCat(Spool::kMaxSequence + 1)}) {
    SCOPED_TRACE(at);
    testing::TempDir tmp;
    const std::string dir = tmp.Join("spool");
    std::string old_instance;
    {
      auto spool = Spool::Open(dir, Spool::Limits());
      ASSERT_TRUE(spool.ok()) << spool.status();
      old_instance = (*spool)->instance();
      AppendOk(**spool);
      AppendOk(**spool);
    }
    testing::WriteFile(dir + "/sequence", at + "\n", 0600);
    auto spool = Spool::Open(dir, Spool::Limits());
    ASSERT_TRUE(spool.ok()) << spool.status();
    EXPECT_NE((*spool)->instance(), old_instance);
    // Reports of the old counter would arrive after the new instance's.
    EXPECT_THAT((*spool)->Pending(), IsEmpty());
    EXPECT_EQ(WithSuffix(ReportFiles(dir), ".stale").size(), 2u);
    v1::FactReport r = MakeReport("h");
    auto seq = (*spool)->Append(r);
    ASSERT_TRUE(seq.ok()) << seq.status();
    EXPECT_EQ(*seq, 1u);
    EXPECT_EQ(r.agent_instance(), (*spool)->instance());
    // The new instance is kept across restarts.
    const std::string instance = (*spool)->instance();
    spool->reset();
    auto again = Spool::Open(dir, Spool::Limits());
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ((*again)->instance(), instance);
    EXPECT_THAT((*again)->Pending(), ElementsAre(1));
    EXPECT_EQ(AppendOk(**again), 2u);
  }
}

TEST_F(SpoolTest, ReportNamedWithTheMaximumStartsANewInstance) {
  std::string old_instance;
  {
    auto spool = OpenSpool();
    ASSERT_NE(spool, nullptr);
    old_instance = spool->instance();
    AppendOk(*spool);
  }
  testing::WriteFile(dir_ + "/reports/" + absl::StrCat(UINT64_MAX) + ".pb", "whatever", 0600);
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  EXPECT_NE(spool->instance(), old_instance);
  EXPECT_THAT(spool->Pending(), IsEmpty());
  EXPECT_EQ(AppendOk(*spool), 1u);
  EXPECT_EQ(spool->last_sequence(), 1u);
}

TEST_F(SpoolTest, CounterReachingTheLimitRefusesToWrapAndRestartsOnReopen) {
  std::string old_instance;
  {
    auto spool = OpenSpool();
    ASSERT_NE(spool, nullptr);
    old_instance = spool->instance();
  }
  testing::WriteFile(dir_ + "/sequence", absl::StrCat(Spool::kMaxSequence - 1, "\n"), 0600);
  {
    auto spool = OpenSpool();
    ASSERT_NE(spool, nullptr);
    EXPECT_EQ(spool->instance(), old_instance);
    EXPECT_EQ(AppendOk(*spool), Spool::kMaxSequence);
    v1::FactReport r = MakeReport("h");
    auto next = spool->Append(r);
    EXPECT_EQ(next.status().code(), absl::StatusCode::kFailedPrecondition) << next.status();
    EXPECT_EQ(spool->last_sequence(), Spool::kMaxSequence);  // never wrapped to 0
  }
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  EXPECT_NE(spool->instance(), old_instance);
  EXPECT_EQ(AppendOk(*spool), 1u);
}

TEST_F(SpoolTest, SequenceFileBeyondTheRangeFailsOpenNamingTheFile) {
  { ASSERT_NE(OpenSpool(), nullptr); }
  for (const char* bad : {"18446744073709551616\n", "-1\n", "99999999999999999999999\n"}) {
    testing::WriteFile(dir_ + "/sequence", bad, 0600);
    auto spool = Spool::Open(dir_, Spool::Limits());
    ASSERT_FALSE(spool.ok()) << bad;
    EXPECT_THAT(spool.status().message(), HasSubstr(dir_ + "/sequence"));
  }
}

}  // namespace
}  // namespace preflight::agent
