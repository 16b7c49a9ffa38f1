#pragma once
// Command handlers, grouped by file. Each is called with a CDB already checked
// against its opcode table row (length and CDB usage bits).
#include "scsi/command.h"

namespace scsipub::scsi::handlers {

// inquiry.cc
void inquiry(Command& cmd);
// report_luns.cc
void report_luns(Command& cmd);
// request_sense.cc
void request_sense(Command& cmd);
// unit_control.cc
void test_unit_ready(Command& cmd);
void start_stop_unit(Command& cmd);
void prevent_allow_medium_removal(Command& cmd);
void synchronize_cache10(Command& cmd);
void synchronize_cache16(Command& cmd);
void prefetch10(Command& cmd);
void prefetch16(Command& cmd);
void read_defect_data10(Command& cmd);
void read_defect_data12(Command& cmd);
// capacity.cc
void read_capacity10(Command& cmd);
void read_capacity16(Command& cmd);
// read_write.cc
void read6(Command& cmd);
void read10(Command& cmd);
void read12(Command& cmd);
void read16(Command& cmd);
void write6(Command& cmd);
void write10(Command& cmd);
void write12(Command& cmd);
void write16(Command& cmd);
// verify.cc
void verify10(Command& cmd);
void verify12(Command& cmd);
void verify16(Command& cmd);
void write_verify10(Command& cmd);
void write_verify12(Command& cmd);
void write_verify16(Command& cmd);
// compare_and_write.cc
void compare_and_write(Command& cmd);
void orwrite16(Command& cmd);
// write_same.cc
void write_same10(Command& cmd);
void write_same16(Command& cmd);
// unmap.cc
void unmap(Command& cmd);
// lba_status.cc
void get_lba_status(Command& cmd);
// mode_sense.cc / mode_select.cc
void mode_sense6(Command& cmd);
void mode_sense10(Command& cmd);
void mode_select6(Command& cmd);
void mode_select10(Command& cmd);
// reservation_commands.cc
void persistent_reserve_in(Command& cmd);
void persistent_reserve_out(Command& cmd);
void reserve(Command& cmd);
void release(Command& cmd);
// report_opcodes.cc
void report_supported_opcodes(Command& cmd);

// CD/DVD (MMC-6) logical units, peripheral type 05h (mmc_opcode_table.cc).
// mmc_read.cc
void mmc_read_capacity(Command& cmd);
void mmc_read10(Command& cmd);
void mmc_read12(Command& cmd);
void mmc_read16(Command& cmd);
void mmc_write_protected(Command& cmd);
// mmc_toc.cc
void mmc_read_toc(Command& cmd);
void mmc_read_disc_information(Command& cmd);
void mmc_read_track_information(Command& cmd);
// mmc_features.cc
void mmc_get_configuration(Command& cmd);
void mmc_get_event_status(Command& cmd);
// mmc_mode_sense.cc
void mmc_mode_sense6(Command& cmd);
void mmc_mode_sense10(Command& cmd);
// mmc_unit_control.cc
void mmc_start_stop_unit(Command& cmd);
void mmc_prevent_allow_medium_removal(Command& cmd);

}  // namespace scsipub::scsi::handlers
