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
#include <optional>
#include <queue>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "sessions/login_pdus.h"

namespace scsipub::bench {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

// How a logged-in session ended (SessionListener::on_session_end).
enum class SessionEnd : uint8_t {
  logged_out,  // our Logout Request was answered
  dropped,     // we closed the connection without a Logout (drop())
  lost,        // the target closed it, asked for a logout, or broke the protocol
};

// Lets a driver run SCSI traffic over the pool's sessions and decide who
// logs in as whom. Callbacks run on the pool's loop; inside them a driver may
// send() but must not close or drop the session: returning false from
// on_session_pdu has the pool treat the connection as lost.
class SessionListener {
 public:
  virtual ~SessionListener() = default;
  // Who session `i` logs in as (asked before every Login Request).
  virtual LoginIdentity identity(size_t i) = 0;
  virtual void on_logged_in(size_t i, const NegotiatedKeys& keys) = 0;
  // Any Full Feature Phase PDU the pool does not handle itself (SCSI
  // Response, Data-In, R2T, Reject, ...).
  virtual bool on_session_pdu(size_t i, const iscsi::Bhs& bhs, std::span<const uint8_t> data) = 0;
  virtual void on_session_end(size_t i, SessionEnd how) = 0;
};

// A target the pool logs in to, and how (no CHAP: AuthMethod=None).
struct TargetLogin {
  std::string name;
  std::optional<ChapSecret> chap;
};

struct PoolConfig {
  Endpoint portal;
  std::vector<Endpoint> sources;  // round-robin local addresses (port 0); empty: the kernel's choice
  std::vector<TargetLogin> targets;  // session i logs in to targets[i % size] (without a listener)
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
  SessionListener* listener = nullptr;  // none: every session is "<prefix>:<i>", idle once in
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

  // One session at a time, for a driver (SessionListener):
  // queue a login of session `i` (idle) after `delay`;
  void login_later(size_t i, Clock::duration delay);
  // append a framed PDU and send what the socket takes (false: the connection failed);
  bool send(size_t i, std::span<const uint8_t> pdu);
  // the CmdSN for the next non-immediate command (and count it), the ExpStatSN to send;
  uint32_t take_cmd_sn(size_t i) { return sessions_[i].cmd_sn++; }
  uint32_t exp_stat_sn(size_t i) const { return sessions_[i].exp_stat_sn; }
  void set_exp_stat_sn(size_t i, uint32_t v) { sessions_[i].exp_stat_sn = v; }
  bool in_full_feature(size_t i) const { return sessions_[i].state == State::full_feature; }
  // a Logout Request (on_session_end(logged_out) follows);
  void logout(size_t i);
  // close without a Logout, as a crashed host or a cut cable would (on_session_end(dropped) at once);
  void drop(size_t i);
  // the connection failed under the driver (on_session_end(lost) at once).
  void fail(size_t i) { lost(i); }

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
    NegotiatedKeys keys;
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
  bool on_login_response(size_t i, const iscsi::Bhs& bhs, std::span<const uint8_t> data);
  bool on_full_feature_pdu(size_t i, const iscsi::Bhs& bhs, std::span<const uint8_t> data);
  void send_login_request(size_t i);
  // The CHAP secret session `i` logs in with (null: none, or a listener decides).
  const ChapSecret* chap_of(size_t i) const;
  bool flush(size_t i);
  void watch_output(size_t i, bool on);
  // Ends the connection; `retry`: queue another login after a backoff.
  void close(size_t i, bool retry, SessionEnd how = SessionEnd::lost);
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
