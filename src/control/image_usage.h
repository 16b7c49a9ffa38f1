#pragma once
// Which provisioned disks build on a catalog image. Their overlays persist
// across sessions and restarts and only make sense over the exact base they
// were written on, so such an image may be neither removed nor replaced.
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace scsipub::db {
class MetaStore;
}

namespace scsipub::control {

// Ids of the disks with a LUN on `image`, sorted.
Result<std::vector<std::string>> disks_using_image(db::MetaStore& store, std::string_view image);

// ok, or why `image` must stay as it is ("image debian is the base of
// provisioned disk(s) d1, d2: delete them first").
Status image_may_change(db::MetaStore& store, std::string_view image);

}  // namespace scsipub::control
