// Unit attentions through the command set (SAM-5 5.14, SPC-4 6.39), as
// libiscsi's connect logic (TUR until no UA) and reset tests expect.
#include "scsi_fixture.h"

namespace scsipub::scsi::testing {
namespace {

class UnitAttentionTest : public ScsiTest {
 protected:
  Result tur(const lu::Nexus* who = nullptr) { return run({0x00, 0, 0, 0, 0, 0}, {}, 0, who); }
  Result request_sense(bool desc, uint8_t alloc = 252) { return run({0x03, uint8_t(desc), 0, 0, alloc, 0}); }
};

TEST_F(UnitAttentionTest, PowerOnAfterAttachThenCleared) {
  unit->attach(nexus);
  Result r = tur();
  EXPECT_TRUE(r.is(0x06, 0x29, 0x00));
  EXPECT_TRUE(tur().good());
}

TEST_F(UnitAttentionTest, InquiryReportLunsAllowedWithUa) {
  unit->attach(nexus);
  EXPECT_TRUE(inquiry(false, 0, 96).good());
  std::vector<uint8_t> rl(12, 0);
  rl[0] = 0xA0;
  rl[9] = 64;
  EXPECT_TRUE(run(rl).good());
  EXPECT_TRUE(run(cdb10(0x28, 0, 1)).is(0x06, 0x29, 0x00));
  EXPECT_TRUE(run(cdb10(0x28, 0, 1)).good());
}

TEST_F(UnitAttentionTest, UnknownOpcodeStillReportsUaFirst) {
  unit->attach(nexus);
  EXPECT_TRUE(run({0xC7, 0, 0, 0, 0, 0}).is(0x06, 0x29, 0x00));
}

TEST_F(UnitAttentionTest, RequestSenseReturnsAndClearsUa) {
  unit->attach(nexus);
  Result r = request_sense(false);
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 18u);
  EXPECT_EQ(r.data[0], 0x70);
  EXPECT_EQ(r.data[2], 0x06);
  EXPECT_EQ(r.data[12], 0x29);
  Result none = request_sense(false);
  EXPECT_EQ(none.data[2], 0x00);
  EXPECT_EQ(none.data[12], 0x00);
  EXPECT_TRUE(tur().good());
}

TEST_F(UnitAttentionTest, RequestSenseDescriptorAndTruncation) {
  unit->logical_unit_reset();
  unit->attach(nexus);
  Result r = request_sense(true);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[0], 0x72);
  EXPECT_EQ(r.data[1], 0x06);
  EXPECT_EQ(r.data[2], 0x29);
  EXPECT_EQ(request_sense(false, 4).data.size(), 4u);
  EXPECT_TRUE(run({0x03, 0x02, 0, 0, 18, 0}).is(kIllegal, 0x24, 0));
}

TEST_F(UnitAttentionTest, RequestSenseOnMissingLun) {
  Result r = run({0x03, 0, 0, 0, 18, 0}, {}, 9);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[2], 0x05);
  EXPECT_EQ(r.data[12], 0x25);
}

TEST_F(UnitAttentionTest, LogicalUnitResetReachesEveryNexus) {
  lu::Nexus other;
  other.id = 2;
  unit->attach(nexus);
  unit->attach(other);
  EXPECT_FALSE(tur().good());
  EXPECT_FALSE(tur(&other).good());
  unit->logical_unit_reset();
  EXPECT_TRUE(tur().is(0x06, 0x29, 0x03));
  EXPECT_TRUE(tur(&other).is(0x06, 0x29, 0x03));
  EXPECT_TRUE(tur().good());
}

TEST_F(UnitAttentionTest, ResetRestoresDefaultModeParameters) {
  unit->set_mode_parameters({.write_cache_enabled = false, .descriptor_sense = true}, std::nullopt);
  EXPECT_EQ(run(cdb16(0x88, 0xFFFFFFFFFFFFFFFFull, 1)).sense[0], 0x72);
  unit->logical_unit_reset();
  EXPECT_EQ(run(cdb16(0x88, 0xFFFFFFFFFFFFFFFFull, 1)).sense[0], 0x70);
}

TEST_F(UnitAttentionTest, UaUsesDescriptorFormatWhenDSense) {
  unit->attach(nexus);
  unit->set_mode_parameters({.write_cache_enabled = true, .descriptor_sense = true}, nexus.id);
  Result r = tur();
  EXPECT_TRUE(r.descriptor());
  EXPECT_TRUE(r.is(0x06, 0x29, 0x00));
}

}  // namespace
}  // namespace scsipub::scsi::testing
