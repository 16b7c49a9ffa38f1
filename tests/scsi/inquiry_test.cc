// Mirrors libiscsi test_inquiry_*.c and the VPD checks iscsi-test-cu does at start.
#include <algorithm>
#include <set>

#include "scsi_fixture.h"

namespace scsipub::scsi::testing {
namespace {

using InquiryTest = ScsiTest;

TEST_F(InquiryTest, StandardData) {
  Result r = inquiry(false, 0, 260);
  ASSERT_TRUE(r.good());
  ASSERT_GE(r.data.size(), 36u);
  EXPECT_EQ(r.data[0], 0x00);                  // qualifier 0, direct access
  EXPECT_EQ(r.data[1] & 0x80, 0);              // not removable
  EXPECT_EQ(r.data[2], 0x06);                  // SPC-4
  EXPECT_EQ(r.data[3] & 0x0F, 0x02);           // response data format 2
  EXPECT_TRUE(r.data[3] & 0x10);               // HiSup
  EXPECT_EQ(r.data[3] & 0xC0, 0);              // AERC, TRMTSK clear
  EXPECT_EQ(size_t(r.data[4]), r.data.size() - 5);  // additional length exact
  EXPECT_TRUE(r.data[7] & 0x02);               // CmdQue
  for (size_t i = 8; i < 36; ++i) EXPECT_TRUE(r.data[i] >= 0x20 && r.data[i] <= 0x7E) << i;
  EXPECT_EQ(std::string(r.data.begin() + 8, r.data.begin() + 16), "SCSIPUB ");
  // Version descriptors claim SPC-4 and SBC-3 (iscsi-test-cu's sbc3_support).
  std::set<uint16_t> versions;
  for (size_t i = 58; i < 74; i += 2) versions.insert(load_be16(&r.data[i]));
  EXPECT_TRUE(versions.count(0x0460));
  EXPECT_TRUE(versions.count(0x04C0));
}

TEST_F(InquiryTest, AllocationLengthTruncates) {
  Result full = inquiry(false, 0, 512);
  for (uint16_t n = 0; n < 256; ++n) {
    Result r = inquiry(false, 0, n);
    ASSERT_TRUE(r.good());
    ASSERT_EQ(r.data.size(), std::min<size_t>(n, full.data.size()));
    EXPECT_TRUE(std::equal(r.data.begin(), r.data.end(), full.data.begin()));
  }
  EXPECT_EQ(inquiry(false, 0, 511).data, inquiry(false, 0, 512).data);
}

TEST_F(InquiryTest, PageCodeWithoutEvpdIsInvalid) {
  EXPECT_TRUE(inquiry(false, 1, 256).is(kIllegal, 0x24, 0x00));
  EXPECT_TRUE(inquiry(false, 0x80, 256).is(kIllegal, 0x24, 0x00));
}

TEST_F(InquiryTest, UnsupportedVpdPage) { EXPECT_TRUE(inquiry(true, 0x42, 256).is(kIllegal, 0x24, 0x00)); }

TEST_F(InquiryTest, ReservedBitsRejected) {
  EXPECT_TRUE(run({0x12, 0x02, 0, 0, 255, 0}).is(kIllegal, 0x24, 0x00));  // CMDDT
  EXPECT_TRUE(run({0x12, 0x00, 0, 0, 255, 0x04}).is(kIllegal, 0x24, 0x00));  // NACA
}

TEST_F(InquiryTest, SupportedVpdPagesSortedAndAllReadable) {
  Result r = inquiry(true, 0x00, 255);
  ASSERT_TRUE(r.good());
  ASSERT_GE(r.data.size(), 4u);
  EXPECT_EQ(r.data[1], 0x00);
  size_t n = load_be16(&r.data[2]);
  ASSERT_EQ(r.data.size(), 4 + n);
  std::vector<uint8_t> pages(r.data.begin() + 4, r.data.end());
  EXPECT_TRUE(std::is_sorted(pages.begin(), pages.end()));
  for (uint8_t want : {0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2})
    EXPECT_NE(std::find(pages.begin(), pages.end(), want), pages.end()) << int(want);
  for (uint8_t page : pages) {
    Result p = inquiry(true, page, 255);
    ASSERT_TRUE(p.good()) << int(page);
    EXPECT_EQ(p.data[1], page);
    EXPECT_EQ(p.data.size(), 4u + load_be16(&p.data[2])) << int(page);
  }
}

TEST_F(InquiryTest, UnitSerialNumber) {
  Result r = inquiry(true, 0x80, 255);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(std::string(r.data.begin() + 4, r.data.end()), "SN0001");
}

TEST_F(InquiryTest, DeviceIdentificationDesignators) {
  Result r = inquiry(true, 0x83, 1024);
  ASSERT_TRUE(r.good());
  bool naa = false, t10 = false, name = false, rel_port = false, tpg = false;
  size_t end = 4 + load_be16(&r.data[2]);
  ASSERT_EQ(end, r.data.size());
  for (size_t i = 4; i + 4 <= end;) {
    uint8_t code_set = r.data[i] & 0x0F, assoc = (r.data[i + 1] >> 4) & 3, type = r.data[i + 1] & 0x0F;
    size_t len = r.data[i + 3];
    ASSERT_LE(i + 4 + len, end);
    if (type == 3 && assoc == 0) {
      naa = true;
      EXPECT_EQ(code_set, 1);
      EXPECT_EQ(len, 8u);
      EXPECT_EQ(r.data[i + 4] >> 4, 0x5);  // NAA IEEE Registered
    }
    if (type == 1 && assoc == 0) t10 = true;
    if (type == 8 && assoc == 0) {
      name = true;
      EXPECT_EQ(len % 4, 0u);
      EXPECT_EQ(r.data[i + 4 + len - 1], 0);
    }
    if (type == 4 && assoc == 1) rel_port = true;
    if (type == 5 && assoc == 1) tpg = true;
    i += 4 + len;
  }
  EXPECT_TRUE(naa && t10 && name && rel_port && tpg);
}

TEST_F(InquiryTest, DesignatorsUniquePerLu) {
  auto other_store = std::make_shared<storage::MemoryStore>(64);
  lu::Identity id;
  id.serial = "SN0002";
  id.naa_id = 0x2222;
  luns.add(1, std::make_shared<lu::LogicalUnit>(other_store, id));
  EXPECT_NE(inquiry(true, 0x83, 1024, 0).data, inquiry(true, 0x83, 1024, 1).data);
  EXPECT_NE(inquiry(true, 0x80, 255, 0).data, inquiry(true, 0x80, 255, 1).data);
}

TEST_F(InquiryTest, BlockLimitsPage) {
  Result r = inquiry(true, 0xB0, 255);
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 64u);
  EXPECT_EQ(r.data[3], 0x3C);
  EXPECT_GE(r.data[5], 1);                  // max compare and write length
  EXPECT_GT(load_be32(&r.data[8]), 0u);     // max transfer length
  uint32_t max_unmap = load_be32(&r.data[20]), max_bdc = load_be32(&r.data[24]);
  EXPECT_GT(max_unmap, 0u);
  EXPECT_LE(max_unmap, 1024u * 1024);
  EXPECT_GT(max_bdc, 0u);
  EXPECT_LE(max_bdc, 1024u * 1024);
  EXPECT_GT(load_be64(&r.data[36]), 0u);    // max write same length
}

TEST_F(InquiryTest, BlockLimitsTruncatedAt64LikeIscsiTestCu) {
  Result r = inquiry(true, 0xB0, 64);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data.size(), 64u);
}

TEST_F(InquiryTest, BlockDeviceCharacteristicsNonRotating) {
  Result r = inquiry(true, 0xB1, 255);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(load_be16(&r.data[4]), 1);
}

TEST_F(InquiryTest, LogicalBlockProvisioningThin) {
  Result r = inquiry(true, 0xB2, 255);
  ASSERT_TRUE(r.good());
  ASSERT_GE(r.data.size(), 8u);
  EXPECT_EQ(r.data[5] & 0xE4, 0xE4);  // LBPU, LBPWS, LBPWS10, LBPRZ
  EXPECT_EQ(r.data[6] & 0x07, 0x02);  // thin
}

TEST_F(InquiryTest, UnknownLunGetsQualifier3) {
  Result r = inquiry(false, 0, 96, 7);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[0], 0x7F);
  EXPECT_TRUE(run({0x00, 0, 0, 0, 0, 0}, {}, 7).is(kIllegal, 0x25, 0x00));
  EXPECT_TRUE(run(cdb10(0x28, 0, 1), {}, 7).is(kIllegal, 0x25, 0x00));
}

TEST_F(InquiryTest, NoStaleBytesInData) {
  // The fixture poisons data-in with 0xEE; reserved bytes must come back zero.
  Result r = inquiry(false, 0, 96);
  for (size_t i = 36; i < 58; ++i) EXPECT_EQ(r.data[i], 0) << i;
  Result b0 = inquiry(true, 0xB0, 255);
  for (size_t i = 44; i < 64; ++i) EXPECT_EQ(b0.data[i], 0) << i;
}

}  // namespace
}  // namespace scsipub::scsi::testing
