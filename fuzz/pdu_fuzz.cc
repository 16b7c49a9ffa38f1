// Fuzzes PDU framing: check_frame/parse_frame on the whole input and on the
// input fed one byte at a time, which must agree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "iscsi/pdu.h"

using namespace scsipub::iscsi;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // First byte picks the negotiated limits.
  FrameLimits limits;
  limits.header_digest = (data[0] & 1) != 0;
  limits.data_digest = (data[0] & 2) != 0;
  limits.max_data_segment = (data[0] & 4) ? 8192 : 262144;
  limits.max_ahs_bytes = (data[0] & 8) ? 0 : 1020;
  std::span<const uint8_t> in(data + 1, size - 1);

  FrameCheck whole = check_frame(in, limits);
  if (whole.kind == FrameCheck::Kind::ready) {
    if (whole.total > in.size()) abort();
    PduView view;
    FrameError e = parse_frame(in.first(whole.total), limits, view);
    if (e == FrameError::none) {
      if (view.data.size() != view.bhs.data_segment_length()) abort();
      if (view.data.data() + view.data.size() > in.data() + whole.total) abort();
    }
  }
  // Incremental: the decision must match the whole-buffer one once enough
  // bytes are there, and must never say ready early.
  for (size_t n = 0; n <= in.size() && n <= kBhsSize + 64; ++n) {
    FrameCheck part = check_frame(in.first(n), limits);
    if (part.kind == FrameCheck::Kind::ready && part.total > n) abort();
    if (whole.kind == FrameCheck::Kind::error && n >= kBhsSize && part.kind != FrameCheck::Kind::error) abort();
  }
  return 0;
}
