#pragma once
// The target names scsipub serves (never a '/' in an IQN: open-iscsi makes a
// directory of it).
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "scsi/lun_address.h"

namespace scsipub::control {

inline constexpr std::string_view kIqnPrefix = "iqn.2025-01.pub.scsipub:";
inline constexpr std::string_view kBlankSuffix = "blank";
inline constexpr std::string_view kMultiSuffix = "multi";
inline constexpr std::string_view kImagePrefix = "image.";
inline constexpr std::string_view kDiskPrefix = "disk.";  // provisioned disks

inline std::string blank_target() { return std::string(kIqnPrefix) + std::string(kBlankSuffix); }
inline std::string multi_target() { return std::string(kIqnPrefix) + std::string(kMultiSuffix); }
inline std::string image_target(std::string_view image) {
  return std::string(kIqnPrefix) + std::string(kImagePrefix) + std::string(image);
}

inline std::string disk_target(std::string_view id) {
  return std::string(kIqnPrefix) + std::string(kDiskPrefix) + std::string(id);
}
// The disk id of a provisioned disk's target name, or empty.
inline std::string_view disk_id_of(std::string_view target_name) {
  if (!target_name.starts_with(kIqnPrefix)) return {};
  std::string_view rest = target_name.substr(kIqnPrefix.size());
  if (!rest.starts_with(kDiskPrefix)) return {};
  return rest.substr(kDiskPrefix.size());
}

// The SCSI name string of LUN `lun` behind `target_name` (SPC-4 7.8.6.11,
// VPD page 83h designator type 8): "<target>,L,0x<8-byte LUN field>".
inline std::string lu_device_name(std::string_view target_name, uint32_t lun) {
  return fmt::format("{},L,0x{:016x}", target_name, scsi::encode_lun(lun));
}

// What a target name is, for metric labels and the dashboard: "blank",
// "multi", "image" (with its catalog name), "disk", or empty for a name
// that is none of ours.
struct TargetKind {
  std::string kind;
  std::string image;
};
inline TargetKind target_kind(std::string_view target_name) {
  if (!target_name.starts_with(kIqnPrefix)) return {};
  std::string_view rest = target_name.substr(kIqnPrefix.size());
  if (rest == kBlankSuffix) return {"blank", ""};
  if (rest == kMultiSuffix) return {"multi", ""};
  if (rest.starts_with(kImagePrefix)) return {"image", std::string(rest.substr(kImagePrefix.size()))};
  if (rest.starts_with(kDiskPrefix)) return {"disk", ""};
  return {};
}

}  // namespace scsipub::control
