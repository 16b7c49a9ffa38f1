#pragma once
// How a long ingest step reports progress and learns it was cancelled.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace scsipub::ingest {

struct IngestProgress {
  std::string phase;   // "download", "checksum", "decompress", "convert", "copy", ...
  uint64_t done = 0;
  uint64_t total = 0;  // 0 = unknown
};

struct ProgressSink {
  std::function<void(const IngestProgress&)> report;  // may be empty
  const std::atomic<bool>* cancel = nullptr;           // may be null

  void operator()(const std::string& phase, uint64_t done, uint64_t total) const {
    if (report) report(IngestProgress{phase, done, total});
  }
  bool cancelled() const { return cancel != nullptr && cancel->load(std::memory_order_relaxed); }
};

}  // namespace scsipub::ingest
