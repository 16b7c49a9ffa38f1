#pragma once
// Account tiers: the limits a paid account's provisioned disks live within.
// They come from the configuration ([tiers.<name>] tables); an account names
// its tier, so changing a tier's limits applies to every account on it at the
// next request. The anonymous (free) targets' limits are FreeTierConfig.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace scsipub::control {

struct Tier {
  uint32_t max_disks = 4;              // provisioned disks per account
  uint32_t max_luns_per_disk = 4;
  uint64_t max_disk_size = 16ull << 30;  // bytes per LUN (a catalog image larger than this is refused)
  uint64_t blank_size = 1ull << 30;      // size of a "blank" LUN
  uint64_t write_limit = 0;              // overlay bytes per LUN; 0 = up to the LUN size
  uint32_t max_sessions_per_disk = 4;    // concurrent sessions on one disk (a cluster has 2+)
  std::chrono::seconds expiry{0};        // disk lifetime from creation; 0 = never expires

  bool operator==(const Tier&) const = default;
};

// Reserved: the name the free targets' limits go by; no account can use it.
inline constexpr std::string_view kAnonymousTier = "anonymous";

class Tiers {
 public:
  // Built-in: one tier, "standard", with the defaults above.
  Tiers();
  explicit Tiers(std::map<std::string, Tier, std::less<>> tiers) : tiers_(std::move(tiers)) {}

  const Tier* find(std::string_view name) const;
  const std::map<std::string, Tier, std::less<>>& all() const { return tiers_; }

 private:
  std::map<std::string, Tier, std::less<>> tiers_;
};

Status validate_tier(std::string_view name, const Tier& tier);

}  // namespace scsipub::control
