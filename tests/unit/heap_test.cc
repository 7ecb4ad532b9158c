// collector/service/heap.h on the allocator the collector is built with:
// tcmalloc unless PREFLIGHT_TCMALLOC is off (sanitizer builds), then glibc.
#include "collector/service/heap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace preflight::collector {
namespace {

// VmRSS of this process, in bytes.
uint64_t Rss() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return 0;
}

bool MapsLibrary(const std::string& name) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find(name) != std::string::npos) return true;
  }
  return false;
}

TEST(Heap, TheProcessRunsOnTheAllocatorItWasBuiltWith) {
#if PREFLIGHT_TCMALLOC
  EXPECT_EQ(HeapAllocator(), "tcmalloc");
  EXPECT_TRUE(MapsLibrary("libtcmalloc_minimal"));
#else
  EXPECT_EQ(HeapAllocator(), "glibc");
  EXPECT_FALSE(MapsLibrary("libtcmalloc"));
#endif
}

// What a refresh of the whole fleet leaves: many report-sized blocks, all
// freed. tcmalloc keeps their pages; ReleaseFreeHeap gives them back.
TEST(Heap, FreedMemoryGoesBackToTheSystem) {
  constexpr size_t kBlock = 20 << 10;  // a report
  constexpr size_t kBlocks = 8192;     // 160 MiB
  std::vector<char*> blocks;
  blocks.reserve(kBlocks);
  for (size_t i = 0; i < kBlocks; ++i) {
    char* b = static_cast<char*>(std::malloc(kBlock));
    ASSERT_NE(b, nullptr);
    std::memset(b, static_cast<int>(i), kBlock);  // resident
    blocks.push_back(b);
  }
  for (char* b : blocks) std::free(b);
  const uint64_t rss_freed = Rss();
  const uint64_t released = ReleaseFreeHeap();
  const uint64_t rss_after = Rss();
#if PREFLIGHT_TCMALLOC
  // Kept by tcmalloc until released: at least half of it is given back.
  EXPECT_GE(released, kBlock * kBlocks / 2) << "released " << released;
  EXPECT_LE(FreeHeapBytes(), kBlock * kBlocks / 4);
  EXPECT_GE(rss_freed - std::min(rss_freed, rss_after), kBlock * kBlocks / 2)
      << "VmRSS " << rss_freed << " -> " << rss_after;
#else
  // glibc's malloc_trim: it says nothing of what it released.
  EXPECT_EQ(released, 0u);
  EXPECT_EQ(FreeHeapBytes(), 0u);
  (void)rss_freed;
  (void)rss_after;
#endif
}

}  // namespace
}  // namespace preflight::collector
