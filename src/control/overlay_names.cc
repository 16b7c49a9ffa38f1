#include "control/overlay_names.h"

#include <algorithm>
#include <charconv>

namespace scsipub::control {
namespace {

bool consume_suffix(std::string_view& s, std::string_view suffix) {
  if (s.size() < suffix.size() || s.substr(s.size() - suffix.size()) != suffix) return false;
  s.remove_suffix(suffix.size());
  return true;
}

std::optional<uint32_t> parse_lun(std::string_view digits) {
  if (digits.empty() || digits.size() > 5) return std::nullopt;
  if (digits.size() > 1 && digits.front() == '0') return std::nullopt;
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size() || v > kMaxOverlayLun) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

bool valid_overlay_id(std::string_view id) {
  if (id.size() < 8 || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::optional<OverlayName> parse_overlay_file_name(std::string_view s) {
  OverlayName out;
  out.bitmap = consume_suffix(s, ".bitmap");
  if (!consume_suffix(s, ".img")) return std::nullopt;
  if (auto dot = s.find('.'); dot != std::string_view::npos) {
    std::string_view lun_part = s.substr(dot + 1);
    if (lun_part.substr(0, 3) != "lun") return std::nullopt;
    out.lun = parse_lun(lun_part.substr(3));
    if (!out.lun) return std::nullopt;
    s = s.substr(0, dot);
  }
  if (!valid_overlay_id(s)) return std::nullopt;
  out.id = std::string(s);
  return out;
}

std::string overlay_file_name(std::string_view id, std::optional<uint32_t> lun) {
  std::string name(id);
  if (lun) name += ".lun" + std::to_string(*lun);
  return name + ".img";
}

}  // namespace scsipub::control
