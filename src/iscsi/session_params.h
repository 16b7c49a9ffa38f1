#pragma once
// The operational parameters a login negotiates (RFC 7143 section 13).
#include <cstdint>
#include <string>

namespace scsipub::iscsi {

enum class SessionType : uint8_t { normal, discovery };

struct SessionParams {
  bool header_digest = false;   // HeaderDigest=CRC32C
  bool data_digest = false;     // DataDigest=CRC32C
  uint32_t max_connections = 1;
  bool initial_r2t = true;
  bool immediate_data = true;
  // Declarative, per direction (RFC 7143 13.12):
  uint32_t initiator_max_recv_dsl = 8192;  // limit for every PDU we send
  uint32_t target_max_recv_dsl = 8192;     // limit for every PDU we receive (what we declared)
  uint32_t max_burst_length = 262144;
  uint32_t first_burst_length = 65536;
  uint32_t default_time2wait = 2;
  uint32_t default_time2retain = 20;
  uint32_t max_outstanding_r2t = 1;
  bool data_pdu_in_order = true;
  bool data_sequence_in_order = true;
  uint8_t error_recovery_level = 0;
};

// What this target is willing to agree to; the negotiator never answers beyond these.
struct TargetLoginPolicy {
  uint32_t max_recv_dsl = 262144;         // what we declare as MaxRecvDataSegmentLength
  uint32_t max_burst_length = 16u << 20;  // ceiling for MaxBurstLength
  uint32_t first_burst_length = 256u << 10;  // ceiling for FirstBurstLength
  uint32_t max_outstanding_r2t = 8;
  uint32_t max_connections = 1;
  uint32_t max_error_recovery_level = 0;
  bool allow_digests = true;              // accept CRC32C when offered
  uint16_t target_portal_group = 1;
  // Our side of the boolean and time keys (RFC 7143 13.10-13.19). InitialR2T
  // is OR-ed, so No lets the initiator choose; ImmediateData is AND-ed.
  bool initial_r2t = false;
  bool immediate_data = true;
  bool data_pdu_in_order = true;          // the Data-Out engine wants PDUs in order
  bool data_sequence_in_order = true;
  uint32_t default_time2wait = 2;         // result is the max of both sides
  uint32_t default_time2retain = 20;      // result is the min of both sides
};

}  // namespace scsipub::iscsi
