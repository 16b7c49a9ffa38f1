#pragma once
// The numbers every target PDU carries: StatSN, ExpCmdSN, MaxCmdSN.
#include <cstdint>

#include "iscsi/pdu.h"

namespace scsipub::iscsi {

struct SequenceState {
  uint32_t stat_sn = 1;
  uint32_t exp_cmd_sn = 0;
  uint32_t window = 128;      // commands the initiator may have queued
  uint32_t window_used = 0;   // slots held by commands not yet complete

  uint32_t max_cmd_sn() const {
    // RFC 7143 4.2.2.1: MaxCmdSN = ExpCmdSN - 1 closes the window.
    uint32_t free = window > window_used ? window - window_used : 0;
    return exp_cmd_sn + free - 1;
  }
  // Fills StatSN (advancing it when `advance`), ExpCmdSN and MaxCmdSN.
  void stamp(TargetHeader& bhs, bool advance = true) {
    bhs.set_stat_sn(advance ? stat_sn++ : stat_sn);
    stamp_no_status(bhs);
  }
  void stamp_no_status(TargetHeader& bhs) {
    bhs.set_exp_cmd_sn(exp_cmd_sn);
    bhs.set_max_cmd_sn(max_cmd_sn());
  }
};

}  // namespace scsipub::iscsi
