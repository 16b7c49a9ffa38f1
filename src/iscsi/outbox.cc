#include "iscsi/outbox.h"

#include <algorithm>

#include "iscsi/crc32c.h"

namespace scsipub::iscsi {

void Outbox::seal(OutPdu& pdu, const Bhs& in) {
  Bhs bhs = in;
  bhs.set_data_segment_length(static_cast<uint32_t>(pdu.data.size()));
  std::copy(bhs.bytes().begin(), bhs.bytes().end(), pdu.header.begin());
  pdu.header_len = kBhsSize;
  if (header_digest_) {
    store_digest(&pdu.header[kBhsSize], crc32c(std::span(pdu.header).first(kBhsSize)));
    pdu.header_len += kDigestSize;
  }
  size_t pad = pad4(static_cast<uint32_t>(pdu.data.size())) - pdu.data.size();
  pdu.trailer_len = static_cast<uint8_t>(pad);  // trailer bytes are zero
  if (data_digest_ && !pdu.data.empty()) {
    uint32_t st = crc32c_update(crc32c_init(), pdu.data);
    st = crc32c_update(st, std::span(pdu.trailer).first(pad));
    store_digest(&pdu.trailer[pad], crc32c_final(st));
    pdu.trailer_len = static_cast<uint8_t>(pad + kDigestSize);
  }
  bytes_ += pdu.wire_size();
}

void Outbox::push(const Bhs& bhs, std::span<const uint8_t> data) {
  OutPdu& pdu = pdus_.emplace_back();
  pdu.data = data;
  seal(pdu, bhs);
}

void Outbox::push_owned(const Bhs& bhs, std::vector<uint8_t> data) {
  OutPdu& pdu = pdus_.emplace_back();
  pdu.owned = std::move(data);
  pdu.data = pdu.owned;
  seal(pdu, bhs);
}

}  // namespace scsipub::iscsi
