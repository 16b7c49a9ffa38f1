#include "control/free_tier_targets.h"

#include <algorithm>

#include "control/target_names.h"

namespace scsipub::control {

std::vector<std::string> FreeTierTargets::multi_images() const {
  if (!multi_images_.empty()) return multi_images_;
  std::vector<std::string> out;
  for (const auto& e : catalog_.entries()) {
    if (out.size() == 2) break;
    if (e.presentation == Presentation::dvd) continue;  // the default multi target is two disks
    out.push_back(e.name);
  }
  if (out.size() < 2) out.assign(2, std::string(kBlankImage));
  return out;
}

std::optional<std::vector<std::string>> FreeTierTargets::images_of(std::string_view name) const {
  if (!name.starts_with(kIqnPrefix)) return std::nullopt;
  std::string_view rest = name.substr(kIqnPrefix.size());
  if (rest == kBlankSuffix) return std::vector<std::string>{std::string(kBlankImage)};
  if (rest == kMultiSuffix) return multi_images();
  if (rest.starts_with(kImagePrefix)) {
    std::string_view image = rest.substr(kImagePrefix.size());
    if (catalog_.find(image)) return std::vector<std::string>{std::string(image)};
  }
  return std::nullopt;
}

std::vector<std::string> FreeTierTargets::all() const {
  std::vector<std::string> out{blank_target()};
  for (const auto& e : catalog_.entries()) out.push_back(image_target(e.name));
  out.push_back(multi_target());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace scsipub::control
