#pragma once
// iSCSI PDU framing (RFC 7143 section 11): the 48-byte Basic Header Segment,
// optional AHS, header digest, data segment padded to 4 bytes, data digest.
// Everything here is a pure function over bytes, fuzzed directly.
#include <algorithm>
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

// A BHS by value. The fields every PDU has (RFC 7143 11.2.1) are public here;
// the opcode-specific ones are named on the header kinds below, one class per
// PDU kind, so no code outside this file knows a byte position. A kind is a
// Bhs (same 48 bytes, no other state): build one and push it, or copy an
// incoming Bhs into the kind it is to read its fields. Everything is inline.
class Bhs {
 public:
  Bhs() = default;
  explicit Bhs(std::span<const uint8_t> src);  // src.size() >= kBhsSize

  std::array<uint8_t, kBhsSize>& bytes() { return b_; }
  const std::array<uint8_t, kBhsSize>& bytes() const { return b_; }

  // Byte 0: the I bit and the 6-bit opcode (11.2.1.2).
  uint8_t opcode_raw() const { return b_[0] & kOpcodeMask; }
  Opcode opcode() const { return static_cast<Opcode>(opcode_raw()); }
  void set_opcode(Opcode op, bool immediate = false) { set_opcode_raw(uint8_t(op), immediate); }
  // Any 6-bit code, defined or not (tests that send what no initiator should).
  void set_opcode_raw(uint8_t op, bool immediate = false) {
    b_[0] = uint8_t((immediate ? kImmediateBit : 0) | (op & kOpcodeMask));
  }
  bool immediate() const { return (b_[0] & kImmediateBit) != 0; }
  void set_immediate(bool on) { b_[0] = uint8_t((b_[0] & kOpcodeMask) | (on ? kImmediateBit : 0)); }

  // TotalAHSLength in 4-byte words, DataSegmentLength (11.2.1.4-11.2.1.5).
  uint32_t total_ahs_bytes() const { return uint32_t(b_[4]) * 4; }
  void set_total_ahs_words(uint8_t w) { b_[4] = w; }
  uint32_t data_segment_length() const { return load_be24(&b_[5]); }
  void set_data_segment_length(uint32_t n) { store_be24(&b_[5], n); }
  // Initiator Task Tag (11.2.1.8): bytes 16-19 in every PDU.
  uint32_t itt() const { return load_be32(&b_[16]); }
  void set_itt(uint32_t v) { store_be32(&b_[16], v); }

 protected:
  static constexpr uint8_t kImmediateBit = 0x40;
  static constexpr uint8_t kOpcodeMask = 0x3f;
  // Byte 1 holds the opcode-specific flags; bit 7 is F (T in login) or a fixed 1.
  static constexpr uint8_t kBit7 = 0x80;
  static constexpr uint8_t kContinueBit = 0x40;  // C in Text and Login (11.10.2, 11.12.2)

  explicit Bhs(Opcode op, uint8_t flags = 0) {
    set_opcode(op);
    b_[1] = flags;
  }

  // Fields several kinds carry at the same place under the same RFC name. A
  // kind publishes the ones it has with using-declarations.
  bool final_bit() const { return flag(kBit7); }  // F
  void set_final(bool on) { set_flag(kBit7, on); }
  bool continue_bit() const { return flag(kContinueBit); }  // C
  void set_continue(bool on) { set_flag(kContinueBit, on); }
  uint64_t lun_raw() const { return load64(8); }  // LUN (11.2.1.6 and per kind)
  void set_lun_raw(uint64_t v) { store64(8, v); }
  uint32_t ttt() const { return load32(20); }  // Target Transfer Tag
  void set_ttt(uint32_t v) { store32(20, v); }
  uint32_t exp_stat_sn() const { return load32(28); }  // ExpStatSN in initiator PDUs
  void set_exp_stat_sn(uint32_t v) { store32(28, v); }
  uint32_t data_sn() const { return load32(36); }  // DataSN in Data-In and Data-Out
  void set_data_sn(uint32_t v) { store32(36, v); }
  uint32_t buffer_offset() const { return load32(40); }  // Data-In, Data-Out, R2T
  void set_buffer_offset(uint32_t v) { store32(40, v); }
  uint32_t residual_count() const { return load32(44); }  // SCSI Response, Data-In
  void set_residual_count(uint32_t v) { store32(44, v); }

  bool flag(uint8_t mask) const { return (b_[1] & mask) != 0; }
  void set_flag(uint8_t mask, bool on) { b_[1] = uint8_t(on ? (b_[1] | mask) : (b_[1] & ~mask)); }
  // Byte 1 bits under `mask` hold a value (TMF function, CSG/NSG...).
  uint8_t flag_field(uint8_t mask, unsigned shift) const { return uint8_t((b_[1] & mask) >> shift); }
  void set_flag_field(uint8_t mask, unsigned shift, uint8_t v) {
    b_[1] = uint8_t((b_[1] & ~mask) | ((v << shift) & mask));
  }
  uint8_t load8(size_t at) const { return b_[at]; }
  void store8(size_t at, uint8_t v) { b_[at] = v; }
  uint16_t load16(size_t at) const { return load_be16(&b_[at]); }
  void store16(size_t at, uint16_t v) { store_be16(&b_[at], v); }
  uint32_t load32(size_t at) const { return load_be32(&b_[at]); }
  void store32(size_t at, uint32_t v) { store_be32(&b_[at], v); }
  uint64_t load64(size_t at) const { return load_be64(&b_[at]); }
  void store64(size_t at, uint64_t v) { store_be64(&b_[at], v); }
  const uint8_t* at(size_t pos) const { return &b_[pos]; }
  uint8_t* at(size_t pos) { return &b_[pos]; }

 private:
  std::array<uint8_t, kBhsSize> b_{};
};

// CmdSN and ExpStatSN, bytes 24-31 of the initiator PDUs that carry both
// (11.3, 11.5, 11.10, 11.12, 11.14, 11.18).
class InitiatorHeader : public Bhs {
 public:
  explicit InitiatorHeader(const Bhs& b) : Bhs(b) {}
  uint32_t cmd_sn() const { return load32(24); }
  void set_cmd_sn(uint32_t v) { store32(24, v); }
  using Bhs::exp_stat_sn;
  using Bhs::set_exp_stat_sn;

 protected:
  using Bhs::Bhs;
};

// StatSN, ExpCmdSN, MaxCmdSN, bytes 24-35 of every target PDU (11.4.1 and
// its siblings; in Data-In StatSN is valid only with the S bit).
class TargetHeader : public Bhs {
 public:
  explicit TargetHeader(const Bhs& b) : Bhs(b) {}
  uint32_t stat_sn() const { return load32(24); }
  void set_stat_sn(uint32_t v) { store32(24, v); }
  uint32_t exp_cmd_sn() const { return load32(28); }
  void set_exp_cmd_sn(uint32_t v) { store32(28, v); }
  uint32_t max_cmd_sn() const { return load32(32); }
  void set_max_cmd_sn(uint32_t v) { store32(32, v); }

 protected:
  using Bhs::Bhs;
};

// SCSI Command task attributes (RFC 7143 11.3.1, ATTR).
enum class TaskAttribute : uint8_t { untagged = 0, simple = 1, ordered = 2, head_of_queue = 3, aca = 4 };

// SCSI Command, RFC 7143 11.3.
class ScsiCommandHeader : public InitiatorHeader {
 public:
  static constexpr size_t kCdbBytes = 16;
  ScsiCommandHeader() : InitiatorHeader(Opcode::scsi_command) {}
  explicit ScsiCommandHeader(const Bhs& b) : InitiatorHeader(b) {}
  using Bhs::final_bit;
  using Bhs::set_final;
  bool read() const { return flag(kRead); }
  void set_read(bool on) { set_flag(kRead, on); }
  bool write() const { return flag(kWrite); }
  void set_write(bool on) { set_flag(kWrite, on); }
  TaskAttribute attribute() const { return TaskAttribute(flag_field(kAttr, 0)); }
  void set_attribute(TaskAttribute a) { set_flag_field(kAttr, 0, uint8_t(a)); }
  using Bhs::lun_raw;
  using Bhs::set_lun_raw;
  uint32_t expected_data_transfer_length() const { return load32(20); }
  void set_expected_data_transfer_length(uint32_t v) { store32(20, v); }
  std::span<const uint8_t, kCdbBytes> cdb() const { return std::span<const uint8_t, kCdbBytes>(at(32), kCdbBytes); }
  std::span<uint8_t, kCdbBytes> cdb() { return std::span<uint8_t, kCdbBytes>(at(32), kCdbBytes); }

 private:
  static constexpr uint8_t kRead = 0x40;
  static constexpr uint8_t kWrite = 0x20;
  static constexpr uint8_t kAttr = 0x07;
};

// SCSI Response, RFC 7143 11.4. Byte 1 bit 7 is always 1.
class ScsiResponseHeader : public TargetHeader {
 public:
  ScsiResponseHeader() : TargetHeader(Opcode::scsi_response, kBit7) {}
  explicit ScsiResponseHeader(const Bhs& b) : TargetHeader(b) {}
  bool bidi_overflow() const { return flag(kBidiOverflow); }
  bool bidi_underflow() const { return flag(kBidiUnderflow); }
  bool overflow() const { return flag(kOverflow); }
  void set_overflow(bool on) { set_flag(kOverflow, on); }
  bool underflow() const { return flag(kUnderflow); }
  void set_underflow(bool on) { set_flag(kUnderflow, on); }
  uint8_t response() const { return load8(2); }  // 11.4.3: 0x00 command completed at target
  void set_response(uint8_t v) { store8(2, v); }
  uint8_t status() const { return load8(3); }
  void set_status(uint8_t v) { store8(3, v); }
  uint32_t snack_tag() const { return load32(20); }
  uint32_t exp_data_sn() const { return load32(36); }
  void set_exp_data_sn(uint32_t v) { store32(36, v); }
  uint32_t bidi_read_residual_count() const { return load32(40); }
  using Bhs::residual_count;
  using Bhs::set_residual_count;

 private:
  static constexpr uint8_t kBidiOverflow = 0x10;
  static constexpr uint8_t kBidiUnderflow = 0x08;
  static constexpr uint8_t kOverflow = 0x04;
  static constexpr uint8_t kUnderflow = 0x02;
};

// Task Management Function Request, RFC 7143 11.5. Byte 1 bit 7 is always 1.
class TaskMgmtRequestHeader : public InitiatorHeader {
 public:
  TaskMgmtRequestHeader() : InitiatorHeader(Opcode::task_mgmt_request, kBit7) {}
  explicit TaskMgmtRequestHeader(const Bhs& b) : InitiatorHeader(b) {}
  uint8_t function() const { return flag_field(kFunction, 0); }
  void set_function(uint8_t f) { set_flag_field(kFunction, 0, f); }
  using Bhs::lun_raw;
  using Bhs::set_lun_raw;
  uint32_t referenced_task_tag() const { return load32(20); }
  void set_referenced_task_tag(uint32_t v) { store32(20, v); }
  uint32_t ref_cmd_sn() const { return load32(32); }
  void set_ref_cmd_sn(uint32_t v) { store32(32, v); }
  uint32_t exp_data_sn() const { return load32(36); }
  void set_exp_data_sn(uint32_t v) { store32(36, v); }

 private:
  static constexpr uint8_t kFunction = 0x7f;
};

// Task Management Function Response, RFC 7143 11.6.
class TaskMgmtResponseHeader : public TargetHeader {
 public:
  TaskMgmtResponseHeader() : TargetHeader(Opcode::task_mgmt_response, kBit7) {}
  explicit TaskMgmtResponseHeader(const Bhs& b) : TargetHeader(b) {}
  uint8_t response() const { return load8(2); }
  void set_response(uint8_t v) { store8(2, v); }
};

// SCSI Data-Out, RFC 7143 11.7 (11.7.1 F bit). Bytes 24-27 are reserved.
class DataOutHeader : public Bhs {
 public:
  DataOutHeader() : Bhs(Opcode::data_out) {}
  explicit DataOutHeader(const Bhs& b) : Bhs(b) {}
  using Bhs::final_bit;
  using Bhs::set_final;
  using Bhs::lun_raw;
  using Bhs::set_lun_raw;
  using Bhs::ttt;
  using Bhs::set_ttt;
  using Bhs::exp_stat_sn;
  using Bhs::set_exp_stat_sn;
  using Bhs::data_sn;
  using Bhs::set_data_sn;
  using Bhs::buffer_offset;
  using Bhs::set_buffer_offset;
};

// SCSI Data-In, RFC 7143 11.7 (flags 11.7.1-11.7.3).
class DataInHeader : public TargetHeader {
 public:
  DataInHeader() : TargetHeader(Opcode::data_in) {}
  explicit DataInHeader(const Bhs& b) : TargetHeader(b) {}
  using Bhs::final_bit;
  using Bhs::set_final;
  bool acknowledge() const { return flag(kAcknowledge); }
  bool overflow() const { return flag(kOverflow); }
  void set_overflow(bool on) { set_flag(kOverflow, on); }
  bool underflow() const { return flag(kUnderflow); }
  void set_underflow(bool on) { set_flag(kUnderflow, on); }
  // S: status (and StatSN, residual) ride on this PDU.
  bool status_present() const { return flag(kStatus); }
  void set_status_present(bool on) { set_flag(kStatus, on); }
  uint8_t status() const { return load8(3); }
  void set_status(uint8_t v) { store8(3, v); }
  using Bhs::lun_raw;
  using Bhs::set_lun_raw;
  using Bhs::ttt;
  using Bhs::set_ttt;
  using Bhs::data_sn;
  using Bhs::set_data_sn;
  using Bhs::buffer_offset;
  using Bhs::set_buffer_offset;
  using Bhs::residual_count;
  using Bhs::set_residual_count;

 private:
  static constexpr uint8_t kAcknowledge = 0x40;
  static constexpr uint8_t kOverflow = 0x04;
  static constexpr uint8_t kUnderflow = 0x02;
  static constexpr uint8_t kStatus = 0x01;
};

// Ready To Transfer, RFC 7143 11.8. Byte 1 bit 7 is always 1.
class R2tHeader : public TargetHeader {
 public:
  R2tHeader() : TargetHeader(Opcode::r2t, kBit7) {}
  explicit R2tHeader(const Bhs& b) : TargetHeader(b) {}
  using Bhs::lun_raw;
  using Bhs::set_lun_raw;
  using Bhs::ttt;
  using Bhs::set_ttt;
  uint32_t r2t_sn() const { return load32(36); }
  void set_r2t_sn(uint32_t v) { store32(36, v); }
  using Bhs::buffer_offset;
  using Bhs::set_buffer_offset;
  uint32_t desired_data_transfer_length() const { return load32(44); }
  void set_desired_data_transfer_length(uint32_t v) { store32(44, v); }
};

// Asynchronous Message, RFC 7143 11.9. Byte 1 bit 7 is always 1.
class AsyncMessageHeader : public TargetHeader {
 public:
  AsyncMessageHeader() : TargetHeader(Opcode::async_message, kBit7) {}
  explicit AsyncMessageHeader(const Bhs& b) : TargetHeader(b) {}
  using Bhs::lun_raw;
  using Bhs::set_lun_raw;
  uint8_t async_event() const { return load8(36); }  // 11.9.1
  void set_async_event(uint8_t v) { store8(36, v); }
  uint8_t async_vcode() const { return load8(37); }
  uint16_t parameter1() const { return load16(38); }
  void set_parameter1(uint16_t v) { store16(38, v); }
  uint16_t parameter2() const { return load16(40); }
  void set_parameter2(uint16_t v) { store16(40, v); }
  uint16_t parameter3() const { return load16(42); }
  void set_parameter3(uint16_t v) { store16(42, v); }
};

// F, C, LUN and TTT: Text Request (RFC 7143 11.10) and Text Response (11.11).
template <class Base>
class TextFields : public Base {
 public:
  using Base::Base;
  using Bhs::final_bit;
  using Bhs::set_final;
  using Bhs::continue_bit;
  using Bhs::set_continue;
  using Bhs::lun_raw;
  using Bhs::set_lun_raw;
  using Bhs::ttt;
  using Bhs::set_ttt;
};

class TextRequestHeader : public TextFields<InitiatorHeader> {
 public:
  TextRequestHeader() : TextFields(Opcode::text_request) {}
  explicit TextRequestHeader(const Bhs& b) : TextFields(b) {}
};

class TextResponseHeader : public TextFields<TargetHeader> {
 public:
  TextResponseHeader() : TextFields(Opcode::text_response) {}
  explicit TextResponseHeader(const Bhs& b) : TextFields(b) {}
};

// T, C, CSG, NSG (byte 1), ISID and TSIH: Login Request (RFC 7143 11.12) and
// Login Response (11.13).
template <class Base>
class LoginFields : public Base {
 public:
  using Isid = std::array<uint8_t, 6>;
  using Base::Base;
  bool transit() const { return this->flag(Bhs::kBit7); }
  void set_transit(bool on) { this->set_flag(Bhs::kBit7, on); }
  using Bhs::continue_bit;
  using Bhs::set_continue;
  uint8_t csg() const { return this->flag_field(kCsg, 2); }
  void set_csg(uint8_t v) { this->set_flag_field(kCsg, 2, v); }
  uint8_t nsg() const { return this->flag_field(kNsg, 0); }
  void set_nsg(uint8_t v) { this->set_flag_field(kNsg, 0, v); }
  uint8_t version_max() const { return this->load8(2); }
  void set_version_max(uint8_t v) { this->store8(2, v); }
  Isid isid() const {
    Isid v;
    std::copy_n(this->at(8), v.size(), v.begin());
    return v;
  }
  void set_isid(const Isid& v) { std::copy(v.begin(), v.end(), this->at(8)); }
  uint16_t tsih() const { return this->load16(14); }
  void set_tsih(uint16_t v) { this->store16(14, v); }

 private:
  static constexpr uint8_t kCsg = 0x0c;
  static constexpr uint8_t kNsg = 0x03;
};

class LoginRequestHeader : public LoginFields<InitiatorHeader> {
 public:
  LoginRequestHeader() : LoginFields(Opcode::login_request) { set_immediate(true); }  // 11.12: I is always 1
  explicit LoginRequestHeader(const Bhs& b) : LoginFields(b) {}
  uint8_t version_min() const { return load8(3); }
  void set_version_min(uint8_t v) { store8(3, v); }
  uint16_t cid() const { return load16(20); }
  void set_cid(uint16_t v) { store16(20, v); }
};

class LoginResponseHeader : public LoginFields<TargetHeader> {
 public:
  LoginResponseHeader() : LoginFields(Opcode::login_response) {}
  explicit LoginResponseHeader(const Bhs& b) : LoginFields(b) {}
  uint8_t version_active() const { return load8(3); }
  void set_version_active(uint8_t v) { store8(3, v); }
  uint8_t status_class() const { return load8(36); }
  void set_status_class(uint8_t v) { store8(36, v); }
  uint8_t status_detail() const { return load8(37); }
  void set_status_detail(uint8_t v) { store8(37, v); }
};

// Logout Request, RFC 7143 11.14. Byte 1: bit 7 always 1, reason code below it.
class LogoutRequestHeader : public InitiatorHeader {
 public:
  LogoutRequestHeader() : InitiatorHeader(Opcode::logout_request, kBit7) {}
  explicit LogoutRequestHeader(const Bhs& b) : InitiatorHeader(b) {}
  uint8_t reason_code() const { return flag_field(kReason, 0); }
  void set_reason_code(uint8_t v) { set_flag_field(kReason, 0, v); }
  uint16_t cid() const { return load16(20); }
  void set_cid(uint16_t v) { store16(20, v); }

 private:
  static constexpr uint8_t kReason = 0x7f;
};

// Logout Response, RFC 7143 11.15.
class LogoutResponseHeader : public TargetHeader {
 public:
  LogoutResponseHeader() : TargetHeader(Opcode::logout_response, kBit7) {}
  explicit LogoutResponseHeader(const Bhs& b) : TargetHeader(b) {}
  uint8_t response() const { return load8(2); }
  void set_response(uint8_t v) { store8(2, v); }
  uint16_t time2wait() const { return load16(40); }
  void set_time2wait(uint16_t v) { store16(40, v); }
  uint16_t time2retain() const { return load16(42); }
  void set_time2retain(uint16_t v) { store16(42, v); }
};

// SNACK Request, RFC 7143 11.16. Byte 1: bit 7 always 1, Type in the low nibble.
class SnackRequestHeader : public Bhs {
 public:
  SnackRequestHeader() : Bhs(Opcode::snack_request, kBit7) {}
  explicit SnackRequestHeader(const Bhs& b) : Bhs(b) {}
  uint8_t type() const { return flag_field(kType, 0); }
  void set_type(uint8_t v) { set_flag_field(kType, 0, v); }
  using Bhs::lun_raw;
  using Bhs::set_lun_raw;
  uint32_t ttt_or_snack_tag() const { return load32(20); }
  void set_ttt_or_snack_tag(uint32_t v) { store32(20, v); }
  using Bhs::exp_stat_sn;
  using Bhs::set_exp_stat_sn;
  uint32_t beg_run() const { return load32(40); }
  void set_beg_run(uint32_t v) { store32(40, v); }
  uint32_t run_length() const { return load32(44); }
  void set_run_length(uint32_t v) { store32(44, v); }

 private:
  static constexpr uint8_t kType = 0x0f;
};

// Reject, RFC 7143 11.17. The data segment carries the rejected BHS.
class RejectHeader : public TargetHeader {
 public:
  RejectHeader() : TargetHeader(Opcode::reject, kBit7) {}
  explicit RejectHeader(const Bhs& b) : TargetHeader(b) {}
  uint8_t reason() const { return load8(2); }  // 11.17.1
  void set_reason(uint8_t v) { store8(2, v); }
  uint32_t data_sn_or_r2t_sn() const { return load32(36); }
  void set_data_sn_or_r2t_sn(uint32_t v) { store32(36, v); }
};

// LUN and TTT: NOP-Out (RFC 7143 11.18) and NOP-In (11.19). Byte 1 bit 7 is
// always 1 in both.
template <class Base>
class NopFields : public Base {
 public:
  using Base::Base;
  using Bhs::lun_raw;
  using Bhs::set_lun_raw;
  using Bhs::ttt;
  using Bhs::set_ttt;
};

class NopOutHeader : public NopFields<InitiatorHeader> {
 public:
  NopOutHeader() : NopFields(Opcode::nop_out, kBit7) {}
  explicit NopOutHeader(const Bhs& b) : NopFields(b) {}
};

class NopInHeader : public NopFields<TargetHeader> {
 public:
  NopInHeader() : NopFields(Opcode::nop_in, kBit7) {}
  explicit NopInHeader(const Bhs& b) : NopFields(b) {}
};

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
