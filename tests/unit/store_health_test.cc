// Store::Health and Store::TryRecover on a real RocksDB in a small tmpfs
// filled to the last byte. Needs root (mount); skipped otherwise.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "collector/audit/audit_chain.h"
#include "collector/store/store.h"
#include "tests/support/temp_dir.h"

namespace preflight::collector {
namespace {

v1::FactReport Report(uint64_t seq) {
  v1::FactReport r;
  r.set_host_id("prod-01");
  r.set_agent_instance("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  r.set_sequence(seq);
  r.set_collected_at_unix_ms(1'800'000'000'000 + static_cast<int64_t>(seq));
  r.set_hostname(std::string(2000, 'h'));  // a few KiB per write
  return r;
}

v1::HostVerdicts NoVerdicts(const v1::FactReport& r) {
  v1::HostVerdicts v;
  v.set_host_id(r.host_id());
  v.set_agent_instance(r.agent_instance());
  v.set_sequence(r.sequence());
  return v;
}

class StoreHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
    dir_ = tmp_.Join("db");
    ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0) << std::strerror(errno);
    if (mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=16m,mode=0700") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs: " << std::strerror(errno);
    }
    mounted_ = true;
  }
  void TearDown() override {
    store_.reset();
    if (mounted_ && umount2(dir_.c_str(), 0) != 0) umount2(dir_.c_str(), MNT_DETACH);
  }

  void Open() {
    store_.reset();
    auto s = Store::Open(dir_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  absl::Status Ingest(uint64_t seq) {
    return store_->Ingest("prod-01", Report(seq), absl::Now(), NoVerdicts).status();
  }

  // Writes a filler file until the file system is full.
  void Fill() {
    int fd = open((dir_ + "/filler").c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    std::string chunk(1 << 16, 'f');
    for (size_t step : {chunk.size(), size_t{512}}) {
      while (write(fd, chunk.data(), step) > 0) {
      }
    }
    close(fd);
  }

  testing::TempDir tmp_;
  std::string dir_;
  bool mounted_ = false;
  std::unique_ptr<Store> store_;
};

// Reopened just before the disk fills, every memtable is empty: the case in
// which RocksDB 7.8's DB::Resume keeps the failed write-ahead log and aborts
// on the next write. TryRecover reopens instead.
TEST_F(StoreHealthTest, FullDiskRefusesWritesKeepsReadsAndRecoversByReopening) {
  Open();
  ASSERT_TRUE(Ingest(1).ok());
  Open();
  EXPECT_TRUE(store_->Health().ok());

  Fill();
  absl::Status failed = Ingest(2);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(failed)) << failed;
  absl::Status health = store_->Health();
  ASSERT_FALSE(health.ok());
  EXPECT_TRUE(absl::StrContains(health.message(), "storage error since")) << health;
  EXPECT_TRUE(absl::StrContains(health.message(), "No space left")) << health;
  // Refused before it reaches RocksDB, and counted.
  EXPECT_FALSE(Ingest(3).ok());
  EXPECT_TRUE(absl::StrContains(store_->Health().message(), "(2 report deliveries refused)"))
      << store_->Health();
  // Reads work.
  auto latest = store_->LatestFacts("prod-01");
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->sequence(), 1u);
  // Still full: recovery waits, and says for what.
  EXPECT_TRUE(store_->TryRecover().ok());
  EXPECT_FALSE(store_->Health().ok());

  ASSERT_EQ(unlink((dir_ + "/filler").c_str()), 0);
  // Space alone does not let writes through: only a recovery does.
  EXPECT_FALSE(Ingest(3).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!store_->Health().ok() && absl::Now() < deadline) {
    ASSERT_TRUE(store_->TryRecover().ok());
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(store_->Health().ok()) << store_->Health();
  for (uint64_t seq : {2, 3, 4}) EXPECT_TRUE(Ingest(seq).ok()) << seq;

  auto entries = store_->AuditEntries();
  ASSERT_TRUE(entries.ok()) << entries.status();
  bool recovered = false;
  for (const StoredAuditEntry& e : *entries) {
    if (e.entry.action() != "storage-recovered") continue;
    recovered = true;
    EXPECT_TRUE(absl::StrContains(e.entry.detail(), "3 report deliveries refused"))
        << e.entry.detail();
  }
  EXPECT_TRUE(recovered);
  auto [seq, hash] = store_->AuditHead();
  EXPECT_TRUE(VerifyAuditChain(*entries, seq, hash).ok);

  Open();  // everything stored is there after a restart
  auto keys = store_->ReportKeys("prod-01");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 4u);
}

}  // namespace
}  // namespace preflight::collector
