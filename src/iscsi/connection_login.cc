// The login phase of a Connection (RFC 7143 6, 11.12, 11.13): driving the
// negotiator, admitting the session at the final response, the held 03/01
// answer for a target nobody serves this instant, and the login journal.
// The full feature phase lives in connection.cc.
#include <spdlog/spdlog.h>

#include "iscsi/connection.h"
#include "iscsi/connection_adapters.h"

namespace scsipub::iscsi {

void Connection::on_login_pdu(const PduView& pdu) {
  const Bhs& b = pdu.bhs;
  if (b.opcode() != Opcode::login_request) {
    // RFC 7143 6.1: only Login Requests until the login completes.
    close(CloseReason::protocol_error);
    return;
  }
  // The answer is decided and waiting (see kUnavailablePace): anything more
  // the initiator sends changes nothing.
  if (held_until_) return;
  LoginRequest req = decode_login_request(b, pdu.data);
  uint32_t cmd_sn = req.cmd_sn;
  if (first_login_pdu_) {
    first_login_pdu_ = false;
    // The first response carries the StatSN the initiator expects next.
    seq_.stat_sn = req.exp_stat_sn;
    cid_ = req.cid;
    LoginReply early = begin_login_checks(req);
    if (early.close) {
      seq_.exp_cmd_sn = cmd_sn;
      send_login_reply(req, early, 0);
      note_login_outcome(early);
      close(CloseReason::login_failed);
      return;
    }
  }
  // Login requests are immediate: they carry ExpCmdSN without consuming it.
  seq_.exp_cmd_sn = cmd_sn;
  LoginReply reply = negotiator_->step(req);
  if (auth_only_ && !reply.close && anonymous_on_auth_slot(req, reply)) {
    limit_hit(Limit::auth_only_login, negotiator_->target() ? negotiator_->target()->name : "discovery");
    reply = LoginReply{};
    reply.csg = req.csg;
    reply.status_class = login_status::kTargetError;
    reply.status_detail = login_status::kOutOfResources;
    reply.close = true;
  }
  if (reply.close && reply.status_class == login_status::kTargetError &&
      reply.status_detail == login_status::kServiceUnavailable && negotiator_->target() &&
      negotiator_->target()->where == LoginTarget::Where::unavailable) {
    // Nobody serves the target this instant (a failover). open-iscsi retries
    // class 3 at once, with no Time2Wait (docs/REDIRECT.md): held back, the
    // answer paces every initiator to one attempt per kUnavailablePace.
    held_bhs_ = encode_login_reply(req, reply, 0);
    held_reply_ = std::move(reply);
    held_until_ = Clock::now() + kUnavailablePace;
    return;
  }
  uint16_t tsih = 0;
  if (reply.complete && !reply.close) {
    if (!finish_login(req, reply)) reply.complete = false;
    tsih = tsih_;
  }
  send_login_reply(req, reply, tsih);
  if (reply.close || reply.complete) note_login_outcome(reply);
  if (reply.close) {
    if (reply.status_class == login_status::kInitiatorError && reply.status_detail == login_status::kAuthFailure) {
      // CHAP failures are logged (throttled) by the authenticator's owner; this
      // covers a login that offered no usable method at all.
      spdlog::debug("login from {} refused: authentication failure (02/01)", portal_.peer_address);
    }
    close(CloseReason::login_failed);
    return;
  }
  if (reply.complete) {
    // Digests and the negotiated segment size apply from the next PDU on.
    phase_ = Phase::full_feature;
    limits_.header_digest = params_.header_digest;
    limits_.data_digest = params_.data_digest;
    limits_.max_data_segment = params_.target_max_recv_dsl;
    out_.set_digests(params_.header_digest, params_.data_digest);
  }
}

LoginReply Connection::begin_login_checks(const LoginRequest& req) {
  LoginReply r;
  r.csg = req.csg;
  r.nsg = req.nsg;
  if (refusal_) {
    r.status_class = refusal_->status_class;
    r.status_detail = refusal_->status_detail;
    r.close = true;
    return r;
  }
  if (req.tsih != 0) {
    // MaxConnections=1 at ERL 0: there is no session to add a connection to.
    r.status_class = login_status::kInitiatorError;
    r.status_detail =
        registry_.tsih_live(req.tsih) ? login_status::kCantIncludeInSession : login_status::kSessionDoesNotExist;
    r.close = true;
  }
  return r;
}

// A connection admitted into the reserved login slots may only become an
// authenticated session: refused as soon as the login shows a free-tier
// target, AuthMethod=None, or leaves (or skips) the security stage without
// CHAP (RFC 7143 6.3).
bool Connection::anonymous_on_auth_slot(const LoginRequest& req, const LoginReply& reply) const {
  const auto& target = negotiator_->target();
  if (target && !target->requires_auth) return true;
  if (negotiator_->auth_method() == "None") return true;
  const bool authenticated = !negotiator_->authenticated_user().empty();
  return !authenticated && (req.csg != static_cast<uint8_t>(Stage::security) || reply.transit);
}

bool Connection::finish_login(const LoginRequest& req, LoginReply& reply) {
  session_type_ = negotiator_->session_type();
  params_ = negotiator_->params();
  nexus_.initiator_name = negotiator_->initiator_name();
  nexus_.isid = req.isid;
  nexus_.target_name = negotiator_->target_name();
  nexus_.target_portal_group = config_.login.target_portal_group;

  bool discovery = session_type_ == SessionType::discovery;
  SessionKey key{nexus_.initiator_name, req.isid, nexus_.target_name};
  // RFC 7143 6.3.5 session reinstatement, fenced: many initiators (iPXE)
  // share one InitiatorName and draw ISIDs from few random bits, so a login
  // from another address must never end someone else's session.
  const bool reinstate = !discovery && registry_.reinstatable_from(key, portal_.peer_address);
  describe_session(discovery);
  NewSession wanted{key, portal_.peer_address, portal_.group(), discovery,
                    !negotiator_->authenticated_user().empty(), reinstate, terminate_, details_};
  SessionLimits limits{config_.max_sessions, config_.reserved_auth_sessions, config_.max_sessions_per_ip,
                       config_.max_discovery_sessions};
  SessionAdmission admitted = registry_.admit(std::move(wanted), limits);
  if (admitted.refused_by) limit_hit(*admitted.refused_by, discovery ? "discovery" : nexus_.target_name);
  SessionRecord rec = std::move(admitted.record);
  if (rec.tsih == 0) {
    reply.status_class = login_status::kTargetError;
    reply.status_detail = login_status::kOutOfResources;
    reply.close = true;
    reply.data.clear();
    return false;
  }
  registered_ = true;
  tsih_ = rec.tsih;
  nexus_.id = rec.id;

  if (discovery) {
    auth_user_ = negotiator_->authenticated_user();
  } else {
    auto bound = targets_.bind(nexus_.target_name, nexus_, portal_);
    if (!bound.ok()) {
      spdlog::warn("login of {} to {} refused: {}", nexus_.initiator_name, nexus_.target_name, bound.error().message);
      reply.status_class = bound.error().status_class;
      reply.status_detail = bound.error().status_detail;
      reply.close = true;
      reply.data.clear();
      return false;
    }
    binding_ = std::move(bound).value();
    auto lun_numbers = binding_->luns().luns();
    registry_.describe(nexus_.id, std::vector<uint32_t>(lun_numbers.begin(), lun_numbers.end()));
    engine_.set_counters(details_.counters.get());
    auth_user_ = negotiator_->authenticated_user();
    engine_.start(params_, &binding_->luns(), &nexus_);
  }
  spdlog::info("session {} tsih {}: {} logged in to {} from {} ({})", nexus_.id, tsih_, nexus_.initiator_name,
               discovery ? "discovery" : nexus_.target_name, portal_.peer_address,
               reinstate ? "reinstated" : "new");
  return true;
}

void Connection::describe_session(bool discovery) {
  const auto& target = negotiator_->target();
  details_.tls = portal_.tls;
  details_.kind = discovery ? "discovery" : (target ? target->kind : "");
  details_.image = discovery || !target ? "" : target->image;
  details_.since = std::chrono::system_clock::now();
  details_.started = Clock::now();
  details_.counters = std::make_shared<SessionCounters>();
  details_.end = end_session_;
}

// Every finished login counts by status class; a refused one also lands in
// the operator's journal, named by the limit that refused it when one did.
void Connection::note_login_outcome(const LoginReply& reply) {
  const auto& target = negotiator_->target();
  std::string_view kind = "unknown";
  if (negotiator_->session_type() == SessionType::discovery) {
    kind = "discovery";
  } else if (target) {
    kind = target->kind;
  }
  if (config_.traffic != nullptr) config_.traffic->count_login(kind, reply.status_class);
  // A redirect is not a refusal: the initiator logs in at the other portal
  // (counted as scsipub_login_redirects_total).
  if (reply.status_class == login_status::kSuccess || reply.status_class == login_status::kRedirect ||
      config_.login_journal == nullptr) {
    return;
  }
  std::string_view reason = login_refused_by_ ? LimitEvents::name(*login_refused_by_)
                                              : login_status_text(reply.status_class, reply.status_detail);
  config_.login_journal->refused(portal_.peer_address, portal_.group(), negotiator_->initiator_name(),
                                 login_lookup_->requested(), reason);
}

Bhs Connection::encode_login_reply(const LoginRequest& req, const LoginReply& reply, uint16_t tsih) {
  LoginResponseFields fields;
  fields.tsih = reply.complete ? tsih : 0;
  fields.stat_sn = seq_.stat_sn++;
  fields.exp_cmd_sn = seq_.exp_cmd_sn;
  fields.max_cmd_sn = seq_.max_cmd_sn();
  return encode_login_response(req, reply, fields);
}

void Connection::send_login_reply(const LoginRequest& req, const LoginReply& reply, uint16_t tsih) {
  out_.push_owned(encode_login_reply(req, reply, tsih), reply.data);
}

void Connection::release_login_state() {
  if (phase_ != Phase::full_feature) return;
  // The negotiator refers to the other two, so it goes first.
  negotiator_.reset();
  login_auth_.reset();
  login_lookup_.reset();
}

void Connection::on_login_tick(Clock::time_point now) {
  if (held_until_ && now >= *held_until_) {
    out_.push_owned(held_bhs_, held_reply_.data);
    note_login_outcome(held_reply_);
    close(CloseReason::login_failed);
    return;
  }
  if (now >= login_deadline_) {
    limit_hit(Limit::login_timeout);
    close(CloseReason::login_timeout);
  }
}

}  // namespace scsipub::iscsi
