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
  Bhs bhs;
  bhs.set_opcode(Opcode::text_request, true);
  bhs.set_flags(0x80);
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

}  // namespace
}  // namespace scsipub::iscsi
