#pragma once
// Login phase as a pure state machine (RFC 7143 sections 6 and 11.12-11.13):
// stages, transit rules, key negotiation and status codes. No sockets, no
// session table: the connection feeds decoded Login Requests and sends what
// comes back; TSIH allocation and reinstatement are the caller's job once
// the reply says `complete`.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "iscsi/pdu.h"
#include "iscsi/session_params.h"
#include "iscsi/text_keys.h"

namespace scsipub::iscsi {

// Login status (RFC 7143 11.13.5).
namespace login_status {
inline constexpr uint8_t kSuccess = 0x00;
inline constexpr uint8_t kRedirect = 0x01;
// details for class 1
inline constexpr uint8_t kMovedTemporarily = 0x01;
inline constexpr uint8_t kMovedPermanently = 0x02;
inline constexpr uint8_t kInitiatorError = 0x02;
inline constexpr uint8_t kTargetError = 0x03;
// details for class 2
inline constexpr uint8_t kGeneric = 0x00;
inline constexpr uint8_t kAuthFailure = 0x01;
inline constexpr uint8_t kForbidden = 0x02;
inline constexpr uint8_t kNotFound = 0x03;
inline constexpr uint8_t kRemoved = 0x04;
inline constexpr uint8_t kUnsupportedVersion = 0x05;
inline constexpr uint8_t kTooManyConnections = 0x06;
inline constexpr uint8_t kMissingParameter = 0x07;
inline constexpr uint8_t kCantIncludeInSession = 0x08;
inline constexpr uint8_t kSessionTypeNotSupported = 0x09;
inline constexpr uint8_t kSessionDoesNotExist = 0x0a;
inline constexpr uint8_t kInvalidDuringLogin = 0x0b;
// details for class 3
inline constexpr uint8_t kTargetErrorGeneric = 0x00;
inline constexpr uint8_t kServiceUnavailable = 0x01;
inline constexpr uint8_t kOutOfResources = 0x02;
}  // namespace login_status

enum class Stage : uint8_t { security = 0, operational = 1, full_feature = 3 };

struct LoginRequest {
  bool transit = false;
  bool cont = false;
  uint8_t csg = 0;
  uint8_t nsg = 0;
  uint8_t version_max = 0;
  uint8_t version_min = 0;
  std::array<uint8_t, 6> isid{};
  uint16_t tsih = 0;
  uint32_t itt = 0;
  uint16_t cid = 0;
  uint32_t cmd_sn = 0;       // additive: copied from the BHS for the caller
  uint32_t exp_stat_sn = 0;
  std::span<const uint8_t> data;  // key=value\0 pairs
};

struct LoginReply {
  bool transit = false;
  bool cont = false;
  uint8_t csg = 0;
  uint8_t nsg = 0;
  uint8_t status_class = login_status::kSuccess;
  uint8_t status_detail = 0;
  std::vector<uint8_t> data;  // key=value\0 pairs to send
  bool complete = false;      // transit to Full Feature Phase accepted
  bool close = false;         // failure reply: send it, then close the connection
};

// What the negotiator needs to know about a target an initiator names.
struct LoginTarget {
  std::string name;
  std::string alias;
  bool requires_auth = false;  // CHAP; anonymous targets accept AuthMethod=None
  // Metric labels and the dashboard's grouping, from a bounded set decided by
  // the provider ("blank", "image", "multi", "disk"; the catalog name of an
  // image target), never from what an initiator sent.
  std::string kind;
  std::string image;
  // Where the target is served at this instant. `moved`: the first Login
  // Request naming it is answered 01/01 "target moved temporarily" with
  // TargetAddress=`target_address` (RFC 7143 11.13.5, 13.8); `unavailable`:
  // 03/01 "service unavailable", which initiators retry later. Either way the
  // login ends there, before authentication.
  enum class Where : uint8_t { here, moved, unavailable };
  Where where = Where::here;
  std::string target_address;  // "host:port,tpgt" (IPv6 host in brackets), for `moved`
};

// Who names the target: what a provider needs to tell a new session from one
// being reinstated (RFC 7143 6.3.5: same InitiatorName and ISID).
struct LoginRequester {
  std::string_view initiator_name;
  std::array<uint8_t, 6> isid{};
};

class LoginTargetLookup {
 public:
  virtual ~LoginTargetLookup() = default;
  virtual std::optional<LoginTarget> find(std::string_view target_name, const LoginRequester& who) = 0;
};

// The login-phase MaxRecvDataSegmentLength (RFC 7143 13.12: 8192 until the
// operational values take effect in Full Feature Phase). Longer replies go
// out in pieces with C=1.
inline constexpr size_t kLoginMaxDataSegment = 8192;

// Authentication seam (RFC 7143 12.1). When the initiator's AuthMethod list
// names a method the factory provides, the negotiator hands every later
// security-stage key that belongs to the method (CHAP_A, CHAP_I, CHAP_C,
// CHAP_N, CHAP_R for CHAP, RFC 7143 12.1.3) to one Authenticator per login and
// lets the initiator leave the security stage only after it said success.
class Authenticator {
 public:
  enum class Outcome : uint8_t { in_progress, success, failure };
  virtual ~Authenticator() = default;
  // True for keys this method consumes, e.g. "CHAP_A".
  virtual bool owns_key(std::string_view key) const = 0;
  // One request's worth of this method's keys, in order; appends the keys to
  // answer with. Called once per complete Login Request in the security
  // stage, also with no keys (the initiator may just ask to transit).
  virtual Outcome step(std::span<const KeyValue> keys, TextWriter& reply) = 0;
  // Who authenticated (the CHAP_N), once step() said success.
  virtual std::string identity() const { return {}; }
};

class AuthenticatorFactory {
 public:
  virtual ~AuthenticatorFactory() = default;
  // An authenticator for `method` ("CHAP"), or nullptr when this target
  // cannot use that method (unknown method, no credentials configured).
  // Discovery sessions pass a LoginTarget with an empty name.
  virtual std::unique_ptr<Authenticator> create(std::string_view method, const LoginTarget& target,
                                                std::string_view initiator_name) = 0;
};

// How the caller drives it: for every Login Request PDU,
//   LoginRequest req = decode_login_request(pdu.bhs, pdu.data);
//   LoginReply reply = negotiator.step(req);
//   Bhs bhs = encode_login_response(req, reply, {tsih, stat_sn, exp_cmd_sn, max_cmd_sn});
//   send bhs + reply.data (padded);
// then close the connection when reply.close, or enter Full Feature Phase
// with params() when reply.complete (allocate the TSIH before encoding that
// last response). req.data points into the PDU buffer: keep it alive for
// the step() call only.
class LoginNegotiator {
 public:
  // `auth` may be null: then targets that require authentication refuse every
  // login with 02/01.
  LoginNegotiator(const TargetLoginPolicy& policy, LoginTargetLookup& targets,
                  AuthenticatorFactory* auth = nullptr);
  ~LoginNegotiator();

  LoginReply step(const LoginRequest& request);

  // Valid once a reply said complete.
  SessionType session_type() const;
  const std::string& initiator_name() const;
  const std::string& initiator_alias() const;
  const std::string& target_name() const;  // empty for discovery
  const SessionParams& params() const;
  // Additive: the looked-up target (normal sessions) and the method agreed.
  const std::optional<LoginTarget>& target() const;
  const std::string& auth_method() const;  // "None", "CHAP", or "" if never negotiated
  // The authenticated user (CHAP_N), or empty for AuthMethod=None.
  std::string authenticated_user() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// RFC 7143 11.12: the Login Request fields, with data pointing at `data`.
LoginRequest decode_login_request(const Bhs& bhs, std::span<const uint8_t> data);

// The fields of a Login Response the negotiator does not own.
struct LoginResponseFields {
  uint16_t tsih = 0;  // 0 until the final response of a new session's leading login
  uint32_t stat_sn = 0;
  uint32_t exp_cmd_sn = 0;
  uint32_t max_cmd_sn = 0;
};

// RFC 7143 11.13: the Login Response BHS for `reply` (DataSegmentLength is
// reply.data.size(); versions 0x00; ISID, ITT echoed from the request).
Bhs encode_login_response(const LoginRequest& request, const LoginReply& reply,
                          const LoginResponseFields& fields);

}  // namespace scsipub::iscsi
