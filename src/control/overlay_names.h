#pragma once
// The one naming scheme for overlay files, shared by whoever creates overlays
// and by the janitor that deletes them, so the janitor can recognise exactly
// our files and nothing else:
//   <id>.img               single-LUN overlay
//   <id>.lun<N>.img        overlay of LUN N of a multi-LUN target
//   <stem>.img.bitmap      its sector maps
// <id> is 8-64 lowercase hex digits (a session or provisioned-disk id); N is
// decimal without leading zeros, 0..16383 (SAM flat LUN space).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace scsipub::control {

inline constexpr uint32_t kMaxOverlayLun = 16383;

struct OverlayName {
  std::string id;
  std::optional<uint32_t> lun;
  bool bitmap = false;  // the .bitmap sibling rather than the overlay itself

  bool operator==(const OverlayName&) const = default;
};

bool valid_overlay_id(std::string_view id);
// nullopt for anything that is not exactly one of our names.
std::optional<OverlayName> parse_overlay_file_name(std::string_view file_name);
// "<id>.img" or "<id>.lun<N>.img". The id must satisfy valid_overlay_id.
std::string overlay_file_name(std::string_view id, std::optional<uint32_t> lun = std::nullopt);

}  // namespace scsipub::control
