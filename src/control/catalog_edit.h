#pragma once
// Removing a catalog image, shared by `scsipub image remove` and the operator
// API: the rules live here once.
#include <filesystem>
#include <string_view>

#include "common/result.h"

namespace scsipub::db {
class MetaStore;
}

namespace scsipub::control {

struct RemovedImage {
  bool row = false;   // a MetaStore row was deleted
  int files = 0;      // NAME.img / NAME.iso files unlinked
};

// Refuses an image a provisioned disk builds on (image_may_change), then
// deletes its MetaStore row and unlinks its files. Sessions that have the
// file open keep reading it; the space is freed when the last one ends.
// Fails with "no image NAME" when there was neither a row nor a file.
Result<RemovedImage> remove_catalog_image(const std::filesystem::path& images_dir, db::MetaStore& store,
                                          std::string_view name);

}  // namespace scsipub::control
