#pragma once
// Many iSCSI sessions on one epoll loop: a minimal non-blocking initiator
// that logs sessions in with at most K logins in flight, holds them in Full
// Feature Phase answering the target's NOP-In pings, and logs them out. A
// login the target refuses with a target error (03/xx, e.g. 03/02 "out of
// resources") or that loses its connection is retried after a randomized
// exponential backoff, as iscsid does; with `reconnect`, a logged-in session
// whose connection drops (a server restart) logs in again the same way.
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "sessions/login_pdus.h"

namespace scsipub::bench {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

struct PoolConfig {
  Endpoint portal;
  std::vector<Endpoint> sources;  // round-robin local addresses (port 0); empty: the kernel's choice
  std::string target;
  std::string initiator_prefix;  // session i is "<prefix>:<i>"
  size_t sessions = 0;
  size_t in_flight = 1;          // logins (connect .. final Login Response) at once
  bool one_round = false;        // one Login Request (operational stage only) instead of two
  bool reconnect = false;        // log a dropped session in again
  std::chrono::milliseconds login_timeout{15000};
  // iscsid waits DefaultTime2Wait (2 s) and more between attempts; a faster
  // client only adds refused connections to a storm.
  std::chrono::milliseconds backoff_min{250};
  std::chrono::milliseconds backoff_max{2000};
};

struct PoolCounters {
  uint64_t logins = 0;         // Login Responses that reached Full Feature Phase
  uint64_t busy = 0;           // refusals 03/02 (out of resources)
  uint64_t retried = 0;        // attempts that will be retried (busy, other 03/xx, lost connection, timeout)
  uint64_t unanswered = 0;     // logins whose connection failed or ended before an answer
  uint64_t timeouts = 0;       // logins not finished within login_timeout
  uint64_t failed = 0;         // sessions given up on (initiator errors 02/xx, protocol errors)
  uint64_t drops = 0;          // logged-in sessions whose connection ended
  uint64_t pings = 0;          // NOP-In pings answered
  uint64_t logouts = 0;        // Logout Responses received for our Logout Requests
  uint64_t target_logouts = 0; // logouts the target asked for (Async Message event 1)
};

class SessionPool {
 public:
  explicit SessionPool(PoolConfig config);
  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // Queues every session that is not logged in for a login now.
  void start_logins();
  // Runs the loop until `done()` is true, `deadline` passes, or SIGINT/SIGTERM
  // arrives (then interrupted() is true). `done` is checked after each wake-up.
  void run_until(const std::function<bool()>& done, Clock::time_point deadline);
  // Sends a Logout Request on every logged-in session and waits (up to
  // `deadline`) for the answers; then closes every connection.
  void logout_all(Clock::time_point deadline);

  size_t logged_in() const { return logged_in_; }
  size_t logins_in_flight() const { return in_flight_; }
  // Sessions neither logged in nor given up on.
  size_t pending() const;
  const PoolCounters& counters() const { return counters_; }
  bool interrupted() const { return interrupted_; }

 private:
  enum class State : uint8_t { idle, connecting, login, full_feature, logout, given_up };
  struct Session {
    int fd = -1;
    State state = State::idle;
    bool wants_out = false;    // EPOLLOUT registered
    bool our_logout = false;   // we sent the Logout Request (not the target's request)
    uint32_t attempts = 0;     // failed attempts since the last success
    LoginProgress login;
    uint32_t cmd_sn = 1;
    uint32_t exp_stat_sn = 0;
    Clock::time_point deadline{};
    std::vector<uint8_t> rx;
    std::vector<uint8_t> tx;
    size_t tx_sent = 0;
  };
  struct Wake {
    Clock::time_point at;
    size_t index;
    bool operator>(const Wake& o) const { return at > o.at; }
  };

  void launch_due(Clock::time_point now);
  void launch(size_t i, Clock::time_point now);
  void on_event(size_t i, uint32_t events);
  void on_connected(size_t i);
  void on_readable(size_t i);
  bool on_pdu(size_t i, std::span<const uint8_t> pdu);  // false: the connection was closed
  bool on_login_response(size_t i, const iscsi::Bhs& bhs);
  bool on_full_feature_pdu(size_t i, const iscsi::Bhs& bhs, std::span<const uint8_t> data);
  void send_login_request(size_t i);
  bool flush(size_t i);
  void watch_output(size_t i, bool on);
  // Ends the connection; `retry`: queue another login after a backoff.
  void close(size_t i, bool retry);
  // The connection failed or ended under us.
  void lost(size_t i);
  void give_up(size_t i);
  void expire_logins(Clock::time_point now);
  void leave_state(Session& s);
  Clock::duration backoff(uint32_t attempts);

  PoolConfig config_;
  std::vector<Session> sessions_;
  std::priority_queue<Wake, std::vector<Wake>, std::greater<>> queue_;
  int epoll_fd_ = -1;
  int signal_fd_ = -1;
  size_t in_flight_ = 0;
  size_t logged_in_ = 0;
  size_t given_up_ = 0;
  bool interrupted_ = false;
  PoolCounters counters_;
  std::mt19937 random_{12345};
  Clock::time_point next_expiry_scan_{};
};

}  // namespace scsipub::bench
