#pragma once
// Hands memory a finished burst no longer needs back to the operating system.
// glibc raises its mmap threshold each time a large block is freed, after which
// blocks of that size come from the heap arenas and stay resident after free:
// an attacker's 16 MiB writes would leave the process that much bigger for good.
// Process-wide allocator settings, so the server sets them once at start.
#include <cstddef>

namespace scsipub {

// Fixes the mmap threshold (large buffers map and unmap on their own) and the
// trim threshold. Call once, before the event loops start.
void configure_allocator();
// Returns free heap pages to the OS (after a connection that held much memory).
void release_free_memory();

}  // namespace scsipub
