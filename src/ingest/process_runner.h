#pragma once
// Runs a converter (qemu-img, xz, gzip, zstd) on hostile input, confined:
// fork/exec with an argv (no shell), a minimal environment, every other
// descriptor closed, resource limits set in the child before exec, its own
// process group, and a wall-clock timeout that kills the whole group.
// stdout goes to a callback (which may stop the child: the decompression-bomb
// cap) or to /dev/null; stderr is kept, bounded, for the error message.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace scsipub::ingest {

struct ProcessLimits {
  uint64_t address_space = 0;  // RLIMIT_AS bytes; 0 = unchanged
  uint64_t cpu_seconds = 0;    // RLIMIT_CPU; 0 = unchanged
  uint64_t file_size = 0;      // RLIMIT_FSIZE bytes: the largest file it may write; 0 = unchanged
  uint64_t open_files = 64;    // RLIMIT_NOFILE
};

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0]: a program name looked up in PATH, or a path
  std::filesystem::path cwd = "/";
  int stdin_fd = -1;  // -1: /dev/null
  // Each chunk of stdout; an error stops (kills) the process and is returned.
  // Empty: stdout goes to /dev/null.
  std::function<Status(std::span<const uint8_t>)> on_stdout;
  ProcessLimits limits;
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
  size_t stderr_cap = 4096;
  const std::atomic<bool>* cancel = nullptr;
};

struct ProcessOutcome {
  int exit_code = -1;  // when it exited
  int signal = 0;      // when a signal ended it
  bool timed_out = false;
  std::string stderr_text;  // at most stderr_cap bytes
  bool stderr_truncated = false;

  bool succeeded() const { return signal == 0 && exit_code == 0 && !timed_out; }
  // "exited with status 1: <first line of stderr>", "killed by SIGXFSZ", ...
  std::string describe() const;
};

// An error only when the process could not be run or on_stdout stopped it
// (or `cancel` was set); a failing process is a normal outcome.
Result<ProcessOutcome> run_process(const ProcessSpec& spec);

}  // namespace scsipub::ingest
