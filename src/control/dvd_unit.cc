#include "control/dvd_unit.h"

#include "storage/read_only_store.h"

namespace scsipub::control {

bool serves_as_dvd(const Catalog& catalog, std::string_view image) {
  const auto entry = catalog.find(image);
  return entry && entry->presentation == Presentation::dvd;
}

std::shared_ptr<lu::LogicalUnit> make_dvd_unit(std::shared_ptr<const storage::ImageSource> base, lu::Identity identity) {
  identity.device_type = lu::DeviceType::cd_dvd;
  identity.product = "DVD-ROM";
  // ImageStore: the base itself, read-only (writes answer write_protected);
  // safe to share between sessions on different threads (reads are pread).
  auto store = std::make_shared<storage::ImageStore>(std::move(base));
  // No LuExtension: the MMC table has no reservation commands.
  return std::make_shared<lu::LogicalUnit>(std::move(store), std::move(identity));
}

}  // namespace scsipub::control
