// A full disk under the collector's store: the collector never dies, never
// acks a report it did not store, says so in `preflightctl status`, and
// stores reports again on its own (the same process) once space returns.
// The data directory is a real small file system (tmpfs, and an ext4 image
// on a loop device) filled by a filler file to many levels of free space.
// Needs root (mount); skipped otherwise.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/cluster.h"

namespace preflight::testing {
namespace {

uint64_t FreeBytes(const std::string& dir) {
  struct statvfs st;
  if (statvfs(dir.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

// Fills the file system of `dir` with `path` until a write fails for lack of
// space, then gives `leave` bytes back. Returns the filler's size.
off_t Fill(const std::string& path, off_t leave) {
  int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  if (fd < 0) return -1;
  std::string chunk(1 << 20, 'f');
  off_t size = 0;
  for (size_t step : {size_t{1} << 20, size_t{4096}, size_t{512}}) {
    while (true) {
      ssize_t n = write(fd, chunk.data(), step);
      if (n <= 0) break;
      size += n;
    }
  }
  fsync(fd);
  if (ftruncate(fd, size > leave ? size - leave : 0) != 0) size = -1;
  fsync(fd);
  close(fd);
  return size;
}

enum class Fs { kTmpfs, kExt4 };

class StorageFullTest : public ::testing::TestWithParam<Fs> {
 protected:
  StorageFullTest() : cluster_(OneManager()) {}

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a small file system";
    data_ = cluster_.data_dir();
    ASSERT_EQ(mkdir(data_.c_str(), 0700), 0) << std::strerror(errno);
    if (GetParam() == Fs::kTmpfs) {
      if (mount("tmpfs", data_.c_str(), "tmpfs", 0, "size=48m,mode=0700") != 0) {
        GTEST_SKIP() << "cannot mount a tmpfs: " << std::strerror(errno);
      }
    } else {
      const std::string image = cluster_.dir().Join("data.ext4");
      RunResult made = RunProcess({"sh", "-c",
                                   "truncate -s 64M " + image + " && mkfs.ext4 -q -m 0 " + image +
                                       " && mount -o loop " + image + " " + data_},
                                  absl::Seconds(60));
      if (made.exit_code != 0) GTEST_SKIP() << "cannot mount an ext4 image: " << made.err;
    }
    mounted_ = true;
    filler_ = data_ + "/filler";
  }

  void TearDown() override {
    if (!mounted_) return;
    if (cluster_.collector_running()) cluster_.StopCollector(SIGKILL);
    if (umount2(data_.c_str(), 0) != 0) umount2(data_.c_str(), MNT_DETACH);
  }

  bool Stored() { return cluster_.AgentOnce("prod-01", root_, 5).exit_code == 0; }

  RunResult Status() { return cluster_.Ctl({"status", "--format", "json"}); }

  TestCluster cluster_;
  std::string data_, filler_;
  std::string root_ = FixtureRoot("opencrvs-manager");
  bool mounted_ = false;
};

TEST_P(StorageFullTest, SurvivesFullDiskAtManyLevelsAndRecoversInProcess) {
  cluster_.StartCollector();
  int reports = 0;  // each agent run collects one report
  ++reports;
  ASSERT_TRUE(Stored()) << cluster_.collector_log();

  for (off_t leave :
       {off_t{0}, off_t{4096}, off_t{16384}, off_t{65536}, off_t{256 << 10}, off_t{512 << 10}}) {
    SCOPED_TRACE(absl::StrCat("left free: ", leave, " bytes"));
    ASSERT_GE(Fill(filler_, leave), 0);
    // Reports until one is not acked: the disk is full for the store.
    bool refused = false;
    int stored_while_filling = 0;
    for (int i = 0; i < 80 && !refused; ++i) {
      ++reports;
      refused = !Stored();
      if (!refused) ++stored_while_filling;
      ASSERT_TRUE(cluster_.collector_running()) << cluster_.collector_log();
    }
    ASSERT_TRUE(refused) << "the store never filled up; free: " << FreeBytes(data_);
    // A report sent now is refused too, and the collector says why.
    ++reports;
    EXPECT_FALSE(Stored());
    RunResult status = Status();
    EXPECT_TRUE(absl::StrContains(status.out, "\"storage_error\"")) << status.out << status.err;
    EXPECT_TRUE(absl::StrContains(status.out, "No space left on device")) << status.out;
    RunResult text = cluster_.Ctl({"status"});
    EXPECT_TRUE(absl::StrContains(text.out, "STORAGE ERROR: reports are not stored nor acked"))
        << text.out << text.err;
    // Reads work while writes fail.
    RunResult host = cluster_.Ctl({"host", "prod-01", "--format", "json"});
    EXPECT_EQ(host.exit_code, 0) << host.out << host.err;
    EXPECT_TRUE(absl::StrContains(cluster_.collector_log(),
                                  "reports are refused (not acked) until it clears"));
    ASSERT_TRUE(cluster_.collector_running()) << cluster_.collector_log();

    // Space returns: the same process stores and acks again, on its own.
    ASSERT_EQ(unlink(filler_.c_str()), 0);
    const absl::Time freed = absl::Now();
    bool recovered = WaitFor(
        [&] {
          ++reports;
          return Stored();
        },
        absl::Seconds(60));
    ASSERT_TRUE(recovered) << cluster_.collector_log();
    ASSERT_TRUE(cluster_.collector_running());
    std::cout << "left free " << leave << " B: " << stored_while_filling
              << " report(s) stored before the first refusal; stored again "
              << absl::FormatDuration(absl::Now() - freed) << " after the filler went\n";
    status = Status();
    EXPECT_FALSE(absl::StrContains(status.out, "storage_error")) << status.out;
    EXPECT_FALSE(absl::StrContains(cluster_.Ctl({"status"}).out, "STORAGE ERROR"));
  }

  const std::string log = cluster_.collector_log();
  EXPECT_TRUE(absl::StrContains(log, "storage error cleared after")) << log;
  EXPECT_FALSE(absl::StrContains(log, "Assertion")) << log;
  RunResult audit = cluster_.Ctl({"audit", "--verify"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  EXPECT_TRUE(absl::StrContains(cluster_.Ctl({"audit"}).out, "storage-recovered"));

  // Every report the agent made is stored once: none was acked unstored
  // (the agent drops a report from its spool only on an ack, and the last
  // run left nothing pending).
  cluster_.StopCollector(SIGTERM);
  std::map<uint64_t, int> expected;
  for (int seq = 1; seq <= reports; ++seq) expected[seq] = 1;
  EXPECT_EQ(StoredSequences(data_), expected);
}

INSTANTIATE_TEST_SUITE_P(FileSystems, StorageFullTest, ::testing::Values(Fs::kTmpfs, Fs::kExt4),
                         [](const ::testing::TestParamInfo<Fs>& info) {
                           return info.param == Fs::kTmpfs ? "tmpfs" : "ext4";
                         });

}  // namespace
}  // namespace preflight::testing
