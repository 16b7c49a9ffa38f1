// SPC-4 4.5 sense data formats.
#include <gtest/gtest.h>

#include <array>

#include "common/bytes.h"
#include "scsi/command_set.h"
#include "scsi/sense.h"
#include "scsi_fixture.h"

namespace scsipub::scsi {
namespace {

TEST(SenseTest, TableMapsReasons) {
  auto c = sense_code(SenseReason::lba_out_of_range);
  EXPECT_EQ(c.key, 0x05);
  EXPECT_EQ(c.asc, 0x21);
  EXPECT_EQ(sense_code(SenseReason::invalid_field_in_iu).ascq, 0x03);
  EXPECT_EQ(sense_code(SenseReason::write_protected).key, 0x07);
  EXPECT_EQ(sense_code(SenseReason::miscompare_during_verify).key, 0x0E);
  EXPECT_EQ(sense_code(SenseReason::count_).key, 0);
}

TEST(SenseTest, ReasonsThatUsedToBeBuiltByHand) {
  // SPC-4 table D.2.
  auto release = sense_code(SenseReason::invalid_release_of_pr);
  EXPECT_EQ(release.key, 0x05);
  EXPECT_EQ(release.asc, 0x26);
  EXPECT_EQ(release.ascq, 0x04);
  auto phase = sense_code(SenseReason::data_phase_error);
  EXPECT_EQ(phase.key, 0x0B);
  EXPECT_EQ(phase.asc, 0x4B);
  EXPECT_EQ(phase.ascq, 0x00);
  auto failure = sense_code(SenseReason::internal_target_failure);
  EXPECT_EQ(failure.key, 0x04);
  EXPECT_EQ(failure.asc, 0x44);
}

TEST(SenseTest, EveryReasonHasARow) {
  // A reason added to the enum without its row would read as NO SENSE.
  for (size_t i = 1; i < static_cast<size_t>(SenseReason::count_); ++i) {
    EXPECT_NE(sense_code(static_cast<SenseReason>(i)).key, sense_key::kNoSense) << "reason " << i;
  }
}

TEST(SenseTest, BecomingReadyIsNotReady0401) {
  // SPC-4 Annex D: LOGICAL UNIT IS IN PROCESS OF BECOMING READY, the NOT
  // READY the Linux initiator retries without failing the I/O.
  auto c = sense_code(SenseReason::becoming_ready);
  EXPECT_EQ(c.key, 0x02);
  EXPECT_EQ(c.asc, 0x04);
  EXPECT_EQ(c.ascq, 0x01);
}

TEST(SenseTest, UnitAttentionConditions) {
  // SPC-4 table D.2, sense key UNIT ATTENTION.
  struct Row {
    lu::UnitAttention ua;
    uint8_t asc, ascq;
  };
  const Row rows[] = {
      {lu::ua::kMediumMayHaveChanged, 0x28, 0x00},  {lu::ua::kPowerOnResetOccurred, 0x29, 0x00},
      {lu::ua::kPowerOnOccurred, 0x29, 0x01},       {lu::ua::kBusDeviceResetFunctionOccurred, 0x29, 0x03},
      {lu::ua::kItNexusLossOccurred, 0x29, 0x07},   {lu::ua::kModeParametersChanged, 0x2A, 0x01},
      {lu::ua::kReservationsPreempted, 0x2A, 0x03}, {lu::ua::kReservationsReleased, 0x2A, 0x04},
      {lu::ua::kRegistrationsPreempted, 0x2A, 0x05}, {lu::ua::kReportedLunsDataChanged, 0x3F, 0x0E},
  };
  static_assert(std::size(rows) == size_t(lu::UnitAttention::count_));
  for (const auto& r : rows) {
    const SenseCode c = unit_attention_code(r.ua);
    EXPECT_EQ(c.key, 0x06) << int(r.ua);
    EXPECT_EQ(c.asc, r.asc) << int(r.ua);
    EXPECT_EQ(c.ascq, r.ascq) << int(r.ua);
  }
}

// The iSCSI layer's refusals (data phase error, bidirectional, too large)
// go through CommandSet::fail: the sense table, in the LU's D_SENSE format.
class CommandSetFailTest : public testing::ScsiTest {
 protected:
  testing::Result fail(uint64_t lun, SenseReason reason) {
    ScsiTask task;
    task.lun = lun;
    commands.fail(task, luns, reason);
    testing::Result r;
    r.status = task.status;
    r.sense.assign(task.sense.begin(), task.sense.begin() + task.sense_length);
    return r;
  }
};

TEST_F(CommandSetFailTest, HonoursDescriptorSense) {
  auto fixed = fail(0, SenseReason::data_phase_error);
  EXPECT_TRUE(fixed.is(0x0B, 0x4B, 0x00));
  EXPECT_FALSE(fixed.descriptor());
  unit->set_mode_parameters({.write_cache_enabled = true, .descriptor_sense = true}, std::nullopt);
  auto descriptor = fail(0, SenseReason::data_phase_error);
  EXPECT_TRUE(descriptor.is(0x0B, 0x4B, 0x00));
  EXPECT_TRUE(descriptor.descriptor());
  // A LUN that does not exist: fixed format.
  auto missing = fail(9, SenseReason::invalid_field_in_cdb);
  EXPECT_TRUE(missing.is(0x05, 0x24, 0x00));
  EXPECT_FALSE(missing.descriptor());
}

TEST(SenseTest, FixedFormat) {
  std::array<uint8_t, 96> buf{};
  buf.fill(0xEE);
  size_t n = build_sense(buf, false, sense_code(SenseReason::invalid_field_in_cdb),
                         {.field = FieldPointer{true, 7, 3}});
  ASSERT_EQ(n, 18u);
  EXPECT_EQ(buf[0], 0x70);
  EXPECT_EQ(buf[2], 0x05);
  EXPECT_EQ(buf[7], 10);
  EXPECT_EQ(buf[12], 0x24);
  EXPECT_EQ(buf[15], 0x80 | 0x40 | 0x08 | 3);
  EXPECT_EQ(load_be16(&buf[16]), 7);
  EXPECT_EQ(buf[20], 0);  // zeroed beyond
}

TEST(SenseTest, FixedFormatInformation) {
  std::array<uint8_t, 96> buf{};
  build_sense(buf, false, sense_code(SenseReason::miscompare_during_verify), {.information = 1234});
  EXPECT_EQ(buf[0], 0xF0);
  EXPECT_EQ(load_be32(&buf[3]), 1234u);
  build_sense(buf, false, sense_code(SenseReason::miscompare_during_verify), {.information = 1ull << 40});
  EXPECT_EQ(buf[0], 0x70);  // does not fit: VALID clear
}

TEST(SenseTest, DescriptorFormat) {
  std::array<uint8_t, 96> buf{};
  size_t n = build_sense(buf, true, sense_code(SenseReason::miscompare_during_verify),
                         {.information = 1ull << 40, .field = FieldPointer{false, 9, -1}});
  ASSERT_EQ(n, 28u);
  EXPECT_EQ(buf[0], 0x72);
  EXPECT_EQ(buf[1], 0x0E);
  EXPECT_EQ(buf[2], 0x1D);
  EXPECT_EQ(buf[7], 20);
  EXPECT_EQ(buf[8], 0x00);
  EXPECT_EQ(buf[9], 0x0A);
  EXPECT_EQ(buf[10], 0x80);
  EXPECT_EQ(load_be64(&buf[12]), 1ull << 40);
  EXPECT_EQ(buf[20], 0x02);
  EXPECT_EQ(buf[21], 0x06);
  EXPECT_EQ(buf[24], 0x80);  // SKSV, C/D = 0, no bit pointer
  EXPECT_EQ(load_be16(&buf[25]), 9);
  EXPECT_EQ(build_sense(buf, true, sense_code(SenseReason::no_sense)), 8u);
}

TEST(SenseTest, TooSmallBufferWritesNothing) {
  std::array<uint8_t, 8> small{};
  EXPECT_EQ(build_sense(small, false, sense_code(SenseReason::invalid_opcode)), 0u);
}

}  // namespace
}  // namespace scsipub::scsi
