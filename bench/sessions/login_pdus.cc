#include "sessions/login_pdus.h"

#include <algorithm>
#include <string_view>

#include <fmt/format.h>

namespace scsipub::bench {

namespace {

void add_key(std::string& keys, std::string_view name, std::string_view value) {
  keys.append(name);
  keys.push_back('=');
  keys.append(value);
  keys.push_back('\0');
}

// The operational keys an initiator like iscsid offers (RFC 7143 13):
// no digests, ERL 0, one connection, the usual burst sizes.
void add_operational_keys(std::string& keys) {
  add_key(keys, "HeaderDigest", "None");
  add_key(keys, "DataDigest", "None");
  add_key(keys, "MaxConnections", "1");
  add_key(keys, "InitialR2T", "Yes");
  add_key(keys, "ImmediateData", "Yes");
  add_key(keys, "MaxRecvDataSegmentLength", "262144");
  add_key(keys, "MaxBurstLength", "262144");
  add_key(keys, "FirstBurstLength", "65536");
  add_key(keys, "DefaultTime2Wait", "2");
  add_key(keys, "DefaultTime2Retain", "0");
  add_key(keys, "MaxOutstandingR2T", "1");
  add_key(keys, "DataPDUInOrder", "Yes");
  add_key(keys, "DataSequenceInOrder", "Yes");
  add_key(keys, "ErrorRecoveryLevel", "0");
}

}  // namespace

void append_pdu(std::vector<uint8_t>& out, const iscsi::Bhs& bhs, std::span<const uint8_t> data) {
  out.insert(out.end(), bhs.bytes().begin(), bhs.bytes().end());
  out.insert(out.end(), data.begin(), data.end());
  out.resize(out.size() + (iscsi::pad4(uint32_t(data.size())) - data.size()), 0);
}

void append_login_request(std::vector<uint8_t>& out, const LoginIdentity& who, const LoginProgress& at,
                          bool one_round) {
  iscsi::LoginRequestHeader h;
  const uint8_t stage = at.first && one_round && who.chap == nullptr ? kOperationalStage : at.stage;
  const bool chap = who.chap != nullptr && stage == kSecurityStage;
  // RFC 7143 12.1.3: the security stage can end only once our CHAP answer is in.
  h.set_transit(!chap || at.chap.step == ChapStep::answer);
  h.set_csg(stage);
  h.set_nsg(stage == kSecurityStage ? kOperationalStage : kFullFeature);
  // ISID type 0x80 "random" (RFC 7143 10.12.5); the qualifier tells sessions apart.
  h.set_isid({0x80, 0x00, 0x00, 0x00, uint8_t(who.isid_qualifier >> 8), uint8_t(who.isid_qualifier)});
  h.set_tsih(at.tsih);
  h.set_itt(0);
  h.set_cid(0);
  h.set_cmd_sn(at.cmd_sn);
  h.set_exp_stat_sn(at.exp_stat_sn);
  std::string keys;
  if (at.first) {
    add_key(keys, "InitiatorName", who.initiator);
    add_key(keys, "SessionType", "Normal");
    add_key(keys, "TargetName", who.target);
  }
  if (at.repeat) {
    // Keys already offered in this stage are not offered twice (RFC 7143 6.2).
  } else if (chap) {
    append_chap_keys(keys, at.chap, *who.chap);
  } else if (stage == kSecurityStage) {
    add_key(keys, "AuthMethod", "None");
  } else {
    add_operational_keys(keys);
  }
  h.set_data_segment_length(uint32_t(keys.size()));
  append_pdu(out, h, {reinterpret_cast<const uint8_t*>(keys.data()), keys.size()});
}

void append_ping_reply(std::vector<uint8_t>& out, const iscsi::NopInHeader& ping, std::span<const uint8_t> data,
                       uint32_t cmd_sn, uint32_t exp_stat_sn) {
  iscsi::NopOutHeader h;
  h.set_immediate(true);
  h.set_itt(iscsi::kReservedTag);
  h.set_ttt(ping.ttt());
  h.set_lun_raw(ping.lun_raw());
  h.set_cmd_sn(cmd_sn);
  h.set_exp_stat_sn(exp_stat_sn);
  h.set_data_segment_length(uint32_t(data.size()));
  append_pdu(out, h, data);
}

void append_logout(std::vector<uint8_t>& out, uint32_t itt, uint32_t cmd_sn, uint32_t exp_stat_sn) {
  iscsi::LogoutRequestHeader h;
  h.set_immediate(true);
  h.set_reason_code(0);
  h.set_itt(itt);
  h.set_cid(0);
  h.set_cmd_sn(cmd_sn);
  h.set_exp_stat_sn(exp_stat_sn);
  append_pdu(out, h, {});
}

void read_login_keys(std::span<const uint8_t> data, NegotiatedKeys& keys) {
  std::string_view all(reinterpret_cast<const char*>(data.data()), data.size());
  auto number = [](std::string_view v) -> uint32_t {
    uint64_t n = 0;
    for (size_t k = 0; k < v.size() && k < 9; ++k) {
      if (v[k] < '0' || v[k] > '9') return 0;
      n = n * 10 + uint64_t(v[k] - '0');
    }
    return uint32_t(std::clamp<uint64_t>(n, 512, (1u << 24) - 1));
  };
  while (!all.empty()) {
    const size_t end = std::min(all.find('\0'), all.size());
    const std::string_view pair = all.substr(0, end);
    all.remove_prefix(std::min(end + 1, all.size()));
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = pair.substr(0, eq), value = pair.substr(eq + 1);
    if (key == "MaxRecvDataSegmentLength") keys.target_max_recv_data_segment = number(value);
    else if (key == "ImmediateData") keys.immediate_data = value == "Yes";
    else if (key == "FirstBurstLength") keys.first_burst = number(value);
    else if (key == "MaxBurstLength") keys.max_burst = number(value);
  }
}

long framed_length(std::span<const uint8_t> in, uint32_t max_data) {
  if (in.size() < iscsi::kBhsSize) return 0;
  iscsi::Bhs b(in.first(iscsi::kBhsSize));
  const uint32_t dsl = b.data_segment_length();
  if (dsl > max_data) return -1;
  const size_t total = iscsi::kBhsSize + b.total_ahs_bytes() + iscsi::pad4(dsl);
  return in.size() >= total ? long(total) : 0;
}

}  // namespace scsipub::bench
