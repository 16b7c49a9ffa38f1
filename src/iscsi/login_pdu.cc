// Login Request/Response BHS <-> LoginRequest/LoginReply (RFC 7143 11.12,
// 11.13), so the negotiator works on values, not headers.
#include "iscsi/login_negotiator.h"

namespace scsipub::iscsi {

LoginRequest decode_login_request(const Bhs& bhs, std::span<const uint8_t> data) {
  const LoginRequestHeader in(bhs);
  LoginRequest r;
  r.transit = in.transit();
  r.cont = in.continue_bit();
  r.csg = in.csg();
  r.nsg = in.nsg();
  r.version_max = in.version_max();
  r.version_min = in.version_min();
  r.isid = in.isid();
  r.tsih = in.tsih();
  r.itt = in.itt();
  r.cid = in.cid();
  r.cmd_sn = in.cmd_sn();
  r.exp_stat_sn = in.exp_stat_sn();
  r.data = data;
  return r;
}

Bhs encode_login_response(const LoginRequest& request, const LoginReply& reply,
                          const LoginResponseFields& fields) {
  LoginResponseHeader b;
  b.set_csg(reply.csg);
  if (reply.transit) {
    b.set_transit(true);
    b.set_nsg(reply.nsg);
  }
  b.set_continue(reply.cont);
  // RFC 7143 11.13.2-11.13.3: we speak version 0x00 only.
  b.set_version_max(0);
  b.set_version_active(0);
  b.set_data_segment_length(static_cast<uint32_t>(reply.data.size()));
  b.set_isid(request.isid);
  b.set_tsih(fields.tsih);
  b.set_itt(request.itt);
  b.set_stat_sn(fields.stat_sn);
  b.set_exp_cmd_sn(fields.exp_cmd_sn);
  b.set_max_cmd_sn(fields.max_cmd_sn);
  b.set_status_class(reply.status_class);
  b.set_status_detail(reply.status_detail);
  return b;
}

}  // namespace scsipub::iscsi
