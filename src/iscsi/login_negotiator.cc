#include "iscsi/login_negotiator.h"

#include <algorithm>
#include <functional>

#include "iscsi/login_keys.h"

namespace scsipub::iscsi {
namespace {

// RFC 7143 13.6: an iSCSI name is at most 223 bytes.
constexpr size_t kMaxIscsiName = 223;

// Room for a typical login reply's keys (about 300 bytes for the
// operational stage), so building it does not regrow the buffer key by key.
constexpr size_t kTypicalReplyText = 512;

constexpr uint8_t stage_value(Stage s) { return static_cast<uint8_t>(s); }

// Failure reasons for LoginReply; a struct so helpers can return "no error".
struct Status {
  uint8_t status_class = login_status::kSuccess;
  uint8_t detail = 0;
  bool ok() const { return status_class == login_status::kSuccess; }
};
constexpr Status kOk{};
constexpr Status initiator_error(uint8_t detail) { return Status{login_status::kInitiatorError, detail}; }

}  // namespace

struct LoginNegotiator::Impl {
  Impl(const TargetLoginPolicy& p, LoginTargetLookup& t, AuthenticatorFactory* a)
      : policy(p), targets(t), auth_factory(a) {}

  const TargetLoginPolicy policy;
  LoginTargetLookup& targets;
  AuthenticatorFactory* auth_factory;

  // Progress through the login.
  Stage stage = Stage::security;
  bool started = false;        // first request header seen
  bool identified = false;     // first complete key set accepted (names, target)
  bool finished = false;       // transit to FFP sent
  std::optional<LoginReply> failure;  // sticky: every later step repeats it

  // Header fields that must not change within one login (RFC 7143 11.12).
  std::array<uint8_t, 6> isid{};
  uint16_t tsih = 0;
  uint16_t cid = 0;

  // Who is logging in.
  SessionType type = SessionType::normal;
  std::string initiator_name;
  std::string initiator_alias;
  std::string target_name;
  std::optional<LoginTarget> target;

  // Authentication (RFC 7143 12.1).
  std::string auth_method;  // agreed method, empty until AuthMethod negotiated
  std::unique_ptr<Authenticator> authenticator;
  bool authenticated = false;

  // Negotiation bookkeeping: the keys already offered in this stage, kept
  // sorted (one allocation for the lot instead of a hash node per key).
  std::vector<std::string> keys_this_stage;
  bool declared_tpgt = false;
  bool declared_mrdsl = false;
  SessionParams params;

  // Request text continued with C=1 (RFC 7143 11.12.2).
  TextAccumulator request_text;
  // Reply text not sent yet (RFC 7143 11.13: C=1 in the response) and the
  // transit decided when it was built.
  std::vector<uint8_t> pending;
  size_t pending_off = 0;
  bool pending_transit = false;
  uint8_t pending_nsg = 0;

  LoginReply step(const LoginRequest& req);
  LoginReply fail(Status s);
  Status check_header(const LoginRequest& req);
  Status identify(std::span<const KeyValue> keys);
  Status process(const LoginRequest& req, std::span<const KeyValue> keys);
  bool note_keys(std::span<const KeyValue> keys);
  Status negotiate_auth_method(std::string_view value, TextWriter& out);
  Status decide_transit(const LoginRequest& req);
  void declare_target_values(TextWriter& out, bool include_mrdsl);
  LoginReply next_chunk(const LoginRequest& req);
  void enter(Stage s);
};

LoginReply LoginNegotiator::Impl::fail(Status s) {
  LoginReply r;
  r.csg = stage_value(stage);
  r.status_class = s.status_class;
  r.status_detail = s.detail;
  r.close = true;
  if (s.status_class == login_status::kRedirect && target) {
    // RFC 7143 11.13.5 / 13.8: a redirect names where to go.
    TextWriter out;
    out.add("TargetAddress", target->target_address);
    r.data = out.take();
  }
  failure = r;
  pending.clear();
  request_text.clear();
  return r;
}

void LoginNegotiator::Impl::enter(Stage s) {
  if (s != stage) keys_this_stage.clear();
  stage = s;
}

Status LoginNegotiator::Impl::check_header(const LoginRequest& req) {
  if (!started) {
    // RFC 7143 11.12.4 / 11.13.4: we speak version 0x00 only.
    if (req.version_min > 0) return initiator_error(login_status::kUnsupportedVersion);
    isid = req.isid;
    tsih = req.tsih;
    cid = req.cid;
  } else if (req.isid != isid || req.tsih != tsih || req.cid != cid) {
    // RFC 7143 11.12.5-11.12.7: ISID, TSIH and CID stay the same for the
    // whole login.
    return initiator_error(login_status::kGeneric);
  }
  // RFC 7143 11.12.3: CSG/NSG 2 is reserved, and the login never *is* in
  // Full Feature Phase.
  if (req.csg != stage_value(Stage::security) && req.csg != stage_value(Stage::operational)) {
    return initiator_error(login_status::kGeneric);
  }
  // RFC 7143 11.12.2: C=1 requires T=0.
  if (req.cont && req.transit) return initiator_error(login_status::kGeneric);
  if (req.transit) {
    // RFC 7143 11.12.3 / 6.3: transit only forward, to operational or FFP.
    if (req.nsg == 2 || req.nsg > 3 || req.nsg <= req.csg) return initiator_error(login_status::kGeneric);
  }
  if (req.csg < stage_value(stage)) return initiator_error(login_status::kGeneric);
  if (req.csg > stage_value(stage)) {
    // RFC 7143 6.3: the initiator may skip the security stage by starting
    // in the operational stage -- only with its first request.
    if (started) return initiator_error(login_status::kGeneric);
    enter(Stage::operational);
  }
  started = true;
  return kOk;
}

// The declarative identity keys of the first complete request (RFC 7143
// 13.4-13.6, 11.12: InitiatorName always, TargetName for a normal session).
Status LoginNegotiator::Impl::identify(std::span<const KeyValue> keys) {
  auto find = [&](std::string_view k) -> const std::string* {
    for (const auto& kv : keys) {
      if (kv.key == k) return &kv.value;
    }
    return nullptr;
  };
  const std::string* iname = find("InitiatorName");
  if (iname == nullptr) return initiator_error(login_status::kMissingParameter);
  if (iname->empty() || iname->size() > kMaxIscsiName) return initiator_error(login_status::kGeneric);
  initiator_name = *iname;

  // RFC 7143 13.21: SessionType defaults to Normal.
  if (const std::string* st = find("SessionType")) {
    if (*st == "Normal") type = SessionType::normal;
    else if (*st == "Discovery") type = SessionType::discovery;
    else return initiator_error(login_status::kSessionTypeNotSupported);
  }
  if (type == SessionType::normal) {
    const std::string* tname = find("TargetName");
    if (tname == nullptr) return initiator_error(login_status::kMissingParameter);
    if (tname->empty() || tname->size() > kMaxIscsiName) return initiator_error(login_status::kNotFound);
    target = targets.find(*tname, LoginRequester{initiator_name, isid});
    if (!target) return initiator_error(login_status::kNotFound);
    target_name = *tname;
    // RFC 7143 11.13.5: served elsewhere right now. Answered at the request
    // that names the target, whatever else it carries (security keys
    // included): nothing negotiated here would carry over to the new portal.
    if (target->where == LoginTarget::Where::moved) {
      return Status{login_status::kRedirect, login_status::kMovedTemporarily};
    }
    if (target->where == LoginTarget::Where::unavailable) {
      return Status{login_status::kTargetError, login_status::kServiceUnavailable};
    }
  }
  // RFC 7143 6.3: skipping the security stage is only for targets that do
  // not require authentication.
  if (stage == Stage::operational && target && target->requires_auth) {
    return initiator_error(login_status::kAuthFailure);
  }
  identified = true;
  return kOk;
}

// RFC 7143 12.1 / 13.x AuthMethod: the first method of the initiator's list
// this target can use. Anonymous targets use None; targets that require
// authentication use whatever the factory provides (CHAP).
Status LoginNegotiator::Impl::negotiate_auth_method(std::string_view value, TextWriter& out) {
  auto list = split_list(value);
  if (!list) return initiator_error(login_status::kGeneric);
  const bool required = target && target->requires_auth;
  for (auto method : *list) {
    if (method == "None") {
      if (required) continue;
      auth_method = "None";
      authenticated = true;
      out.add("AuthMethod", method);
      return kOk;
    }
    // Discovery sessions may authenticate without having to: an account's
    // CHAP credentials make SendTargets list that account's disks.
    const bool optional = type == SessionType::discovery;
    if ((!required && !optional) || auth_factory == nullptr) continue;
    if (auto a = auth_factory->create(method, target ? *target : LoginTarget{}, initiator_name)) {
      authenticator = std::move(a);
      auth_method = std::string(method);
      out.add("AuthMethod", method);
      return kOk;
    }
  }
  // No method in common: for a target that requires authentication this is
  // an authentication failure (RFC 7143 11.13.5, 02/01); an anonymous target
  // offered only methods it has no secrets for refuses the same way.
  return initiator_error(login_status::kAuthFailure);
}

void LoginNegotiator::Impl::declare_target_values(TextWriter& out, bool include_mrdsl) {
  // RFC 7143 13.9: the target sends TargetPortalGroupTag in the first Login
  // Response of a normal session; 13.7: TargetAlias is declared if set.
  if (!declared_tpgt && type == SessionType::normal) {
    out.add("TargetPortalGroupTag", uint64_t{policy.target_portal_group});
    if (target && !target->alias.empty()) out.add("TargetAlias", target->alias);
    declared_tpgt = true;
  }
  // RFC 7143 13.12: each side declares its own MaxRecvDataSegmentLength; we
  // do so unasked in the operational stage (or when the initiator jumps from
  // security straight to FFP), otherwise the initiator would assume 8192.
  if (include_mrdsl && !declared_mrdsl) {
    const uint32_t ours = std::clamp(policy.max_recv_dsl, kMinDataLength, kMaxDataLength);
    out.add("MaxRecvDataSegmentLength", uint64_t{ours});
    params.target_max_recv_dsl = ours;
    declared_mrdsl = true;
  }
}

// RFC 7143 6.2: a key must not be negotiated twice; within one stage we
// treat a repeat (in this request or an earlier one) as an initiator error.
// Sorting keeps it O(n log n) for the few thousand keys a hostile request of
// the accumulated-text cap can hold.
bool LoginNegotiator::Impl::note_keys(std::span<const KeyValue> keys) {
  std::vector<std::string_view> names;
  names.reserve(keys.size());
  for (const auto& kv : keys) names.emplace_back(kv.key);
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end()) return false;
  for (std::string_view n : names) {
    if (std::binary_search(keys_this_stage.begin(), keys_this_stage.end(), n, std::less<>())) return false;
  }
  const auto old_end = static_cast<std::ptrdiff_t>(keys_this_stage.size());
  keys_this_stage.insert(keys_this_stage.end(), names.begin(), names.end());
  std::inplace_merge(keys_this_stage.begin(), keys_this_stage.begin() + old_end, keys_this_stage.end());
  return true;
}

Status LoginNegotiator::Impl::process(const LoginRequest& req, std::span<const KeyValue> keys) {
  if (!note_keys(keys)) return initiator_error(login_status::kGeneric);
  if (!identified) {
    Status s = identify(keys);
    if (!s.ok()) return s;
  }

  TextWriter out;
  out.reserve(kTypicalReplyText);
  declare_target_values(out, stage == Stage::operational);

  std::vector<KeyValue> auth_keys;
  bool answered_first_burst = false;
  std::vector<KeyValue> answers;  // built first so FirstBurstLength can be fixed up
  answers.reserve(keys.size());
  for (const auto& kv : keys) {
    const std::string& k = kv.key;
    // Declaratives of the identity: checked in identify(); a later repeat
    // must say the same thing.
    if (k == "InitiatorName") {
      if (kv.value != initiator_name) return initiator_error(login_status::kGeneric);
      continue;
    }
    if (k == "TargetName") {
      if (type == SessionType::normal && kv.value != target_name) return initiator_error(login_status::kGeneric);
      continue;
    }
    if (k == "SessionType") {
      const std::string_view agreed = type == SessionType::discovery ? "Discovery" : "Normal";
      if (kv.value != agreed) return initiator_error(login_status::kGeneric);
      continue;
    }
    if (k == "InitiatorAlias") {  // RFC 7143 13.6: declarative, recorded
      initiator_alias = kv.value;
      continue;
    }
    if (is_security_key(k)) {
      // RFC 7143 6.3: security keys only in the security stage.
      if (stage != Stage::security) return initiator_error(login_status::kGeneric);
      if (k == "AuthMethod") {
        Status s = negotiate_auth_method(kv.value, out);
        if (!s.ok()) return s;
      } else if (authenticator && authenticator->owns_key(k)) {
        auth_keys.push_back(kv);
      } else {
        // CHAP_x without an agreed method that uses it.
        return initiator_error(login_status::kGeneric);
      }
      continue;
    }
    const KeyUse use = key_use(k);
    // RFC 7143 6.3: non-declarative operational keys belong to the
    // operational stage.
    if (use == KeyUse::negotiated && stage == Stage::security) return initiator_error(login_status::kGeneric);
    KeyAnswer a = negotiate_key(kv, policy, type, params);
    if (a.fatal) return initiator_error(login_status::kGeneric);
    if (k == "FirstBurstLength") answered_first_burst = true;
    if (a.value) answers.push_back(KeyValue{k, std::move(*a.value)});
  }
  if (clamp_first_burst(params) && answered_first_burst) {
    for (auto& a : answers) {
      if (a.key == "FirstBurstLength") a.value = std::to_string(params.first_burst_length);
    }
  }
  for (const auto& a : answers) out.add(a.key, a.value);

  if (authenticator && !authenticated) {
    switch (authenticator->step(auth_keys, out)) {
      case Authenticator::Outcome::in_progress: break;
      case Authenticator::Outcome::success: authenticated = true; break;
      case Authenticator::Outcome::failure: return initiator_error(login_status::kAuthFailure);
    }
  }

  pending = out.take();
  pending_off = 0;
  pending_transit = false;
  Status s = decide_transit(req);
  if (!s.ok()) return s;
  if (pending_transit && pending_nsg == stage_value(Stage::full_feature) && !declared_mrdsl) {
    // Security -> FFP directly: declare now, there is no operational stage.
    TextWriter extra;
    declare_target_values(extra, true);
    pending.insert(pending.end(), extra.bytes().begin(), extra.bytes().end());
  }
  return kOk;
}

// RFC 7143 6.3 / 11.13.3: the target may transit only when the initiator
// asked to (T=1), and only when the stage's business is done.
Status LoginNegotiator::Impl::decide_transit(const LoginRequest& req) {
  if (!req.transit) return kOk;
  if (stage == Stage::security) {
    // An authentication still running answers T=0 and continues; no
    // method at all means the initiator tried to walk past it.
    if (authenticator && !authenticated) return kOk;
    const bool required = target && target->requires_auth;
    if (required && !authenticated) return initiator_error(login_status::kAuthFailure);
  }
  pending_transit = true;
  pending_nsg = req.nsg;
  return kOk;
}

// Sends the next piece of the reply: C=1 while more is left (RFC 7143
// 11.13.2: then T=0), the stage transition with the last piece.
LoginReply LoginNegotiator::Impl::next_chunk(const LoginRequest& req) {
  LoginReply r;
  r.csg = stage_value(stage);
  const size_t left = pending.size() - pending_off;
  if (pending_off == 0 && left <= kLoginMaxDataSegment) {
    // The usual case: the whole reply fits one PDU; hand it over, no copy.
    r.data = std::move(pending);
    pending = {};
  } else {
    const size_t n = std::min(left, kLoginMaxDataSegment);
    const auto first = pending.begin() + static_cast<std::ptrdiff_t>(pending_off);
    r.data.assign(first, first + static_cast<std::ptrdiff_t>(n));
    pending_off += n;
    if (pending_off < pending.size()) {
      r.cont = true;
      return r;
    }
    pending.clear();
  }
  pending_off = 0;
  // The target never sets T when this request had T=0 (RFC 7143 11.13.3); the
  // initiator then asks again later with T=1.
  if (pending_transit && req.transit) {
    r.transit = true;
    r.nsg = pending_nsg;
    if (pending_nsg == stage_value(Stage::full_feature)) {
      r.complete = true;
      finished = true;
    } else {
      enter(static_cast<Stage>(pending_nsg));
    }
  }
  pending_transit = false;
  return r;
}

LoginReply LoginNegotiator::Impl::step(const LoginRequest& req) {
  if (failure) return *failure;
  // A request after the final response is a caller bug or a hostile peer.
  if (finished) return fail(initiator_error(login_status::kInvalidDuringLogin));

  Status s = check_header(req);
  if (!s.ok()) return fail(s);

  if (!pending.empty()) {
    // RFC 7143 11.13.2: while our reply is continued, the initiator sends
    // empty requests in the same stage to collect the rest.
    if (!req.data.empty() || req.cont || req.csg != stage_value(stage)) {
      return fail(initiator_error(login_status::kGeneric));
    }
    return next_chunk(req);
  }

  if (req.cont || !request_text.empty()) {
    if (!request_text.append(req.data)) return fail(initiator_error(login_status::kGeneric));
  }
  if (req.cont) {
    // RFC 7143 11.13.2: acknowledge a partial request with an empty reply,
    // T=0, same stage, and wait for the rest.
    LoginReply r;
    r.csg = stage_value(stage);
    return r;
  }

  // A request not continued from earlier ones (the usual case) is parsed
  // where it lies, without a copy into the accumulator.
  TextParse parsed = parse_text(request_text.empty() ? req.data : request_text.data());
  request_text.clear();
  if (!parsed.ok()) return fail(initiator_error(login_status::kGeneric));
  s = process(req, parsed.pairs);
  if (!s.ok()) return fail(s);
  return next_chunk(req);
}

LoginNegotiator::LoginNegotiator(const TargetLoginPolicy& policy, LoginTargetLookup& targets,
                                 AuthenticatorFactory* auth)
    : impl_(std::make_unique<Impl>(policy, targets, auth)) {}
LoginNegotiator::~LoginNegotiator() = default;

LoginReply LoginNegotiator::step(const LoginRequest& request) { return impl_->step(request); }
SessionType LoginNegotiator::session_type() const { return impl_->type; }
const std::string& LoginNegotiator::initiator_name() const { return impl_->initiator_name; }
const std::string& LoginNegotiator::initiator_alias() const { return impl_->initiator_alias; }
const std::string& LoginNegotiator::target_name() const { return impl_->target_name; }
const SessionParams& LoginNegotiator::params() const { return impl_->params; }
const std::optional<LoginTarget>& LoginNegotiator::target() const { return impl_->target; }
const std::string& LoginNegotiator::auth_method() const { return impl_->auth_method; }
std::string LoginNegotiator::authenticated_user() const {
  return impl_->authenticator && impl_->authenticated ? impl_->authenticator->identity() : std::string();
}

}  // namespace scsipub::iscsi
