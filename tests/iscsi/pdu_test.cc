// PDU framing: check_frame / parse_frame on whole, partial and byte-by-byte
// input, digests, limits and padding.
#include "iscsi/pdu.h"

#include <gtest/gtest.h>

#include <vector>

#include "iscsi/crc32c.h"

namespace scsipub::iscsi {
namespace {

// Builds one PDU on the wire the way an initiator would.
std::vector<uint8_t> make_pdu(std::span<const uint8_t> data, const FrameLimits& l, size_t ahs_words = 0) {
  TextRequestHeader bhs;
  bhs.set_immediate(true);
  bhs.set_final(true);
  bhs.set_total_ahs_words(uint8_t(ahs_words));
  bhs.set_data_segment_length(uint32_t(data.size()));
  bhs.set_itt(0x11223344);
  std::vector<uint8_t> out(bhs.bytes().begin(), bhs.bytes().end());
  for (size_t i = 0; i < ahs_words * 4; ++i) out.push_back(uint8_t(0xa0 + i));
  if (l.header_digest) {
    uint8_t d[4];
    store_digest(d, crc32c(out));
    out.insert(out.end(), d, d + 4);
  }
  const size_t data_start = out.size();
  out.insert(out.end(), data.begin(), data.end());
  out.resize(data_start + pad4(uint32_t(data.size())), 0);
  if (l.data_digest && !data.empty()) {
    uint8_t d[4];
    store_digest(d, crc32c(std::span<const uint8_t>(out).subspan(data_start)));
    out.insert(out.end(), d, d + 4);
  }
  return out;
}

const std::vector<uint8_t> kData = {'S', 'e', 'n', 'd', 'T', 'a', 'r', 'g', 'e', 't', 's', '=', 'A', 'l', 'l', 0};
const std::vector<uint8_t> kOdd = {'A', '=', 'B', 0, 'x'};  // 5 bytes: 3 of padding

TEST(Pdu, NeedMoreUntilBhs) {
  FrameLimits l;
  auto pdu = make_pdu(kData, l);
  for (size_t n = 0; n < kBhsSize; ++n) {
    auto c = check_frame(std::span<const uint8_t>(pdu).first(n), l);
    EXPECT_EQ(c.kind, FrameCheck::Kind::need_more);
  }
}

TEST(Pdu, WholeFrameReady) {
  FrameLimits l;
  auto pdu = make_pdu(kData, l);
  auto c = check_frame(pdu, l);
  ASSERT_EQ(c.kind, FrameCheck::Kind::ready);
  EXPECT_EQ(c.total, kBhsSize + kData.size());
  PduView v;
  ASSERT_EQ(parse_frame(pdu, l, v), FrameError::none);
  EXPECT_EQ(v.bhs.opcode(), Opcode::text_request);
  EXPECT_TRUE(v.bhs.immediate());
  EXPECT_EQ(v.bhs.itt(), 0x11223344u);
  EXPECT_TRUE(std::equal(v.data.begin(), v.data.end(), kData.begin(), kData.end()));
}

TEST(Pdu, PaddingCountsButIsNotData) {
  FrameLimits l;
  auto pdu = make_pdu(kOdd, l);
  auto c = check_frame(pdu, l);
  ASSERT_EQ(c.kind, FrameCheck::Kind::ready);
  EXPECT_EQ(c.total, kBhsSize + 8);
  PduView v;
  ASSERT_EQ(parse_frame(pdu, l, v), FrameError::none);
  EXPECT_EQ(v.data.size(), 5u);
  // Short by one padding byte: not ready.
  EXPECT_EQ(check_frame(std::span<const uint8_t>(pdu).first(pdu.size() - 1), l).kind,
            FrameCheck::Kind::need_more);
}

TEST(Pdu, OneByteAtATimeWithDigestsAndAhs) {
  FrameLimits l;
  l.header_digest = true;
  l.data_digest = true;
  auto pdu = make_pdu(kOdd, l, 2);
  // A second PDU behind it in the stream must not confuse the first.
  auto second = make_pdu(kData, l);
  std::vector<uint8_t> stream = pdu;
  stream.insert(stream.end(), second.begin(), second.end());

  std::vector<uint8_t> buf;
  size_t ready_at = 0;
  for (size_t i = 0; i < stream.size(); ++i) {
    buf.push_back(stream[i]);
    auto c = check_frame(buf, l);
    ASSERT_NE(c.kind, FrameCheck::Kind::error);
    if (c.kind == FrameCheck::Kind::ready) {
      ready_at = buf.size();
      EXPECT_EQ(c.total, pdu.size());
      PduView v;
      ASSERT_EQ(parse_frame(buf, l, v), FrameError::none);
      EXPECT_EQ(v.ahs.size(), 8u);
      EXPECT_EQ(v.ahs[0], 0xa0);
      EXPECT_EQ(v.data.size(), 5u);
      break;
    }
    if (buf.size() >= kBhsSize) {
      EXPECT_EQ(c.total, pdu.size());
    }
  }
  EXPECT_EQ(ready_at, pdu.size());
}

TEST(Pdu, HeaderDigestMismatch) {
  FrameLimits l;
  l.header_digest = true;
  auto pdu = make_pdu(kData, l);
  pdu[kBhsSize] ^= 1;  // the digest itself
  PduView v;
  EXPECT_EQ(parse_frame(pdu, l, v), FrameError::header_digest);
  auto pdu2 = make_pdu(kData, l);
  pdu2[20] ^= 0x80;  // a header byte
  EXPECT_EQ(parse_frame(pdu2, l, v), FrameError::header_digest);
}

TEST(Pdu, DataDigestGoodAndBad) {
  FrameLimits l;
  l.data_digest = true;
  auto pdu = make_pdu(kOdd, l);
  auto c = check_frame(pdu, l);
  ASSERT_EQ(c.kind, FrameCheck::Kind::ready);
  EXPECT_EQ(c.total, kBhsSize + 8 + kDigestSize);
  PduView v;
  EXPECT_EQ(parse_frame(pdu, l, v), FrameError::none);
  pdu[kBhsSize + 1] ^= 0x10;
  EXPECT_EQ(parse_frame(pdu, l, v), FrameError::data_digest);
}

TEST(Pdu, NoDataDigestWithoutData) {
  FrameLimits l;
  l.data_digest = true;
  auto pdu = make_pdu({}, l);
  auto c = check_frame(pdu, l);
  ASSERT_EQ(c.kind, FrameCheck::Kind::ready);
  EXPECT_EQ(c.total, kBhsSize);
}

TEST(Pdu, DataSegmentOverLimitIsRejectedBeforePayload) {
  FrameLimits l;
  l.max_data_segment = 8;
  auto pdu = make_pdu(kData, l);
  // The header alone is enough to refuse it.
  auto c = check_frame(std::span<const uint8_t>(pdu).first(kBhsSize), l);
  EXPECT_EQ(c.kind, FrameCheck::Kind::error);
  EXPECT_EQ(c.error, FrameError::data_segment_too_long);
  l.max_data_segment = uint32_t(kData.size());
  EXPECT_EQ(check_frame(pdu, l).kind, FrameCheck::Kind::ready);
}

TEST(Pdu, AhsOverLimit) {
  FrameLimits l;
  l.max_ahs_bytes = 4;
  auto pdu = make_pdu(kData, l, 2);
  auto c = check_frame(pdu, l);
  EXPECT_EQ(c.kind, FrameCheck::Kind::error);
  EXPECT_EQ(c.error, FrameError::ahs_too_long);
}

TEST(Pdu, MaximalHeaderFields) {
  // DSL 0xffffff must not overflow the size computation.
  FrameLimits l;
  l.max_data_segment = 0xffffff;
  l.max_ahs_bytes = 1020;
  l.header_digest = l.data_digest = true;
  Bhs bhs;
  bhs.set_total_ahs_words(255);
  bhs.set_data_segment_length(0xffffff);
  auto c = check_frame(bhs.bytes(), l);
  EXPECT_EQ(c.kind, FrameCheck::Kind::need_more);
  EXPECT_EQ(c.total, kBhsSize + 1020 + 4 + 0x1000000 + 4);
}

// ---- Named fields against the byte positions RFC 7143 section 11 draws ----
// The only place outside pdu.h that spells BHS offsets: each test writes
// every field of one PDU kind through its setters, compares the 48 bytes with
// the RFC's diagram, and reads the fields back.

// The expected header, built by RFC byte position.
class Wire {
 public:
  Wire& byte_at(size_t pos, uint8_t v) {
    b_[pos] = v;
    return *this;
  }
  Wire& be16_at(size_t pos, uint16_t v) {
    store_be16(&b_[pos], v);
    return *this;
  }
  Wire& be24_at(size_t pos, uint32_t v) {
    store_be24(&b_[pos], v);
    return *this;
  }
  Wire& be32_at(size_t pos, uint32_t v) {
    store_be32(&b_[pos], v);
    return *this;
  }
  Wire& be64_at(size_t pos, uint64_t v) {
    store_be64(&b_[pos], v);
    return *this;
  }
  const std::array<uint8_t, kBhsSize>& bytes() const { return b_; }

 private:
  std::array<uint8_t, kBhsSize> b_{};
};

constexpr uint64_t kLun = 0x0102030405060708;

TEST(PduFields, CommonFields) {  // 11.2.1
  NopOutHeader b;
  b.set_immediate(true);
  b.set_total_ahs_words(3);
  b.set_data_segment_length(0x0a0b0c);
  b.set_itt(0x11121314);
  auto want = Wire().byte_at(0, 0x40 | 0x00).byte_at(1, 0x80).byte_at(4, 3).be24_at(5, 0x0a0b0c).be32_at(16, 0x11121314);
  EXPECT_EQ(b.bytes(), want.bytes());
  EXPECT_TRUE(b.immediate());
  EXPECT_EQ(b.opcode(), Opcode::nop_out);
  EXPECT_EQ(b.total_ahs_bytes(), 12u);
  EXPECT_EQ(b.data_segment_length(), 0x0a0b0cu);
  b.set_opcode_raw(0x1c);
  EXPECT_EQ(b.bytes()[0], 0x1c);
  EXPECT_EQ(b.opcode_raw(), 0x1c);
}

TEST(PduFields, ScsiCommand) {  // 11.3
  ScsiCommandHeader b;
  b.set_final(true);
  b.set_read(true);
  b.set_write(true);
  b.set_attribute(TaskAttribute::head_of_queue);
  b.set_lun_raw(kLun);
  b.set_itt(0x21);
  b.set_expected_data_transfer_length(0x22232425);
  b.set_cmd_sn(0x26);
  b.set_exp_stat_sn(0x27);
  for (size_t i = 0; i < b.cdb().size(); ++i) b.cdb()[i] = uint8_t(0xc0 + i);
  Wire want;
  want.byte_at(0, 0x01).byte_at(1, 0x80 | 0x40 | 0x20 | 0x03).be64_at(8, kLun).be32_at(16, 0x21);
  want.be32_at(20, 0x22232425).be32_at(24, 0x26).be32_at(28, 0x27);
  for (size_t i = 0; i < 16; ++i) want.byte_at(32 + i, uint8_t(0xc0 + i));
  EXPECT_EQ(b.bytes(), want.bytes());
  ScsiCommandHeader r{Bhs(b)};
  EXPECT_TRUE(r.final_bit() && r.read() && r.write());
  EXPECT_EQ(r.attribute(), TaskAttribute::head_of_queue);
  EXPECT_EQ(r.lun_raw(), kLun);
  EXPECT_EQ(r.expected_data_transfer_length(), 0x22232425u);
  EXPECT_EQ(r.cmd_sn(), 0x26u);
  EXPECT_EQ(r.exp_stat_sn(), 0x27u);
  EXPECT_EQ(r.cdb()[15], 0xcf);
}

TEST(PduFields, ScsiResponse) {  // 11.4
  ScsiResponseHeader b;
  b.set_overflow(true);
  b.set_underflow(true);
  b.set_response(0x01);
  b.set_status(0x02);
  b.set_itt(0x31);
  b.set_stat_sn(0x32);
  b.set_exp_cmd_sn(0x33);
  b.set_max_cmd_sn(0x34);
  b.set_exp_data_sn(0x35);
  b.set_residual_count(0x36);
  auto want = Wire().byte_at(0, 0x21).byte_at(1, 0x80 | 0x04 | 0x02).byte_at(2, 0x01).byte_at(3, 0x02);
  want.be32_at(16, 0x31).be32_at(24, 0x32).be32_at(28, 0x33).be32_at(32, 0x34).be32_at(36, 0x35).be32_at(44, 0x36);
  EXPECT_EQ(b.bytes(), want.bytes());
  EXPECT_TRUE(b.overflow() && b.underflow());
  EXPECT_FALSE(b.bidi_overflow() || b.bidi_underflow());
  auto bidi = Wire().byte_at(1, 0x80 | 0x10 | 0x08).be32_at(20, 0x41).be32_at(40, 0x42);
  ScsiResponseHeader r{Bhs(bidi.bytes())};
  EXPECT_TRUE(r.bidi_overflow() && r.bidi_underflow());
  EXPECT_EQ(r.snack_tag(), 0x41u);
  EXPECT_EQ(r.bidi_read_residual_count(), 0x42u);
}

TEST(PduFields, TaskManagement) {  // 11.5, 11.6
  TaskMgmtRequestHeader q;
  q.set_function(7);
  q.set_lun_raw(kLun);
  q.set_itt(0x51);
  q.set_referenced_task_tag(0x52);
  q.set_cmd_sn(0x53);
  q.set_exp_stat_sn(0x54);
  q.set_ref_cmd_sn(0x55);
  q.set_exp_data_sn(0x56);
  auto want = Wire().byte_at(0, 0x02).byte_at(1, 0x80 | 7).be64_at(8, kLun).be32_at(16, 0x51).be32_at(20, 0x52);
  want.be32_at(24, 0x53).be32_at(28, 0x54).be32_at(32, 0x55).be32_at(36, 0x56);
  EXPECT_EQ(q.bytes(), want.bytes());
  EXPECT_EQ(q.function(), 7);

  TaskMgmtResponseHeader p;
  p.set_response(5);
  EXPECT_EQ(p.bytes(), Wire().byte_at(0, 0x22).byte_at(1, 0x80).byte_at(2, 5).bytes());
}

TEST(PduFields, DataOutAndDataIn) {  // 11.7
  DataOutHeader o;
  o.set_final(true);
  o.set_lun_raw(kLun);
  o.set_itt(0x61);
  o.set_ttt(0x62);
  o.set_exp_stat_sn(0x63);
  o.set_data_sn(0x64);
  o.set_buffer_offset(0x65);
  auto want = Wire().byte_at(0, 0x05).byte_at(1, 0x80).be64_at(8, kLun).be32_at(16, 0x61).be32_at(20, 0x62);
  want.be32_at(28, 0x63).be32_at(36, 0x64).be32_at(40, 0x65);
  EXPECT_EQ(o.bytes(), want.bytes());

  DataInHeader i;
  i.set_final(true);
  i.set_overflow(true);
  i.set_underflow(true);
  i.set_status_present(true);
  i.set_status(0x02);
  i.set_lun_raw(kLun);
  i.set_itt(0x71);
  i.set_ttt(0x72);
  i.set_stat_sn(0x73);
  i.set_exp_cmd_sn(0x74);
  i.set_max_cmd_sn(0x75);
  i.set_data_sn(0x76);
  i.set_buffer_offset(0x77);
  i.set_residual_count(0x78);
  auto in = Wire().byte_at(0, 0x25).byte_at(1, 0x80 | 0x04 | 0x02 | 0x01).byte_at(3, 0x02).be64_at(8, kLun);
  in.be32_at(16, 0x71).be32_at(20, 0x72).be32_at(24, 0x73).be32_at(28, 0x74).be32_at(32, 0x75);
  in.be32_at(36, 0x76).be32_at(40, 0x77).be32_at(44, 0x78);
  EXPECT_EQ(i.bytes(), in.bytes());
  EXPECT_FALSE(i.acknowledge());
  EXPECT_TRUE(DataInHeader(Bhs(Wire().byte_at(1, 0x40).bytes())).acknowledge());
}

TEST(PduFields, R2t) {  // 11.8
  R2tHeader b;
  b.set_lun_raw(kLun);
  b.set_itt(0x81);
  b.set_ttt(0x82);
  b.set_stat_sn(0x83);
  b.set_exp_cmd_sn(0x84);
  b.set_max_cmd_sn(0x85);
  b.set_r2t_sn(0x86);
  b.set_buffer_offset(0x87);
  b.set_desired_data_transfer_length(0x88);
  auto want = Wire().byte_at(0, 0x31).byte_at(1, 0x80).be64_at(8, kLun).be32_at(16, 0x81).be32_at(20, 0x82);
  want.be32_at(24, 0x83).be32_at(28, 0x84).be32_at(32, 0x85).be32_at(36, 0x86).be32_at(40, 0x87).be32_at(44, 0x88);
  EXPECT_EQ(b.bytes(), want.bytes());
}

TEST(PduFields, AsyncMessage) {  // 11.9
  AsyncMessageHeader b;
  b.set_lun_raw(kLun);
  b.set_itt(kReservedTag);
  b.set_async_event(1);
  b.set_parameter1(0x0102);
  b.set_parameter2(0x0304);
  b.set_parameter3(0x0506);
  auto want = Wire().byte_at(0, 0x32).byte_at(1, 0x80).be64_at(8, kLun).be32_at(16, kReservedTag).byte_at(36, 1);
  want.be16_at(38, 0x0102).be16_at(40, 0x0304).be16_at(42, 0x0506);
  EXPECT_EQ(b.bytes(), want.bytes());
  EXPECT_EQ(AsyncMessageHeader(Bhs(Wire().byte_at(37, 9).bytes())).async_vcode(), 9);
}

TEST(PduFields, Text) {  // 11.10, 11.11
  TextRequestHeader q;
  q.set_final(true);
  q.set_continue(true);
  q.set_lun_raw(kLun);
  q.set_ttt(0x91);
  q.set_cmd_sn(0x92);
  q.set_exp_stat_sn(0x93);
  auto want = Wire().byte_at(0, 0x04).byte_at(1, 0xc0).be64_at(8, kLun).be32_at(20, 0x91).be32_at(24, 0x92);
  want.be32_at(28, 0x93);
  EXPECT_EQ(q.bytes(), want.bytes());

  TextResponseHeader p;
  p.set_continue(true);
  p.set_lun_raw(kLun);
  p.set_ttt(0x94);
  EXPECT_EQ(p.bytes(), Wire().byte_at(0, 0x24).byte_at(1, 0x40).be64_at(8, kLun).be32_at(20, 0x94).bytes());
  EXPECT_FALSE(p.final_bit());
}

TEST(PduFields, Login) {  // 11.12, 11.13
  LoginRequestHeader q;
  q.set_transit(true);
  q.set_continue(false);
  q.set_csg(1);
  q.set_nsg(3);
  q.set_version_max(0x05);
  q.set_version_min(0x06);
  q.set_isid({0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6});
  q.set_tsih(0xa7a8);
  q.set_itt(0xa9);
  q.set_cid(0xaaab);
  q.set_cmd_sn(0xac);
  q.set_exp_stat_sn(0xad);
  auto want = Wire().byte_at(0, 0x40 | 0x03).byte_at(1, 0x80 | (1 << 2) | 3).byte_at(2, 5).byte_at(3, 6);
  want.be32_at(8, 0xa1a2a3a4).be16_at(12, 0xa5a6).be16_at(14, 0xa7a8).be32_at(16, 0xa9).be16_at(20, 0xaaab);
  want.be32_at(24, 0xac).be32_at(28, 0xad);
  EXPECT_EQ(q.bytes(), want.bytes());

  LoginResponseHeader p;
  p.set_continue(true);
  p.set_csg(3);
  p.set_version_active(0x07);
  p.set_tsih(0xb1b2);
  p.set_status_class(2);
  p.set_status_detail(3);
  auto rsp = Wire().byte_at(0, 0x23).byte_at(1, 0x40 | (3 << 2)).byte_at(3, 7).be16_at(14, 0xb1b2);
  rsp.byte_at(36, 2).byte_at(37, 3);
  EXPECT_EQ(p.bytes(), rsp.bytes());
  EXPECT_EQ(p.nsg(), 0);
  EXPECT_EQ(p.csg(), 3);
}

TEST(PduFields, Logout) {  // 11.14, 11.15
  LogoutRequestHeader q;
  q.set_reason_code(2);
  q.set_cid(0xc1c2);
  q.set_cmd_sn(0xc3);
  EXPECT_EQ(q.bytes(),
            Wire().byte_at(0, 0x06).byte_at(1, 0x82).be16_at(20, 0xc1c2).be32_at(24, 0xc3).bytes());
  EXPECT_EQ(q.reason_code(), 2);

  LogoutResponseHeader p;
  p.set_response(1);
  p.set_time2wait(0xd1d2);
  p.set_time2retain(0xd3d4);
  EXPECT_EQ(p.bytes(), Wire()
                           .byte_at(0, 0x26)
                           .byte_at(1, 0x80)
                           .byte_at(2, 1)
                           .be16_at(40, 0xd1d2)
                           .be16_at(42, 0xd3d4)
                           .bytes());
}

TEST(PduFields, SnackAndReject) {  // 11.16, 11.17
  SnackRequestHeader s;
  s.set_type(3);
  s.set_lun_raw(kLun);
  s.set_ttt_or_snack_tag(0xe1);
  s.set_exp_stat_sn(0xe2);
  s.set_beg_run(0xe3);
  s.set_run_length(0xe4);
  auto want = Wire().byte_at(0, 0x10).byte_at(1, 0x83).be64_at(8, kLun).be32_at(20, 0xe1).be32_at(28, 0xe2);
  want.be32_at(40, 0xe3).be32_at(44, 0xe4);
  EXPECT_EQ(s.bytes(), want.bytes());

  RejectHeader r;
  r.set_reason(9);
  r.set_data_sn_or_r2t_sn(0xe5);
  EXPECT_EQ(r.bytes(), Wire().byte_at(0, 0x3f).byte_at(1, 0x80).byte_at(2, 9).be32_at(36, 0xe5).bytes());
}

TEST(PduFields, Nop) {  // 11.18, 11.19
  NopOutHeader o;
  o.set_lun_raw(kLun);
  o.set_ttt(0xf1);
  o.set_cmd_sn(0xf2);
  o.set_exp_stat_sn(0xf3);
  auto want = Wire().byte_at(0, 0x00).byte_at(1, 0x80).be64_at(8, kLun).be32_at(20, 0xf1).be32_at(24, 0xf2);
  want.be32_at(28, 0xf3);
  EXPECT_EQ(o.bytes(), want.bytes());

  NopInHeader i;
  i.set_ttt(0xf4);
  i.set_stat_sn(0xf5);
  i.set_exp_cmd_sn(0xf6);
  i.set_max_cmd_sn(0xf7);
  auto in = Wire().byte_at(0, 0x20).byte_at(1, 0x80).be32_at(20, 0xf4).be32_at(24, 0xf5).be32_at(28, 0xf6);
  in.be32_at(32, 0xf7);
  EXPECT_EQ(i.bytes(), in.bytes());
}

}  // namespace
}  // namespace scsipub::iscsi
