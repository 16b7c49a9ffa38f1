#include "iscsi/pdu.h"

#include <algorithm>

#include "iscsi/crc32c.h"

namespace scsipub::iscsi {

Bhs::Bhs(std::span<const uint8_t> src) { std::copy_n(src.begin(), kBhsSize, b_.begin()); }

const char* to_string(FrameError e) {
  switch (e) {
    case FrameError::none: return "none";
    case FrameError::data_segment_too_long: return "data segment longer than MaxRecvDataSegmentLength";
    case FrameError::ahs_too_long: return "AHS too long";
    case FrameError::header_digest: return "header digest mismatch";
    case FrameError::data_digest: return "data digest mismatch";
  }
  return "?";
}

namespace {
size_t header_bytes(const Bhs& bhs, const FrameLimits& limits) {
  return kBhsSize + bhs.total_ahs_bytes() + (limits.header_digest ? kDigestSize : 0);
}
size_t data_bytes(const Bhs& bhs, const FrameLimits& limits) {
  uint32_t dsl = bhs.data_segment_length();
  if (dsl == 0) return 0;
  return pad4(dsl) + (limits.data_digest ? kDigestSize : 0);
}
}  // namespace

FrameCheck check_frame(std::span<const uint8_t> in, const FrameLimits& limits) {
  FrameCheck r;
  if (in.size() < kBhsSize) return r;
  Bhs bhs(in);
  if (bhs.total_ahs_bytes() > limits.max_ahs_bytes) {
    r.kind = FrameCheck::Kind::error;
    r.error = FrameError::ahs_too_long;
    return r;
  }
  if (bhs.data_segment_length() > limits.max_data_segment) {
    r.kind = FrameCheck::Kind::error;
    r.error = FrameError::data_segment_too_long;
    return r;
  }
  r.total = header_bytes(bhs, limits) + data_bytes(bhs, limits);
  r.kind = in.size() >= r.total ? FrameCheck::Kind::ready : FrameCheck::Kind::need_more;
  return r;
}

FrameError parse_frame(std::span<const uint8_t> in, const FrameLimits& limits, PduView& out) {
  out.bhs = Bhs(in);
  size_t ahs_len = out.bhs.total_ahs_bytes();
  size_t pos = kBhsSize + ahs_len;
  out.ahs = in.subspan(kBhsSize, ahs_len);
  if (limits.header_digest) {
    uint32_t want = crc32c(in.first(pos));
    if (load_digest(&in[pos]) != want) return FrameError::header_digest;
    pos += kDigestSize;
  }
  uint32_t dsl = out.bhs.data_segment_length();
  out.data = in.subspan(pos, dsl);
  if (dsl != 0 && limits.data_digest) {
    uint32_t want = crc32c(in.subspan(pos, pad4(dsl)));
    if (load_digest(&in[pos + pad4(dsl)]) != want) return FrameError::data_digest;
  }
  return FrameError::none;
}

}  // namespace scsipub::iscsi
