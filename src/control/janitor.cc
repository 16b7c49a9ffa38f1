#include "control/janitor.h"

#include <spdlog/spdlog.h>

#include <map>
#include <optional>
#include <system_error>

#include "control/overlay_names.h"

namespace scsipub::control {

std::vector<std::string> select_orphans(std::span<const OverlayDirEntry> listing,
                                        const LivePredicate& is_live,
                                        std::filesystem::file_time_type now,
                                        std::chrono::seconds min_age) {
  // Group by overlay (id + lun) so an image and its bitmap live or die together.
  struct Group {
    std::string id;
    std::vector<std::string> files;
    bool too_young = false;
  };
  std::map<std::string, Group> groups;  // ordered: deterministic output
  for (const auto& e : listing) {
    if (!e.regular) continue;
    auto name = parse_overlay_file_name(e.file_name);
    if (!name) continue;
    std::string key = overlay_file_name(name->id, name->lun);
    Group& g = groups[key];
    g.id = name->id;
    g.files.push_back(e.file_name);
    if (now - e.mtime < min_age) g.too_young = true;
  }
  std::vector<std::string> out;
  for (auto& [key, g] : groups) {
    if (g.too_young || is_live(g.id)) continue;
    out.insert(out.end(), g.files.begin(), g.files.end());
  }
  return out;
}

Result<Janitor::SweepResult> Janitor::sweep(const LivePredicate& is_live,
                                            std::chrono::seconds min_age) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir_, ec);
  if (ec) return fail("janitor: cannot read " + dir_.string() + ": " + ec.message());
  std::vector<OverlayDirEntry> listing;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    OverlayDirEntry e;
    e.file_name = it->path().filename().string();
    std::error_code st_ec;
    // symlink_status: a link named like an overlay is not ours to follow.
    e.regular = std::filesystem::is_regular_file(it->symlink_status(st_ec)) && !st_ec;
    if (e.regular) {
      e.mtime = it->last_write_time(st_ec);
      if (st_ec) e.regular = false;  // vanished or unreadable: leave it for next time
    }
    listing.push_back(std::move(e));
  }
  if (ec) return fail("janitor: error listing " + dir_.string() + ": " + ec.message());

  SweepResult result;
  for (const auto& name : select_orphans(listing, is_live,
                                         std::filesystem::file_time_type::clock::now(), min_age)) {
    const auto path = dir_ / name;
    std::error_code rm_ec;
    std::filesystem::remove(path, rm_ec);  // already gone is as good as removed
    if (!rm_ec) {
      spdlog::info("janitor: removed orphan overlay file {}", path.string());
      ++result.removed;
    } else {
      spdlog::warn("janitor: cannot remove {}: {}", path.string(), rm_ec.message());
      ++result.failed;
    }
  }
  return result;
}

}  // namespace scsipub::control
