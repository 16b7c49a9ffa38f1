#pragma once
// The read-only bases of the free tier's overlays: the zero-filled blank,
// and each catalog image opened once and shared by every session on it for
// as long as its name still means the same file.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"
#include "control/catalog.h"
#include "storage/image_source.h"

namespace scsipub::control {

class BaseImageCache {
 public:
  struct Base {
    std::shared_ptr<const storage::ImageSource> image;
    Presentation presentation = Presentation::disk;
  };

  BaseImageCache(const Catalog& catalog, uint64_t blank_size);

  // The base of `image` ("blank" or a catalog name); an error when the image
  // is gone or cannot be opened. Thread-safe.
  Result<Base> open(const std::string& image);
  // Call after every Catalog::rescan(): forgets the bases of images that
  // were removed or replaced (running sessions keep theirs).
  void catalog_changed();

 private:
  struct OpenBase {
    FileIdentity file;
    std::shared_ptr<const storage::ImageSource> image;
  };

  const Catalog& catalog_;
  std::shared_ptr<const storage::ImageSource> blank_;
  std::mutex mu_;  // cold path: login and rescan
  std::map<std::string, OpenBase> open_;
};

}  // namespace scsipub::control
