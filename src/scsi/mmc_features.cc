// MMC-6 GET CONFIGURATION (profiles and features) and GET EVENT STATUS
// NOTIFICATION (polled media events) for a DVD-ROM logical unit.
#include <array>
#include <vector>

#include "common/bytes.h"
#include "scsi/handlers.h"
#include "scsi/mmc_blocks.h"

namespace scsipub::scsi::handlers {

namespace {

constexpr uint16_t kProfileDvdRom = 0x0010;

// MMC-6 feature descriptor: FEATURE CODE, VERSION / PERSISTENT / CURRENT,
// ADDITIONAL LENGTH, then feature dependent data (at most 8 bytes here).
struct Feature {
  uint16_t code;
  uint8_t version;
  bool persistent;  // current whatever the medium
  uint8_t length;   // feature dependent data bytes
  std::array<uint8_t, 8> data;
};

// Ascending by code, as GET CONFIGURATION returns them. Persistent features
// are always current; the others only while the disc is loaded.
constexpr Feature kFeatures[] = {
    // 0000h Profile List: one profile, DVD-ROM (CURRENTP set while loaded).
    {0x0000, 0, true, 4, {0x00, 0x10, 0x00, 0x00}},
    // 0001h Core: PHYSICAL INTERFACE STANDARD 1 (SCSI family); DBE (the
    // device busy event class of GESN is not reported, but MMC-6 requires DBE = 1).
    {0x0001, 2, true, 8, {0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00}},
    // 0002h Morphing: polled GESN only (ASYNC 0), no operational change events.
    {0x0002, 1, true, 4, {0x00, 0x00, 0x00, 0x00}},
    // 0003h Removable Medium: tray (001b), EJECT, LOCK.
    {0x0003, 0, true, 4, {0x29, 0x00, 0x00, 0x00}},
    // 0010h Random Readable: LOGICAL BLOCK SIZE 2048 (kDvdBlockSize), BLOCKING 16 (one ECC block).
    {0x0010, 0, false, 8, {0x00, 0x00, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00}},
    // 001Fh DVD Read: single-layer DVD-ROM reading; no DVD+R DL / DVD-R DL.
    {0x001F, 0, false, 0, {}},
    // 0100h Power Management: START STOP UNIT power conditions and the
    // power management event class are accepted.
    {0x0100, 0, true, 0, {}},
};

static_assert(kDvdBlockSize == 0x0800);

bool is_current(const Feature& f, bool loaded) { return f.persistent || loaded; }

void put_feature(std::vector<uint8_t>& out, const Feature& f, bool loaded) {
  const size_t at = out.size();
  out.resize(at + 4 + f.length);
  store_be16(&out[at], f.code);
  out[at + 2] = uint8_t(f.version << 2 | (f.persistent ? 0x02 : 0) | (is_current(f, loaded) ? 0x01 : 0));
  out[at + 3] = f.length;
  for (size_t i = 0; i < f.length; ++i) out[at + 4 + i] = f.data[i];
  if (f.code == 0x0000 && loaded) out[at + 6] = 0x01;  // CURRENTP of the DVD-ROM profile
}

constexpr uint8_t kMediaClass = 4;  // MMC-6 notification class 100b: media
constexpr uint8_t kSupportedClasses = 1u << kMediaClass;

}  // namespace

void mmc_get_configuration(Command& cmd) {
  auto c = cmd.cdb();
  const uint8_t rt = c[1] & 0x03;
  const uint16_t start = load_be16(&c[2]);
  // RT 00b: every feature from STARTING FEATURE NUMBER on; 01b: the current
  // ones of those; 10b: only that one feature; 11b is reserved.
  if (rt == 3) {
    cmd.invalid_cdb_field(1, 1);
    return;
  }
  const bool loaded = cmd.lu().medium_present();
  std::vector<uint8_t> body(8, 0);
  store_be16(&body[6], loaded ? kProfileDvdRom : 0);  // CURRENT PROFILE: none without a disc
  for (const auto& f : kFeatures) {
    const bool wanted = rt == 2 ? f.code == start : f.code >= start && (rt == 0 || is_current(f, loaded));
    if (wanted) put_feature(body, f, loaded);
  }
  store_be32(&body[0], uint32_t(body.size() - 4));  // DATA LENGTH
  uint8_t* p = cmd.reply(body.size());
  std::copy(body.begin(), body.end(), p);
  cmd.truncate(load_be16(&c[7]));
}

void mmc_get_event_status(Command& cmd) {
  auto c = cmd.cdb();
  // MMC-6: asynchronous notification (POLLED = 0) is not supported; the
  // command is then terminated with INVALID FIELD IN CDB.
  if ((c[1] & 0x01) == 0) {
    cmd.invalid_cdb_field(1, 0);
    return;
  }
  const uint8_t requested = c[4];
  if ((requested & kSupportedClasses) == 0) {
    // No event class asked for is supported: NEA, header only.
    uint8_t* p = cmd.reply(4);
    store_be16(p, 2);
    p[2] = 0x80;
    p[3] = kSupportedClasses;
  } else {
    // The media class: no change; media present and tray closed, or the
    // tray open without a disc after an eject.
    uint8_t* p = cmd.reply(8);
    store_be16(p, 6);  // EVENT DESCRIPTOR LENGTH
    p[2] = kMediaClass;
    p[3] = kSupportedClasses;
    p[4] = 0x00;  // MEDIA EVENT CODE: NoChg
    p[5] = cmd.lu().medium_present() ? 0x02 : 0x01;  // MEDIA PRESENT / DOOR OR TRAY OPEN
  }
  cmd.truncate(load_be16(&c[7]));
}

}  // namespace scsipub::scsi::handlers
