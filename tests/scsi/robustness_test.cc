// Hostile CDBs: a deterministic random sweep over every opcode in the table
// (plus unknown ones) checking the invariants the iSCSI layer relies on.
#include <random>

#include "scsi/opcode_table.h"
#include "scsi_fixture.h"

namespace scsipub::scsi::testing {
namespace {

using RobustnessTest = ScsiTest;

TEST_F(RobustnessTest, RandomCdbsKeepInvariants) {
  make_lu(64, false);
  unit->attach(nexus);
  std::mt19937 rng(12345);
  auto table = opcode_table();
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint8_t> cdb(16);
    for (auto& b : cdb) b = uint8_t(rng());
    if (iter % 4 != 0) {
      const auto& info = table[rng() % table.size()];
      cdb[0] = info.opcode;
      if (info.has_service_action) cdb[1] = uint8_t((cdb[1] & 0xE0) | info.service_action);
      // Mostly honour the usage mask so handlers, not just the filter, run.
      if (iter % 3 != 0)
        for (size_t i = 1; i < info.cdb_length; ++i) cdb[i] &= info.usage[i];
      if (iter % 5 == 0)
        for (size_t i = 2; i < 10 && i < info.cdb_length; ++i) cdb[i] = uint8_t(cdb[i] & 0x03);
    }
    std::vector<uint8_t> data(rng() % 3 == 0 ? 0 : (rng() % 9) * 256 + (rng() % 2) * 24);
    for (auto& b : data) b = uint8_t(rng());
    Result r = run(cdb, data);
    ASSERT_TRUE(r.status == status::kGood || r.status == status::kCheckCondition) << iter;
    if (r.status == status::kCheckCondition) {
      ASSERT_GE(r.sense.size(), 8u) << iter;
      ASSERT_TRUE(r.data.empty()) << iter;
    }
    ASSERT_LE(r.data.size(), size_t{8192} * 512) << iter;
  }
}

}  // namespace
}  // namespace scsipub::scsi::testing
