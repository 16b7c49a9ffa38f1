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

#include "iscsi/session_params.h"

namespace scsipub::iscsi {

// Login status (RFC 7143 11.13.5).
namespace login_status {
inline constexpr uint8_t kSuccess = 0x00;
inline constexpr uint8_t kRedirect = 0x01;
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
  bool requires_auth = false;  // CHAP (issue 4); anonymous targets accept AuthMethod=None
};

class LoginTargetLookup {
 public:
  virtual ~LoginTargetLookup() = default;
  virtual std::optional<LoginTarget> find(std::string_view target_name) = 0;
};

class LoginNegotiator {
 public:
  LoginNegotiator(const TargetLoginPolicy& policy, LoginTargetLookup& targets);
  ~LoginNegotiator();

  LoginReply step(const LoginRequest& request);

  // Valid once a reply said complete.
  SessionType session_type() const;
  const std::string& initiator_name() const;
  const std::string& initiator_alias() const;
  const std::string& target_name() const;  // empty for discovery
  const SessionParams& params() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace scsipub::iscsi
