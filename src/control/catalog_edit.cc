#include "control/catalog_edit.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "control/catalog.h"
#include "control/image_usage.h"
#include "db/meta_store.h"

namespace scsipub::control {

Result<RemovedImage> remove_catalog_image(const std::filesystem::path& images_dir, db::MetaStore& store,
                                          std::string_view name) {
  if (!valid_image_name(name)) return fail(fmt::format("no image {}", name));
  if (auto st = image_may_change(store, name); !st) return fail(st.error().message);
  RemovedImage removed;
  auto deleted = store.delete_catalog_image(name);
  if (!deleted.ok()) return fail("remove image metadata: " + deleted.error().message);
  removed.row = *deleted;
  // The catalog's own rule decides which files are this image (extensions in
  // any case), so a file it serves is never left behind.
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(images_dir, ec)) {
    auto parsed = parse_image_file_name(e.path().filename().string());
    if (!parsed || parsed->name != name) continue;
    if (::unlink(e.path().c_str()) != 0) {
      return fail(fmt::format("remove {}: {}", e.path().string(), std::strerror(errno)));
    }
    ++removed.files;
  }
  if (ec) return fail(fmt::format("read {}: {}", images_dir.string(), ec.message()));
  if (!removed.row && removed.files == 0) return fail(fmt::format("no image {}", name));
  return removed;
}

}  // namespace scsipub::control
