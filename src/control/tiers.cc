#include "control/tiers.h"

#include <fmt/format.h>

namespace scsipub::control {

Tiers::Tiers() { tiers_.emplace("standard", Tier{}); }

const Tier* Tiers::find(std::string_view name) const {
  auto it = tiers_.find(name);
  return it == tiers_.end() ? nullptr : &it->second;
}

Status validate_tier(std::string_view name, const Tier& t) {
  auto bad = [&](std::string_view what) { return fail(fmt::format("tier {}: {}", name, what)); };
  if (name.empty() || name.size() > 64) return bad("name must be 1..64 characters");
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return bad("name must be [A-Za-z0-9_-]");
  }
  if (name == kAnonymousTier) return bad("'anonymous' is the free tier; configure it as [free_tier]");
  if (t.max_disks == 0 || t.max_disks > 100000) return bad("max_disks must be within 1..100000");
  if (t.max_luns_per_disk == 0 || t.max_luns_per_disk > 64) return bad("max_luns_per_disk must be within 1..64");
  if (t.max_disk_size < (1u << 20) || t.max_disk_size % 512 != 0) {
    return bad("max_disk_size must be a multiple of 512 and at least 1 MiB");
  }
  if (t.blank_size < (1u << 20) || t.blank_size % 512 != 0) {
    return bad("blank_size must be a multiple of 512 and at least 1 MiB");
  }
  if (t.blank_size > t.max_disk_size) return bad("blank_size exceeds max_disk_size");
  if (t.write_limit > (uint64_t{1} << 62)) return bad("write_limit too large");
  if (t.max_sessions_per_disk == 0 || t.max_sessions_per_disk > 1024) {
    return bad("max_sessions_per_disk must be within 1..1024");
  }
  if (t.expiry.count() < 0) return bad("expiry must not be negative");
  return ok_status();
}

}  // namespace scsipub::control
