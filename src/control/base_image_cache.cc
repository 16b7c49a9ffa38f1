#include "control/base_image_cache.h"

#include <algorithm>

#include "control/free_tier_targets.h"

namespace scsipub::control {

BaseImageCache::BaseImageCache(const Catalog& catalog, uint64_t blank_size)
    : catalog_(catalog), blank_(std::make_shared<storage::BlankImage>(blank_size)) {}

Result<BaseImageCache::Base> BaseImageCache::open(const std::string& image) {
  if (image == kBlankImage) return Base{blank_, Presentation::disk};
  // One lookup decides both the file and how it is presented, so a rescan
  // between them cannot pair a new file with an old presentation.
  const auto entry = catalog_.find(image);
  if (!entry) return fail("image " + image + " is gone");
  std::lock_guard lock(mu_);
  // Reused only while the name still means the same file: a replaced image
  // opens anew, and sessions on the old file keep their own reference.
  if (auto it = open_.find(image); it != open_.end() && it->second.file == entry->file) {
    return Base{it->second.image, entry->presentation};
  }
  auto opened = storage::BaseImage::open(entry->path);
  if (!opened.ok()) return fail("cannot open image " + image + ": " + opened.error().message);
  std::shared_ptr<const storage::ImageSource> base = opened.value();
  open_.insert_or_assign(image, OpenBase{entry->file, base});
  return Base{base, entry->presentation};
}

void BaseImageCache::catalog_changed() {
  const auto entries = catalog_.snapshot();
  std::lock_guard lock(mu_);
  // Dropping the cache's reference closes a removed or replaced file as soon
  // as the last session on it ends.
  std::erase_if(open_, [&](const auto& kv) {
    auto it = std::lower_bound(entries->begin(), entries->end(), kv.first,
                               [](const CatalogEntry& e, const std::string& n) { return e.name < n; });
    return it == entries->end() || it->name != kv.first || it->file != kv.second.file;
  });
}

}  // namespace scsipub::control
