#pragma once
// iSCSI PDU framing (RFC 7143 section 11): the 48-byte Basic Header Segment,
// optional AHS, header digest, data segment padded to 4 bytes, data digest.
// Everything here is a pure function over bytes, fuzzed directly.
#include <array>
#include <cstdint>
#include <span>

#include "common/bytes.h"

namespace scsipub::iscsi {

inline constexpr size_t kBhsSize = 48;
inline constexpr size_t kDigestSize = 4;
inline constexpr uint32_t kReservedTag = 0xffffffff;

enum class Opcode : uint8_t {
  // initiator -> target (RFC 7143 11.1.1)
  nop_out = 0x00,
  scsi_command = 0x01,
  task_mgmt_request = 0x02,
  login_request = 0x03,
  text_request = 0x04,
  data_out = 0x05,
  logout_request = 0x06,
  snack_request = 0x10,
  // target -> initiator
  nop_in = 0x20,
  scsi_response = 0x21,
  task_mgmt_response = 0x22,
  login_response = 0x23,
  text_response = 0x24,
  data_in = 0x25,
  logout_response = 0x26,
  r2t = 0x31,
  async_message = 0x32,
  reject = 0x3f,
};

bool is_initiator_opcode(uint8_t op);

// A BHS by value, with accessors by RFC field offset. Named accessors cover the
// fields shared by most opcodes; opcode-specific fields use u8/u16/u32 at the
// offsets the RFC gives, with the section cited at the call site.
class Bhs {
 public:
  Bhs() = default;
  explicit Bhs(std::span<const uint8_t> src);  // src.size() >= kBhsSize

  std::array<uint8_t, kBhsSize>& bytes() { return b_; }
  const std::array<uint8_t, kBhsSize>& bytes() const { return b_; }

  uint8_t opcode_raw() const { return b_[0] & 0x3f; }
  Opcode opcode() const { return static_cast<Opcode>(opcode_raw()); }
  void set_opcode(Opcode op, bool immediate = false) {
    b_[0] = uint8_t((immediate ? 0x40 : 0) | (uint8_t(op) & 0x3f));
  }
  bool immediate() const { return (b_[0] & 0x40) != 0; }
  bool final_bit() const { return (b_[1] & 0x80) != 0; }
  uint8_t flags() const { return b_[1]; }
  void set_flags(uint8_t f) { b_[1] = f; }

  uint32_t total_ahs_bytes() const { return uint32_t(b_[4]) * 4; }
  void set_total_ahs_words(uint8_t w) { b_[4] = w; }
  uint32_t data_segment_length() const { return load_be24(&b_[5]); }
  void set_data_segment_length(uint32_t n) { store_be24(&b_[5], n); }

  uint64_t lun_raw() const { return load_be64(&b_[8]); }
  void set_lun_raw(uint64_t v) { store_be64(&b_[8], v); }
  uint32_t itt() const { return load_be32(&b_[16]); }
  void set_itt(uint32_t v) { store_be32(&b_[16], v); }

  uint8_t u8(size_t off) const { return b_[off]; }
  uint16_t u16(size_t off) const { return load_be16(&b_[off]); }
  uint32_t u32(size_t off) const { return load_be32(&b_[off]); }
  void set_u8(size_t off, uint8_t v) { b_[off] = v; }
  void set_u16(size_t off, uint16_t v) { store_be16(&b_[off], v); }
  void set_u32(size_t off, uint32_t v) { store_be32(&b_[off], v); }

 private:
  std::array<uint8_t, kBhsSize> b_{};
};

// Common field offsets (RFC 7143 section 11).
namespace off {
inline constexpr size_t kTtt = 20;          // Target Transfer Tag / EDTL / CID
inline constexpr size_t kCmdSn = 24;        // initiator PDUs
inline constexpr size_t kExpStatSn = 28;    // initiator PDUs
inline constexpr size_t kStatSn = 24;       // target PDUs
inline constexpr size_t kExpCmdSn = 28;     // target PDUs
inline constexpr size_t kMaxCmdSn = 32;     // target PDUs
inline constexpr size_t kDataSn = 36;       // Data-In/Out, R2TSN in R2T
inline constexpr size_t kBufferOffset = 40; // Data-In/Out, R2T
inline constexpr size_t kResidual = 44;     // SCSI Response, Data-In; DDTL in R2T
inline constexpr size_t kCdb = 32;          // SCSI Command
}  // namespace off

// The padded on-wire length of a data segment.
inline uint32_t pad4(uint32_t n) { return (n + 3u) & ~3u; }

struct FrameLimits {
  uint32_t max_data_segment = 8192;  // our declared MaxRecvDataSegmentLength
  uint32_t max_ahs_bytes = 1020;     // TotalAHSLength is 8 bits of words
  bool header_digest = false;
  bool data_digest = false;
};

enum class FrameError : uint8_t {
  none,
  data_segment_too_long,  // larger than we declared: protocol error
  ahs_too_long,
  header_digest,          // CRC32C mismatch over BHS+AHS
  data_digest,            // CRC32C mismatch over the padded data segment
};

const char* to_string(FrameError e);

// Where one PDU ends in a byte stream. Validates the header against the limits
// before anything is allocated for the payload.
struct FrameCheck {
  enum class Kind : uint8_t { need_more, ready, error } kind = Kind::need_more;
  size_t total = 0;  // whole PDU size in bytes once known (Kind::ready, or need_more with header)
  FrameError error = FrameError::none;
};
FrameCheck check_frame(std::span<const uint8_t> in, const FrameLimits& limits);

// One parsed PDU; spans point into the caller's buffer.
struct PduView {
  Bhs bhs;
  std::span<const uint8_t> ahs;
  std::span<const uint8_t> data;  // unpadded
};

// Splits a complete frame (check_frame said ready, in.size() >= total) and
// verifies digests. The returned error is header_digest or data_digest.
FrameError parse_frame(std::span<const uint8_t> in, const FrameLimits& limits, PduView& out);

}  // namespace scsipub::iscsi
