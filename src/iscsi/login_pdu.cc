// Login Request/Response BHS <-> LoginRequest/LoginReply (RFC 7143 11.12,
// 11.13), so the connection code never touches login field offsets.
#include <algorithm>

#include "iscsi/login_negotiator.h"

namespace scsipub::iscsi {
namespace {

// RFC 7143 11.12.1 / 11.13.1, byte 1.
constexpr uint8_t kTransit = 0x80;
constexpr uint8_t kContinue = 0x40;

// Byte offsets shared by the Login Request and Response BHS.
constexpr size_t kVersionMax = 2;
constexpr size_t kVersionMinOrActive = 3;
constexpr size_t kIsid = 8;
constexpr size_t kTsih = 14;
constexpr size_t kCid = 20;  // request only
constexpr size_t kStatusClass = 36;  // response only
constexpr size_t kStatusDetail = 37;

}  // namespace

LoginRequest decode_login_request(const Bhs& bhs, std::span<const uint8_t> data) {
  LoginRequest r;
  const uint8_t f = bhs.flags();
  r.transit = (f & kTransit) != 0;
  r.cont = (f & kContinue) != 0;
  r.csg = (f >> 2) & 3;
  r.nsg = f & 3;
  r.version_max = bhs.u8(kVersionMax);
  r.version_min = bhs.u8(kVersionMinOrActive);
  std::copy_n(bhs.bytes().begin() + kIsid, r.isid.size(), r.isid.begin());
  r.tsih = bhs.u16(kTsih);
  r.itt = bhs.itt();
  r.cid = bhs.u16(kCid);
  r.cmd_sn = bhs.u32(off::kCmdSn);
  r.exp_stat_sn = bhs.u32(off::kExpStatSn);
  r.data = data;
  return r;
}

Bhs encode_login_response(const LoginRequest& request, const LoginReply& reply,
                          const LoginResponseFields& fields) {
  Bhs b;
  b.set_opcode(Opcode::login_response);
  uint8_t f = uint8_t((reply.csg & 3) << 2);
  if (reply.transit) f |= uint8_t(kTransit | (reply.nsg & 3));
  if (reply.cont) f |= kContinue;
  b.set_flags(f);
  // RFC 7143 11.13.2-11.13.3: we speak version 0x00 only.
  b.set_u8(kVersionMax, 0);
  b.set_u8(kVersionMinOrActive, 0);
  b.set_data_segment_length(static_cast<uint32_t>(reply.data.size()));
  std::copy(request.isid.begin(), request.isid.end(), b.bytes().begin() + kIsid);
  b.set_u16(kTsih, fields.tsih);
  b.set_itt(request.itt);
  b.set_u32(off::kStatSn, fields.stat_sn);
  b.set_u32(off::kExpCmdSn, fields.exp_cmd_sn);
  b.set_u32(off::kMaxCmdSn, fields.max_cmd_sn);
  b.set_u8(kStatusClass, reply.status_class);
  b.set_u8(kStatusDetail, reply.status_detail);
  return b;
}

}  // namespace scsipub::iscsi
