#pragma once
// One iSCSI connection, from the first Login Request to Logout, as a pure
// state machine: the transport feeds it framed PDUs and ticks of the clock and
// writes out whatever it leaves in the outbox. With MaxConnections=1 and
// ErrorRecoveryLevel=0 a session is exactly one connection, so session state
// (CmdSN window, tasks, the target binding) lives here too.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/limit_events.h"
#include "iscsi/command_engine.h"
#include "iscsi/login_journal.h"
#include "iscsi/login_negotiator.h"
#include "iscsi/outbox.h"
#include "iscsi/pdu.h"
#include "iscsi/sequence_state.h"
#include "iscsi/session_registry.h"
#include "iscsi/target_provider.h"
#include "iscsi/text_exchange.h"
#include "iscsi/traffic_metrics.h"

namespace scsipub::iscsi {

struct ConnectionConfig {
  TargetLoginPolicy login;
  EngineLimits engine;
  uint32_t cmd_window = 128;                       // MaxCmdSN - ExpCmdSN + 1
  std::chrono::milliseconds login_timeout{15000};  // a login must finish within this
  std::chrono::milliseconds nop_interval{15000};   // idle time before we ping
  std::chrono::milliseconds nop_timeout{30000};    // unanswered ping: connection is dead
  size_t max_stash_bytes = 8u << 20;               // PDUs parked behind a CmdSN gap
  // Session admission (SessionLimits; docs/SECURITY.md "Admission model").
  size_t max_sessions = 0;            // logged-in sessions server-wide; 0 = no limit
  size_t reserved_auth_sessions = 0;  // of max_sessions, only for CHAP-authenticated sessions
  size_t max_sessions_per_ip = 0;     // anonymous sessions per address group; 0 = no limit
  size_t max_discovery_sessions = 0;  // anonymous discovery sessions server-wide; 0 = no limit
  LimitEvents* limit_events = nullptr;             // where refusals are counted; may be null
  TrafficMetrics* traffic = nullptr;               // login outcomes, ended sessions; may be null
  LoginJournal* login_journal = nullptr;           // recent refused logins; may be null
};

// A login refused before it starts (a limit hit when the connection was
// accepted): the first Login Response carries this status, then we close.
struct LoginRefusal {
  uint8_t status_class = 0;
  uint8_t status_detail = 0;
};

// What accept decided for a connection (net/iscsi_server.cc).
struct LoginAdmission {
  std::optional<LoginRefusal> refusal;
  // Admitted into the login slots reserved for authenticated logins: only a
  // login that authenticates with CHAP may finish on it; a free-tier target
  // or AuthMethod=None is answered 03/02 as soon as a request shows it.
  bool auth_only = false;
};

enum class CloseReason : uint8_t {
  none,
  logout,
  login_failed,
  login_timeout,
  protocol_error,
  digest_error,
  nop_timeout,
  reinstated,
  target_reset,
  shutdown,
};
const char* to_string(CloseReason r);

class Connection {
 public:
  using Clock = std::chrono::steady_clock;
  // How long a 03/01 answer for a target nobody serves this instant is held
  // back: the pace of an initiator's retries during a failover.
  static constexpr std::chrono::milliseconds kUnavailablePace{1000};

  // `config` and `portal` must outlive the connection (the transport's).
  Connection(const ConnectionConfig& config, TargetProvider& targets, SessionRegistry& registry,
             const PortalInfo& portal, std::function<void()> terminate,
             Clock::time_point now);
  // Temporaries would dangle: the connection keeps references to both.
  Connection(ConnectionConfig&&, TargetProvider&, SessionRegistry&, const PortalInfo&, std::function<void()>,
             Clock::time_point) = delete;
  Connection(const ConnectionConfig&, TargetProvider&, SessionRegistry&, PortalInfo&&, std::function<void()>,
             Clock::time_point) = delete;
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Limits for the next frame; they change when login completes.
  FrameLimits frame_limits() const { return limits_; }
  void on_pdu(const PduView& pdu, Clock::time_point now);
  // A frame the codec refused (length or digest). Header problems end the
  // connection; a data digest error is rejected (RFC 7143 7.8).
  void on_frame_error(FrameError error, std::span<const uint8_t> header);
  void on_tick(Clock::time_point now);
  // SIGTERM: ask the initiator to log out within `seconds` (Async Message).
  void request_logout(uint16_t seconds);
  // How the operator ends this session from another thread (logout request,
  // then drop); handed to the registry at login.
  void set_end_session(std::function<void(uint16_t seconds)> end) { end_session_ = std::move(end); }
  // Answer the first Login Request with `refusal` instead of negotiating.
  void refuse_login(LoginRefusal refusal) { refusal_ = refusal; }
  void admit(const LoginAdmission& a) {
    refusal_ = a.refusal;
    auth_only_ = a.auth_only;
  }

  Outbox& outbox() { return out_; }
  // The transport wrote every PDU it took from the outbox: payload buffers
  // they referenced may be reused.
  void on_flushed();
  // Stop reading; flush the outbox, then close.
  bool closing() const { return close_reason_ != CloseReason::none; }
  CloseReason close_reason() const { return close_reason_; }
  void close(CloseReason why) {
    if (close_reason_ == CloseReason::none) close_reason_ = why;
  }

  bool logged_in() const { return phase_ == Phase::full_feature; }
  // Once logged in: frees the login's negotiator, key buffers and lookups,
  // which an idle session would otherwise carry for its whole life. Call
  // after the final Login Response is queued (it owns its payload).
  void release_login_state();
  uint64_t session_id() const { return nexus_.id; }
  const std::string& initiator_name() const { return nexus_.initiator_name; }
  const std::string& target_name() const { return nexus_.target_name; }
  Clock::time_point next_deadline() const;
  uint64_t peak_buffered_bytes() const { return engine_.peak_buffered_bytes(); }
  // Where SCSI commands that may block execute (null: inline). The
  // transport's executor runs them off its loop and calls back on it;
  // commands that are memory work run on the loop either way.
  void set_executor(TaskExecutor* executor) { engine_.set_executor(executor); }
  // Runs the commands that became ready: memory work at once, the rest
  // handed to the executor as one batch.
  void start_commands() { engine_.start_ready(); }
  // A command batch is out on the executor: this Connection must outlive it.
  bool executing() const { return engine_.executing(); }
  // Going away: commands of that batch that have not started are skipped.
  void cancel_execution() { engine_.cancel_execution(); }
  size_t pooled_buffers() const { return engine_.pooled_buffers(); }

 private:
  enum class Phase : uint8_t { login, full_feature };
  struct Stashed {
    Bhs bhs;
    std::vector<uint8_t> ahs;
    std::vector<uint8_t> data;
    size_t bytes() const;
  };

  class LoginLookup;
  class LoginAuth;
  class SendTargets;

  // The login phase (connection_login.cc).
  void on_login_pdu(const PduView& pdu);
  // Sends the held 03/01 answer when its time comes; ends a login past its deadline.
  void on_login_tick(Clock::time_point now);
  LoginReply begin_login_checks(const LoginRequest& req);
  bool finish_login(const LoginRequest& req, LoginReply& reply);
  bool anonymous_on_auth_slot(const LoginRequest& req, const LoginReply& reply) const;
  void send_login_reply(const LoginRequest& req, const LoginReply& reply, uint16_t tsih);
  // The Login Response header for `reply` (takes the next StatSN).
  Bhs encode_login_reply(const LoginRequest& req, const LoginReply& reply, uint16_t tsih);
  void note_login_outcome(const LoginReply& reply);
  void describe_session(bool discovery);
  void on_ffp_pdu(const PduView& pdu);
  bool admit_immediate(const PduView& pdu);
  bool ordered(const PduView& pdu);
  void dispatch(const PduView& pdu);
  bool stash(uint32_t sn, Stashed pdu);
  Stashed unstash(std::map<uint32_t, Stashed>::iterator it);
  static Stashed placeholder(uint32_t sn);
  void replay_stash();
  void on_nop_out(const PduView& pdu);
  void on_text(const PduView& pdu);
  void on_logout(const PduView& pdu);
  void on_task_mgmt(const PduView& pdu);
  uint8_t task_mgmt_response(const TaskMgmtRequestHeader& in);
  uint8_t abort_task(const TaskMgmtRequestHeader& in);
  void reject(const Bhs& bhs, uint8_t reason);
  void check_engine(const Bhs& current);
  void limit_hit(Limit limit, std::string_view detail = {});

  // The server's, shared by all its connections (a copy each would cost
  // every idle session its size); it outlives them.
  const ConnectionConfig& config_;
  TargetProvider& targets_;
  SessionRegistry& registry_;
  const PortalInfo& portal_;  // the transport's copy: one per connection, not two
  std::function<void()> terminate_;
  std::function<void(uint16_t)> end_session_;
  SessionDetails details_;  // what the registry and the metrics know of this session

  Phase phase_ = Phase::login;
  CloseReason close_reason_ = CloseReason::none;
  FrameLimits limits_;
  Outbox out_;
  SequenceState seq_;
  bool first_login_pdu_ = true;
  std::optional<LoginRefusal> refusal_;
  bool auth_only_ = false;
  std::optional<Limit> login_refused_by_;  // the limit a refused login ran into
  std::unique_ptr<LoginLookup> login_lookup_;
  std::unique_ptr<LoginAuth> login_auth_;
  std::unique_ptr<LoginNegotiator> negotiator_;
  // Made at the first Text Request (most sessions never send one).
  std::unique_ptr<SendTargets> send_targets_;
  std::unique_ptr<TextExchange> text_;
  std::string auth_user_;  // the CHAP user, for SendTargets; empty when anonymous
  SessionParams params_;
  SessionType session_type_ = SessionType::normal;
  lu::Nexus nexus_;
  uint16_t tsih_ = 0;
  uint16_t cid_ = 0;
  bool registered_ = false;
  std::unique_ptr<TargetBinding> binding_;
  CommandEngine engine_;

  std::map<uint32_t, Stashed> stash_;                // by CmdSN
  std::unordered_map<uint32_t, uint32_t> stash_by_itt_;  // stashed SCSI command ITT -> CmdSN
  size_t stash_bytes_ = 0;

  Clock::time_point login_deadline_;
  // A 03/01 "service unavailable" answer held back until `held_until_`
  // (kUnavailablePace), then sent and the connection closed.
  std::optional<Clock::time_point> held_until_;
  LoginReply held_reply_;
  Bhs held_bhs_;
  Clock::time_point last_rx_;
  std::optional<Clock::time_point> ping_sent_;
  uint32_t ping_ttt_ = 0;
  uint32_t next_ping_tag_ = 1;
};

}  // namespace scsipub::iscsi
