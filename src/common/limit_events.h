#pragma once
// Counts every time a stranger runs into a limit, and says so in the log at
// most once per interval per limit: a flood of refusals must cost a counter
// increment each, not a log line each. The counters are what the metrics
// endpoint exports; the log line carries the suppressed count so the operator
// still sees the scale. Thread-safe and lock-free: event loops on every core
// hit it.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace scsipub {

enum class Limit : uint8_t {
  connections_total,      // max_connections
  connections_per_ip,     // max_connections_per_ip
  logins_in_progress,     // max_logins_in_progress
  sessions_total,         // max_sessions
  login_timeout,          // a login that did not finish in time (slowloris)
  nop_timeout,            // an idle connection that stopped answering NOP-In
  stalled_write,          // a peer that stopped reading its responses
  oversize_pdu,           // a declared length past the negotiated maximum
  command_window,         // CmdSN outside [ExpCmdSN, MaxCmdSN]
  command_gap,            // too many bytes parked behind a missing CmdSN
  chap_failures,          // CHAP attempts per (address group, user) per minute
  free_overlay_per_ip,    // free-tier overlay bytes reserved per address group
  logins_in_progress_per_ip,  // max_logins_in_progress_per_ip (and the reserved pool's per-group cap)
  auth_only_login,        // an anonymous login on a reserved (CHAP-only) login slot
  sessions_anonymous,     // max_sessions - reserved_auth_sessions, for anonymous sessions
  sessions_per_ip,        // max_sessions_per_ip: anonymous sessions per address group
  discovery_sessions,     // max_discovery_sessions: anonymous discovery sessions
  chap_attempts_per_ip,   // chap_attempts_per_minute_per_ip
  free_overlay_total,     // [free_tier] overlay_bytes_total
  immediate_commands,     // immediate SCSI commands past the task or buffer limit
  http_connections_total,   // [http] max_connections
  http_connections_per_ip,  // [http] max_connections_per_ip (IPv6 grouped by /64)
  http_request_refused,     // headers over max_header_bytes/max_headers, body over the cap, malformed
  http_timeout,             // [http] idle_timeout_seconds or request_timeout_ms
  admin_sessions,           // [admin] max_sessions: the oldest dashboard login was logged out
  ingest_size,              // [catalog] max_virtual_size / max_download_bytes: an image over the cap was refused
  ingest_free_space,        // [catalog] reserve_free_bytes: an image refused for lack of disk space
  ingest_converter,         // [catalog] converter_timeout_seconds / converter_memory: a converter was stopped
  free_redirect_memory,     // [fleet] free_redirect_memory: a remembered free-tier redirect was evicted
  count_,
};

class LimitEvents {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kCount = static_cast<size_t>(Limit::count_);

  explicit LimitEvents(std::chrono::seconds log_interval = std::chrono::seconds(60));

  // Counts one event; logs a warning naming `peer` unless one was logged for
  // this limit within the interval.
  void hit(Limit limit, std::string_view peer, std::string_view detail = {});
  void hit(Limit limit, std::string_view peer, std::string_view detail, Clock::time_point now);

  uint64_t count(Limit limit) const { return counts_[index(limit)].load(std::memory_order_relaxed); }
  static std::string_view name(Limit limit);
  static std::string_view help(Limit limit);

 private:
  static size_t index(Limit l) { return static_cast<size_t>(l); }

  const Clock::duration interval_;
  std::array<std::atomic<uint64_t>, kCount> counts_{};
  std::array<std::atomic<uint64_t>, kCount> suppressed_{};
  std::array<std::atomic<Clock::rep>, kCount> next_log_{};
};

// Components take an optional sink (tests and tools run without one).
inline void count_limit(LimitEvents* events, Limit limit, std::string_view peer, std::string_view detail = {}) {
  if (events != nullptr) events->hit(limit, peer, detail);
}

}  // namespace scsipub
