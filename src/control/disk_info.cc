#include "control/disk_info.h"

#include <fmt/format.h>

#include "control/target_names.h"

namespace scsipub::control {

std::string isid_hex(const std::array<uint8_t, 6>& isid) {
  std::string out;
  out.reserve(12);
  for (uint8_t b : isid) fmt::format_to(std::back_inserter(out), "{:02x}", b);
  return out;
}

DiskInfo describe_disk(const ProvisionedDisk& disk, const iscsi::SessionRegistry* sessions) {
  const db::Disk& r = disk.record();
  DiskInfo info;
  info.id = r.id;
  info.target = disk_target(r.id);
  auto used = disk.overlay_bytes();
  for (uint32_t lun = 0; lun < r.luns.size(); ++lun) {
    info.luns.push_back({lun, r.luns[lun], disk.units()[lun].size_bytes, used[lun], r.write_limit});
  }
  info.chap_user = r.chap_user;
  info.chap_secret = r.chap_secret;
  info.mutual_secret = r.mutual_secret;
  info.created = r.created;
  info.expires = r.expires;
  if (sessions != nullptr) {
    for (const auto& s : sessions->snapshot()) {
      if (s.discovery || s.target_name != info.target) continue;
      info.sessions.push_back({s.key.initiator_name, isid_hex(s.key.isid), s.peer_address});
    }
  }
  return info;
}

}  // namespace scsipub::control
