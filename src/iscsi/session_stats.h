#pragma once
// What a live session has moved, for the operator dashboard and the metrics:
// written by the session's event loop only (relaxed atomics, one writer, no
// fence on the data path), read from any thread as a snapshot.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace scsipub::iscsi {

struct SessionCounters {
  std::atomic<uint64_t> read_bytes{0};
  std::atomic<uint64_t> write_bytes{0};
  std::atomic<uint64_t> read_commands{0};   // SCSI commands with the R bit
  std::atomic<uint64_t> write_commands{0};  // SCSI commands with the W bit

  void add_read(uint64_t bytes) {
    read_commands.fetch_add(1, std::memory_order_relaxed);
    read_bytes.fetch_add(bytes, std::memory_order_relaxed);
  }
  void add_write(uint64_t bytes) {
    write_commands.fetch_add(1, std::memory_order_relaxed);
    write_bytes.fetch_add(bytes, std::memory_order_relaxed);
  }
};

struct TrafficTotals {
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  uint64_t read_commands = 0;
  uint64_t write_commands = 0;

  static TrafficTotals of(const SessionCounters& c) {
    return {c.read_bytes.load(std::memory_order_relaxed), c.write_bytes.load(std::memory_order_relaxed),
            c.read_commands.load(std::memory_order_relaxed), c.write_commands.load(std::memory_order_relaxed)};
  }
  TrafficTotals& operator+=(const TrafficTotals& o) {
    read_bytes += o.read_bytes;
    write_bytes += o.write_bytes;
    read_commands += o.read_commands;
    write_commands += o.write_commands;
    return *this;
  }
};

// What the dashboard and the metrics know of a session besides its identity.
// `kind` and `image` are metric labels, so they come from a bounded set
// (LoginTarget), never from the initiator.
struct SessionDetails {
  bool tls = false;
  std::string kind;   // "blank", "image", "multi", "disk", "discovery"
  std::string image;  // the catalog image of an `image` target, else empty
  std::chrono::system_clock::time_point since{};
  std::chrono::steady_clock::time_point started{};  // for the duration metric
  std::shared_ptr<SessionCounters> counters;
  // Asks the initiator to log out within `seconds` (Async Message), then
  // drops the connection if it has not; safe from any thread.
  std::function<void(uint16_t seconds)> end;
};

}  // namespace scsipub::iscsi
