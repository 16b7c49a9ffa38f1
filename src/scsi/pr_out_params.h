#pragma once
// PERSISTENT RESERVE OUT parameter lists (SPC-4 6.16.3, 6.16.4) and iSCSI
// TransportIDs (SPC-4 7.6.4.6). Pure parsing: every offset is checked against
// the list before it is read, so the parsers take arbitrary bytes from the
// wire. Semantics (which service action may use which bit) live in
// persistent_reservations.cc.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "scsi/sense.h"

namespace scsipub::scsi {

// Why a parameter list was refused: PARAMETER LIST LENGTH ERROR or INVALID
// FIELD IN PARAMETER LIST, with the offending byte (and bit) of the list.
struct PrParamError {
  SenseReason reason = SenseReason::invalid_field_in_parameter_list;
  FieldPointer field{false, 0, -1};
};

// An iSCSI TransportID. Format 00b names an initiator device only (no ISID);
// format 01b names an initiator port: "<name>,i,0x<ISID>".
struct TransportId {
  uint8_t format = 0;
  std::string name;  // the iSCSI name
  std::string isid;  // 12 lower-case hex digits with format 01b, empty with 00b

  // "<name>,i,0x<isid>" for format 01b, the bare name for 00b.
  std::string initiator_port() const;
};

// SPC-4 table 7.x: PROTOCOL IDENTIFIER 5h is iSCSI.
inline constexpr uint8_t kProtocolIdIscsi = 0x5;

// Basic PR OUT parameter list (every service action but REGISTER AND MOVE):
// 24 bytes, plus the TransportID list when SPEC_I_PT is set.
struct PrOutBasicParams {
  uint64_t reservation_key = 0;
  uint64_t service_action_key = 0;
  bool spec_i_pt = false;
  bool all_tg_pt = false;
  bool aptpl = false;
  std::vector<TransportId> transport_ids;  // only with SPEC_I_PT
};

// REGISTER AND MOVE parameter list: 24-byte header plus one TransportID.
struct PrOutMoveParams {
  uint64_t reservation_key = 0;
  uint64_t service_action_key = 0;
  bool unreg = false;
  bool aptpl = false;
  uint16_t relative_target_port = 0;
  TransportId transport_id;
};

inline constexpr size_t kPrOutBasicLength = 24;

// `list` is exactly the PARAMETER LIST LENGTH bytes the CDB announced.
// SPC-4 6.16.3: without SPEC_I_PT the length must be 24; with it, 28 plus the
// TRANSPORTID PARAMETER DATA LENGTH, holding whole TransportIDs.
Result<PrOutBasicParams, PrParamError> parse_pr_out_basic(std::span<const uint8_t> list);
// SPC-4 6.16.4: 24 bytes plus TRANSPORTID PARAMETER DATA LENGTH.
Result<PrOutMoveParams, PrParamError> parse_pr_out_move(std::span<const uint8_t> list);

// One TransportID at the start of `data`; `*length` gets its size (4 +
// ADDITIONAL LENGTH). `base` is the offset of `data` within the parameter
// list, for field pointers.
Result<TransportId, PrParamError> parse_transport_id(std::span<const uint8_t> data, size_t* length,
                                                     uint16_t base = 0);

// Encodes an initiator port name as a TransportID: format 01b when it has the
// ",i,0x" separator, else 00b. NUL-terminated and padded to a multiple of
// four, at least 24 bytes (SPC-4 7.6.4.6).
std::vector<uint8_t> encode_iscsi_transport_id(std::string_view initiator_port);

// "<InitiatorName>,i,0x<ISID as 12 lower-case hex digits>": the initiator port
// name PR keys registrations by (SPC-4 7.6.4.6, RFC 7143 13.5.1).
std::string iscsi_initiator_port(std::string_view initiator_name, std::span<const uint8_t, 6> isid);

}  // namespace scsipub::scsi
