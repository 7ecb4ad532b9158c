// Tests for agent/host/rooted_host_env: chroot-like path resolution that a
// hostile tree cannot escape, capped reads, and commands with timeouts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "agent/host/rooted_host_env.h"
#include "tests/support/temp_dir.h"

namespace preflight::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class RootedHostEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = RootedHostEnv::Create(root_.path());
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(*env);
  }

  std::string Real(const std::string& host_path) const { return root_.path() + host_path; }
  void Write(const std::string& host_path, absl::string_view content) {
    testing::WriteFile(Real(host_path), content);
  }
  void Symlink(const std::string& target, const std::string& host_path) {
    testing::MakeDirs(Real(host_path).substr(0, Real(host_path).rfind('/')));
    ASSERT_EQ(symlink(target.c_str(), Real(host_path).c_str()), 0) << host_path;
  }

  testing::TempDir root_;
  // Somewhere outside the root, standing in for the real system's files.
  testing::TempDir outside_;
  std::unique_ptr<RootedHostEnv> env_;
};

TEST(RootedHostEnvCreate, RefusesBadRoots) {
  testing::TempDir tmp;
  testing::WriteFile(tmp.Join("file"), "x");
  EXPECT_EQ(RootedHostEnv::Create("relative/dir").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RootedHostEnv::Create("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(RootedHostEnv::Create(tmp.Join("missing")).ok());
  EXPECT_FALSE(RootedHostEnv::Create(tmp.Join("file")).ok());
}

TEST(RootedHostEnvCreate, SlashIsLive) {
  auto env = RootedHostEnv::Create("/");
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_TRUE((*env)->live());
  EXPECT_EQ((*env)->root(), "/");
}

TEST_F(RootedHostEnvTest, NotLiveAndRootIsTheDirectory) {
  EXPECT_FALSE(env_->live());
  EXPECT_EQ(env_->root(), root_.path());
  auto trailing = RootedHostEnv::Create(root_.path() + "/");
  ASSERT_TRUE(trailing.ok());
  EXPECT_EQ((*trailing)->root(), root_.path());
}

TEST_F(RootedHostEnvTest, ReadFileWithinRoot) {
  Write("/etc/hostname", "prod-01\n");
  chmod(Real("/etc/hostname").c_str(), 0640);
  auto data = env_->ReadFile("/etc/hostname", 1024);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->content, "prod-01\n");
  EXPECT_EQ(data->info.type, FileInfo::Type::kRegular);
  EXPECT_EQ(data->info.size, 8u);
  EXPECT_EQ(data->info.mode, 0640u);
  EXPECT_EQ(data->info.uid, getuid());
}

TEST_F(RootedHostEnvTest, DotSegmentsAndRepeatedSlashes) {
  Write("/etc/ssh/sshd_config", "Port 22\n");
  auto data = env_->ReadFile("//etc/./ssh//../ssh/sshd_config", 1024);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->content, "Port 22\n");
}

TEST_F(RootedHostEnvTest, MissingFileIsNotFound) {
  Write("/etc/hostname", "x");
  EXPECT_EQ(env_->ReadFile("/etc/shadow", 1024).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(env_->ReadFile("/no/such/dir/file", 1024).status().code(), absl::StatusCode::kNotFound);
  auto st = env_->ReadFile("/etc/missing.conf", 1024);
  EXPECT_THAT(st.status().message(), HasSubstr("/etc/missing.conf"));
  EXPECT_EQ(env_->Stat("/etc/missing.conf").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RootedHostEnvTest, RelativeHostPathIsInvalid) {
  Write("/etc/hostname", "x");
  EXPECT_EQ(env_->ReadFile("etc/hostname", 1024).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RootedHostEnvTest, SizeCap) {
  Write("/var/log/big.log", std::string(100, 'x'));
  auto over = env_->ReadFile("/var/log/big.log", 99);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(over.status().message(), HasSubstr("/var/log/big.log"));
  auto exact = env_->ReadFile("/var/log/big.log", 100);
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(exact->content.size(), 100u);
}

TEST_F(RootedHostEnvTest, DirectoryIsNotARegularFile) {
  testing::MakeDirs(Real("/etc/ssh"));
  EXPECT_EQ(env_->ReadFile("/etc/ssh", 1024).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(RootedHostEnvTest, FifoIsNotARegularFileAndDoesNotBlock) {
  testing::MakeDirs(Real("/run"));
  ASSERT_EQ(mkfifo(Real("/run/pipe").c_str(), 0600), 0);
  absl::Time start = absl::Now();
  EXPECT_EQ(env_->ReadFile("/run/pipe", 1024).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(RootedHostEnvTest, AbsoluteSymlinkOutsideIsResolvedInsideRoot) {
  // The "real system" file, outside the root, referenced by absolute path.
  const std::string secret = outside_.Join("shadow");
  testing::WriteFile(secret, "OUTSIDE SECRET");
  Symlink(secret, "/etc/evil");

  auto data = env_->ReadFile("/etc/evil", 1024);
  EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound) << "read outside the root!";
  // With the same path present inside the root, the root's copy is read.
  testing::WriteFile(root_.path() + secret, "root copy");
  data = env_->ReadFile("/etc/evil", 1024);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->content, "root copy");
  auto real = env_->ResolveForTest("/etc/evil", true);
  ASSERT_TRUE(real.ok());
  EXPECT_EQ(*real, root_.path() + secret);
}

TEST_F(RootedHostEnvTest, AbsoluteSymlinkToSlashStaysInRoot) {
  const std::string secret = outside_.Join("shadow");
  testing::WriteFile(secret, "OUTSIDE SECRET");
  Symlink("/", "/mnt/host");
  auto data = env_->ReadFile("/mnt/host" + secret, 1024);
  EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RootedHostEnvTest, DirectorySymlinkOutsideIsResolvedInsideRoot) {
  testing::WriteFile(outside_.Join("ssh/sshd_config"), "PermitRootLogin yes\n");
  Symlink(outside_.path() + "/ssh", "/etc/ssh");
  EXPECT_EQ(env_->ReadFile("/etc/ssh/sshd_config", 1024).status().code(),
            absl::StatusCode::kNotFound);
  auto list = env_->ListDir("/etc/ssh");
  EXPECT_FALSE(list.ok());
}

TEST_F(RootedHostEnvTest, DotDotCannotEscape) {
  const std::string secret = outside_.Join("shadow");
  testing::WriteFile(secret, "OUTSIDE SECRET");
  std::string ups;
  for (int i = 0; i < 20; ++i) ups += "/..";
  // In the host path ...
  EXPECT_EQ(env_->ReadFile(ups + secret, 1024).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(env_->ReadFile("/etc/../../.." + secret, 1024).status().code(),
            absl::StatusCode::kNotFound);
  // ... and in a relative symlink.
  Symlink(ups.substr(1) + secret, "/etc/up");
  EXPECT_EQ(env_->ReadFile("/etc/up", 1024).status().code(), absl::StatusCode::kNotFound);
  // With the root's own copy, that is what is read.
  testing::WriteFile(root_.path() + secret, "root copy");
  auto data = env_->ReadFile("/etc/up", 1024);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->content, "root copy");
  auto real = env_->ResolveForTest("/etc/up", true);
  ASSERT_TRUE(real.ok()) << real.status();
  EXPECT_EQ(*real, root_.path() + secret);
  data = env_->ReadFile(ups + secret, 1024);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->content, "root copy");
}

TEST_F(RootedHostEnvTest, SymlinksInsideTheRootWork) {
  Write("/etc/real.conf", "content");
  Symlink("real.conf", "/etc/relative");
  Symlink("/etc/real.conf", "/etc/absolute");
  Symlink("../etc/./relative", "/opt/chain");
  for (const char* p : {"/etc/relative", "/etc/absolute", "/opt/chain"}) {
    auto data = env_->ReadFile(p, 1024);
    ASSERT_TRUE(data.ok()) << p << ": " << data.status();
    EXPECT_EQ(data->content, "content") << p;
  }
}

TEST_F(RootedHostEnvTest, SymlinkLoopsAreErrorsNotHangs) {
  Symlink("b", "/etc/a");
  Symlink("a", "/etc/b");
  Symlink("self", "/etc/self");
  Symlink("/etc/dirloop/x", "/etc/dirloop");
  absl::Time start = absl::Now();
  for (const char* p : {"/etc/a", "/etc/self", "/etc/dirloop", "/etc/dirloop/y"}) {
    auto data = env_->ReadFile(p, 1024);
    EXPECT_FALSE(data.ok()) << p;
    EXPECT_NE(data.status().code(), absl::StatusCode::kOk);
  }
  EXPECT_FALSE(env_->ListDir("/etc/a").ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(RootedHostEnvTest, StatDoesNotFollowTheLastSymlink) {
  Write("/etc/real.conf", "12345");
  Symlink("real.conf", "/etc/link");
  auto link = env_->Stat("/etc/link");
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_EQ(link->type, FileInfo::Type::kSymlink);
  auto file = env_->Stat("/etc/real.conf");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->type, FileInfo::Type::kRegular);
  EXPECT_EQ(file->size, 5u);
  auto dir = env_->Stat("/etc");
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(dir->type, FileInfo::Type::kDirectory);
}

TEST_F(RootedHostEnvTest, ListDirIsSortedWithoutDotEntries) {
  Write("/etc/ssh/sshd_config.d/b.conf", "");
  Write("/etc/ssh/sshd_config.d/a.conf", "");
  Write("/etc/ssh/sshd_config.d/C.conf", "");
  testing::MakeDirs(Real("/etc/ssh/sshd_config.d/sub"));
  Symlink("a.conf", "/etc/ssh/sshd_config.d/z-link");
  auto list = env_->ListDir("/etc/ssh/sshd_config.d");
  ASSERT_TRUE(list.ok()) << list.status();
  std::vector<std::string> names;
  for (const DirEntry& e : *list) names.push_back(e.name);
  EXPECT_THAT(names, ElementsAre("C.conf", "a.conf", "b.conf", "sub", "z-link"));
  EXPECT_EQ((*list)[0].type, FileInfo::Type::kRegular);
  EXPECT_EQ((*list)[3].type, FileInfo::Type::kDirectory);
  EXPECT_EQ((*list)[4].type, FileInfo::Type::kSymlink);
}

// ReadLinksIn reads each link of one directory as stored (never followed,
// even out of the root), sorted, without the entries that are not links;
// the same as HostEnv's default of ListDir + ReadLink.
TEST_F(RootedHostEnvTest, ReadLinksInReadsEachLinkAsStored) {
  Symlink("socket:[4242]", "/proc/7/fd/10");
  Symlink("/etc/shadow", "/proc/7/fd/3");
  Symlink("../../outside", "/proc/7/fd/4");
  Write("/proc/7/fd/5", "a regular file, not a link");
  auto links = env_->ReadLinksIn("/proc/7/fd");
  ASSERT_TRUE(links.ok()) << links.status();
  using Link = std::pair<std::string, std::string>;
  EXPECT_THAT(*links, ElementsAre(Link{"10", "socket:[4242]"}, Link{"3", "/etc/shadow"},
                                  Link{"4", "../../outside"}));
  EXPECT_EQ(*links, *env_->HostEnv::ReadLinksIn("/proc/7/fd"));
  // Through a link to the directory, resolved inside the root.
  Symlink("/proc/7", "/proc/self");
  auto via = env_->ReadLinksIn("/proc/self/fd");
  ASSERT_TRUE(via.ok());
  EXPECT_EQ(*via, *links);
  EXPECT_TRUE(absl::IsNotFound(env_->ReadLinksIn("/proc/8/fd").status()));
}

TEST(LiveHostEnv, ReadLinksInSeesThisProcessesSockets) {
  auto env = RootedHostEnv::Create("/");
  ASSERT_TRUE(env.ok());
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  auto links = (*env)->ReadLinksIn(absl::StrCat("/proc/", getpid(), "/fd"));
  ASSERT_TRUE(links.ok()) << links.status();
  const std::pair<std::string, std::string> mine{absl::StrCat(fd),
                                                 absl::StrCat("socket:[", st.st_ino, "]")};
  EXPECT_THAT(*links, ::testing::Contains(mine));
  close(fd);
}

TEST_F(RootedHostEnvTest, ListDirOfEmptyMissingAndFile) {
  testing::MakeDirs(Real("/empty"));
  auto empty = env_->ListDir("/empty");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_THAT(*empty, IsEmpty());
  EXPECT_EQ(env_->ListDir("/missing").status().code(), absl::StatusCode::kNotFound);
  Write("/file", "x");
  EXPECT_FALSE(env_->ListDir("/file").ok());
}

TEST_F(RootedHostEnvTest, ListRootItself) {
  Write("/b", "");
  Write("/a", "");
  auto list = env_->ListDir("/");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "a");
  EXPECT_EQ((*list)[1].name, "b");
}

TEST_F(RootedHostEnvTest, StatFsUnderARootReadsRecordedFigures) {
  // An image's filesystems are not mounted: without recorded figures,
  // statvfs is unavailable rather than the figures of the test's own disk.
  EXPECT_EQ(env_->StatFs("/").status().code(), absl::StatusCode::kUnavailable);
  preflight::testing::WriteFile(root_.Join(".preflight/statfs"),
                                "/ 4096 1000 400 300 50 40\n/data 4096 10 5 5 1 1\n");
  auto fs = env_->StatFs("/");
  ASSERT_TRUE(fs.ok()) << fs.status();
  EXPECT_EQ(fs->block_size, 4096u);
  EXPECT_EQ(fs->blocks, 1000u);
  EXPECT_EQ(fs->blocks_free, 400u);
  EXPECT_EQ(fs->blocks_available, 300u);
  EXPECT_EQ(fs->files_free, 40u);
  EXPECT_EQ(env_->StatFs("/srv").status().code(), absl::StatusCode::kNotFound);
}

TEST(LiveHostEnv, StatFsOfTheRealRoot) {
  auto env = RootedHostEnv::Create("/");
  ASSERT_TRUE(env.ok());
  auto fs = (*env)->StatFs("/");
  ASSERT_TRUE(fs.ok()) << fs.status();
  EXPECT_GT(fs->block_size, 0u);
  EXPECT_GT(fs->blocks, 0u);
  EXPECT_LE(fs->blocks_available, fs->blocks);
}

TEST_F(RootedHostEnvTest, RunIsUnavailableUnderARoot) {
  auto r = env_->Run({"true"}, absl::Seconds(5));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

// ----------------------------------------------------------------- RunCommand

TEST(RunCommand, CapturesOutputAndExitCode) {
  auto r = RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"}, absl::Seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
}

TEST(RunCommand, ArgumentsAreNotInterpretedByAShell) {
  auto r = RunCommand({"echo", "$HOME", "a;b", "*"}, absl::Seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "$HOME a;b *\n");
  EXPECT_EQ(r->exit_code, 0);
}

TEST(RunCommand, StdinIsEmpty) {
  auto r = RunCommand({"cat"}, absl::Seconds(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->out, "");
}

TEST(RunCommand, TimeoutKillsAndReturnsQuickly) {
  absl::Time start = absl::Now();
  auto r = RunCommand({"sleep", "5"}, absl::Milliseconds(200));
  absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->timed_out);
  EXPECT_NE(r->exit_code, 0);
  EXPECT_LT(took, absl::Seconds(2));
}

TEST(RunCommand, TimeoutKillsGrandchildrenHoldingThePipes) {
  absl::Time start = absl::Now();
  auto r = RunCommand({"sh", "-c", "sleep 5; echo never"}, absl::Milliseconds(200));
  absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->out, "");
  EXPECT_LT(took, absl::Seconds(2));
}

// A command that closes (or redirects) its output and then hangs must still
// be stopped at the timeout.
TEST(RunCommand, TimeoutHoldsWhenTheChildClosesItsOutput) {
  absl::Time start = absl::Now();
  auto r = RunCommand({"sh", "-c", "exec >/dev/null 2>&1; sleep 3"}, absl::Milliseconds(200));
  absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(took, absl::Seconds(2));
}

TEST(RunCommand, OutputIsCapped) {
  auto r = RunCommand({"head", "-c", "100000", "/dev/zero"}, absl::Seconds(10), 1000);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out.size(), 1000u);
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_FALSE(r->timed_out);
}

TEST(RunCommand, MissingBinaryIsNotFound) {
  auto r = RunCommand({"/nonexistent/preflight-no-such-binary"}, absl::Seconds(5));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  auto r2 = RunCommand({"preflight-no-such-binary-in-path"}, absl::Seconds(5));
  EXPECT_EQ(r2.status().code(), absl::StatusCode::kNotFound);
}

TEST(RunCommand, AProgramExiting127RanAndAFileThatIsNotOneDidNot) {
  // 127 from a program that ran is its exit code, not "cannot run".
  auto ran = RunCommand({"sh", "-c", "exit 127"}, absl::Seconds(5));
  ASSERT_TRUE(ran.ok()) << ran.status();
  EXPECT_EQ(ran->exit_code, 127);
  // A file without execute permission cannot run: an error naming it.
  testing::TempDir dir;
  const std::string script = dir.Join("not-executable");
  testing::WriteFile(script, "#!/bin/sh\necho ran\n");
  auto refused = RunCommand({script}, absl::Seconds(5));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr(script));
  // The child runs in a process group of its own (a timeout kills it all).
  auto group = RunCommand({"sh", "-c", "cut -d' ' -f5 /proc/$$/stat; echo $$"}, absl::Seconds(5));
  ASSERT_TRUE(group.ok()) << group.status();
  std::vector<std::string> lines = absl::StrSplit(group->out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << group->out << group->err;
  EXPECT_EQ(absl::StripAsciiWhitespace(lines[0]), absl::StripAsciiWhitespace(lines[1]));
}

TEST(RunCommand, EmptyArgvIsInvalid) {
  EXPECT_EQ(RunCommand({}, absl::Seconds(1)).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RunCommand, LiveEnvRuns) {
  auto env = RootedHostEnv::Create("/");
  ASSERT_TRUE(env.ok());
  auto r = (*env)->Run({"sh", "-c", "printf hi"}, absl::Seconds(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "hi");
  EXPECT_EQ(r->exit_code, 0);
}

}  // namespace
}  // namespace preflight::agent
