#include "common/limit_events.h"

#include <spdlog/spdlog.h>

namespace scsipub {

namespace {
struct Names {
  std::string_view name;
  std::string_view help;
};
constexpr std::array<Names, LimitEvents::kCount> kNames{{
    {"connections_total", "connections refused: server-wide connection limit"},
    {"connections_per_ip", "connections refused: per-address connection limit"},
    {"logins_in_progress", "connections refused: too many logins in progress"},
    {"sessions_total", "logins refused: server-wide session limit"},
    {"login_timeout", "connections closed: login not finished in time"},
    {"nop_timeout", "connections closed: NOP-In ping unanswered"},
    {"stalled_write", "connections closed: peer stopped reading"},
    {"oversize_pdu", "connections closed: PDU longer than negotiated"},
    {"command_window", "commands dropped: CmdSN outside the window"},
    {"command_gap", "connections closed: too much queued behind a CmdSN gap"},
    {"chap_failures", "logins refused: CHAP attempts per address group and user"},
    {"free_overlay_per_ip", "logins refused: free-tier overlay bytes per address group"},
    {"logins_in_progress_per_ip", "connections refused: logins in progress per address group"},
    {"auth_only_login", "logins refused: anonymous login on a slot reserved for CHAP"},
    {"sessions_anonymous", "logins refused: anonymous sessions past the slots reserved for CHAP"},
    {"sessions_per_ip", "logins refused: anonymous sessions per address group"},
    {"discovery_sessions", "logins refused: anonymous discovery sessions server-wide"},
    {"chap_attempts_per_ip", "logins refused: CHAP attempts per address group"},
    {"free_overlay_total", "logins refused: free-tier overlay bytes server-wide"},
    {"immediate_commands", "commands rejected: immediate command past the task or buffer limit"},
    {"http_connections_total", "HTTP connections refused: server-wide connection limit"},
    {"http_connections_per_ip", "HTTP connections refused: per-address connection limit"},
    {"http_request_refused", "HTTP requests refused: headers or body over the limits, or malformed"},
    {"http_timeout", "HTTP connections closed: idle or request timeout"},
    {"admin_sessions", "dashboard logins that logged out the oldest one: live admin session limit"},
    {"ingest_size", "images refused by ingest: virtual, decompressed or download size over the cap"},
    {"ingest_free_space", "images refused by ingest: not enough free disk space"},
    {"ingest_converter", "image converters stopped: timeout, CPU, memory or output size limit"},
    {"free_redirect_memory", "free-tier redirects forgotten early: remembered initiators over the cap"},
}};
}  // namespace

LimitEvents::LimitEvents(std::chrono::seconds log_interval) : interval_(log_interval) {}

std::string_view LimitEvents::name(Limit limit) { return kNames[index(limit)].name; }
std::string_view LimitEvents::help(Limit limit) { return kNames[index(limit)].help; }

void LimitEvents::hit(Limit limit, std::string_view peer, std::string_view detail) {
  hit(limit, peer, detail, Clock::now());
}

void LimitEvents::hit(Limit limit, std::string_view peer, std::string_view detail, Clock::time_point now) {
  size_t i = index(limit);
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  Clock::rep t = now.time_since_epoch().count();
  Clock::rep due = next_log_[i].load(std::memory_order_relaxed);
  // One thread wins the right to log for this interval; the others count.
  if (t < due || !next_log_[i].compare_exchange_strong(due, t + interval_.count(), std::memory_order_relaxed)) {
    suppressed_[i].fetch_add(1, std::memory_order_relaxed);
    return;
  }
  uint64_t quiet = suppressed_[i].exchange(0, std::memory_order_relaxed);
  spdlog::warn("limit {} reached by {}{}{} ({} more in the last interval not logged; counter total {})",
               kNames[i].name, peer, detail.empty() ? "" : ": ", detail, quiet, count(limit));
}

}  // namespace scsipub
