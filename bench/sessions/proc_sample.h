#pragma once
// What a target process costs right now, read from /proc/PID: resident
// memory, open file descriptors, CPU time used so far (user + system).
#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace scsipub::bench {

struct ProcSample {
  uint64_t rss_kb = 0;
  uint64_t fds = 0;
  double cpu_s = 0;  // utime + stime
};

// Nothing when the process is gone or unreadable.
std::optional<ProcSample> sample_process(pid_t pid);

}  // namespace scsipub::bench
