#include "iscsi/connection.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "iscsi/connection_adapters.h"
#include "iscsi/serial_number.h"
#include "scsi/lun_address.h"

namespace scsipub::iscsi {
namespace {

// Reject reasons (RFC 7143 11.17.1).
constexpr uint8_t kRejectDataDigest = 0x02;
constexpr uint8_t kRejectProtocolError = 0x04;
constexpr uint8_t kRejectNotSupported = 0x05;
constexpr uint8_t kRejectImmediateCommand = 0x06;  // too many immediate commands
constexpr uint8_t kRejectInvalidField = 0x09;

// AsyncEvent 1: the target requests a logout (RFC 7143 11.9.1).
constexpr uint8_t kAsyncLogoutRequest = 1;

// Task management functions and responses (RFC 7143 11.5.1, 11.6.1).
enum TmfFunction : uint8_t {
  kAbortTask = 1,
  kAbortTaskSet = 2,
  kClearAca = 3,
  kClearTaskSet = 4,
  kLogicalUnitReset = 5,
  kTargetWarmReset = 6,
  kTargetColdReset = 7,
  kTaskReassign = 8,
};
enum TmfResponse : uint8_t {
  kTmfComplete = 0,
  kTmfNoTask = 1,
  kTmfNoLun = 2,
  kTmfReassignNotSupported = 4,
  kTmfNotSupported = 5,
};

}  // namespace

const char* to_string(CloseReason r) {
  switch (r) {
    case CloseReason::none: return "open";
    case CloseReason::logout: return "logout";
    case CloseReason::login_failed: return "login failed";
    case CloseReason::login_timeout: return "login timeout";
    case CloseReason::protocol_error: return "protocol error";
    case CloseReason::digest_error: return "digest error";
    case CloseReason::nop_timeout: return "NOP-In ping timeout";
    case CloseReason::reinstated: return "session reinstated";
    case CloseReason::target_reset: return "target cold reset";
    case CloseReason::shutdown: return "shutdown";
  }
  return "?";
}

Connection::Connection(const ConnectionConfig& config, TargetProvider& targets, SessionRegistry& registry,
                       const PortalInfo& portal, std::function<void()> terminate,
                       Clock::time_point now)
    : config_(config),
      targets_(targets),
      registry_(registry),
      portal_(portal),
      terminate_(std::move(terminate)),
      engine_(out_, seq_, config.engine),
      login_deadline_(now + config.login_timeout),
      last_rx_(now) {
  // RFC 7143 13.12: login PDUs stay within 8192 bytes; we allow our declared
  // maximum so a slightly generous initiator still logs in.
  limits_.max_data_segment = std::max<uint32_t>(8192, config_.login.max_recv_dsl);
  seq_.window = config_.cmd_window;
  login_lookup_ = std::make_unique<LoginLookup>(targets_, portal_);
  login_auth_ = std::make_unique<LoginAuth>(targets_, portal_);
  negotiator_ = std::make_unique<LoginNegotiator>(config_.login, *login_lookup_, login_auth_.get());
}

namespace {

// What the binding is told about the end: only a Logout is a clean one. A
// connection that vanished without a close reason (EOF, reset) was dropped.
SessionEnd session_end(CloseReason why) {
  switch (why) {
    case CloseReason::logout: return SessionEnd::logout;
    case CloseReason::reinstated: return SessionEnd::reinstated;
    case CloseReason::target_reset: return SessionEnd::reset;
    case CloseReason::shutdown: return SessionEnd::shutdown;
    default: return SessionEnd::dropped;
  }
}

}  // namespace

Connection::~Connection() {
  engine_.abort_all(std::nullopt);
  // No task is left: the binding may hand its logical units on.
  if (binding_) binding_->end(session_end(close_reason_));
  binding_.reset();  // detaches; free-tier overlays go with it (or are retained for a reinstating login)
  if (registered_) {
    registry_.remove(nexus_.id);
    if (config_.traffic != nullptr) config_.traffic->retire(details_, Clock::now());
  }
}

void Connection::limit_hit(Limit limit, std::string_view detail) {
  if (phase_ == Phase::login) login_refused_by_ = limit;
  count_limit(config_.limit_events, limit, portal_.peer_address, detail);
}

void Connection::on_flushed() { engine_.release_sent(); }

Connection::Clock::time_point Connection::next_deadline() const {
  if (phase_ == Phase::login) return held_until_ ? std::min(*held_until_, login_deadline_) : login_deadline_;
  if (ping_sent_) return *ping_sent_ + config_.nop_timeout;
  return last_rx_ + config_.nop_interval;
}

void Connection::on_pdu(const PduView& pdu, Clock::time_point now) {
  if (closing()) return;
  last_rx_ = now;
  if (phase_ == Phase::login) {
    on_login_pdu(pdu);
  } else {
    on_ffp_pdu(pdu);
  }
}

void Connection::on_frame_error(FrameError error, std::span<const uint8_t> header) {
  if (error == FrameError::data_digest && phase_ == Phase::full_feature && header.size() >= kBhsSize) {
    // RFC 7143 7.8: a data digest error is rejected; at ERL 0 the command
    // cannot be recovered, so the connection ends after the Reject.
    reject(Bhs(header), kRejectDataDigest);
    close(CloseReason::digest_error);
    return;
  }
  if (error == FrameError::data_segment_too_long || error == FrameError::ahs_too_long) {
    limit_hit(Limit::oversize_pdu, to_string(error));
  } else {
    spdlog::info("connection from {}: {}", portal_.peer_address, to_string(error));
  }
  close(error == FrameError::header_digest || error == FrameError::data_digest ? CloseReason::digest_error
                                                                                : CloseReason::protocol_error);
}

// ---- Full Feature Phase (the login phase is in connection_login.cc) ----

void Connection::on_ffp_pdu(const PduView& pdu) {
  Opcode op = pdu.bhs.opcode();
  switch (op) {
    case Opcode::data_out:
      if (session_type_ == SessionType::discovery) {
        reject(pdu.bhs, kRejectProtocolError);
        return;
      }
      engine_.on_data_out(pdu);
      check_engine(pdu.bhs);
      return;
    case Opcode::scsi_command:
      if (pdu.bhs.immediate() && !admit_immediate(pdu)) return;
      [[fallthrough]];
    case Opcode::nop_out:
    case Opcode::task_mgmt_request:
    case Opcode::text_request:
    case Opcode::logout_request:
      if (ordered(pdu)) {
        dispatch(pdu);
        replay_stash();
      }
      return;
    case Opcode::login_request:
    case Opcode::snack_request:  // ERL 0: no SNACK support
      reject(pdu.bhs, kRejectProtocolError);
      return;
    default:
      reject(pdu.bhs, kRejectNotSupported);
      return;
  }
}

// RFC 7143 3.2.2.1: immediate commands are not held to the CmdSN window, so
// the task and buffer limits are their bound; past them the target "MAY
// reject" with reason 0x06 and the initiator may retry later.
bool Connection::admit_immediate(const PduView& pdu) {
  if (session_type_ == SessionType::discovery || engine_.admits_immediate(pdu.data.size())) return true;
  limit_hit(Limit::immediate_commands);
  reject(pdu.bhs, kRejectImmediateCommand);
  return false;
}

// RFC 7143 4.2.2.1 / 3.2.2.1: non-immediate commands are delivered in CmdSN
// order; ones ahead of a gap wait (bounded), duplicates and ones outside the
// window are dropped silently.
bool Connection::ordered(const PduView& pdu) {
  const Bhs& b = pdu.bhs;
  if (b.immediate()) return true;
  // Every PDU that reaches here carries CmdSN at the same place (11.3, 11.5, 11.10, 11.14, 11.18).
  uint32_t sn = InitiatorHeader(b).cmd_sn();
  // RFC 7143 3.2.2.1: the range is [ExpCmdSN, MaxCmdSN] as advertised, and
  // MaxCmdSN already excludes the slots held by outstanding tasks (it is
  // ExpCmdSN - 1 when the window is closed); ExpCmdSN + window - 1 let an
  // initiator queue past it and grow the task table without bound.
  if (sn_gt(sn, seq_.max_cmd_sn())) {
    limit_hit(Limit::command_window);
    return false;
  }
  if (sn == seq_.exp_cmd_sn) {
    ++seq_.exp_cmd_sn;
    return true;
  }
  if (sn_gt(sn, seq_.exp_cmd_sn) && !stash_.contains(sn)) {
    stash(sn, Stashed{b, {pdu.ahs.begin(), pdu.ahs.end()}, {pdu.data.begin(), pdu.data.end()}});
  }
  return false;
}

size_t Connection::Stashed::bytes() const { return kBhsSize + ahs.size() + data.size(); }

// Every PDU parked behind a gap, placeholders included, counts against
// max_stash_bytes; the window already bounds how many there can be.
bool Connection::stash(uint32_t sn, Stashed pdu) {
  if (stash_bytes_ + pdu.bytes() > config_.max_stash_bytes) {
    limit_hit(Limit::command_gap);
    close(CloseReason::protocol_error);
    return false;
  }
  stash_bytes_ += pdu.bytes();
  if (pdu.bhs.opcode() == Opcode::scsi_command) stash_by_itt_[pdu.bhs.itt()] = sn;
  stash_.emplace(sn, std::move(pdu));
  return true;
}

Connection::Stashed Connection::unstash(std::map<uint32_t, Stashed>::iterator it) {
  Stashed s = std::move(it->second);
  stash_bytes_ -= s.bytes();
  if (auto i = stash_by_itt_.find(s.bhs.itt()); i != stash_by_itt_.end() && i->second == it->first) {
    stash_by_itt_.erase(i);
  }
  stash_.erase(it);
  return s;
}

void Connection::replay_stash() {
  while (!closing()) {
    auto it = stash_.find(seq_.exp_cmd_sn);
    if (it == stash_.end()) return;
    Stashed s = unstash(it);
    ++seq_.exp_cmd_sn;
    PduView v{s.bhs, s.ahs, s.data};
    dispatch(v);
  }
}

// A NOP-Out with ITT and TTT reserved: no reply, no ping match. It holds the
// CmdSN of a task that was aborted before it could run (RFC 7143 11.5.1 b:
// the target "must consider the CmdSN as received"), so ExpCmdSN moves past it.
Connection::Stashed Connection::placeholder(uint32_t sn) {
  NopOutHeader filler;
  filler.set_itt(kReservedTag);
  filler.set_ttt(kReservedTag);
  filler.set_cmd_sn(sn);
  return Stashed{filler, {}, {}};
}

void Connection::dispatch(const PduView& pdu) {
  switch (pdu.bhs.opcode()) {
    case Opcode::nop_out:
      on_nop_out(pdu);
      return;
    case Opcode::scsi_command:
      if (session_type_ == SessionType::discovery) {
        // RFC 7143 4.3: a discovery session carries only Text and Logout.
        reject(pdu.bhs, kRejectProtocolError);
        return;
      }
      engine_.on_command(pdu);
      check_engine(pdu.bhs);
      return;
    case Opcode::task_mgmt_request:
      on_task_mgmt(pdu);
      return;
    case Opcode::text_request:
      on_text(pdu);
      return;
    case Opcode::logout_request:
      on_logout(pdu);
      return;
    default:
      reject(pdu.bhs, kRejectNotSupported);
      return;
  }
}

void Connection::check_engine(const Bhs& current) {
  if (engine_.fault() != EngineFault::protocol_error || closing()) return;
  // RFC 7143 6.8: tell the initiator which PDU broke the protocol, then drop
  // the connection (no recovery at ERL 0).
  reject(current, kRejectProtocolError);
  close(CloseReason::protocol_error);
}

// RFC 7143 11.18-11.19.
void Connection::on_nop_out(const PduView& pdu) {
  const NopOutHeader in(pdu.bhs);
  uint32_t itt = in.itt();
  if (itt == kReservedTag) {
    // An answer to our ping (TTT echoes it), or a bare CmdSN update.
    if (ping_sent_ && in.ttt() == ping_ttt_) ping_sent_.reset();
    return;
  }
  NopInHeader b;
  b.set_lun_raw(in.lun_raw());
  b.set_itt(itt);
  b.set_ttt(kReservedTag);
  seq_.stamp(b);
  // Ping data comes back, never more than the initiator can receive.
  size_t n = std::min<size_t>(pdu.data.size(), params_.initiator_max_recv_dsl);
  out_.push_owned(b, std::vector<uint8_t>(pdu.data.begin(), pdu.data.begin() + static_cast<ptrdiff_t>(n)));
}

void Connection::on_text(const PduView& pdu) {
  const TextRequestHeader in(pdu.bhs);
  TextRequest req;
  req.final_bit = in.final_bit();
  req.cont = in.continue_bit();
  req.itt = in.itt();
  req.ttt = in.ttt();
  req.data = pdu.data;
  // Made at the first Text Request: most sessions never send one, and an
  // idle session should not carry it.
  if (!text_) {
    // A normal session reports its own target for an empty SendTargets= (text_exchange.h).
    std::string own = session_type_ == SessionType::discovery ? std::string() : nexus_.target_name;
    send_targets_ = std::make_unique<SendTargets>(targets_, portal_, std::move(own), auth_user_);
    text_ = std::make_unique<TextExchange>(*send_targets_, params_.initiator_max_recv_dsl);
  }
  TextReply reply = text_->step(req);
  if (reply.reject) {
    reject(in, kRejectInvalidField);
    return;
  }
  TextResponseHeader b;
  b.set_final(reply.final_bit);
  b.set_continue(reply.cont);
  b.set_lun_raw(in.lun_raw());
  b.set_itt(in.itt());
  b.set_ttt(reply.ttt);
  seq_.stamp(b);
  out_.push_owned(b, std::move(reply.data));
}

// RFC 7143 11.14-11.15.
void Connection::on_logout(const PduView& pdu) {
  const LogoutRequestHeader in(pdu.bhs);
  uint8_t reason = in.reason_code();
  uint8_t response = 0;  // closed successfully
  if (reason == 1 && in.cid() != cid_) response = 1;  // CID not found
  if (reason == 2) response = 2;                      // recovery not supported at ERL 0
  if (reason > 2) {
    reject(in, kRejectInvalidField);
    return;
  }
  LogoutResponseHeader b;
  b.set_response(response);
  b.set_itt(in.itt());
  seq_.stamp(b);
  b.set_time2wait(0);
  b.set_time2retain(0);  // nothing to retain at ERL 0
  out_.push(b);
  if (response == 0) close(CloseReason::logout);
}

void Connection::on_task_mgmt(const PduView& pdu) {
  const TaskMgmtRequestHeader in(pdu.bhs);
  uint8_t response = task_mgmt_response(in);
  TaskMgmtResponseHeader b;
  b.set_response(response);
  b.set_itt(in.itt());
  seq_.stamp(b);
  out_.push(b);
  if (in.function() == kTargetColdReset && response == kTmfComplete) close(CloseReason::target_reset);
}

uint8_t Connection::task_mgmt_response(const TaskMgmtRequestHeader& in) {
  uint8_t function = in.function();
  if (session_type_ == SessionType::discovery || !binding_) return kTmfNotSupported;
  uint64_t lun = scsi::decode_lun(in.lun_raw());
  const scsi::LunMap& luns = binding_->luns();
  switch (function) {
    case kAbortTask:
      return abort_task(in);
    case kAbortTaskSet:
    case kClearTaskSet:
      if (luns.find(lun) == nullptr) return kTmfNoLun;
      engine_.abort_all(lun);
      return kTmfComplete;
    case kLogicalUnitReset: {
      lu::LogicalUnit* unit = luns.find(lun);
      if (unit == nullptr) return kTmfNoLun;
      engine_.abort_all(lun);
      unit->logical_unit_reset();
      return kTmfComplete;
    }
    case kTargetWarmReset:
    case kTargetColdReset:
      engine_.abort_all(std::nullopt);
      for (uint64_t l : luns.luns()) {
        if (lu::LogicalUnit* unit = luns.find(l)) unit->target_reset(function == kTargetColdReset);
      }
      return kTmfComplete;
    case kTaskReassign:
      return kTmfReassignNotSupported;  // ERL 0
    case kClearAca:
    default:
      return kTmfNotSupported;
  }
}

// RFC 7143 11.5.1 ABORT TASK. Every lookup is O(1) or O(log n) in the
// stash, and the stash holds at most one PDU per CmdSN in the window.
uint8_t Connection::abort_task(const TaskMgmtRequestHeader& in) {
  uint32_t rtt = in.referenced_task_tag();
  if (engine_.abort_task(rtt)) return kTmfComplete;
  if (auto i = stash_by_itt_.find(rtt); i != stash_by_itt_.end()) {
    // Received behind a gap: it never runs, but its CmdSN still counts.
    uint32_t sn = i->second;
    unstash(stash_.find(sn));
    stash(sn, placeholder(sn));
    return kTmfComplete;
  }
  // A task not received yet whose RefCmdSN lies in the window (so at or past
  // ExpCmdSN, at most MaxCmdSN) and before this request counts as aborted
  // (ESXi relies on this). One already completed is "no task". An immediate
  // TMF's own CmdSN is not checked, so the window is what bounds RefCmdSN.
  uint32_t ref = in.ref_cmd_sn();
  uint32_t cmd_sn = in.cmd_sn();
  if (!sn_le(seq_.exp_cmd_sn, ref) || !sn_le(ref, seq_.max_cmd_sn()) || !sn_lt(ref, cmd_sn)) return kTmfNoTask;
  if (!stash_.contains(ref) && !stash(ref, placeholder(ref))) return kTmfNoTask;
  return kTmfComplete;  // replay_stash() runs after this TMF
}

void Connection::reject(const Bhs& bad, uint8_t reason) {
  RejectHeader b;
  b.set_reason(reason);
  b.set_itt(kReservedTag);
  seq_.stamp(b);
  out_.push_owned(b, std::vector<uint8_t>(bad.bytes().begin(), bad.bytes().end()));
}

void Connection::on_tick(Clock::time_point now) {
  if (closing()) return;
  if (phase_ == Phase::login) {
    on_login_tick(now);
    return;
  }
  if (ping_sent_) {
    if (now - *ping_sent_ >= config_.nop_timeout) {
      limit_hit(Limit::nop_timeout);
      close(CloseReason::nop_timeout);
    }
    return;
  }
  if (now - last_rx_ < config_.nop_interval) return;
  // Quiet for a whole ping interval: memory only busy sessions need goes back.
  engine_.trim_idle();
  // RFC 7143 11.19: an unsolicited NOP-In asks for a NOP-Out echoing the TTT.
  ping_ttt_ = next_ping_tag_++;
  if (next_ping_tag_ == kReservedTag) next_ping_tag_ = 1;
  NopInHeader b;
  b.set_itt(kReservedTag);
  b.set_ttt(ping_ttt_);
  seq_.stamp(b, /*advance=*/false);
  out_.push(b);
  ping_sent_ = now;
}

// RFC 7143 11.9.1 AsyncEvent 1: the target requests a logout.
void Connection::request_logout(uint16_t seconds) {
  if (phase_ != Phase::full_feature || closing()) {
    close(CloseReason::shutdown);
    return;
  }
  AsyncMessageHeader b;
  b.set_itt(kReservedTag);
  seq_.stamp(b);
  b.set_async_event(kAsyncLogoutRequest);
  b.set_parameter1(0);
  b.set_parameter2(0);
  b.set_parameter3(seconds);  // Time2Wait before the target drops the connection
  out_.push(b);
}

}  // namespace scsipub::iscsi
