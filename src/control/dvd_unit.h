#pragma once
// A catalog image with Presentation::dvd as a DVD-ROM drive (MMC-6, peripheral
// device type 05h, 2048-byte blocks): the shared base is read directly, with
// no overlay file, so the unit costs no disk space and no overlay budget.
#include <memory>
#include <string_view>

#include "control/catalog.h"
#include "lu/logical_unit.h"
#include "storage/image_source.h"

namespace scsipub::control {

// Is `image` (a catalog name, or "blank") served as a DVD-ROM drive?
bool serves_as_dvd(const Catalog& catalog, std::string_view image);

// The DVD-ROM unit over `base`; `identity` gets the device type and product.
std::shared_ptr<lu::LogicalUnit> make_dvd_unit(std::shared_ptr<const storage::ImageSource> base, lu::Identity identity);

}  // namespace scsipub::control
