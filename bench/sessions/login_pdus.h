#pragma once
// The few PDUs a minimal initiator sends (RFC 7143): Login Requests for the
// security and operational stages, the NOP-Out that answers a target's ping,
// and a Logout Request; framed with the project's own header kinds. No
// digests (the load generator negotiates HeaderDigest=None, DataDigest=None).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "iscsi/pdu.h"
#include "sessions/chap_login.h"

namespace scsipub::bench {

// Stages of RFC 7143 6.3 as they appear in CSG/NSG.
inline constexpr uint8_t kSecurityStage = 0;
inline constexpr uint8_t kOperationalStage = 1;
inline constexpr uint8_t kFullFeature = 3;

struct LoginIdentity {
  std::string initiator;      // InitiatorName
  std::string target;         // TargetName
  uint16_t isid_qualifier = 0;
  const ChapSecret* chap = nullptr;  // none: AuthMethod=None; else one-way CHAP (chap_login.h)
};

// Where the login of one connection stands: the values the next request carries.
struct LoginProgress {
  uint8_t stage = kSecurityStage;
  uint32_t cmd_sn = 1;
  uint32_t exp_stat_sn = 0;
  uint16_t tsih = 0;
  bool first = true;    // the first request also names initiator, target and session type
  bool repeat = false;  // the target stayed in this stage: send no keys, only T=1 again
  ChapProgress chap;    // with LoginIdentity::chap: the step of the security stage
};

// Appends one PDU: the header, its data segment, the pad to 4 bytes (RFC 7143 11.2.3).
void append_pdu(std::vector<uint8_t>& out, const iscsi::Bhs& bhs, std::span<const uint8_t> data);

// Appends one framed Login Request to `out`. `one_round` puts every key in a
// single request that starts in the operational stage (RFC 7143 6.3 lets a
// login skip the security stage when no authentication is wanted); otherwise
// the request of the security stage offers AuthMethod=None and moves on to the
// operational one, as iscsid and libiscsi do. With `who.chap`, the security
// stage is the CHAP exchange instead (`at.chap` says which request; T=1 only
// with the answer); `one_round` must then be false.
void append_login_request(std::vector<uint8_t>& out, const LoginIdentity& who, const LoginProgress& at,
                          bool one_round);

// The NOP-Out answering a NOP-In ping (TTT != 0xffffffff, RFC 7143 11.18.1):
// immediate, ITT 0xffffffff, the ping's TTT, LUN and data echoed back.
void append_ping_reply(std::vector<uint8_t>& out, const iscsi::NopInHeader& ping, std::span<const uint8_t> data,
                       uint32_t cmd_sn, uint32_t exp_stat_sn);

// Logout Request, reason 0 "close the session" (RFC 7143 11.14.1).
void append_logout(std::vector<uint8_t>& out, uint32_t itt, uint32_t cmd_sn, uint32_t exp_stat_sn);

// The Login Response status classes the generator acts on (RFC 7143 11.13.5).
inline constexpr uint8_t kStatusSuccess = 0;
inline constexpr uint8_t kStatusTargetError = 3;
inline constexpr uint8_t kDetailOutOfResources = 2;

// What the Login Responses settled that shapes a write (RFC 7143 13): the
// target's MaxRecvDataSegmentLength (declarative, 13.12: the most data one
// PDU to it may carry), ImmediateData (13.11, Yes only if both said Yes),
// FirstBurstLength and MaxBurstLength (13.14, 13.13, the minimum of both).
// We offer InitialR2T=Yes, and the result is OR (13.10): no unsolicited
// Data-Out PDUs, only immediate data and data the target asks for with R2T.
struct NegotiatedKeys {
  uint32_t target_max_recv_data_segment = 8192;  // the default of 13.12
  bool immediate_data = true;
  uint32_t first_burst = 65536;
  uint32_t max_burst = 262144;
};

// Reads the keys above from one Login Response data segment ("k=v\0"...);
// unknown keys and malformed values are ignored, numbers are clamped to
// RFC 7143's ranges (512..2^24-1).
void read_login_keys(std::span<const uint8_t> data, NegotiatedKeys& keys);

// One complete PDU at the front of `in`: its total length, or 0 when more
// bytes are needed. A data segment longer than `max_data` is an error (-1).
long framed_length(std::span<const uint8_t> in, uint32_t max_data);

}  // namespace scsipub::bench
