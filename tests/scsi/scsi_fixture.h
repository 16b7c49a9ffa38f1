#pragma once
// Drives CommandSet over MemoryStore-backed logical units, the way the iSCSI
// layer does: one ScsiTask per command, data-out collected up front.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <memory>
#include <vector>

#include "common/buffer.h"
#include "common/bytes.h"
#include "lu/logical_unit.h"
#include "scsi/command_set.h"
#include "scsi/lun_map.h"
#include "scsi/scsi_task.h"
#include "storage/memory_store.h"

namespace scsipub::scsi::testing {

struct Result {
  uint8_t status = 0;
  std::vector<uint8_t> data;
  std::vector<uint8_t> sense;
  uint32_t write_transfer_length = 0;

  bool good() const { return status == 0; }
  bool descriptor() const { return !sense.empty() && (sense[0] & 0x7F) >= 0x72; }
  uint8_t key() const {
    if (sense.empty()) return 0;
    return descriptor() ? sense[1] & 0x0F : sense[2] & 0x0F;
  }
  uint8_t asc() const {
    if (descriptor()) return sense.size() >= 8 ? sense[2] : 0;
    return sense.size() >= 14 ? sense[12] : 0;
  }
  uint8_t ascq() const {
    if (descriptor()) return sense.size() >= 8 ? sense[3] : 0;
    return sense.size() >= 14 ? sense[13] : 0;
  }
  bool is(uint8_t k, uint8_t a, uint8_t q) const { return status == 2 && key() == k && asc() == a && ascq() == q; }
  // INFORMATION field (fixed format: bytes 3-6 when VALID; descriptor: type 0).
  std::optional<uint64_t> information() const {
    if (sense.empty()) return std::nullopt;
    if (!descriptor()) {
      if ((sense[0] & 0x80) == 0) return std::nullopt;
      return load_be32(&sense[3]);
    }
    for (size_t i = 8; i + 12 <= sense.size(); i += 2 + sense[i + 1])
      if (sense[i] == 0x00) return load_be64(&sense[i + 4]);
    return std::nullopt;
  }
};

inline constexpr uint8_t kIllegal = 0x05;

class ScsiTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kBlocks = 4096;  // 2 MiB

  void SetUp() override { make_lu(kBlocks, false); }

  void make_lu(uint64_t blocks, bool read_only, uint64_t lun = 0) {
    store = std::make_shared<storage::MemoryStore>(blocks, read_only);
    lu::Identity id;
    id.serial = "SN0001";
    id.naa_id = 0x123456789ABCull;
    id.device_name = "iqn.2025-01.pub.scsipub:test,L,0x0000";
    unit = std::make_shared<lu::LogicalUnit>(store, id);
    luns.add(lun, unit);
    nexus.id = 1;
    nexus.target_name = "iqn.2025-01.pub.scsipub:test";
  }

  Result run(std::vector<uint8_t> cdb, std::vector<uint8_t> data_out = {}, uint64_t lun = 0,
             const lu::Nexus* who = nullptr) {
    cdb.resize(std::max<size_t>(cdb.size(), 16), 0);  // iSCSI BHS carries 16 bytes
    ScsiTask task;
    task.cdb = cdb;
    task.lun = lun;
    task.nexus = who != nullptr ? who : &nexus;
    task.data_out = data_out;
    task.expected_length = uint32_t(data_out.size());
    task.write_flag = !data_out.empty();  // RFC 7143 11.3.1: W with Data-Out
    Buffer in;
    // Poison the buffer: any byte not written by the command would show.
    std::memset(in.prepare(1 << 16), 0xEE, 1 << 16);
    in.clear();
    task.data_in = &in;
    commands.execute(task, luns);
    Result r;
    r.status = task.status;
    r.data.assign(in.data(), in.data() + in.size());
    r.sense.assign(task.sense.begin(), task.sense.begin() + task.sense_length);
    r.write_transfer_length = task.write_transfer_length;
    return r;
  }

  static std::vector<uint8_t> cdb10(uint8_t op, uint32_t lba, uint16_t len, uint8_t b1 = 0) {
    std::vector<uint8_t> c(10, 0);
    c[0] = op;
    c[1] = b1;
    store_be32(&c[2], lba);
    store_be16(&c[7], len);
    return c;
  }
  static std::vector<uint8_t> cdb12(uint8_t op, uint32_t lba, uint32_t len, uint8_t b1 = 0) {
    std::vector<uint8_t> c(12, 0);
    c[0] = op;
    c[1] = b1;
    store_be32(&c[2], lba);
    store_be32(&c[6], len);
    return c;
  }
  static std::vector<uint8_t> cdb16(uint8_t op, uint64_t lba, uint32_t len, uint8_t b1 = 0) {
    std::vector<uint8_t> c(16, 0);
    c[0] = op;
    c[1] = b1;
    store_be64(&c[2], lba);
    store_be32(&c[10], len);
    return c;
  }
  static std::vector<uint8_t> pattern(size_t blocks, uint8_t seed) {
    std::vector<uint8_t> v(blocks * 512);
    for (size_t i = 0; i < v.size(); ++i) v[i] = uint8_t(seed + i * 7);
    return v;
  }
  Result inquiry(bool evpd, uint8_t page, uint16_t alloc, uint64_t lun = 0) {
    std::vector<uint8_t> c{0x12, uint8_t(evpd ? 1 : 0), page, 0, 0, 0};
    store_be16(&c[3], alloc);
    return run(c, {}, lun);
  }

  LunMap luns;
  std::shared_ptr<storage::MemoryStore> store;
  std::shared_ptr<lu::LogicalUnit> unit;
  lu::Nexus nexus;
  CommandSet commands;
};

}  // namespace scsipub::scsi::testing
