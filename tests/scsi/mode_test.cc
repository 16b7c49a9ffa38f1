// Mirrors libiscsi test_modesense6_*.c and the MODE SELECT behaviour the
// Control-D_SENSE / Control-SWP tests and Linux sd (WCE) rely on.
#include "scsi_fixture.h"

namespace scsipub::scsi::testing {
namespace {

class ModeTest : public ScsiTest {
 protected:
  Result sense6(uint8_t pc, uint8_t page, uint8_t alloc = 255, uint8_t subpage = 0, bool dbd = false) {
    return run({0x1A, uint8_t(dbd ? 0x08 : 0), uint8_t(pc << 6 | page), subpage, alloc, 0});
  }
  Result sense10(uint8_t pc, uint8_t page, uint16_t alloc = 1024, uint8_t b1 = 0) {
    std::vector<uint8_t> c{0x5A, b1, uint8_t(pc << 6 | page), 0, 0, 0, 0, 0, 0, 0};
    store_be16(&c[7], alloc);
    return run(c);
  }
  // Finds page `code` in a MODE SENSE (6) response.
  static std::vector<uint8_t> page_of(const Result& r, uint8_t code, bool ten = false) {
    size_t hdr = ten ? 8 : 4;
    size_t bd = ten ? load_be16(&r.data[6]) : r.data[3];
    for (size_t i = hdr + bd; i + 2 <= r.data.size(); i += 2 + r.data[i + 1])
      if ((r.data[i] & 0x3F) == code) return {r.data.begin() + long(i), r.data.begin() + long(i + 2 + r.data[i + 1])};
    return {};
  }
  Result select6(std::vector<uint8_t> page, uint8_t b1 = 0x10) {
    std::vector<uint8_t> list{0, 0, 0, 0};
    list.insert(list.end(), page.begin(), page.end());
    return run({0x15, b1, 0, 0, uint8_t(list.size()), 0}, list);
  }
};

TEST_F(ModeTest, AllPages) {
  Result r = sense6(0, 0x3F);
  ASSERT_TRUE(r.good());
  EXPECT_GE(r.data[0], 3);
  EXPECT_EQ(size_t(r.data[0]) + 1, r.data.size());
  EXPECT_EQ(r.data[3], 8);                       // block descriptor
  EXPECT_EQ(load_be32(&r.data[4]), kBlocks);
  EXPECT_EQ(load_be24(&r.data[9]), 512u);
  EXPECT_EQ(r.data[2] & 0x80, 0);                // not write protected
  for (uint8_t code : {0x01, 0x08, 0x0A, 0x1C}) EXPECT_FALSE(page_of(r, code).empty()) << int(code);
  Result all_sub = sense6(0, 0x3F, 255, 0xFF);
  EXPECT_EQ(all_sub.data, r.data);
}

TEST_F(ModeTest, ControlPageMatchesAllPages) {
  Result all = sense6(0, 0x3F);
  Result ctl = sense6(0, 0x0A);
  ASSERT_TRUE(ctl.good());
  auto a = page_of(all, 0x0A), c = page_of(ctl, 0x0A);
  ASSERT_EQ(c.size(), 12u);
  EXPECT_EQ(a, c);
  EXPECT_LE(c[2] >> 5, 1);           // TST
  EXPECT_NE((c[3] >> 1) & 3, 2);     // QERR
  EXPECT_EQ(c[4] & 0x08, 0);         // SWP
}

TEST_F(ModeTest, ResidualsAllocationLength) {
  Result r = sense6(0, 0x3F, 4);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data.size(), 4u);
  Result full = sense6(0, 0x3F, 255);
  EXPECT_LT(full.data.size(), 255u);
  EXPECT_TRUE(sense6(0, 0x3F, 0).data.empty());
}

TEST_F(ModeTest, PageControl) {
  Result ch = sense6(1, 0x08);
  ASSERT_TRUE(ch.good());
  EXPECT_EQ(page_of(ch, 0x08)[2] & 0x04, 0x04);  // WCE changeable
  Result ctl = sense6(1, 0x0A);
  EXPECT_EQ(page_of(ctl, 0x0A)[2], 0x04);        // only D_SENSE changeable
  EXPECT_EQ(page_of(ctl, 0x0A)[4] & 0x08, 0);    // SWP not changeable
  EXPECT_TRUE(sense6(2, 0x08).good());
  EXPECT_TRUE(sense6(3, 0x08).is(kIllegal, 0x39, 0x00));
}

TEST_F(ModeTest, InvalidPageOrSubpage) {
  EXPECT_TRUE(sense6(0, 0x05).is(kIllegal, 0x24, 0));
  EXPECT_TRUE(sense6(0, 0x0A, 255, 0x01).is(kIllegal, 0x24, 0));
  EXPECT_TRUE(sense6(0, 0x0A, 255, 0xFF).good());
}

TEST_F(ModeTest, DisableBlockDescriptors) {
  Result r = sense6(0, 0x3F, 255, 0, true);
  EXPECT_EQ(r.data[3], 0);
  Result ten = sense10(0, 0x3F, 1024, 0x10);  // LLBAA
  ASSERT_TRUE(ten.good());
  EXPECT_EQ(load_be16(&ten.data[0]) + 2u, ten.data.size());
  EXPECT_EQ(ten.data[4] & 1, 1);
  EXPECT_EQ(load_be16(&ten.data[6]), 16);
  EXPECT_EQ(load_be64(&ten.data[8]), kBlocks);
  EXPECT_EQ(load_be32(&ten.data[20]), 512u);
  EXPECT_FALSE(page_of(ten, 0x08, true).empty());
}

TEST_F(ModeTest, WriteProtectBitForReadOnlyStore) {
  make_lu(64, true);
  EXPECT_EQ(sense6(0, 0x3F).data[2] & 0x80, 0x80);
  EXPECT_EQ(sense10(0, 0x3F).data[3] & 0x80, 0x80);
}

TEST_F(ModeTest, SelectDSenseSwitchesSenseFormat) {
  auto ctl = page_of(sense6(0, 0x0A), 0x0A);
  Result bad = run(cdb16(0x88, 0xFFFFFFFFFFFFFFFFull, 1));
  EXPECT_TRUE(bad.is(kIllegal, 0x21, 0));
  EXPECT_EQ(bad.sense[0], 0x70);
  ctl[2] |= 0x04;
  ASSERT_TRUE(select6(ctl).good());
  EXPECT_TRUE(unit->mode_parameters().descriptor_sense);
  EXPECT_EQ(page_of(sense6(0, 0x0A), 0x0A)[2] & 0x04, 0x04);
  bad = run(cdb16(0x88, 0xFFFFFFFFFFFFFFFFull, 1));
  EXPECT_TRUE(bad.is(kIllegal, 0x21, 0));
  EXPECT_EQ(bad.sense[0], 0x72);
  ctl[2] &= uint8_t(~0x04);
  ASSERT_TRUE(select6(ctl).good());
  EXPECT_EQ(run(cdb16(0x88, 0xFFFFFFFFFFFFFFFFull, 1)).sense[0], 0x70);
}

TEST_F(ModeTest, SelectWriteCacheEnable) {
  auto caching = page_of(sense6(0, 0x08), 0x08);
  caching[2] &= uint8_t(~0x04);
  ASSERT_TRUE(select6(caching).good());
  EXPECT_FALSE(unit->mode_parameters().write_cache_enabled);
  EXPECT_TRUE(run(cdb10(0x2A, 0, 1), pattern(1, 0)).good());  // write-through still works
}

TEST_F(ModeTest, SelectRejectsNonChangeable) {
  auto ctl = page_of(sense6(0, 0x0A), 0x0A);
  ctl[4] |= 0x08;  // SWP
  Result r = select6(ctl);
  EXPECT_TRUE(r.is(kIllegal, 0x26, 0));
  auto caching = page_of(sense6(0, 0x08), 0x08);
  caching[2] |= 0x01;  // RCD
  EXPECT_TRUE(select6(caching).is(kIllegal, 0x26, 0));
  EXPECT_TRUE(unit->mode_parameters() == lu::ModeParameters{});
}

TEST_F(ModeTest, SelectValidation) {
  auto ctl = page_of(sense6(0, 0x0A), 0x0A);
  EXPECT_TRUE(select6(ctl, 0x00).is(kIllegal, 0x24, 0));  // PF = 0
  EXPECT_TRUE(select6(ctl, 0x11).is(kIllegal, 0x24, 0));  // SP = 1
  auto short_page = ctl;
  short_page[1] = 4;
  short_page.resize(6);
  EXPECT_TRUE(select6(short_page).is(kIllegal, 0x26, 0));  // wrong page length
  auto truncated = ctl;
  truncated.resize(8);
  EXPECT_TRUE(select6(truncated).is(kIllegal, 0x1A, 0));
  EXPECT_TRUE(select6({0x05, 0x02, 0, 0}).is(kIllegal, 0x26, 0));  // unknown page
  EXPECT_TRUE(run({0x15, 0x10, 0, 0, 0, 0}).good());               // empty list
  EXPECT_TRUE(run({0x15, 0x10, 0, 0, 2, 0}, {0, 0}).is(kIllegal, 0x1A, 0));
}

TEST_F(ModeTest, SelectWithBlockDescriptorAndTenByteForm) {
  Result s = sense10(0, 0x0A);
  std::vector<uint8_t> list(s.data.begin(), s.data.end());
  list[0] = list[1] = 0;       // mode data length reserved
  list[3] = 0;                 // device specific
  list[8 + 8 + 2] |= 0x04;     // D_SENSE in the control page after the descriptor
  std::vector<uint8_t> c{0x55, 0x10, 0, 0, 0, 0, 0, 0, 0, 0};
  store_be16(&c[7], uint16_t(list.size()));
  ASSERT_TRUE(run(c, list).good());
  EXPECT_TRUE(unit->mode_parameters().descriptor_sense);
  store_be24(&list[8 + 5], 4096);  // block length change
  Result bad = run(c, list);
  EXPECT_TRUE(bad.is(kIllegal, 0x26, 0));
  EXPECT_TRUE(bad.descriptor());
}

TEST_F(ModeTest, SelectRaisesUnitAttentionForOtherNexus) {
  lu::Nexus other;
  other.id = 2;
  unit->attach(nexus);
  unit->attach(other);
  (void)run({0x00, 0, 0, 0, 0, 0});
  (void)run({0x00, 0, 0, 0, 0, 0}, {}, 0, &other);
  auto ctl = page_of(sense6(0, 0x0A), 0x0A);
  ctl[2] |= 0x04;
  ASSERT_TRUE(select6(ctl).good());
  EXPECT_TRUE(run({0x00, 0, 0, 0, 0, 0}).good());
  Result r = run({0x00, 0, 0, 0, 0, 0}, {}, 0, &other);
  EXPECT_EQ(r.key(), 0x06);
  EXPECT_EQ(r.asc(), 0x2A);
  EXPECT_EQ(r.ascq(), 0x01);
  EXPECT_TRUE(run({0x00, 0, 0, 0, 0, 0}, {}, 0, &other).good());
}

}  // namespace
}  // namespace scsipub::scsi::testing
