// DVD-ROM logical units: identity, capacity, 2048-byte reads over a 512-byte
// store (edges, partial last block), and DATA PROTECT for everything that
// would change the disc.
#include "dvd_fixture.h"
#include "scsi/opcode_table.h"

namespace scsipub::scsi::testing {
namespace {

constexpr uint8_t kDataProtect = 0x07;

TEST_F(DvdTest, StandardInquiryIsRemovableCdDvd) {
  Result r = inquiry(false, 0, 96);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[0], 0x05);         // qualifier 000b, CD/DVD device
  EXPECT_EQ(r.data[1] & 0x80, 0x80);  // RMB
  EXPECT_EQ(std::string(r.data.begin() + 16, r.data.begin() + 23), "DVD-ROM");
  EXPECT_EQ(load_be16(&r.data[64]), 0x04E0);  // MMC-6 version descriptor
  // A LUN that does not exist still answers with the disk table's INQUIRY.
  EXPECT_EQ(inquiry(false, 0, 96, 7).data[0], 0x7F);
}

TEST_F(DvdTest, VpdPagesAreTheSpcOnes) {
  Result r = inquiry(true, 0x00, 255);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[0], 0x05);
  ASSERT_EQ(load_be16(&r.data[2]), 3);
  EXPECT_EQ(r.data[4], 0x00);
  EXPECT_EQ(r.data[5], 0x80);
  EXPECT_EQ(r.data[6], 0x83);
  Result serial = inquiry(true, 0x80, 255);
  ASSERT_TRUE(serial.good());
  EXPECT_EQ(serial.data[0], 0x05);
  EXPECT_EQ(std::string(serial.data.begin() + 4, serial.data.end()), "DVD0001");
  Result ident = inquiry(true, 0x83, 255);
  ASSERT_TRUE(ident.good());
  EXPECT_EQ(ident.data[4] & 0x0F, 1);  // first designator: binary NAA
  EXPECT_EQ(ident.data[5] & 0x0F, 3);
  // Block pages belong to SBC devices.
  for (uint8_t page : {0x86, 0xB0, 0xB1, 0xB2}) EXPECT_TRUE(inquiry(true, page, 255).is(kIllegal, 0x24, 0));
}

TEST_F(DvdTest, ReadCapacityIn2048ByteBlocks) {
  Result r = run(cdb10(0x25, 0, 0));
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 8u);
  EXPECT_EQ(load_be32(&r.data[0]), kDvdBlocks - 1);
  EXPECT_EQ(load_be32(&r.data[4]), 2048u);
  // MMC: LBA and PMI are obsolete, accepted and ignored.
  std::vector<uint8_t> c = cdb10(0x25, 5, 0);
  c[8] = 1;
  EXPECT_EQ(load_be32(&run(c).data[0]), kDvdBlocks - 1);
}

TEST_F(DvdTest, ReadsTranslateToTheStoreAtTheEdges) {
  for (uint8_t op : {0x28, 0xA8, 0x88}) {
    SCOPED_TRACE(op);
    auto cdb = [&](uint64_t lba, uint32_t n) {
      return op == 0x28 ? cdb10(op, uint32_t(lba), uint16_t(n)) : op == 0xA8 ? cdb12(op, uint32_t(lba), n) : cdb16(op, lba, n);
    };
    Result first = run(cdb(0, 1));
    ASSERT_TRUE(first.good());
    EXPECT_EQ(first.data, expected(0, 1));
    Result middle = run(cdb(37, 5));
    ASSERT_TRUE(middle.good());
    EXPECT_EQ(middle.data, expected(37, 5));
    Result last = run(cdb(kDvdBlocks - 1, 1));
    ASSERT_TRUE(last.good());
    EXPECT_EQ(last.data, expected(kDvdBlocks - 1, 1));
    EXPECT_TRUE(run(cdb(0, 0)).good());
    EXPECT_TRUE(run(cdb(0, 0)).data.empty());
    EXPECT_TRUE(run(cdb(kDvdBlocks - 1, 2)).is(kIllegal, 0x21, 0));
    EXPECT_TRUE(run(cdb(kDvdBlocks, 1)).is(kIllegal, 0x21, 0));
    EXPECT_TRUE(run(cdb(0xFFFFFFFFu, 1)).is(kIllegal, 0x21, 0));
  }
}

TEST_F(DvdTest, PartialLastBlockReadsZerosPastTheImage) {
  // 10 DVD blocks and 700 bytes (not even a multiple of 512): 11 blocks.
  make_dvd(10 * 2048 + 700);
  Result cap = run(cdb10(0x25, 0, 0));
  EXPECT_EQ(load_be32(&cap.data[0]), 10u);
  Result last = run(cdb10(0x28, 10, 1));
  ASSERT_TRUE(last.good());
  ASSERT_EQ(last.data.size(), 2048u);
  EXPECT_EQ(last.data, expected(10, 1));
  EXPECT_NE(last.data[699], 0);  // image bytes up to the end ...
  for (size_t i = 700; i < 2048; ++i) ASSERT_EQ(last.data[i], 0) << i;  // ... then zeros
  Result both = run(cdb10(0x28, 9, 2));
  ASSERT_TRUE(both.good());
  EXPECT_EQ(both.data, expected(9, 2));
  EXPECT_TRUE(run(cdb10(0x28, 11, 1)).is(kIllegal, 0x21, 0));
}

TEST_F(DvdTest, TransferLengthCap) {
  make_dvd(uint64_t{3000} * 2048);
  EXPECT_TRUE(run(cdb10(0x28, 0, 2048)).good());
  EXPECT_EQ(run(cdb10(0x28, 0, 2048)).data.size(), size_t{4} << 20);
  EXPECT_TRUE(run(cdb10(0x28, 0, 2049)).is(kIllegal, 0x24, 0));
  EXPECT_TRUE(run(cdb12(0xA8, 0, 2049)).is(kIllegal, 0x24, 0));
}

TEST_F(DvdTest, ReadCdbReservedBitsAreRejected) {
  EXPECT_TRUE(run(cdb10(0x28, 0, 1, 0x20)).is(kIllegal, 0x24, 0));  // RDPROTECT
  EXPECT_TRUE(run(cdb10(0x28, 0, 1, 0x18)).good());                 // DPO, FUA
  std::vector<uint8_t> c = cdb12(0xA8, 0, 1);
  c[10] = 0x80;  // STREAMING
  EXPECT_TRUE(run(c).good());
  c[10] = 0x40;
  EXPECT_TRUE(run(c).is(kIllegal, 0x24, 0));
}

TEST_F(DvdTest, EverythingThatWritesIsDataProtect) {
  const std::vector<uint8_t> block(2048, 0xAB);
  EXPECT_TRUE(run(cdb10(0x2A, 0, 1), block).is(kDataProtect, 0x27, 0));   // WRITE (10)
  EXPECT_TRUE(run(cdb12(0xAA, 0, 1), block).is(kDataProtect, 0x27, 0));   // WRITE (12)
  EXPECT_TRUE(run(cdb10(0x2E, 0, 1), block).is(kDataProtect, 0x27, 0));   // WRITE AND VERIFY (10)
  EXPECT_TRUE(run(cdb6(0x04, 0x10, 0, 0, 0), {}).is(kDataProtect, 0x27, 0));  // FORMAT UNIT
  EXPECT_TRUE(run({0xA1, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}).is(kDataProtect, 0x27, 0));  // BLANK
  EXPECT_TRUE(run({0x5B, 0, 0x02, 0, 0, 1, 0, 0, 0, 0}).is(kDataProtect, 0x27, 0));       // CLOSE SESSION
  EXPECT_TRUE(run(cdb10(0x53, 0, 0)).is(kDataProtect, 0x27, 0));                           // RESERVE TRACK
  EXPECT_EQ(run(cdb10(0x28, 0, 1)).data, expected(0, 1));  // nothing changed
}

TEST_F(DvdTest, SbcOnlyCommandsAreInvalidOpcodes) {
  // READ (6), WRITE (6/16), VERIFY, SYNCHRONIZE CACHE, UNMAP, WRITE SAME,
  // READ CAPACITY (16), PERSISTENT RESERVE IN/OUT, MODE SELECT, RESERVE(6).
  for (std::vector<uint8_t> c : {std::vector<uint8_t>{0x08, 0, 0, 0, 1, 0}, cdb6(0x0A, 0, 0, 0, 1),
                                 cdb16(0x8A, 0, 1), cdb10(0x2F, 0, 1), cdb10(0x35, 0, 0), cdb10(0x42, 0, 0),
                                 cdb10(0x41, 0, 1), cdb16(0x9E, 0, 32, 0x10), cdb10(0x5E, 0, 8),
                                 cdb10(0x5F, 0, 24), cdb6(0x15, 0x10, 0, 0, 0), cdb6(0x16, 0, 0, 0, 0)}) {
    SCOPED_TRACE(c[0]);
    EXPECT_TRUE(run(c).is(kIllegal, 0x20, 0));
  }
}

TEST_F(DvdTest, ReportSupportedOpcodesListsTheMmcTable) {
  std::vector<uint8_t> c(12, 0);
  c[0] = 0xA3;
  c[1] = 0x0C;
  store_be32(&c[6], 4096);
  Result r = run(c);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(load_be32(&r.data[0]), 8 * mmc_opcode_table().size());
  // One command: READ TOC is supported, WRITE (16) is not.
  c[2] = 0x01;
  c[3] = 0x43;
  Result toc = run(c);
  EXPECT_EQ(toc.data[1] & 0x07, 0x03);
  c[3] = 0x8A;
  EXPECT_EQ(run(c).data[1] & 0x07, 0x01);
}

TEST_F(DvdTest, UnitAttentionFirstButNotForPolledMmcCommands) {
  unit->attach(nexus);  // POWER ON, RESET pending
  EXPECT_TRUE(get_configuration(0, 0).good());
  EXPECT_TRUE(run({0x4A, 0x01, 0, 0, 0x10, 0, 0, 0, 8, 0}).good());
  EXPECT_TRUE(run(cdb10(0x28, 0, 1)).is(0x06, 0x29, 0));
  EXPECT_TRUE(run(cdb10(0x28, 0, 1)).good());
}

TEST_F(DvdTest, RandomCdbsKeepInvariants) {
  unit->attach(nexus);
  uint32_t x = 2463534242u;  // xorshift32: deterministic
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  auto table = mmc_opcode_table();
  for (int iter = 0; iter < 5000; ++iter) {
    std::vector<uint8_t> cdb(16);
    for (auto& b : cdb) b = uint8_t(next());
    const auto& info = table[next() % table.size()];
    cdb[0] = info.opcode;
    if (info.has_service_action) cdb[1] = uint8_t((cdb[1] & 0xE0) | info.service_action);
    if (iter % 2 == 0)
      for (size_t i = 1; i < info.cdb_length; ++i) cdb[i] &= info.usage[i];
    Result r = run(cdb);
    ASSERT_TRUE(r.status == status::kGood || r.status == status::kCheckCondition) << iter;
    if (r.status == status::kCheckCondition) {
      ASSERT_TRUE(r.data.empty()) << iter;
    }
    ASSERT_LE(r.data.size(), size_t{4} << 20) << iter;
  }
}

}  // namespace
}  // namespace scsipub::scsi::testing
