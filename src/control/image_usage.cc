#include "control/image_usage.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "db/meta_store.h"

namespace scsipub::control {

Result<std::vector<std::string>> disks_using_image(db::MetaStore& store, std::string_view image) {
  auto disks = store.list_disks();
  if (!disks.ok()) return fail("list provisioned disks: " + disks.error().message);
  std::vector<std::string> out;
  for (const auto& d : *disks) {
    if (std::find(d.luns.begin(), d.luns.end(), image) != d.luns.end()) out.push_back(d.id);
  }
  return out;  // list_disks() is ordered by id
}

Status image_may_change(db::MetaStore& store, std::string_view image) {
  auto users = disks_using_image(store, image);
  if (!users.ok()) return fail(users.error().message);
  if (users->empty()) return ok_status();
  return fail(fmt::format("image {} is the base of provisioned disk(s) {}: their overlays were written on it; "
                          "delete those disks first",
                          image, fmt::join(*users, ", ")));
}

}  // namespace scsipub::control
