#include "common/memory_release.h"

#include <malloc.h>

namespace scsipub {

namespace {
// Blocks from here up are mapped on their own: every per-command write buffer
// past the pooled 4K-64K sizes, so freeing one unmaps it.
constexpr int kMmapThreshold = 256 << 10;
constexpr int kTrimThreshold = 1 << 20;
}  // namespace

void configure_allocator() {
#ifdef __GLIBC__
  // Setting either disables glibc's dynamic threshold adjustment (mallopt(3)).
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
#endif
}

void release_free_memory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace scsipub
