#include "session/harness.h"

#include <algorithm>
#include <cstring>

#include "common/bytes.h"
#include "iscsi/crc32c.h"
#include "iscsi/text_keys.h"

namespace scsipub::iscsi::testing {
namespace {

class FakeBinding final : public TargetBinding {
 public:
  FakeBinding(std::shared_ptr<lu::LogicalUnit> unit, const lu::Nexus& nexus, int& unbinds,
              std::vector<SessionEnd>& ends)
      : unit_(std::move(unit)), nexus_id_(nexus.id), unbinds_(unbinds), ends_(ends) {
    unit_->attach(nexus);
    luns_.add(0, unit_);
  }
  ~FakeBinding() override {
    unit_->detach(nexus_id_);
    ++unbinds_;
  }
  const scsi::LunMap& luns() const override { return luns_; }
  void end(SessionEnd how) override { ends_.push_back(how); }

 private:
  scsi::LunMap luns_;  // the unit as LUN 0
  std::shared_ptr<lu::LogicalUnit> unit_;
  uint64_t nexus_id_;
  int& unbinds_;
  std::vector<SessionEnd>& ends_;
};

void append(std::vector<uint8_t>& v, std::span<const uint8_t> s) { v.insert(v.end(), s.begin(), s.end()); }

void append_digest(std::vector<uint8_t>& v, uint32_t crc) {
  uint8_t d[kDigestSize];
  store_digest(d, crc);
  v.insert(v.end(), d, d + kDigestSize);
}

std::vector<uint8_t> text_of(const Keys& keys) {
  TextWriter w;
  for (const auto& [k, v] : keys) w.add(k, v);
  return w.take();
}

}  // namespace

// ---------------------------------------------------------------- FakeTargets

FakeTargets::FakeTargets() {
  store = std::make_shared<storage::MemoryStore>(kBlocks);
  lu::Identity id;
  id.serial = "SESSION0001";
  id.naa_id = 0x5001405123456789ull;
  id.device_name = std::string(kTarget) + ",L,0x0000000000000000";
  device = std::make_shared<DeviceStore>(store);
  unit = std::make_shared<lu::LogicalUnit>(device, id);
}

void FakeTargets::serve_from_memory() { serve_from(store); }

void FakeTargets::serve_from(std::shared_ptr<storage::BlockStore> other) {
  unit = std::make_shared<lu::LogicalUnit>(std::move(other), unit->identity());
}

std::optional<LoginTarget> FakeTargets::find(std::string_view target_name, const LoginRequester&, const PortalInfo&) {
  if (target_name != kTarget) return std::nullopt;
  return LoginTarget{kTarget, "test disk", false, "disk", ""};
}

std::vector<SendTargetsEntry> FakeTargets::send_targets(std::string_view which, std::string_view session_target,
                                                        std::string_view, const PortalInfo&) {
  if (which == "All" || which == kTarget || (which.empty() && session_target == kTarget)) {
    return {SendTargetsEntry{kTarget, {"192.0.2.1:3260,1"}}};
  }
  return {};
}

Result<std::unique_ptr<TargetBinding>, BindError> FakeTargets::bind(std::string_view target_name,
                                                                    const lu::Nexus& nexus, const PortalInfo&) {
  if (target_name != kTarget) {
    return Unexpected<BindError>{{login_status::kInitiatorError, login_status::kNotFound, "no such target"}};
  }
  ++binds;
  return std::unique_ptr<TargetBinding>(std::make_unique<FakeBinding>(unit, nexus, unbinds, ends));
}

// ---------------------------------------------------------------- Pdu

std::map<std::string, std::string> Pdu::keys() const {
  std::map<std::string, std::string> out;
  auto parsed = parse_text(data);
  EXPECT_TRUE(parsed.ok());
  for (auto& kv : parsed.pairs) out[kv.key] = kv.value;
  return out;
}

std::vector<Pdu> only(const std::vector<Pdu>& pdus, Opcode op) {
  std::vector<Pdu> out;
  for (const auto& p : pdus) {
    if (p.op() == op) out.push_back(p);
  }
  return out;
}

std::optional<uint8_t> status_of(const std::vector<Pdu>& pdus, uint32_t itt) {
  for (const auto& p : pdus) {
    if (p.itt() != itt) continue;
    if (p.op() == Opcode::scsi_response) return p.response().status();
    if (p.op() == Opcode::data_in && p.data_in().status_present()) return p.data_in().status();
  }
  return std::nullopt;
}

uint32_t Pdu::ttt() const {
  switch (op()) {
    case Opcode::r2t: return R2tHeader(bhs).ttt();
    case Opcode::nop_in: return NopInHeader(bhs).ttt();
    case Opcode::data_in: return DataInHeader(bhs).ttt();
    case Opcode::text_response: return TextResponseHeader(bhs).ttt();
    default: ADD_FAILURE() << "no Target Transfer Tag in opcode " << int(bhs.opcode_raw()); return 0;
  }
}

uint32_t Pdu::buffer_offset() const {
  switch (op()) {
    case Opcode::r2t: return R2tHeader(bhs).buffer_offset();
    case Opcode::data_in: return DataInHeader(bhs).buffer_offset();
    default: ADD_FAILURE() << "no Buffer Offset in opcode " << int(bhs.opcode_raw()); return 0;
  }
}

// ---------------------------------------------------------------- Initiator

Initiator::Initiator(FakeTargets& targets, SessionRegistry& registry, ConnectionConfig config, std::string peer)
    : targets_(targets), registry_(registry), now_(Clock::time_point{} + 1000h), config_(std::move(config)) {
  portal_.local_address = "192.0.2.1";
  portal_.local_port = 3260;
  portal_.peer_address = std::move(peer);
  portal_.peer_port = 50000;
  conn_ = std::make_unique<Connection>(config_, targets_, registry_, portal_, [this] { ++terminated_; },
                                       now_);
}

Initiator::~Initiator() = default;

void Initiator::send(Bhs bhs, std::span<const uint8_t> data, std::span<const uint8_t> ahs, bool corrupt_data_digest) {
  ASSERT_EQ(ahs.size() % 4, 0u);
  bhs.set_data_segment_length(static_cast<uint32_t>(data.size()));
  bhs.set_total_ahs_words(static_cast<uint8_t>(ahs.size() / 4));
  bool hd = full_feature && header_digest;
  bool dd = full_feature && data_digest;
  std::vector<uint8_t> frame(bhs.bytes().begin(), bhs.bytes().end());
  append(frame, ahs);
  if (hd) append_digest(frame, crc32c(frame));
  size_t data_at = frame.size();
  append(frame, data);
  frame.resize(data_at + pad4(static_cast<uint32_t>(data.size())), 0);
  if (dd && !data.empty()) {
    uint32_t crc = crc32c(std::span<const uint8_t>(frame).subspan(data_at));
    append_digest(frame, corrupt_data_digest ? crc ^ 0x1 : crc);
  }

  FrameLimits limits = conn_->frame_limits();
  // The header alone is not a frame yet.
  EXPECT_EQ(check_frame(std::span<const uint8_t>(frame).first(kBhsSize - 1), limits).kind,
            FrameCheck::Kind::need_more);
  FrameCheck check = check_frame(frame, limits);
  if (check.kind == FrameCheck::Kind::error) {
    conn_->on_frame_error(check.error, std::span<const uint8_t>(frame).first(kBhsSize));
    return;
  }
  ASSERT_EQ(check.kind, FrameCheck::Kind::ready);
  ASSERT_EQ(check.total, frame.size());
  PduView view;
  FrameError err = parse_frame(frame, limits, view);
  if (err != FrameError::none) {
    conn_->on_frame_error(err, std::span<const uint8_t>(frame).first(kBhsSize));
    return;
  }
  conn_->on_pdu(view, now_);
}

std::vector<Pdu> Initiator::recv() {
  std::vector<OutPdu> out;
  conn_->outbox().take(out);
  EXPECT_TRUE(conn_->outbox().empty());
  std::vector<Pdu> pdus;
  for (const OutPdu& o : out) {
    FrameLimits limits;
    limits.max_data_segment = 1u << 24;
    limits.header_digest = full_feature && header_digest;
    limits.data_digest = full_feature && data_digest;
    std::vector<uint8_t> wire(o.header.begin(), o.header.begin() + o.header_len);
    append(wire, o.data);
    wire.insert(wire.end(), o.trailer.begin(), o.trailer.begin() + o.trailer_len);
    EXPECT_EQ(wire.size(), o.wire_size());
    FrameCheck check = check_frame(wire, limits);
    EXPECT_EQ(check.kind, FrameCheck::Kind::ready);
    EXPECT_EQ(check.total, wire.size()) << "header/padding/digest lengths disagree";
    if (check.kind != FrameCheck::Kind::ready || check.total != wire.size()) continue;
    PduView view;
    EXPECT_EQ(parse_frame(wire, limits, view), FrameError::none) << "bad digest in a target PDU";
    // Padding bytes are zero (RFC 7143 11.1).
    size_t pad_at = o.header_len + o.data.size();
    for (size_t i = pad_at; i < pad_at + (pad4(uint32_t(o.data.size())) - o.data.size()); ++i) {
      EXPECT_EQ(wire[i], 0);
    }
    Pdu p{view.bhs, std::vector<uint8_t>(view.data.begin(), view.data.end())};
    EXPECT_EQ(p.bhs.total_ahs_bytes(), 0u);
    Opcode op = p.op();
    bool carries_status = true;
    if (op == Opcode::r2t) carries_status = false;
    if (op == Opcode::data_in && !p.data_in().status_present()) carries_status = false;
    if (op == Opcode::nop_in && p.itt() == kReservedTag) carries_status = false;
    if (carries_status) exp_stat_sn = p.stat_sn() + 1;
    if (op == Opcode::login_response) take_keys(p);
    pdus.push_back(std::move(p));
  }
  conn_->on_flushed();
  return pdus;
}

void Initiator::take_keys(const Pdu& p) {
  for (auto& [k, v] : p.keys()) negotiated[k] = v;
  LoginResponseHeader r = p.login();
  if (r.transit() && r.nsg() == 3 && r.status_class() == 0) {
    full_feature = true;
    header_digest = negotiated["HeaderDigest"] == "CRC32C";
    data_digest = negotiated["DataDigest"] == "CRC32C";
  }
}

LoginRequestHeader Initiator::login_bhs(uint8_t csg, bool transit, uint8_t nsg, uint16_t tsih) const {
  LoginRequestHeader b;
  b.set_transit(transit);
  b.set_csg(csg);
  b.set_nsg(nsg);
  b.set_version_max(0);
  b.set_version_min(0);
  b.set_isid(isid);
  b.set_tsih(tsih);
  b.set_itt(0x1000);
  b.set_cid(1);
  b.set_cmd_sn(cmd_sn);
  b.set_exp_stat_sn(exp_stat_sn);
  return b;
}

std::vector<Pdu> Initiator::login_step(uint8_t csg, bool transit, uint8_t nsg, const Keys& keys) {
  auto text = text_of(keys);
  send(login_bhs(csg, transit, nsg), text);
  return recv();
}

Keys Initiator::libiscsi_keys() {
  return {{"HeaderDigest", "None"},
          {"DataDigest", "None"},
          {"InitialR2T", "Yes"},
          {"ImmediateData", "Yes"},
          {"MaxBurstLength", "262144"},
          {"FirstBurstLength", "262144"},
          {"MaxRecvDataSegmentLength", "262144"},
          {"DataPDUInOrder", "Yes"},
          {"DefaultTime2Wait", "2"},
          {"DefaultTime2Retain", "0"},
          {"IFMarker", "No"},
          {"OFMarker", "No"},
          {"MaxConnections", "1"},
          {"MaxOutstandingR2T", "1"},
          {"ErrorRecoveryLevel", "0"},
          {"DataSequenceInOrder", "Yes"}};
}

std::vector<Pdu> Initiator::login(const Keys& operational, const std::string& target) {
  Keys op = libiscsi_keys();
  for (const auto& [k, v] : operational) {
    auto it = std::find_if(op.begin(), op.end(), [&](const auto& kv) { return kv.first == k; });
    if (it != op.end()) {
      it->second = v;
    } else {
      op.emplace_back(k, v);
    }
  }
  requested = op;
  auto pdus = login_step(0, true, 1,
                         {{"InitiatorName", initiator_name},
                          {"InitiatorAlias", "harness"},
                          {"TargetName", target},
                          {"SessionType", "Normal"},
                          {"AuthMethod", "None"}});
  if (conn_->closing()) return pdus;
  auto more = login_step(1, true, 3, op);
  pdus.insert(pdus.end(), more.begin(), more.end());
  return pdus;
}

std::vector<Pdu> Initiator::login_discovery(const Keys& operational) {
  auto pdus = login_step(0, true, 1,
                         {{"InitiatorName", initiator_name}, {"SessionType", "Discovery"}, {"AuthMethod", "None"}});
  Keys op{{"HeaderDigest", "None"}, {"DataDigest", "None"}, {"MaxRecvDataSegmentLength", "65536"}};
  op.insert(op.end(), operational.begin(), operational.end());
  auto more = login_step(1, true, 3, op);
  pdus.insert(pdus.end(), more.begin(), more.end());
  return pdus;
}

void Initiator::login_ready(const Keys& operational) {
  login(operational);
  ASSERT_TRUE(full_feature);
  ASSERT_TRUE(conn_->logged_in());
  // The first command after attach sees POWER ON OCCURRED (SAM-5 6.3).
  Command tur;
  tur.itt = 0xfffe;
  tur.cdb = tur_cdb();
  command(tur);
  auto pdus = recv();
  ASSERT_EQ(pdus.size(), 1u);
  ASSERT_EQ(pdus[0].op(), Opcode::scsi_response);
}

ScsiCommandHeader Initiator::command_bhs(const Command& c) {
  ScsiCommandHeader b;
  b.set_immediate(c.immediate);
  b.set_final(c.final_bit);
  b.set_read(c.read);
  b.set_write(c.write);
  b.set_attribute(TaskAttribute::simple);
  b.set_lun_raw(encode_lun(c.lun));
  b.set_itt(c.itt);
  b.set_expected_data_transfer_length(c.edtl);
  uint32_t sn = cmd_sn;
  if (c.cmd_sn) {
    sn = *c.cmd_sn;
  } else if (!c.immediate) {
    ++cmd_sn;
  }
  b.set_cmd_sn(sn);
  b.set_exp_stat_sn(exp_stat_sn);
  std::copy_n(c.cdb.begin(), std::min(c.cdb.size(), b.cdb().size()), b.cdb().begin());
  return b;
}

void Initiator::command(const Command& c) { send(command_bhs(c), c.data); }

DataOutHeader Initiator::data_out_bhs(uint32_t itt, uint32_t ttt, uint32_t data_sn, uint32_t offset, bool final_bit,
                                      uint64_t lun) const {
  DataOutHeader b;
  b.set_final(final_bit);
  b.set_lun_raw(encode_lun(lun));
  b.set_itt(itt);
  b.set_ttt(ttt);
  b.set_exp_stat_sn(exp_stat_sn);
  b.set_data_sn(data_sn);
  b.set_buffer_offset(offset);
  return b;
}

void Initiator::data_out(uint32_t itt, uint32_t ttt, uint32_t data_sn, uint32_t offset,
                         std::span<const uint8_t> data, bool final_bit) {
  send(data_out_bhs(itt, ttt, data_sn, offset, final_bit), data);
}

NopOutHeader Initiator::nop_out_bhs(uint32_t itt, uint32_t ttt, bool immediate) {
  NopOutHeader b;
  b.set_immediate(immediate);
  b.set_itt(itt);
  b.set_ttt(ttt);
  b.set_cmd_sn(immediate ? cmd_sn : cmd_sn++);
  b.set_exp_stat_sn(exp_stat_sn);
  return b;
}

TextRequestHeader Initiator::text_bhs(uint32_t itt, bool final_bit) {
  TextRequestHeader b;
  b.set_final(final_bit);
  b.set_continue(!final_bit);
  b.set_itt(itt);
  b.set_ttt(kReservedTag);
  b.set_cmd_sn(cmd_sn++);
  b.set_exp_stat_sn(exp_stat_sn);
  return b;
}

LogoutRequestHeader Initiator::logout_bhs(uint32_t itt, uint8_t reason, bool immediate) {
  LogoutRequestHeader b;
  b.set_immediate(immediate);
  b.set_reason_code(reason);
  b.set_itt(itt);
  b.set_cid(1);
  b.set_cmd_sn(immediate ? cmd_sn : cmd_sn++);
  b.set_exp_stat_sn(exp_stat_sn);
  return b;
}

TaskMgmtRequestHeader Initiator::tmf_bhs(uint32_t itt, uint8_t function, uint32_t rtt, uint32_t ref_cmd_sn,
                                         uint64_t lun, bool immediate) {
  TaskMgmtRequestHeader b;
  b.set_immediate(immediate);
  b.set_function(function);
  b.set_lun_raw(encode_lun(lun));
  b.set_itt(itt);
  b.set_referenced_task_tag(rtt);
  b.set_cmd_sn(immediate ? cmd_sn : cmd_sn++);
  b.set_exp_stat_sn(exp_stat_sn);
  b.set_ref_cmd_sn(ref_cmd_sn);
  b.set_exp_data_sn(0);
  return b;
}

std::vector<uint8_t> Initiator::read10(uint32_t lba, uint16_t blocks, uint32_t itt) {
  Command c;
  c.itt = itt;
  c.cdb = read10_cdb(lba, blocks);
  c.read = true;
  c.edtl = uint32_t(blocks) * kBlockSize;
  command(c);
  auto pdus = recv();
  std::vector<uint8_t> data(c.edtl, 0);
  for (const auto& p : only(pdus, Opcode::data_in)) {
    EXPECT_EQ(p.itt(), itt);
    EXPECT_LE(size_t(p.buffer_offset()) + p.data.size(), data.size());
    if (size_t(p.buffer_offset()) + p.data.size() <= data.size()) {
      std::copy(p.data.begin(), p.data.end(), data.begin() + p.buffer_offset());
    }
  }
  EXPECT_EQ(status_of(pdus, itt), std::optional<uint8_t>(0));
  return data;
}

std::vector<Pdu> Initiator::write10(uint32_t lba, const std::vector<uint8_t>& data, uint32_t itt, uint32_t chunk) {
  auto param = [&](const char* key, const std::string& dflt) {
    auto it = negotiated.find(key);
    return it == negotiated.end() ? dflt : it->second;
  };
  bool initial_r2t = param("InitialR2T", "Yes") == "Yes";
  bool immediate_data = param("ImmediateData", "Yes") == "Yes";
  uint32_t fbl = static_cast<uint32_t>(std::stoul(param("FirstBurstLength", "65536")));
  uint32_t target_mrdsl = static_cast<uint32_t>(std::stoul(param("MaxRecvDataSegmentLength", "8192")));
  auto edtl = static_cast<uint32_t>(data.size());
  uint32_t imm = immediate_data ? std::min({fbl, edtl, target_mrdsl}) : 0;
  uint32_t unsolicited = initial_r2t ? imm : std::min(fbl, edtl);
  chunk = std::min(chunk, target_mrdsl);

  Command c;
  c.itt = itt;
  c.cdb = write10_cdb(lba, static_cast<uint16_t>(edtl / kBlockSize));
  c.write = true;
  c.final_bit = imm >= unsolicited;
  c.edtl = edtl;
  c.data.assign(data.begin(), data.begin() + imm);
  command(c);
  uint32_t data_sn = 0;
  for (uint32_t off = imm; off < unsolicited;) {
    uint32_t n = std::min(chunk, unsolicited - off);
    data_out(itt, kReservedTag, data_sn++, off, std::span(data).subspan(off, n), off + n == unsolicited);
    off += n;
  }
  std::vector<Pdu> all;
  for (int rounds = 0; rounds < 10000; ++rounds) {
    auto pdus = recv();
    all.insert(all.end(), pdus.begin(), pdus.end());
    auto r2ts = only(pdus, Opcode::r2t);
    if (r2ts.empty() || conn_->closing()) break;
    for (const auto& r : r2ts) {
      uint32_t end = r.buffer_offset() + r.r2t().desired_data_transfer_length();
      uint32_t sn = 0;
      for (uint32_t off = r.buffer_offset(); off < end;) {
        uint32_t n = std::min(chunk, end - off);
        data_out(itt, r.ttt(), sn++, off, std::span(data).subspan(off, n), off + n == end);
        off += n;
      }
    }
  }
  return all;
}

// ---------------------------------------------------------------- CDBs

std::vector<uint8_t> read10_cdb(uint32_t lba, uint16_t blocks) {
  std::vector<uint8_t> c(10, 0);
  c[0] = 0x28;
  store_be32(&c[2], lba);
  store_be16(&c[7], blocks);
  return c;
}

std::vector<uint8_t> write10_cdb(uint32_t lba, uint16_t blocks) {
  std::vector<uint8_t> c(10, 0);
  c[0] = 0x2a;
  store_be32(&c[2], lba);
  store_be16(&c[7], blocks);
  return c;
}

std::vector<uint8_t> inquiry_cdb(uint16_t alloc) {
  std::vector<uint8_t> c{0x12, 0, 0, 0, 0, 0};
  store_be16(&c[3], alloc);
  return c;
}

std::vector<uint8_t> tur_cdb() { return std::vector<uint8_t>(6, 0); }

std::vector<uint8_t> pattern(size_t bytes, uint8_t seed) {
  std::vector<uint8_t> v(bytes);
  for (size_t i = 0; i < v.size(); ++i) v[i] = uint8_t(seed + i * 7 + (i >> 9));
  return v;
}

Command read10_command(uint32_t itt, uint32_t lba, uint16_t blocks) {
  Command c;
  c.itt = itt;
  c.cdb = read10_cdb(lba, blocks);
  c.read = true;
  c.edtl = uint32_t(blocks) * kBlockSize;
  return c;
}

Command write10_command(uint32_t itt, uint32_t lba, std::vector<uint8_t> data) {
  Command c;
  c.itt = itt;
  c.cdb = write10_cdb(lba, static_cast<uint16_t>(data.size() / kBlockSize));
  c.write = true;
  c.edtl = static_cast<uint32_t>(data.size());
  c.data = std::move(data);
  return c;
}

std::vector<uint8_t> data_in_bytes(const std::vector<Pdu>& pdus, uint32_t itt) {
  std::vector<uint8_t> out;
  for (const auto& p : pdus) {
    if (p.op() == Opcode::data_in && p.itt() == itt) out.insert(out.end(), p.data.begin(), p.data.end());
  }
  return out;
}

size_t status_count(const std::vector<Pdu>& pdus, uint32_t itt) {
  size_t n = 0;
  for (const auto& p : pdus) {
    if (p.itt() != itt) continue;
    if (p.op() == Opcode::scsi_response || (p.op() == Opcode::data_in && p.data_in().status_present())) ++n;
  }
  return n;
}

}  // namespace scsipub::iscsi::testing
