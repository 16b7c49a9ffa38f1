#pragma once
// Deletes overlay files no live session or provisioned disk owns: the safety
// net for sessions that died before their cleanup ran, and for restarts. Only
// files named by overlay_names.h are ever considered; anything else in the
// directory is left alone. The caller schedules sweeps (at boot and every 10
// minutes).
#include <chrono>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace scsipub::control {

// True when the overlay owner id (session or provisioned disk) is alive.
using LivePredicate = std::function<bool(std::string_view id)>;

struct OverlayDirEntry {
  std::string file_name;
  bool regular = true;  // false for symlinks, directories, sockets...: never touched
  std::filesystem::file_time_type mtime;
};

// Pure decision: the file names to delete. A file is an orphan when it has
// our name, is a regular file, its owner id is not live, and every file of
// its overlay (image and bitmap) is older than min_age -- the age guard covers
// an owner that creates its overlay a moment before it registers as live.
std::vector<std::string> select_orphans(std::span<const OverlayDirEntry> listing,
                                        const LivePredicate& is_live,
                                        std::filesystem::file_time_type now,
                                        std::chrono::seconds min_age);

class Janitor {
 public:
  struct SweepResult {
    size_t removed = 0;
    size_t failed = 0;
  };

  explicit Janitor(std::filesystem::path overlay_dir) : dir_(std::move(overlay_dir)) {}

  // Lists the directory (without following symlinks), deletes the orphans and
  // logs each deletion. Fails only if the directory cannot be listed.
  Result<SweepResult> sweep(const LivePredicate& is_live,
                            std::chrono::seconds min_age = std::chrono::minutes(2));

 private:
  std::filesystem::path dir_;
};

}  // namespace scsipub::control
