#pragma once
// The free tier's target names and the images behind them: `blank`,
// `image.<name>` per catalog image and `multi` (two LUNs). A pure view of the
// catalog and the configuration; nothing here opens a file.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/catalog.h"

namespace scsipub::control {

// The image name of the zero-filled base (not a catalog entry).
inline constexpr std::string_view kBlankImage = "blank";

class FreeTierTargets {
 public:
  // `multi_images`: catalog names ("blank" allowed) behind `multi`; empty:
  // the first two disk images of the catalog, or two blanks.
  FreeTierTargets(const Catalog& catalog, std::vector<std::string> multi_images)
      : catalog_(catalog), multi_images_(std::move(multi_images)) {}

  // The images behind the target's LUNs, LUN 0 first; nullopt when the name
  // is no free-tier target (or its image has left the catalog).
  std::optional<std::vector<std::string>> images_of(std::string_view target_name) const;
  // The images behind the `multi` target's LUNs, LUN 0 first.
  std::vector<std::string> multi_images() const;
  // Every free-tier target name, sorted.
  std::vector<std::string> all() const;

 private:
  const Catalog& catalog_;
  std::vector<std::string> multi_images_;
};

}  // namespace scsipub::control
