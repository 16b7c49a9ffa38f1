// libFuzzer target: arbitrary CDBs, data-out and EDTL into CommandSet over a
// small MemoryStore-backed LU (LUN 0, writable, attached nexus), a
// read-only one (LUN 1) and a DVD-ROM one (LUN 2, MMC table, 257 store blocks:
// a partial last 2048-byte block). An input is a sequence of records so that
// state changes (MODE SELECT, unit attentions, writes, eject / load) feed
// later commands:
//   [flags:1][cdb_len:1][cdb:cdb_len][edtl:2 BE][data_len:2 BE][data:data_len]
// flags bit 0: address LUN 1, bit 1: LUN 7 (missing), bit 2: no nexus,
//       bit 3: logical unit reset before the command, bit 4: LUN 2 (DVD-ROM).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "common/buffer.h"
#include "lu/logical_unit.h"
#include "scsi/command_set.h"
#include "scsi/lun_map.h"
#include "scsi/scsi_task.h"
#include "storage/memory_store.h"

namespace {

using namespace scsipub;

scsi::LunMap make_luns() {
  scsi::LunMap luns;
  lu::Identity id;
  id.serial = "FUZZ0";
  id.device_name = "iqn.2025-01.pub.scsipub:fuzz,L,0x0000";
  luns.add(0, std::make_shared<lu::LogicalUnit>(std::make_shared<storage::MemoryStore>(256), id));
  luns.add(1, std::make_shared<lu::LogicalUnit>(std::make_shared<storage::MemoryStore>(64, true), id));
  id.device_type = lu::DeviceType::cd_dvd;
  luns.add(2, std::make_shared<lu::LogicalUnit>(std::make_shared<storage::MemoryStore>(257, true), id));
  return luns;
}

uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  scsi::LunMap luns = make_luns();
  lu::Nexus nexus;
  nexus.id = 1;
  nexus.target_name = "iqn.2025-01.pub.scsipub:fuzz";
  luns.find(0)->attach(nexus);
  luns.find(2)->attach(nexus);
  scsi::CommandSet commands;
  Buffer in;

  size_t pos = 0;
  for (int records = 0; records < 32 && pos + 2 <= size; ++records) {
    const uint8_t flags = data[pos];
    size_t cdb_len = data[pos + 1] % 33;  // up to 32: longer than any CDB we know
    pos += 2;
    if (pos + cdb_len > size) cdb_len = size - pos;
    std::vector<uint8_t> cdb(data + pos, data + pos + cdb_len);
    pos += cdb_len;
    uint32_t edtl = 0;
    size_t data_len = 0;
    if (pos + 4 <= size) {
      edtl = be16(data + pos);
      data_len = be16(data + pos + 2);
      pos += 4;
    }
    if (pos + data_len > size) data_len = size - pos;
    std::vector<uint8_t> out(data + pos, data + pos + data_len);
    pos += data_len;

    uint64_t lun = (flags & 0x02) ? 7 : (flags & 0x10) ? 2 : (flags & 0x01);
    if ((flags & 0x08) && luns.find(lun) != nullptr) luns.find(lun)->logical_unit_reset();

    scsi::ScsiTask task;
    task.cdb = cdb;
    task.lun = lun;
    task.nexus = (flags & 0x04) ? nullptr : &nexus;
    task.expected_length = edtl;
    task.write_flag = !out.empty();
    task.read_flag = out.empty() && edtl != 0;
    task.data_out = out;
    task.data_in = &in;
    commands.execute(task, luns);

    if (task.sense_length > task.sense.size()) std::abort();
    if (task.status != scsi::status::kGood && !in.empty()) std::abort();  // no data with CHECK CONDITION
    if (task.status == scsi::status::kCheckCondition && task.sense_length == 0) std::abort();
    if (in.size() > (size_t{8192} * 512)) std::abort();  // data-in bounded by Block Limits
  }
  return 0;
}
