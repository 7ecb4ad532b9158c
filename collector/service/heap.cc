#include "collector/service/heap.h"

#include <malloc.h>

#include <cstddef>

// gperftools' C interface (gperftools/malloc_extension_c.h, in
// libgoogle-perftools-dev, which is not needed to build: the two functions
// are declared here). Weak: null when tcmalloc is not in the process.
extern "C" {
int MallocExtension_GetNumericProperty(const char* property, size_t* value) __attribute__((weak));
void MallocExtension_ReleaseFreeMemory(void) __attribute__((weak));
}

namespace preflight::collector {

namespace {

bool Tcmalloc() {
  return MallocExtension_GetNumericProperty != nullptr &&
         MallocExtension_ReleaseFreeMemory != nullptr;
}

}  // namespace

std::string HeapAllocator() { return Tcmalloc() ? "tcmalloc" : "glibc"; }

uint64_t FreeHeapBytes() {
  if (!Tcmalloc()) return 0;
  size_t free_bytes = 0;
  if (MallocExtension_GetNumericProperty("tcmalloc.pageheap_free_bytes", &free_bytes) == 0) {
    return 0;
  }
  return free_bytes;
}

uint64_t ReleaseFreeHeap() {
  if (!Tcmalloc()) {
    malloc_trim(0);
    return 0;
  }
  const uint64_t before = FreeHeapBytes();
  MallocExtension_ReleaseFreeMemory();
  const uint64_t after = FreeHeapBytes();
  return before > after ? before - after : 0;
}

}  // namespace preflight::collector
