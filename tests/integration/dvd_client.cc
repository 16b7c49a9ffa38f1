// dvd_client URL OUT_FILE: one libiscsi login to a DVD-ROM logical unit
// (scsipub serves ISO catalog images that way) and the MMC view of
// it: READ CAPACITY (10) must say 2048-byte blocks, READ TOC must list one
// data track and the lead-out at the capacity, every block is read with
// READ (10) into OUT_FILE (the caller compares it with the ISO), and a WRITE
// (10) must end in DATA PROTECT / WRITE PROTECTED. Prints one line per check;
// exits 0 when all pass.
#include <cstdio>
#include <string>
#include <vector>

#include "iscsi_client.h"

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAIL", what.c_str());
  if (!ok) ++failures;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s iscsi://HOST:PORT/IQN/LUN OUT_FILE\n", argv[0]);
    return 2;
  }
  iscsi_context* ctx = iscsi_create_context("iqn.2025-01.pub.scsipub.test:dvd-client");
  iscsi_url* url = ctx != nullptr ? iscsi_parse_full_url(ctx, argv[1]) : nullptr;
  if (url == nullptr) {
    std::fprintf(stderr, "bad URL %s\n", argv[1]);
    return 2;
  }
  const int lun = url->lun;
  iscsi_set_targetname(ctx, url->target);
  iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE);
  iscsi_set_noautoreconnect(ctx, 1);
  iscsi_set_timeout(ctx, 30);
  if (iscsi_full_connect_sync(ctx, url->portal, lun) != 0) {
    std::fprintf(stderr, "login failed: %s\n", iscsi_get_error(ctx));
    return 1;
  }
  iscsi_destroy_url(url);
  std::string err;

  // READ CAPACITY (10): MMC's only capacity command.
  uint32_t last_lba = 0, block_length = 0;
  if (scsi_task* t = integ::run_retrying_unit_attention(
          ctx, [&] { return iscsi_readcapacity10_sync(ctx, lun, 0, 0); }, &err, 4)) {
    auto* rc = static_cast<scsi_readcapacity10*>(scsi_datain_unmarshall(t));
    if (rc != nullptr) {
      last_lba = rc->lba;
      block_length = rc->block_size;
    }
    scsi_free_scsi_task(t);
  }
  check(block_length == 2048, "READ CAPACITY (10): block length " + std::to_string(block_length) + " " + err);
  const uint64_t blocks = uint64_t(last_lba) + 1;
  std::printf("capacity: %llu blocks of %u bytes\n", static_cast<unsigned long long>(blocks), block_length);

  // READ TOC format 0 from track 0: track 1 (data) at 0, lead-out at `blocks`.
  err.clear();
  if (scsi_task* t = integ::run_retrying_unit_attention(
          ctx, [&] { return iscsi_readtoc_sync(ctx, lun, 0, 0, 0, 64); }, &err, 4)) {
    const uint8_t* d = t->datain.data;
    const bool shape = t->datain.size == 20 && d[2] == 1 && d[3] == 1 && (d[5] & 0x0F) == 0x04 && d[6] == 1 &&
                       d[14] == 0xAA;
    const uint32_t lead_out = shape ? uint32_t(d[16]) << 24 | uint32_t(d[17]) << 16 | uint32_t(d[18]) << 8 | d[19] : 0;
    check(shape && lead_out == blocks, "READ TOC: one data track, lead-out at " + std::to_string(lead_out));
    scsi_free_scsi_task(t);
  } else {
    check(false, "READ TOC: " + err);
  }

  // Every block with READ (10), 256 blocks (512 KiB) at a time.
  std::FILE* out = std::fopen(argv[2], "wb");
  bool read_ok = out != nullptr && block_length == 2048;
  for (uint64_t lba = 0; read_ok && lba < blocks;) {
    const uint32_t n = uint32_t(blocks - lba < 256 ? blocks - lba : 256);
    err.clear();
    scsi_task* t = integ::run_retrying_unit_attention(
        ctx, [&] { return iscsi_read10_sync(ctx, lun, uint32_t(lba), n * 2048, 2048, 0, 0, 0, 0, 0); }, &err, 4);
    if (t == nullptr || t->datain.size != int(n * 2048) ||
        std::fwrite(t->datain.data, 1, size_t(n) * 2048, out) != size_t(n) * 2048) {
      read_ok = false;
      err += " at LBA " + std::to_string(lba);
    }
    if (t != nullptr) scsi_free_scsi_task(t);
    lba += n;
  }
  if (out != nullptr) std::fclose(out);
  check(read_ok, "READ (10) of every block into " + std::string(argv[2]) + " " + err);

  // WRITE (10) of one block: DATA PROTECT / WRITE PROTECTED (07/27/00).
  std::vector<uint8_t> block(2048, 0xA5);
  scsi_task* w = iscsi_write10_sync(ctx, lun, 0, block.data(), uint32_t(block.size()), 2048, 0, 0, 0, 0, 0);
  const bool protect = w != nullptr && w->status == SCSI_STATUS_CHECK_CONDITION &&
                       w->sense.key == SCSI_SENSE_DATA_PROTECTION && w->sense.ascq == 0x2700;
  check(protect, std::string("WRITE (10): ") +
                     (w == nullptr ? iscsi_get_error(ctx) : scsi_sense_key_str(w->sense.key)));
  if (w != nullptr) scsi_free_scsi_task(w);

  iscsi_logout_sync(ctx);
  iscsi_destroy_context(ctx);
  return failures == 0 ? 0 : 1;
}
