#pragma once
// The target names scsipub serves (never a '/' in an IQN: open-iscsi makes a
// directory of it).
#include <string>
#include <string_view>

namespace scsipub::control {

inline constexpr std::string_view kIqnPrefix = "iqn.2025-01.pub.scsipub:";
inline constexpr std::string_view kBlankSuffix = "blank";
inline constexpr std::string_view kMultiSuffix = "multi";
inline constexpr std::string_view kImagePrefix = "image.";

inline std::string blank_target() { return std::string(kIqnPrefix) + std::string(kBlankSuffix); }
inline std::string multi_target() { return std::string(kIqnPrefix) + std::string(kMultiSuffix); }
inline std::string image_target(std::string_view image) {
  return std::string(kIqnPrefix) + std::string(kImagePrefix) + std::string(image);
}

}  // namespace scsipub::control
