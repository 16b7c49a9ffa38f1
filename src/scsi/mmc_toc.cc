// MMC-6 READ TOC/PMA/ATIP, READ DISC INFORMATION and READ TRACK INFORMATION
// for a DVD-ROM logical unit: a complete (finalized) disc with one session
// holding one data track that covers every block.
#include "common/bytes.h"
#include "scsi/handlers.h"
#include "scsi/mmc_blocks.h"

namespace scsipub::scsi::handlers {

namespace {

constexpr uint8_t kLeadOut = 0xAA;
// ADR 1 (Q sub-channel encodes the current position), CONTROL 4 (data track,
// recorded uninterrupted): what the Linux cdrom layer counts as a data track.
constexpr uint8_t kAdrControlData = 0x14;

// MMC-6 Table "LBA to MSF translation": MSF = LBA + 150 frames (the 2 s
// pre-gap), 75 frames a second. Addresses beyond FF:59:74 saturate.
void put_address(uint8_t* p, uint64_t lba, bool msf) {
  if (!msf) {
    store_be32(p, lba > 0xFFFFFFFFu ? 0xFFFFFFFFu : uint32_t(lba));
    return;
  }
  const uint64_t frames = lba + 150;
  const uint64_t minutes = frames / (60 * 75);
  p[0] = 0;
  if (minutes > 0xFF) {
    p[1] = 0xFF;
    p[2] = 59;
    p[3] = 74;
    return;
  }
  p[1] = uint8_t(minutes);
  p[2] = uint8_t(frames / 75 % 60);
  p[3] = uint8_t(frames % 75);
}

void put_track_descriptor(uint8_t* d, uint8_t track, uint64_t lba, bool msf) {
  d[1] = kAdrControlData;
  d[2] = track;
  put_address(d + 4, lba, msf);
}

// Format 0000b: the TOC from the requested track on, lead-out last.
void formatted_toc(Command& cmd, uint8_t start_track, bool msf) {
  // MMC-6: a TRACK/SESSION NUMBER past the last track (other than AAh, the
  // lead-out) is an invalid field.
  if (start_track > 1 && start_track != kLeadOut) {
    cmd.invalid_cdb_field(6);
    return;
  }
  const bool with_track = start_track <= 1;
  const size_t n = 4 + 8 * (with_track ? 2 : 1);
  uint8_t* p = cmd.reply(n);
  store_be16(p, uint16_t(n - 2));  // TOC DATA LENGTH
  p[2] = 1;                        // FIRST TRACK NUMBER
  p[3] = 1;                        // LAST TRACK NUMBER
  uint8_t* d = p + 4;
  if (with_track) {
    put_track_descriptor(d, 1, 0, msf);
    d += 8;
  }
  put_track_descriptor(d, kLeadOut, dvd_block_count(cmd.store()), msf);
}

// Format 0001b: multi-session information: the first track of the last
// session (track 1 of session 1, at LBA 0).
void session_info(Command& cmd, bool msf) {
  uint8_t* p = cmd.reply(12);
  store_be16(p, 10);
  p[2] = 1;  // FIRST COMPLETE SESSION NUMBER
  p[3] = 1;  // LAST COMPLETE SESSION NUMBER
  put_track_descriptor(p + 4, 1, 0, msf);
}

}  // namespace

void mmc_read_toc(Command& cmd) {
  auto c = cmd.cdb();
  const bool msf = c[1] & 0x02;
  uint8_t format = c[2] & 0x0F;
  // MMC-6 READ TOC/PMA/ATIP: with FORMAT 0, the older drives' format field in
  // bits 7:6 of the CONTROL byte applies (the Linux sr driver sends 40h there
  // for the multi-session information).
  if (format == 0) format = c[9] >> 6;
  const uint16_t allocation_length = load_be16(&c[7]);
  switch (format) {
    case 0: formatted_toc(cmd, c[6], msf); break;
    case 1: session_info(cmd, msf); break;
    default:
      // Full TOC, PMA, ATIP and CD-TEXT exist only on CD media.
      cmd.invalid_cdb_field(c[2] & 0x0F ? 2 : 9);
      return;
  }
  if (!cmd.failed()) cmd.truncate(allocation_length);
}

void mmc_read_disc_information(Command& cmd) {
  auto c = cmd.cdb();
  // DATA TYPE 000b: standard disc information; track and POW resources are
  // about recordable media.
  if ((c[1] & 0x07) != 0) {
    cmd.invalid_cdb_field(1, 2);
    return;
  }
  constexpr size_t kLength = 34;
  uint8_t* p = cmd.reply(kLength);
  store_be16(p, kLength - 2);  // DISC INFORMATION LENGTH
  p[2] = 0x0C | 0x02;          // last session complete (11b), disc finalized (10b), not erasable
  p[3] = 1;                    // NUMBER OF FIRST TRACK ON DISC
  p[4] = 1;                    // NUMBER OF SESSIONS (LSB)
  p[5] = 1;                    // FIRST TRACK NUMBER IN LAST SESSION (LSB)
  p[6] = 1;                    // LAST TRACK NUMBER IN LAST SESSION (LSB)
  p[7] = 0x20;                 // URU: unrestricted use
  // A complete disc has no next session: lead-in / lead-out addresses all ones.
  store_be32(p + 16, 0xFFFFFFFFu);
  store_be32(p + 20, 0xFFFFFFFFu);
  cmd.truncate(load_be16(&c[7]));
}

void mmc_read_track_information(Command& cmd) {
  auto c = cmd.cdb();
  const uint8_t type = c[1] & 0x03;
  const uint32_t address = load_be32(&c[2]);
  const uint64_t capacity = dvd_block_count(cmd.store());
  // ADDRESS/NUMBER TYPE: 00b an LBA inside the track, 01b a track number,
  // 10b a session number; there is only track 1 in session 1.
  bool valid = false;
  switch (type) {
    case 0: valid = address < capacity; break;
    case 1: valid = address == 1; break;
    case 2: valid = address == 1; break;
    default:
      cmd.invalid_cdb_field(1, 1);
      return;
  }
  if (!valid) {
    cmd.invalid_cdb_field(2);
    return;
  }
  constexpr size_t kLength = 48;
  uint8_t* p = cmd.reply(kLength);
  store_be16(p, kLength - 2);  // DATA LENGTH
  p[2] = 1;                    // TRACK NUMBER (LSB)
  p[3] = 1;                    // SESSION NUMBER (LSB)
  p[5] = 0x04;                 // TRACK MODE: data, recorded uninterrupted
  p[6] = 0x01;                 // DATA MODE 1; not blank, not reserved, not packet
  store_be32(p + 8, 0);        // LOGICAL TRACK START ADDRESS
  store_be32(p + 24, capacity > 0xFFFFFFFFu ? 0xFFFFFFFFu : uint32_t(capacity));  // LOGICAL TRACK SIZE
  cmd.truncate(load_be16(&c[7]));
}

}  // namespace scsipub::scsi::handlers
