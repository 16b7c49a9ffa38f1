// SPC-4 5.9 persistent reservations as a value: every service action, the
// conflict tables, unit attentions and generation counting. Scenarios mirror
// libiscsi test_prin_*.c, test_prout_*.c and test_reserve6_*.c.
#include <gtest/gtest.h>

#include <array>
#include <random>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "scsi/opcode_table.h"
#include "scsi/persistent_reservations.h"
#include "scsi/pr_out_params.h"

namespace scsipub::scsi {
namespace {

constexpr uint8_t kRegister = 0, kReserve = 1, kRelease = 2, kClear = 3, kPreempt = 4, kPreemptAbort = 5,
                  kRegisterIgnore = 6, kRegisterMove = 7;
constexpr uint8_t kWE = 1, kEA = 3, kWERO = 5, kEARO = 6, kWEAR = 7, kEAAR = 8;
constexpr std::array<uint8_t, 6> kTypes = {kWE, kEA, kWERO, kEARO, kWEAR, kEAAR};

const std::string kTargetPort = "iqn.2025-01.pub.scsipub:disk.t,t,0x0001";

PrNexus nexus(int i) {
  std::array<uint8_t, 6> isid = {0x40, 0x00, 0x01, 0x37, 0x00, uint8_t(i)};
  return {iscsi_initiator_port("iqn.2025-01.org.example:host" + std::to_string(i), isid), kTargetPort};
}

std::vector<uint8_t> cdb_out(uint8_t sa, uint8_t type, uint32_t length, uint8_t scope = 0) {
  std::vector<uint8_t> c(10, 0);
  c[0] = 0x5F;
  c[1] = sa;
  c[2] = uint8_t(scope << 4 | type);
  store_be32(&c[5], length);
  return c;
}

std::vector<uint8_t> basic(uint64_t key, uint64_t sa_key, uint8_t flags = 0) {
  std::vector<uint8_t> v(24, 0);
  store_be64(&v[0], key);
  store_be64(&v[8], sa_key);
  v[20] = flags;
  return v;
}

std::vector<uint8_t> move_list(uint64_t key, uint64_t sa_key, const std::vector<uint8_t>& tid, uint16_t rtpi = 1,
                               uint8_t flags = 0) {
  std::vector<uint8_t> v(24, 0);
  store_be64(&v[0], key);
  store_be64(&v[8], sa_key);
  v[17] = flags;
  store_be16(&v[18], rtpi);
  store_be32(&v[20], uint32_t(tid.size()));
  v.insert(v.end(), tid.begin(), tid.end());
  return v;
}

std::vector<uint8_t> cdb_read(uint8_t op) {
  std::vector<uint8_t> c(10, 0);
  c[0] = op;
  return c;
}

const std::vector<uint8_t> kRead10 = cdb_read(0x28);
const std::vector<uint8_t> kWrite10 = cdb_read(0x2A);
const std::vector<uint8_t> kInquiry = {0x12, 0, 0, 0, 36, 0};
const std::vector<uint8_t> kTur = {0x00, 0, 0, 0, 0, 0};
const std::vector<uint8_t> kReportLuns = {0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
const std::vector<uint8_t> kReadCap10 = cdb_read(0x25);
const std::vector<uint8_t> kPrIn = {0x5E, 0, 0, 0, 0, 0, 0, 0x40, 0, 0};
const std::vector<uint8_t> kModeSense6 = {0x1A, 0, 0x3F, 0, 255, 0};

class PrTest : public ::testing::Test {
 protected:
  PrOutResult out(const PrNexus& who, uint8_t sa, uint64_t key, uint64_t sa_key, uint8_t type = 0,
                  uint8_t flags = 0, uint8_t scope = 0) {
    auto p = basic(key, sa_key, flags);
    return pr.out(cdb_out(sa, type, uint32_t(p.size()), scope), p, who);
  }
  PrOutResult reg(const PrNexus& who, uint64_t key) { return out(who, kRegisterIgnore, 0, key); }
  PrOutResult reserve(const PrNexus& who, uint64_t key, uint8_t type) { return out(who, kReserve, key, 0, type); }
  PrOutResult release(const PrNexus& who, uint64_t key, uint8_t type) { return out(who, kRelease, key, 0, type); }

  std::vector<uint8_t> in(uint8_t sa) {
    auto r = pr.in(sa, a);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r.value() : std::vector<uint8_t>{};
  }
  std::vector<uint64_t> keys() {
    auto d = in(0);
    std::vector<uint64_t> k;
    for (size_t i = 8; i + 8 <= d.size(); i += 8) k.push_back(load_be64(&d[i]));
    EXPECT_EQ(load_be32(&d[4]), 8 * k.size());
    return k;
  }
  uint32_t generation() { return load_be32(in(0).data()); }
  struct Rsv {
    bool reserved = false;
    uint64_t key = 0;
    uint8_t type = 0;
    uint8_t scope = 0;
  };
  Rsv reservation() {
    auto d = in(1);
    Rsv r;
    if (load_be32(&d[4]) == 0) return r;
    EXPECT_EQ(load_be32(&d[4]), 16u);
    EXPECT_EQ(d.size(), 24u);
    r.reserved = true;
    r.key = load_be64(&d[8]);
    r.type = d[21] & 0x0F;
    r.scope = d[21] >> 4;
    return r;
  }

  // A conflict for this CDB, classed as the direct-access opcode table says
  // (the dispatcher's path).
  bool conflicts(std::span<const uint8_t> cdb, const PrNexus& who) const {
    const uint16_t sa = opcode_has_service_actions(cdb[0]) ? cdb[1] & 0x1F : 0;
    const OpcodeInfo* row = find_opcode(cdb[0], sa);
    if (row == nullptr) {
      ADD_FAILURE() << "no row for opcode " << int(cdb[0]);
      return false;
    }
    return pr.conflicts(reservation_access(*row, cdb), who);
  }

  PersistentReservations pr;
  PrNexus a = nexus(1), b = nexus(2), c = nexus(3);
};

bool good(const PrOutResult& r) { return r.status == PrStatus::good; }
bool conflict(const PrOutResult& r) { return r.status == PrStatus::reservation_conflict; }
bool sense_is(const PrOutResult& r, uint8_t key, uint8_t asc, uint8_t ascq) {
  return r.status == PrStatus::check_condition && r.sense.code.key == key && r.sense.code.asc == asc &&
         r.sense.code.ascq == ascq;
}
bool invalid_cdb(const PrOutResult& r) { return sense_is(r, 0x05, 0x24, 0x00); }
bool invalid_param(const PrOutResult& r) { return sense_is(r, 0x05, 0x26, 0x00); }
bool length_error(const PrOutResult& r) { return sense_is(r, 0x05, 0x1A, 0x00); }

// SPC-4 5.9.11: RESERVATIONS PREEMPTED (2Ah/03h), RELEASED (2Ah/04h),
// REGISTRATIONS PREEMPTED (2Ah/05h), by ASCQ.
PrUnitAttention ua(const PrNexus& n, uint8_t ascq) {
  const lu::UnitAttention c = ascq == 0x03   ? lu::ua::kReservationsPreempted
                              : ascq == 0x04 ? lu::ua::kReservationsReleased
                                             : lu::ua::kRegistrationsPreempted;
  EXPECT_TRUE(ascq >= 0x03 && ascq <= 0x05);
  EXPECT_EQ(unit_attention_code(c).ascq, ascq);
  return {n.initiator_port, n.target_port, c};
}

// --- names and TransportIDs --------------------------------------------------

TEST(PrNames, InitiatorPortName) {
  std::array<uint8_t, 6> isid = {0x40, 0x00, 0x01, 0x37, 0xAB, 0xCD};
  EXPECT_EQ(iscsi_initiator_port("iqn.x:y", isid), "iqn.x:y,i,0x40000137abcd");
}

TEST(PrNames, TransportIdRoundTrip) {
  auto tid = encode_iscsi_transport_id(nexus(7).initiator_port);
  EXPECT_EQ(tid.size() % 4, 0u);
  EXPECT_EQ(tid[0], 0x45);  // format 01b, iSCSI
  EXPECT_EQ(load_be16(&tid[2]), tid.size() - 4);
  size_t n = 0;
  auto id = parse_transport_id(tid, &n);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(n, tid.size());
  EXPECT_EQ(id->format, 1);
  EXPECT_EQ(id->initiator_port(), nexus(7).initiator_port);

  auto dev = encode_iscsi_transport_id("iqn.a:b");
  EXPECT_EQ(dev.size(), 24u);  // minimum
  EXPECT_EQ(dev[0], 0x05);
  auto id0 = parse_transport_id(dev, &n);
  ASSERT_TRUE(id0.ok());
  EXPECT_EQ(id0->format, 0);
  EXPECT_EQ(id0->name, "iqn.a:b");
  EXPECT_TRUE(id0->isid.empty());
}

std::vector<uint8_t> raw_tid(uint8_t b0, const std::string& text, size_t total) {
  std::vector<uint8_t> v(total, 0);
  v[0] = b0;
  store_be16(&v[2], uint16_t(total - 4));
  std::copy(text.begin(), text.begin() + std::min(text.size(), total - 4), v.begin() + 4);
  return v;
}

TEST(PrNames, TransportIdIsidNormalisedToLowerCase) {
  size_t n = 0;
  auto id = parse_transport_id(raw_tid(0x45, "iqn.a:b,i,0x40000137ABCD", 32), &n);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->isid, "40000137abcd");
  EXPECT_EQ(id->name, "iqn.a:b");
}

TEST(PrNames, TransportIdGarbage) {
  size_t n = 0;
  auto reason = [&](const std::vector<uint8_t>& v) {
    auto r = parse_transport_id(v, &n, 24);
    return r.ok() ? SenseReason::no_sense : r.error().reason;
  };
  const auto kInvalid = SenseReason::invalid_field_in_parameter_list;
  const auto kLength = SenseReason::parameter_list_length_error;
  EXPECT_EQ(reason({}), kLength);
  EXPECT_EQ(reason({0x45, 0, 0}), kLength);
  EXPECT_EQ(reason(raw_tid(0x41, "iqn.a:b,i,0x400001370001", 32)), kInvalid);  // FC protocol id
  EXPECT_EQ(reason(raw_tid(0x85, "iqn.a:b", 24)), kInvalid);                   // format 10b
  EXPECT_EQ(reason(raw_tid(0x05, "iqn.a:b", 20)), kInvalid);                   // additional length 16 < 20
  EXPECT_EQ(reason(raw_tid(0x05, "iqn.a:b", 26)), kInvalid);                   // not a multiple of 4
  auto no_nul = raw_tid(0x05, std::string(20, 'a'), 24);
  EXPECT_EQ(reason(no_nul), kInvalid);
  auto longer = raw_tid(0x05, "iqn.a:b", 24);
  store_be16(&longer[2], 40);  // claims more than there is
  EXPECT_EQ(reason(longer), kLength);
  EXPECT_EQ(reason(raw_tid(0x05, "", 24)), kInvalid);                            // empty name
  EXPECT_EQ(reason(raw_tid(0x05, "iqn.a,b", 24)), kInvalid);                     // comma in name
  EXPECT_EQ(reason(raw_tid(0x05, "iqn.a\x01" "b", 24)), kInvalid);               // control character
  EXPECT_EQ(reason(raw_tid(0x45, "iqn.a:b", 24)), kInvalid);                     // 01b without separator
  EXPECT_EQ(reason(raw_tid(0x45, "iqn.a:b,i,0x4000", 24)), kInvalid);            // short ISID
  EXPECT_EQ(reason(raw_tid(0x45, "iqn.a:b,i,0x40000137zzzz", 32)), kInvalid);    // not hex
  EXPECT_EQ(reason(raw_tid(0x45, ",i,0x400001370001", 24)), kInvalid);           // no name
  EXPECT_EQ(reason(raw_tid(0x05, std::string(224, 'a'), 232)), kInvalid);        // > 223 bytes
  auto r = parse_transport_id(raw_tid(0x41, "x", 24), &n, 24);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().field.in_cdb);
  EXPECT_EQ(r.error().field.byte, 24);
}

// --- parameter list parsers --------------------------------------------------

TEST(PrParams, BasicList) {
  auto p = parse_pr_out_basic(basic(0x1122334455667788ull, 0x99, 0x05));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->reservation_key, 0x1122334455667788ull);
  EXPECT_EQ(p->service_action_key, 0x99u);
  EXPECT_TRUE(p->aptpl);
  EXPECT_TRUE(p->all_tg_pt);
  EXPECT_FALSE(p->spec_i_pt);
}

TEST(PrParams, BasicLengths) {
  for (size_t n : {0, 1, 8, 23, 25, 28, 100}) {
    std::vector<uint8_t> v(n, 0);
    auto p = parse_pr_out_basic(v);
    ASSERT_FALSE(p.ok()) << n;
    EXPECT_EQ(p.error().reason, SenseReason::parameter_list_length_error) << n;
  }
}

TEST(PrParams, SpecIptList) {
  auto t1 = encode_iscsi_transport_id(nexus(1).initiator_port);
  auto t2 = encode_iscsi_transport_id("iqn.dev:only");
  auto v = basic(0, 5, 0x08);
  v.resize(28);
  store_be32(&v[24], uint32_t(t1.size() + t2.size()));
  v.insert(v.end(), t1.begin(), t1.end());
  v.insert(v.end(), t2.begin(), t2.end());
  auto p = parse_pr_out_basic(v);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->transport_ids.size(), 2u);
  EXPECT_EQ(p->transport_ids[0].initiator_port(), nexus(1).initiator_port);
  EXPECT_EQ(p->transport_ids[1].initiator_port(), "iqn.dev:only");

  auto shorter = v;  // TPDL claims more than the list holds
  store_be32(&shorter[24], uint32_t(t1.size() + t2.size() + 4));
  EXPECT_EQ(parse_pr_out_basic(shorter).error().reason, SenseReason::parameter_list_length_error);
  auto huge = v;
  store_be32(&huge[24], 0xFFFFFFFFu);
  EXPECT_EQ(parse_pr_out_basic(huge).error().reason, SenseReason::parameter_list_length_error);
  auto partial = v;  // the last TransportID is cut: TPDL and list agree, the ID does not fit
  partial.resize(partial.size() - 4);
  store_be32(&partial[24], uint32_t(partial.size() - 28));
  EXPECT_EQ(parse_pr_out_basic(partial).error().reason, SenseReason::parameter_list_length_error);
  auto only_header = basic(0, 5, 0x08);
  EXPECT_EQ(parse_pr_out_basic(only_header).error().reason, SenseReason::parameter_list_length_error);
  only_header.resize(28);  // TPDL 0: an empty list is well-formed
  EXPECT_TRUE(parse_pr_out_basic(only_header).ok());
}

TEST(PrParams, MoveList) {
  auto tid = encode_iscsi_transport_id(nexus(2).initiator_port);
  auto p = parse_pr_out_move(move_list(1, 2, tid, 1, 0x03));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->reservation_key, 1u);
  EXPECT_EQ(p->service_action_key, 2u);
  EXPECT_TRUE(p->unreg);
  EXPECT_TRUE(p->aptpl);
  EXPECT_EQ(p->relative_target_port, 1);
  EXPECT_EQ(p->transport_id.initiator_port(), nexus(2).initiator_port);

  EXPECT_EQ(parse_pr_out_move(basic(1, 2)).error().reason, SenseReason::parameter_list_length_error);
  auto v = move_list(1, 2, tid);
  v.push_back(0);  // trailing byte past TPDL
  EXPECT_EQ(parse_pr_out_move(v).error().reason, SenseReason::parameter_list_length_error);
  v = move_list(1, 2, tid);
  v.resize(v.size() - 1);
  EXPECT_EQ(parse_pr_out_move(v).error().reason, SenseReason::parameter_list_length_error);
  // TPDL covers the TransportID plus padding of its own: not one TransportID.
  auto padded = tid;
  padded.resize(tid.size() + 4, 0);
  auto w = move_list(1, 2, padded);
  EXPECT_EQ(parse_pr_out_move(w).error().reason, SenseReason::invalid_field_in_parameter_list);
  EXPECT_EQ(parse_pr_out_move(move_list(1, 2, {})).error().reason, SenseReason::parameter_list_length_error);
}

TEST(PrParams, RandomBytesNeverCrash) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> v(rng() % 96);
    for (auto& x : v) x = uint8_t(rng());
    if (v.size() > 24 && (rng() & 1)) store_be32(&v[20], uint32_t(v.size() - 24));
    if (v.size() > 28 && (rng() & 1)) store_be32(&v[24], uint32_t(v.size() - 28));
    if (v.size() > 28 && (rng() & 1)) v[24] = 0x45, v[20] |= 0x08;
    (void)parse_pr_out_basic(v);
    (void)parse_pr_out_move(v);
    size_t n = 0;
    auto t = parse_transport_id(v, &n);
    if (t.ok()) {
      EXPECT_LE(n, v.size());
    }
  }
}

// --- PERSISTENT RESERVE IN ---------------------------------------------------

TEST_F(PrTest, ServiceActionRange) {  // test_prin_serviceaction_range
  for (uint8_t sa = 0; sa < 4; ++sa) EXPECT_TRUE(pr.in(sa, a).ok());
  for (uint8_t sa = 4; sa < 0x20; ++sa) {
    auto r = pr.in(sa, a);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code.asc, 0x24);
    ASSERT_TRUE(r.error().detail.field.has_value());
    EXPECT_TRUE(r.error().detail.field->in_cdb);
    EXPECT_EQ(r.error().detail.field->byte, 1);
  }
}

TEST_F(PrTest, ReportCapabilities) {  // test_prin_report_caps
  auto d = in(2);
  ASSERT_EQ(d.size(), 8u);
  EXPECT_EQ(load_be16(&d[0]), 8);
  EXPECT_EQ(d[2], 0x11);               // CRH, PTPL_C; no SIP_C, ATP_C
  EXPECT_EQ(d[3], 0xB0);               // TMV, ALLOW COMMANDS 3, PTPL_A 0
  EXPECT_EQ(load_be16(&d[4]), 0xEA01);  // all six types
  EXPECT_LE((d[3] >> 4) & 7, 5);
  ASSERT_TRUE(good(out(a, kRegisterIgnore, 0, 1, 0, 0x01)));  // APTPL
  EXPECT_EQ(in(2)[3] & 0x01, 1);
  ASSERT_TRUE(good(out(a, kRegister, 1, 2, 0, 0)));
  EXPECT_EQ(in(2)[3] & 0x01, 0);
}

TEST_F(PrTest, ReportCapsTypesAllWork) {  // test_prin_report_caps_simple
  ASSERT_TRUE(good(reg(a, 0xAB)));
  for (uint8_t t : kTypes) {
    ASSERT_TRUE(good(reserve(a, 0xAB, t))) << int(t);
    auto r = reservation();
    EXPECT_TRUE(r.reserved);
    EXPECT_EQ(r.type, t);
    EXPECT_EQ(r.key, (t == kWEAR || t == kEAAR) ? 0u : 0xABu);
    ASSERT_TRUE(good(release(a, 0xAB, t))) << int(t);
    EXPECT_FALSE(reservation().reserved);
  }
  ASSERT_TRUE(good(out(a, kRegister, 0xAB, 0)));
  EXPECT_TRUE(keys().empty());
}

TEST_F(PrTest, ReadFullStatus) {
  ASSERT_TRUE(good(reg(a, 10)));
  ASSERT_TRUE(good(reg(b, 20)));
  ASSERT_TRUE(good(reserve(b, 20, kWERO)));
  auto d = in(3);
  EXPECT_EQ(load_be32(&d[0]), generation());
  EXPECT_EQ(load_be32(&d[4]), d.size() - 8);
  size_t off = 8;
  std::vector<std::string> ports;
  std::vector<bool> holders;
  while (off < d.size()) {
    ASSERT_LE(off + 24, d.size());
    const uint8_t* p = &d[off];
    const uint32_t tid_len = load_be32(p + 20);
    EXPECT_EQ(load_be16(p + 18), 1);
    holders.push_back(p[12] & 0x01);
    if (p[12] & 0x01) {
      EXPECT_EQ(p[13], kWERO);
    }
    size_t n = 0;
    auto id = parse_transport_id(std::span<const uint8_t>(p + 24, tid_len), &n);
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(n, tid_len);
    ports.push_back(id->initiator_port());
    off += 24 + tid_len;
  }
  EXPECT_EQ(off, d.size());
  EXPECT_EQ(ports, (std::vector<std::string>{a.initiator_port, b.initiator_port}));
  EXPECT_EQ(holders, (std::vector<bool>{false, true}));

  ASSERT_TRUE(good(release(b, 20, kWERO)));
  ASSERT_TRUE(good(reserve(a, 10, kEAAR)));
  d = in(3);
  EXPECT_EQ(d[8 + 12] & 1, 1);  // every registrant holds an all-registrants reservation
  EXPECT_EQ(d[8 + 13], kEAAR);
}

// --- REGISTER ----------------------------------------------------------------

TEST_F(PrTest, RegisterSimple) {  // test_prout_register_simple
  const uint32_t g0 = generation();
  auto r = out(a, kRegister, 0, 0x1234);
  ASSERT_TRUE(good(r));
  EXPECT_TRUE(r.state_changed);
  EXPECT_EQ(keys(), std::vector<uint64_t>{0x1234});
  EXPECT_EQ(generation(), g0 + 1);
  EXPECT_TRUE(pr.is_registered(a));
  // Re-registering with the wrong (zero) reservation key conflicts.
  EXPECT_TRUE(conflict(out(a, kRegister, 0, 0x1235)));
  EXPECT_TRUE(conflict(out(a, kRegister, 0x9999, 0x1235)));
  EXPECT_EQ(generation(), g0 + 1);  // not on errors
  // Change the key, then unregister with key 0.
  ASSERT_TRUE(good(out(a, kRegister, 0x1234, 0x5678)));
  EXPECT_EQ(keys(), std::vector<uint64_t>{0x5678});
  ASSERT_TRUE(good(out(a, kRegister, 0x5678, 0)));
  EXPECT_TRUE(keys().empty());
  EXPECT_FALSE(pr.is_registered(a));
  EXPECT_EQ(generation(), g0 + 3);
}

TEST_F(PrTest, RegisterUnregisteredWithKeyConflicts) {
  EXPECT_TRUE(conflict(out(a, kRegister, 5, 6)));
  EXPECT_TRUE(keys().empty());
}

TEST_F(PrTest, RegisterZeroWhenUnregisteredIsANoOp) {
  auto r = out(a, kRegister, 0, 0);
  EXPECT_TRUE(good(r));
  EXPECT_FALSE(r.state_changed);
  EXPECT_EQ(generation(), 0u);
  EXPECT_TRUE(good(out(a, kRegisterIgnore, 77, 0)));
  EXPECT_EQ(generation(), 0u);
}

TEST_F(PrTest, RegisterAndIgnoreExistingKey) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(out(a, kRegisterIgnore, 0xDEAD, 2)));  // reservation key ignored
  EXPECT_EQ(keys(), std::vector<uint64_t>{2});
  ASSERT_TRUE(good(out(a, kRegisterIgnore, 0xDEAD, 0)));
  EXPECT_TRUE(keys().empty());
  EXPECT_EQ(generation(), 3u);
}

TEST_F(PrTest, EachNexusRegistersSeparately) {
  ASSERT_TRUE(good(reg(a, 7)));
  ASSERT_TRUE(good(reg(b, 7)));  // keys need not be unique
  PrNexus other_port = a;
  other_port.target_port = "iqn.other,t,0x0002";
  ASSERT_TRUE(good(reg(other_port, 8)));
  EXPECT_EQ(keys(), (std::vector<uint64_t>{7, 7, 8}));
}

TEST_F(PrTest, KeyChangeKeepsReservation) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reserve(a, 1, kEA)));
  ASSERT_TRUE(good(out(a, kRegister, 1, 2)));
  EXPECT_TRUE(pr.is_holder(a));
  EXPECT_EQ(reservation().key, 2u);
}

TEST_F(PrTest, Aptpl) {
  ASSERT_TRUE(good(out(a, kRegisterIgnore, 0, 1, 0, 0x01)));
  EXPECT_TRUE(pr.state().aptpl);
  EXPECT_TRUE(pr.state().registrations[0].aptpl);
  ASSERT_TRUE(good(out(b, kRegisterIgnore, 0, 2, 0, 0x01)));
  EXPECT_TRUE(pr.state().registrations[1].aptpl);
  ASSERT_TRUE(good(reg(c, 3)));
  EXPECT_FALSE(pr.state().aptpl);  // the most recent APTPL value governs all
  for (const auto& r : pr.state().registrations) EXPECT_FALSE(r.aptpl);
  // APTPL means nothing to other service actions.
  ASSERT_TRUE(good(out(a, kReserve, 1, 0, kWE, 0x01)));
  EXPECT_FALSE(pr.state().aptpl);
}

// --- CDB and parameter list checks -------------------------------------------

TEST_F(PrTest, OutServiceActionRange) {
  for (uint8_t sa = 8; sa < 0x20; ++sa) {
    auto p = basic(0, 1);
    auto r = pr.out(cdb_out(sa, 0, 24), p, a);
    EXPECT_TRUE(invalid_cdb(r)) << int(sa);
    ASSERT_TRUE(r.sense.detail.field.has_value());
    EXPECT_EQ(r.sense.detail.field->byte, 1);
  }
  EXPECT_TRUE(invalid_cdb(pr.out(std::vector<uint8_t>{0x5F, 0, 0}, {}, a)));
}

TEST_F(PrTest, ParameterListLength) {
  for (uint32_t n : {0u, 1u, 23u, 25u, 32u}) {
    std::vector<uint8_t> p(n, 0);
    if (n >= 16) store_be64(&p[8], 1);
    for (uint8_t sa : {kRegister, kReserve, kRelease, kClear, kPreempt, kPreemptAbort, kRegisterIgnore})
      EXPECT_TRUE(length_error(pr.out(cdb_out(sa, kWE, n), p, a))) << n << " sa " << int(sa);
  }
  // Less data-out than the CDB announced.
  auto p = basic(0, 1);
  EXPECT_TRUE(length_error(pr.out(cdb_out(kRegister, 0, 24), std::span(p).first(20), a)));
  // More data-out than announced: only the announced bytes count.
  p.resize(40, 0xFF);
  EXPECT_TRUE(good(pr.out(cdb_out(kRegister, 0, 24), p, a)));
  EXPECT_EQ(keys(), std::vector<uint64_t>{1});
}

TEST_F(PrTest, SpecIptRefused) {
  auto tid = encode_iscsi_transport_id(b.initiator_port);
  auto p = basic(0, 1, 0x08);
  p.resize(28);
  store_be32(&p[24], uint32_t(tid.size()));
  p.insert(p.end(), tid.begin(), tid.end());
  for (uint8_t sa : {kRegister, kRegisterIgnore, kReserve, kClear}) {
    auto r = pr.out(cdb_out(sa, kWE, uint32_t(p.size())), p, a);
    EXPECT_TRUE(invalid_param(r));
    ASSERT_TRUE(r.sense.detail.field.has_value());
    EXPECT_FALSE(r.sense.detail.field->in_cdb);
    EXPECT_EQ(r.sense.detail.field->byte, 20);
    EXPECT_EQ(r.sense.detail.field->bit, 3);
  }
  // SPEC_I_PT with a 24-byte list: the length is wrong first (no field pointer).
  auto short_list = out(a, kRegister, 0, 1, 0, 0x08);
  EXPECT_TRUE(length_error(short_list));
  EXPECT_FALSE(short_list.sense.detail.field.has_value());
  EXPECT_TRUE(keys().empty());
}

TEST_F(PrTest, AllTgPtRefusedForRegisterOnly) {
  EXPECT_TRUE(invalid_param(out(a, kRegister, 0, 1, 0, 0x04)));
  EXPECT_TRUE(invalid_param(out(a, kRegisterIgnore, 0, 1, 0, 0x04)));
  ASSERT_TRUE(good(reg(a, 1)));
  EXPECT_TRUE(good(out(a, kReserve, 1, 0, kWE, 0x04)));  // ignored elsewhere
  EXPECT_TRUE(good(out(a, kRelease, 1, 0, kWE, 0x04)));
}

// --- RESERVE / RELEASE -------------------------------------------------------

TEST_F(PrTest, ReserveNeedsRegistrationAndKey) {
  EXPECT_TRUE(conflict(reserve(a, 0, kWE)));
  EXPECT_TRUE(conflict(reserve(a, 1, kWE)));
  ASSERT_TRUE(good(reg(a, 1)));
  EXPECT_TRUE(conflict(reserve(a, 2, kWE)));
  EXPECT_FALSE(pr.reserved());
}

TEST_F(PrTest, ReserveScopeAndType) {
  ASSERT_TRUE(good(reg(a, 1)));
  for (uint8_t t : {0, 2, 4, 9, 15}) EXPECT_TRUE(invalid_cdb(reserve(a, 1, t))) << int(t);
  auto r = out(a, kReserve, 1, 0, kWE, 0, 1);  // element scope... any non-LU scope
  EXPECT_TRUE(invalid_cdb(r));
  EXPECT_EQ(r.sense.detail.field->byte, 2);
  EXPECT_FALSE(pr.reserved());
}

TEST_F(PrTest, ReserveTwiceAndConflicts) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reg(b, 2)));
  const uint32_t g = generation();
  auto r = reserve(a, 1, kEA);
  ASSERT_TRUE(good(r));
  EXPECT_TRUE(r.state_changed);
  EXPECT_EQ(generation(), g);  // RESERVE does not count
  EXPECT_TRUE(good(reserve(a, 1, kEA)));       // same again: GOOD
  EXPECT_TRUE(conflict(reserve(a, 1, kWE)));   // holder, other type
  EXPECT_TRUE(conflict(reserve(b, 2, kEA)));   // someone else
  EXPECT_TRUE(conflict(reserve(b, 2, kWE)));
  auto res = reservation();
  EXPECT_EQ(res.type, kEA);
  EXPECT_EQ(res.key, 1u);
}

TEST_F(PrTest, ReleaseRules) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reg(b, 2)));
  EXPECT_TRUE(good(release(a, 1, kWE)));  // nothing reserved: GOOD
  ASSERT_TRUE(good(reserve(a, 1, kWE)));
  EXPECT_TRUE(conflict(release(c, 0, kWE)));  // unregistered
  EXPECT_TRUE(conflict(release(a, 9, kWE)));  // wrong key
  auto nop = release(b, 2, kWE);              // not the holder: GOOD, nothing happens
  EXPECT_TRUE(good(nop));
  EXPECT_FALSE(nop.state_changed);
  EXPECT_TRUE(pr.reserved());
  EXPECT_TRUE(sense_is(release(a, 1, kEA), 0x05, 0x26, 0x04));  // wrong type
  EXPECT_TRUE(sense_is(out(a, kRelease, 1, 0, kWE, 0, 2), 0x05, 0x26, 0x04));  // wrong scope
  EXPECT_TRUE(pr.reserved());
  const uint32_t g = generation();
  auto r = release(a, 1, kWE);
  EXPECT_TRUE(good(r));
  EXPECT_TRUE(r.state_changed);
  EXPECT_TRUE(r.unit_attentions.empty());  // WE/EA: nobody is told
  EXPECT_FALSE(pr.reserved());
  EXPECT_EQ(generation(), g);
  EXPECT_EQ(keys(), (std::vector<uint64_t>{1, 2}));  // registrations stay
}

TEST_F(PrTest, ReleaseOfRegistrantsOnlyTellsOthers) {
  for (uint8_t t : {kWERO, kEARO, kWEAR, kEAAR}) {
    PersistentReservations fresh;
    pr = fresh;
    ASSERT_TRUE(good(reg(a, 1)));
    ASSERT_TRUE(good(reg(b, 2)));
    ASSERT_TRUE(good(reg(c, 3)));
    ASSERT_TRUE(good(reserve(a, 1, t)));
    auto r = release(a, 1, t);
    ASSERT_TRUE(good(r));
    EXPECT_EQ(r.unit_attentions, (std::vector<PrUnitAttention>{ua(b, 0x04), ua(c, 0x04)})) << int(t);
  }
}

TEST_F(PrTest, AllRegistrantsEveryoneHolds) {  // test_prout_reserve_ownership_{ea,we}ar
  for (uint8_t t : {kWEAR, kEAAR}) {
    pr = PersistentReservations{};
    ASSERT_TRUE(good(reg(a, 1)));
    ASSERT_TRUE(good(reg(b, 2)));
    ASSERT_TRUE(good(reserve(a, 1, t)));
    EXPECT_TRUE(pr.is_holder(a));
    EXPECT_TRUE(pr.is_holder(b));
    EXPECT_FALSE(pr.is_holder(c));
    EXPECT_TRUE(good(reserve(b, 2, t)));  // already a holder: same reservation is fine
    // The registrant that reserved leaves: the reservation stays.
    ASSERT_TRUE(good(out(a, kRegister, 1, 0)));
    auto res = reservation();
    EXPECT_TRUE(res.reserved);
    EXPECT_EQ(res.type, t);
    EXPECT_EQ(res.key, 0u);
    EXPECT_TRUE(pr.is_holder(b));
    EXPECT_TRUE(good(release(b, 2, t)));
    EXPECT_FALSE(pr.reserved());
    ASSERT_TRUE(good(reserve(b, 2, t)));
    ASSERT_TRUE(good(out(b, kRegister, 2, 0)));  // the last registrant leaves: gone
    EXPECT_FALSE(pr.reserved());
    EXPECT_FALSE(pr.state().holder.has_value());
  }
}

TEST_F(PrTest, UnregisteringTheHolderReleases) {  // test_prout_reserve_ownership_{ea,we,earo,wero}
  for (uint8_t t : {kWE, kEA, kWERO, kEARO}) {
    pr = PersistentReservations{};
    ASSERT_TRUE(good(reg(a, 1)));
    ASSERT_TRUE(good(reg(b, 2)));
    ASSERT_TRUE(good(reserve(a, 1, t)));
    auto r = out(a, kRegister, 1, 0);
    ASSERT_TRUE(good(r));
    EXPECT_FALSE(reservation().reserved) << int(t);
    if (t == kWERO || t == kEARO)
      EXPECT_EQ(r.unit_attentions, std::vector<PrUnitAttention>{ua(b, 0x04)});
    else
      EXPECT_TRUE(r.unit_attentions.empty());
  }
}

TEST_F(PrTest, HolderIndexFollowsRemovals) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reg(b, 2)));
  ASSERT_TRUE(good(reg(c, 3)));
  ASSERT_TRUE(good(reserve(c, 3, kEA)));
  ASSERT_TRUE(good(out(a, kRegister, 1, 0)));
  EXPECT_EQ(pr.state().holder, std::optional<uint32_t>(1));
  EXPECT_TRUE(pr.is_holder(c));
  EXPECT_EQ(reservation().key, 3u);
}

// --- CLEAR -------------------------------------------------------------------

TEST_F(PrTest, Clear) {  // test_prout_clear_simple
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reg(b, 2)));
  ASSERT_TRUE(good(reg(c, 3)));
  const uint32_t g = generation();
  ASSERT_TRUE(good(reserve(a, 1, kEA)));
  EXPECT_TRUE(conflict(out(a, kClear, 9, 0)));
  EXPECT_TRUE(conflict(out(nexus(4), kClear, 0, 0)));
  auto r = out(b, kClear, 2, 0);
  ASSERT_TRUE(good(r));
  EXPECT_TRUE(r.state_changed);
  EXPECT_EQ(r.unit_attentions, (std::vector<PrUnitAttention>{ua(a, 0x03), ua(c, 0x03)}));
  EXPECT_FALSE(reservation().reserved);
  EXPECT_TRUE(keys().empty());
  EXPECT_EQ(generation(), g + 1);
}

// --- PREEMPT -----------------------------------------------------------------

TEST_F(PrTest, PreemptRemovesRegistrationWithoutReservation) {  // test_prout_preempt_rm_reg
  ASSERT_TRUE(good(reg(a, 0x11)));
  ASSERT_TRUE(good(reg(b, 0x22)));
  const uint32_t g = generation();
  auto r = out(b, kPreempt, 0x22, 0x11, kEA);
  ASSERT_TRUE(good(r));
  EXPECT_EQ(keys(), std::vector<uint64_t>{0x22});
  EXPECT_EQ(generation(), g + 1);
  EXPECT_EQ(r.unit_attentions, std::vector<PrUnitAttention>{ua(a, 0x05)});
  EXPECT_TRUE(r.abort_tasks_of.empty());
  EXPECT_FALSE(pr.reserved());  // no reservation is created
}

TEST_F(PrTest, PreemptErrors) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reg(b, 2)));
  EXPECT_TRUE(conflict(out(c, kPreempt, 0, 1, kEA)));  // not registered
  EXPECT_TRUE(conflict(out(b, kPreempt, 9, 1, kEA)));  // wrong key
  EXPECT_TRUE(conflict(out(b, kPreempt, 2, 7, kEA)));  // nobody has key 7
  EXPECT_TRUE(invalid_param(out(b, kPreempt, 2, 0, kEA)));  // key 0 without AR
  ASSERT_TRUE(good(reserve(a, 1, kWE)));
  EXPECT_TRUE(invalid_param(out(b, kPreempt, 2, 0, kEA)));
  EXPECT_TRUE(invalid_cdb(out(b, kPreempt, 2, 1, 4)));      // taking over needs a valid type
  EXPECT_TRUE(invalid_cdb(out(b, kPreempt, 2, 1, kEA, 0, 1)));
  EXPECT_EQ(generation(), 2u);
  EXPECT_TRUE(pr.is_holder(a));
}

TEST_F(PrTest, PreemptTheHolderTakesTheReservation) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reg(b, 2)));
  ASSERT_TRUE(good(reg(c, 3)));
  ASSERT_TRUE(good(reserve(a, 1, kWE)));
  const uint32_t g = generation();
  auto r = out(b, kPreempt, 2, 1, kEA);
  ASSERT_TRUE(good(r));
  EXPECT_TRUE(pr.is_holder(b));
  EXPECT_FALSE(pr.is_registered(a));
  auto res = reservation();
  EXPECT_EQ(res.type, kEA);
  EXPECT_EQ(res.key, 2u);
  EXPECT_EQ(generation(), g + 1);
  // a lost its registration; c stays registered but the type changed.
  EXPECT_EQ(r.unit_attentions, (std::vector<PrUnitAttention>{ua(c, 0x04), ua(a, 0x05)}));
}

TEST_F(PrTest, PreemptSameTypeNoReleasedUa) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reg(b, 2)));
  ASSERT_TRUE(good(reg(c, 3)));
  ASSERT_TRUE(good(reserve(a, 1, kWE)));
  auto r = out(b, kPreemptAbort, 2, 1, kWE);
  ASSERT_TRUE(good(r));
  EXPECT_EQ(r.unit_attentions, std::vector<PrUnitAttention>{ua(a, 0x05)});
  EXPECT_EQ(r.abort_tasks_of, std::vector<PrNexus>{a});
}

TEST_F(PrTest, PreemptOwnReservationChangesType) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reg(b, 1)));  // same key on another nexus
  ASSERT_TRUE(good(reserve(a, 1, kWE)));
  auto r = out(a, kPreempt, 1, 1, kEARO);
  ASSERT_TRUE(good(r));
  EXPECT_TRUE(pr.is_holder(a));
  EXPECT_EQ(reservation().type, kEARO);
  EXPECT_EQ(keys(), std::vector<uint64_t>{1});  // b had the key too: removed, not us
  EXPECT_EQ(r.unit_attentions, std::vector<PrUnitAttention>{ua(b, 0x05)});
}

TEST_F(PrTest, PreemptNonHolderKeyLeavesReservation) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reg(b, 2)));
  ASSERT_TRUE(good(reg(c, 3)));
  ASSERT_TRUE(good(reserve(a, 1, kWERO)));
  auto r = out(b, kPreemptAbort, 2, 3, kEA);
  ASSERT_TRUE(good(r));
  EXPECT_TRUE(pr.is_holder(a));
  EXPECT_EQ(reservation().type, kWERO);
  EXPECT_EQ(keys(), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(r.unit_attentions, std::vector<PrUnitAttention>{ua(c, 0x05)});
  EXPECT_EQ(r.abort_tasks_of, std::vector<PrNexus>{c});
}

TEST_F(PrTest, PreemptAllRegistrantsWithKeyZero) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reg(b, 2)));
  ASSERT_TRUE(good(reg(c, 3)));
  ASSERT_TRUE(good(reserve(a, 1, kWEAR)));
  auto r = out(b, kPreemptAbort, 2, 0, kEA);
  ASSERT_TRUE(good(r));
  EXPECT_EQ(keys(), std::vector<uint64_t>{2});
  EXPECT_TRUE(pr.is_holder(b));
  auto res = reservation();
  EXPECT_EQ(res.type, kEA);
  EXPECT_EQ(res.key, 2u);
  EXPECT_EQ(r.unit_attentions, (std::vector<PrUnitAttention>{ua(a, 0x05), ua(c, 0x05)}));
  EXPECT_EQ(r.abort_tasks_of, (std::vector<PrNexus>{a, c}));
}

TEST_F(PrTest, PreemptAllRegistrantsWithKeyRemovesOnlyThatKey) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reg(b, 2)));
  ASSERT_TRUE(good(reg(c, 3)));
  ASSERT_TRUE(good(reserve(a, 1, kEAAR)));
  auto r = out(b, kPreempt, 2, 1, kWE);
  ASSERT_TRUE(good(r));
  EXPECT_EQ(keys(), (std::vector<uint64_t>{2, 3}));
  auto res = reservation();
  EXPECT_TRUE(res.reserved);
  EXPECT_EQ(res.type, kEAAR);  // untouched
  EXPECT_EQ(r.unit_attentions, std::vector<PrUnitAttention>{ua(a, 0x05)});
}

// --- REGISTER AND MOVE -------------------------------------------------------

class PrMoveTest : public PrTest {
 protected:
  PrOutResult move(const PrNexus& who, uint64_t key, uint64_t sa_key, const std::string& port, uint16_t rtpi = 1,
                   uint8_t flags = 0) {
    auto l = move_list(key, sa_key, encode_iscsi_transport_id(port), rtpi, flags);
    return pr.out(cdb_out(kRegisterMove, 0, uint32_t(l.size())), l, who);
  }
};

TEST_F(PrMoveTest, MovesToANewNexus) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reserve(a, 1, kEARO)));
  const uint32_t g = generation();
  auto r = move(a, 1, 0x77, b.initiator_port);
  ASSERT_TRUE(good(r));
  EXPECT_TRUE(r.state_changed);
  EXPECT_TRUE(pr.is_holder(b));
  EXPECT_FALSE(pr.is_holder(a));
  EXPECT_TRUE(pr.is_registered(a));
  EXPECT_EQ(keys(), (std::vector<uint64_t>{1, 0x77}));
  auto res = reservation();
  EXPECT_EQ(res.type, kEARO);
  EXPECT_EQ(res.key, 0x77u);
  EXPECT_EQ(generation(), g + 1);
}

TEST_F(PrMoveTest, UnregAndExistingDestination) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reg(b, 2)));
  ASSERT_TRUE(good(reserve(a, 1, kWE)));
  ASSERT_TRUE(good(move(a, 1, 0x77, b.initiator_port, 1, 0x03)));
  EXPECT_FALSE(pr.is_registered(a));
  EXPECT_TRUE(pr.is_holder(b));
  EXPECT_EQ(keys(), std::vector<uint64_t>{0x77});  // the destination takes the SA key
  EXPECT_TRUE(pr.state().aptpl);
}

TEST_F(PrMoveTest, Refusals) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reg(b, 2)));
  EXPECT_TRUE(conflict(move(a, 1, 5, c.initiator_port)));  // nothing reserved
  ASSERT_TRUE(good(reserve(a, 1, kWE)));
  EXPECT_TRUE(conflict(move(b, 2, 5, c.initiator_port)));    // not the holder
  EXPECT_TRUE(conflict(move(a, 9, 5, c.initiator_port)));    // wrong key
  EXPECT_TRUE(conflict(move(nexus(9), 0, 5, c.initiator_port)));
  EXPECT_TRUE(invalid_param(move(a, 1, 0, c.initiator_port)));     // key 0
  EXPECT_TRUE(invalid_param(move(a, 1, 5, "iqn.dev:only")));       // format 00b
  EXPECT_TRUE(invalid_param(move(a, 1, 5, c.initiator_port, 2)));  // unknown port
  EXPECT_TRUE(invalid_param(move(a, 1, 5, a.initiator_port)));     // to itself
  auto l = move_list(1, 5, encode_iscsi_transport_id(c.initiator_port));
  EXPECT_TRUE(length_error(pr.out(cdb_out(kRegisterMove, 0, 20), l, a)));
  EXPECT_TRUE(pr.is_holder(a));
  EXPECT_EQ(generation(), 2u);
  ASSERT_TRUE(good(release(a, 1, kWE)));
  ASSERT_TRUE(good(reserve(a, 1, kWEAR)));
  EXPECT_TRUE(conflict(move(a, 1, 5, c.initiator_port)));  // all-registrants: nothing to move
}

// --- conflicts ---------------------------------------------------------------

enum class Who { holder, registrant, stranger };

TEST_F(PrTest, ConflictTable) {  // test_prout_reserve_access_*
  // expected[type] = {registrant read, registrant write, stranger read, stranger write} allowed?
  struct Row {
    uint8_t type;
    bool reg_read, reg_write, str_read, str_write;
  };
  const Row rows[] = {
      {kWE, true, false, true, false},   {kEA, false, false, false, false},
      {kWERO, true, true, true, false},  {kEARO, true, true, false, false},
      {kWEAR, true, true, true, false},  {kEAAR, true, true, false, false},
  };
  const std::vector<std::vector<uint8_t>> always = {kInquiry, kTur, kReportLuns, kReadCap10, kPrIn,
                                                    cdb_read(0x5F), {0x03, 0, 0, 0, 18, 0}};
  for (const auto& row : rows) {
    pr = PersistentReservations{};
    ASSERT_TRUE(good(reg(a, 1)));
    ASSERT_TRUE(good(reg(b, 2)));
    ASSERT_TRUE(good(reserve(a, 1, row.type)));
    SCOPED_TRACE(int(row.type));
    EXPECT_FALSE(conflicts(kRead10, a));
    EXPECT_FALSE(conflicts(kWrite10, a));
    EXPECT_EQ(!conflicts(kRead10, b), row.reg_read);
    EXPECT_EQ(!conflicts(kWrite10, b), row.reg_write);
    EXPECT_EQ(!conflicts(kRead10, c), row.str_read);
    EXPECT_EQ(!conflicts(kWrite10, c), row.str_write);
    for (const auto& cdb : always)
      for (const auto& n : {a, b, c}) EXPECT_FALSE(conflicts(cdb, n)) << int(cdb[0]);
  }
}

TEST_F(PrTest, NoReservationNoConflict) {
  ASSERT_TRUE(good(reg(a, 1)));
  EXPECT_FALSE(conflicts(kWrite10, b));
}

TEST_F(PrTest, AccessClasses) {
  using lu::PrAccess;
  auto access = [](PrAccess p) { return lu::ReservationAccess{p, lu::Scsi2Access::holder_only}; };
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reserve(a, 1, kWE)));
  // Write Exclusive: a stranger may read, not write.
  EXPECT_FALSE(pr.conflicts(access(PrAccess::allowed), c));
  EXPECT_FALSE(pr.conflicts(access(PrAccess::read), c));
  EXPECT_TRUE(pr.conflicts(access(PrAccess::write), c));
  EXPECT_FALSE(pr.conflicts(access(PrAccess::own_rules), c));
  // START STOP UNIT / PREVENT ALLOW MEDIUM REMOVAL depend on their fields.
  EXPECT_FALSE(conflicts(std::vector<uint8_t>{0x1B, 0, 0, 0, 0x01, 0}, c));
  EXPECT_TRUE(conflicts(std::vector<uint8_t>{0x1B, 0, 0, 0, 0x00, 0}, c));
  EXPECT_TRUE(conflicts(std::vector<uint8_t>{0x1B, 0, 0, 0, 0x11, 0}, c));
  EXPECT_FALSE(conflicts(std::vector<uint8_t>{0x1E, 0, 0, 0, 0x00, 0}, c));
  EXPECT_TRUE(conflicts(std::vector<uint8_t>{0x1E, 0, 0, 0, 0x01, 0}, c));

  ASSERT_TRUE(good(release(a, 1, kWE)));
  ASSERT_TRUE(good(reserve(a, 1, kEA)));
  // Exclusive Access: reads conflict too.
  EXPECT_FALSE(pr.conflicts(access(PrAccess::allowed), c));
  EXPECT_TRUE(pr.conflicts(access(PrAccess::read), c));
  EXPECT_TRUE(pr.conflicts(access(PrAccess::write), c));
  EXPECT_FALSE(pr.conflicts(access(PrAccess::own_rules), c));
  EXPECT_TRUE(conflicts(kModeSense6, c));
  EXPECT_FALSE(conflicts(kTur, c));
  // The holder is never in conflict with its own reservation.
  EXPECT_FALSE(pr.conflicts(access(PrAccess::write), a));
}

// --- SCSI-2 RESERVE / RELEASE ------------------------------------------------

const std::vector<uint8_t> kReserve6 = {0x16, 0, 0, 0, 0, 0};
const std::vector<uint8_t> kRelease6 = {0x17, 0, 0, 0, 0, 0};

TEST_F(PrTest, Reserve6TwoInitiators) {  // test_reserve6_2initiators
  ASSERT_TRUE(good(pr.reserve(kReserve6, a)));
  ASSERT_TRUE(good(pr.reserve(kReserve6, a)));
  EXPECT_TRUE(conflict(pr.reserve(kReserve6, b)));
  EXPECT_TRUE(good(pr.release(kRelease6, b)));  // not ours: a no-op
  EXPECT_EQ(pr.scsi2_holder(), std::optional<PrNexus>(a));
  EXPECT_FALSE(conflicts(kModeSense6, a));
  EXPECT_TRUE(conflicts(kModeSense6, b));
  EXPECT_TRUE(conflicts(kTur, b));  // SPC-2: TEST UNIT READY conflicts
  EXPECT_TRUE(conflicts(kPrIn, b));
  EXPECT_TRUE(conflicts(cdb_read(0x5F), b));
  EXPECT_FALSE(conflicts(kInquiry, b));
  EXPECT_FALSE(conflicts(kReportLuns, b));
  EXPECT_FALSE(conflicts(std::vector<uint8_t>{0x03, 0, 0, 0, 18, 0}, b));
  EXPECT_FALSE(conflicts(kReadCap10, b));
  EXPECT_FALSE(conflicts(kRelease6, b));
  EXPECT_TRUE(conflict(pr.reserve(kReserve6, b)));
  ASSERT_TRUE(good(pr.release(kRelease6, a)));
  EXPECT_FALSE(conflicts(kModeSense6, b));
  ASSERT_TRUE(good(pr.reserve(std::vector<uint8_t>{0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0}, b)));
  EXPECT_TRUE(conflicts(kRead10, a));
  ASSERT_TRUE(good(pr.release(std::vector<uint8_t>{0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0}, b)));
  EXPECT_FALSE(pr.scsi2_holder().has_value());
}

TEST_F(PrTest, Reserve6ResetAndNexusLoss) {  // test_reserve6_lun_reset / itnexus_loss / logout
  ASSERT_TRUE(good(pr.reserve(kReserve6, a)));
  pr.nexus_lost(b);
  EXPECT_TRUE(conflicts(kRead10, b));
  pr.nexus_lost(a);
  EXPECT_FALSE(conflicts(kRead10, b));
  ASSERT_TRUE(good(pr.reserve(kReserve6, a)));
  pr.reset();
  EXPECT_FALSE(conflicts(kRead10, b));
  EXPECT_TRUE(good(pr.reserve(kReserve6, b)));
}

TEST_F(PrTest, Reserve6ThirdPartyRefused) {
  EXPECT_TRUE(invalid_cdb(pr.reserve(std::vector<uint8_t>{0x16, 0x10, 0, 0, 0, 0}, a)));
  EXPECT_TRUE(invalid_cdb(pr.reserve(std::vector<uint8_t>{0x56, 0x10, 0, 0, 0, 0, 0, 0, 0, 0}, a)));
  EXPECT_FALSE(pr.scsi2_holder().has_value());
}

TEST_F(PrTest, Scsi2WithRegistrations) {  // SPC-4 5.9.3 (CRH = 1)
  ASSERT_TRUE(good(reg(a, 1)));
  // Registered but nothing reserved: RESERVE/RELEASE conflict for everyone.
  EXPECT_TRUE(conflict(pr.reserve(kReserve6, a)));
  EXPECT_TRUE(conflict(pr.reserve(kReserve6, c)));
  EXPECT_TRUE(conflict(pr.release(kRelease6, c)));
  ASSERT_TRUE(good(reg(b, 2)));
  ASSERT_TRUE(good(reserve(a, 1, kEA)));
  // The holder: GOOD, nothing happens.
  EXPECT_TRUE(good(pr.reserve(kReserve6, a)));
  EXPECT_TRUE(good(pr.release(kRelease6, a)));
  EXPECT_FALSE(pr.scsi2_holder().has_value());
  EXPECT_TRUE(pr.reserved());
  // A registrant under Exclusive Access: conflict; a stranger: conflict.
  EXPECT_TRUE(conflict(pr.reserve(kReserve6, b)));
  EXPECT_TRUE(conflict(pr.release(kRelease6, c)));
  // A registrant under a registrants-only type: GOOD, nothing happens.
  ASSERT_TRUE(good(release(a, 1, kEA)));
  ASSERT_TRUE(good(reserve(a, 1, kWERO)));
  EXPECT_TRUE(good(pr.reserve(kReserve6, b)));
  EXPECT_TRUE(good(pr.release(kRelease6, b)));
  EXPECT_TRUE(conflict(pr.reserve(kReserve6, c)));
  EXPECT_FALSE(pr.scsi2_holder().has_value());
}

TEST_F(PrTest, PrUnderScsi2Reservation) {
  ASSERT_TRUE(good(pr.reserve(kReserve6, a)));
  // SPC-2 5.5.1: PR IN and OUT conflict for everyone, the holder included.
  EXPECT_TRUE(conflicts(cdb_out(kRegister, 0, 24), b));
  EXPECT_TRUE(conflicts(cdb_out(kRegister, 0, 24), a));
  EXPECT_TRUE(conflicts(kPrIn, a));
  EXPECT_FALSE(conflicts(kWrite10, a));
  ASSERT_TRUE(good(pr.release(kRelease6, a)));
  EXPECT_FALSE(conflicts(cdb_out(kRegister, 0, 24), b));
}

TEST_F(PrTest, ResetKeepsPersistentState) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(reserve(a, 1, kEA)));
  const auto before = pr.state();
  pr.reset();
  pr.nexus_lost(a);
  EXPECT_EQ(pr.state(), before);
  EXPECT_TRUE(conflicts(kRead10, b));
}

// --- state ---------------------------------------------------------------------

TEST_F(PrTest, StateRoundTrip) {
  ASSERT_TRUE(good(reg(a, 1)));
  ASSERT_TRUE(good(out(b, kRegisterIgnore, 0, 2, 0, 0x01)));
  ASSERT_TRUE(good(reg(c, 3)));
  ASSERT_TRUE(good(reserve(b, 2, kWERO)));
  const PrStateValue s = pr.state();
  EXPECT_EQ(s.generation, 3u);
  ASSERT_EQ(s.registrations.size(), 3u);
  EXPECT_EQ(s.holder, std::optional<uint32_t>(1));
  EXPECT_EQ(s.type, kWERO);
  EXPECT_EQ(s.scope, 0);
  EXPECT_FALSE(s.aptpl);  // c registered last, without APTPL
  EXPECT_FALSE(s.registrations[1].aptpl);
  PersistentReservations copy(s);
  EXPECT_EQ(copy.state(), s);
  for (uint8_t sa = 0; sa < 4; ++sa) EXPECT_EQ(copy.in(sa, a).value(), pr.in(sa, a).value());
  EXPECT_TRUE(copy.is_holder(b));
  EXPECT_FALSE(copy.scsi2_holder().has_value());
}

TEST(PrState, LoadedStateIsSanitised) {
  PrStateValue s;
  s.generation = 9;
  s.registrations = {{nexus(1), 0, false}, {nexus(2), 5, false}, {nexus(2), 6, false}, {nexus(3), 7, true}};
  s.holder = 3;
  s.type = kEA;
  PersistentReservations pr(s);
  ASSERT_EQ(pr.state().registrations.size(), 2u);  // key 0 and the duplicate dropped
  EXPECT_EQ(pr.state().registrations[0].key, 5u);
  EXPECT_EQ(pr.state().holder, std::optional<uint32_t>(1));
  EXPECT_TRUE(pr.is_holder(nexus(3)));
  EXPECT_EQ(pr.state().generation, 9u);

  s.holder = 17;
  EXPECT_FALSE(PersistentReservations(s).reserved());
  s.holder = 1;
  s.type = 2;
  EXPECT_FALSE(PersistentReservations(s).reserved());
  s.type = kEA;
  s.scope = 3;
  EXPECT_FALSE(PersistentReservations(s).reserved());
  s.scope = 0;
  s.holder = 0;  // the holder is the dropped key-0 registration
  EXPECT_FALSE(PersistentReservations(s).reserved());
}

TEST(PrState, GenerationWraps) {
  PrStateValue s;
  s.generation = 0xFFFFFFFFu;
  PersistentReservations pr(s);
  auto p = basic(0, 1);
  ASSERT_TRUE(good(pr.out(cdb_out(kRegister, 0, 24), p, nexus(1))));
  EXPECT_EQ(pr.state().generation, 0u);
}

TEST(PrState, GenerationCounting) {
  PersistentReservations pr;
  auto run = [&](uint8_t sa, uint64_t key, uint64_t sa_key, uint8_t type, const PrNexus& who) {
    auto p = basic(key, sa_key);
    return pr.out(cdb_out(sa, type, 24), p, who);
  };
  const PrNexus a = nexus(1), b = nexus(2);
  struct Step {
    uint8_t sa;
    uint64_t key, sa_key;
    uint8_t type;
    PrNexus who;
    uint32_t generation;
  };
  const Step steps[] = {
      {kRegister, 0, 1, 0, a, 1},          {kRegisterIgnore, 0, 2, 0, b, 2},  {kReserve, 1, 0, kWE, a, 2},
      {kRelease, 1, 0, kWE, a, 2},         {kReserve, 1, 0, kWE, a, 2},       {kPreempt, 2, 1, kEA, b, 3},
      {kRegister, 0, 1, 0, a, 4},          {kPreemptAbort, 2, 1, kEA, b, 5},  {kRegister, 0, 1, 0, a, 6},
      {kClear, 1, 0, 0, a, 7},             {kRegister, 0, 0, 0, a, 7},  // no-op
  };
  for (const auto& s : steps) {
    auto r = run(s.sa, s.key, s.sa_key, s.type, s.who);
    EXPECT_TRUE(good(r)) << int(s.sa);
    EXPECT_EQ(pr.state().generation, s.generation) << int(s.sa);
  }
}

TEST(PrState, RandomCommandsKeepInvariants) {
  std::mt19937 rng(99);
  PersistentReservations pr;
  const PrNexus who[] = {nexus(1), nexus(2), nexus(3)};
  for (int i = 0; i < 20000; ++i) {
    const uint8_t sa = uint8_t(rng() % 9);
    const uint8_t type = uint8_t(rng() % 10);
    std::vector<uint8_t> p;
    if (sa == kRegisterMove) {
      p = move_list(rng() % 4, rng() % 4, encode_iscsi_transport_id(who[rng() % 3].initiator_port), 1,
                    uint8_t(rng() % 4));
    } else {
      p = basic(rng() % 4, rng() % 4, uint8_t(rng() % 2));
    }
    const PrNexus& n = who[rng() % 3];
    auto before = pr.state();
    auto r = pr.out(cdb_out(sa, type, uint32_t(p.size())), p, n);
    const auto& s = pr.state();
    if (r.status != PrStatus::good || !r.state_changed) {
      EXPECT_EQ(s, before);
    }
    if (s.holder) {
      ASSERT_LT(*s.holder, s.registrations.size());
      EXPECT_TRUE(s.type == 1 || s.type == 3 || (s.type >= 5 && s.type <= 8));
    } else {
      EXPECT_EQ(s.type, 0);
    }
    for (const auto& x : s.registrations) {
      EXPECT_NE(x.key, 0u);
      EXPECT_EQ(x.aptpl, s.aptpl);
    }
    EXPECT_EQ(PersistentReservations(s).state(), s);  // state() is a fixed point
    if (rng() % 50 == 0) (void)pr.reserve(kReserve6, who[rng() % 3]);
    if (rng() % 50 == 0) (void)pr.release(kRelease6, who[rng() % 3]);
  }
}

}  // namespace
}  // namespace scsipub::scsi
