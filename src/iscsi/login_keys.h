#pragma once
// Operational login keys (RFC 7143 section 13) as one table: each key's value
// type, range, which side may send it, whether it is irrelevant in a
// discovery session, and its result function. The login negotiator asks
// this file what to answer to one key; the stage rules live there.
#include <optional>
#include <string>
#include <string_view>

#include "iscsi/session_params.h"
#include "iscsi/text_keys.h"

namespace scsipub::iscsi {

// RFC 7143 13.12, 13.13, 13.14: the legal range of the length keys.
inline constexpr uint32_t kMinDataLength = 512;
inline constexpr uint32_t kMaxDataLength = (1u << 24) - 1;

// AuthMethod and the keys of the authentication methods (RFC 7143 12.1):
// only legal in the security stage.
bool is_security_key(std::string_view key);

enum class KeyUse : uint8_t {
  unknown,      // not in the table: answered NotUnderstood anywhere
  negotiated,   // operational stage only (RFC 7143 6.3)
  declarative,  // may also appear in the security stage
};
KeyUse key_use(std::string_view key);

struct KeyAnswer {
  // The value to answer with; nullopt for declarations that need no answer.
  std::optional<std::string> value;
  // The value makes the login impossible (an out-of-range declaration, which
  // cannot be answered with Reject without clashing with our own
  // declaration of the same key): initiator error.
  bool fatal = false;
};

// Negotiates one operational key the initiator sent, updating `params` with
// the result (RFC 7143 6.2 result functions). Out-of-range or malformed
// values are answered Reject and leave the default in place.
KeyAnswer negotiate_key(const KeyValue& kv, const TargetLoginPolicy& policy, SessionType type,
                        SessionParams& params);

// RFC 7143 13.14: FirstBurstLength must not exceed MaxBurstLength, whichever
// order the keys came in. Returns true if it lowered first_burst_length.
bool clamp_first_burst(SessionParams& params);

}  // namespace scsipub::iscsi
