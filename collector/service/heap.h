// The heap the collector runs on.
//
// The collector executable is linked against gperftools' tcmalloc (Debian's
// libtcmalloc-minimal4; CMake option PREFLIGHT_TCMALLOC, on unless built with
// sanitizers, whose own allocator must stay in charge). Measured with
// tests/bench/load_bench.cc on 2 cores (README "Performance"): a quarter less
// CPU per report than glibc's malloc, and 14 KB less per connected agent,
// which with 10,000 agents is what brings their connections under 1 GB.
#pragma once

#include <cstdint>
#include <string>

namespace preflight::collector {

// "tcmalloc" when tcmalloc's malloc is the process's (linked, or preloaded),
// else "glibc".
std::string HeapAllocator();

// Bytes the heap holds free and still mapped (tcmalloc's page heap), or
// 0 when the allocator does not say (glibc).
uint64_t FreeHeapBytes();

// Gives the heap's free pages back to the system (tcmalloc's
// ReleaseFreeMemory; glibc's malloc_trim). A burst — a refresh of the whole
// fleet, 10,000 reports in flight at once — leaves hundreds of MB free in the
// heap that tcmalloc would otherwise hand back only slowly. Returns the bytes
// released when the allocator says (tcmalloc), else 0.
uint64_t ReleaseFreeHeap();

}  // namespace preflight::collector
