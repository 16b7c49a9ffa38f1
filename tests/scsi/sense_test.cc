// SPC-4 4.5 sense data formats.
#include <gtest/gtest.h>

#include <array>

#include "common/bytes.h"
#include "scsi/sense.h"

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
