#pragma once
// Vital product data pages (SPC-4 7.8, SBC-3 6.5): builds the page into the
// command's data-in buffer, or fails with INVALID FIELD IN CDB.
#include <cstdint>

#include "scsi/command.h"

namespace scsipub::scsi {

void build_vpd_page(Command& cmd, uint8_t page_code);

}  // namespace scsipub::scsi
