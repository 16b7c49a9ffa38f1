#pragma once
// The LUN field codec lives in the SCSI layer (scsi/lun_address.h); these
// names keep the iSCSI layer's spelling.
#include "scsi/lun_address.h"

namespace scsipub::iscsi {

using scsi::decode_lun;
using scsi::encode_lun;
using scsi::kInvalidLun;

}  // namespace scsipub::iscsi
