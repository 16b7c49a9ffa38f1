// DVD-ROM logical units: the MMC commands initiators probe a drive with
// (READ TOC, disc / track information, GET CONFIGURATION, GET EVENT STATUS
// NOTIFICATION, MODE SENSE page 2Ah) and medium removal.
#include "dvd_fixture.h"

namespace scsipub::scsi::testing {
namespace {

TEST_F(DvdTest, TocFormat0OneDataTrackAndLeadOut) {
  Result r = read_toc(0, false, 0);
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 20u);
  EXPECT_EQ(load_be16(&r.data[0]), 18);
  EXPECT_EQ(r.data[2], 1);
  EXPECT_EQ(r.data[3], 1);
  EXPECT_EQ(r.data[5], 0x14);  // ADR 1, data track
  EXPECT_EQ(r.data[6], 1);
  EXPECT_EQ(load_be32(&r.data[8]), 0u);
  EXPECT_EQ(r.data[13], 0x14);
  EXPECT_EQ(r.data[14], 0xAA);
  EXPECT_EQ(load_be32(&r.data[16]), kDvdBlocks);  // lead-out starts after the last block
  // Starting at track 1 is the same; at AAh only the lead-out.
  EXPECT_EQ(read_toc(0, false, 1).data, r.data);
  Result lead_out = read_toc(0, false, 0xAA);
  ASSERT_TRUE(lead_out.good());
  ASSERT_EQ(lead_out.data.size(), 12u);
  EXPECT_EQ(load_be16(&lead_out.data[0]), 10);
  EXPECT_EQ(lead_out.data[6], 0xAA);
  // No track 2 .. A9h, nor anything past AAh.
  EXPECT_TRUE(read_toc(0, false, 2).is(kIllegal, 0x24, 0));
  EXPECT_TRUE(read_toc(0, false, 0xAB).is(kIllegal, 0x24, 0));
  // Allocation length truncates.
  EXPECT_EQ(read_toc(0, false, 0, 4).data.size(), 4u);
}

TEST_F(DvdTest, TocMsfAddresses) {
  Result r = read_toc(0, true, 0);
  ASSERT_TRUE(r.good());
  // LBA 0 is 00:02:00 (the 150-frame pre-gap).
  EXPECT_EQ(r.data[8], 0);
  EXPECT_EQ(r.data[9], 0);
  EXPECT_EQ(r.data[10], 2);
  EXPECT_EQ(r.data[11], 0);
  // Lead-out at LBA 100: 250 frames = 00:03:25.
  EXPECT_EQ(r.data[17], 0);
  EXPECT_EQ(r.data[18], 3);
  EXPECT_EQ(r.data[19], 25);
  // Past what MSF can say (a 4.7 GB disc is 2.3 M blocks): saturated.
  make_blank_dvd(uint64_t{1200000} * 2048 + 1);
  Result big = read_toc(0, true, 0xAA);
  EXPECT_EQ(big.data[9], 0xFF);
  EXPECT_EQ(big.data[10], 59);
  EXPECT_EQ(big.data[11], 74);
}

TEST_F(DvdTest, TocFormat1SessionInfoAlsoViaLegacyControlBits) {
  Result r = read_toc(1, false, 0);
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 12u);
  EXPECT_EQ(load_be16(&r.data[0]), 10);
  EXPECT_EQ(r.data[2], 1);
  EXPECT_EQ(r.data[3], 1);
  EXPECT_EQ(r.data[5], 0x14);
  EXPECT_EQ(r.data[6], 1);
  EXPECT_EQ(load_be32(&r.data[8]), 0u);
  // The Linux sr driver: FORMAT 0, CONTROL 40h, allocation length 12.
  EXPECT_EQ(read_toc(0, false, 0, 12, 0x40).data, r.data);
  EXPECT_EQ(read_toc(1, true, 0).data[10], 2);  // 00:02:00
  // Full TOC, PMA, ATIP, CD-TEXT: CD only.
  for (uint8_t f : {2, 3, 4, 5, 15}) EXPECT_TRUE(read_toc(f, false, 0).is(kIllegal, 0x24, 0)) << int(f);
  EXPECT_TRUE(read_toc(0, false, 0, 12, 0x80).is(kIllegal, 0x24, 0));
  std::vector<uint8_t> c{0x43, 0, 0, 0, 0, 0, 0, 0, 12, 0x01};  // NACA
  EXPECT_TRUE(run(c).is(kIllegal, 0x24, 0));
}

TEST_F(DvdTest, ReadDiscInformationCompleteDisc) {
  Result r = run({0x51, 0, 0, 0, 0, 0, 0, 0, 34, 0});
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 34u);
  EXPECT_EQ(load_be16(&r.data[0]), 32);
  EXPECT_EQ(r.data[2] & 0x03, 0x02);       // disc status: complete
  EXPECT_EQ(r.data[2] & 0x0C, 0x0C);       // last session complete
  EXPECT_EQ(r.data[2] & 0x10, 0);          // not erasable
  EXPECT_EQ(r.data[3], 1);
  EXPECT_EQ(r.data[4], 1);
  EXPECT_EQ(r.data[5], 1);
  EXPECT_EQ(r.data[6], 1);
  EXPECT_EQ(load_be32(&r.data[16]), 0xFFFFFFFFu);
  EXPECT_EQ(load_be32(&r.data[20]), 0xFFFFFFFFu);
  EXPECT_EQ(run({0x51, 0, 0, 0, 0, 0, 0, 0, 8, 0}).data.size(), 8u);
  EXPECT_TRUE(run({0x51, 0x01, 0, 0, 0, 0, 0, 0, 34, 0}).is(kIllegal, 0x24, 0));  // track resources
}

TEST_F(DvdTest, ReadTrackInformation) {
  auto rti = [&](uint8_t type, uint32_t address) {
    std::vector<uint8_t> c = cdb10(0x52, address, 48, type);
    return run(c);
  };
  Result r = rti(1, 1);
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 48u);
  EXPECT_EQ(r.data[2], 1);
  EXPECT_EQ(r.data[3], 1);
  EXPECT_EQ(r.data[5] & 0x0F, 0x04);
  EXPECT_EQ(load_be32(&r.data[8]), 0u);
  EXPECT_EQ(load_be32(&r.data[24]), kDvdBlocks);
  EXPECT_EQ(rti(0, kDvdBlocks - 1).data, r.data);  // by LBA
  EXPECT_EQ(rti(2, 1).data, r.data);               // by session
  EXPECT_TRUE(rti(0, kDvdBlocks).is(kIllegal, 0x24, 0));
  EXPECT_TRUE(rti(1, 2).is(kIllegal, 0x24, 0));
  EXPECT_TRUE(rti(1, 0xFF).is(kIllegal, 0x24, 0));
  EXPECT_TRUE(rti(3, 1).is(kIllegal, 0x24, 0));
}

struct FeatureView {
  uint16_t code;
  uint8_t flags;
  std::vector<uint8_t> data;
};

std::vector<FeatureView> features(const Result& r) {
  std::vector<FeatureView> out;
  size_t end = std::min<size_t>(4 + load_be32(&r.data[0]), r.data.size());
  for (size_t i = 8; i + 4 <= end; i += 4 + r.data[i + 3])
    out.push_back({load_be16(&r.data[i]), r.data[i + 2],
                   {r.data.begin() + long(i + 4), r.data.begin() + long(std::min(end, i + 4 + r.data[i + 3]))}});
  return out;
}

TEST_F(DvdTest, GetConfigurationAllFeatures) {
  Result r = get_configuration(0, 0);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(load_be32(&r.data[0]), r.data.size() - 4);
  EXPECT_EQ(load_be16(&r.data[6]), 0x0010);  // current profile DVD-ROM
  auto fs = features(r);
  std::vector<uint16_t> codes;
  for (const auto& f : fs) codes.push_back(f.code);
  EXPECT_EQ(codes, (std::vector<uint16_t>{0x0000, 0x0001, 0x0002, 0x0003, 0x0010, 0x001F, 0x0100}));
  for (const auto& f : fs) EXPECT_EQ(f.flags & 0x01, 0x01) << f.code;  // all current
  // Profile list: DVD-ROM, CURRENTP.
  ASSERT_EQ(fs[0].data.size(), 4u);
  EXPECT_EQ(load_be16(&fs[0].data[0]), 0x0010);
  EXPECT_EQ(fs[0].data[2] & 0x01, 0x01);
  // Random Readable: 2048-byte blocks.
  EXPECT_EQ(load_be32(&fs[4].data[0]), 2048u);
  // Removable Medium: tray, ejectable, lockable.
  EXPECT_EQ(fs[3].data[0] & 0xE9, 0x29);
}

TEST_F(DvdTest, GetConfigurationRtAndStartingFeature) {
  auto codes = [&](uint8_t rt, uint16_t start) {
    std::vector<uint16_t> out;
    for (const auto& f : features(get_configuration(rt, start))) out.push_back(f.code);
    return out;
  };
  EXPECT_EQ(codes(0, 0x0003), (std::vector<uint16_t>{0x0003, 0x0010, 0x001F, 0x0100}));
  EXPECT_EQ(codes(1, 0x0010), (std::vector<uint16_t>{0x0010, 0x001F, 0x0100}));
  EXPECT_EQ(codes(2, 0x001F), (std::vector<uint16_t>{0x001F}));
  EXPECT_TRUE(codes(2, 0x0020).empty());  // not supported: header only
  Result header_only = get_configuration(2, 0x0020);
  EXPECT_EQ(header_only.data.size(), 8u);
  EXPECT_EQ(load_be16(&header_only.data[6]), 0x0010);
  EXPECT_TRUE(get_configuration(3, 0).is(kIllegal, 0x24, 0));
  // The Linux cdrom layer asks for the header only: 8 bytes.
  EXPECT_EQ(get_configuration(0, 0, 8).data.size(), 8u);
  EXPECT_EQ(load_be16(&get_configuration(0, 0, 8).data[6]), 0x0010);
}

TEST_F(DvdTest, GetEventStatusNotificationMediaPresent) {
  Result r = run({0x4A, 0x01, 0, 0, 0x10, 0, 0, 0, 8, 0});
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 8u);
  EXPECT_EQ(load_be16(&r.data[0]), 6);
  EXPECT_EQ(r.data[2], 0x04);  // media class, NEA 0
  EXPECT_EQ(r.data[3], 0x10);
  EXPECT_EQ(r.data[4] & 0x0F, 0);  // no change
  EXPECT_EQ(r.data[5], 0x02);      // media present, tray closed
  // Classes we do not have: NEA and the supported classes only.
  Result none = run({0x4A, 0x01, 0, 0, 0x02, 0, 0, 0, 8, 0});
  ASSERT_TRUE(none.good());
  ASSERT_EQ(none.data.size(), 4u);
  EXPECT_EQ(none.data[2], 0x80);
  EXPECT_EQ(none.data[3], 0x10);
  EXPECT_TRUE(run({0x4A, 0x00, 0, 0, 0x10, 0, 0, 0, 8, 0}).is(kIllegal, 0x24, 0));  // asynchronous
  EXPECT_EQ(run({0x4A, 0x01, 0, 0, 0x10, 0, 0, 0, 4, 0}).data.size(), 4u);
}

TEST_F(DvdTest, ModeSenseCapabilitiesPage) {
  for (bool ten : {false, true}) {
    SCOPED_TRACE(ten);
    auto sense = [&](uint8_t page_byte, uint8_t subpage = 0) {
      return ten ? run({0x5A, 0, page_byte, subpage, 0, 0, 0, 0, 255, 0}) : run({0x1A, 0, page_byte, subpage, 255, 0});
    };
    const size_t header = ten ? 8 : 4;
    Result r = sense(0x2A);
    ASSERT_TRUE(r.good());
    ASSERT_EQ(r.data.size(), header + 22);
    if (ten) {
      EXPECT_EQ(load_be16(&r.data[0]), r.data.size() - 2);
      EXPECT_EQ(load_be16(&r.data[6]), 0);  // no block descriptors
    } else {
      EXPECT_EQ(r.data[0], r.data.size() - 1);
      EXPECT_EQ(r.data[3], 0);
    }
    const uint8_t* p = &r.data[header];
    EXPECT_EQ(p[0], 0x2A);
    EXPECT_EQ(p[1], 20);
    EXPECT_EQ(p[2] & 0x08, 0x08);  // DVD-ROM read
    EXPECT_EQ(p[3], 0);            // no writing
    EXPECT_EQ(p[6] & 0xE9, 0x29);  // tray, eject, lock
    EXPECT_GT(load_be16(p + 8), 176);
    // The SPC-4 control page, then page 2Ah for "all pages".
    Result control = sense(0x0A);
    ASSERT_TRUE(control.good());
    ASSERT_EQ(control.data.size(), header + 12);
    EXPECT_EQ(control.data[header], 0x0A);
    EXPECT_EQ(control.data[header + 1], 10);
    Result all = sense(0x3F);
    ASSERT_TRUE(all.good());
    ASSERT_EQ(all.data.size(), header + 12 + 22);
    EXPECT_TRUE(std::equal(control.data.begin() + long(header), control.data.end(), all.data.begin() + long(header)));
    EXPECT_TRUE(std::equal(r.data.begin() + long(header), r.data.end(), all.data.begin() + long(header + 12)));
    EXPECT_EQ(sense(0x3F, 0xFF).data, all.data);
    Result changeable = sense(0x40 | 0x2A);
    ASSERT_TRUE(changeable.good());
    EXPECT_EQ(changeable.data[header + 2], 0);
    EXPECT_EQ(sense(0x40 | 0x0A).data[header + 2], 0);  // D_SENSE not changeable: no MODE SELECT
    EXPECT_TRUE(sense(0xC0 | 0x2A).is(kIllegal, 0x39, 0));  // saved
    EXPECT_TRUE(sense(0x08).is(kIllegal, 0x24, 0));         // caching page: a disk's
    EXPECT_TRUE(sense(0x2A, 1).is(kIllegal, 0x24, 0));
  }
}

TEST_F(DvdTest, PreventAllowIsPerNexusAndShowsInPage2A) {
  unit->attach(nexus);
  lu::Nexus other;
  other.id = 2;
  unit->attach(other);
  run({0x00, 0, 0, 0, 0, 0});
  run({0x00, 0, 0, 0, 0, 0}, {}, 0, &other);  // clear the unit attentions
  auto lock_state = [&] { return run({0x5A, 0, 0x2A, 0, 0, 0, 0, 0, 255, 0}).data[8 + 6] & 0x02; };
  EXPECT_EQ(lock_state(), 0);
  EXPECT_TRUE(run(cdb6(0x1E, 0, 0, 0, 0x01)).good());
  EXPECT_EQ(lock_state(), 0x02);
  EXPECT_TRUE(run(cdb6(0x1E, 0, 0, 0, 0x01), {}, 0, &other).good());
  EXPECT_TRUE(run(cdb6(0x1E, 0, 0, 0, 0x00)).good());
  EXPECT_EQ(lock_state(), 0x02);  // the other nexus still prevents
  unit->detach(other.id);         // nexus loss releases its prevention
  EXPECT_EQ(lock_state(), 0);
  EXPECT_TRUE(run(cdb6(0x1E, 0, 0, 0, 0x03)).good());  // PERSISTENT + PREVENT
  EXPECT_EQ(lock_state(), 0x02);
  unit->logical_unit_reset();
  run({0x00, 0, 0, 0, 0, 0});
  EXPECT_EQ(lock_state(), 0);
  EXPECT_TRUE(run(cdb6(0x1E, 0, 0, 0, 0x04)).is(kIllegal, 0x24, 0));
}

TEST_F(DvdTest, EjectRefusedWhileLockedOtherwiseTheTrayOpensUntilLoad) {
  unit->attach(nexus);
  lu::Nexus other;
  other.id = 2;
  unit->attach(other);
  const std::vector<uint8_t> tur{0x00, 0, 0, 0, 0, 0};
  run(tur);
  run(tur, {}, 0, &other);  // clear the unit attentions
  const auto eject = cdb6(0x1B, 0, 0, 0, 0x02);
  const auto load = cdb6(0x1B, 0, 0, 0, 0x03);
  EXPECT_TRUE(run(cdb6(0x1E, 0, 0, 0, 0x01)).good());
  EXPECT_TRUE(run(eject).is(kIllegal, 0x53, 0x02));  // MEDIUM REMOVAL PREVENTED
  EXPECT_TRUE(run(tur).good());
  EXPECT_TRUE(run(cdb6(0x1E, 0, 0, 0, 0x00)).good());
  EXPECT_TRUE(run(cdb6(0x1B, 0x01, 0, 0, 0x02)).good());  // IMMED eject
  // Ejected: what needs the disc is NOT READY, MEDIUM NOT PRESENT - TRAY OPEN.
  for (const auto& c : {tur, cdb10(0x25, 0, 0), cdb10(0x28, 0, 1), cdb12(0xA8, 0, 1), std::vector<uint8_t>(cdb10(0x43, 0, 12)),
                        std::vector<uint8_t>{0x51, 0, 0, 0, 0, 0, 0, 0, 34, 0}, cdb10(0x52, 1, 48, 1),
                        cdb10(0x2A, 0, 1)}) {
    SCOPED_TRACE(c[0]);
    EXPECT_TRUE(run(c, c[0] == 0x2A ? std::vector<uint8_t>(2048) : std::vector<uint8_t>{}).is(0x02, 0x3A, 0x02));
  }
  // ... but the drive still answers about itself.
  EXPECT_TRUE(inquiry(false, 0, 96).good());
  EXPECT_TRUE(run({0x5A, 0, 0x2A, 0, 0, 0, 0, 0, 255, 0}).good());
  Result gesn = run({0x4A, 0x01, 0, 0, 0x10, 0, 0, 0, 8, 0});
  EXPECT_EQ(gesn.data[5], 0x01);  // tray open, no media
  Result config = get_configuration(0, 0);
  EXPECT_EQ(load_be16(&config.data[6]), 0);        // no current profile
  EXPECT_EQ(config.data[8 + 4 + 2] & 0x01, 0);     // DVD-ROM profile not CURRENTP
  std::vector<uint16_t> current;
  for (const auto& f : features(get_configuration(1, 0))) current.push_back(f.code);
  EXPECT_EQ(current, (std::vector<uint16_t>{0x0000, 0x0001, 0x0002, 0x0003, 0x0100}));
  EXPECT_TRUE(run(eject).good());  // ejecting an open tray: nothing to do
  // Load: the same disc is back; the other nexus hears the medium may have changed.
  EXPECT_TRUE(run(load).good());
  EXPECT_TRUE(run(tur).good());
  EXPECT_EQ(run(cdb10(0x28, 0, 1)).data, expected(0, 1));
  EXPECT_TRUE(run(tur, {}, 0, &other).is(0x06, 0x28, 0x00));
  EXPECT_TRUE(run(tur, {}, 0, &other).good());
  EXPECT_EQ(load_be16(&get_configuration(0, 0).data[6]), 0x0010);
}

TEST_F(DvdTest, StartStopPowerConditionsAndFormatLayerAreNoOps) {
  unit->attach(nexus);
  const std::vector<uint8_t> tur{0x00, 0, 0, 0, 0, 0};
  run(tur);
  // Any POWER CONDITIONS value: START and LOEJ ignored, the disc stays.
  for (uint8_t pc = 1; pc < 16; ++pc) {
    EXPECT_TRUE(run(cdb6(0x1B, 0x01, 0, 0, uint8_t(pc << 4 | 0x02))).good()) << int(pc);
    EXPECT_TRUE(run(tur).good()) << int(pc);
  }
  // LOEJ = 0: start / stop the (virtual) spindle; FL (SBC's NO_FLUSH) ignored.
  for (uint8_t b4 : {0x00, 0x01, 0x04, 0x05}) {
    EXPECT_TRUE(run(cdb6(0x1B, 0, 0, 0, b4)).good()) << int(b4);
    EXPECT_TRUE(run(tur).good()) << int(b4);
  }
  EXPECT_TRUE(run(cdb6(0x1B, 0, 0, 0x03, 0x00)).good());              // FORMAT-LAYER NUMBER
  EXPECT_TRUE(run(cdb6(0x1B, 0, 0, 0, 0x08)).is(kIllegal, 0x24, 0));  // reserved bit
}

TEST_F(DvdTest, TestUnitReadyRequestSenseReportLuns) {
  EXPECT_TRUE(run({0x00, 0, 0, 0, 0, 0}).good());
  Result sense = run({0x03, 0, 0, 0, 18, 0});
  ASSERT_TRUE(sense.good());
  EXPECT_EQ(sense.data[2] & 0x0F, 0);  // NO SENSE
  unit->attach(nexus);
  Result ua = run({0x03, 0, 0, 0, 18, 0});
  EXPECT_EQ(ua.data[2] & 0x0F, 0x06);
  EXPECT_EQ(ua.data[12], 0x29);
  Result luns_reply = run({0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0});
  ASSERT_TRUE(luns_reply.good());
  EXPECT_EQ(load_be32(&luns_reply.data[0]), 8u);
}

}  // namespace
}  // namespace scsipub::scsi::testing
