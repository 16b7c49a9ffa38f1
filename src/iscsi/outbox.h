#pragma once
// PDUs waiting to be written. A PDU is a header (BHS + optional header digest),
// a payload view, and a trailer (padding + optional data digest), so the
// transport sends header and payload with one gathered write and never copies
// read data. Payload views point at buffers the connection keeps alive until
// the transport calls clear() after the write completed.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "iscsi/pdu.h"

namespace scsipub::iscsi {

struct OutPdu {
  std::array<uint8_t, kBhsSize + kDigestSize> header{};
  uint8_t header_len = kBhsSize;
  std::span<const uint8_t> data;
  std::array<uint8_t, 3 + kDigestSize> trailer{};
  uint8_t trailer_len = 0;
  std::vector<uint8_t> owned;  // cold-path payloads (text, sense, reject) live here

  size_t wire_size() const { return header_len + data.size() + trailer_len; }
};

class Outbox {
 public:
  void set_digests(bool header, bool data) {
    header_digest_ = header;
    data_digest_ = data;
  }
  // Queues a PDU whose payload the caller keeps alive until clear().
  void push(const Bhs& bhs, std::span<const uint8_t> data = {});
  // Queues a PDU that owns its payload.
  void push_owned(const Bhs& bhs, std::vector<uint8_t> data);

  std::vector<OutPdu>& pdus() { return pdus_; }
  // Moves every queued PDU into `into` (cleared first), so PDUs queued while
  // those are being written never move the ones in flight.
  void take(std::vector<OutPdu>& into) {
    into.clear();
    into.swap(pdus_);
    bytes_ = 0;
  }
  bool empty() const { return pdus_.empty(); }
  size_t bytes() const { return bytes_; }
  void clear() {
    pdus_.clear();
    bytes_ = 0;
  }
  // Nothing queued: give the queue's storage back (an idle connection's
  // last reply need not keep it).
  void release_storage() {
    if (pdus_.empty()) std::vector<OutPdu>().swap(pdus_);
  }

 private:
  void seal(OutPdu& pdu, const Bhs& bhs);

  std::vector<OutPdu> pdus_;
  size_t bytes_ = 0;
  bool header_digest_ = false;
  bool data_digest_ = false;
};

}  // namespace scsipub::iscsi
