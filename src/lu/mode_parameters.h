#pragma once
// The changeable mode parameters of a logical unit (SPC-4 7.5, SBC-3 6.4).
// Only the values live here; page layout, default and changeable masks belong
// to the SCSI layer (scsi/mode_pages.cc).
namespace scsipub::lu {

struct ModeParameters {
  bool write_cache_enabled = true;  // caching page 08h, WCE
  bool descriptor_sense = false;    // control page 0Ah, D_SENSE
  friend bool operator==(const ModeParameters&, const ModeParameters&) = default;
};

}  // namespace scsipub::lu
